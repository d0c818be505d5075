"""Shared fixtures.

Real browser (``@pytest.mark.browser``), helpers in ``support/server.py`` and
``support/browser.py``:

- ``start_streamlit(script, env=None) -> base_url``: session-scoped factory; one server per
  (script, env), stopped at the end of the session. Wrap it in a module fixture::

      @pytest.fixture(scope="module")
      def app_url(start_streamlit):
          return start_streamlit(APPS_DIR / "my_app.py", env={"QPV_BASEMAP": "aucun"})

- ``chromium``: session-scoped Playwright ``Browser`` (Debian's Chromium, headless).
- ``browser_page``: a fresh ``Page`` in its own context (French locale). Requests to any host
  but 127.0.0.1 are aborted, and every URL is kept in ``request_log`` (a ``RequestLog``).

- ``artefact_path(name) -> Path``: where to keep a file a person should look at (a screenshot):
  the folder ``$QPV_TEST_ARTEFACTS``, else ``artefacts/`` in pytest's temporary folder. Every
  file kept is listed at the end of the test output.

Nothing is skipped for lack of data or of a browser (``pytest_collection_modifyitems``): when
the collected tests need the official files and neither the mirror (``QPV_DATA_MIRROR``) nor a
download can provide them, or need Chromium and it is absent, the run stops before any test
with one line saying what is missing. ``-m "not browser"`` deselects the browser tests.
"""

import os
from contextlib import ExitStack
from pathlib import Path

import pytest

from support import default_mirror
from support.browser import CHROMIUM, RequestLog, launch_chromium, record_requests
from support.server import run_streamlit

REPO = Path(__file__).resolve().parent.parent
DATA_FIXTURES = frozenset({"mirror_dir", "processed", "dataset"})
NO_DATA_EXIT = 4  # pytest's "usage error": the machine is not ready, no test could say more


# --- Prerequisites --------------------------------------------------------------------------


def is_mirror(path: Path) -> bool:
    """A mirror of the official files carries their checksums (``SHA256SUMS``)."""
    return (path / "SHA256SUMS").is_file()


def official_files_folder() -> Path:
    """The folder the tests read the official files from: the mirror, else the download cache.

    Without a mirror, every input is downloaded once from its official URL into the cache
    (``QPV_CACHE_DIR``, default ``data/cache``), which has the mirror's layout; later runs read it
    back without the network. Raises ``geo.errors.DataError`` when an input cannot be obtained.
    """
    mirror = default_mirror()
    if is_mirror(mirror):
        return mirror
    from geo.cache import default_cache_dir
    from geo.fetch import fetch_all

    fetch_all(mirror=None, optional=frozenset())
    return default_cache_dir()


def no_data_line(exc: Exception) -> str:
    """The one line that stops the run when the official files cannot be obtained."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return (
        f"Données de test absentes : aucun miroir des fichiers officiels dans {default_mirror()} "
        f"et téléchargement impossible ({reason}). Indiquez le dossier miroir : "
        "QPV_DATA_MIRROR=/chemin/du/miroir python -m pytest (ou donnez accès à internet)."
    )


@pytest.hookimpl(trylast=True)  # after -m/-k have deselected what will not run
def pytest_collection_modifyitems(config, items):
    """Stop before any test when what the collected tests need is missing (see module doc)."""
    from geo.errors import DataError

    problems = []
    if any(
        DATA_FIXTURES & set(item.fixturenames) or item.get_closest_marker("mirror")
        for item in items
    ):
        try:
            # Exported: the servers and subprocesses the tests start read the same files.
            os.environ["QPV_DATA_MIRROR"] = str(official_files_folder())
        except DataError as exc:
            problems.append(no_data_line(exc))
    if any(item.get_closest_marker("browser") for item in items) and not CHROMIUM.exists():
        problems.append(
            f"Chromium absent ({CHROMIUM}) pour les tests dans un navigateur : apt-get install "
            'chromium (ou python -m pytest -m "not browser" pour lancer les autres).'
        )
    if problems:
        pytest.exit(" ".join(problems), returncode=NO_DATA_EXIT)


@pytest.fixture(scope="session")
def start_streamlit():
    """Factory serving ``script`` once per (script, env), as users do; see module docstring."""
    servers: dict[tuple, str] = {}
    with ExitStack() as stack:

        def start(script: Path, env: dict[str, str] | None = None) -> str:
            key = (Path(script).resolve(), tuple(sorted((env or {}).items())))
            if key not in servers:
                servers[key] = stack.enter_context(run_streamlit(script, env=env))
            return servers[key]

        yield start


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium driven by Playwright, shared by the whole session."""
    from playwright import sync_api  # in requirements.txt; Chromium checked before the run

    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_context(chromium):
    context = chromium.new_context(viewport={"width": 1200, "height": 900}, locale="fr-FR")
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def request_log(browser_context) -> RequestLog:
    """URLs requested by ``browser_page`` (non-local ones aborted)."""
    return record_requests(browser_context)


@pytest.fixture
def browser_page(browser_context, request_log):
    """A Playwright ``Page`` that cannot reach beyond 127.0.0.1."""
    page = browser_context.new_page()
    page.set_default_timeout(20_000)
    return page


# --- Artefacts -----------------------------------------------------------------------------

ARTEFACTS_ENV = "QPV_TEST_ARTEFACTS"
_ARTEFACTS = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def artefacts_dir(tmp_path_factory) -> Path:
    """``$QPV_TEST_ARTEFACTS`` (created if needed), else ``artefacts/`` under pytest's tmp."""
    chosen = os.environ.get(ARTEFACTS_ENV)
    if chosen:
        path = Path(chosen)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("artefacts", numbered=False)


@pytest.fixture
def artefact_path(artefacts_dir, pytestconfig):
    """Factory: ``artefact_path("x.png")`` is a path to write; it is listed in the summary."""

    def path_for(name: str) -> Path:
        path = artefacts_dir / name
        pytestconfig.stash.setdefault(_ARTEFACTS, []).append(path)
        return path

    return path_for


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    kept = [p for p in config.stash.get(_ARTEFACTS, []) if p.exists()]
    if kept:
        terminalreporter.section("test artefacts kept")
        for path in kept:
            terminalreporter.write_line(str(path))


# --- Data fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """The official files (the mirror, or the download cache), found before the run."""
    return official_files_folder()


@pytest.fixture(scope="session")
def processed(mirror_dir) -> Path:
    """The default processed tables, built from the mirror when missing or stale."""
    from geo.build import ensure_built
    from geo.store import processed_dir

    ensure_built(mirror=mirror_dir, allow_download=False)
    return processed_dir()


@pytest.fixture(scope="session")
def dataset(processed):
    """The CALL dataset as the app loads it."""
    from geo.store import load_dataset

    return load_dataset()
