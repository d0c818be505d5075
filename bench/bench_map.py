"""Benchmark of the map page: server CPU per rerun, map payload, time to draw in a real browser.

Each figure is printed with its baseline, measured in the same run, and the target:

1. Server CPU per rerun, real server: ``streamlit run serve.py`` serving the app, driven on its
   websocket as a browser drives it (the hashes of the messages it already has are sent with
   each rerun, so the server answers those with a reference). Measured from ``/proc`` (the
   server process's CPU time, all threads, over all the reruns of a kind, divided by their
   number): a rerun after a filter change (each time communes never chosen before: one
   commune, then pairs) and a rerun after a click on the map (a quartier's panel, then a
   commune's, in turn; each click is checked to open its panel, and the first ones, which
   build what the panels show once per process, are not counted),
   against the rerun of a one-line Streamlit page served the same way. The reruns of the app
   and of the one-line page alternate in small batches, so that a busy machine weighs on
   both alike. Target: a filter change at most 15 ms.
2. The same filter change through AppTest, in this process (wall clock and CPU), against a
   rerun of the unchanged page: AppTest adds its own work (it recompiles the scripts and parses
   the output at each run), so both are upper bounds.
3. Payload: what the map component receives for the default view (JSON), against the same
   layers at full resolution with unrounded coordinates. Target: under 300 KB.
4. Browser (Chromium, no network, no basemap): from opening ``/`` to the quartiers drawn,
   against the same for the one-square map app of ``support/apps``, on a first visit and on a
   visit with the browser cache. Target: under 2 s.

Run from the repository root: ``python bench/bench_map.py [--runs N] [--reruns N]
[--no-browser]``; also run by ``bench/run_all.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import tempfile
import time
import warnings
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._common import report  # noqa: E402 (needs the repository on the path)
from support import default_mirror  # noqa: E402

SERVER_CPU_TARGET = "<= 15 ms"
RERUN_TARGET = "< 150 ms"
PAYLOAD_TARGET = "< 300 kB"
DRAW_TARGET = "< 2 s"
ONE_LINE_SCRIPT = 'import streamlit as st\n\nst.write("Bonjour, application minimale")\n'
BATCH = 5  # reruns of one server before switching to the other
TIMEOUT_S = 60.0


def timed(action) -> tuple[float, float]:
    """Wall-clock and CPU seconds of ``action()`` (CPU time of this process, all threads:
    AppTest runs the script in a thread of this process; other processes do not count)."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


# ---------------------------------------------------------------------------------------------
# 1. Server CPU per rerun, on the real server


def _session_class():
    from bench.load_server import Connection

    class Session(Connection):
        """A websocket session that also keeps the widgets and components the page sent."""

        def __init__(self, ws) -> None:
            super().__init__(ws)
            self.elements: list = []

        def read(self, msg, kind, run) -> None:
            super().read(msg, kind, run)
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self.elements.append(msg.delta.new_element)

        def find(self, kind: str, key: str):
            """The last element of type ``kind`` whose id ends with ``key``."""
            for element in reversed(self.elements):
                if element.WhichOneof("type") == kind:
                    proto = getattr(element, kind)
                    if proto.id.endswith(key):
                        return proto
            raise LookupError(f"no {kind} with key {key!r} in the page")

    return Session


def _states(*widgets):
    from streamlit.proto.ClientState_pb2 import ClientState

    state = ClientState()
    state.widget_states.widgets.extend(widgets)
    return state


def _trigger(component: str, event: str, value: object):
    """The rerun a component's ``setTriggerValue(event, value)`` sends."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    from streamlit.runtime.state.session_state import STREAMLIT_INTERNAL_KEY_PREFIX

    return _states(
        # The component's own state comes with its event, as the browser sends them: the
        # server ignores an event without it.
        WidgetState(id=component, json_value="{}"),
        WidgetState(
            id=f"{STREAMLIT_INTERNAL_KEY_PREFIX}_{component}__events",
            json_trigger_value=json.dumps([{"event": event, "value": value}]),
        ),
    )


async def _page_reruns(url: str, reruns: int) -> tuple[object, list]:
    """Open a session on the map page; return it and the two kinds of reruns to replay."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    from geo import generations
    from geo.store import load_dataset
    from geo.territory import DEFAULT_TERRITORY
    from ui.mapview import KIND_COMMUNE, KIND_QPV, MAP_KEY
    from ui.markdown import escape_markdown

    data = load_dataset(DEFAULT_TERRITORY)
    quartier = data.qpv_of(generations.ORDER[0], include_neighbouring=False)["code"].iloc[0]
    commune = sorted(data.communes["code"])[0]
    session = await _session_class().open(url, TIMEOUT_S)
    await session.rerun(_states(), TIMEOUT_S)  # the page's first run: its headline and map
    component = session.find("bidi_component", MAP_KEY).id
    await session.rerun(_trigger(component, "drawn", True), TIMEOUT_S)  # then the rest of it
    communes = session.find("multiselect", "carte_communes")
    # Each rerun a set of communes never asked for before (one commune, then pairs): what is
    # kept per set of filters (ui/derived.py) is built, as on a user's real change.
    options = list(communes.options)
    chosen_sets = [[a] for a in options] + [[a, b] for a, b in itertools.combinations(options, 2)]
    filters = []
    for chosen in chosen_sets[:reruns]:
        widget = WidgetState(id=communes.id)
        widget.string_array_value.data.extend(chosen)
        filters.append(_states(widget))
    clicks = [
        _trigger(component, "click", value)
        for value in ({"kind": KIND_QPV, "code": quartier}, {"kind": KIND_COMMUNE,
                                                              "code": commune})
    ]  # fmt: skip
    for click in clicks:  # each opens a panel (built once per process, as for a first user)
        session.elements.clear()
        await session.rerun(click, TIMEOUT_S)
        headings = {e.heading.body for e in session.elements if e.WhichOneof("type") == "heading"}
        if escape_markdown(data.territory_name) in headings:  # the territory's panel still
            raise RuntimeError("a click on the map opened no panel")
    return session, [("filter", filters), ("click", clicks)]


