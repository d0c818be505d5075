"""The plain geopandas script a planner would write to check a file of points: the baseline.

Read the CSV with pandas, build the points, ``gpd.sjoin`` them against each generation's
perimeters (the quartier containing each point), ``gpd.sjoin_nearest`` for the distance to the
nearest quartier, write a CSV. No tolerance, no « incertain », no remark: only what the obvious
script gives. ``bench/bench_check_scale.py`` times it as a whole process against
``python -m geo check`` on the same file.

Run: ``python bench/baseline_check_script.py IN.csv OUT.csv [--qpv data/processed/…/qpv.parquet]``
(``IN.csv``: ``;``-separated, decimal comma, columns ``lon`` and ``lat`` in WGS84 degrees).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
QPV = REPO / "data" / "processed" / "246200364" / "qpv.parquet"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--qpv", default=str(QPV), help="perimeters of both generations")
    args = parser.parse_args(argv)

    table = pd.read_csv(args.input, sep=";", decimal=",")
    points = gpd.GeoDataFrame(
        table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs="EPSG:4326"
    ).to_crs("EPSG:2154")
    qpv = gpd.read_parquet(args.qpv)
    for generation in (2024, 2015):
        perimeters = qpv.loc[qpv["generation"] == generation, ["code", "name", "geometry"]]
        inside = gpd.sjoin(points[["geometry"]], perimeters, how="left", predicate="within")
        inside = inside[~inside.index.duplicated()]  # overlapping perimeters: keep the first
        nearest = gpd.sjoin_nearest(
            points[["geometry"]], perimeters[["geometry"]], how="left", distance_col="distance"
        )
        nearest = nearest[~nearest.index.duplicated()]
        table[f"qpv_{generation}_code"] = inside["code"]
        table[f"qpv_{generation}_nom"] = inside["name"]
        table[f"qpv_{generation}_distance_m"] = nearest["distance"].round(1)
    table.to_csv(args.output, sep=";", decimal=",", index=False)


if __name__ == "__main__":
    main()
