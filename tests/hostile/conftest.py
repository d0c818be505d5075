"""Shared by the hostile suite: the measurements, written as a Markdown table on request.

``HOSTILE_REPORT=FILE python -m pytest tests/hostile`` writes one row per case and way in
(command line, page): time, peak memory, what was said, for ``docs/RELIABILITY.md``.
"""

import os
from pathlib import Path

import pytest

HEADER = (
    "| case | limit | way in | time (s) | peak memory (MB) | result |\n"
    "|---|---|---|---:|---:|---|\n"
)


@pytest.fixture(scope="session")
def measurements():
    rows: list[tuple[str, str, str, float, float, str]] = []
    yield rows
    target = os.environ.get("HOSTILE_REPORT")
    if target and rows:
        lines = [
            f"| {case} | {limit} | {way} | {seconds:.2f} | {peak:.0f} | {result} |"
            for case, limit, way, seconds, peak, result in rows
        ]
        Path(target).write_text(HEADER + "\n".join(lines) + "\n", "utf-8")
