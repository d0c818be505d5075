"""Raw official files -> validated, reprojected, joined tables in ``data/processed/<siren>/``.

The build is deterministic (rows sorted, no timestamps in outputs) and idempotent. Every
repair and every implausible or missing value is recorded in the build report, never silently
dropped or "fixed". The tables are described in ``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo import fetch, generations, sources
from geo.coordinates import LAMBERT93, WGS84
from geo.errors import DataError, DatasetUnavailableError, SchemaError
from geo.format import fr_distance, fr_number, fr_percent
from geo.store import (
    NAME_SEP,
    BuildReport,
    FlaggedValue,
    GenerationReport,
    Repair,
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
    departement_of_qpv,
    load_territory,
)

# Display copies: simplification tolerance (metres, Lambert-93) and coordinate grid (degrees).
DISPLAY_TOLERANCE_M = 4.0
DISPLAY_GRID_DEG = 1e-6
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
# analyse_qpv.csv column -> processed column
INDICATORS = {
    "indiceJeunesse": "indice_jeunesse",
    "partPopEt": "part_pop_etrangere",
    "partPopImmi": "part_pop_immigree",
    "partMen1p": "part_men_1p",
    "partMen2p": "part_men_2p",
    "partMen3p": "part_men_3p",
    "partMen45p": "part_men_45p",
    "partMen6pp": "part_men_6pp",
    "nombre_menages": "nombre_menages",
    "nombre_logements_sociaux": "nombre_logements_sociaux",
    "taux_logements_sociaux": "taux_logements_sociaux",
    "taux_d_emploi": "taux_emploi",
    "taux_pauvrete_60%": "taux_pauvrete",
    "personnes_couvertes_CAF": "personnes_couvertes_caf",
    "allocataires_CAF": "allocataires_caf",
    "RSA_socle": "rsa_socle",
}
# Rates the compilation recomputed as a count over another count (x 100), not a share of a
# whole: they can exceed 100 %. « taux_logements_sociaux » is social dwellings over households
# (checked by the build on every quartier, see check_ratios).
RATIOS = {"taux_logements_sociaux": ("nombre_logements_sociaux", "nombre_menages")}
PERCENT_INDICATORS = tuple(
    c for c in INDICATORS.values() if c.startswith(("part_", "taux_")) and c not in RATIOS
)
_WORDS = {"nombre_logements_sociaux": "logements sociaux", "nombre_menages": "ménages"}
RATIO_TOLERANCE = 0.01  # percentage points: the source rounds its rates to two decimals
_CENSUS_COLUMN = re.compile(r"^population_municipale_(\d{4})$")


# ---------------------------------------------------------------------------------------------
# Geometry helpers


def ensure_lambert93(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Return ``gdf`` labelled EPSG:2154, after checking its CRS is Lambert-93.

    The 2015 shapefile declares IGNF:LAMB93, which is the same projection as EPSG:2154 under
    another name: we check it projects a test point identically before relabelling.
    """
    if gdf.crs is None:
        raise SchemaError(f"{what}: pas de système de coordonnées déclaré")
    if gdf.crs.to_epsg() == 2154:
        return gdf
    probe = pyproj.Transformer.from_crs(WGS84, gdf.crs, always_xy=True).transform(2.83, 50.43)
    ref = pyproj.Transformer.from_crs(WGS84, LAMBERT93, always_xy=True).transform(2.83, 50.43)
    if max(abs(probe[0] - ref[0]), abs(probe[1] - ref[1])) > 0.01:
        raise SchemaError(f"{what}: système de coordonnées inattendu {gdf.crs.name!r}")
    return gdf.set_crs(LAMBERT93, allow_override=True)


def repair_geometries(
    gdf: gpd.GeoDataFrame, report: BuildReport, generation: int
) -> gpd.GeoDataFrame:
    """Repair invalid polygons with ``make_valid``, keep polygonal parts, record each repair."""
    gdf = gdf.copy()
    invalid = ~gdf.geometry.is_valid
    for idx in gdf.index[invalid]:
        before = gdf.at[idx, "geometry"]
        reason = shapely.is_valid_reason(before)
        fixed = _polygonal(shapely.make_valid(before))
        gdf.at[idx, "geometry"] = fixed
        report.repaired.append(
            Repair(
                code=str(gdf.at[idx, "code"]),
                generation=generation,
                reason=str(reason),
                area_before_m2=round(float(before.area), 1),
                area_after_m2=round(float(fixed.area), 1),
            )
        )
    return gdf