async def _server_cpu(app, one_line, reruns: int) -> dict[str, float]:
    """Server CPU seconds per rerun: the app's filter changes and clicks, the one-line page."""
    from bench._common import cpu_seconds

    session, kinds = await _page_reruns(app.url, reruns + BATCH)
    baseline = await _session_class().open(one_line.url, TIMEOUT_S)
    await baseline.rerun(_states(), TIMEOUT_S)
    plans = [(name, app.pid, session, states) for name, states in kinds]
    plans.append(("one-line", one_line.pid, baseline, [_states()]))
    for _, _, connection, states in plans:  # one batch of each before measuring
        for i in range(BATCH):
            await connection.rerun(states[-1 - i % len(states)], TIMEOUT_S)
    used = {name: 0.0 for name, *_ in plans}
    done = dict.fromkeys(used, 0)
    while min(done.values()) < reruns:
        for name, pid, connection, states in plans:
            before = cpu_seconds(pid)
            for i in range(done[name], done[name] + BATCH):
                run = await connection.rerun(states[i % len(states)], TIMEOUT_S)
                if run.problems:
                    raise RuntimeError(f"{name} rerun failed: {run.problems}")
            used[name] += cpu_seconds(pid) - before
            done[name] += BATCH
    await session.close()
    await baseline.close()
    return {name: used[name] / done[name] for name in used}


def bench_server_cpu(reruns: int) -> list[dict]:
    from bench._common import streamlit_server

    env = {"QPV_BASEMAP": "aucun", "QPV_DATA_MIRROR": str(default_mirror())}
    with tempfile.TemporaryDirectory(prefix="bench-map-") as tmp, ExitStack() as stack:
        script = Path(tmp) / "one_line.py"
        script.write_text(ONE_LINE_SCRIPT, "utf-8")
        app = stack.enter_context(streamlit_server(REPO / "app.py", env=env))
        one_line = stack.enter_context(streamlit_server(script, env=env))
        app.wait_answering()
        one_line.wait_answering()
        per_rerun = asyncio.run(_server_cpu(app, one_line, reruns))
    what = f"real server, CPU of its process, {reruns} reruns each"
    baseline = per_rerun["one-line"] * 1000
    name = "rerun of a one-line Streamlit page, same server setup"
    return [
        report(
            f"map page: server CPU per rerun after a filter change ({what})",
            per_rerun["filter"] * 1000,
            "ms",
            baseline=baseline,
            baseline_name=name,
            target=SERVER_CPU_TARGET,
        ),
        report(
            f"map page: server CPU per rerun after a click on the map ({what})",
            per_rerun["click"] * 1000,
            "ms",
            baseline=baseline,
            baseline_name=name,
        ),
    ]


# ---------------------------------------------------------------------------------------------
# 2. AppTest


def bench_rerun(runs: int) -> list[dict]:
    from streamlit.testing.v1 import AppTest

    from ui.carte import K_DRAWN

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.session_state[K_DRAWN] = True  # as after the browser drew the map: the whole page
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


# ---------------------------------------------------------------------------------------------
# 3. Payload


def bench_payload() -> list[dict]:
    from geo.selection import Filters, select_qpv
    from geo.store import load_dataset
    from ui import leaflet, mapview

    dataset = load_dataset()
    codes = list(select_qpv(dataset.qpv, Filters())["code"])
    spec = mapview.territory_map(dataset, generation=2015, codes=codes)
    sent = json.dumps(leaflet.payload(spec, clicks="feature"))
    # The same three layers as plain GeoJSON, at full resolution and unrounded.
    full = [
        dataset.qpv[dataset.qpv["code"].isin(codes)][["code", "name", "geometry"]],
        dataset.communes[["code", "name", "geometry"]],
        dataset.territory[["siren", "geometry"]],
    ]
    unsimplified = sum(len(layer.to_crs(4326).to_json()) for layer in full)
    return [
        report(
            "map payload of the default view (the component's data, JSON)",
            len(sent.encode("utf-8")) / 1000,
            "kB",
            baseline=unsimplified / 1000,
            baseline_name="its layers at full resolution, unrounded",
            target=PAYLOAD_TARGET,
        )
    ]


# ---------------------------------------------------------------------------------------------
# 4. Browser


def open_and_wait(context, base_url: str, shape: str, *, timeout_ms: int = 30_000) -> float:
    """Seconds from opening ``base_url/`` in a new tab to the first ``shape`` drawn."""
    from support.browser import wait_shown

    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(base_url + "/")
        wait_shown(page, css=shape, timeout_ms=timeout_ms)
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
            baseline_name="one-square map app (support/apps/leaflet_smoke.py)",
            target=DRAW_TARGET,
        )
        for i, visit in enumerate(("first visit", "browser cache"))
    ]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="repetitions per measure")
    parser.add_argument(
        "--reruns", type=int, default=0, help="server reruns of each kind (default: 10 x runs)"
    )
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium measure")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    reruns = max(BATCH, (args.reruns or 10 * args.runs) // BATCH * BATCH)
    records = bench_server_cpu(reruns) + bench_rerun(args.runs) + bench_payload()
    if not args.no_browser:
        records += bench_browser(max(3, args.runs // 2))
    return records


if __name__ == "__main__":
    main()
