"""The page around the app: served fast (TCP_NODELAY), in French, and never an English error.

``serve.py`` is the launcher of the README; these tests start it as users do
(``support/server.run_streamlit``). The French strings themselves are checked in a real browser
in ``tests/test_browser_french.py``.
"""

from __future__ import annotations

import logging
import re
import statistics
import urllib.request
from pathlib import Path

import apptest
import pytest
import streamlit
import streamlit as st
import uvicorn

import ui.data
import ui.leaflet
from server import french_shell, nodelay, preload
from support import REPO_ROOT
from support.server import keep_alive_times
from ui.errors import UNEXPECTED_ERROR

STREAMLIT_INDEX = Path(streamlit.__file__).parent / "static" / "index.html"


# ---------------------------------------------------------------------------------------------
# TCP_NODELAY


@pytest.fixture(scope="module")
def app_server(start_streamlit):
    return start_streamlit(REPO_ROOT / "app.py")


def test_a_response_on_a_kept_alive_connection_takes_under_10_ms(app_server):
    # Without TCP_NODELAY each of them waited for the browser's delayed ACK: about 40 ms.
    times = keep_alive_times(app_server)

    assert statistics.median(times) < 0.010, [f"{t * 1000:.1f} ms" for t in times]


def test_the_launcher_refuses_to_start_without_its_hook_point(monkeypatch):
    async def startup_of_another_version(self):  # no "sockets": the hook cannot work
        return None

    monkeypatch.setattr(uvicorn.Server, "startup", startup_of_another_version)

    with pytest.raises(nodelay.NoDelayHookError, match="TCP_NODELAY"):
        nodelay.install()


def test_a_server_started_without_the_hook_is_refused(monkeypatch):
    monkeypatch.setattr(nodelay, "_started", [])  # this process started no server

    with pytest.raises(nodelay.NoDelayHookError, match="TCP_NODELAY"):
        nodelay.check_applied()


# ---------------------------------------------------------------------------------------------
# The HTML page


def test_streamlit_index_becomes_french_with_the_translations_before_streamlit_code():
    html = french_shell.frenchify(STREAMLIT_INDEX.read_text("utf-8"), title="Essai <b>&")

    assert re.search(r"<html\b[^>]*>", html).group(0) == '<html lang="fr">'
    assert "<title>Essai &lt;b&gt;&amp;</title>" in html
    noscript = re.search(r"<noscript>(.*?)</noscript>", html, re.S).group(1)
    assert "JavaScript" in noscript and "You need" not in noscript
    translations = html.index("new MutationObserver")
    assert translations < html.index('<script type="module"'), "Streamlit's code would run first"
    assert '"Drag and drop a file here":"Glissez-déposez un fichier ici"' in html


def test_the_shell_asks_for_the_map_code_before_streamlit_code_and_names_real_files():
    links = preload.map_preloads()
    html = french_shell.frenchify(STREAMLIT_INDEX.read_text("utf-8"), title="x", head=links)

    hrefs = re.findall(r'href="([^"]+)"', links)
    assert html.index(links) < html.index('<script type="module"'), "asked for too late"
    chunk = next(h for h in hrefs if "BidiComponent" in h)  # Streamlit's component module
    assert (preload.STREAMLIT_JS / chunk.removeprefix("./static/js/")).is_file()
    module = next(h for h in hrefs if "map.js" in h)
    assert module == ui.leaflet.module_url()  # what the component imports: the same request
    for name in ("leaflet.js", "leaflet.css"):
        href = next(h for h in hrefs if h.endswith(name))
        served = REPO_ROOT / "static" / href.removeprefix("/app/static/")
        assert served.is_file(), href


def test_the_shell_names_the_component_code_once_and_no_other_widget():
    # The map page shows its map first: the other widgets' modules would be compiled while the
    # map waits (server/preload.py).
    names = re.findall(r'href="\./static/js/([^"]+)"', preload.map_preloads())
    streamlit_own = re.findall(r'static/js/([^"]+\.js)"', STREAMLIT_INDEX.read_text("utf-8"))

    assert any(name.startswith("serialization.") for name in names)  # imported at the mount
    assert not set(names) & set(streamlit_own) and len(names) == len(set(names))
    for widget in ("Multiselect", "Selectbox", "Slider", "DownloadButton", "Radio"):
        assert not any(name.startswith(f"{widget}.") for name in names), widget


def test_the_app_page_names_its_modules_and_another_script_gets_the_shell_only(
    start_streamlit, app_server, tmp_path
):
    # The benchmarks compare the app with a one-line page served the same way: that page must
    # not load the app's code.
    script = tmp_path / "one_line.py"
    script.write_text('import streamlit as st\n\nst.write("Bonjour")\n', "utf-8")
    other = urllib.request.urlopen(start_streamlit(script) + "/", timeout=30).read().decode()
    app = urllib.request.urlopen(app_server + "/", timeout=30).read().decode()

    assert '<html lang="fr">' in other and '<html lang="fr">' in app
    assert preload.map_preloads() in app
    assert "map.js" not in other
    streamlit_own = STREAMLIT_INDEX.read_text("utf-8").count('rel="modulepreload"')
    assert other.count('rel="modulepreload"') == streamlit_own


def test_other_html_is_left_as_it_is():
    component = "<!doctype html><html lang='en'><head></head><body>iframe</body></html>"

    assert french_shell.frenchify(component, title="x") is None


def test_every_pattern_of_the_table_compiles_and_no_string_closes_the_script():
    table = french_shell.load_strings()

    assert table["exact"]["No results"] == "Aucun résultat"
    assert "</script" not in french_shell.inline_script().lower()


# ---------------------------------------------------------------------------------------------
# The French catch-all


def test_an_unexpected_error_in_a_page_is_a_french_message_and_its_trace_is_logged(
    monkeypatch, caplog, processed
):
    def loader_that_fails(territory):
        raise ZeroDivisionError("détail interne à ne pas montrer")

    # Every page loads its tables through this loader, once it runs inside app.py: make it fail
    # as a bug would.
    monkeypatch.setattr(ui.data, "_load", loader_that_fails)
    caplog.set_level(logging.ERROR, logger="ui.errors")

    at = apptest.open_page()  # the map: AppTest runs other pages without app.py around them

    assert not at.exception, "Streamlit's English error banner was shown"
    [error] = at.error
    shown = error.value
    reference = re.search(r"Référence de l'erreur : `([0-9a-f]{8})`", shown).group(1)
    assert shown == UNEXPECTED_ERROR.format(reference=reference)
    assert "ZeroDivisionError" not in shown and "détail interne" not in shown
    [record] = [r for r in caplog.records if reference in r.getMessage()]
    assert "Carte des quartiers" in record.getMessage()
    assert record.exc_info[0] is ZeroDivisionError  # the trace is in the server's log


def test_st_stop_in_a_page_is_not_an_error(monkeypatch, processed):
    def loader_then_stop(territory):
        st.info("Arrêt voulu par la page.")
        st.stop()

    monkeypatch.setattr(ui.data, "_load", loader_then_stop)

    at = apptest.open_page()

    assert [i.value for i in at.info] == ["Arrêt voulu par la page."]
    assert not at.error and not at.exception
