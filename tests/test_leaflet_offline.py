"""The map component renders with no internet, from the vendored Leaflet (ui/leaflet.py).

Browser tests run ``support/apps/leaflet_smoke.py`` under ``streamlit run`` and drive Chromium;
every request to a host other than 127.0.0.1 is aborted, as on a machine with no network. The
map lives in the page (a shadow root, no iframe): Playwright's CSS locators reach into it.
"""

import json
import math
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from support.server import APPS_DIR, STATIC_DIR
from ui import leaflet

SMOKE_APP = APPS_DIR / "leaflet_smoke.py"
POLYGON = "path.leaflet-interactive"
LEAFLET_JS_PATH = f"/{leaflet.STATIC_PATH}/leaflet.js"
LEAFLET_CSS_PATH = f"/{leaflet.STATIC_PATH}/leaflet.css"
DRAW_BUDGET_S = 20


@pytest.fixture(scope="module")
def no_basemap_url(start_streamlit):
    return start_streamlit(SMOKE_APP, env={leaflet.BASEMAP_ENV_VAR: leaflet.NO_BASEMAP.key})


@pytest.fixture(scope="module")
def plan_ign_url(start_streamlit):
    return start_streamlit(SMOKE_APP, env={leaflet.BASEMAP_ENV_VAR: leaflet.PLAN_IGN.key})


def open_map(page, url: str, log) -> float:
    """Open ``url``, wait for the polygon drawn; return the seconds it took."""
    start = time.perf_counter()
    page.goto(url)
    try:
        page.locator(POLYGON).first.wait_for(state="visible")
    except PlaywrightTimeoutError:
        pytest.fail(
            f"no polygon drawn at {url}; Leaflet requests: {log.matching('leaflet')}; "
            f"requests that left 127.0.0.1 (aborted): {log.external()}"
        )
    return time.perf_counter() - start


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/", "/sources"])
def test_map_draws_from_local_leaflet(browser_page, request_log, no_basemap_url, path):
    seconds = open_map(browser_page, no_basemap_url + path, request_log)

    page = browser_page
    assert page.locator(".leaflet-container").count() == 1
    assert page.locator("iframe").count() == 0  # in the page itself
    assert page.locator(POLYGON).count() == 1
    assert page.evaluate("L.version") == leaflet.LEAFLET_VERSION
    assert page.locator(".leaflet-tile").count() == 0  # "Sans fond de carte"
    # The stylesheet is applied inside the component: Leaflet's own rule positions the panes.
    pane_position = page.locator(".leaflet-pane").first.evaluate(
        "pane => getComputedStyle(pane).position"
    )
    assert pane_position == "absolute"
    assert len(request_log.matching(LEAFLET_JS_PATH)) == 1
    assert len(request_log.matching(LEAFLET_CSS_PATH)) == 1
    assert len(request_log.matching("/app/static/qpv-map/map.js?v=")) == 1
    assert request_log.external() == []
    assert seconds < DRAW_BUDGET_S


@pytest.mark.browser
def test_click_on_polygon_reaches_python_without_a_new_map(
    browser_page, request_log, no_basemap_url
):
    open_map(browser_page, no_basemap_url, request_log)
    browser_page.get_by_text("Aucun quartier sélectionné").wait_for()
    container = browser_page.locator(".leaflet-container")
    container.evaluate("element => { element.leafletMap.keptAcrossClicks = 'oui'; }")

    browser_page.locator(POLYGON).first.click()

    browser_page.get_by_text("Quartier cliqué : QN00000T").wait_for()
    # The same Leaflet map, in the same element: nothing was rebuilt or fetched again.
    assert container.evaluate("element => element.leafletMap.keptAcrossClicks") == "oui"
    assert len(request_log.matching(LEAFLET_JS_PATH)) == 1


