"""Suis-je en QPV ? (``/adresse``): an address, a map click or coordinates -> the answer first.

``/adresse?q=<adresse>`` opens with that address looked up. Typing proposes addresses of the
territory (from 3 characters); choosing one, pressing Enter or the button looks it up on the
address service of the Géoplateforme (IGN). A click on the map or typed coordinates are answered
locally, then the nearest address is asked for (approximate; the verdict stands without it), so
the page keeps working when the service is down. Widgets, state and callbacks: ``ui/adresse.py``.
"""

import streamlit as st

from geo.generations import IN_FORCE, PREVIOUS
from ui import adresse, adresse_map, leaflet, mapview
from ui.adresse import K_LAT, K_LON, K_MAP, K_RESULT
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
    f"coordonnées : la réponse pour les quartiers prioritaires {IN_FORCE} (en vigueur), puis "
    f"{PREVIOUS}."
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
    codes = list(dataset.qpv_of(IN_FORCE)["code"])
    spec = mapview.territory_map(dataset, generation=IN_FORCE, codes=codes)
    result = st.session_state[K_RESULT]
    if result is not None and result.point is not None:
        point = result.point
        spec = spec.adding(*adresse_map.point_layers(dataset, point, result.verdicts)).viewing(
            leaflet.View.at(point.lat, point.lon, adresse_map.POINT_ZOOM)
        )
    leaflet.show_map(spec, key=K_MAP, clicks="point", on_click=adresse.map_clicked)
    st.caption(
        f"Cliquez sur la carte pour situer un point sans saisir d'adresse. Quartiers {IN_FORCE} "
        f"en couleur ; autour du point : le quartier {IN_FORCE} concerné en trait noir, celui de "
        f"{PREVIOUS} en tirets bleus, et les cercles de 300 m et 500 m."
    )
    with (
        st.expander("Saisir des coordonnées (longitude, latitude)", icon=":material/pin_drop:"),
        st.form("adresse_coordonnees", border=False),
    ):
        lon_column, lat_column = st.columns(2)
        lon_hint, lat_hint = adresse.coordinates_hint(dataset)
        lon_column.text_input("Longitude (degrés)", key=K_LON, placeholder=lon_hint)
        lat_column.text_input("Latitude (degrés)", key=K_LAT, placeholder=lat_hint)
        st.form_submit_button(
            "Situer ce point", on_click=adresse.coordinates_submitted, icon=":material/my_location:"
        )
