"""The sidebar block shared by every page (written once, called from app.py)."""

import streamlit as st


def render_sidebar() -> None:
    """Title and a one-line reminder of what the app shows and where the figures come from."""
    with st.sidebar:
        st.markdown(
            "**Quartiers prioritaires de la politique de la ville**  \n"
            "Communauté d'agglomération de Lens-Liévin"
        )
        st.caption(
            "Périmètres 2024 (en vigueur) et 2015 (ANCT), populations Insee. "
            "Détail des sources et des limites : page « Sources et limites »."
        )
