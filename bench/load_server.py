"""Load test at the protocol level: how many residents one ``streamlit run serve.py`` holds.

``bench/load.py`` drives real Chromium contexts against the server; on a small machine the
browsers take nearly all the CPU (20 of them on 2 cores: about 95 % of it, the server 0.13
core), so its step times measure Chromium rather than the server. Here no browser runs during
the load: what a browser sends on the websocket is recorded once, then replayed by many
virtual sessions that cost the machine little.

1. **Record.** One Chromium session (Playwright, offline, as in ``bench/load.py``) runs
   ``bench/load.py``'s journey (its ``STEPS`` and ``JOURNEY``: first visit of the map, then
   errands: filter a commune, open a quartier's fact panel, open /adresse from the menu, look
   up a point by its coordinates, back to the map) for ``--errands`` different errands. Every
   frame the browser sends on ``/_stcore/stream`` is kept (``framesent``), labelled by the step
   during which it was sent and by its websocket (a page load opens a new one). Each step ends
   when the page is idle and the browser has sent nothing for a while, so a rerun sent after
   the step's own wait (a component's value) still belongs to it. Only ``rerun_script``
   BackMsgs are replayed: the frontend sends nothing else on this journey (anything else is
   counted and printed).
2. **Check, and baseline.** One virtual session replays the journey alone: the fact panel step
   must bring the quartier's heading and the point step the verdict naming the quartier's code,
   ``(QP06xxxx)``, or the run stops (the replay would not be the journey and its numbers would
   mean nothing). Its step times are the baseline of every level.
3. **Load.** For each ``--sessions`` level, N virtual sessions (asyncio, the ``websockets``
   client Streamlit itself depends on) open their websocket over ``--ramp`` s; each makes a
   first visit then runs errands (a different one each round, as ``bench/load.py`` does) with
   pauses of ``--think`` s on average (from half to one and a half times that), for
   ``--duration`` s. A step's response time runs from sending its rerun(s) to the server's
   ``script_finished`` (a step on a new websocket includes its opening). Errors: connection
   failures or drops, waits over ``--timeout`` s, a Python exception element sent to the page,
   a script that fails to compile, a page not found, an expected text missing. After an error
   the session closes its websocket and starts again with a first visit, as ``bench/load.py``
   reloads the page (the server may still finish the run nobody waits for).

Measured per level: p50/p95 of each step (baseline: the same step replayed by one session
alone), errors, reruns/s (baseline: the rate N sessions would ask for if every step took as
long as alone), the server's CPU (cores, from ``/proc``; baseline: the whole machine's busy
cores, load generator included) and CPU per rerun, its memory growth per session (``VmRSS``;
baseline: the growth the first session caused), the loads of the processed tables
(``/_stcore/metrics``). The load generator's own CPU is printed too.

Limits: the page's HTTP requests are not replayed (HTML, Streamlit's JavaScript, the map
component's module and Leaflet: once per visit, then mostly from the browser's cache); the map
is not moved or clicked (nor was it in the recording); each replayed message carries the
widget values the recording browser sent; a virtual session waits for each run to finish
before sending the next rerun, whereas a browser may interrupt a run.

Bounded: every wait has a timeout, each level a hard stop ``--grace`` s after its end and the
whole run a global ``--deadline``. Nothing leaves 127.0.0.1.

Run: ``python bench/load_server.py --sessions 20 50 100`` (figures printed; with
``--markdown FILE``, a paragraph for ``docs/PERFORMANCE.md`` and the figures in ``FILE.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench import _common, _journey
from bench._common import report, streamlit_server
from support import REPO_ROOT, default_mirror
from support.browser import CHROMIUM

STREAM = "/_stcore/stream"
QUIET_S = 1.0  # a recorded step ends after this long without a frame sent, page idle
QUIET_TIMEOUT_S = 60.0
SETTLE_S = 3.0  # pause after a level, before reading the server's memory
TARGET_P95_S = _journey.TARGET_P95_S
KEPT_UP = 0.9  # a level where the server served less than this share of the reruns asked for
FINISHED = (
    ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY,
    ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
)
COMPILE_ERROR = ForwardMsg.ScriptFinishedStatus.FINISHED_WITH_COMPILE_ERROR


# --------------------------------------------------------------------------------------------
# The recording


@dataclass
class Step:
    """One step of the recorded journey: the reruns the browser sent while it ran."""

    name: str
    errand: _journey.Errand
    new_connection: bool = False  # the browser opened a websocket during this step
    reruns: list[ClientState] = field(default_factory=list)


@dataclass
class Recording:
    opening: list[Step]  # the first visit, once per session
    errands: list[list[Step]]  # then these, one errand after the other
    dropped: Counter  # BackMsgs of other types the browser sent (not replayed)

    def rounds(self, start: int) -> Iterator[Step]:
        """The steps of a session: the opening, then the errands in turn from ``start``."""
        yield from self.opening
        for k in itertools.count(start):
            yield from self.errands[k % len(self.errands)]


class Recorder:
    """Keeps the frames a page sends on Streamlit's websocket, labelled by the current step."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.dropped: Counter = Counter()
        self.last_frame = 0.0

    def begin(self, name: str, errand: _journey.Errand) -> None:
        self.steps.append(Step(name, errand))

    def on_websocket(self, ws) -> None:
        if ws.url.split("?")[0].endswith(STREAM):
            self.steps[-1].new_connection = True
            ws.on("framesent", self.on_frame)

    def on_frame(self, payload: str | bytes) -> None:
        self.last_frame = time.monotonic()
        msg = BackMsg.FromString(payload if isinstance(payload, bytes) else payload.encode())
        kind = msg.WhichOneof("type")
        if kind == "rerun_script":
            self.steps[-1].reruns.append(msg.rerun_script)
        else:
            self.dropped[kind] += 1

    async def quiet(self, page) -> None:
        """Wait until the page is idle and has sent nothing for ``QUIET_S``."""
        deadline = time.monotonic() + QUIET_TIMEOUT_S
        while True:
            await _journey.settle(page)
            idle = time.monotonic() - self.last_frame
            if idle >= QUIET_S:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page kept sending frames for {QUIET_TIMEOUT_S:g} s")
            await asyncio.sleep(QUIET_S - idle)


