"""Suis-je en QPV ? (``/adresse``): an address, a map click or coordinates -> the answer first.

``/adresse?q=<adresse>`` opens with that address looked up. Typing proposes addresses of the
territory (from 3 characters); choosing one, pressing Enter or the button looks it up on the
address service of the Géoplateforme (IGN). A click on the map or typed coordinates are answered
locally, then the nearest address is asked for (approximate; the verdict stands without it), so
the page keeps working when the service is down. Widgets, state and callbacks: ``ui/adresse.py``.
"""

import streamlit as st

from ui import adresse, leaflet, mapview
from ui.adresse import K_LAT, K_LON, K_MAP, K_RESULT, POINT_ZOOM
from ui.data import get_dataset
from ui.locator import get_locator
from ui.markdown import escape_markdown

# The first visit of a process builds the dataset and the locator with a spinner. In a container
# of their own, that spinner leaves every later element at the same place in the page: otherwise
# the next run shifts them and the browser remounts them (the address field loses the focus).
with st.container():
    dataset = get_dataset()
    get_locator()  # built once per process, before the first answer is asked for
    adresse.search_area(dataset)  # likewise, before the first suggestion
adresse.init_state()
adresse.read_query_string()

st.title("Suis-je en QPV ?", anchor=False)
st.markdown(
    f"Une adresse de la {escape_markdown(dataset.territory_name)}, un clic sur la carte ou des "
    "coordonnées : la réponse pour les quartiers prioritaires 2024 (en vigueur), puis 2015."
)

answer_column, map_column = st.columns([5, 6], gap="large")
with answer_column:
    adresse.address_field(dataset)
    adresse.render_message()
    adresse.render_answer(dataset)
    adresse.candidates(dataset)  # asked here when doubtful; else folded under the answer
    if st.session_state[K_RESULT] is None and st.session_state[adresse.K_ANSWER] is None:
        st.info(
            "Saisissez une adresse, cliquez sur la carte ou indiquez des coordonnées.",
            icon=":material/touch_app:",
        )
    st.caption(adresse.privacy_note())

with map_column:
    spec = mapview.territory_map(dataset, generation=2024, codes=list(dataset.qpv_of(2024)["code"]))
    result = st.session_state[K_RESULT]
    if result is not None and result.point is not None:
        point = result.point
        spec = spec.adding(*adresse.point_layers(dataset, point, result.verdicts)).viewing(
            leaflet.View.at(point.lat, point.lon, POINT_ZOOM)
        )
    leaflet.show_map(spec, key=K_MAP, clicks="point", on_click=adresse.map_clicked)
    st.caption(
        "Cliquez sur la carte pour situer un point sans saisir d'adresse. Quartiers 2024 en "
        "couleur ; autour du point : le quartier 2024 concerné en trait noir, celui de 2015 en "
        "tirets bleus, et les cercles de 300 m et 500 m."
    )
    with (
        st.expander("Saisir des coordonnées (longitude, latitude)", icon=":material/pin_drop:"),
        st.form("adresse_coordonnees", border=False),
    ):
        lon_column, lat_column = st.columns(2)
        lon_column.text_input("Longitude (degrés)", key=K_LON, placeholder="2,8319")
        lat_column.text_input("Latitude (degrés)", key=K_LAT, placeholder="50,4322")
        st.form_submit_button(
            "Situer ce point", on_click=adresse.coordinates_submitted, icon=":material/my_location:"
        )
