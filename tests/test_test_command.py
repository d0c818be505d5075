"""The README's test command cannot pass by skipping: without data it fails, in one line.

A real ``python -m pytest`` runs in a subprocess on a test file that needs the official files,
with ``QPV_DATA_MIRROR`` pointing at an empty folder and every download sent to a closed port.
"""

from __future__ import annotations

import os
import subprocess
import sys

from support import REPO_ROOT

CLOSED_PORT_PROXY = "http://127.0.0.1:9"  # discard port: nothing listens, connections refused
NEEDS_DATA = "tests/test_locate.py"  # uses the dataset and mirror fixtures


def test_without_mirror_nor_download_the_test_command_fails_in_one_line_naming_the_mirror(
    tmp_path,
):
    empty = tmp_path / "miroir-vide"
    empty.mkdir()
    env = {
        **os.environ,
        "QPV_DATA_MIRROR": str(empty),
        "QPV_CACHE_DIR": str(tmp_path / "cache"),
        "QPV_PROCESSED_DIR": str(tmp_path / "processed"),
        "HTTP_PROXY": CLOSED_PORT_PROXY,
        "HTTPS_PROXY": CLOSED_PORT_PROXY,
        "NO_PROXY": "127.0.0.1,localhost",
    }

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", NEEDS_DATA],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    [line] = [line for line in output.splitlines() if "QPV_DATA_MIRROR" in line]
    assert "Données de test absentes" in line and str(empty) in line
    assert "QPV_DATA_MIRROR=/chemin/du/miroir python -m pytest" in line
    assert " passed" not in output and " skipped" not in output, "tests ran without their data"
