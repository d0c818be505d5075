"""The communes' table of the build: populations of each commune of the territory and its
quartiers' figures, a quartier over several communes split by its area in each.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import generations
from geo.coordinates import LAMBERT93, WGS84
from geo.errors import SchemaError
from geo.territory import STATUS_CONTRACT, Territory


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
