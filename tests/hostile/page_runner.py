"""The hostile inputs through the app's pages (AppTest), one visitor after another, measured.

Run by ``tests/hostile/test_hostile_page.py`` in a child process capped in memory
(``capped.run_capped``): ``python tests/hostile/page_runner.py OUT.json FILES_DIR``, where
``FILES_DIR`` holds every hostile file, built beforehand by the test (``<key>/<file name>``) so
that the memory cap measures the page, not the building of its inputs. One visitor opens
``/fichier`` and uploads every hostile file in turn, then an ordinary file (the session must
still work); then links with hostile query strings open the map and the comparison. For each
case it writes what the page showed (errors, warnings, Python exceptions), the time the run took
and the process's memory, as JSON.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import apptest  # noqa: E402
from apptest import unescape  # noqa: E402

from support.hostile_files import FILES  # noqa: E402

UPLOADER = "fichier_televerse"
RUN_TIMEOUT_S = 10.0
ORDINARY = ("points.csv", b"nom;longitude;latitude\r\nA;2,83;50,43\r\n")
LINKS = {
    "link-population-overflow": (None, {"pop": "0-1" + "0" * 311}),
    "link-25000-communes": (
        None,
        {"commune": ",".join(f"x{i}" for i in range(25_000)), "qpv": "\u200bQP062025"},
    ),
    "link-25000-quartiers": (
        "pages/comparer.py",
        {"qpv": "\u200bQP062025,qp062032," + ",".join(f"QPX{i:05d}" for i in range(25_000))},
    ),
}


def memory() -> dict[str, float]:
    status = Path("/proc/self/status").read_text()
    rss_kb = int(status.split("VmRSS:")[1].split()[0])
    return {
        "rss_mb": rss_kb / 1024,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def shown(at) -> dict:
    return {
        "errors": [unescape(e.value) for e in at.error],
        "warnings": [unescape(w.value) for w in at.warning],
        "exceptions": [str(e.value) for e in at.exception],
        "subheaders": [s.value for s in at.subheader],
        "check_button": any(b.label.startswith("Vérifier") for b in at.button),
        "tables": len(at.table),
    }


def upload(at, name: str, data: bytes) -> dict:
    start = time.perf_counter()
    try:
        at.file_uploader(key=UPLOADER).set_value((name, data, "application/octet-stream"))
        at.run(timeout=RUN_TIMEOUT_S)
    except RuntimeError as exc:  # AppTest's own timeout
        return {"seconds": time.perf_counter() - start, "timeout": str(exc), **memory()}
    return {"seconds": time.perf_counter() - start, **shown(at), **memory()}


def main(out: Path, files: Path) -> None:
    results = {"start": memory()}
    at = apptest.open_page("pages/fichier.py")
    results["opened"] = memory()
    for hostile in FILES:
        data = (files / hostile.key / hostile.filename).read_bytes()
        results[hostile.key] = upload(at, hostile.filename, data)
    results["ordinary-after"] = upload(at, *ORDINARY)
    for key, (page, params) in LINKS.items():
        start = time.perf_counter()
        link = apptest.open_page(page, **params)
        results[key] = {"seconds": time.perf_counter() - start, **shown(link), **memory()}
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
