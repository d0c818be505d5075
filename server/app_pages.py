"""The app's pages are declared with ``st.navigation``: say so before the first visitor comes.

Streamlit 1.67 learns that an app uses ``st.navigation`` only when ``app.py`` first calls it in
the server process. Until then, because a ``pages/`` folder sits beside ``app.py``, it treats
the app as an old-style multipage app: a shared link such as ``/contrat-de-ville`` opened first
on a fresh server is looked up among the file names, not found (the file is
``contrat_de_ville.py``), and the visitor gets a « Page introuvable » dialog on top of the right
page. The launcher sets, at start, the flag Streamlit itself sets on the first ``st.navigation``
call (``streamlit/commands/navigation.py``), so that no visitor ever meets that state. It is a
private attribute: ``tests/test_browser_adresse.py::test_deep_link_on_a_fresh_server_runs_the_app``
fails if a Streamlit upgrade changes it. ``ui/navigation.py`` covers ``streamlit run app.py``
without the launcher.
"""

from __future__ import annotations

from streamlit.runtime.pages_manager import PagesManager


def declare_app_navigation() -> None:
    """Tell Streamlit, before any session, that ``app.py`` declares its pages itself."""
    PagesManager.uses_pages_directory = False
