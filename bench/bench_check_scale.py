"""Benchmark: ``python -m geo check`` on big files of points against the plain geopandas script.

Both run as whole processes, one after the other in the same run, on the same CSV file
(``;``-separated, decimal comma, columns ``id``, ``lon``, ``lat``): ``python -m geo check IN
-o OUT --lonlat-columns lon,lat`` and ``bench/baseline_check_script.py IN OUT`` (read the CSV,
``sjoin`` both generations, ``sjoin_nearest``, write the CSV). Reported for each size: wall
time, peak resident memory (``ru_maxrss`` of the reaped child, started by a small process) and
CPU time (user + system, less sensitive than wall time to other loads on a shared machine) of
both, and their ratios.
Targets (issue 14): at least 3 times faster at both sizes, peak memory at most the script's at
2 000 000 rows.

The points are drawn with a fixed seed, uniformly inside the real commune geometries of the
territory (``communes.parquet`` of the processed tables): real places, no invented fact.

Run: ``python bench/bench_check_scale.py [--rows 200000 2000000]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import shapely

from bench._common import report
from geo.store import load_dataset
from geo.territory import DEFAULT_TERRITORY

REPO = Path(__file__).resolve().parent.parent
SEED = 14


def points_file(path: Path, rows: int, *, territory: str = DEFAULT_TERRITORY) -> None:
    """Write ``rows`` points drawn inside the territory's communes (fixed seed) as a CSV."""
    communes = load_dataset(territory).communes.to_crs("EPSG:4326")
    area = shapely.union_all(communes.geometry.to_numpy())
    shapely.prepare(area)
    west, south, east, north = area.bounds
    rng = np.random.default_rng(SEED)
    lon, lat = np.empty(0), np.empty(0)
    while len(lon) < rows:
        x = rng.uniform(west, east, rows)
        y = rng.uniform(south, north, rows)
        inside = shapely.contains_xy(area, x, y)
        lon, lat = np.concatenate([lon, x[inside]]), np.concatenate([lat, y[inside]])
    lon, lat = lon[:rows], lat[:rows]
    with path.open("w", encoding="utf-8") as out:
        out.write("id;lon;lat\n")
        step = 500_000
        for start in range(0, rows, step):
            ids = np.arange(start + 1, min(start + step, rows) + 1)
            x = np.char.replace(np.round(lon[start : start + step], 6).astype(str), ".", ",")
            y = np.char.replace(np.round(lat[start : start + step], 6).astype(str), ".", ",")
            out.write("\n".join(f"{i};{a};{b}" for i, a, b in zip(ids, x, y, strict=True)))
            out.write("\n")


# Linux keeps a process's peak resident size across fork and exec: a child forked from this
# (large) benchmark process would report at least this process's size. The measured command is
# therefore started by a small Python process, which reports its child's own usage.
_MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
"""


def run(args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, peak resident memory (MB) and CPU seconds of one whole process."""
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *args], cwd=REPO, capture_output=True, text=True
    )
    seconds = time.monotonic() - start
    code, maxrss_kb, cpu = done.stdout.split()
    if done.returncode != 0 or int(code) != 0:
        raise RuntimeError(f"{args[1:3]} failed: {done.stderr[-2000:]}")
    return seconds, int(maxrss_kb) / 1024, float(cpu)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 2_000_000])
    args = parser.parse_args(argv)
    records = []
    with tempfile.TemporaryDirectory() as folder:
        for rows in args.rows:
            source = Path(folder) / f"points_{rows}.csv"
            points_file(source, rows)
            ours_out, script_out = Path(folder) / "geo.csv", Path(folder) / "script.csv"
            ours = [sys.executable, "-m", "geo", "check", str(source), "-o", str(ours_out),
                    "--lonlat-columns", "lon,lat"]  # fmt: skip
            script = [sys.executable, str(REPO / "bench" / "baseline_check_script.py"),
                      str(source), str(script_out)]  # fmt: skip
            base_s, base_mb, base_cpu = run(script)
            geo_s, geo_mb, geo_cpu = run(ours)
            label = f"{rows:_}".replace("_", " ")
            records.append(
                report(
                    f"geo check, {label} rows: wall time",
                    geo_s,
                    "s",
                    baseline=base_s,
                    baseline_name="plain geopandas script",
                    target="ratio <= 0.333 (3x faster)",
                )
            )
            records.append(
                report(
                    f"geo check, {label} rows: CPU time (user + system)",
                    geo_cpu,
                    "s",
                    baseline=base_cpu,
                    baseline_name="plain geopandas script",
                )
            )
            records.append(
                report(
                    f"geo check, {label} rows: peak memory",
                    geo_mb,
                    "MB",
                    baseline=base_mb,
                    baseline_name="plain geopandas script",
                    target="ratio <= 1" if rows >= 2_000_000 else "",
                )
            )
            for path in (source, ours_out, script_out):
                path.unlink()
    return records


if __name__ == "__main__":
    main()
