"""Benchmark of the page shell: keep-alive responses, and the first visit against minimal apps.

Measured in the same run, each figure with its baseline:

1. Keep-alive response: the median time of ``/_stcore/health`` (2 bytes) on one kept-alive
   connection, the one-line page served by ``streamlit run serve.py`` (TCP_NODELAY) against the
   same page served by ``streamlit run`` alone (Nagle's algorithm on: each response waits for the
   client's delayed ACK). Target: under 10 ms.
2. First visit: from opening ``/`` in a new Chromium context (empty cache, no network, no
   basemap) to the first quartier drawn, against the same for a one-line Streamlit page (its
   text shown) and the one-square map app of ``support/apps`` (its square drawn, on the app's
   map component). All three are served by ``streamlit run serve.py`` and visited in turn, so
   that the load of the machine weighs on each alike; one visit of each comes first and is not
   counted (the app reads its tables on its first visit). Each page is checked on every frame
   (``support.browser.wait_shown``): Playwright's own waits check every 500 ms after the first
   270 ms, which added up to half a second to what draws late and nothing to what draws early.
   Target for the app: at most 1,3 × the one-line page. The map page shows its headline and
   map first, and its filters and panel once the map is drawn: the time to the whole page (its
   last filter shown) is given too. The app served by ``streamlit run app.py`` alone is visited
   too: what the launcher saves.

Run from the repository root: ``python bench/bench_shell.py [--visits N] [--requests N]``; also
run by ``bench/run_all.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._common import report  # noqa: E402 (needs the repository on the path)
from support import default_mirror  # noqa: E402

ONE_LINE_TEXT = "Bonjour, application minimale"
ONE_LINE_SCRIPT = f'import streamlit as st\n\nst.write("{ONE_LINE_TEXT}")\n'
KEEP_ALIVE_TARGET = "< 10 ms"
FIRST_VISIT_TARGET = "ratio <= 1.3"  # to the one-line page (issue 14): read the ratio column
LAST_FILTER = "Colorer les communes"  # the map page's last filter (pages/carte.py)


def keep_alive(one_line: Path, requests: int) -> list[dict]:
    """Median keep-alive response time, with and without the launcher (same page)."""
    from support.server import keep_alive_times, run_streamlit

    medians = {}
    with ExitStack() as stack:
        urls = {
            launcher: stack.enter_context(run_streamlit(one_line, launcher=launcher))
            for launcher in (True, False)
        }
        for launcher, url in urls.items():
            medians[launcher] = statistics.median(keep_alive_times(url, requests=requests))
    return [
        report(
            f"keep-alive response (`/_stcore/health`, median of {requests}), serve.py",
            medians[True] * 1000,
            "ms",
            baseline=medians[False] * 1000,
            baseline_name="same page, `streamlit run` without TCP_NODELAY",
            target=KEEP_ALIVE_TARGET,
        )
    ]


def first_visit(context, url: str, *waits: Callable) -> list[float]:
    """Seconds from opening ``url`` in a new tab of ``context`` to each ``wait(page)``
    returning, one after the other."""
    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(url)
        times = []
        for wait in waits:
            wait(page)
            times.append(time.perf_counter() - start)
        return times
    finally:
        page.close()


def first_visits(one_line: Path, visits: int) -> list[dict]:
    """First visit of `/` against the one-line page and the one-square map app."""
    from playwright.sync_api import sync_playwright

    from support.browser import launch_chromium, record_requests, wait_shown
    from support.server import APPS_DIR, run_streamlit
    from ui.leaflet import BASEMAP_ENV_VAR, NO_BASEMAP
    from ui.mapview import CLASS_QPV

    def drawn(shape: str, timeout_ms: int = 120_000) -> Callable:
        def wait(page) -> None:
            wait_shown(page, css=shape, timeout_ms=timeout_ms)  # in the map's shadow root

        return wait

    def shown(text: str) -> Callable:
        def wait(page) -> None:
            wait_shown(page, text=text, timeout_ms=120_000)

        return wait

    env = {BASEMAP_ENV_VAR: NO_BASEMAP.key, "QPV_DATA_MIRROR": str(default_mirror())}
    # name: (script, served by serve.py, what to wait for, one after the other). The map page
    # shows its map first, then its filters and panel (ui.carte.first_screen): the last of its
    # filters shown is the whole page.
    apps = {
        "app": (REPO / "app.py", True, (drawn(f"path.{CLASS_QPV}"), shown(LAST_FILTER))),
        "one-line": (one_line, True, (shown(ONE_LINE_TEXT),)),
        "one-square": (APPS_DIR / "leaflet_smoke.py", True, (drawn("path.leaflet-interactive"),)),
        "app, streamlit run": (REPO / "app.py", False, (drawn(f"path.{CLASS_QPV}"),)),
    }
    times: dict[str, list[list[float]]] = {name: [] for name in apps}
    with sync_playwright() as playwright, ExitStack() as stack:  # browser closed first
        urls = {
            name: stack.enter_context(run_streamlit(script, env=env, launcher=launcher))
            for name, (script, launcher, _) in apps.items()
        }
        browser = launch_chromium(playwright)
        stack.callback(browser.close)

        def visit(name: str) -> float:
            context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="fr-FR")
            record_requests(context)  # nothing leaves 127.0.0.1
            try:
                return first_visit(context, urls[name] + "/", *apps[name][2])
            finally:
                context.close()

        for name in apps:
            visit(name)  # not counted: the app reads its tables on its first visit
        for _ in range(visits):
            for name in apps:
                times[name].append(visit(name))
    median = {name: statistics.median(t[0] for t in values) for name, values in times.items()}
    whole = statistics.median(t[1] for t in times["app"])
    what = f"median of {visits}, new Chromium context, offline"
    return [
        report(
            f"first visit: `/` to the first quartier drawn ({what})",
            median["app"],
            "s",
            baseline=median["one-line"],
            baseline_name="one-line Streamlit page, text shown",
            target=FIRST_VISIT_TARGET,
        ),
        report(
            f"first visit: `/` to the first quartier drawn ({what})",
            median["app"],
            "s",
            baseline=median["one-square"],
            baseline_name="one-square map app (support/apps/leaflet_smoke.py), square drawn",
        ),
        report(
            f"first visit: `/` to the whole page, its filters shown ({what})",
            whole,
            "s",
            baseline=median["one-line"],
            baseline_name="one-line Streamlit page, text shown",
        ),
        report(
            f"first visit: `/` served by serve.py ({what})",
            median["app"],
            "s",
            baseline=median["app, streamlit run"],
            baseline_name="`/` served by `streamlit run app.py` (no TCP_NODELAY)",
        ),
    ]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=9, help="first visits of each page")
    parser.add_argument("--requests", type=int, default=50, help="keep-alive requests")
    parser.add_argument("--no-browser", action="store_true", help="keep-alive figure only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-shell-") as tmp:
        one_line = Path(tmp) / "one_line.py"
        one_line.write_text(ONE_LINE_SCRIPT, "utf-8")
        records = keep_alive(one_line, args.requests)
        if not args.no_browser:
            records += first_visits(one_line, args.visits)
    return records


if __name__ == "__main__":
    main()
