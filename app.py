"""Carte des quartiers prioritaires: page config, sidebar, navigation.

The territory shown is the one of ``QPV_TERRITORY`` (the CA de Lens-Liévin by default): its name
comes from the prepared data, and the titles stay neutral until the data is prepared.
"""

import base64
from pathlib import Path

import streamlit as st

from ui.data import territory_name
from ui.errors import unexpected_errors_in_french
from ui.navigation import mark_app_navigation
from ui.sidebar import render_sidebar

FAVICON = Path(__file__).resolve().parent / "static" / "favicon.png"

PAGES_KEY = "_qpv_pages"
if PAGES_KEY not in st.session_state:
    # Made once per session: st.Page resolves its file's path (a system call per folder) when
    # made, and this script runs on every rerun of every page. Sessions do not share them.
    st.session_state[PAGES_KEY] = [
        # No page icons: Streamlit turns the current page's icon into the favicon, fetched from
        # a font CDN that an offline machine cannot reach.
        st.Page("pages/carte.py", title="Carte des quartiers", default=True),
        *(
            st.Page(f"pages/{name}.py", title=title, url_path=path)
            for name, title, path in (
                ("adresse", "Suis-je en QPV ?", "adresse"),
                ("fichier", "Vérifier un fichier", "fichier"),
                ("comparer", "Comparer", "comparer"),
                ("presentation", "Présentation", "presentation"),
                ("contrat_de_ville", "Contrat de ville", "contrat-de-ville"),
                ("sources", "Sources et limites", "sources"),
            )
        ),
    ]

navigation = st.navigation(st.session_state[PAGES_KEY])
territory = territory_name()
# After st.navigation: called before it, Streamlit 1.67 forgets the wide layout when a page other
# than the default one is opened directly by its URL.
st.set_page_config(
    page_title=f"{navigation.title} – Quartiers prioritaires"
    + (f" de la {territory}" if territory else ""),
    # Served by the app itself, in the page: as a file path, Streamlit reads, hashes and
    # registers the image again on every rerun of every page (0,4 ms each).
    page_icon="data:image/png;base64," + base64.b64encode(FAVICON.read_bytes()).decode(),
    layout="wide",
)
mark_app_navigation()
render_sidebar(territory)
with unexpected_errors_in_french(navigation.title):
    navigation.run()
