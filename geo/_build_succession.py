"""The 2015 <-> 2024 correspondence: overlapping perimeters, their overlap and area change,
and each quartier's successor or predecessor (its largest overlap in the other generation).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import generations


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
