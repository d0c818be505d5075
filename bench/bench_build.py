"""Benchmark: ``geo build`` from the mirror for the CALL, and the start-up load of its tables.

Baselines measured in the same run: reading the raw source files with geopandas/pandas (what any
build must at least do), and that same raw read for the load (what the app would pay without
processed tables).  Run: ``python bench/bench_build.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geopandas as gpd
import pandas as pd

from bench._common import report, timed
from geo.build import build
from geo.store import load_dataset
from geo.territory import DEFAULT_TERRITORY
from support import default_mirror

CALL = DEFAULT_TERRITORY


def read_raw(mirror: Path) -> None:
    gpd.read_file(mirror / "qpv-2015/QP_METROPOLE_LB93.shp", encoding="cp1252")
    gpd.read_file(mirror / "qpv-2024/qpv2024_simplified.geojson")
    gpd.read_file(mirror / "communes/communes-62-pas-de-calais.geojson")
    pd.read_json(mirror / "communes/communes.json")
    pd.read_csv(mirror / "qpv-2024/analyse_qpv.csv")


def main() -> list[dict]:
    mirror = default_mirror()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        raw = timed(lambda: read_raw(mirror), repeat=3)
        built = timed(
            lambda: build(CALL, mirror=mirror, out_root=root, allow_download=False), repeat=3
        )
        results.append(
            report(
                "geo build (CALL, mirror)",
                built,
                "s",
                baseline=raw,
                baseline_name="raw read of the source files",
                target="< 10 s",
            )
        )
        load = timed(lambda: load_dataset(CALL, root=root), repeat=5)
        results.append(
            report(
                "load of processed tables",
                load,
                "s",
                baseline=raw,
                baseline_name="raw read of the source files",
                target="< 0.5 s",
            )
        )
    return results


if __name__ == "__main__":
    main()
