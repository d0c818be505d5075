"""Load test: concurrent residents in real browsers against one ``streamlit run app.py``.

One Chromium, one Playwright context per session (cookies, storage and websocket of its own),
all on one server on 127.0.0.1. Each session repeats the resident's journey until the time is
up:

1. open the map (``/``) and wait for the quartiers drawn;
2. filter a commune (the sidebar picker) and wait for the page to settle;
3. open a quartier's fact panel (the "Fiche d'un quartier" picker);
4. look up a point on ``/adresse`` by entering its coordinates (no geocoding) and wait for the
   verdict.

Before the ramp, one session alone runs the journey (the baseline of every step time, and the
warm-up: data loaded, locator built). The server's resident memory (``VmRSS`` of the streamlit
process, from ``/proc``) is sampled every second; the growth per session is compared with the
growth the first session caused (imports, tables, locator, map layers), which is what every
session would cost if each loaded its own copy. How many times the server loaded the tables is
read from Streamlit's ``/_stcore/metrics`` (``ui.data._load`` cache misses). The CPU used by the
server during the run is compared with the CPU used by the whole machine: browsers and server
share it, so on a small machine the step times mostly measure Chromium.

Bounded: ``--duration`` seconds of journeys after the ramp, a hard stop ``--grace`` seconds
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
import re
import statistics
import sys
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser import CHROMIUM, CHROMIUM_ARGS, is_local

from bench._common import mirror_dir, report
from bench.bench_app import MAP_IFRAME, QUARTIER, streamlit_server

REPO = Path(__file__).resolve().parent.parent

STEPS = ("carte", "commune", "quartier", "point")
STEP_LABELS = {
    "carte": "open the map (quartiers drawn)",
    "commune": "filter a commune",
    "quartier": "open a quartier's fact panel",
    "point": "look up a point by coordinates on /adresse",
}
IDLE = """() => document.querySelector('[data-testid="stApp"]')
    ?.dataset.testScriptState === 'notRunning'"""
PAGE_LOADS = ("carte", "point")  # steps that load a page, hence open a new session
STEP_TIMEOUT_MS = 60_000
TARGET_P95_S = 2.0


@dataclass(frozen=True)
class Errand:
    """What one session asks for: a commune, a quartier and a point."""

    commune_code: str
    commune_name: str
    qpv_code: str
    qpv_name: str
    lon: float
    lat: float


@dataclass
class Results:
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    journeys: int = 0
    page_loads: int = 0  # each opens a Streamlit session


def errands() -> list[Errand]:
    """One errand per 2015 quartier of the contract: its first commune and an inner point."""
    from geo.store import load_dataset

    dataset = load_dataset()
    qpv = dataset.qpv_of(2015, include_neighbouring=False).sort_values("code")
    names = dict(zip(dataset.communes["code"], dataset.communes["name"], strict=True))
    points = qpv.geometry.representative_point().to_crs("EPSG:4326")
    out = []
    for (_, row), point in zip(qpv.iterrows(), points, strict=True):
        commune = row["commune_codes"].split(",")[0]
        out.append(Errand(commune, names[commune], row["code"], row["name"], point.x, point.y))
    return out


def data_loads(url: str) -> int:
    """How many times the server process loaded the processed tables (``ui.data._load`` misses).

    Read from Streamlit's ``/_stcore/metrics`` (cache lookups by result).
    """
    with urllib.request.urlopen(url + "/_stcore/metrics", timeout=10) as response:
        text = response.read().decode()
    pattern = re.compile(r'^cache_lookups_total\{(?=[^}]*cache="ui\.data\._load")'
                         r'(?=[^}]*result="miss")[^}]*\}\s+(\d+)', re.M)  # fmt: skip
    return sum(int(n) for n in pattern.findall(text))


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine, from ``/proc/stat``."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (``VmRSS`` from ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


# --------------------------------------------------------------------------------------------
# The journey


async def settle(page) -> None:
    """Wait until the script run triggered by the last action is over."""
    await page.wait_for_function(IDLE, timeout=STEP_TIMEOUT_MS)


async def param_is(page, key: str, value: str) -> None:
    await page.wait_for_function(
        "([k, v]) => new URLSearchParams(location.search).get(k) === v",
        arg=[key, value],
        timeout=STEP_TIMEOUT_MS,
    )


async def check_no_exception(page, step: str) -> None:
    if await page.get_by_test_id("stException").count():
        text = await page.get_by_test_id("stException").first.inner_text()
        raise RuntimeError(f"Python exception shown at step {step}: {text[:200]}")


async def pick(page, label: str, typed: str, option: re.Pattern) -> None:
    box = page.get_by_role("combobox", name=label)
    await box.click()
    await box.fill(typed)
    choice = page.get_by_role("option", name=option).first
    await choice.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    await choice.click()


async def step_map(page, url: str, errand: Errand) -> float:
    start = time.perf_counter()
    # "commit": the step's own wait (quartiers drawn) bounds the whole page load.
    await page.goto(url + "/", timeout=STEP_TIMEOUT_MS, wait_until="commit")
    await (
        page.frame_locator(MAP_IFRAME)
        .locator(QUARTIER)
        .first.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    )
    return time.perf_counter() - start


async def step_commune(page, url: str, errand: Errand) -> float:
    await settle(page)  # the map's first value reruns the page: a user waits for it too
    box = page.get_by_role("combobox", name="Communes")
    await box.click()
    await box.fill(errand.commune_name)
    choice = page.get_by_role("option", name=re.compile("^" + re.escape(errand.commune_name)))
    await choice.first.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    start = time.perf_counter()
    await choice.first.click()
    await param_is(page, "commune", errand.commune_code)
    await settle(page)
    elapsed = time.perf_counter() - start
    await box.press("Escape")  # a multiselect stays open, hiding the rest of the page
    return elapsed


async def step_quartier(page, url: str, errand: Errand) -> float:
    await settle(page)
    box = page.get_by_role("combobox", name="Fiche d'un quartier")
    await box.click()
    await box.fill(errand.qpv_code)
    choice = page.get_by_role("option", name=re.compile(re.escape(errand.qpv_code)))
    await choice.first.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    start = time.perf_counter()
    await choice.first.click()
    await param_is(page, "qpv", errand.qpv_code)
    await settle(page)
    await page.get_by_role("heading", name=errand.qpv_name, exact=True).first.wait_for(
        state="visible", timeout=STEP_TIMEOUT_MS
    )
    return time.perf_counter() - start


async def step_point(page, url: str, errand: Errand) -> float:
    await page.goto(url + "/adresse", timeout=STEP_TIMEOUT_MS, wait_until="commit")
    await page.get_by_text("Saisir des coordonnées").wait_for(timeout=STEP_TIMEOUT_MS)
    await (
        page.frame_locator(MAP_IFRAME)
        .locator(QUARTIER)
        .first.wait_for(state="visible", timeout=STEP_TIMEOUT_MS)
    )
    await settle(page)  # the page as a user sees it ready: map drawn, not greyed out
    start = time.perf_counter()
    await point_by_coordinates(page, errand)
    return time.perf_counter() - start


async def point_by_coordinates(page, errand: Errand) -> None:
    """Enter the errand's point on /adresse and wait for its verdicts."""
    from geo.format import fr_number

    await page.get_by_text("Saisir des coordonnées").click()
    await page.get_by_label("Longitude (degrés)").fill(fr_number(errand.lon, 6))
    await page.get_by_label("Latitude (degrés)").fill(fr_number(errand.lat, 6))
    await page.get_by_role("button", name=re.compile("Situer ce point")).click()
    await page.get_by_text("Coordonnées saisies").first.wait_for(
        state="visible", timeout=STEP_TIMEOUT_MS
    )
    await page.get_by_text(f"({errand.qpv_code})").first.wait_for(
        state="visible", timeout=STEP_TIMEOUT_MS
    )