def _polygonal(geom):
    """Keep only the polygonal parts of a geometry, as a MultiPolygon."""
    parts = shapely.get_parts(geom)
    polys = []
    for part in parts:
        if part.geom_type == "Polygon":
            polys.append(part)
        elif part.geom_type == "MultiPolygon":
            polys.extend(part.geoms)
    return shapely.MultiPolygon(polys)


def _to_multipolygon(geom):
    return geom if geom.geom_type == "MultiPolygon" else shapely.MultiPolygon([geom])


def display_copy(qpv: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, float]:
    """Simplified WGS84 copy for the map and the largest shift it introduces (metres)."""
    simplified = qpv.geometry.simplify(DISPLAY_TOLERANCE_M, preserve_topology=True)
    shift = float(
        max(
            (
                shapely.hausdorff_distance(a, b)
                for a, b in zip(qpv.geometry, simplified, strict=True)
            ),
            default=0.0,
        )
    )
    out = gpd.GeoDataFrame(
        {"code": qpv["code"].to_numpy(), "generation": qpv["generation"].to_numpy()},
        geometry=simplified.to_crs(WGS84).set_precision(DISPLAY_GRID_DEG).to_numpy(),
        crs=WGS84,
    )
    return out, shift


# ---------------------------------------------------------------------------------------------
# Readers: one per source file, each validating what it reads


def read_qpv2015(shp: Path) -> gpd.GeoDataFrame:
    """Read the 2015 perimeters (cp1252 DBF, Lambert-93)."""
    gdf = gpd.read_file(shp, encoding="cp1252")
    _require(gdf, {"CODE_QP", "NOM_QP", "COMMUNE_QP"}, shp.name)
    gdf = ensure_lambert93(gdf, shp.name)
    return gdf.rename(columns={"CODE_QP": "code", "NOM_QP": "name", "COMMUNE_QP": "communes_raw"})


def read_pop2013(path: Path) -> pd.DataFrame:
    """Read INSEE's census population per 2015 QPV, with the EPCI attribution.

    The census year is read from the population column's name (``population_municipale_2013``)
    into ``population_year``: it is the file's, never typed here.
    """
    df = pd.read_csv(path, sep=";", dtype=str, encoding="utf-8")
    _require(df, {"qp", "epci1", "epci2"}, path.name)
    found = [(c, m.group(1)) for c in df.columns if (m := _CENSUS_COLUMN.match(c))]
    if len(found) != 1:
        raise SchemaError(
            f"{path.name}: une colonne population_municipale_<année> attendue "
            f"(colonnes lues : {list(df.columns)})"
        )
    column, year = found[0]
    df["population"] = pd.to_numeric(df[column]).astype("Int64")
    df["population_year"] = int(year)
    return df


def read_qpv2024(path: Path) -> gpd.GeoDataFrame:
    """Read the 2024 perimeters (GeoJSON WGS84 copy, or the official Lambert-93 GeoPackage)."""
    gdf = gpd.read_file(path)
    gdf.columns = [c if c == "geometry" else c.lower() for c in gdf.columns]
    _require(gdf, {"code_qp", "lib_qp", "insee_com", "lib_com", "siren_epci"}, path.name)
    if gdf.crs is None:
        raise SchemaError(f"{path.name}: pas de système de coordonnées déclaré")
    return gdf.to_crs(LAMBERT93).rename(columns={"code_qp": "code", "lib_qp": "name"})


