"""Every hostile file through ``python -m geo check``, capped at 1 GB and 10 s.

Each must end with exit status 1 and the French refusal of ``support/hostile_files.py``, no
traceback, no output file, within :data:`capped.TIME_LIMIT_S` and with a peak resident memory
under :data:`capped.PEAK_LIMIT_MB` (the address space is capped at that size too: a file that
made the command allocate more would crash it, and the test would say so).
"""

import sys

import pytest
from capped import PEAK_LIMIT_MB, TIME_LIMIT_S, run_capped

from support.hostile_files import FILES

pytestmark = pytest.mark.timeout(60)


# A file that is hostile only to the page's limits (``on_command_line=""``) is an ordinary
# file for the command line, which has no size limit: it is not part of this list.
ON_COMMAND_LINE = [f for f in FILES if f.on_command_line != ""]


@pytest.mark.parametrize("hostile", ON_COMMAND_LINE, ids=lambda f: f.key)
def test_a_hostile_file_is_refused_in_french_within_the_budget(hostile, tmp_path, measurements):
    source = tmp_path / hostile.filename
    source.write_bytes(hostile.data())
    output = tmp_path / "resultat.csv"

    done = run_capped(
        [sys.executable, "-m", "geo", "check", str(source), "-o", str(output)],
        address_space_mb=PEAK_LIMIT_MB,
        timeout=TIME_LIMIT_S,
    )
    first_line = done.stderr.strip().splitlines()[0] if done.stderr.strip() else ""
    measurements.append(
        (hostile.key, hostile.limit, "`geo check`", done.seconds, done.peak_mb, first_line[:90])
    )

    assert not done.timed_out, f"still running after {TIME_LIMIT_S:g} s"
    assert done.returncode == 1, done.stderr
    assert first_line.startswith("Erreur : ")
    assert hostile.said(done.stderr, command_line=True), done.stderr
    assert "Traceback" not in done.stderr
    assert done.peak_mb < PEAK_LIMIT_MB
    assert not output.exists()