JOURNEY = {
    "carte": step_map,
    "commune": step_commune,
    "quartier": step_quartier,
    "point": step_point,
}


async def new_context(browser):
    context = await browser.new_context(viewport={"width": 1200, "height": 900}, locale="fr-FR")

    async def route(route):
        if is_local(route.request.url):
            await route.continue_()
        else:
            await route.abort("internetdisconnected")

    await context.route("**/*", route)
    return context


async def run_session(
    number: int,
    browser,
    url: str,
    errand: Errand,
    results: Results,
    *,
    deadline: float,
    think: float,
    steps: tuple[str, ...],
    max_journeys: int | None = None,
) -> None:
    context = await new_context(browser)
    try:
        page = await context.new_page()
        done = 0
        while time.monotonic() < deadline and (max_journeys is None or done < max_journeys):
            for name in steps:
                results.page_loads += name in PAGE_LOADS
                try:
                    elapsed = await JOURNEY[name](page, url, errand)
                    await check_no_exception(page, name)
                except Exception as exc:  # every failure is counted and reported
                    results.errors.append((number, name, f"{type(exc).__name__}: {exc}"[:300]))
                    break  # the rest of this journey depends on this step: start again
                results.times[name].append(elapsed)
                await asyncio.sleep(think)
            done += 1
            results.journeys += 1
    finally:
        await context.close()


