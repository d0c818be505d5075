"""The sidebar block shared by every page (written once, called from app.py)."""

import streamlit as st

from geo import generations
from ui.markdown import escape_markdown

TITLE = "Quartiers prioritaires de la politique de la ville"


def render_sidebar(territory: str | None) -> None:
    """Title, the territory (its name as the data gives it; none before the data is prepared)
    and a one-line reminder of what the app shows and where the figures come from."""
    with st.sidebar:
        first, *others = generations.ORDER
        # One element: it is sent again on every rerun of every page.
        st.markdown(
            f"**{TITLE}**"
            + (f"  \n{escape_markdown(territory)}" if territory else "")
            + f"\n\n:small[Périmètres {first} (en vigueur) et {', '.join(map(str, others))} "
            "(ANCT), populations Insee. Détail des sources et des limites : page « Sources et "
            "limites ».]"
        )
