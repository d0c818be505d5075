"""Read the processed tables back, and tell whether they must be rebuilt.

The app and the command line load one :class:`Dataset` per process; nothing here rebuilds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.build import OUTPUTS, SCHEMA_VERSION, processed_dir
from geo.errors import CacheError, os_reason_fr
from geo.fetch import sha256_file
from geo.territory import DEFAULT_TERRITORY


@dataclass(frozen=True)
class Dataset:
    """Every processed table of one territory (see ``docs/ARCHITECTURE.md``)."""

    qpv: gpd.GeoDataFrame  # EPSG:2154, full resolution
    qpv_display: gpd.GeoDataFrame  # EPSG:4326, simplified
    communes: gpd.GeoDataFrame  # EPSG:4326
    territory: gpd.GeoDataFrame  # EPSG:2154, one row
    correspondence: pd.DataFrame
    flags: pd.DataFrame
    report: dict
    manifest: dict

    @property
    def siren(self) -> str:
        return self.manifest["territory"]

    @property
    def territory_name(self) -> str:
        return str(self.territory["name"].iloc[0])

    def qpv_of(self, generation: int, *, include_neighbouring: bool = True) -> gpd.GeoDataFrame:
        """QPVs of one generation (optionally without the neighbouring ones)."""
        sel = self.qpv["generation"] == generation
        if not include_neighbouring:
            sel &= self.qpv["status"] == "contrat"
        return self.qpv[sel]

    def tolerance_m(self, generation: int) -> float:
        """Positional uncertainty of the perimeters of one generation, in metres."""
        return float(self.report["tolerances_m"][str(generation)])


def read_manifest(out_dir: Path) -> dict | None:
    """The manifest of a processed folder, or None when absent, unreadable or not a JSON
    object (``[]`` or ``"x"`` is valid JSON, yet no manifest: the folder is then rebuilt)."""
    try:
        manifest = json.loads((Path(out_dir) / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def damaged_outputs(out_dir: Path, manifest: dict | None = None) -> list[str]:
    """Outputs present in ``out_dir`` whose SHA-256 differs from the one the build recorded.

    A table torn by a crash or a full disk, or altered by hand, is listed; so is an output the
    manifest has no hash for. Missing files and manifests of another schema are not judged here
    (see :func:`stale_reason`).
    """
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir) if manifest is None else manifest
    if manifest is None or manifest.get("schema_version") != SCHEMA_VERSION:
        return []
    recorded = manifest.get("outputs")
    recorded = recorded if isinstance(recorded, dict) else {}
    damaged = []
    for name in OUTPUTS:
        path = out_dir / name
        if not path.is_file():
            continue
        try:
            actual = sha256_file(path)
        except OSError:
            actual = None  # unreadable: cannot be vouched for
        if actual is None or recorded.get(name) != actual:
            damaged.append(name)
    return damaged


def stale_reason(out_dir: Path, *, expected_inputs: dict[str, str] | None = None) -> str | None:
    """Why the processed folder cannot be used as is (French), or None when it is current.

    Every output is checked against the SHA-256 recorded in the manifest, so a torn or altered
    table is reported here, before anything reads it. ``expected_inputs`` maps input keys to the
    SHA-256 of the files a build would use now; when given, a cache built from other source files
    is reported stale.
    """
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir)
    if manifest is None:
        return "les données préparées sont absentes ou incomplètes"
    if manifest.get("schema_version") != SCHEMA_VERSION:
        return (
            f"les données préparées ont été construites par une autre version "
            f"(schéma {manifest.get('schema_version')!r}, attendu {SCHEMA_VERSION})"
        )
    missing = [t for t in OUTPUTS if not (out_dir / t).is_file()]
    if missing:
        return f"fichiers préparés manquants : {', '.join(missing)}"
    damaged = damaged_outputs(out_dir, manifest)
    if damaged:
        verb = "est altéré ou tronqué" if len(damaged) == 1 else "sont altérés ou tronqués"
        return f"données préparées illisibles : {', '.join(damaged)} {verb} depuis la construction"
    if expected_inputs is not None:
        built = manifest.get("inputs")
        built = built if isinstance(built, dict) else {}
        changed = sorted(k for k, sha in expected_inputs.items() if built.get(k) != sha)
        if changed:
            return f"les fichiers sources ont changé depuis la construction : {', '.join(changed)}"
    return None


def load_dataset(territory: str = DEFAULT_TERRITORY, *, root: Path | None = None) -> Dataset:
    """Load every processed table of a territory.

    Raises
    ------
    CacheError
        When the tables are missing, from another schema version or unreadable (corrupt).
    """
    out_dir = processed_dir(territory, root)
    reason = stale_reason(out_dir)
    if reason:
        raise CacheError(f"{reason} ({out_dir}) : lancez « python -m geo build »")
    try:
        tables = {
            "qpv": gpd.read_parquet(out_dir / "qpv.parquet"),
            "qpv_display": gpd.read_parquet(out_dir / "qpv_display.parquet"),
            "communes": gpd.read_parquet(out_dir / "communes.parquet"),
            "territory": gpd.read_parquet(out_dir / "territory.parquet"),
            "correspondence": pd.read_parquet(out_dir / "correspondence.parquet"),
            "flags": pd.read_parquet(out_dir / "flags.parquet"),
        }
        report = json.loads((out_dir / "report.json").read_text("utf-8"))
        if not isinstance(report, dict):
            raise ValueError("report.json is not a JSON object")
    except (OSError, ValueError) as exc:
        why = (
            os_reason_fr(exc)
            if isinstance(exc, OSError)
            else f"contenu invalide, {type(exc).__name__}"
        )
        raise CacheError(
            f"données préparées illisibles dans {out_dir} ({why}) : "
            "relancez « python -m geo build »"
        ) from exc
    return Dataset(**tables, report=report, manifest=read_manifest(out_dir))
