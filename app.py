"""Carte des quartiers prioritaires de la CA de Lens-Liévin: page config, sidebar, navigation."""

from pathlib import Path

import streamlit as st

from ui.data import mark_app_navigation
from ui.sidebar import render_sidebar

FAVICON = Path(__file__).resolve().parent / "static" / "favicon.png"

PAGES = [
    st.Page("pages/carte.py", title="Carte des quartiers", icon=":material/map:", default=True),
    *(
        st.Page(f"pages/{name}.py", title=title, icon=f":material/{icon}:", url_path=path)
        for name, title, icon, path in (
            ("adresse", "Suis-je en QPV ?", "home_pin", "adresse"),
            ("fichier", "Vérifier un fichier", "table_view", "fichier"),
            ("comparer", "Comparer", "compare_arrows", "comparer"),
            ("presentation", "Présentation", "slideshow", "presentation"),
            ("contrat_de_ville", "Contrat de ville", "handshake", "contrat-de-ville"),
            ("sources", "Sources et limites", "info", "sources"),
        )
    ),
]

navigation = st.navigation(PAGES)
# After st.navigation: called before it, Streamlit 1.67 forgets the wide layout when a page other
# than the default one is opened directly by its URL.
st.set_page_config(
    page_title=f"{navigation.title} – Quartiers prioritaires de Lens-Liévin",
    page_icon=str(FAVICON),  # served by the app itself: a Material icon is fetched from a CDN
    layout="wide",
)
mark_app_navigation()
render_sidebar()
navigation.run()
