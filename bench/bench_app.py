"""Benchmark: the app's cold start, and the latency of one point lookup.

Measured in the same run:

* cold start: from ``streamlit run serve.py`` (a new process, processed tables already built) to
  ``/`` answering, then to the quartiers drawn on the map in Chromium. Baseline: the cold start
  of a trivial Streamlit script (``st.write``, served the same way) until its text is shown. A
  first-ever start (no processed tables: the app builds them from the mirror) is timed once,
  without baseline;
* one point: ``Locator.locate`` (WGS84 point -> verdict, one generation) p50/p99 over random
  points of the territory's bounding box. Baseline: a plain shapely lookup per point (reproject,
  ``contains`` on every perimeter, ``distance`` to every boundary).

Run: ``python bench/bench_app.py [--quick]``. Needs Debian's Chromium for the cold start (the
lookup part runs without it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pyproj
import shapely

from bench._common import report, streamlit_server
from bench._journey import QUARTIER
from support import default_mirror
from support.browser import CHROMIUM, launch_chromium, offline_context, wait_shown
from support.server import START_TIMEOUT_S

REPO = Path(__file__).resolve().parent.parent

TRIVIAL_TEXT = "Bonjour, application minimale"
TRIVIAL_SCRIPT = f'import streamlit as st\n\nst.write("{TRIVIAL_TEXT}")\n'


# --------------------------------------------------------------------------------------------
# Cold start


def time_app_start(browser, *, env: dict[str, str]) -> tuple[float, float]:
    """(seconds until ``/`` answers, seconds until the quartiers are drawn) for ``app.py``."""
    with streamlit_server(REPO / "app.py", env=env) as server:
        answering = server.wait_answering("/")
        context = offline_context(browser)
        try:
            page = context.new_page()
            page.goto(server.url + "/")
            wait_shown(page, css=QUARTIER, timeout_ms=START_TIMEOUT_S * 1000)  # map's shadow root
            drawn = time.perf_counter() - server.started
        finally:
            context.close()
    return answering, drawn


def time_trivial_start(browser) -> tuple[float, float]:
    """Same measure for a one-line Streamlit script, in a folder of its own."""
    with tempfile.TemporaryDirectory(prefix="bench-trivial-") as tmp:
        script = Path(tmp) / "trivial.py"
        script.write_text(TRIVIAL_SCRIPT, "utf-8")
        with streamlit_server(script, cwd=Path(tmp)) as server:
            answering = server.wait_answering("/")
            context = offline_context(browser)
            try:
                page = context.new_page()
                page.goto(server.url + "/")
                wait_shown(page, text=TRIVIAL_TEXT, timeout_ms=START_TIMEOUT_S * 1000)
                shown = time.perf_counter() - server.started
            finally:
                context.close()
    return answering, shown


def cold_start(repeat: int, *, first_build: bool) -> list[dict]:
    """Cold-start figures (app and trivial script alternate, so load affects both alike)."""
    if not CHROMIUM.exists():
        print(f"cold start skipped: {CHROMIUM} is absent (apt-get install chromium)")
        return []
    from playwright.sync_api import sync_playwright

    env = {"QPV_BASEMAP": "aucun", "QPV_DATA_MIRROR": str(default_mirror())}
    app_answer, app_drawn, base_answer, base_shown = [], [], [], []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            time_trivial_start(browser)  # warm the OS file cache for both (not counted)
            for _ in range(repeat):
                a, d = time_app_start(browser, env=env)
                app_answer.append(a)
                app_drawn.append(d)
                a, d = time_trivial_start(browser)
                base_answer.append(a)
                base_shown.append(d)
            first = None
            if first_build:
                with tempfile.TemporaryDirectory(prefix="bench-processed-") as tmp:
                    first = time_app_start(browser, env={**env, "QPV_PROCESSED_DIR": tmp})
        finally:
            browser.close()
    med = statistics.median
    trivial, shown = "trivial Streamlit script", "trivial Streamlit script, text shown"
    figures = [
        ("cold start: `/` answering (app.py)", med(app_answer), med(base_answer), trivial, "5"),
        (
            "cold start: map drawn in Chromium (app.py, tables built)",
            med(app_drawn),
            med(base_shown),
            shown,
            "10",
        ),
    ]
    if first is not None:
        name = "first start: map drawn, tables built from the mirror on the way"
        figures.append((name, first[1], med(base_shown), shown, "30"))
    results = [
        report(name, value, "s", baseline=baseline, baseline_name=base, target=f"< {limit} s")
        for name, value, baseline, base, limit in figures
    ]
    return results


# --------------------------------------------------------------------------------------------
# One point


def lookup_latency(points: int) -> list[dict]:
    """p50/p99 of ``Locator.locate`` against a plain shapely per-point lookup."""
    from geo.locate import build_locator
    from geo.store import load_dataset

    dataset = load_dataset()
    locator = build_locator(dataset)
    generation = 2015
    qpv = dataset.qpv_of(generation)
    polys = np.asarray(qpv.geometry.values, dtype=object)
    boundaries = shapely.boundary(polys)
    to_lambert = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)

    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = dataset.territory.to_crs("EPSG:4326").total_bounds
    lons = rng.uniform(minx, maxx, points)
    lats = rng.uniform(miny, maxy, points)

    def plain(lon: float, lat: float) -> tuple[int, float]:
        x, y = to_lambert.transform(lon, lat)
        point = shapely.Point(x, y)
        inside = np.flatnonzero(shapely.contains(polys, point))
        return (int(inside[0]) if inside.size else -1), float(
            shapely.distance(boundaries, point).min()
        )

    def latencies(fn) -> np.ndarray:
        out = np.empty(points)
        for i, (lon, lat) in enumerate(zip(lons, lats, strict=True)):
            start = time.perf_counter_ns()
            fn(lon, lat)
            out[i] = time.perf_counter_ns() - start
        return out / 1e6  # ms

    def fast(lon: float, lat: float):
        return locator.locate(lon, lat, generation=generation)

    for fn in (fast, plain):  # warm-up (imports, caches), not counted
        for lon, lat in zip(lons[:50], lats[:50], strict=True):
            fn(lon, lat)
    ours = latencies(fast)
    base = latencies(plain)
    # Same answers, or the comparison means nothing.
    agree = 0
    for lon, lat in zip(lons[:500], lats[:500], strict=True):
        verdict = fast(lon, lat)
        k, d = plain(lon, lat)
        code = qpv["code"].iloc[k] if k >= 0 else None
        agree += (code in verdict.codes or (code is None and not verdict.codes)) and abs(
            d - verdict.distance_m
        ) < 1e-3
    print(f"one point: {agree}/500 verdicts agree with the shapely baseline ({points} points)")
    results = []
    for q in (50, 99):
        results.append(
            report(
                f"one point, Locator.locate p{q} (2015 perimeters)",
                float(np.percentile(ours, q)),
                "ms",
                baseline=float(np.percentile(base, q)),
                baseline_name=f"plain shapely contains + distance per point, p{q}",
                target="< 5 ms" if q == 99 else "< 1 ms",
            )
        )
    return results


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one cold start, fewer points")
    parser.add_argument("--repeat", type=int, default=None, help="cold starts of each (default 3)")
    parser.add_argument("--points", type=int, default=None, help="points for the lookup latency")
    parser.add_argument("--no-browser", action="store_true", help="skip the cold start")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    points = args.points or (1_000 if args.quick else 5_000)
    results = lookup_latency(points)
    if not args.no_browser:
        results += cold_start(repeat, first_build=True)
    return results


if __name__ == "__main__":
    main()
