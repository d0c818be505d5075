"""The address page in a real browser: suggestions, the answer first, clicks, what leaves.

``streamlit run app.py`` with the Géoplateforme stand-in as address service; Chromium cannot
reach beyond 127.0.0.1 (see ``tests/conftest.py``: other requests are recorded, then aborted).
On a phone (390×844) and a laptop (1366×768), choosing a suggestion shows the verdict without
scrolling.
"""

import re
import urllib.parse
from urllib.parse import quote

import pytest

from support import REPO_ROOT
from support.browser import wait_idle
from support.fake_geoplateforme import FakeGeoplateforme, load_addresses
from ui import adresse, adresse_map, leaflet, mapview

pytestmark = pytest.mark.browser

MAP = ".leaflet-container"  # the map is in the page (a shadow root that locators reach into)
QUARTIER = f"path.leaflet-interactive.{mapview.CLASS_QPV}"
FIRST_DRAW_TIMEOUT_MS = 90_000
ADDRESS = "Lens adresse de test QP062025"
PLACEHOLDER = adresse.ADDRESS_PLACEHOLDER
HEADLINE = '[data-testid="stHeading"] h3'  # the large verdict


@pytest.fixture(scope="module")
def geocoder(mirror_dir):
    """One stand-in for the module (its request counts are compared before/after)."""
    with FakeGeoplateforme(load_addresses(mirror_dir)) as server:
        yield server


def env_for(geocoder: FakeGeoplateforme, **extra: str) -> dict[str, str]:
    return {leaflet.BASEMAP_ENV_VAR: "aucun", "QPV_GEOCODER_URL": geocoder.url, **extra}


def warm_up(chromium, url: str) -> str:
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


@pytest.fixture(scope="module")
def app_url(start_streamlit, geocoder, chromium):
    return warm_up(chromium, start_streamlit(REPO_ROOT / "app.py", env=env_for(geocoder)))


def map_frame(page):
    """Wait for the map; return the page, where its shapes are found."""
    page.locator(MAP).wait_for(timeout=FIRST_DRAW_TIMEOUT_MS)
    return page


def address_field(page):
    field = page.get_by_placeholder(PLACEHOLDER)
    field.wait_for(timeout=FIRST_DRAW_TIMEOUT_MS)
    return field


def test_q_parameter_shows_the_verdict_and_the_point(browser_page, request_log, app_url, geocoder):
    before = geocoder.count("/search")
    browser_page.goto(f"{app_url}/adresse?q={quote(ADDRESS)}")

    verdict = browser_page.locator(HEADLINE)
    verdict.wait_for(timeout=FIRST_DRAW_TIMEOUT_MS)
    assert verdict.inner_text().startswith("Incertain : le point est dans Grande Résidence")
    browser_page.get_by_text("Oui, dans le quartier prioritaire").wait_for()
    links = browser_page.get_by_role("link", name="Grande Résidence")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == ["./?gen=2024&qpv=QN06225M", "./?gen=2015&qpv=QP062025"]  # 2024 first
    geoportail = browser_page.get_by_role("link", name="Voir ce point sur le Géoportail")
    assert geoportail.get_attribute("href").startswith("https://www.geoportail.gouv.fr/carte?c=")
    # The map is centred on the point: the marker, and the 300 m and 500 m circles.
    frame = map_frame(browser_page)
    frame.locator('path[fill="#000091"]').wait_for(timeout=FIRST_DRAW_TIMEOUT_MS)
    assert frame.locator('path[stroke-dasharray="6 4"]').count() == 1
    assert geocoder.count("/search") == before + 1
    assert request_log.external_assets() == []


def test_the_answer_and_the_suggestions_pass_axe(browser_page, app_url, geocoder):
    from test_accessibility import BLOCKING, describe, run_axe

    browser_page.goto(f"{app_url}/adresse?q={quote(ADDRESS)}")
    browser_page.locator(HEADLINE).wait_for(timeout=FIRST_DRAW_TIMEOUT_MS)
    address_field(browser_page).fill("Liévin adr")  # the answer, then the suggestions over it
    browser_page.get_by_role("button", name="Liévin (adresse de test, QP062028)").wait_for()
    wait_idle(browser_page, quiet_ms=2000)

    blocking = [v for v in run_axe(browser_page) if v["impact"] in BLOCKING]

    assert not blocking, describe(blocking)