async def sample_memory(pid: int, samples: list[tuple[float, float]], stop: asyncio.Event):
    start = time.monotonic()
    while not stop.is_set():
        samples.append((time.monotonic() - start, rss_mb(pid)))
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            continue


async def load_test(args, url: str, pid: int) -> dict:
    from playwright.async_api import async_playwright

    plan = errands()
    steps = tuple(s for s in STEPS if s not in args.skip)
    warm, solo, crowd = Results(), Results(), Results()
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
        )
        sampler = asyncio.create_task(sample_memory(pid, samples, stop))
        try:
            rss_start = rss_mb(pid)
            # Baseline and warm-up: one session alone (the first journey loads the data).
            await run_session(
                0, browser, url, plan[0], warm, deadline=time.monotonic() + 300,
                think=0, steps=steps, max_journeys=1,
            )  # fmt: skip
            await run_session(
                0, browser, url, plan[0], solo, deadline=time.monotonic() + 300,
                think=args.think, steps=steps, max_journeys=args.solo_journeys,
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
                            plan[i % len(plan)],
                            crowd,
                            deadline=deadline,
                            think=args.think,
                            steps=steps,
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
        "steps": steps,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summarize(args, outcome: dict) -> list[dict]:
    solo, crowd = outcome["solo"], outcome["crowd"]
    results = []
    for step in outcome["steps"]:
        times = crowd.times.get(step, [])
        base = solo.times.get(step, [])
        if not times:
            continue
        print(
            f"  {step}: {len(times)} runs, p50 {percentile(times, 50):.2f} s, "
            f"p95 {percentile(times, 95):.2f} s, max {max(times):.2f} s "
            f"(alone: p50 {statistics.median(base) if base else float('nan'):.2f} s)"
        )
        for q in (50, 95):
            results.append(
                report(
                    f"load, {args.sessions} sessions: {STEP_LABELS[step]}, p{q}",
                    percentile(times, q),
                    "s",
                    baseline=percentile(base, q) if base else None,
                    baseline_name=f"one session alone, p{q}",
                    target=f"< {TARGET_P95_S:g} s" if q == 95 else "",
                )
            )
    errors = len(crowd.errors)
    results.append(
        report(
            f"load, {args.sessions} sessions: errors ({crowd.journeys} journeys)",
            errors,
            "errors",
            target="0",
        )
    )
    growth = (outcome["rss_peak"] - outcome["rss_warm"]) / args.sessions
    results.append(
        report(
            f"load, {args.sessions} sessions: server memory growth per session",
            growth,
            "MB",
            baseline=outcome["rss_warm"] - outcome["rss_start"],
            baseline_name="growth with the first session (imports, data, locator, map layers)",
            target="a small fraction of the baseline",
        )
    )
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
        report(
            f"load, {args.sessions} sessions: loads of the processed tables by the server",
            outcome["data_loads"],
            "loads",
            baseline=outcome["sessions_opened"],
            baseline_name="Streamlit sessions opened (one per page load)",
            target="1 (once per process)",
        )
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
    steps = ", ".join(STEP_LABELS[s] for s in outcome["steps"])
    lines = [
        f"`python bench/load.py --sessions {args.sessions} --duration {args.duration:g}`: "
        f"{args.sessions} Playwright contexts on one Chromium, one `streamlit run app.py`, a "
        f"{args.ramp:g} s ramp, {args.think:g} s pause between steps; journey: {steps}. "
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
    parser.add_argument("--ramp", type=float, default=20, help="seconds to open all sessions")
    parser.add_argument("--think", type=float, default=1.0, help="pause between steps (s)")
    parser.add_argument("--grace", type=float, default=120, help="hard stop after the deadline")
    parser.add_argument("--solo-journeys", type=int, default=3, help="baseline journeys")
    parser.add_argument("--skip", nargs="*", default=[], choices=STEPS, help="steps left out")
    parser.add_argument("--markdown", type=Path, help="write a section for PERFORMANCE.md")
    parser.add_argument("--url", help="use a running server (its pid with --pid) instead")
    parser.add_argument("--pid", type=int, help="pid of the server given by --url")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"load test skipped: {CHROMIUM} is absent (apt-get install chromium)")
        return []
    print(
        f"load: {args.sessions} sessions, {args.duration:g} s after a {args.ramp:g} s ramp, "
        f"steps {', '.join(s for s in STEPS if s not in args.skip)}"
    )
    if args.url:
        outcome = asyncio.run(load_test(args, args.url.rstrip("/"), args.pid))
    else:
        env = {"QPV_BASEMAP": "aucun", "QPV_DATA_MIRROR": str(mirror_dir())}
        with streamlit_server(REPO / "app.py", env=env) as server:
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
