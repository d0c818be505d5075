"""The map page in a real browser: quartiers drawn offline, clicks open panels, links restore views.

``streamlit run app.py`` with no basemap (``QPV_BASEMAP=aucun``); Chromium cannot reach beyond
127.0.0.1 (see ``tests/conftest.py``).
"""

import pytest
from browser import REPO_ROOT

from ui import leaflet, mapview

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
QUARTIER = f"path.leaflet-interactive.{mapview.CLASS_QPV}"
FIRST_DRAW_TIMEOUT_MS = 90_000
LEAFLET_JS_PATH = f"/app/static/vendor/leaflet-{leaflet.LEAFLET_VERSION}/leaflet.js"

# A point well inside the SVG path (it and the points 3 px around it hit the path itself, not a
# shape above it), relative to the path's bounding box, nearest the box's centre; null if none.
FIND_CLICKABLE_POINT = """
(path) => {
    const box = path.getBoundingClientRect();
    const hits = (x, y) => document.elementFromPoint(x, y) === path;
    const candidates = [];
    for (let i = 1; i < 20; i++) {
        for (let j = 1; j < 20; j++) {
            candidates.push([box.left + box.width * i / 20, box.top + box.height * j / 20]);
        }
    }
    const cx = box.left + box.width / 2, cy = box.top + box.height / 2;
    candidates.sort((a, b) => Math.hypot(a[0] - cx, a[1] - cy) - Math.hypot(b[0] - cx, b[1] - cy));
    for (const [x, y] of candidates) {
        if (hits(x, y) && hits(x - 3, y) && hits(x + 3, y) && hits(x, y - 3) && hits(x, y + 3)) {
            return {x: x - box.left, y: y - box.top};
        }
    }
    return null;
}
"""

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(start_streamlit):
    return start_streamlit(REPO_ROOT / "app.py", env={leaflet.BASEMAP_ENV_VAR: "aucun"})


def open_map(page, url: str):
    """Open ``url`` and wait for the quartiers; return the map's frame locator."""
    page.goto(url)
    frame = page.frame_locator(MAP_IFRAME)
    # The first page of a fresh server also checks the processed data: allow for it.
    frame.locator(QUARTIER).first.wait_for(state="visible", timeout=FIRST_DRAW_TIMEOUT_MS)
    return frame


def click_shape(frame, css: str) -> None:
    shape = frame.locator(css)
    shape.scroll_into_view_if_needed()  # hit testing only sees what is on screen
    point = shape.evaluate(FIND_CLICKABLE_POINT)
    assert point is not None, f"no clickable point on {css}"
    shape.click(position=point)


def test_map_draws_the_quartiers_from_local_assets_only(browser_page, request_log, app_url):
    frame = open_map(browser_page, app_url + "/")

    assert frame.locator(QUARTIER).count() == 21
    assert frame.locator("path.leaflet-interactive").count() >= 21
    assert frame.locator(f"path.{mapview.CLASS_COMMUNE}").count() == 36
    assert frame.locator(".leaflet-tile").count() == 0  # "Sans fond de carte"
    assert frame.locator(".leaflet-control-attribution").inner_text().count("ANCT") == 1
    browser_page.get_by_text("19 sur 36").wait_for()
    # Leaflet comes from the app's static folder; nothing of it from a CDN.
    assert len(request_log.matching(LEAFLET_JS_PATH)) == 1
    assert request_log.external_assets() == []
    assert [url for url in request_log.external() if "leaflet" in url.lower()] == []


def test_clicking_a_quartier_opens_its_panel(browser_page, app_url):
    frame = open_map(browser_page, app_url + "/")
    browser_page.get_by_text("Cliquez sur un quartier ou sur une commune").wait_for()

    click_shape(frame, f"path.{mapview.CLASS_QPV}-QP062025")

    browser_page.get_by_role("heading", name="Grande Résidence").wait_for()
    browser_page.get_by_text("4 803 habitants", exact=False).first.wait_for()
    browser_page.wait_for_url("**qpv=QP062025**")
    # The map was not reloaded: the 21 quartiers are still there, outlined on top.
    assert frame.locator(QUARTIER).count() == 21


def test_the_other_generation_contour_is_drawn_on_request(browser_page, app_url):
    frame = open_map(browser_page, app_url + "/?qpv=QP062025")
    counterpart = frame.locator(f'path[stroke="{mapview.COUNTERPART_COLOR}"]')
    assert counterpart.count() == 0

    browser_page.get_by_text("Dessiner aussi le périmètre 2024").click()

    counterpart.first.wait_for(state="attached")
    assert counterpart.first.get_attribute("stroke-dasharray") == "10 6"
    assert frame.locator(QUARTIER).count() == 21  # added to the map, which was not reloaded


def test_clicking_a_commune_opens_its_panel(browser_page, app_url):
    frame = open_map(browser_page, app_url + "/")

    click_shape(frame, f"path.{mapview.CLASS_COMMUNE}-62032")

    browser_page.get_by_role("heading", name="Angres").wait_for()
    browser_page.get_by_text("Commune, code Insee 62032").wait_for()


def test_shared_link_restores_the_view(browser_page, app_url):
    frame = open_map(browser_page, app_url + "/?gen=2015&commune=62498&qpv=QP062025")

    browser_page.get_by_role("heading", name="Grande Résidence").wait_for()
    assert frame.locator(QUARTIER).count() == 5
    sidebar = browser_page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Lens (5 quartiers)").wait_for()
    assert sidebar.get_by_role(
        "radio", name="Périmètres 2015 (contrat de ville 2015-2023)"
    ).is_checked()
    assert "qpv=QP062025" in browser_page.url
    assert "commune=62498" in browser_page.url
