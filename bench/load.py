"""Load test: concurrent residents in real browsers against one ``streamlit run serve.py``.

One Chromium, one Playwright context per session (cookies, storage and websocket of its own),
all on one server on 127.0.0.1. Each session is a resident who opens the app once, then runs
errands until the time is up, pausing between steps as a reader does (``--think`` seconds, drawn
between half and one and a half times that, so that sessions do not act in step):

0. first visit: open the map (``/``, a full page load) and wait for the quartiers drawn;

then, for each errand (a commune, one of its quartiers and a point inside it, a different one
at each round):

1. filter the commune (the sidebar picker) and wait for the page to settle;
2. open the quartier's fact panel (the "Fiche d'un quartier" picker);
3. open "Suis-je en QPV ?" from the app's menu and wait for its map;
4. look up the point there by entering its coordinates (no geocoding) and wait for the verdict;
5. go back to the map from the menu and wait for the quartiers drawn.

A failed step is counted as an error, then the session reloads the map and carries on.

Before the ramp, one session alone runs the journey twice: a warm-up (the first one loads the
data and builds the locator), then the baseline of every step time. The server's resident
memory (``VmRSS`` of the streamlit process, from ``/proc``) is sampled every second; the growth
per session is compared with the growth the first session caused (imports, tables, locator, map
layers), which is what every session would cost if each loaded its own copy. How many times the
server loaded the tables is read from Streamlit's ``/_stcore/metrics`` (``ui.data._load`` cache
misses). The CPU used by the server during the run is compared with the CPU used by the whole
machine: browsers and server share it, so on a small machine the step times mostly measure
Chromium (``bench/load_server.py`` measures the server alone).

Bounded: ``--duration`` seconds of errands after the ramp, a hard stop ``--grace`` seconds
later; every browser wait has a timeout. Nothing leaves 127.0.0.1.

Run: ``python bench/load.py --sessions 20 --duration 180`` (the figures are printed and, with
``--markdown FILE``, written as a section for ``docs/PERFORMANCE.md``; ``bench/run_all.py``
does that).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    cpu_seconds,
    data_loads,
    descendants_cpu_seconds,
    machine_jiffies,
    report,
    rss_mb,
    sample_memory,
    streamlit_server,
)
from bench._journey import (
    CHROMIUM,
    ERRAND_STEPS,
    JOURNEY,
    STEP_LABELS,
    STEPS,
    Errand,
    Results,
    check_no_exception,
    errands,
    launch_browser,
    loads_figure,
    memory_figure,
    new_context,
    settle,
    step_figures,
)
from support import REPO_ROOT, default_mirror


async def run_session(
    number: int,
    browser,
    url: str,
    plan: list[Errand],
    results: Results,
    *,
    deadline: float,
    think: float,
    max_journeys: int | None = None,
    meter: Callable[[], tuple[float, float]] | None = None,
    shots: Path | None = None,
) -> None:
    """One resident: a first visit, then errands (``plan`` from the ``number``-th one on)."""
    rng = random.Random(number)  # reproducible pauses, different for every session
    context = await new_context(browser)
    try:
        page = await context.new_page()
        visit_needed = True
        done = 0
        while time.monotonic() < deadline and (max_journeys is None or done < max_journeys):
            errand = plan[(number + done) % len(plan)]
            names = list(ERRAND_STEPS)
            if visit_needed:  # the first visit, or a reload after an error
                names.insert(0, "visite")
                visit_needed = False
            for name in names:
                results.page_loads += name == "visite"
                before = meter() if meter else None
                try:
                    elapsed = await JOURNEY[name](page, url, errand)
                    await check_no_exception(page, name)
                except Exception as exc:  # every failure is counted and reported
                    results.errors.append((number, name, f"{type(exc).__name__}: {exc}"[:300]))
                    if shots:  # what the resident saw when the step failed
                        shot = shots / f"session{number:02d}-{len(results.errors):03d}-{name}.png"
                        await page.screenshot(path=shot, full_page=True)
                    visit_needed = True  # start again from a fresh page load
                    break
                if before:
                    await settle(page)  # the step's whole cost, until its run is over
                    after = meter()
                    results.cpu[name].append((after[0] - before[0], after[1] - before[1]))
                if name != "visite" or done == 0:  # a reload after an error is not timed
                    results.times[name].append(elapsed)
                await asyncio.sleep(think * rng.uniform(0.5, 1.5))
            done += 1
            results.journeys += 1
    finally:
        await context.close()


async def load_test(args, url: str, pid: int) -> dict:
    from playwright.async_api import async_playwright

    plan = errands()
    warm, solo, crowd = Results(), Results(), Results()
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    async with async_playwright() as playwright:
        browser = await launch_browser(playwright)
        sampler = asyncio.create_task(sample_memory(pid, samples, stop))
        try:
            rss_start = rss_mb(pid)
            # Warm-up (the first journey loads the data, builds the locator), then the baseline:
            # residents alone, one after the other, each with a first visit and one errand.
            await run_session(
                0, browser, url, plan, warm, deadline=time.monotonic() + 300, think=0,
                max_journeys=1,
            )  # fmt: skip

            def meter() -> tuple[float, float]:
                return descendants_cpu_seconds(os.getpid()), cpu_seconds(pid)

            for number in range(args.solo_journeys):
                await run_session(
                    number, browser, url, plan, solo, deadline=time.monotonic() + 300,
                    think=args.solo_think, max_journeys=1, meter=meter,
                )  # fmt: skip
            await asyncio.sleep(2)
            rss_warm = rss_mb(pid)
            t_ramp = len(samples)
            cpu_start, jiffies_start, wall_start = (
                cpu_seconds(pid),
                machine_jiffies(),
                time.monotonic(),
            )
            deadline = time.monotonic() + args.ramp + args.duration
            tasks = []
            for i in range(args.sessions):
                tasks.append(
                    asyncio.create_task(
                        run_session(
                            i + 1,
                            browser,
                            url,
                            plan,
                            crowd,
                            deadline=deadline,
                            think=args.think,
                            shots=args.screenshots,
                        )
                    )
                )
                await asyncio.sleep(args.ramp / max(1, args.sessions))
            try:
                await asyncio.wait_for(
                    asyncio.gather(*tasks), timeout=args.ramp + args.duration + args.grace
                )
            except TimeoutError:
                crowd.errors.append((0, "all", "hard stop: sessions still running at the deadline"))
            rss_crowd = [rss for _, rss in samples[t_ramp:]]
            wall = time.monotonic() - wall_start
            server_cores = (cpu_seconds(pid) - cpu_start) / wall
            busy, total = (b - a for a, b in zip(jiffies_start, machine_jiffies(), strict=True))
            machine_cores = busy / total * (os.cpu_count() or 1) if total else float("nan")
            await asyncio.sleep(5)
            rss_end = rss_mb(pid)
            loads = data_loads(url)
        finally:
            stop.set()
            await sampler
            await browser.close()
    return {
        "solo": solo,
        "crowd": crowd,
        "rss_start": rss_start,
        "rss_warm": rss_warm,
        "rss_peak": max(rss_crowd) if rss_crowd else rss_warm,
        "rss_end": rss_end,
        "data_loads": loads,
        "server_cores": server_cores,
        "machine_cores": machine_cores,
        "sessions_opened": warm.page_loads + solo.page_loads + crowd.page_loads,
        "samples": samples,
    }


def cpu_budget(args, solo: Results) -> list[dict]:
    """What one resident costs in CPU (measured alone), and what ``args.sessions`` would need.

    A round of errands costs the browser far more CPU than the server; the estimate of the CPU
    the sessions need (browsers and server, at the mean pause) says whether this machine can
    play all the residents at once, or whether the step times measure a queue in Chromium.
    """
    if not all(solo.cpu.get(step) for step in STEPS):
        return []

    def median_cpu(steps: tuple[str, ...], side: int) -> float:
        return sum(statistics.median(c[side] for c in solo.cpu[s]) for s in steps)

    round_seconds = len(ERRAND_STEPS) * args.think + sum(
        statistics.median(solo.times[s]) for s in ERRAND_STEPS
    )
    need = args.sessions * (median_cpu(ERRAND_STEPS, 0) + median_cpu(ERRAND_STEPS, 1))
    browsers = "browser CPU (Chromium + Playwright driver)"
    return [
        report(
            "one resident alone: server CPU for the first visit",
            median_cpu(("visite",), 1), "core·s",
            baseline=median_cpu(("visite",), 0), baseline_name=f"{browsers}, same visit",
        ),
        report(
            f"one resident alone: server CPU for a round of errands ({len(ERRAND_STEPS)} steps)",
            median_cpu(ERRAND_STEPS, 1), "core·s",
            baseline=median_cpu(ERRAND_STEPS, 0), baseline_name=f"{browsers}, same round",
        ),
        report(
            f"load, {args.sessions} sessions: CPU the residents need once all arrived "
            f"(browsers + server, rounds every {round_seconds:.0f} s, estimate)",
            need / round_seconds, "cores",
            baseline=os.cpu_count() or 1, baseline_name="cores of this machine",
        ),
    ]  # fmt: skip


def summarize(args, outcome: dict) -> list[dict]:
    solo, crowd = outcome["solo"], outcome["crowd"]
    results = step_figures(f"load, {args.sessions} sessions", crowd, solo, STEP_LABELS.get)
    results += cpu_budget(args, solo)
    errors = len(crowd.errors)
    results.append(
        report(
            f"load, {args.sessions} sessions: errors ({crowd.journeys} journeys)",
            errors,
            "errors",
            target="0",
        )
    )
    prefix = f"load, {args.sessions} sessions"
    growth = (outcome["rss_peak"] - outcome["rss_warm"]) / args.sessions
    results.append(memory_figure(prefix, growth, outcome))
    results.append(
        report(
            f"load, {args.sessions} sessions: CPU used by the server during the run",
            outcome["server_cores"],
            "cores",
            baseline=outcome["machine_cores"],
            baseline_name=f"CPU used by the whole machine (server + {args.sessions} browsers)",
        )
    )
    results.append(
        loads_figure(prefix, outcome["data_loads"], outcome["sessions_opened"], "page load")
    )
    print(
        f"  server RSS: {outcome['rss_start']:.0f} MB at start, {outcome['rss_warm']:.0f} MB "
        f"after one session (data loaded), peak {outcome['rss_peak']:.0f} MB with "
        f"{args.sessions} sessions, {outcome['rss_end']:.0f} MB 5 s after they closed"
    )
    for number, step, message in crowd.errors[:10]:
        print(f"  error, session {number}, step {step}: {message}")
    return results


def markdown(args, outcome: dict, results: list[dict]) -> str:
    """A paragraph for docs/PERFORMANCE.md (the figures themselves go in its table)."""
    crowd = outcome["crowd"]
    steps = ", ".join(STEP_LABELS[s] for s in STEPS)
    lines = [
        f"`python bench/load.py --sessions {args.sessions} --ramp {args.ramp:g} "
        f"--duration {args.duration:g} --think {args.think:g}`: "
        f"{args.sessions} Playwright contexts on one Chromium, one `streamlit run serve.py`, a "
        f"{args.ramp:g} s ramp, a pause of {args.think:g} s on average between steps (from half "
        f"to one and a half times that); journey: {steps}, the errands repeated. "
        f"{crowd.journeys} journeys, {len(crowd.errors)} error(s). Server memory (VmRSS): "
        f"{outcome['rss_start']:.0f} MB at start, {outcome['rss_warm']:.0f} MB after one "
        f"session (data loaded), peak {outcome['rss_peak']:.0f} MB with {args.sessions} "
        f"sessions, {outcome['rss_end']:.0f} MB 5 s after they closed. The processed tables "
        f"were loaded {outcome['data_loads']} time(s) by the server for "
        f"{outcome['sessions_opened']} sessions opened (`/_stcore/metrics`). Browsers and "
        f"server share the same {os.cpu_count()} cores: during the run the server used "
        f"{outcome['server_cores']:.2f} core(s) of the {outcome['machine_cores']:.2f} used by "
        "the whole machine (the rest: the browsers, the load script and other processes).",
        "",
    ]
    if crowd.errors:
        lines += ["Errors (first 10):", ""]
        lines += [
            f"- session {n}, step {s}: `{m.splitlines()[0]}`" for n, s, m in crowd.errors[:10]
        ]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--duration", type=float, default=180, help="seconds after the ramp")
    parser.add_argument("--ramp", type=float, default=120, help="seconds to open all sessions")
    parser.add_argument(
        "--think", type=float, default=20.0, help="mean pause between steps (s), a reader's"
    )
    parser.add_argument("--solo-think", type=float, default=1.0, help="pause, baseline session")
    parser.add_argument("--grace", type=float, default=120, help="hard stop after the deadline")
    parser.add_argument("--solo-journeys", type=int, default=3, help="baseline residents")
    parser.add_argument("--markdown", type=Path, help="write a section for PERFORMANCE.md")
    parser.add_argument("--screenshots", type=Path, help="folder for a screenshot per error")
    parser.add_argument("--url", help="use a running server (its pid with --pid) instead")
    parser.add_argument("--pid", type=int, help="pid of the server given by --url")
    args = parser.parse_args(argv)
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    if not CHROMIUM.exists():
        print(f"load test skipped: {CHROMIUM} is absent (apt-get install chromium)")
        return []
    print(
        f"load: {args.sessions} sessions, {args.duration:g} s after a {args.ramp:g} s ramp, "
        f"mean pause {args.think:g} s, steps {', '.join(STEPS)}"
    )
    if args.url:
        outcome = asyncio.run(load_test(args, args.url.rstrip("/"), args.pid))
    else:
        env = {"QPV_BASEMAP": "aucun", "QPV_DATA_MIRROR": str(default_mirror())}
        with streamlit_server(REPO_ROOT / "app.py", env=env) as server:
            server.wait_answering()
            outcome = asyncio.run(load_test(args, server.url, server.pid))
    results = summarize(args, outcome)
    if args.markdown:
        args.markdown.write_text(markdown(args, outcome, results), "utf-8")
        args.markdown.with_suffix(".json").write_text(
            json.dumps({"results": results, "rss_samples": outcome["samples"]}, indent=1)
        )
    return results


if __name__ == "__main__":
    main()
