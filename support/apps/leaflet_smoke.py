"""Smallest app on the map component (``ui.leaflet``), driven by tests/test_leaflet_offline.py.

One square polygon whose feature is a quartier with a ``code``. Clicking it must bring that code
back to Python, through the component's ``click`` trigger. The same map is on two pages, ``/``
and ``/sources``, to check the asset URLs from both; it is also the one-square baseline of
``bench/bench_shell.py`` and ``bench/bench_map.py``.
"""

import json

import streamlit as st

from ui import leaflet

CODE = "QN00000T"
SQUARE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": CODE,
            "properties": {
                "kind": "qpv",
                "code": CODE,
                "tooltip": "<strong>Quartier témoin</strong>",
                "style": {"color": "#000091", "weight": 2, "fillOpacity": 0.3},
            },
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[2.80, 50.42], [2.84, 50.42], [2.84, 50.44], [2.80, 50.44], [2.80, 50.42]]
                ],
            },
        }
    ],
}
SPEC = leaflet.MapSpec(
    layers=(
        leaflet.Layer(
            id="quartiers",
            geojson=json.dumps(SQUARE),
            pane="quartiers",
            name="Quartiers",
            click_kind="qpv",
            feature_ids=frozenset({CODE}),
        ),
    ),
    view=leaflet.View.fit(((50.41, 2.79), (50.45, 2.85))),
)


def clicked(value: dict) -> None:
    st.session_state["clicked"] = value["code"]


def show_map() -> None:
    leaflet.show_map(SPEC, key="smoke", height="400px", clicks="feature", on_click=clicked)
    code = st.session_state.get("clicked")
    st.write(f"Quartier cliqué : {code}" if code else "Aucun quartier sélectionné")


def show_sources() -> None:
    show_map()


st.navigation(
    [
        st.Page(show_map, title="Carte", default=True),
        st.Page(show_sources, title="Sources", url_path="sources"),
    ]
).run()
