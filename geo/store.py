"""The processed tables on disk: their layout, the manifest that vouches for them, the typed
build report, writing them atomically and reading them back.

``python -m geo build`` (:mod:`geo.build`) computes the tables; this module alone decides where
they go (:func:`processed_dir`), what a complete build is (``OUTPUTS``, ``SCHEMA_VERSION``, the
manifest's SHA-256), how they are written (:func:`write_tables`, atomically) and read back
(:func:`load_dataset`, one typed :class:`Dataset` per process). The build report is a
:class:`BuildReport` written to JSON and read back into the same dataclass, read by attribute.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.cache import sha256_file
from geo.errors import CacheError, FolderNotWritableError, os_reason_fr
from geo.territory import DEFAULT_TERRITORY, STATUS_CONTRACT

# 3: outputs' SHA-256 in the manifest; 4: contract columns; 5: typed report; 6: figures stored
# unrounded, EPCI names, per-commune splits over every commune's contour; 7: the locator's
# boundary indexes (``INDEX``)
SCHEMA_VERSION = 7
REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_PROCESSED_ROOT = REPO_DIR / "data" / "processed"
PROCESSED_ENV = "QPV_PROCESSED_DIR"
TABLES = (
    "qpv.parquet",
    "qpv_display.parquet",
    "communes.parquet",
    "territory.parquet",
    "correspondence.parquet",
    "flags.parquet",
)
NAME_SEP = "|"
"""Separator of the names lists of ``qpv.parquet`` (``epci_names``, ``commune_epci_names``):
EPCI names hold commas (« CA de Béthune-Bruay, Artois-Lys Romane »)."""
REPORT = "report.json"
INDEX = "locator_index.npz"
"""The boundary indexes of :class:`geo.locate.Locator` (``index_arrays``), computed once at
build time so that a process answering questions reads them instead of computing them."""
MANIFEST = "manifest.json"
OUTPUTS = (*TABLES, REPORT, INDEX)  # every file the manifest vouches for, by SHA-256
_POPULATION_COLUMN = re.compile(r"^pmun_(\d{4})$")


def processed_dir(territory: str = DEFAULT_TERRITORY, root: Path | None = None) -> Path:
    """Folder of the processed tables of one territory (``QPV_PROCESSED_DIR`` overrides root)."""
    base = root or Path(os.environ.get(PROCESSED_ENV) or DEFAULT_PROCESSED_ROOT)
    return Path(base) / territory


# ---------------------------------------------------------------------------------------------
# The build report


@dataclass(frozen=True)
class TerritoryReport:
    """The EPCI the tables cover, and the quartiers it declares as a neighbour's."""

    siren: str
    name: str
    contract: str = ""
    neighbouring: dict[str, str] = field(default_factory=dict)  # 2015 QPV code -> reason


@dataclass(frozen=True)
class SourceUsed:
    """One input file of the build: its name, where it came from, its SHA-256, its source key."""

    path: str
    origin: str  # "mirror", "cache" or "download"
    sha256: str
    source: str  # key of geo.sources.SOURCES


@dataclass(frozen=True)
class GenerationReport:
    """What the build found for one generation of perimeters."""

    source: str  # key of geo.sources.SOURCES the perimeters came from
    simplified: bool  # that file is a simplified copy of the official perimeters
    tolerance_m: float  # positional uncertainty of the perimeters
    attributed: int = 0  # quartiers INSEE attributes to the EPCI
    contract: int = 0
    neighbouring: int = 0
    shared: int = 0
    communes_with_qpv: int = 0
    population: int = 0  # contract quartiers
    population_year: int | None = None  # None: the source gives no year


@dataclass(frozen=True)
class Repair:
    """An invalid polygon repaired by the build."""

    code: str
    generation: int
    reason: str
    area_before_m2: float
    area_after_m2: float


@dataclass(frozen=True)
class FlaggedValue:
    """A value missing or implausible in the sources (French reason)."""

    code: str
    generation: int
    column: str
    value: float | None
    reason: str