def read_indicators(path: Path, report: BuildReport) -> pd.DataFrame:
    """Read the per-QPV indicator compilation, one row per QPV (it repeats rows per commune)."""
    df = pd.read_csv(path, dtype=str)
    _require(df, {"codeQPV", "popMuniQPV", *INDICATORS}, path.name)
    cols = ["popMuniQPV", *INDICATORS]
    values = df[["codeQPV", *cols]].copy()
    for c in cols:
        values[c] = pd.to_numeric(values[c], errors="coerce")
    per_qpv = values.groupby("codeQPV", sort=True)
    inconsistent = per_qpv.nunique(dropna=False).gt(1).any(axis=1)
    for code in inconsistent[inconsistent].index:
        report.notes.append(f"{code} : valeurs différentes d'une commune à l'autre (1re gardée)")
    out = per_qpv.first().rename(columns={"popMuniQPV": "population", **INDICATORS})
    out["population"] = out["population"].round().astype("Int64")
    return out


def read_communes_json(path: Path, what: str) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not data or "code" not in data[0]:
        raise SchemaError(f"{what}: liste d'objets avec un champ 'code' attendue")
    return data


def read_poplegales(path: Path) -> pd.Series:
    """Population municipale 2023 by INSEE code."""
    df = pd.read_csv(path, sep=";", dtype=str, encoding="utf-8")
    _require(df, {"COM", "PMUN"}, path.name)
    return pd.to_numeric(df.set_index("COM")["PMUN"]).astype("Int64")


def read_populations_call(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"code_insee": str})
    _require(df, {"code_insee", "pmun_2021", "pmun_2022", "pmun_2023"}, path.name)
    return df.set_index("code_insee")


def _require(df: pd.DataFrame, columns: set[str], what: str) -> None:
    missing = sorted(columns - set(df.columns))
    if missing:
        raise SchemaError(
            f"{what}: colonnes manquantes {missing} (colonnes lues : {list(df.columns)})"
        )


# ---------------------------------------------------------------------------------------------
# Table builders


def build_qpv2015(
    raw: gpd.GeoDataFrame,
    pop: pd.DataFrame,
    territory: Territory,
    resolver: CommuneNameResolver,
    report: BuildReport,
) -> gpd.GeoDataFrame:
    """QPVs of 2015 attributed to the territory's EPCI by INSEE (principal or secondary)."""
    attributed = pop[(pop["epci1"] == territory.siren) | (pop["epci2"] == territory.siren)]
    gdf = raw[raw["code"].isin(attributed["qp"])].copy()
    missing = sorted(set(attributed["qp"]) - set(gdf["code"]))
    if missing:
        raise SchemaError(f"QPV 2015 attribués à l'EPCI mais absents des périmètres : {missing}")
    gdf = gdf.merge(
        attributed[["qp", "epci1", "epci2", "population", "population_year"]],
        left_on="code",
        right_on="qp",
    )
    gdf = repair_geometries(gdf, report, generations.PREVIOUS)
    codes, names = [], []
    for code, raw_names in zip(gdf["code"], gdf["communes_raw"], strict=True):
        pairs = resolver.resolve_list(
            raw_names, departement=departement_of_qpv(code), context=f"QPV {code}"
        )
        codes.append(",".join(p[0] for p in pairs))
        names.append(", ".join(p[1] for p in pairs))
    epcis = [
        ",".join(e for e in (a, b) if isinstance(e, str) and e)
        for a, b in zip(gdf["epci1"], gdf["epci2"], strict=True)
    ]
    return gpd.GeoDataFrame(
        {
            "code": gdf["code"],
            "name": gdf["name"].str.strip(),
            "generation": generations.PREVIOUS,
            "epci_sirens": epcis,
            "commune_codes": codes,
            "commune_names": names,
            "population": gdf["population"].astype("Int64"),
            "population_year": gdf["population_year"].astype("Int64"),
            "population_source": [
                f"Insee, population municipale des QPV {generations.PREVIOUS} (RP {year})"
                for year in gdf["population_year"]
            ],
        },
        geometry=gdf.geometry.map(_to_multipolygon),
        crs=LAMBERT93,
    )


