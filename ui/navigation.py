"""The one use of a private Streamlit API, isolated here: a shared link on a fresh server.

Until ``app.py`` has called ``st.navigation`` once in a server process, Streamlit 1.67 treats
the ``pages/`` folder as an old-style multipage app: a shared link such as ``/sources`` opened
first on a fresh server runs ``pages/sources.py`` alone (no sidebar, no French titles, the pages
listed by file name). Serving through ``st.App`` (``serve.py``) does not change that (checked:
without this shim, ``tests/test_browser_adresse.py::
test_deep_link_on_a_fresh_server_runs_the_app`` fails). Every page loads its data through
``ui.data.get_dataset``, which calls :func:`ensure_app_navigation`; ``app.py`` calls
:func:`mark_app_navigation`.

The launcher (``serve.py``, ``server/app_pages.py``) prevents that state from the start, so
this rerun only happens under a plain ``streamlit run app.py``.

When Streamlit changes ``PagesManager``, that test fails: remove this module if the link then
works without it, else adapt it.
"""

from __future__ import annotations

import streamlit as st

_APP_RAN = "_qpv_app_navigation"


def ensure_app_navigation() -> None:
    """Rerun through ``app.py`` when Streamlit ran a page file on its own."""
    # Private API: the flag Streamlit sets when it found a pages/ folder before any
    # st.navigation call. Cleared once, so that the rerun goes through app.py.
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not st.session_state.get(_APP_RAN):
        PagesManager.uses_pages_directory = False
        st.rerun()


def mark_app_navigation() -> None:
    """Record that this session's run went through ``app.py`` (called by app.py only)."""
    st.session_state[_APP_RAN] = True
