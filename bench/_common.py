"""Helpers shared by the benchmarks: timing, mirror location, a results line format."""

from __future__ import annotations

import os
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def mirror_dir() -> Path:
    """The offline mirror (``QPV_DATA_MIRROR``, default ``../shared/data``)."""
    return Path(os.environ.get("QPV_DATA_MIRROR") or REPO.parent / "shared" / "data")


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