def build_qpv2024(
    raw: gpd.GeoDataFrame, indicators: pd.DataFrame, territory: Territory, report: BuildReport
) -> gpd.GeoDataFrame:
    """QPVs of 2024 whose ``siren_epci`` lists the territory's EPCI, joined to indicators."""
    sirens = raw["siren_epci"].fillna("").map(_split_list)
    gdf = raw[sirens.map(lambda s: territory.siren in s)].copy()
    gdf = repair_geometries(gdf, report, generations.IN_FORCE)
    codes = gdf["insee_com"].fillna("").map(_split_list)
    names = gdf["lib_com"].fillna("").map(_split_list)
    for code, c, n in zip(gdf["code"], codes, names, strict=True):
        if not c or len(c) != len(n):
            raise SchemaError(f"QPV {code}: communes incohérentes {c!r} / {n!r}")
    ind = indicators.reindex(gdf["code"])
    no_row = sorted(set(gdf["code"]) - set(indicators.index))
    for code in no_row:
        report.notes.append(f"{code} : absent du tableau d'indicateurs 2024")
    out = gpd.GeoDataFrame(
        {
            "code": gdf["code"].to_numpy(),
            "name": gdf["name"].str.strip().to_numpy(),
            "generation": generations.IN_FORCE,
            "epci_sirens": sirens[gdf.index].map(",".join).to_numpy(),
            "commune_codes": codes.map(",".join).to_numpy(),
            "commune_names": names.map(", ".join).to_numpy(),
            "population": ind["population"].to_numpy(),
            # The compilation gives no year for its populations.
            "population_year": pd.array([pd.NA] * len(gdf), "Int64"),
            "population_source": "Compilation SIG Ville / Insee (analyse_qpv), "
            + generations.NO_YEAR,
        },
        geometry=gdf.geometry.map(_to_multipolygon).to_numpy(),
        crs=LAMBERT93,
    )
    for col in INDICATORS.values():
        out[col] = ind[col].to_numpy(dtype=float)
    return out


def _split_list(value: str) -> list[str]:
    return [v.strip() for v in str(value).replace(";", ",").split(",") if v.strip()]


def correspondence(q15: gpd.GeoDataFrame, q24: gpd.GeoDataFrame) -> pd.DataFrame:
    """Overlapping 2015/2024 perimeter pairs with the overlap and the area change.

    Areas, shares and changes are stored unrounded: they are rounded once, when printed.
    """
    pairs = gpd.overlay(
        q15[["code", "geometry"]].rename(columns={"code": "code_2015"}),
        q24[["code", "geometry"]].rename(columns={"code": "code_2024"}),
        how="intersection",
        keep_geom_type=True,
    )
    a15 = q15.set_index("code").area
    a24 = q24.set_index("code").area
    pairs["overlap_ha"] = pairs.area / 1e4
    pairs = pairs[pairs["overlap_ha"] > 0.01]  # ignore slivers under 100 m²
    df = pd.DataFrame(
        {
            "code_2015": pairs["code_2015"].to_numpy(),
            "code_2024": pairs["code_2024"].to_numpy(),
            "overlap_ha": pairs["overlap_ha"].to_numpy(dtype=float),
        }
    )
    df["area_2015_ha"] = df["code_2015"].map(a15) / 1e4
    df["area_2024_ha"] = df["code_2024"].map(a24) / 1e4
    df["share_of_2015"] = df["overlap_ha"] / df["area_2015_ha"]
    df["share_of_2024"] = df["overlap_ha"] / df["area_2024_ha"]
    df["area_change_pct"] = (df["area_2024_ha"] / df["area_2015_ha"] - 1) * 100
    return df.sort_values(["code_2015", "code_2024"], ignore_index=True)


def attach_succession(qpv: gpd.GeoDataFrame, corr: pd.DataFrame) -> gpd.GeoDataFrame:
    """Successor (2015 -> 2024) and predecessor (2024 -> 2015): the largest overlap."""
    qpv = qpv.copy()
    best15 = corr.sort_values("share_of_2015", ascending=False).drop_duplicates("code_2015")
    best24 = corr.sort_values("share_of_2024", ascending=False).drop_duplicates("code_2024")
    succ = best15.set_index("code_2015")["code_2024"]
    pred = best24.set_index("code_2024")["code_2015"]
    change15 = best15.set_index("code_2015")["area_change_pct"]
    change24 = best24.set_index("code_2024")["area_change_pct"]
    is15 = qpv["generation"] == generations.PREVIOUS
    qpv["successor"] = qpv["code"].map(succ).where(is15)
    qpv["predecessor"] = qpv["code"].map(pred).where(~is15)
    qpv["area_change_pct"] = np.where(
        is15, qpv["code"].map(change15), qpv["code"].map(change24)
    ).astype(float)
    return qpv


