"""/presentation in Chromium, offline: each step has its URL, and the keyboard alone steps through.

The app runs under ``streamlit run`` with no basemap (``QPV_BASEMAP=aucun``); every request to a
host other than 127.0.0.1 is aborted, as in a meeting room with no network.
"""

import re
from pathlib import Path

import pytest
from browser import REPO_ROOT, wait_idle

from ui.leaflet import BASEMAP_ENV_VAR, NO_BASEMAP
from ui.mapview import CLASS_QPV

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
QUARTIER = f"path.{CLASS_QPV}"


@pytest.fixture(scope="module")
def app_url(start_streamlit):
    return start_streamlit(REPO_ROOT / "app.py", env={BASEMAP_ENV_VAR: NO_BASEMAP.key})


def heading(page, text: str) -> None:
    """Wait for the step's title (the page's h1) to read ``text`` and the page to settle."""
    page.wait_for_function(
        "text => document.querySelector('[data-testid=stMainBlockContainer] h1')"
        "?.textContent.trim() === text",
        arg=text,
    )
    wait_idle(page)


def map_drawn(page) -> None:
    page.frame_locator(MAP_IFRAME).locator(QUARTIER).first.wait_for(state="visible")


@pytest.mark.browser
def test_next_and_previous_change_the_url_and_the_content(browser_page, request_log, app_url):
    page = browser_page
    page.goto(f"{app_url}/presentation?commune=62498")
    heading(page, "Lens")
    map_drawn(page)
    page.get_by_text("étape 22 sur 51", exact=False).wait_for()

    page.get_by_role("button", name=re.compile("Suivant")).click()
    heading(page, "Cité 12-14")
    page.wait_for_url(re.compile(r"commune=62498&qpv=QP062024$"))
    page.get_by_text("2 215 hab.").wait_for()
    map_drawn(page)

    page.get_by_role("button", name=re.compile("Suivant")).click()
    heading(page, "Cité 2")
    page.wait_for_url(re.compile(r"qpv=QP062026$"))

    page.get_by_role("button", name=re.compile("Précédent")).click()
    heading(page, "Cité 12-14")
    page.wait_for_url(re.compile(r"qpv=QP062024$"))
    assert request_log.external() == []


@pytest.mark.browser
def test_keyboard_alone_steps_through(browser_page, app_url):
    page = browser_page
    page.goto(f"{app_url}/presentation")
    heading(page, "Quartiers prioritaires — CA de Lens - Liévin")

    # A presentation remote sends Page Down / Page Up.
    page.keyboard.press("PageDown")
    heading(page, "Angres")
    page.wait_for_url(re.compile(r"\?commune=62032$"))
    page.keyboard.press("PageDown")
    heading(page, "Camus")
    page.keyboard.press("PageUp")
    heading(page, "Angres")

    # Tab reaches the buttons; Enter presses them.
    following = page.get_by_role("button", name=re.compile("Suivant"))
    for _ in range(40):
        page.keyboard.press("Tab")
        if following.evaluate("button => button === document.activeElement"):
            break
    else:
        pytest.fail("the Suivant button cannot be reached with Tab")
    page.keyboard.press("Enter")
    heading(page, "Camus")


@pytest.mark.browser
def test_a_step_url_opens_that_step_with_its_downloads(browser_page, app_url):
    page = browser_page
    page.goto(f"{app_url}/presentation?gen=2024&commune=62498&qpv=QN06225M")
    heading(page, "Grande Résidence")
    page.get_by_text("49,0 %").first.wait_for()  # the 2024 poverty rate
    map_drawn(page)
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("Fiche du quartier")).click()
    assert download.value.suggested_filename == "fiche-quartier-QN06225M.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("Carte")).click()
    assert Path(download.value.path()).read_bytes().startswith(b"\x89PNG")
    # The sidebar is hidden in meeting mode; the way out is a link.
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    page.get_by_role("link", name=re.compile("Quitter la présentation")).click()
    page.wait_for_url(re.compile(r"/(carte)?\?gen=2024&commune=62498&qpv=QN06225M$"))
    page.locator('[data-testid="stSidebar"]').wait_for(state="visible")
