"""Benchmark of the map page: rerun time, map payload, time to draw in a real browser.

Each figure is printed with its baseline, measured in the same run, and the target:

1. Server side (AppTest): a rerun after a filter change (the commune filter toggled between
   none and Lens) against a rerun of the unchanged page, in wall-clock and CPU time (the CPU
   time of this process is what a busy shared machine does not inflate). AppTest adds its own
   work (it recompiles the scripts and parses the output at each run), so both are upper
   bounds of a server rerun. Target: under 150 ms.
2. Payload: what st_folium sends to the browser for the default view (the map's HTML, header
   and script, and the same as the JSON the component receives). Target: under 300 KB.
3. Browser (Chromium, no network, no basemap): from opening ``/`` to the quartiers drawn,
   against the same for the one-square smoke app of ``tests/apps``, on a first visit and on
   a visit with the browser cache. Target: under 2 s.

Run from the repository root: ``python bench/bench_map.py [--runs N] [--no-browser]``.
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
sys.path[:0] = [str(REPO), str(REPO / "tests")]

RERUN_TARGET_S = 0.150
PAYLOAD_TARGET_BYTES = 300_000
DRAW_TARGET_S = 2.0
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'


def timed(action) -> tuple[float, float]:
    """Wall-clock and CPU seconds of ``action()`` (CPU time of this process, all threads:
    AppTest runs the script in a thread of this process; other processes do not count)."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_rerun(runs: int) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()  # first run: data check, caches filled
    at.multiselect(key="carte_communes").set_value(["62498"]).run()
    at.multiselect(key="carte_communes").set_value([]).run()

    def filter_on_lens(on: bool) -> None:
        at.multiselect(key="carte_communes").set_value(["62498"] if on else []).run()

    # Interleaved, so that a busy machine weighs on both alike; the filter goes on and off, so
    # that each direction of change is measured.
    baseline, changed = [], []
    for i in range(runs):
        baseline.append(timed(at.run))
        changed.append(timed(lambda on=(i % 2 == 0): filter_on_lens(on)))
    assert not at.exception, at.exception
    wall = [statistics.median(t[0] for t in times) for times in (baseline, changed)]
    cpu = [statistics.median(t[1] for t in times) for times in (baseline, changed)]
    print("1. Rerun côté serveur (AppTest, médiane de", runs, "exécutions)")
    print("                                 horloge      CPU")
    print(f"   page inchangée (référence)   {wall[0] * 1000:7.1f} ms {cpu[0] * 1000:7.1f} ms")
    print(f"   après changement de filtre   {wall[1] * 1000:7.1f} ms {cpu[1] * 1000:7.1f} ms")
    print(f"   ratio filtre / référence     {wall[1] / wall[0]:7.2f}    {cpu[1] / cpu[0]:7.2f}")
    print(f"   ratio filtre / cible 150 ms  {wall[1] / RERUN_TARGET_S:7.2f}    "
          f"{cpu[1] / RERUN_TARGET_S:7.2f}")  # fmt: skip


def bench_payload() -> None:
    from streamlit_folium import _get_header, _get_html, _get_map_string

    from geo.selection import Filters, select_qpv
    from geo.store import load_dataset
    from ui import mapview

    dataset = load_dataset()
    codes = list(select_qpv(dataset.qpv, Filters())["code"])
    m = mapview.build_map(dataset, generation=2015, codes=codes)
    m.render()
    parts = {"html": _get_html(m), "header": _get_header(m), "script": _get_map_string(m)}
    raw = sum(len(text.encode("utf-8")) for text in parts.values())
    as_json = len(json.dumps(parts).encode("utf-8"))
    print("2. Carte de la vue par défaut envoyée au navigateur")
    print(f"   HTML + en-tête + script      {raw / 1000:7.1f} kB")
    print(f"   en JSON (arguments)          {as_json / 1000:7.1f} kB")
    print(f"   ratio JSON / cible 300 kB    {as_json / PAYLOAD_TARGET_BYTES:7.2f}")


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
    """Median times to draw ``(cold, warm)``: a first visit, and a visit with a browser cache.

    One warm-up load comes first: a fresh server checks its data once.
    """
    from browser import launch_chromium, record_requests
    from playwright.sync_api import sync_playwright

    def new_context(browser):
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
        record_requests(context)  # offline, as in the tests
        return context

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            warm = new_context(browser)
            open_and_wait(warm, base_url, shape, timeout_ms=120_000)
            warm_times = [open_and_wait(warm, base_url, shape) for _ in range(runs)]
            cold_times = []
            for _ in range(runs):
                context = new_context(browser)
                cold_times.append(open_and_wait(context, base_url, shape))
                context.close()
        finally:
            browser.close()
    return statistics.median(cold_times), statistics.median(warm_times)


def bench_browser(runs: int) -> None:
    from browser import APPS_DIR, run_streamlit

    env = {"QPV_BASEMAP": "aucun"}
    with run_streamlit(APPS_DIR / "leaflet_smoke.py", env=env) as smoke_url:
        smoke = draw_times(smoke_url, "path.leaflet-interactive", runs)
    with run_streamlit(REPO / "app.py", env=env) as app_url:
        page = draw_times(app_url, "path.qpv-quartier", runs)
    print(f"3. Navigateur : ouverture de / jusqu'aux quartiers dessinés (médiane de {runs})")
    for label, i in (("1re visite (sans cache)", 0), ("visite suivante (cache)", 1)):
        print(f"   {label}")
        print(f"     application témoin (1 carré) {smoke[i]:7.2f} s")
        print(f"     page carte                   {page[i]:7.2f} s")
        print(f"     ratio carte / témoin         {page[i] / smoke[i]:7.2f}")
        print(f"     ratio carte / cible 2 s      {page[i] / DRAW_TARGET_S:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="repetitions per measure")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium measure")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    bench_rerun(args.runs)
    bench_payload()
    if not args.no_browser:
        bench_browser(max(3, args.runs // 2))


if __name__ == "__main__":
    main()
