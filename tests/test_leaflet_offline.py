"""The st_folium map renders with no internet, from the vendored Leaflet (ui/leaflet.py).

Browser tests run ``support/apps/leaflet_smoke.py`` under ``streamlit run`` and drive Chromium;
every request to a host other than 127.0.0.1 is aborted, as on a machine with no network.
"""

import time

import folium
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from support.server import APPS_DIR, STATIC_DIR
from ui import leaflet

SMOKE_APP = APPS_DIR / "leaflet_smoke.py"
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
POLYGON = "path.leaflet-interactive"
LEAFLET_JS_PATH = f"/app/static/vendor/leaflet-{leaflet.LEAFLET_VERSION}/leaflet.js"
LEAFLET_CSS_PATH = f"/app/static/vendor/leaflet-{leaflet.LEAFLET_VERSION}/leaflet.css"
DRAW_BUDGET_S = 20


@pytest.fixture(scope="module")
def no_basemap_url(start_streamlit):
    return start_streamlit(SMOKE_APP, env={leaflet.BASEMAP_ENV_VAR: leaflet.NO_BASEMAP.key})


@pytest.fixture(scope="module")
def plan_ign_url(start_streamlit):
    return start_streamlit(SMOKE_APP, env={leaflet.BASEMAP_ENV_VAR: leaflet.PLAN_IGN.key})


def open_map(page, url: str, log) -> float:
    """Open ``url``, wait for the polygon inside the map iframe; return the seconds it took."""
    start = time.perf_counter()
    page.goto(url)
    try:
        page.frame_locator(MAP_IFRAME).locator(POLYGON).first.wait_for(state="visible")
    except PlaywrightTimeoutError:
        pytest.fail(
            f"no polygon drawn at {url}; Leaflet requests: {log.matching('leaflet')}; "
            f"requests that left 127.0.0.1 (aborted): {log.external()}"
        )
    return time.perf_counter() - start


def map_frame(page):
    return page.locator(MAP_IFRAME).element_handle().content_frame()


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/", "/sources"])
def test_map_draws_from_local_leaflet(browser_page, request_log, no_basemap_url, path):
    seconds = open_map(browser_page, no_basemap_url + path, request_log)

    frame = map_frame(browser_page)
    assert frame.locator(".leaflet-container").count() == 1
    assert frame.locator(POLYGON).count() == 1
    assert frame.evaluate("L.version") == leaflet.LEAFLET_VERSION
    assert frame.locator(".leaflet-tile").count() == 0  # "Sans fond de carte"
    # The stylesheet is applied: Leaflet's own rule positions the panes.
    pane_position = frame.evaluate(
        "getComputedStyle(document.querySelector('.leaflet-pane')).position"
    )
    assert pane_position == "absolute"
    assert len(request_log.matching(LEAFLET_JS_PATH)) == 1
    assert len(request_log.matching(LEAFLET_CSS_PATH)) == 1
    assert request_log.external() == []
    assert seconds < DRAW_BUDGET_S


@pytest.mark.browser
def test_click_on_polygon_reaches_python(browser_page, request_log, no_basemap_url):
    open_map(browser_page, no_basemap_url, request_log)
    browser_page.get_by_text("Aucun quartier sélectionné").wait_for()

    browser_page.frame_locator(MAP_IFRAME).locator(POLYGON).first.click()

    browser_page.get_by_text("Quartier cliqué : QN00000T").wait_for()


@pytest.mark.browser
def test_tiles_fail_softly_and_sans_fond_removes_them(browser_page, request_log, plan_ign_url):
    open_map(browser_page, plan_ign_url, request_log)
    frame = browser_page.frame_locator(MAP_IFRAME)
    frame.locator(".leaflet-tile").first.wait_for(state="attached")

    external = request_log.external()
    assert external, "Plan IGN is the first basemap: its tiles must have been requested"
    assert all(url.startswith("https://data.geopf.fr/wmts?") for url in external), external
    assert request_log.external_assets() == []
    assert frame.locator(POLYGON).count() == 1

    frame.locator(".leaflet-control-layers").hover()
    frame.get_by_label(leaflet.NO_BASEMAP.name).check()

    frame.locator(".leaflet-tile").first.wait_for(state="detached")
    assert frame.locator(POLYGON).count() == 1


def test_make_map_loads_only_the_vendored_leaflet():
    m = leaflet.make_map(location=[50.43, 2.82], zoom_start=12, basemap="aucun")
    folium.GeoJson({"type": "FeatureCollection", "features": []}).add_to(m)
    leaflet.add_layer_control(m)

    assert leaflet.remote_assets(m) == []
    for _, url in [*m.default_js, *m.default_css]:
        relative = url.removeprefix("../../app/static/")
        assert (STATIC_DIR / relative).is_file(), url
    # folium's shared class-level lists keep their CDN links for other maps.
    assert folium.Map.default_js[0][1].startswith("https://")


def test_remote_assets_names_what_needs_a_dropped_library():
    m = leaflet.make_map(basemap="osm")
    folium.Marker([50.43, 2.82], popup=folium.Popup("Lens"), icon=folium.Icon()).add_to(m)

    problems = leaflet.remote_assets(m)

    assert any("Popup" in problem and "jQuery" in problem for problem in problems)
    assert any("Icon" in problem and "awesome-markers" in problem for problem in problems)


def test_basemaps_are_french_and_the_first_one_shown_is_configurable(monkeypatch):
    names = [basemap.name for basemap in leaflet.BASEMAPS]
    assert names == ["Plan IGN", "OpenStreetMap", "Sans fond de carte"]

    monkeypatch.setenv(leaflet.BASEMAP_ENV_VAR, "osm")
    m = leaflet.make_map()
    shown = [c.layer_name for c in m._children.values() if getattr(c, "show", False)]
    assert shown == ["OpenStreetMap"]

    monkeypatch.setenv(leaflet.BASEMAP_ENV_VAR, "satellite")
    with pytest.raises(ValueError, match="'satellite'"):
        leaflet.make_map()
    with pytest.raises(TypeError, match="basemap="):
        leaflet.make_map(tiles="OpenStreetMap")
