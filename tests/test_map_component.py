"""The map component seen from Python (AppTest): what each page sends it, what its clicks do.

The map page opens on the 2024 perimeters; these tests ask for 2015 (``?gen=2015``), whose codes
they name.

AppTest cannot run the component's JavaScript: it reads the data the page sends the component
(``ui.leaflet.payload``, as JSON) and sends what the JavaScript sends on a click (the ``click``
trigger), so that the page's own callbacks run. The browser side (the map kept, the layers not
read again) is in ``tests/test_browser_carte.py``.
"""

import json

import apptest
import pytest
from streamlit.testing.v1 import AppTest

from ui import leaflet, mapview
from ui.adresse import K_MAP as ADRESSE_MAP
from ui.adresse_map import POINT_ZOOM

pytestmark = pytest.mark.mirror


def map_data(at: AppTest, key: str = mapview.MAP_KEY) -> dict:
    """The data the page sent the map component in its last run."""
    return json.loads(apptest.component(at, key).proto.json)["map"]


def layers(data: dict) -> dict[str, dict]:
    return {layer["id"]: layer for layer in data["layers"]}


def click(at: AppTest, value: object, key: str = mapview.MAP_KEY) -> AppTest:
    """Rerun as after a click the component reports (``setTriggerValue("click", value)``)."""
    return apptest.send_to_component(at, apptest.component(at, key), trigger=("click", value))


def features(layer: dict) -> list[dict]:
    return json.loads(layer["geojson"])["features"]


def test_the_map_receives_the_selection_as_data(dataset):
    at = apptest.open_page(gen="2015", drawn=False)
    data = map_data(at)

    shown = layers(data)
    assert list(shown) == ["communes", "territory", "quartiers"]
    quartiers = shown["quartiers"]
    assert len(quartiers["only"]) == 21
    assert {f["id"] for f in features(quartiers)} >= set(quartiers["only"])
    assert len(features(shown["communes"])) == 36
    assert shown["communes"]["name"] == "Communes"
    assert shown["territory"]["name"] == "Limite du territoire (CA de Lens - Liévin)"
    assert data["clicks"] == "feature"
    assert data["leaflet"] == f"/{leaflet.STATIC_PATH}"
    assert [legend["position"] for legend in data["legends"]] == ["bottomright"]
    assert {"Lens", "Liévin"} <= {item[1] for item in data["labels"]["items"]}
    (south, west), (north, east) = data["view"]["bounds"]
    assert 50.3 < south < north < 50.6 and 2.6 < west < east < 3.1  # the CALL

    apptest.draw_maps(at)  # the filters come once the map is drawn
    at.multiselect(key="carte_communes").set_value(["62498"]).run()
    lens = map_data(at)

    # Same layers (same keys: the browser reads none again), five quartiers shown, new view.
    assert [layer["key"] for layer in lens["layers"]] == [layer["key"] for layer in data["layers"]]
    in_lens = dataset.qpv_of(2015).set_index("code")["commune_codes"]
    only = layers(lens)["quartiers"]["only"]
    assert len(only) == 5 and "QP062025" in only
    assert all("62498" in in_lens[code].split(",") for code in only)
    assert lens["view"]["key"] != data["view"]["key"]


def test_choropleth_sends_coloured_communes_and_their_legend():
    plain = map_data(apptest.open_page(gen="2015", drawn=False))
    coloured = map_data(apptest.open_page(gen="2015", part="1", drawn=False))

    assert layers(coloured)["communes"]["key"] != layers(plain)["communes"]["key"]
    assert layers(coloured)["quartiers"]["key"] == layers(plain)["quartiers"]["key"]
    legends = {legend["position"]: legend["html"] for legend in coloured["legends"]}
    assert "Habitants de la commune en quartier prioritaire" in legends["bottomleft"]
    fills = {f["properties"]["style"]["fillColor"] for f in features(layers(coloured)["communes"])}
    assert {share.color for share in mapview.CHOROPLETH} <= fills


def test_a_click_on_a_quartier_opens_its_panel_and_adds_its_outline():
    at = apptest.open_page(gen="2015")
    before = map_data(at)

    click(at, {"kind": "qpv", "code": "QP062025"})

    assert at.subheader[0].value == "Grande Résidence"
    assert at.query_params == {"gen": "2015", "qpv": "QP062025"}
    after = map_data(at)
    assert list(layers(after)) == ["communes", "territory", "quartiers", "focus"]
    assert after["view"] == before["view"]  # the browser keeps the zoom
    _halo, outline = features(layers(after)["focus"])
    assert outline["properties"]["style"]["weight"] == mapview.style.SELECTED.width

    click(at, {"kind": "commune", "code": "62032"})

    assert at.subheader[0].value == "Angres"
    assert "focus" not in layers(map_data(at))


