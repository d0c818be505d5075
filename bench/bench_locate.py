"""Benchmark: classify 1 000 000 random points of the CALL against the 2015 perimeters.

Measured in the same run, on the same points:

* (a) in/out + quartier code: ``Locator.membership`` against ``geopandas.sjoin(predicate=
  "within")`` (point creation included: that is what a caller pays) and a per-point shapely loop;
* (b) full verdict (distance to the nearest boundary, 300/500 m bands, uncertain band, territory):
  ``Locator.locate_many`` against ``geopandas.sjoin_nearest`` on the boundaries plus the sjoin
  above, and a per-point shapely loop.

The loops run on a sample (``--loop-sample`` points) and are extrapolated: the script says so.
Targets on a 2-core machine: (a) >= 10 000 000 points/s, (b) >= 500 000 points/s.

Run: ``python bench/bench_locate.py [--mirror DIR] [--points N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bench._common import report, timed
from geo.errors import QPVError
from geo.locate import Locator
from geo.territory import DEFAULT_TERRITORY
from support import default_mirror

CALL = DEFAULT_TERRITORY
# Used only when the processed tables are not available (direct read of the mirror files).
CALL_QPV_2015 = [
    "QP062002", "QP062016", "QP062019", "QP062020", "QP062021", "QP062022", "QP062023",
    "QP062024", "QP062025", "QP062026", "QP062027", "QP062028", "QP062029", "QP062030",
    "QP062031", "QP062032", "QP062033", "QP062034", "QP062035", "QP062045", "QP062047",
]  # fmt: skip
DEFAULT_TOLERANCE_2015 = 5.0


def load_from_store() -> tuple[gpd.GeoDataFrame, object, float, str]:
    """2015 perimeters, territory and tolerance from the processed tables."""
    from geo.store import load_dataset

    dataset = load_dataset()
    qpv = dataset.qpv_of(2015)
    territory = dataset.territory.geometry.iloc[0]
    return qpv, territory, dataset.tolerance_m(2015), "geo.store.load_dataset()"


def load_from_mirror(mirror: Path) -> tuple[gpd.GeoDataFrame, object, float, str]:
    """2015 perimeters and territory read straight from the mirror files."""
    shp = gpd.read_file(mirror / "qpv-2015" / "QP_METROPOLE_LB93.shp", encoding="cp1252")
    shp = shp.set_crs("EPSG:2154", allow_override=True)  # the .prj says IGNF:LAMB93
    shp = shp[shp["CODE_QP"].isin(CALL_QPV_2015)]
    qpv = gpd.GeoDataFrame(
        {
            "code": shp["CODE_QP"].to_numpy(),
            "name": shp["NOM_QP"].to_numpy(),
            "generation": 2015,
            "commune_names": shp["COMMUNE_QP"].str.replace(r"\s+", " ", regex=True).to_numpy(),
            "commune_codes": "",
        },
        geometry=shapely.make_valid(shp.geometry.values),
        crs="EPSG:2154",
    )
    epci = json.loads((mirror / "communes" / "epci.json").read_text("utf-8"))
    members = {m["code"] for e in epci if e["code"] == CALL for m in e["membres"]}
    communes = gpd.read_file(mirror / "communes" / "communes-62-pas-de-calais.geojson")
    territory = shapely.union_all(communes[communes["code"].isin(members)].to_crs(2154).geometry)
    return qpv, territory, DEFAULT_TOLERANCE_2015, f"direct read of {mirror}"


def loop_membership(polys: list, x: np.ndarray, y: np.ndarray) -> list:
    """What a straightforward script does: one Point, then each polygon in turn."""
    out = []
    for px, py in zip(x, y, strict=True):
        p = shapely.Point(px, py)
        out.append(next((k for k, poly in enumerate(polys) if poly.contains(p)), -1))
    return out


def loop_verdict(polys: list, boundaries: list, x: np.ndarray, y: np.ndarray) -> list:
    """The loop above plus the distance to the nearest boundary."""
    out = []
    for px, py in zip(x, y, strict=True):
        p = shapely.Point(px, py)
        inside = next((k for k, poly in enumerate(polys) if poly.contains(p)), -1)
        out.append((inside, min(b.distance(p) for b in boundaries)))
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=None, help="offline mirror folder")
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--loop-sample", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    if args.mirror is None:
        try:
            qpv, territory, tolerance, source = load_from_store()
        except (ImportError, OSError, QPVError) as exc:
            print(f"processed tables unavailable ({type(exc).__name__}): reading the mirror")
            qpv, territory, tolerance, source = load_from_mirror(default_mirror())
    else:
        qpv, territory, tolerance, source = load_from_mirror(args.mirror)
    n = args.points
    print(
        f"{len(qpv)} perimeters (2015, {shapely.get_num_coordinates(qpv.geometry.values).sum()} "
        f"vertices) from {source}; tolerance {tolerance} m; {n} points; "
        f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f}"
    )

    start = time.perf_counter()
    locator = Locator(qpv, territory, {2015: tolerance})
    print(f"Locator built in {time.perf_counter() - start:.2f} s (grid {locator.grid})")

    rng = np.random.default_rng(42)
    minx, miny, maxx, maxy = territory.bounds
    x = rng.uniform(minx, maxx, n)
    y = rng.uniform(miny, maxy, n)
    polys = list(qpv.geometry.values)
    boundaries = list(qpv.boundary.values)
    frame = qpv[["code", "geometry"]].reset_index(drop=True)
    boundary_frame = gpd.GeoDataFrame(
        {"code": qpv["code"].to_numpy()}, geometry=boundaries, crs=qpv.crs
    )

    def sjoin() -> pd.DataFrame:
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=qpv.crs)
        return gpd.sjoin(points, frame, predicate="within", how="left")

    def sjoin_full() -> pd.DataFrame:
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=qpv.crs)
        inside = gpd.sjoin(points, frame, predicate="within", how="left")
        nearest = gpd.sjoin_nearest(points, boundary_frame, distance_col="distance_m")
        return inside, nearest[~nearest.index.duplicated()]

    results = []
    # (a) in/out + code
    fast = timed(
        lambda: locator.membership(x, y, generation=2015, crs="EPSG:2154"), repeat=args.repeat
    )
    base = timed(sjoin, repeat=max(1, args.repeat // 2))
    sample = min(args.loop_sample, n)
    loop = timed(lambda: loop_membership(polys, x[:sample], y[:sample]), repeat=1)
    results.append(
        report(
            "(a) in/out + code, Locator.membership",
            n / fast,
            "points/s",
            baseline=n / base,
            baseline_name="geopandas.sjoin within (incl. points_from_xy)",
            target=">= 10 000 000 points/s",
        )
    )
    results.append(
        report(
            "(a) in/out + code, Locator.membership",
            n / fast,
            "points/s",
            baseline=sample / loop,
            baseline_name=f"per-point shapely loop (timed on {sample} points, extrapolated)",
        )
    )

    # (b) full verdict
    full = timed(
        lambda: locator.locate_many(x, y, generation=2015, crs="EPSG:2154"), repeat=args.repeat
    )
    start = time.perf_counter()
    inside, nearest = sjoin_full()  # slow: timed once, its answer is kept for the check below
    base_full = time.perf_counter() - start
    loop_full = timed(lambda: loop_verdict(polys, boundaries, x[:sample], y[:sample]), repeat=1)
    results.append(
        report(
            "(b) full verdict, Locator.locate_many",
            n / full,
            "points/s",
            baseline=n / base_full,
            baseline_name="geopandas.sjoin + sjoin_nearest on boundaries",
            target=">= 500 000 points/s",
        )
    )
    results.append(
        report(
            "(b) full verdict, Locator.locate_many",
            n / full,
            "points/s",
            baseline=sample / loop_full,
            baseline_name=f"per-point shapely loop (timed on {sample} points, extrapolated)",
        )
    )

    # Same answers as the baselines, or the speed means nothing.
    verdicts = locator.locate_many(x, y, generation=2015, crs="EPSG:2154")
    expected = inside["code"].astype(object).where(inside["code"].notna(), None)
    got = verdicts["code"].astype(object).where(verdicts["code"].notna(), None)
    assert list(got) == list(expected.sort_index()), "membership differs from geopandas.sjoin"
    worst = float(
        np.max(np.abs(verdicts["distance_m"].to_numpy() - nearest["distance_m"].to_numpy()))
    )
    assert worst < 1e-6, f"distances differ from sjoin_nearest by up to {worst} m"
    counts = verdicts["status"].value_counts().to_dict()
    print(f"agreement with geopandas: codes identical, distances within {worst:.1e} m; {counts}")
    return results


if __name__ == "__main__":
    main()
