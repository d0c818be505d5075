"""The address page in a real browser: ``?q=`` gives the verdict, a map click gives one offline.

``streamlit run app.py`` with no basemap and the Géoplateforme stand-in as address service;
Chromium cannot reach beyond 127.0.0.1 (see ``tests/conftest.py``).
"""

import re
from urllib.parse import quote

import pytest
from browser import REPO_ROOT
from fake_geoplateforme import FakeGeoplateforme, load_addresses

from ui import leaflet, lookup, mapview

pytestmark = pytest.mark.browser

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
QUARTIER = f"path.leaflet-interactive.{mapview.CLASS_QPV}"
FIRST_DRAW_TIMEOUT_MS = 90_000
ADDRESS = "Lens adresse de test QP062025"


@pytest.fixture(scope="module")
def geocoder(mirror_dir):
    """One Géoplateforme stand-in for the module (its request counts are compared before/after)."""
    with FakeGeoplateforme(load_addresses(mirror_dir)) as server:
        yield server


def env_for(geocoder: FakeGeoplateforme, **extra: str) -> dict[str, str]:
    return {leaflet.BASEMAP_ENV_VAR: "aucun", "QPV_GEOCODER_URL": geocoder.url, **extra}


@pytest.fixture(scope="module")
def app_url(start_streamlit, geocoder, chromium):
    url = start_streamlit(REPO_ROOT / "app.py", env=env_for(geocoder))
    # Streamlit serves pages/*.py as standalone scripts until app.py has run once in the
    # server's life (see test_deep_link_on_a_fresh_server_runs_the_app): open "/" first.
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(url + "/")
        page.get_by_role("link", name="Suis-je en QPV ?").wait_for(timeout=FIRST_DRAW_TIMEOUT_MS)
    finally:
        context.close()
    return url


def map_frame(page):
    frame = page.frame_locator(MAP_IFRAME)
    frame.locator(".leaflet-container").wait_for(timeout=FIRST_DRAW_TIMEOUT_MS)
    return frame


def test_q_parameter_shows_the_verdict_and_the_point(browser_page, request_log, app_url, geocoder):
    before = geocoder.count("/search")
    browser_page.goto(f"{app_url}/adresse?q={quote(ADDRESS)}")

    verdict = browser_page.get_by_text("Dans le quartier prioritaire")
    verdict.wait_for(timeout=FIRST_DRAW_TIMEOUT_MS)
    assert "Loison-sous-Lens" in verdict.inner_text()
    links = browser_page.get_by_role("link", name="Grande Résidence")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == ["./?gen=2024&qpv=QN06225M", "./?gen=2015&qpv=QP062025"]  # 2024 first
    browser_page.get_by_text("Incertain : on ne peut pas trancher.").wait_for()
    # The map is centred on the point: the marker, and the 300 m and 500 m circles.
    frame = map_frame(browser_page)
    frame.locator('path[fill="#000091"]').wait_for(timeout=FIRST_DRAW_TIMEOUT_MS)
    assert frame.locator('path[stroke-dasharray="6 4"]').count() == 1
    assert geocoder.count("/search") == before + 1
    assert request_log.external_assets() == []


def test_clicking_the_map_gives_a_verdict_without_geocoding(browser_page, app_url, geocoder):
    browser_page.goto(f"{app_url}/adresse")
    frame = map_frame(browser_page)
    frame.locator(QUARTIER).first.wait_for(state="visible", timeout=FIRST_DRAW_TIMEOUT_MS)
    before = geocoder.count()

    container = frame.locator(".leaflet-container")
    box = container.bounding_box()
    container.click(position={"x": box["width"] * 0.45, "y": box["height"] * 0.5})

    browser_page.get_by_text("Point choisi sur la carte").wait_for(timeout=30_000)
    text = browser_page.locator('[data-testid="stMain"]').inner_text()
    assert re.search(r"latitude 50,\d{5}, longitude 2,\d{5}", text)
    assert "Périmètres 2024, en vigueur" in text
    assert "Périmètres 2015 (contrat de ville 2015-2023)" in text
    frame.locator('path[fill="#000091"]').wait_for(timeout=30_000)
    assert geocoder.count() == before  # nothing was sent to the address service


def test_typing_an_address_and_enter_gives_the_verdict(browser_page, app_url, geocoder):
    browser_page.goto(f"{app_url}/adresse")
    field = browser_page.get_by_label("Adresse", exact=True)
    field.wait_for(timeout=FIRST_DRAW_TIMEOUT_MS)

    field.fill("adresse de test QP062024")
    field.press("Enter")

    browser_page.get_by_text("Adresse trouvée :").wait_for(timeout=30_000)
    assert (
        "Lens (adresse de test, QP062024)"
        in browser_page.locator('[data-testid="stMain"]').inner_text()
    )


def test_address_service_down_keeps_the_page_useful(browser_page, app_url, geocoder):
    browser_page.goto(f"{app_url}/adresse")
    field = browser_page.get_by_label("Adresse", exact=True)
    field.wait_for(timeout=FIRST_DRAW_TIMEOUT_MS)
    before = geocoder.count("/search")
    geocoder.set_mode("error", status=503)
    try:
        field.fill(ADDRESS)
        field.press("Enter")
        browser_page.get_by_text("est indisponible pour le moment").wait_for(timeout=30_000)
    finally:
        geocoder.set_mode("normal")
    assert geocoder.count("/search") - before == lookup.SEARCH_POLICY.attempts  # bounded
    assert browser_page.get_by_text("cliquez sur la carte ou saisissez des coordonnées").count()


def test_deep_link_on_a_fresh_server_runs_the_app(browser_page, start_streamlit, geocoder):
    url = start_streamlit(REPO_ROOT / "app.py", env=env_for(geocoder, QPV_FRESH_SERVER="1"))

    browser_page.goto(f"{url}/adresse")

    browser_page.get_by_text("Suis-je en QPV ?").first.wait_for(timeout=FIRST_DRAW_TIMEOUT_MS)
    sidebar = browser_page.locator('[data-testid="stSidebar"]').inner_text()
    assert "Carte des quartiers" in sidebar  # the app's navigation, not the file names
