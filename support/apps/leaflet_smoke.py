"""Smallest st_folium app on the vendored Leaflet, driven by tests/test_leaflet_offline.py.

One square polygon whose feature carries a ``code``. Clicking it must bring that code back to
Python through ``last_active_drawing``, the narrowest return value that identifies a feature.
The same map is on two pages, ``/`` and ``/sources``, to check the asset URLs from both.
"""

import folium
import streamlit as st
from streamlit_folium import st_folium

from ui.leaflet import add_layer_control, make_map

SQUARE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"code": "QN00000T", "name": "Quartier témoin"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[2.80, 50.42], [2.84, 50.42], [2.84, 50.44], [2.80, 50.44], [2.80, 50.42]]
                ],
            },
        }
    ],
}


def show_map() -> None:
    m = make_map(location=[50.43, 2.82], zoom_start=13)
    folium.GeoJson(
        SQUARE,
        name="Quartiers",
        style_function=lambda _feature: {"color": "#000091", "weight": 2, "fillOpacity": 0.3},
        tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=["Quartier"]),
    ).add_to(m)
    add_layer_control(m)

    state = st_folium(
        m, key="smoke", height=400, width=600, returned_objects=["last_active_drawing"]
    )
    drawing = state.get("last_active_drawing") if state else None
    if drawing:
        st.write(f"Quartier cliqué : {drawing['properties']['code']}")
    else:
        st.write("Aucun quartier sélectionné")


def show_sources() -> None:
    show_map()


st.navigation(
    [
        st.Page(show_map, title="Carte", default=True),
        st.Page(show_sources, title="Sources", url_path="sources"),
    ]
).run()