@dataclass
class BuildReport:
    """What the build did, for the command line and the sources page (``report.json``)."""

    territory: TerritoryReport = field(default_factory=lambda: TerritoryReport("", ""))
    communes: int = 0
    population: int = 0  # population municipale of the territory's communes
    population_year: int = 0
    generations: dict[int, GenerationReport] = field(default_factory=dict)
    sources: dict[str, SourceUsed] = field(default_factory=dict)  # input key -> file used
    repaired: list[Repair] = field(default_factory=list)
    flags: list[FlaggedValue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    display_max_shift_m: float = 0.0  # largest shift of the map's simplified shapes
    territory_tolerance_m: float = 0.0  # positional uncertainty of the communes' outlines

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form, with the schema version."""
        return {"schema_version": SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, raw: Any) -> BuildReport:
        """The report read back from :meth:`to_json`'s form.

        Raises
        ------
        ValueError
            Not a report of this schema version, or a field missing or of the wrong type.
        """
        if not isinstance(raw, dict) or raw.get("schema_version") != SCHEMA_VERSION:
            raise ValueError("report.json is not a build report of this schema version")
        try:
            return cls(
                territory=TerritoryReport(**raw["territory"]),
                communes=int(raw["communes"]),
                population=int(raw["population"]),
                population_year=int(raw["population_year"]),
                generations={int(g): GenerationReport(**v) for g, v in raw["generations"].items()},
                sources={k: SourceUsed(**v) for k, v in raw["sources"].items()},
                repaired=[Repair(**r) for r in raw["repaired"]],
                flags=[FlaggedValue(**f) for f in raw["flags"]],
                notes=[str(n) for n in raw["notes"]],
                display_max_shift_m=float(raw["display_max_shift_m"]),
                territory_tolerance_m=float(raw["territory_tolerance_m"]),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"report.json: {type(exc).__name__} {exc}") from exc


# ---------------------------------------------------------------------------------------------
# Writing


def manifest_for(territory: str, inputs: dict[str, str]) -> dict:
    """What identifies a build: schema version, territory and the SHA-256 of every input."""
    return {
        "schema_version": SCHEMA_VERSION,
        "territory": territory,
        "inputs": dict(sorted(inputs.items())),
    }


def write_tables(
    out_dir: Path,
    tables: dict,
    report: BuildReport,
    *,
    manifest: dict,
    index: dict[str, np.ndarray],
) -> None:
    """Write all tables and the locator's ``index`` (``INDEX``) into a temporary sibling
    folder, then swap it in atomically.

    The manifest is written last, with the SHA-256 of every output (``outputs``): a table torn or
    altered afterwards no longer matches it, and :func:`stale_reason` says so.

    Raises
    ------
    FolderNotWritableError
        When the folder cannot be created or written (French reason, ``QPV_PROCESSED_DIR`` named).
    """
    out_dir = Path(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    except OSError as exc:
        raise _not_writable(out_dir.parent, exc) from exc
    try:
        for name, table in tables.items():
            if isinstance(table, gpd.GeoDataFrame):
                table.to_parquet(tmp / name, index=False, write_covering_bbox=False)
            else:
                table.to_parquet(tmp / name, index=False)
        _write_json(tmp / REPORT, report.to_json())
        arrays: dict[str, Any] = dict(index)  # (numpy's stub types ** as its own options)
        np.savez(tmp / INDEX, **arrays)  # not compressed: read in milliseconds
        outputs = {name: sha256_file(tmp / name) for name in sorted([*tables, REPORT, INDEX])}
        # Written last: its presence marks a whole build, its hashes vouch for every output.
        _write_json(tmp / MANIFEST, {**manifest, "outputs": outputs})
        old = out_dir.with_name(f".{out_dir.name}-old")
        if out_dir.exists():
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
        tmp.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:  # disk full, folder made read-only meanwhile...
        raise _not_writable(out_dir, exc) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _not_writable(folder: Path, exc: OSError) -> FolderNotWritableError:
    return FolderNotWritableError(
        f"impossible d'écrire les données préparées dans {folder} ({os_reason_fr(exc)}) : "
        f"indiquez un dossier accessible en écriture avec {PROCESSED_ENV}",
        env=PROCESSED_ENV,
    )


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True), "utf-8")


# ---------------------------------------------------------------------------------------------
# Reading


def latest_population_column(communes: pd.DataFrame) -> tuple[int, str]:
    """The most recent ``pmun_<year>`` column of the communes table, as ``(year, column)``."""
    found = sorted(
        (int(m.group(1)), column)
        for column in communes.columns
        if (m := _POPULATION_COLUMN.match(str(column)))
    )
    if not found:
        raise ValueError(f"no pmun_<year> column among {list(communes.columns)}")
    return found[-1]


@dataclass(frozen=True)
class Dataset:
    """Every processed table of one territory (see ``docs/ARCHITECTURE.md``)."""

    qpv: gpd.GeoDataFrame  # EPSG:2154, as the source file gives them (not the display copy)
    qpv_display: gpd.GeoDataFrame  # EPSG:4326, simplified
    communes: gpd.GeoDataFrame  # EPSG:4326
    territory: gpd.GeoDataFrame  # EPSG:2154, one row
    correspondence: pd.DataFrame
    flags: pd.DataFrame
    report: BuildReport
    manifest: dict
    locator_index: dict | None = None  # INDEX, for geo.locate.Locator (None: computed)

    @property
    def siren(self) -> str:
        return self.manifest["territory"]

    # The tables never change once loaded: what is read from them on every rerun of a page is
    # computed once (a GeoDataFrame look-up costs more than the rest of such a read).
    @functools.cached_property
    def territory_name(self) -> str:
        return str(self.territory["name"].iloc[0])

    @functools.cached_property
    def fingerprint(self) -> str:
        """What identifies this build of the tables (their sources and schema), to key caches."""
        return hashlib.sha256(json.dumps(self.manifest, sort_keys=True).encode()).hexdigest()

    def qpv_of(self, generation: int, *, include_neighbouring: bool = True) -> gpd.GeoDataFrame:
        """QPVs of one generation (optionally without the neighbouring ones)."""
        sel = self.qpv["generation"] == generation
        if not include_neighbouring:
            sel &= self.qpv["status"] == STATUS_CONTRACT
        return self.qpv[sel]

    def tolerance_m(self, generation: int) -> float:
        """Positional uncertainty of the perimeters of one generation, in metres."""
        return self.report.generations[generation].tolerance_m


def read_manifest(out_dir: Path) -> dict | None:
    """The manifest of a processed folder, or None when absent, unreadable or not a JSON
    object (``[]`` or ``"x"`` is valid JSON, yet no manifest: the folder is then rebuilt)."""
    try:
        manifest = json.loads((Path(out_dir) / MANIFEST).read_text("utf-8"))
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


def read_territory_name(
    territory: str = DEFAULT_TERRITORY, *, root: Path | None = None
) -> str | None:
    """The territory's name as the last build recorded it, or None when there is no readable
    build report (nothing is verified: for a title, before the tables are loaded)."""
    try:
        raw = json.loads((processed_dir(territory, root) / REPORT).read_text("utf-8"))
        return BuildReport.from_json(raw).territory.name or None
    except (OSError, ValueError):
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
        report = BuildReport.from_json(json.loads((out_dir / REPORT).read_text("utf-8")))
        with np.load(out_dir / INDEX, allow_pickle=False) as stored:
            index = {name: stored[name] for name in stored.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        why = (
            os_reason_fr(exc)
            if isinstance(exc, OSError)
            else f"contenu invalide, {type(exc).__name__}"
        )
        raise CacheError(
            f"données préparées illisibles dans {out_dir} ({why}) : "
            "relancez « python -m geo build »"
        ) from exc
    return Dataset(
        **tables, report=report, manifest=read_manifest(out_dir) or {}, locator_index=index
    )