def recorded_errands(count: int) -> list[_journey.Errand]:
    """``count`` errands spread over ``bench/load.py``'s plan (different communes)."""
    plan = _journey.errands()
    count = max(1, min(count, len(plan)))
    return [plan[k * len(plan) // count] for k in range(count)]


async def record(url: str, errands: list[_journey.Errand]) -> Recording:
    """Run ``bench/load.py``'s journey once in Chromium, keeping what the page sends."""
    from playwright.async_api import async_playwright

    recorder = Recorder()
    async with async_playwright() as playwright:
        browser = await _journey.launch_browser(playwright)
        try:
            context = await _journey.new_context(browser)
            page = await context.new_page()
            page.on("websocket", recorder.on_websocket)
            for number, errand in enumerate(errands):
                for name in _journey.STEPS if number == 0 else _journey.ERRAND_STEPS:
                    recorder.begin(name, errand)
                    await _journey.JOURNEY[name](page, url, errand)
                    await _journey.check_no_exception(page, name)
                    await recorder.quiet(page)
        finally:
            await browser.close()
    return split_recording(recorder, len(_journey.STEPS) - len(_journey.ERRAND_STEPS))


def split_recording(recorder: Recorder, opening: int) -> Recording:
    steps = recorder.steps
    size = len(_journey.ERRAND_STEPS)
    rest = steps[opening:]
    errands = [rest[k : k + size] for k in range(0, len(rest), size)]
    return Recording(steps[:opening], errands, recorder.dropped)


def describe(recording: Recording) -> str:
    steps = all_steps(recording)
    reruns = sum(len(s.reruns) for s in steps)
    connections = sum(s.new_connection for s in steps)
    dropped = ", ".join(f"{n} {k}" for k, n in recording.dropped.items()) or "none"
    return (
        f"{len(steps)} steps ({len(recording.errands)} errands), {reruns} rerun_script "
        f"messages on {connections} websocket(s); other BackMsgs not replayed: {dropped}"
    )


# --------------------------------------------------------------------------------------------
# What a step must show (the replay is the journey only if it does)


def expected_texts(step: Step) -> list[tuple[str | None, str]]:
    """(element type or None for any, text) the step's runs must send to the page."""
    errand = step.errand
    return {
        "quartier": [("heading", errand.qpv_name)],
        "point": [(None, f"({errand.qpv_code})")],
    }.get(step.name, [])


def missing_texts(step: Step, texts: list[tuple[str, str]]) -> list[str]:
    missing = []
    for kind, text in expected_texts(step):
        if not any(text in body and kind in (None, k) for k, body in texts):
            missing.append(f"no {kind or 'element'} with {text!r} in the server's answer")
    return missing


def element_text(element) -> tuple[str, str] | None:
    """(type, text) of an element that shows text (markdown, heading, alert...), else None."""
    kind = element.WhichOneof("type")
    body = getattr(getattr(element, kind), "body", None) if kind else None
    return (kind, body) if isinstance(body, str) and body else None


# --------------------------------------------------------------------------------------------
# The replay


@dataclass
class Run:
    """What the server answered to one rerun."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Connection:
    """One websocket of a virtual session, holding what a browser's frontend would hold.

    Like the frontend, it keeps the hashes of the cacheable messages it received and sends
    them with every rerun, so the server answers those with a reference (``ref_hash``).
    """

    def __init__(self, ws) -> None:
        self.ws = ws
        self.cached: dict[str, list[tuple[str, str]]] = {}  # hash -> its texts

    @classmethod
    async def open(cls, url: str, timeout: float) -> Connection:
        from websockets.asyncio.client import connect

        ws = await connect(
            url.replace("http", "ws", 1) + STREAM,
            subprotocols=["streamlit"],  # what the frontend offers, the server selects
            origin=url,  # same origin, as a browser sends it
            open_timeout=timeout,
            ping_interval=None,  # a browser does not ping; it answers the server's pings
            max_size=None,
            proxy=None,
        )
        return cls(ws)

    async def close(self) -> None:
        await self.ws.close()

    def message(self, state: ClientState) -> bytes:
        msg = BackMsg()
        msg.rerun_script.CopyFrom(state)
        del msg.rerun_script.cached_message_hashes[:]
        msg.rerun_script.cached_message_hashes.extend(self.cached)
        return msg.SerializeToString()

    async def rerun(self, state: ClientState, timeout: float) -> Run:
        """Send one recorded rerun, read the server's answer until its script finished."""
        await self.ws.send(self.message(state))
        try:
            return await asyncio.wait_for(self.answer(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no script_finished within {timeout:g} s") from None

    async def answer(self) -> Run:
        run = Run()
        started = False  # a stale script_finished of an earlier run does not count
        while True:
            msg = ForwardMsg.FromString(await self.ws.recv())
            kind = msg.WhichOneof("type")
            started |= kind == "new_session"
            self.read(msg, kind, run)
            if kind == "script_finished" and started:
                if msg.script_finished == COMPILE_ERROR:
                    run.problems.append("the script failed to compile")
                if msg.script_finished in FINISHED or msg.script_finished == COMPILE_ERROR:
                    return run

    def read(self, msg: ForwardMsg, kind: str | None, run: Run) -> None:
        if kind == "ref_hash":
            run.texts += self.cached.get(msg.ref_hash, [])
        elif kind == "page_not_found":
            run.problems.append(f"page not found: {msg.page_not_found.page_name!r}")
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            if element.WhichOneof("type") == "exception":
                exc = element.exception
                run.problems.append(f"exception shown: {exc.type}: {exc.message[:200]}")
            texts = [t] if (t := element_text(element)) else []
            run.texts += texts
            if msg.metadata.cacheable:
                self.cached[msg.hash] = texts


@dataclass
class Tally(_journey.Results):
    """``bench/load.py``'s results, plus what only the protocol shows."""

    reruns: int = 0
    connections: int = 0
    checked: int = 0  # expected texts found
    finished: list[float] = field(default_factory=list)  # monotonic time of each rerun served
    cpu_per_rerun: float = float("nan")  # server CPU seconds (baseline only)


class VirtualSession:
    """A resident without a browser: replays the recorded steps on its own websocket(s)."""

    def __init__(self, number: int, url: str, tally: Tally, timeout: float) -> None:
        self.number, self.url, self.tally, self.timeout = number, url, tally, timeout
        self.connection: Connection | None = None

    async def play(self, step: Step) -> None:
        """Replay one step; its time goes to the tally, or its failure to the errors."""
        start = time.perf_counter()
        try:
            problems = await self.replay(step)
        except Exception as exc:  # every failure is counted and reported
            problems = [f"{type(exc).__name__}: {exc}"[:300]]
        if problems:
            self.tally.errors.append((self.number, step.name, "; ".join(problems)))
            await self.close()  # start again from a first visit
            raise StepFailed
        self.tally.times[step.name].append(time.perf_counter() - start)
        self.tally.checked += len(expected_texts(step))

    async def replay(self, step: Step) -> list[str]:
        if step.new_connection or self.connection is None:
            await self.close()
            self.connection = await Connection.open(self.url, self.timeout)
            self.tally.connections += 1
        run = Run()
        for state in step.reruns:
            one = await self.connection.rerun(state, self.timeout)
            self.tally.reruns += 1
            self.tally.finished.append(time.monotonic())
            run.texts += one.texts
            run.problems += one.problems
        return run.problems + missing_texts(step, run.texts)

    async def close(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            with contextlib.suppress(Exception):  # a dropped connection is already closed
                await asyncio.wait_for(connection.close(), timeout=self.timeout)


class StepFailed(Exception):
    """A step failed (already counted): the session starts again from a first visit."""


async def run_session(
    number: int,
    url: str,
    recording: Recording,
    tally: Tally,
    *,
    deadline: float,
    think: float,
    timeout: float,
    max_steps: int | None = None,
) -> None:
    """One virtual resident: steps until ``deadline`` (or ``max_steps``), paused by ``think``."""
    rng = random.Random(number)  # reproducible pauses, different for every session
    session = VirtualSession(number, url, tally, timeout)
    done = 0
    try:
        while time.monotonic() < deadline and (max_steps is None or done < max_steps):
            for step in recording.rounds(number):
                if time.monotonic() >= deadline or (max_steps is not None and done >= max_steps):
                    return
                done += 1
                try:
                    await session.play(step)
                except StepFailed:
                    break
                pause = think * rng.uniform(0.5, 1.5)
                await asyncio.sleep(max(0.0, min(pause, deadline - time.monotonic())))
    finally:
        await session.close()


# --------------------------------------------------------------------------------------------
# Baseline and levels


def steps_per_pass(recording: Recording) -> int:
    return len(recording.opening) + sum(len(e) for e in recording.errands)


async def baseline(args, url: str, pid: int, recording: Recording) -> Tally:
    """One session alone, ``--solo-journeys`` passes over the recording; also the check."""
    tally = Tally()
    cpu_start = _common.cpu_seconds(pid)
    for _ in range(args.solo_journeys):
        await run_session(
            0, url, recording, tally, deadline=time.monotonic() + args.timeout * 20,
            think=args.solo_think, timeout=args.timeout, max_steps=steps_per_pass(recording),
        )  # fmt: skip
    tally.journeys = args.solo_journeys
    tally.cpu_per_rerun = (_common.cpu_seconds(pid) - cpu_start) / max(1, tally.reruns)
    return tally


class ReplayMismatch(RuntimeError):
    """The replayed session did not get the journey's answers from the server."""


def check_replay(recording: Recording, solo: Tally) -> None:
    """Stop the run unless one session alone reproduced the journey on the server."""
    expected = sum(len(expected_texts(s)) for e in recording.errands for s in e)
    if solo.errors or not expected or solo.checked < expected:
        lines = [f"  session {n}, step {s}: {m}" for n, s, m in solo.errors[:10]]
        raise ReplayMismatch(
            "load_server: the replay does not reproduce the journey on the server "
            f"({solo.checked} expected texts found of {expected} per pass, "
            f"{len(solo.errors)} error(s)); the figures would mean nothing.\n" + "\n".join(lines)
        )
    print(f"replay checked: {solo.checked} expected texts found (quartier headings, verdicts)")


async def steady_window(pid: int, ramp: float, duration: float) -> dict:
    """CPU used by the server, the machine and this process from the ramp's end to the
    deadline, when every session is running."""
    await asyncio.sleep(ramp)
    cpu, jiffies, own = _common.cpu_seconds(pid), _common.machine_jiffies(), time.process_time()
    start = time.monotonic()
    await asyncio.sleep(duration)
    end = time.monotonic()
    busy, total = (b - a for a, b in zip(jiffies, _common.machine_jiffies(), strict=True))
    server_cpu = _common.cpu_seconds(pid) - cpu
    return {
        "window": (start, end),
        "server_cpu": server_cpu,
        "server_cores": server_cpu / (end - start),
        "machine_cores": busy / total * (os.cpu_count() or 1) if total else float("nan"),
        "generator_cores": (time.process_time() - own) / (end - start),
    }


async def level(args, sessions: int, url: str, pid: int, recording: Recording) -> dict:
    """``sessions`` virtual sessions over ``--ramp`` + ``--duration`` s; the server measured."""
    tally = Tally()
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(_common.sample_memory(pid, samples, stop))
    rss_before = _common.rss_mb(pid)
    window = asyncio.create_task(steady_window(pid, args.ramp, args.duration))
    deadline = time.monotonic() + args.ramp + args.duration

    async def resident(number: int) -> None:
        await asyncio.sleep(args.ramp * number / sessions)
        await run_session(
            number + 1, url, recording, tally, deadline=deadline,
            think=args.think, timeout=args.timeout,
        )  # fmt: skip

    tasks = [asyncio.create_task(resident(i)) for i in range(sessions)]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), args.ramp + args.duration + args.grace)
    except TimeoutError:
        tally.errors.append((0, "all", "hard stop: sessions still running at the deadline"))
    outcome = {"sessions": sessions, "tally": tally, "rss_before": rss_before, **await window}
    start, end = outcome["window"]
    outcome["steady_reruns"] = sum(start <= t <= end for t in tally.finished)
    outcome["throughput"] = outcome["steady_reruns"] / (end - start)
    stop.set()
    await sampler
    outcome["rss_peak"] = max((rss for _, rss in samples), default=rss_before)
    await asyncio.sleep(SETTLE_S)
    outcome["rss_after"] = _common.rss_mb(pid)
    return outcome


async def load_test(args, url: str, pid: int) -> dict:
    rss_start, start = _common.rss_mb(pid), time.monotonic()
    recording = await record(url, recorded_errands(args.errands))
    print(f"recorded in {time.monotonic() - start:.0f} s: {describe(recording)}", flush=True)
    rss_warm, start = _common.rss_mb(pid), time.monotonic()
    solo = await baseline(args, url, pid, recording)
    check_replay(recording, solo)
    print(f"baseline (one session alone) in {time.monotonic() - start:.0f} s", flush=True)
    levels = []
    for sessions in args.sessions:
        start = time.monotonic()
        levels.append(await level(args, sessions, url, pid, recording))
        print(f"level {sessions} sessions in {time.monotonic() - start:.0f} s", flush=True)
    return {
        "recording": recording,
        "solo": solo,
        "levels": levels,
        "rss_start": rss_start,
        "rss_warm": rss_warm,
        "data_loads": _common.data_loads(url),
    }


# --------------------------------------------------------------------------------------------
# Figures


def offered_rate(args, sessions: int, recording: Recording, solo: Tally) -> float:
    """Reruns/s ``sessions`` would ask for if every step took as long as alone."""
    steps = [s for e in recording.errands for s in e]
    reruns = statistics.mean(len(s.reruns) for s in steps)
    alone = statistics.mean(statistics.mean(solo.times[s.name]) for s in steps)
    return sessions * reruns / (args.think + alone)


def step_label(step: str) -> str:
    """``bench/load.py``'s label without what the browser waits for (here: the server's run)."""
    return _journey.STEP_LABELS[step].split(" (")[0] + ", rerun to script_finished"


def level_figures(args, outcome: dict, run: dict) -> list[dict]:
    sessions, tally, solo = run["sessions"], run["tally"], outcome["solo"]
    prefix = f"server load, {sessions} sessions"
    results = _journey.step_figures(prefix, tally, solo, step_label)
    results.append(report(f"{prefix}: errors ({sum(map(len, tally.times.values()))} steps)",
                          len(tally.errors), "errors", target="0"))  # fmt: skip
    results.append(
        report(
            f"{prefix}: reruns served after the ramp",
            run["throughput"],
            "reruns/s",
            baseline=run["offered"],
            baseline_name="asked for if every step took as long as alone",
            target="ratio 1 (the server keeps up)",
        )
    )
    results.append(
        report(
            f"{prefix}: server CPU per rerun after the ramp",
            run["server_cpu"] / run["steady_reruns"] * 1000 if run["steady_reruns"] else math.nan,
            "ms",
            baseline=solo.cpu_per_rerun * 1000,
            baseline_name="one session alone",
        )
    )
    results.append(
        report(
            f"{prefix}: CPU used by the server after the ramp",
            run["server_cores"],
            "cores",
            baseline=run["machine_cores"],
            baseline_name="CPU used by the whole machine (server + load generator)",
        )
    )
    growth = (run["rss_peak"] - run["rss_before"]) / sessions
    results.append(_journey.memory_figure(prefix, growth, outcome))
    print(
        f"  {tally.reruns} reruns on {tally.connections} websockets, {run['steady_reruns']} "
        f"of them in the {args.duration:g} s after the ramp; "
        f"server RSS {run['rss_before']:.0f} MB before, peak {run['rss_peak']:.0f} MB, "
        f"{run['rss_after']:.0f} MB {SETTLE_S:g} s after; CPU after the ramp: server "
        f"{run['server_cores']:.2f}, load generator {run['generator_cores']:.2f}, other "
        f"processes {others(run):.2f} core(s)"
    )
    for number, step, message in tally.errors[:10]:
        print(f"  error, session {number}, step {step}: {message}")
    return results


def summarize(args, outcome: dict) -> list[dict]:
    results = []
    per_session = offered_rate(args, 1, outcome["recording"], outcome["solo"])
    for run in outcome["levels"]:
        run["offered"] = run["sessions"] * per_session
        results += level_figures(args, outcome, run)
    opened = outcome["solo"].connections + sum(r["tally"].connections for r in outcome["levels"])
    opened += sum(s.new_connection for s in all_steps(outcome["recording"]))
    results.append(_journey.loads_figure("server load", outcome["data_loads"], opened, "websocket"))
    best = max(r["throughput"] for r in outcome["levels"])
    results.append(
        report(
            "server load: most reruns served per second (best level, after the ramp)",
            best,
            "reruns/s",
            baseline=1 / outcome["solo"].cpu_per_rerun,
            baseline_name="one core busy with reruns as costly as alone (1 / CPU per rerun)",
        )
    )
    outcome["sessions_at_best"] = best / per_session
    print(f"capacity: {capacity(outcome)}")
    print(peak_cpu(outcome))
    print(f"load average (1, 5, 15 min): {loadavg(outcome)}")
    return results


def peak_cpu(outcome: dict) -> str:
    run = max(outcome["levels"], key=lambda r: r["server_cores"])
    return (
        f"The server used at most {run['server_cores']:.2f} core ({run['sessions']} sessions) "
        f"while the whole machine was using {run['machine_cores']:.2f} of its {os.cpu_count()}"
    ) + (
        " (the server's script runs share one Python interpreter: one process does not use "
        "much more than one core)."
        if behind(outcome)
        else "."
    )


def others(run: dict) -> float:
    """Cores used by other processes than the server and the load generator."""
    return max(0.0, run["machine_cores"] - run["server_cores"] - run["generator_cores"])


def loadavg(outcome: dict) -> str:
    before, after = (", ".join(f"{x:.2f}" for x in v) for v in outcome["loadavg"])
    return f"{before} at the start, {after} at the end ({os.cpu_count()} cores)"


def all_steps(recording: Recording) -> list[Step]:
    return [*recording.opening, *(s for e in recording.errands for s in e)]


def held(run: dict) -> bool:
    """No error and every step's p95 under the target."""
    tally = run["tally"]
    p95 = [_common.percentile(t, 95) for t in tally.times.values() if t]
    return not tally.errors and bool(p95) and max(p95) < TARGET_P95_S


def behind(outcome: dict) -> list[dict]:
    """The levels at which the server served less than ``KEPT_UP`` of the reruns asked for."""
    return [r for r in outcome["levels"] if r["throughput"] < KEPT_UP * r["offered"]]


def capacity(outcome: dict) -> str:
    runs = outcome["levels"]
    ok = [r["sessions"] for r in runs if held(r)]
    failed = [r["sessions"] for r in runs if not held(r)]
    if ok:
        text = f"held up to {max(ok)} sessions (p95 < {TARGET_P95_S:g} s on every step, 0 error)"
        above = [n for n in failed if n > max(ok)]
        text += f", not {min(above)}" if above else ", every tested level"
    else:
        text = f"no level held (p95 < {TARGET_P95_S:g} s on every step, 0 error)"
    if not (late := behind(outcome)):
        return text + "; the server served the reruns asked for at every level"
    first = min(late, key=lambda r: r["sessions"])
    return text + (
        f"; from {first['sessions']} sessions on the server fell behind (it served "
        f"{first['throughput']:.2f} reruns/s of the {first['offered']:.2f} asked for): its best "
        f"rate keeps about {outcome['sessions_at_best']:.0f} sessions busy at this pause, "
        "beyond that the waits grow without bound"
    )


def markdown(args, outcome: dict) -> str:
    """A paragraph for docs/PERFORMANCE.md (the figures themselves go in its table)."""
    steps = ", ".join(_journey.STEP_LABELS[s] for s in _journey.STEPS)
    runs = "; ".join(
        f"{r['sessions']} sessions: {r['tally'].reruns} reruns, {len(r['tally'].errors)} "
        f"error(s), CPU after the ramp: server {r['server_cores']:.2f} core(s), load "
        f"generator {r['generator_cores']:.2f}, other processes {others(r):.2f}; server RSS "
        f"peak {r['rss_peak']:.0f} MB"
        for r in outcome["levels"]
    )
    sessions = " ".join(str(n) for n in args.sessions)
    return "\n".join(
        [
            f"`python bench/load_server.py --sessions {sessions} --ramp {args.ramp:g} "
            f"--duration {args.duration:g} --think {args.think:g}`: no browser during the "
            f"load. One Chromium session ran `bench/load.py`'s journey ({steps}) for "
            f"{len(outcome['recording'].errands)} errands while the messages it sent on the "
            f"websocket were recorded ({describe(outcome['recording'])}); then virtual "
            "sessions (Python `websockets`) replayed them on one `streamlit run serve.py`, each "
            f"a first visit then errands in turn, a {args.ramp:g} s ramp and a pause of "
            f"{args.think:g} s on average between steps. A step's time runs from its message "
            "sent to the server's `script_finished`. The replay was checked: one session "
            "alone (also the baseline) received each quartier's heading and each verdict "
            f"naming the quartier's code. {runs}. {peak_cpu(outcome)} Capacity: "
            f"{capacity(outcome)}. Not "
            "replayed: the page's HTTP requests (HTML, JavaScript, the map's module and "
            f"Leaflet), moves or clicks on the map. Load average (1, 5, 15 min): "
            f"{loadavg(outcome)}; above the number of cores, other processes competed for "
            "the CPU and the times are pessimistic.",
            "",
        ]
    )


def as_json(outcome: dict, results: list[dict]) -> dict:
    return {
        "results": results,
        "levels": [
            {k: v for k, v in r.items() if k != "tally"}
            | {"errors": r["tally"].errors[:50], "reruns": r["tally"].reruns}
            for r in outcome["levels"]
        ],
    }


def replay_on_app(run: Callable[[str, int], Awaitable[dict]], deadline: float) -> dict:
    """Start ``streamlit run app.py`` (offline mirror, no basemap) and await ``run(url, pid)``,
    stopped after ``deadline`` seconds; a replay that is not the journey ends the program."""
    env = {"QPV_BASEMAP": "aucun", "QPV_DATA_MIRROR": str(default_mirror())}
    with streamlit_server(REPO_ROOT / "app.py", env=env) as server:
        server.wait_answering()
        try:
            return asyncio.run(asyncio.wait_for(run(server.url, server.pid), timeout=deadline))
        except ReplayMismatch as exc:
            raise SystemExit(str(exc)) from None


def add_replay_options(
    parser: argparse.ArgumentParser, *, duration: float, solo_journeys: int
) -> None:
    """The options of a replayed load (also ``bench/load_hostile.py``'s)."""
    parser.add_argument("--duration", type=float, default=duration, help="seconds after the ramp")
    parser.add_argument("--ramp", type=float, default=15, help="seconds to open all sessions")
    parser.add_argument("--think", type=float, default=10.0, help="mean pause between steps")
    parser.add_argument("--solo-think", type=float, default=0.5, help="pause, baseline session")
    parser.add_argument("--solo-journeys", type=int, default=solo_journeys, help="baseline passes")
    parser.add_argument("--errands", type=int, default=2, help="errands recorded")
    parser.add_argument("--timeout", type=float, default=30, help="bound of every wait (s)")
    parser.add_argument("--grace", type=float, default=30, help="hard stop after a level")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[20, 50, 100])
    add_replay_options(parser, duration=40, solo_journeys=2)
    parser.add_argument("--deadline", type=float, help="hard stop of the whole run (s)")
    parser.add_argument("--markdown", type=Path, help="write a paragraph for PERFORMANCE.md")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"server load test skipped: {CHROMIUM} is absent (apt-get install chromium)")
        return []
    per_level = args.ramp + args.duration + args.grace + SETTLE_S
    deadline = args.deadline or 300 + len(args.sessions) * per_level
    print(
        f"server load: {' '.join(map(str, args.sessions))} sessions, {args.duration:g} s "
        f"after a {args.ramp:g} s ramp, mean pause {args.think:g} s (hard stop {deadline:g} s)"
    )
    load_before = os.getloadavg()
    outcome = replay_on_app(lambda url, pid: load_test(args, url, pid), deadline)
    outcome["loadavg"] = (load_before, os.getloadavg())
    results = summarize(args, outcome)
    if args.markdown:
        args.markdown.write_text(markdown(args, outcome), "utf-8")
        args.markdown.with_suffix(".json").write_text(
            json.dumps(as_json(outcome, results), indent=1), "utf-8"
        )
    return results


if __name__ == "__main__":
    main()