def assign_status(
    qpv: gpd.GeoDataFrame, territory: Territory, report: BuildReport
) -> gpd.GeoDataFrame:
    """Mark each QPV as in the contract or neighbouring, and shared with another EPCI or not."""
    qpv = qpv.copy()
    neighbouring = set(territory.neighbouring)
    previous = qpv["generation"] == generations.PREVIOUS
    unknown = sorted(neighbouring - set(qpv.loc[previous, "code"]))
    if unknown:
        raise SchemaError(f"QPV voisins déclarés pour {territory.siren} mais inconnus : {unknown}")
    # A neighbouring 2015 QPV's 2024 successor is neighbouring too.
    successors = set(qpv.loc[qpv["code"].isin(neighbouring), "successor"].dropna())
    neighbouring_all = neighbouring | successors
    qpv["status"] = np.where(
        qpv["code"].isin(neighbouring_all), STATUS_NEIGHBOURING, STATUS_CONTRACT
    )
    qpv["shared"] = qpv["epci_sirens"].map(lambda s: set(s.split(",")) != {territory.siren})
    for code in sorted(successors):
        report.notes.append(f"{code} : successeur 2024 d'un QPV voisin, marqué voisin lui aussi")
    return qpv


def assign_contract(qpv: gpd.GeoDataFrame, territory: Territory, epci: list[dict]) -> pd.DataFrame:
    """Which EPCI's contrat de ville each QPV belongs to: ``contract_siren``, ``contract_name``.

    The territory's own for the QPVs of its contract; for a neighbouring one, the first EPCI the
    data attributes it to other than the territory (INSEE's principal EPCI, ``epci1``, comes
    first), named as in the EPCI file.
    """
    names = {str(e.get("code")): str(e.get("nom") or "") for e in epci}
    sirens, labels = [], []
    for code, status, attributed in zip(
        qpv["code"], qpv["status"], qpv["epci_sirens"], strict=True
    ):
        if status != STATUS_NEIGHBOURING:
            sirens.append(territory.siren)
            labels.append(territory.name)
            continue
        others = [s for s in str(attributed).split(",") if s and s != territory.siren]
        if not others or not names.get(others[0]):
            raise SchemaError(
                f"QPV voisin {code} : EPCI de son contrat de ville introuvable ({attributed!r})"
            )
        sirens.append(others[0])
        labels.append(names[others[0]])
    qpv = qpv.copy()
    qpv["contract_siren"] = sirens
    qpv["contract_name"] = labels
    return qpv


def name_epcis(qpv: gpd.GeoDataFrame, epci: list[dict]) -> gpd.GeoDataFrame:
    """Name each quartier's EPCIs and the EPCI of each of its communes, from the EPCI table.

    ``epci_names``: the names of ``epci_sirens``, in the same order, empty for a SIREN the EPCI
    table does not hold (an EPCI of the 2015 attribution that the current table no longer
    lists). ``commune_epci_names``: for each of ``commune_codes``, the name of the EPCI the
    table counts it in, empty when none. Both are :data:`NAME_SEP`-separated.
    """
    names = {str(e.get("code")): str(e.get("nom") or "") for e in epci}
    of_commune = {
        str(m.get("code")): names[str(e.get("code"))]
        for e in epci
        for m in e.get("membres") or []
        if isinstance(m, dict)
    }
    qpv = qpv.copy()
    qpv["epci_names"] = [
        NAME_SEP.join(names.get(s, "") for s in sirens.split(",")) for sirens in qpv["epci_sirens"]
    ]
    qpv["commune_epci_names"] = [
        NAME_SEP.join(of_commune.get(c, "") for c in codes.split(","))
        for codes in qpv["commune_codes"]
    ]
    return qpv


