"""Run every benchmark and write ``docs/PERFORMANCE.md``.

Runs, in this order and in this process: ``bench_build``, ``bench_locate``, ``bench_map`` (when
present), ``bench_factsheet``, ``bench_app``, ``bench_shell``, ``bench_file_check``,
``bench_check_scale``, ``bench_suggest``, the browser load test (``load``, with 5 then 20
sessions), the server's own load test (``load_server``, 20, 50 and 100 replayed sessions) and
the same while one visitor uploads hostile files (``load_hostile``, 50 sessions for 2 minutes,
without then with the uploader). Each figure is written with the baseline measured in the same
run, their ratio and the target, under a description of the machine (CPU, cores, memory, load
average, Python and package versions) and the date. A benchmark that fails is reported in its
section; the others still run.

Run: ``python bench/run_all.py`` (about 27 minutes on 2 cores) or ``python bench/run_all.py
--quick`` (about 11 minutes: fewer points, one cold start, the short load tests only).
``--only NAME...`` runs a subset; ``--output FILE`` writes elsewhere.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import importlib.metadata
import inspect
import io
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from support import default_mirror

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "docs" / "PERFORMANCE.md"
PACKAGES = (
    "streamlit", "geopandas", "shapely", "pyproj", "pandas",
    "numpy", "pyarrow", "pyogrio", "requests", "playwright",
)  # fmt: skip


@dataclass(frozen=True)
class Run:
    """One benchmark run: its module in ``bench/``, its section title and its arguments."""

    module: str
    title: str
    argv: tuple[str, ...] = ()


def plan(quick: bool) -> list[Run]:
    """The benchmarks, in order, for a full run or ``--quick``."""
    full = not quick
    load_small = ["--sessions", "5", "--ramp", "10", "--duration", "90" if full else "40"]
    load_small += ["--think", "10" if full else "5", "--solo-journeys", "2" if full else "1"]
    runs = [
        Run("bench_build", "Build and load of the processed tables (`bench/bench_build.py`)"),
        Run(
            "bench_locate",
            "Point classification in bulk (`bench/bench_locate.py`)",
            () if full else ("--points", "200000", "--loop-sample", "2000", "--repeat", "2"),
        ),
        Run("bench_map", "Map page (`bench/bench_map.py`)", () if full else ("--runs", "3")),
        Run(
            "bench_factsheet",
            "PDF sheets and dossier de séance (`bench/bench_factsheet.py`)",
            () if full else ("--repeat", "1"),
        ),
        Run(
            "bench_app",
            "Cold start and one-point lookup (`bench/bench_app.py`)",
            () if full else ("--quick",),
        ),
        Run(
            "bench_shell",
            "Page shell: keep-alive responses and first visit (`bench/bench_shell.py`)",
            () if full else ("--visits", "2", "--requests", "20"),
        ),
        Run(
            "bench_file_check",
            "File check, 10 000 addresses (`bench/bench_file_check.py`)",
            () if full else ("--quick",),
        ),
        Run(
            "bench_check_scale",
            "geo check on big files of points against the plain script "
            "(`bench/bench_check_scale.py`)",
            () if full else ("--rows", "200000"),
        ),
        Run(
            "bench_suggest",
            "Address suggestions while typing (`bench/bench_suggest.py`)",
            () if full else ("--quick",),
        ),
        Run("load", "Concurrent browser sessions: 5 (`bench/load.py`)", tuple(load_small)),
    ]
    if full:
        runs.append(
            Run(
                "load",
                "Concurrent browser sessions: 20 (`bench/load.py`)",
                ("--sessions", "20", "--ramp", "120", "--duration", "180", "--think", "20"),
            )
        )
    server_levels = ("20", "50", "100") if full else ("20",)
    runs.append(
        Run(
            "load_server",
            "One server process, browsers replayed (`bench/load_server.py`)",
            ("--sessions", *server_levels),
        )
    )
    hostile = ("--sessions", "50", "--duration", "120") if full else ("--sessions", "20",
               "--ramp", "10", "--duration", "40")  # fmt: skip
    runs.append(
        Run(
            "load_hostile",
            "The same while one visitor uploads hostile files (`bench/load_hostile.py`)",
            hostile,
        )
    )
    return runs


# --------------------------------------------------------------------------------------------
# Machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = re.search(r"^model name\s*:\s*(.+)$", _read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.M)
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (absent)")
    try:
        chromium = subprocess.run(
            ["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        chromium = "absent"
    return {
        "CPU": cpu.group(1).strip() if cpu else platform.processor() or "unknown",
        "Cores": str(os.cpu_count()),
        "Memory": f"{int(mem.group(1)) / 1024**2:.1f} GiB" if mem else "unknown",
        "System": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Packages": ", ".join(versions),
        "Browser": chromium or "absent",
    }


# --------------------------------------------------------------------------------------------
# Running


class _Tee(io.TextIOBase):
    """Write to the terminal and keep a copy (for benchmarks that print instead of returning)."""

    def __init__(self, stream):
        self.stream = stream
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.stream.write(text)
        self.copy.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def run_benchmark(name: str, argv: list[str], extra: dict) -> tuple[list[dict], str | None]:
    """Import ``bench.<name>`` and call its ``main``; return its records and any error.

    A benchmark whose ``main`` returns nothing has its printed output kept in
    ``extra["printed"]``, to be quoted as is.
    """
    try:
        module = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"bench.{name}":
            return [], "absent"
        return [], traceback.format_exc(limit=5)
    except Exception:  # an import error in one benchmark must not lose the others' figures
        return [], traceback.format_exc(limit=5)
    main = module.main
    accepts_argv = bool(inspect.signature(main).parameters)
    saved = sys.argv
    sys.argv = [f"bench/{name}.py", *argv]
    tee = _Tee(sys.stdout)
    try:
        with contextlib.redirect_stdout(tee):
            records = main(argv) if accepts_argv else main()
    except SystemExit as exc:
        return [], f"exited with {exc.code}"
    except Exception:  # a failing benchmark must not lose the others' figures: it is reported
        return [], traceback.format_exc(limit=5)
    finally:
        sys.argv = saved
    if not records:
        extra["printed"] = tee.copy.getvalue()
    if "markdown" in extra:
        section = Path(extra["markdown"])
        extra["section"] = section.read_text("utf-8") if section.exists() else ""
    return list(records or []), None


# --------------------------------------------------------------------------------------------
# Writing


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and value != value:  # NaN
        return "—"
    magnitude = abs(value)
    if magnitude >= 1000 or float(value).is_integer():
        text = f"{value:,.0f}".replace(",", " ")
    elif magnitude >= 10:
        text = f"{value:.1f}"
    elif magnitude >= 0.1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


_TARGET = re.compile(r"^\s*(<=|>=|<|>|=)?\s*([\d  ,.]+)")


def target_met(record: dict) -> str:
    """``yes``/``no`` for a numeric target (``< 2 s``, ``>= 1 000 rows/s``, ``0``, or on the
    ratio to the baseline: ``ratio <= 1.3``), else ``—``."""
    target, value = record.get("target") or "", record["value"]
    if target.startswith("ratio"):
        target, value = target[len("ratio") :], record.get("ratio")
        if value is None:
            return "—"
    match = _TARGET.match(target)
    if not match:
        return "—"
    try:
        bound = float(match.group(2).replace(" ", "").replace(" ", "").replace(",", ""))
    except ValueError:
        return "—"
    op = match.group(1) or "="
    ok = {
        "<": value < bound,
        "<=": value <= bound,
        ">": value > bound,
        ">=": value >= bound,
        "=": value == bound,
    }[op]
    return "yes" if ok else "**no**"


def table(records: list[dict]) -> list[str]:
    lines = [
        "| figure | value | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for r in records:
        baseline = (
            f"{_number(r.get('baseline'), r['unit'])} ({r.get('baseline_name')})"
            if r.get("baseline") is not None
            else "—"
        )
        ratio = f"{r['ratio']:.3g}" if r.get("ratio") is not None else "—"
        lines.append(
            f"| {r['name']} | {_number(r['value'], r['unit'])} | {baseline} | {ratio} | "
            f"{r.get('target') or '—'} | {target_met(r)} |"
        )
    return lines


def write_report(
    path: Path,
    *,
    sections: list[tuple[Run, list[dict], str | None, float, dict]],
    info: dict[str, str],
    started: dt.datetime,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
    quick: bool,
) -> None:
    command = "python bench/run_all.py" + (" --quick" if quick else "")
    out = [
        "# Performance",
        "",
        f"Written by `{command}` on {started:%Y-%m-%d %H:%M} (local time); do not edit by hand."
        " Every figure comes with a baseline measured in the same run on the same machine;"
        " ratio = value ÷ baseline (for a rate, above 1 is faster; for a time, below 1 is"
        " faster).",
        "",
        "## Machine",
        "",
        *(f"- **{key}**: {value}" for key, value in info.items()),
        f"- **Load average** (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in load_before)} at "
        f"the start, {', '.join(f'{x:.2f}' for x in load_after)} at the end. Above the number "
        "of cores, other processes competed for the CPU: the times are pessimistic.",
        "",
    ]
    for run, records, error, seconds, extra in sections:
        out += [f"## {run.title}", ""]
        if error == "absent":
            out += [f"`bench/{run.module}.py` does not exist yet.", ""]
            continue
        printed = extra.get("printed", "")
        if error:
            out += ["The benchmark failed:", "", "```", error.strip(), "```", ""]
        if records:
            out += [*table(records), ""]
        elif printed.strip():
            out += ["As printed by the benchmark:", "", "```", printed.strip(), "```", ""]
        elif not error:
            out += ["No figure (a prerequisite is missing: see the run's output).", ""]
        if extra.get("section"):
            out += [extra["section"].strip(), ""]
        out += [f"_Ran in {seconds:.0f} s._", ""]
    path.write_text("\n".join(out), "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter run (a few minutes)")
    parser.add_argument("--only", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    os.environ.setdefault("QPV_DATA_MIRROR", str(default_mirror()))

    started = dt.datetime.now()
    load_before = os.getloadavg()
    info = machine()
    runs = [r for r in plan(args.quick) if not args.only or r.module in args.only]
    sections = []
    with tempfile.TemporaryDirectory(prefix="bench-run-all-") as tmp:
        for i, run in enumerate(runs):
            argv_b = list(run.argv)
            print(f"\n== {run.module} {' '.join(argv_b)}", flush=True)
            extra: dict = {}
            if run.module in ("load", "load_server"):
                extra["markdown"] = str(Path(tmp) / f"load-{i}.md")
                argv_b += ["--markdown", extra["markdown"]]
            start = time.perf_counter()
            records, error = run_benchmark(run.module, argv_b, extra)
            seconds = time.perf_counter() - start
            if error and error != "absent":
                print(f"{run.module} failed:\n{error}", file=sys.stderr)
            sections.append((run, records, error, seconds, extra))
    write_report(
        args.output,
        sections=sections,
        info=info,
        started=started,
        load_before=load_before,
        load_after=os.getloadavg(),
        quick=args.quick,
    )
    total = (dt.datetime.now() - started).total_seconds()
    print(f"\n{args.output} written ({total:.0f} s in all)")
    return 1 if any(error and error != "absent" for _, _, error, _, _ in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
