"""Type-check ``geo/`` with mypy against a baseline that only goes down.

``.ci/mypy-baseline.txt`` holds, per file, how many mypy errors it had when the baseline was
last lowered. This script runs mypy (settings in ``pyproject.toml``) and fails:

- when a file has more errors than its baseline (a new error: fix it, do not raise the
  baseline);
- when a file has fewer errors than its baseline (errors fixed: lower the baseline so that
  they cannot come back, with ``python .ci/mypy_baseline.py --update``).

Run: ``python .ci/mypy_baseline.py`` (what ``.ci/run`` does).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / ".ci" / "mypy-baseline.txt"
ERROR = re.compile(r"^(?P<path>[^:]+\.py):\d+: error: ")


def current() -> tuple[Counter[str], str]:
    """Errors per file, and mypy's whole output."""
    done = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, check=False
    )
    output = done.stdout + done.stderr
    if done.returncode not in (0, 1) or "error: " in done.stderr:
        raise SystemExit(f"mypy could not run (exit {done.returncode}):\n{output}")
    counts = Counter(m.group("path") for line in output.splitlines() if (m := ERROR.match(line)))
    return counts, output


def read_baseline() -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in BASELINE.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            path, number = line.rsplit(maxsplit=1)
            counts[path] = int(number)
    return counts


def write_baseline(counts: Counter[str]) -> None:
    lines = [
        "# mypy errors per file in geo/ (python .ci/mypy_baseline.py): may only go down.",
        *(f"{path} {n}" for path, n in sorted(counts.items()) if n),
    ]
    BASELINE.write_text("\n".join(lines) + "\n", "utf-8")


def main(argv: list[str]) -> int:
    counts, output = current()
    if "--update" in argv:
        write_baseline(counts)
        print(f"baseline written: {sum(counts.values())} errors in {len(counts)} files")
        return 0
    baseline = read_baseline()
    more = {p: (baseline[p], n) for p, n in counts.items() if n > baseline[p]}
    fewer = {p: (n, counts[p]) for p, n in baseline.items() if counts[p] < n}
    total, allowed = sum(counts.values()), sum(baseline.values())
    if more:
        print(output)
        for path, (was, now) in sorted(more.items()):
            print(f"NEW mypy errors in {path}: {now} (baseline {was})")
        print("Fix the new errors; the baseline never goes up.")
        return 1
    if fewer:
        for path, (was, now) in sorted(fewer.items()):
            print(f"fewer mypy errors in {path}: {now} (baseline {was})")
        print(
            "Well done: lower the baseline so that they cannot come back: "
            "python .ci/mypy_baseline.py --update"
        )
        return 1
    print(f"mypy: {total} errors, as in the baseline ({allowed}); none new")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