@pytest.mark.browser
def test_controls_speak_french(browser_page, request_log, no_basemap_url):
    open_map(browser_page, no_basemap_url, request_log)
    page = browser_page

    assert page.get_by_role("button", name="Zoom avant").count() == 1
    assert page.get_by_role("button", name="Zoom arrière").count() == 1
    toggle = page.locator(".leaflet-control-layers-toggle")
    assert toggle.get_attribute("title") == leaflet.CONTROL_TEXT["layers"]
    prefix = page.locator(".leaflet-control-attribution a").first
    assert prefix.inner_text() == "Leaflet"
    assert prefix.get_attribute("title") == "Bibliothèque JavaScript de cartes interactives"
    shown = page.locator(".leaflet-container").evaluate(
        """element => [...element.querySelectorAll('*')].map(e =>
            [e.textContent, e.getAttribute('title'), e.getAttribute('aria-label')].join(' '))
            .join(' ')"""
    )
    for english in ("Zoom in", "Zoom out", "Layers", "A JavaScript library"):
        assert english not in shown
    # Keyboard users reach the map and its buttons, which say what they do.
    assert page.locator(".leaflet-container").get_attribute("tabindex") == "0"
    assert page.locator(".leaflet-container").get_attribute("aria-label").startswith("Carte")


@pytest.mark.browser
def test_keyboard_zooms_the_map(browser_page, request_log, no_basemap_url):
    open_map(browser_page, no_basemap_url, request_log)
    container = browser_page.locator(".leaflet-container")
    before = container.evaluate("element => element.leafletMap.getZoom()")

    container.focus()
    browser_page.keyboard.press("+")

    browser_page.wait_for_function(
        "([element, zoom]) => element.leafletMap.getZoom() > zoom",
        arg=[container.element_handle(), before],
    )


@pytest.mark.browser
def test_tiles_fail_softly_and_sans_fond_removes_them(browser_page, request_log, plan_ign_url):
    open_map(browser_page, plan_ign_url, request_log)
    page = browser_page
    page.locator(".leaflet-tile").first.wait_for(state="attached")

    external = request_log.external()
    assert external, "Plan IGN is the first basemap: its tiles must have been requested"
    assert all(url.startswith("https://data.geopf.fr/wmts?") for url in external), external
    assert request_log.external_assets() == []
    assert page.locator(POLYGON).count() == 1

    page.locator(".leaflet-control-layers").hover()
    names = page.locator(".leaflet-control-layers-base label").all_inner_texts()
    assert [name.strip() for name in names] == [b.name for b in leaflet.BASEMAPS]
    page.get_by_label(leaflet.NO_BASEMAP.name).check()

    page.locator(".leaflet-tile").first.wait_for(state="detached")
    assert page.locator(POLYGON).count() == 1


@pytest.mark.browser
def test_a_map_that_cannot_load_says_so_in_french(browser_page, no_basemap_url):
    browser_page.route("**/leaflet.js", lambda route: route.abort())  # a broken copy, a proxy…

    browser_page.goto(no_basemap_url)

    alert = browser_page.get_by_role("alert").filter(has_text=leaflet.CONTROL_TEXT["loadError"])
    alert.wait_for()
    assert browser_page.locator(POLYGON).count() == 0


def test_leaflet_is_vendored_where_the_component_loads_it():
    for name in ("leaflet.js", "leaflet.css"):
        relative = f"/{leaflet.STATIC_PATH}/{name}".removeprefix("/app/static/")
        assert (STATIC_DIR / relative).is_file(), relative
    assert leaflet.leaflet_url() == f"/{leaflet.STATIC_PATH}"
    for name in ("loader.js", "map.js"):
        front_end = (leaflet.FRONT_END / name).read_text("utf-8")
        # Leaflet comes from the URL Python sends: the front end names no other server.
        assert "https://" not in front_end and "http://" not in front_end
    module = leaflet.module_url()
    assert module.startswith("/app/static/qpv-map/map.js?v=")
    assert (STATIC_DIR / "qpv-map" / "map.js").is_file()


