"""The layers, read from the code: every import of every module, parsed (no module is run).

What a newcomer is promised by ``docs/ARCHITECTURE.md`` and must stay true:

- no import circle among the project's modules (imports inside functions count too);
- ``geo/`` is the domain: it never imports Streamlit, nor ``ui``, ``pages``, ``server``;
- ``ui/`` never imports ``pages``; pages never send HTTP requests nor open files;
- the app (``app.py``, ``serve.py``, ``geo``, ``ui``, ``pages``, ``server``) never imports
  what only tests and benchmarks use (``support``, ``tests``, ``bench``);
- ``support/`` (shared by tests and benchmarks) imports neither; benchmarks never import a
  test module nor put ``tests/`` on ``sys.path``; tests never import a benchmark.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("geo", "ui", "pages", "server", "support", "bench", "tests")
SCRIPTS = ("app", "serve")
APP_LAYERS = ("app", "serve", "geo", "ui", "pages", "server")
HTTP_MODULES = ("requests", "urllib.request", "http.client", "socket", "urllib3")
FILE_CALLS = ("open", "read_text", "read_bytes", "write_text", "write_bytes")
BENCHMARK_TESTS = ("tests.test_load_server",)  # tests of bench/load_server.py itself


@dataclass(frozen=True)
class Module:
    name: str  # dotted, from the repository root: "geo.build", "tests.conftest", "app"
    path: Path
    tree: ast.Module

    @property
    def layer(self) -> str:
        return self.name.split(".")[0]


def _modules() -> dict[str, Module]:
    files = [REPO / f"{script}.py" for script in SCRIPTS]
    for package in PACKAGES:
        files += sorted((REPO / package).rglob("*.py"))
    out = {}
    for path in files:
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = Module(name, path, ast.parse(path.read_text("utf-8"), filename=str(path)))
    return out


MODULES = _modules()
# tests/ is on pytest's path: a test imports ``apptest`` for ``tests/apptest.py``.
TOP_LEVEL_TESTS = {m.name.split(".", 1)[1]: m.name for m in MODULES.values() if m.layer == "tests"}


def imported_names(module: Module) -> Iterator[tuple[str, int]]:
    """Every module name an import statement of ``module`` names, with its line."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
            for alias in node.names:  # ``from geo import build`` imports geo.build
                yield f"{node.module}.{alias.name}", node.lineno
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in node.targets
        ):
            for value in ast.walk(node.value):
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    yield value.value, node.lineno


def project_imports(module: Module) -> set[str]:
    """The project's modules ``module`` imports."""
    found = set()
    for name, _ in imported_names(module):
        name = TOP_LEVEL_TESTS.get(name, name) if module.layer in ("tests",) else name
        if name in MODULES and name != module.name:
            found.add(name)
    return found


GRAPH = {name: project_imports(module) for name, module in MODULES.items()}


def test_the_imports_of_the_project_are_read():
    # A test that reads nothing would pass whatever the code does.
    assert {"geo.build", "geo.store", "ui.panels", "pages.carte", "support.server"} <= set(MODULES)
    assert "geo.store" in GRAPH["geo.build"]
    assert "geo.generations" in GRAPH["geo.quartier"]


def test_no_import_circle():
    """Depth-first search for a back edge; the circle found is named module by module."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for target in sorted(GRAPH[name]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (circle := visit(target)):
                return circle
        state[name] = 2
        path.pop()
        return None

    for name in sorted(GRAPH):
        if name not in state and (circle := visit(name)):
            pytest.fail("import circle: " + " -> ".join(circle))


def offences(
    layers: tuple[str, ...], forbidden: tuple[str, ...], *, allowed: tuple[str, ...] = ()
) -> list[str]:
    """``module:line imports name`` for every import of ``forbidden`` from ``layers``
    (modules in ``allowed`` excepted)."""
    found = []
    for module in MODULES.values():
        if module.layer not in layers or module.name in allowed:
            continue
        for name, line in imported_names(module):
            resolved = TOP_LEVEL_TESTS.get(name) if module.layer == "tests" else None
            for target in (name, resolved or ""):
                if any(target == f or target.startswith(f + ".") for f in forbidden):
                    found.append(f"{module.path.relative_to(REPO)}:{line} imports {name}")
    return found


def test_geo_is_the_domain_and_imports_no_interface():
    assert offences(("geo",), ("streamlit", "ui", "pages", "server")) == []


def test_ui_never_imports_a_page():
    assert offences(("ui",), ("pages",)) == []


def test_the_app_never_imports_tests_benchmarks_or_their_support():
    assert offences(APP_LAYERS, ("support", "tests", "bench")) == []
    test_modules = tuple(TOP_LEVEL_TESTS)
    assert offences(APP_LAYERS, test_modules) == []


def test_support_is_shared_and_imports_neither_tests_nor_benchmarks():
    assert offences(("support",), ("tests", "bench", *TOP_LEVEL_TESTS)) == []


def test_benchmarks_never_import_tests_and_tests_never_import_benchmarks():
    assert offences(("bench",), ("tests", *TOP_LEVEL_TESTS)) == []
    assert offences(("tests",), ("bench",), allowed=BENCHMARK_TESTS) == []


def test_no_benchmark_puts_tests_on_the_path():
    for module in MODULES.values():
        if module.layer not in ("bench", "support"):
            continue
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Constant) and node.value == "tests":
                pytest.fail(f"{module.path.relative_to(REPO)}:{node.lineno} names tests/")


def test_pages_send_no_request_and_open_no_file():
    assert offences(("pages",), HTTP_MODULES) == []
    for module in MODULES.values():
        if module.layer != "pages":
            continue
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Call):
                continue
            called = node.func
            name = called.id if isinstance(called, ast.Name) else getattr(called, "attr", "")
            where = f"{module.path.relative_to(REPO)}:{node.lineno}"
            assert name not in FILE_CALLS, f"{where} calls {name}(): pages read through ui/"


def test_the_checks_catch_what_they_forbid():
    """The offence finder sees a forbidden import when there is one (no vacuous pass)."""
    assert offences(("ui",), ("streamlit",))  # ui does import Streamlit
    assert offences(("tests",), ("support",))  # tests do import the shared support


def test_the_architecture_document_names_every_module_once():
    """``docs/ARCHITECTURE.md`` has one line per module of the app, support and benchmarks
    (``ui/adresse.py`` and ``pages/adresse.py`` are two lines)."""
    doc = (REPO / "docs" / "ARCHITECTURE.md").read_text("utf-8")
    start = doc.index("```") + 3
    tree = doc[start : doc.index("```", start)]
    listed = Counter(
        line.split()[0] for line in tree.splitlines() if line.startswith("  ") and ".py" in line
    )
    modules = Counter(
        m.path.name
        for m in MODULES.values()
        if m.layer in ("geo", "ui", "pages", "server", "support", "bench")
        and m.path.name != "__init__.py"
        and "apps" not in m.path.parts
    )
    assert listed == modules
