"""Run a command as a hostile input's victim would: capped in memory and time, measured.

The child gets ``RLIMIT_AS`` (address space) before it starts, a deadline after which it is
killed, and its peak resident memory is read from the kernel when it is reaped (``wait4``),
whatever it did. Output goes to temporary files, never to pipes a big output could fill.
"""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TIME_LIMIT_S = 10.0  # issue 11: each hostile input ends within 10 s...
PEAK_LIMIT_MB = 1024  # ...with a peak memory under 1 GB


@dataclass(frozen=True)
class Outcome:
    """How a capped run ended."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float  # the child's peak resident memory (ru_maxrss)
    timed_out: bool


def run_capped(
    args: Sequence[str],
    *,
    address_space_mb: int,
    timeout: float,
    env: dict[str, str] | None = None,
) -> Outcome:
    """Run ``args`` from the repository with its address space capped; kill it at ``timeout``."""
    limit = address_space_mb * 1024 * 1024

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        child = subprocess.Popen(
            list(args), cwd=REPO, stdout=out, stderr=err, preexec_fn=cap,
            env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})},
        )  # fmt: skip
        timed_out = False
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                child.kill()
                pid, status, usage = os.wait4(child.pid, 0)
                timed_out = True
                break
            time.sleep(0.02)
        seconds = time.monotonic() - start
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return Outcome(
            returncode=child.returncode,
            stdout=out.read().decode("utf-8", errors="replace"),
            stderr=err.read().decode("utf-8", errors="replace"),
            seconds=seconds,
            peak_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
            timed_out=timed_out,
        )
