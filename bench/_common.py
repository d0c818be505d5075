"""Helpers shared by the benchmarks: timing, a results line format, what a process costs.

The mirror's location is ``support.default_mirror`` (shared with the tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import statistics
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from support import REPO_ROOT
from support.server import Server, serve


def streamlit_server(
    script: Path, *, env: dict[str, str] | None = None, cwd: Path = REPO_ROOT
) -> contextlib.AbstractContextManager[Server]:
    """``support.server.serve`` without the file watcher (a benchmark edits no file)."""
    return serve(script, env=env, cwd=cwd, options=("--server.fileWatcherType", "none"))


def timed(fn: Callable[[], object], *, repeat: int = 3) -> float:
    """Median wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(
    name: str,
    value: float,
    unit: str,
    *,
    baseline: float | None = None,
    baseline_name: str = "",
    target: str = "",
) -> dict:
    """Print one figure (with its ratio to the baseline) and return it as a record."""
    ratio = value / baseline if baseline else None
    line = f"{name}: {value:.4g} {unit}"
    if ratio is not None:
        line += f" | baseline {baseline_name}: {baseline:.4g} {unit} | ratio {ratio:.3g}"
    if target:
        line += f" | target {target}"
    print(line, flush=True)
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "baseline_name": baseline_name,
        "ratio": ratio,
        "target": target,
    }


def unescape_markdown(text: str) -> str:
    """Text the app escaped for Markdown (``escape_markdown``), without its backslashes."""
    return re.sub(r"\\(.)", r"\1", text)


# --------------------------------------------------------------------------------------------
# What a process costs (from /proc)


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


def descendants_cpu_seconds(pid: int) -> float:
    """CPU time used so far by every descendant of a process (here: Playwright and Chromium)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    total, todo = 0.0, [pid]
    while todo:
        parent = todo.pop()
        for child in [c for c, p in parents.items() if p == parent]:
            todo.append(child)
            try:
                total += cpu_seconds(child)
            except OSError:
                continue
    return total


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


async def sample_memory(pid: int, samples: list[tuple[float, float]], stop: asyncio.Event):
    start = time.monotonic()
    while not stop.is_set():
        samples.append((time.monotonic() - start, rss_mb(pid)))
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            continue


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
