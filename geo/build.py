"""Raw official files -> validated, reprojected, joined tables in ``data/processed/<siren>/``.

This module runs the build: it fetches the sources, calls each step (readers, quartiers,
2015 <-> 2024 correspondence, communes, indicators' flags, geometry) in order, fills the build
report, validates the tables and hands them to :mod:`geo.store`, which writes them. The build is
deterministic (rows sorted, no timestamps in outputs) and idempotent. Every repair and every
implausible or missing value is recorded in the build report, never silently dropped or
"fixed". The tables are described in ``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo import fetch, generations, sources
from geo._build_communes import build_communes
from geo._build_geometry import display_copy
from geo._build_indicators import INDICATORS, check_ratios, flag_values
from geo._build_quartiers import (
    assign_contract,
    assign_status,
    build_qpv2015,
    build_qpv2024,
    name_epcis,
)
from geo._build_readers import (
    read_communes_json,
    read_indicators,
    read_pop2013,
    read_poplegales,
    read_populations_call,
    read_qpv2015,
    read_qpv2024,
    require_columns,
)
from geo._build_succession import attach_succession, correspondence
from geo.coordinates import LAMBERT93
from geo.errors import DataError, DatasetUnavailableError, SchemaError
from geo.format import fr_distance
from geo.locate import boundary_index
from geo.store import (
    BuildReport,
    FlaggedValue,
    GenerationReport,
    SourceUsed,
    TerritoryReport,
    damaged_outputs,
    latest_population_column,
    manifest_for,
    processed_dir,
    stale_reason,
    write_tables,
)
from geo.territory import (
    DEFAULT_TERRITORY,
    STATUS_CONTRACT,
    STATUS_NEIGHBOURING,
    CommuneNameResolver,
    Territory,
    load_territory,
)

# The source files a build reads (keys of geo.sources.SOURCES).
INPUTS = (
    "qpv2015_shp",
    "qpv2015_shx",
    "qpv2015_dbf",
    "qpv2015_prj",
    "pop2013",
    "qpv2024",
    "indicateurs2024",
    "communes",
    "epci",
    "poplegales2023",
    "populations_call",
    "contours_communes",
)


@dataclass(frozen=True)
class BuildResult:
    """Where the tables were written, the report, and how long it took."""

    out_dir: Path
    report: BuildReport
    seconds: float


def build(
    territory: str = DEFAULT_TERRITORY,
    *,
    mirror: Path | None = None,
    out_root: Path | None = None,
    cache_dir: Path | None = None,
    allow_download: bool = True,
    progress: Callable | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> BuildResult:
    """Fetch the sources, build and validate every table, write them atomically.

    Parameters
    ----------
    territory
        SIREN of the EPCI (default: the CA de Lens-Liévin).
    mirror
        Folder holding the unmodified official files (offline mirror).
    out_root
        Root of the processed tables (default ``data/processed``).
    """
    start = time.perf_counter()
    log("Lecture des sources…")
    files = fetch.fetch_all(
        INPUTS,
        mirror=mirror,
        cache_dir=cache_dir,
        allow_download=allow_download,
        progress=progress,
    )
    tables, report = build_tables(territory, files, log=log)
    out_dir = processed_dir(territory, out_root)
    inputs = {key: f.sha256 for key, f in files.items()}
    index = boundary_index(tables["qpv.parquet"], tables["territory.parquet"])
    write_tables(out_dir, tables, report, manifest=manifest_for(territory, inputs), index=index)
    return BuildResult(out_dir, report, time.perf_counter() - start)


def build_tables(territory_siren: str, files: dict, *, log=lambda _m: None):
    """Build every table in memory from fetched files; returns ``(tables, report)``."""
    report = BuildReport()
    path = {k: f.path for k, f in files.items()}
    epci = read_communes_json(path["epci"], "epci.json")
    communes_json = read_communes_json(path["communes"], "communes.json")
    territory = load_territory(territory_siren, epci)
    report.territory = TerritoryReport(
        siren=territory.siren,
        name=territory.name,
        contract=territory.contract,
        neighbouring=dict(territory.neighbouring),
    )
    resolver = CommuneNameResolver(communes_json)
    log("Périmètres 2015…")
    q15 = build_qpv2015(
        read_qpv2015(path["qpv2015_shp"]),
        read_pop2013(path["pop2013"]),
        territory,
        resolver,
        report,
    )
    log("Périmètres 2024…")
    if "indicateurs2024" in path:
        indicators = read_indicators(path["indicateurs2024"], report)
    else:
        indicators = pd.DataFrame(columns=["population", *INDICATORS.values()], dtype=float)
        report.notes.append("Indicateurs 2024 indisponibles : affichés comme manquants")
    q24 = build_qpv2024(read_qpv2024(path["qpv2024"]), indicators, territory, report)
    check_ratios(pd.DataFrame(q24.drop(columns="geometry")).set_index("code"), report)
    corr = correspondence(q15, q24)
    qpv = pd.concat([q15, q24], ignore_index=True)
    qpv = gpd.GeoDataFrame(qpv, geometry="geometry", crs=LAMBERT93)
    # Unrounded: every figure is rounded once, when printed (geo.metrics).
    qpv["area_ha"] = qpv.area / 1e4
    qpv["density"] = qpv["population"].astype(float) / (qpv["area_ha"] / 100)
    qpv = attach_succession(qpv, corr)
    qpv = assign_status(qpv, territory, report)
    qpv = assign_contract(qpv, territory, epci)
    qpv = name_epcis(qpv, epci)
    qpv = qpv.sort_values(["generation", "code"], ignore_index=True)
    leading = ["code", "name", "generation", "status", "shared", "epci_sirens", "contract_siren",
               "contract_name", "epci_names", "commune_codes", "commune_names",
               "commune_epci_names", "population", "population_year",
               "population_source", "area_ha", "density", "successor", "predecessor",
               "area_change_pct"]  # fmt: skip
    qpv = qpv[[*leading, *INDICATORS.values(), "geometry"]]
    log("Communes…")
    contours = gpd.read_file(path["contours_communes"])
    require_columns(contours, {"code", "nom"}, path["contours_communes"].name)
    pop_call = (
        read_populations_call(path["populations_call"]) if "populations_call" in path else None
    )
    if pop_call is None:
        report.notes.append("Populations 2021 indisponibles (fichier dérivé absent du miroir)")
    if "poplegales2023" in path:
        pmun2023 = read_poplegales(path["poplegales2023"])
    else:
        pmun2023 = pd.Series({c["code"]: c.get("population") for c in communes_json}, dtype="Int64")
        report.notes.append(
            "Populations légales Insee 2023 lues dans communes.json (même millésime)"
        )
    communes = build_communes(
        territory, contours, communes_json, pmun2023, pop_call, qpv, report.notes
    )
    outline = shapely.union_all(communes.to_crs(LAMBERT93).geometry.buffer(0.5)).buffer(-0.5)
    territory_gdf = gpd.GeoDataFrame(
        {"siren": [territory.siren], "name": [territory.name]}, geometry=[outline], crs=LAMBERT93
    )
    display, shift = display_copy(qpv)
    flags = flag_values(qpv)
    report.flags = [
        FlaggedValue(str(f.code), int(f.generation), str(f.column), _optional(f.value), f.reason)
        for f in flags.itertuples()
    ]
    report.sources = {
        k: SourceUsed(path=f.path.name, origin=f.origin, sha256=f.sha256, source=f.key)
        for k, f in sorted(files.items())
    }
    perimeters = {
        generations.PREVIOUS: sources.SOURCES["qpv2015_shp"],
        generations.IN_FORCE: sources.SOURCES[files["qpv2024"].key],
    }
    for generation, source in perimeters.items():
        if source.simplified:
            report.notes.append(
                f"Périmètres {generation} : copie simplifiée (écart jusqu'à environ "
                f"{fr_distance(source.boundary_error_m)}) ; les réponses près d'une limite sont "
                "données comme incertaines."
            )
    report.display_max_shift_m = round(shift, 2)
    report.territory_tolerance_m = float(sources.SOURCES["contours_communes"].boundary_error_m or 0)
    report.communes = len(communes)
    report.population_year, column = latest_population_column(communes)
    report.population = int(communes[column].sum())
    report.generations = {
        generation: _generation_report(qpv, generation, source, territory)
        for generation, source in perimeters.items()
    }
    tables = {
        "qpv.parquet": qpv,
        "qpv_display.parquet": display,
        "communes.parquet": communes,
        "territory.parquet": territory_gdf,
        "correspondence.parquet": corr,
        "flags.parquet": flags,
    }
    _validate(tables, report)
    return tables, report


def _generation_report(
    qpv: gpd.GeoDataFrame, generation: int, source: sources.Source, territory: Territory
) -> GenerationReport:
    """The counts of one generation, its source file and how precise its perimeters are."""
    g = qpv[qpv["generation"] == generation]
    c = g[g["status"] == STATUS_CONTRACT]
    member_codes = {x for codes in c["commune_codes"] for x in codes.split(",")}
    years = c["population_year"].dropna().unique()
    return GenerationReport(
        source=source.key,
        simplified=source.simplified,
        tolerance_m=float(source.boundary_error_m or 0.0),
        attributed=len(g),
        contract=len(c),
        neighbouring=int((g["status"] == STATUS_NEIGHBOURING).sum()),
        shared=int(c["shared"].sum()),
        communes_with_qpv=len(member_codes & territory.commune_codes),
        population=int(c["population"].sum()),
        population_year=int(years[0]) if len(years) == 1 else None,
    )


def _optional(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _validate(tables: dict, report: BuildReport) -> None:
    qpv = tables["qpv.parquet"]
    if qpv.empty:
        raise SchemaError("aucun QPV pour ce territoire")
    if qpv["code"].duplicated().any():
        raise SchemaError(
            f"codes QPV en double : {sorted(qpv.loc[qpv['code'].duplicated(), 'code'])}"
        )
    if not qpv.geometry.is_valid.all():
        raise SchemaError("géométries invalides après réparation")
    if (qpv["commune_codes"] == "").any():
        raise SchemaError("QPV sans commune")


def ensure_built(
    territory: str = DEFAULT_TERRITORY,
    *,
    mirror: Path | None = None,
    out_root: Path | None = None,
    allow_download: bool = True,
    progress: Callable | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> str | None:
    """Build the processed tables if they are missing, stale or from another schema.

    The source files a build would use now are looked up in the cache and the mirror only (no
    download) and compared with the manifest; when none can be found, an existing build is kept.
    Returns the reason for rebuilding (French), or None when the tables were current.
    """
    out_dir = processed_dir(territory, out_root)
    try:
        local = fetch.fetch_all(INPUTS, mirror=mirror, allow_download=False)
        expected = {k: f.sha256 for k, f in local.items()}
    except DataError:
        expected = None  # sources not available locally: judge the build on its own
    reason = stale_reason(out_dir, expected_inputs=expected)
    if reason is None:
        return None
    log(f"Préparation des données : {reason}.")
    try:
        build(
            territory,
            mirror=mirror,
            out_root=out_root,
            allow_download=allow_download,
            progress=progress,
            log=log,
        )
    except DatasetUnavailableError as exc:
        if not damaged_outputs(out_dir):
            raise
        # A torn table and no source to rebuild it from: say both, the table first.
        raise DatasetUnavailableError(
            f"{reason} ({out_dir}) ; pour les reconstruire, relancez « python -m geo build » "
            f"avec un accès à internet ou un miroir des fichiers officiels.\n{exc}"
        ) from exc
    return reason