def build_communes(
    territory: Territory,
    contours: gpd.GeoDataFrame,
    communes_json: list[dict],
    pmun2023: pd.Series,
    pop_call: pd.DataFrame | None,
    qpv: gpd.GeoDataFrame,
    notes: list[str],
) -> gpd.GeoDataFrame:
    """The territory's communes with populations and their QPV figures.

    ``contours`` holds every commune of the département (not only the territory's): a quartier
    reaching a commune outside the territory is split by its area there. What could not be
    computed as intended is appended to ``notes`` (French, for the build report).
    """
    codes = territory.communes["code"]
    shapes = contours.set_index("code").reindex(codes)
    if shapes.geometry.isna().any():
        missing = list(codes[shapes.geometry.isna().to_numpy()])
        raise SchemaError(f"contours manquants pour les communes {missing}")
    info = {c["code"]: c for c in communes_json if c.get("type") == "commune-actuelle"}
    df = territory.communes.copy()
    df["postal_codes"] = df["code"].map(lambda c: ",".join(info.get(c, {}).get("codesPostaux", [])))
    df["pmun_2023"] = df["code"].map(pmun2023).astype("Int64")
    if pop_call is not None:
        df["pmun_2021"] = df["code"].map(pop_call["pmun_2021"]).astype("Int64")
    else:
        df["pmun_2021"] = pd.array([pd.NA] * len(df), "Int64")
    gdf = gpd.GeoDataFrame(df, geometry=shapes.geometry.to_numpy(), crs=contours.crs)
    # Every commune's contour (the whole département), so that a quartier reaching a commune
    # outside the territory is split by its real area there too.
    outlines = contours.set_index("code").geometry.to_crs(LAMBERT93)
    for gen in generations.ORDER:
        in_contract = qpv[(qpv["generation"] == gen) & (qpv["status"] == STATUS_CONTRACT)]
        counts, pops, lists, estimated = _commune_qpv_figures(
            list(codes), outlines, in_contract, notes
        )
        gdf[f"n_qpv_{gen}"] = counts
        gdf[f"qpv_codes_{gen}"] = lists
        gdf[f"pop_qpv_{gen}"] = pops  # unrounded: an estimate where a quartier is split
        gdf[f"pop_qpv_{gen}_estimated"] = estimated
        gdf[f"share_qpv_{gen}"] = gdf[f"pop_qpv_{gen}"] / gdf["pmun_2023"].astype(float) * 100
    cols = [
        "code", "name", "siren", "postal_codes", "pmun_2021", "pmun_2022", "pmun_2023",
        "n_qpv_2015", "qpv_codes_2015", "pop_qpv_2015", "pop_qpv_2015_estimated", "share_qpv_2015",
        "n_qpv_2024", "qpv_codes_2024", "pop_qpv_2024", "pop_qpv_2024_estimated", "share_qpv_2024",
        "geometry",
    ]  # fmt: skip
    return gdf[cols].to_crs(WGS84)


def split_weights(
    quartier: shapely.Geometry, members: list[str], outlines: gpd.GeoSeries
) -> tuple[np.ndarray, list[str]]:
    """How a quartier's population is split between its communes: one weight per member.

    ``members`` are the communes the official attributes give it; ``outlines`` the communes'
    contours (Lambert-93), indexed by INSEE code. Each member weighs its share of the
    quartier's area lying in its contour, over the area lying in all its members' contours
    (the commune contours are simplified: a sliver outside every member is not counted). A
    member without a contour gets an equal part of the area outside the others; a quartier
    touching no member's contour is split equally. Returns the weights (summing to 1) and the
    members lacking a contour.
    """
    if len(members) == 1:
        return np.ones(1), [c for c in members if c not in outlines.index]
    missing = [c for c in members if c not in outlines.index]
    areas = np.array(
        [
            0.0 if c in missing else float(outlines.loc[c].intersection(quartier).area)
            for c in members
        ]
    )
    if missing:
        rest = max(float(quartier.area) - areas.sum(), 0.0)
        areas[[members.index(c) for c in missing]] = rest / len(missing)
    if areas.sum() == 0:
        return np.full(len(members), 1.0 / len(members)), missing
    return areas / areas.sum(), missing


