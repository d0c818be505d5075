"""Carte des quartiers prioritaires de la CA de Lens-Liévin: page config, sidebar, navigation."""

from pathlib import Path

import streamlit as st

from ui.data import mark_app_navigation
from ui.errors import unexpected_errors_in_french
from ui.sidebar import render_sidebar

FAVICON = Path(__file__).resolve().parent / "static" / "favicon.png"

PAGES = [
    # No page icons: Streamlit turns the current page's icon into the favicon, fetched from a
    # font CDN that an offline machine cannot reach.
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

navigation = st.navigation(PAGES)
# After st.navigation: called before it, Streamlit 1.67 forgets the wide layout when a page other
# than the default one is opened directly by its URL.
st.set_page_config(
    page_title=f"{navigation.title} – Quartiers prioritaires de Lens-Liévin",
    page_icon=str(FAVICON),  # served by the app itself
    layout="wide",
)
mark_app_navigation()
render_sidebar()
with unexpected_errors_in_french(navigation.title):
    navigation.run()
