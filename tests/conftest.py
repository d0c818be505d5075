"""Shared fixtures.

Real browser (``@pytest.mark.browser``), helpers in ``tests/browser.py``:

- ``start_streamlit(script, env=None) -> base_url``: session-scoped factory; one server per
  (script, env), stopped at the end of the session. Wrap it in a module fixture::

      @pytest.fixture(scope="module")
      def app_url(start_streamlit):
          return start_streamlit(APPS_DIR / "my_app.py", env={"QPV_BASEMAP": "aucun"})

- ``chromium``: session-scoped Playwright ``Browser`` (Debian's Chromium, headless); the test
  is skipped when ``/usr/bin/chromium`` or playwright is missing.
- ``browser_page``: a fresh ``Page`` in its own context (French locale). Requests to any host
  but 127.0.0.1 are aborted, and every URL is kept in ``request_log`` (a ``RequestLog``).
- ``artefact_path(name) -> Path``: where to keep a file a person should look at (a screenshot):
  the folder ``$QPV_TEST_ARTEFACTS``, else ``artefacts/`` in pytest's temporary folder. Every
  file kept is listed at the end of the test output.
"""

import os
from contextlib import ExitStack
from pathlib import Path

import pytest
from browser import CHROMIUM, RequestLog, launch_chromium, record_requests, run_streamlit


@pytest.fixture(scope="session")
def start_streamlit():
    """Factory starting ``streamlit run script`` once per (script, env); see module docstring."""
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
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
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

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """The offline mirror of the official files (``QPV_DATA_MIRROR``, else ``../shared/data``)."""
    import os

    path = Path(os.environ.get("QPV_DATA_MIRROR") or REPO.parent / "shared" / "data")
    if not (path / "SHA256SUMS").is_file():
        pytest.skip(f"offline mirror not found at {path}: set QPV_DATA_MIRROR")
    return path


@pytest.fixture(scope="session")
def processed(mirror_dir) -> Path:
    """The default processed tables, built from the mirror when missing or stale."""
    from geo.build import ensure_built, processed_dir

    ensure_built(mirror=mirror_dir, allow_download=False)
    return processed_dir()


@pytest.fixture(scope="session")
def dataset(processed):
    """The CALL dataset as the app loads it."""
    from geo.store import load_dataset

    return load_dataset()