@pytest.mark.parametrize(
    "value",
    [
        {"kind": "qpv", "code": "QN06225M"},  # a 2024 quartier, not on the 2015 map
        {"kind": "qpv", "code": "62032"},  # a commune's code as a quartier
        {"kind": "commune", "code": "<img src=x>"},
        {"kind": "qpv"},
        ["QP062025"],
        "QP062025",
    ],
)
def test_a_click_naming_nothing_on_the_map_changes_nothing(value):
    at = apptest.open_page(gen="2015")

    click(at, value)

    assert (
        apptest.unescape(at.subheader[0].value) == "CA de Lens - Liévin"
    )  # the territory's panel still
    assert at.query_params == {"gen": "2015"}  # as the link asked, nothing more
    assert "focus" not in layers(map_data(at))


def test_the_table_is_one_click_away():
    at = apptest.open_page(gen="2015")
    assert len(at.dataframe) == 0  # not on the first screen
    assert [e.label for e in at.expander] == ["Tableau de la sélection"]

    at.session_state["carte_tableau"] = True  # what opening the expander sends
    at.run()

    assert len(at.dataframe[0].value) == 21
    labels = [button.proto.label for button in at.get("download_button")]
    assert "Télécharger ce tableau (CSV)" in labels


def test_a_click_on_the_address_map_answers_for_that_point(dataset):
    at = apptest.open_page("pages/adresse.py")
    data = map_data(at, ADRESSE_MAP)
    assert data["clicks"] == "point"
    # Every 2024 quartier of the territory, neighbours' too.
    assert sorted(layers(data)["quartiers"]["only"]) == sorted(dataset.qpv_of(2024)["code"])

    click(at, {"lat": 50.4322, "lng": 2.8319}, key=ADRESSE_MAP)  # in Grande Résidence

    assert "Point choisi sur la carte" in apptest.text_of(at)
    after = map_data(at, ADRESSE_MAP)
    assert after["view"]["center"] == [50.4322, 2.8319]
    assert after["view"]["zoom"] == POINT_ZOOM
    assert list(layers(after))[-2:] == ["focus", "points"]
    radii = [f["properties"].get("radius_m") for f in features(layers(after)["points"])]
    assert radii == [300, 500, None]  # the two circles, then the point


def test_a_click_off_the_earth_is_ignored_on_the_address_map():
    at = apptest.open_page("pages/adresse.py")

    click(at, {"lat": 250.0, "lng": 2.8319}, key=ADRESSE_MAP)

    assert "Point choisi sur la carte" not in apptest.text_of(at)
    assert "points" not in layers(map_data(at, ADRESSE_MAP))


def test_a_click_on_the_presentation_map_goes_to_that_commune():
    at = apptest.open_page("pages/presentation.py", gen="2015")
    data = map_data(at, "presentation_carte")
    assert data["height"].startswith("max(300px, calc(100vh")

    click(at, {"kind": "commune", "code": "62498"}, key="presentation_carte")

    assert at.query_params == {"commune": "62498", "gen": "2015"}
    assert at.title[0].value == "Lens"
    assert len(layers(map_data(at, "presentation_carte"))["quartiers"]["only"]) == 5


def test_the_territory_layers_go_once_per_session_and_again_when_missing():
    at = apptest.open_page(gen="2015", drawn=False)
    first = layers(map_data(at))
    assert all(first[name]["geojson"] for name in ("communes", "territory", "quartiers"))

    apptest.draw_maps(at)  # the rest of the page, around the map drawn
    whole = layers(map_data(at))
    at.multiselect(key="carte_communes").set_value(["62498"]).run()
    again = layers(map_data(at))

    # The browser has them: their keys alone, the GeoJSON stays on the server.
    for name in ("communes", "territory", "quartiers"):
        assert whole[name]["geojson"] is None and whole[name]["key"] == first[name]["key"]
        assert again[name]["geojson"] is None and again[name]["key"] == first[name]["key"]
    assert len(again["quartiers"]["only"]) == 5

    # The front end lost one (or never got it): it says so, the next run sends it again.
    element = apptest.component(at, mapview.MAP_KEY)
    apptest.send_to_component(at, element, trigger=("missing", [first["communes"]["key"]]))
    resent = layers(map_data(at))
    assert resent["communes"]["geojson"] == first["communes"]["geojson"]
    assert resent["quartiers"]["geojson"] is None


def test_what_the_front_end_reports_missing_is_bounded():
    at = apptest.open_page(gen="2015")
    element = apptest.component(at, mapview.MAP_KEY)

    apptest.send_to_component(at, element, trigger=("missing", ["x" * 50] * 10_000 + [3]))

    assert not at.exception
    assert layers(map_data(at))["communes"]["geojson"] is None  # nothing real was missing