def choose_a_suggestion_and_see_the_verdict(page, app_url, geocoder, *, keyboard: bool):
    page.goto(f"{app_url}/adresse")
    field = address_field(page)
    wait_idle(page)
    before = geocoder.count("/completion")

    field.press_sequentially("Liévin adr", delay=60)  # typed, not pasted: debounced requests
    first = page.get_by_role("button", name="Liévin (adresse de test, QP062028)")
    first.wait_for(timeout=30_000)
    assert geocoder.count("/completion") - before <= 3  # debounced: not one per keystroke
    if keyboard:
        field.focus()
        page.keyboard.press("Tab")  # « Vérifier l'adresse »
        page.keyboard.press("Tab")  # the first suggestion
        assert page.evaluate("document.activeElement.innerText").strip().endswith("QP062028)")
        page.keyboard.press("Enter")
    else:
        first.click()

    verdict = page.locator(HEADLINE)
    verdict.wait_for(timeout=30_000)
    page.get_by_text("Adresse trouvée :").wait_for()
    return verdict


@pytest.mark.parametrize(
    ("viewport", "keyboard"),
    [({"width": 390, "height": 844}, True), ({"width": 1366, "height": 768}, False)],
    ids=["phone", "laptop"],
)
def test_a_chosen_suggestion_shows_the_verdict_without_scrolling(
    chromium, app_url, geocoder, viewport, keyboard
):
    context = chromium.new_context(viewport=viewport, locale="fr-FR")
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        verdict = choose_a_suggestion_and_see_the_verdict(
            page, app_url, geocoder, keyboard=keyboard
        )
        wait_idle(page)
        assert verdict.inner_text().startswith(("Oui", "Non", "Incertain", "Hors"))
        assert page.evaluate("window.scrollY") == 0
        box = verdict.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], box
        assert "QP062028" in page.locator('[data-testid="stMain"]').inner_text()
    finally:
        context.close()


def test_typing_goes_on_while_the_suggestions_come(
    browser_page, start_streamlit, geocoder, chromium
):
    """On a fresh server too: the first answer must not remount the field (its focus stays)."""
    url = warm_up(chromium, start_streamlit(REPO_ROOT / "app.py", env=env_for(
        geocoder, QPV_FRESH_SERVER="suggestions"
    )))  # fmt: skip
    browser_page.goto(f"{url}/adresse")
    field = address_field(browser_page)
    wait_idle(browser_page)
    field.click()

    browser_page.keyboard.type("Liévin adr", delay=60)
    browser_page.get_by_role("button", name="Liévin (adresse de test, QP062028)").wait_for()
    browser_page.keyboard.type("esse de test QP062028", delay=120)  # the list came meanwhile
    browser_page.keyboard.press("Enter")

    browser_page.get_by_text("Adresse trouvée : Liévin (adresse de test, QP062028)").wait_for()
    assert "(QN06228M)" in browser_page.locator(HEADLINE).inner_text()  # its 2024 quartier


def test_a_failing_suggestion_request_keeps_the_page_working(browser_page, app_url, geocoder):
    browser_page.goto(f"{app_url}/adresse")
    field = address_field(browser_page)
    geocoder.set_mode("error", status=503, endpoint="/completion")
    try:
        field.press_sequentially("Liévin adr", delay=60)
        browser_page.get_by_text("Les suggestions sont indisponibles pour le moment").wait_for()
        field.press_sequentially("resse de test QP062028", delay=20)
        field.press("Enter")  # the search still works
        browser_page.get_by_text("Adresse trouvée :").wait_for(timeout=30_000)
    finally:
        geocoder.set_mode("normal")
    main = browser_page.locator('[data-testid="stMain"]').inner_text()
    assert "Traceback" not in main and "Error" not in main


def test_clicking_the_map_gives_a_verdict_and_the_nearest_address(browser_page, app_url, geocoder):
    browser_page.goto(f"{app_url}/adresse")
    frame = map_frame(browser_page)
    frame.locator(QUARTIER).first.wait_for(state="visible", timeout=FIRST_DRAW_TIMEOUT_MS)
    before = geocoder.count("/search")

    container = frame.locator(MAP)
    container.evaluate("element => { element.leafletMap.testMark = 'même carte'; }")
    box = container.bounding_box()
    container.click(position={"x": box["width"] * 0.45, "y": box["height"] * 0.5})

    browser_page.get_by_text("Point choisi sur la carte").wait_for(timeout=30_000)
    browser_page.get_by_text("Adresse la plus proche (approximative)").wait_for(timeout=30_000)
    text = browser_page.locator('[data-testid="stMain"]').inner_text()
    assert re.search(r"latitude 50,\d{5}, longitude 2,\d{5}", text)
    assert "Périmètres 2015 (contrat de ville 2015-2023) :" in text
    frame.locator('path[fill="#000091"]').wait_for(timeout=30_000)
    assert frame.locator('path[stroke-dasharray="6 4"]').count() == 1  # 300 m
    assert frame.locator('path[stroke-dasharray="2 6"]').count() == 1  # 500 m
    # The point and its circles were added to the same map, centred on the point.
    assert container.evaluate("element => element.leafletMap.testMark") == "même carte"
    assert container.evaluate("element => element.leafletMap.getZoom()") == adresse_map.POINT_ZOOM
    assert geocoder.count("/search") == before  # a click is never geocoded as an address
    assert geocoder.count("/reverse") >= 1