def _commune_qpv_figures(
    codes: list[str], outlines: gpd.GeoSeries, qpv: gpd.GeoDataFrame, notes: list[str]
):
    """Per commune of the territory: number of QPVs, QPV population, whether it is estimated.

    A QPV lying in one commune gives it its whole population. A QPV over several communes (from
    the official attributes) has its population split between those communes in proportion to
    its area in each (:func:`split_weights`): an estimate, flagged as such.
    """
    n = len(codes)
    counts = np.zeros(n, dtype=int)
    pops = np.zeros(n, dtype=float)
    estimated = np.zeros(n, dtype=bool)
    lists: list[list[str]] = [[] for _ in range(n)]
    position = {code: i for i, code in enumerate(codes)}
    for row in qpv.itertuples():
        members = row.commune_codes.split(",")
        weights, missing = split_weights(row.geometry, members, outlines)
        if missing:
            notes.append(
                f"{row.code} : contours absents pour la (les) commune(s) {', '.join(missing)} ; "
                "leur part de la population est estimée sur la surface hors des autres communes"
            )
        for c, w in zip(members, weights, strict=True):
            if c not in position:
                continue
            i = position[c]
            counts[i] += 1
            lists[i].append(row.code)
            if pd.notna(row.population):
                pops[i] += float(row.population) * w
            estimated[i] |= len(members) > 1
    return counts, pops, [",".join(x) for x in lists], estimated


def flag_values(qpv: gpd.GeoDataFrame) -> pd.DataFrame:
    """Missing and implausible values, one row each (French reasons for users).

    A ratio over 100 % (:data:`RATIOS`) is not implausible in itself: it is flagged with the two
    counts it is computed from, so that a reader sees why.
    """
    rows: list[tuple[str, int, str, float | None, str]] = []
    for row in qpv.itertuples():
        if pd.isna(row.population):
            rows.append((row.code, row.generation, "population", None, "valeur manquante"))
        if not generations.has_indicators(row.generation):
            continue
        for col in INDICATORS.values():
            value = getattr(row, col)
            if pd.isna(value):
                rows.append((row.code, row.generation, col, None, "valeur manquante"))
            elif col in RATIOS and value > 100:
                count, base = (getattr(row, c) for c in RATIOS[col])
                reason = (
                    f"plus de {fr_percent(100, 0)} : la source compte {fr_number(count)} "
                    f"{_WORDS[RATIOS[col][0]]} pour {fr_number(base, 1)} {_WORDS[RATIOS[col][1]]}"
                )
                rows.append((row.code, row.generation, col, float(value), reason))
            elif col in PERCENT_INDICATORS and value > 100:
                reason = f"supérieure à {fr_percent(100, 0)} : implausible"
                rows.append((row.code, row.generation, col, float(value), reason))
            elif value < 0:
                rows.append((row.code, row.generation, col, float(value), "négative : implausible"))
    return pd.DataFrame(rows, columns=["code", "generation", "column", "value", "reason"])


def check_ratios(indicators: pd.DataFrame, report: BuildReport) -> None:
    """Check that each rate of :data:`RATIOS` is its two counts' quotient, note any that is not.

    What the rate means is read from the data, not assumed: the page labels it accordingly.
    """
    for rate, (count, base) in RATIOS.items():
        if indicators.empty:
            continue
        computed = indicators[count] / indicators[base] * 100
        off = (computed - indicators[rate]).abs() > RATIO_TOLERANCE
        for code in indicators.index[off.fillna(False).to_numpy(dtype=bool)]:
            report.notes.append(
                f"{code} : {rate} ({fr_number(indicators.at[code, rate], 2)}) ne vaut pas "
                f"{count} / {base} ({fr_number(computed.at[code], 2)})"
            )


# ---------------------------------------------------------------------------------------------
# Orchestration


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
    write_tables(out_dir, tables, report, manifest=manifest_for(territory, inputs))
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
    _require(contours, {"code", "nom"}, path["contours_communes"].name)
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
