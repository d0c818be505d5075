"""Carte des quartiers prioritaires: page config, sidebar, navigation.

The territory shown is the one of ``QPV_TERRITORY`` (the CA de Lens-Liévin by default): its name
comes from the prepared data, and the titles stay neutral until the data is prepared.
"""

import streamlit as st

from ui.data import territory_name
from ui.errors import unexpected_errors_in_french
from ui.navigation import mark_app_navigation
from ui.shell import favicon_url, pages
from ui.sidebar import render_sidebar

navigation = st.navigation(pages())
territory = territory_name()
# After st.navigation: called before it, Streamlit 1.67 forgets the wide layout when a page other
# than the default one is opened directly by its URL.
st.set_page_config(
    page_title=f"{navigation.title} – Quartiers prioritaires"
    + (f" de la {territory}" if territory else ""),
    page_icon=favicon_url(),  # served by the app itself, in the page
    layout="wide",
)
mark_app_navigation()
render_sidebar(territory)
with unexpected_errors_in_french(navigation.title):
    navigation.run()
