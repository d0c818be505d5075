"""Benchmark: address suggestions on ``/adresse``, from the last keystroke to the list shown.

Measured in the same run, against the Géoplateforme stand-in (``support/fake_geoplateforme.py``)
answering every request after a set latency (``--latency``, default 80 ms):

* round trip, in Chromium: the time from the last keystroke of a query (a ``keydown`` listener)
  to the first proposed address appearing in the page (a ``MutationObserver``), both read from
  the page's own clock. It includes the field's debounce (``ui.adresse.DEBOUNCE_MS``), the
  component's message to the server, the script run with its ``/completion`` request, and the
  drawing of the list;
* baseline: the service's own answer time, ``geo.geocode.suggest_addresses`` called from Python
  against the same stand-in (one HTTP request and its parsing).

Each trial types a different query (« <commune> adr »), then clears the field.

Run: ``python bench/bench_suggest.py [--trials 15] [--latency 0.08] [--quick]``. Needs Debian's
Chromium.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import report
from geo.geocode import SearchArea, suggest_addresses
from support import default_mirror
from support.browser import CHROMIUM, launch_chromium, wait_idle
from support.fake_geoplateforme import FakeGeoplateforme, load_addresses
from support.server import run_streamlit
from ui.adresse import ADDRESS_PLACEHOLDER, DEBOUNCE_MS

REPO = Path(__file__).resolve().parent.parent
PLACEHOLDER = ADDRESS_PLACEHOLDER
START_TIMEOUT_S = 180.0

WATCH = """() => {
    window.__keyAt = null;
    window.__shownAt = null;
    window.__expect = null;
    document.addEventListener('keydown', () => { window.__keyAt = performance.now(); }, true);
    new MutationObserver(() => {
        if (!window.__expect || window.__shownAt !== null) return;
        for (const b of document.querySelectorAll('[data-testid="stMain"] button')) {
            if (b.innerText.trim().startsWith(window.__expect)) {
                window.__shownAt = performance.now();
                return;
            }
        }
    }).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def queries(addresses, trials: int) -> list[tuple[str, str]]:
    """(typed text, label the first suggestion starts with), one commune of the CALL each."""
    communes = []
    for address in addresses:
        if address.qpv_code and address.qpv_code != "QP062043" and address.city not in communes:
            communes.append(address.city)
    return [(f"{c} adr", c) for c in (communes * trials)[:trials]]


def service_times(server: FakeGeoplateforme, area: SearchArea, runs: int) -> list[float]:
    """Seconds per ``suggest_addresses`` call from Python (the baseline)."""
    times = []
    for text, _ in queries(server.addresses, runs):
        start = time.perf_counter()
        found = suggest_addresses(text, area=area, url=server.url, pace=None)
        times.append(time.perf_counter() - start)
        assert found, f"no suggestion for {text!r}"
    return times


def browser_times(url: str, addresses, trials: int) -> list[float]:
    """Seconds from the last keystroke to the first suggestion shown, per trial."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="fr-FR")
            page.goto(f"{url}/adresse")
            field = page.get_by_placeholder(PLACEHOLDER)
            field.wait_for(timeout=START_TIMEOUT_S * 1000)
            wait_idle(page)
            page.evaluate(WATCH)
            field.click()
            for text, expect in queries(addresses, trials):
                page.evaluate(f"() => {{ window.__expect = {expect!r}; window.__shownAt = null; }}")
                page.keyboard.type(text, delay=40)
                page.wait_for_function("window.__shownAt !== null", timeout=30_000)
                times.append(page.evaluate("(window.__shownAt - window.__keyAt) / 1000"))
                page.keyboard.press("Control+A")
                page.keyboard.press("Backspace")
                page.wait_for_function(
                    "![...document.querySelectorAll('[data-testid=\"stMain\"] button')]"
                    f".some(b => b.innerText.trim().startsWith({expect!r}))",
                    timeout=30_000,
                )
                wait_idle(page, quiet_ms=500)
        finally:
            browser.close()
    return times


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--latency", type=float, default=0.08, help="stand-in seconds/request")
    parser.add_argument("--quick", action="store_true", help="3 trials")
    args = parser.parse_args(argv)
    trials = 3 if args.quick else args.trials
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is absent: no browser figure")
        return []

    import geopandas as gpd
    import pandas as pd

    from geo.store import load_dataset

    dataset = load_dataset()
    centre = dataset.territory.to_crs(4326).geometry.iloc[0].centroid
    communes: pd.DataFrame | gpd.GeoDataFrame = dataset.communes
    area = SearchArea.from_communes(
        communes["code"], communes["name"], communes["postal_codes"], (centre.x, centre.y)
    )
    addresses = load_addresses(default_mirror())
    print(
        f"{trials} trials, stand-in latency {args.latency * 1000:g} ms, debounce {DEBOUNCE_MS} ms"
    )
    with FakeGeoplateforme(addresses, latency=args.latency) as server:
        baseline = service_times(server, area, max(trials, 5))
        env = {"QPV_GEOCODER_URL": server.url, "QPV_BASEMAP": "aucun"}
        with run_streamlit(REPO / "app.py", env=env, timeout=START_TIMEOUT_S) as url:
            shown = browser_times(url, addresses, trials)
    base = statistics.median(baseline)
    records = [
        report(
            "Suggestions: last keystroke to list shown (Chromium, median)",
            statistics.median(shown),
            "s",
            baseline=base,
            baseline_name="the service's answer, suggest_addresses from Python (median)",
            target=f"< {DEBOUNCE_MS / 1000 + 0.5:g}",
        ),
        report(
            "Suggestions: last keystroke to list shown (Chromium, slowest)",
            max(shown),
            "s",
            baseline=max(baseline),
            baseline_name="the service's answer (slowest)",
        ),
    ]
    print(f"debounce included: {DEBOUNCE_MS} ms; trials: {', '.join(f'{t:.3f}' for t in shown)}")
    return records


if __name__ == "__main__":
    main()
