"""Benchmark of the map page: rerun time, map payload, time to draw in a real browser.

Each figure is printed with its baseline, measured in the same run, and the target:

1. Server side (AppTest): a rerun after a filter change (the commune filter toggled between
   none and Lens) against a rerun of the unchanged page, in wall-clock and CPU time (the CPU
   time of this process is what a busy shared machine does not inflate). AppTest adds its own
   work (it recompiles the scripts and parses the output at each run), so both are upper
   bounds of a server rerun. Target: under 150 ms.
2. Payload: what st_folium receives for the default view (the map's HTML, header and script,
   as JSON), against the same layers at full resolution with unrounded coordinates. Target:
   under 300 KB.
3. Browser (Chromium, no network, no basemap): from opening ``/`` to the quartiers drawn,
   against the same for the one-square smoke app of ``support/apps``, on a first visit and on
   a visit with the browser cache. Target: under 2 s.

Run from the repository root: ``python bench/bench_map.py [--runs N] [--no-browser]``; also run
by ``bench/run_all.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._common import report  # noqa: E402 (needs the repository on the path)

RERUN_TARGET = "< 150 ms"
PAYLOAD_TARGET = "< 300 kB"
DRAW_TARGET = "< 2 s"
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'


def timed(action) -> tuple[float, float]:
    """Wall-clock and CPU seconds of ``action()`` (CPU time of this process, all threads:
    AppTest runs the script in a thread of this process; other processes do not count)."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_rerun(runs: int) -> list[dict]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()  # first run: data check, caches filled

    def filter_on_lens(on: bool) -> None:
        at.multiselect(key="carte_communes").set_value(["62498"] if on else []).run()

    filter_on_lens(True)
    filter_on_lens(False)
    # Interleaved, so that a busy machine weighs on both alike; the filter goes on and off, so
    # that each direction of change is measured.
    baseline, changed = [], []
    for i in range(runs):
        baseline.append(timed(at.run))
        changed.append(timed(lambda on=(i % 2 == 0): filter_on_lens(on)))
    assert not at.exception, at.exception
    records = []
    for clock, index in (("wall clock", 0), ("CPU", 1)):
        records.append(
            report(
                f"map page rerun after a filter change, AppTest, {clock} (median of {runs})",
                statistics.median(t[index] for t in changed) * 1000,
                "ms",
                baseline=statistics.median(t[index] for t in baseline) * 1000,
                baseline_name="rerun of the unchanged page",
                target=RERUN_TARGET,
            )
        )
    return records


def bench_payload() -> list[dict]:
    from streamlit_folium import _get_header, _get_html, _get_map_string

    from geo.selection import Filters, select_qpv
    from geo.store import load_dataset
    from ui import mapview

    dataset = load_dataset()
    codes = list(select_qpv(dataset.qpv, Filters())["code"])
    m = mapview.build_map(dataset, generation=2015, codes=codes)
    m.render()
    sent = json.dumps(
        {"html": _get_html(m), "header": _get_header(m), "script": _get_map_string(m)}
    )
    # The same three layers as plain GeoJSON, at full resolution and unrounded.
    full = [
        dataset.qpv[dataset.qpv["code"].isin(codes)][["code", "name", "geometry"]],
        dataset.communes[["code", "name", "geometry"]],
        dataset.territory[["siren", "geometry"]],
    ]
    unsimplified = sum(len(layer.to_crs(4326).to_json()) for layer in full)
    return [
        report(
            "map payload of the default view (st_folium arguments, JSON)",
            len(sent.encode("utf-8")) / 1000,
            "kB",
            baseline=unsimplified / 1000,
            baseline_name="its layers at full resolution, unrounded",
            target=PAYLOAD_TARGET,
        )
    ]


def open_and_wait(context, base_url: str, shape: str, *, timeout_ms: int = 30_000) -> float:
    """Seconds from opening ``base_url/`` in a new tab to the first ``shape`` drawn."""
    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(base_url + "/")
        page.frame_locator(MAP_IFRAME).locator(shape).first.wait_for(
            state="visible", timeout=timeout_ms
        )
        return time.perf_counter() - start
    finally:
        page.close()


def draw_times(base_url: str, shape: str, runs: int) -> tuple[float, float]:
    """Median times to draw ``(first visit, visit with a browser cache)``.

    One warm-up load comes first: a fresh server checks its data once.
    """
    from playwright.sync_api import sync_playwright

    from support.browser import launch_chromium, record_requests

    def new_context(browser):
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
        record_requests(context)  # offline, as in the tests
        return context

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            cached = new_context(browser)
            open_and_wait(cached, base_url, shape, timeout_ms=120_000)
            cached_times = [open_and_wait(cached, base_url, shape) for _ in range(runs)]
            first_times = []
            for _ in range(runs):
                context = new_context(browser)
                first_times.append(open_and_wait(context, base_url, shape))
                context.close()
        finally:
            browser.close()
    return statistics.median(first_times), statistics.median(cached_times)


def bench_browser(runs: int) -> list[dict]:
    from support.server import APPS_DIR, run_streamlit
    from ui.mapview import CLASS_QPV

    env = {"QPV_BASEMAP": "aucun"}
    with run_streamlit(APPS_DIR / "leaflet_smoke.py", env=env) as smoke_url:
        smoke = draw_times(smoke_url, "path.leaflet-interactive", runs)
    with run_streamlit(REPO / "app.py", env=env) as app_url:
        page = draw_times(app_url, f"path.{CLASS_QPV}", runs)
    return [
        report(
            f"map page: `/` opened to quartiers drawn, Chromium, {visit} (median of {runs})",
            page[i],
            "s",
            baseline=smoke[i],
            baseline_name="one-square st_folium app (support/apps/leaflet_smoke.py)",
            target=DRAW_TARGET,
        )
        for i, visit in enumerate(("first visit", "browser cache"))
    ]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="repetitions per measure")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium measure")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    records = bench_rerun(args.runs) + bench_payload()
    if not args.no_browser:
        records += bench_browser(max(3, args.runs // 2))
    return records


if __name__ == "__main__":
    main()