def test_payload_is_json_and_names_only_local_code(monkeypatch):
    monkeypatch.setenv(leaflet.BASEMAP_ENV_VAR, "osm")
    layer = leaflet.Layer(id="points", geojson='{"type": "FeatureCollection", "features": []}',
                          pane="points")  # fmt: skip
    spec = leaflet.MapSpec(layers=(layer,), view=leaflet.View.at(50.43, 2.83, 12))

    data = json.loads(json.dumps(leaflet.payload(spec)))

    assert data["leaflet"] == f"/{leaflet.STATIC_PATH}"
    assert data["basemap"] == "osm"
    assert [b["name"] for b in data["basemaps"]] == ["Plan IGN", "OpenStreetMap",
                                                      "Sans fond de carte"]  # fmt: skip
    assert data["layers"][0]["key"] == layer.key
    assert data["view"]["center"] == [50.43, 2.83]


def test_layer_keys_follow_the_content():
    text = '{"type": "FeatureCollection", "features": []}'
    first = leaflet.Layer(id="focus", geojson=text, pane="focus")
    assert leaflet.Layer(id="focus", geojson=text, pane="focus").key == first.key
    assert leaflet.Layer(id="focus", geojson=text.replace("[]", "[ ]"), pane="focus").key != (
        first.key
    )
    assert first.showing(["A"]).key == first.key  # a filter is not new content
    with pytest.raises(ValueError, match="'sky'"):
        leaflet.Layer(id="x", geojson=text, pane="sky")


@pytest.mark.parametrize(
    ("clicks", "value", "expected"),
    [
        ("feature", {"kind": "qpv", "code": "QN00000T"}, {"kind": "qpv", "code": "QN00000T"}),
        ("feature", {"kind": "qpv", "code": "QN99999X"}, None),  # not on the map
        ("feature", {"kind": "commune", "code": "QN00000T"}, None),  # wrong kind
        ("feature", {"kind": "qpv", "code": ["QN00000T"]}, None),
        ("feature", "QN00000T", None),
        ("point", {"lat": 50.43, "lng": 2.83}, {"lat": 50.43, "lng": 2.83}),
        ("point", {"lat": 91, "lng": 2.83}, None),
        ("point", {"lat": math.nan, "lng": 2.83}, None),
        ("point", {"lat": True, "lng": 2.83}, None),
        ("point", {"lat": "50.43", "lng": 2.83}, None),
        (None, {"kind": "qpv", "code": "QN00000T"}, None),
    ],
)
def test_only_clicks_on_what_the_map_shows_come_back(clicks, value, expected):
    layer = leaflet.Layer(id="quartiers", geojson="{}", pane="quartiers", click_kind="qpv",
                          feature_ids=frozenset({"QN00000T", "QN00001T"}))  # fmt: skip
    spec = leaflet.MapSpec(layers=(layer,), view=leaflet.View.at(50.43, 2.83, 12))
    assert leaflet.checked_click(spec, clicks, value) == expected
    hidden = leaflet.MapSpec(layers=(layer.showing(["QN00001T"]),), view=spec.view)
    assert leaflet.checked_click(hidden, "feature", {"kind": "qpv", "code": "QN00000T"}) is None


def test_basemaps_are_french_and_the_first_one_shown_is_configurable(monkeypatch):
    names = [basemap.name for basemap in leaflet.BASEMAPS]
    assert names == ["Plan IGN", "OpenStreetMap", "Sans fond de carte"]

    monkeypatch.setenv(leaflet.BASEMAP_ENV_VAR, "osm")
    assert leaflet.default_basemap() == "osm"

    monkeypatch.setenv(leaflet.BASEMAP_ENV_VAR, "satellite")
    with pytest.raises(ValueError, match="'satellite'"):
        leaflet.default_basemap()
