"""Carte des quartiers prioritaires de la CA de Lens-Liévin: page config, sidebar, navigation."""

import streamlit as st

from ui.sidebar import render_sidebar

st.set_page_config(
    page_title="Quartiers prioritaires – Lens-Liévin",
    page_icon=":material/map:",
    layout="wide",
)

PAGES = [
    st.Page("pages/carte.py", title="Carte des quartiers", icon=":material/map:", default=True),
    st.Page("pages/adresse.py", title="Suis-je en QPV ?", icon=":material/home_pin:", url_path="adresse"),
    st.Page("pages/fichier.py", title="Vérifier un fichier", icon=":material/table_view:", url_path="fichier"),
    st.Page("pages/comparer.py", title="Comparer", icon=":material/compare_arrows:", url_path="comparer"),
    st.Page("pages/presentation.py", title="Présentation", icon=":material/slideshow:", url_path="presentation"),
    st.Page("pages/contrat_de_ville.py", title="Contrat de ville", icon=":material/handshake:", url_path="contrat-de-ville"),
    st.Page("pages/sources.py", title="Sources et limites", icon=":material/info:", url_path="sources"),
]  # fmt: skip

navigation = st.navigation(PAGES)
render_sidebar()
navigation.run()