def test_typing_an_address_and_enter_gives_the_verdict(browser_page, app_url, geocoder):
    browser_page.goto(f"{app_url}/adresse")
    field = address_field(browser_page)

    field.fill("adresse de test QP062024")
    field.press("Enter")

    browser_page.get_by_text("Adresse trouvée :").wait_for(timeout=30_000)
    assert (
        "Lens (adresse de test, QP062024)"
        in browser_page.locator('[data-testid="stMain"]').inner_text()
    )


def test_address_service_down_keeps_the_page_useful(browser_page, app_url, geocoder):
    browser_page.goto(f"{app_url}/adresse")
    field = address_field(browser_page)
    wait_idle(browser_page)
    before = geocoder.count("/search")
    geocoder.set_mode("error", status=503)
    try:
        field.fill(ADDRESS)
        field.press("Enter")
        browser_page.get_by_text("est indisponible pour le moment").wait_for(timeout=30_000)
    finally:
        geocoder.set_mode("normal")
    assert geocoder.count("/search") - before == adresse.SEARCH_POLICY.attempts  # bounded
    assert browser_page.get_by_text("cliquez sur la carte ou saisissez des coordonnées").count()


def test_deep_link_on_a_fresh_server_runs_the_app(browser_page, start_streamlit, geocoder):
    url = start_streamlit(REPO_ROOT / "app.py", env=env_for(geocoder, QPV_FRESH_SERVER="1"))

    browser_page.goto(f"{url}/adresse")

    browser_page.get_by_text("Suis-je en QPV ?").first.wait_for(timeout=FIRST_DRAW_TIMEOUT_MS)
    sidebar = browser_page.locator('[data-testid="stSidebar"]').inner_text()
    assert "Carte des quartiers" in sidebar  # the app's navigation, not the file names


def test_a_link_whose_address_differs_from_its_file_opens_without_page_not_found(
    browser_page, start_streamlit, geocoder
):
    """``/contrat-de-ville`` is ``pages/contrat_de_ville.py``: the first visitor of a fresh
    server gets the page, without Streamlit's « Page introuvable » dialog on top of it."""
    url = start_streamlit(REPO_ROOT / "app.py", env=env_for(geocoder, QPV_FRESH_SERVER="1"))

    browser_page.goto(f"{url}/contrat-de-ville")

    browser_page.get_by_role("heading", name="Le contrat de ville").first.wait_for(
        timeout=FIRST_DRAW_TIMEOUT_MS
    )
    wait_idle(browser_page)
    assert browser_page.get_by_role("dialog").count() == 0
    assert browser_page.url.endswith("/contrat-de-ville")


def test_only_the_servers_the_privacy_note_names_are_contacted(
    browser_page, request_log, start_streamlit, geocoder, chromium
):
    """With the default basemap, every request leaving the browser goes to a host the note names."""
    url = warm_up(chromium, start_streamlit(REPO_ROOT / "app.py", env={
        "QPV_GEOCODER_URL": geocoder.url, leaflet.BASEMAP_ENV_VAR: leaflet.PLAN_IGN.key,
    }))  # fmt: skip
    browser_page.goto(f"{url}/adresse")
    note = browser_page.get_by_text("Ce qui quitte cette application").inner_text()
    map_frame(browser_page)
    browser_page.get_by_text("Saisir des coordonnées").click()
    point = geocoder.address_in("QP062025")
    browser_page.get_by_label("Longitude (degrés)").fill(f"{point.lon:.6f}".replace(".", ","))
    browser_page.get_by_label("Latitude (degrés)").fill(f"{point.lat:.6f}".replace(".", ","))
    browser_page.get_by_role("button", name="Situer ce point").click()
    browser_page.get_by_text("Coordonnées saisies :", exact=True).wait_for(timeout=30_000)
    wait_idle(browser_page)

    hosts = {urllib.parse.urlsplit(u).hostname for u in request_log.external()}
    assert "data.geopf.fr" in hosts  # the Plan IGN tiles around the point, as the note says
    for host in hosts:
        assert host in note, f"{host} is contacted but not named in the privacy note"
