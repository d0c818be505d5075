"""/presentation in Chromium, offline: it fits meeting-room screens, and the keyboard alone steps
through.

The app runs under ``streamlit run`` with no basemap (``QPV_BASEMAP=aucun``); every request to a
host other than 127.0.0.1 is aborted, as in a meeting room with no network. The screenshots taken
at each screen size are kept (``artefact_path``, listed at the end of the test output).
"""

import re
from pathlib import Path

import pytest

from support import REPO_ROOT
from support.browser import wait_idle
from ui.figures import CLASS as FIGURES
from ui.leaflet import BASEMAP_ENV_VAR, NO_BASEMAP
from ui.mapview import CLASS_QPV, CLASS_TERRITORY

MAP = ".leaflet-container"  # in the page (a shadow root that locators reach into)
QUARTIER = f"path.{CLASS_QPV}"
SCREENS = [(1024, 768), (1280, 720), (1366, 768), (1920, 1080)]
# The overview, the commune with the most quartiers, the 2024 quartier with the longest name
# (two lines of title at 1024 px), and the one with the most values missing or set aside.
STEPS = {
    "accueil": ("", "Quartiers prioritaires — CA de Lens - Liévin"),
    "commune": ("?commune=62498", "Lens"),
    "quartier": (
        "?gen=2024&commune=62510&qpv=QN06229M",
        "Les Hauts De Liévin - Résidence Des Provinces - Cités 9-9bis",
    ),
    "remarques": ("?gen=2024&commune=62570&qpv=QN06245M", "Quartier Du Maroc - La Canche"),
}
CONTROLS = [
    "Accueil",
    "Précédent",
    "Suivant",
    "Aller à…",
    "Exporter",
    "Quitter",
    "2024 (en vigueur)",
    "2015 (contrat 2015-2023)",
]

# Every control of the page (buttons, links, the perimeters' choices): its box, and any text
# inside it that is cut (wider than the box that shows it).
MEASURE_CONTROLS = """
() => [...document.querySelectorAll(
        '[data-testid="stMain"] button, [data-testid="stMain"] a, [data-testid="stMain"] label')]
    .filter(e => e.offsetParent !== null && e.innerText.trim())
    .map(e => {
        const box = e.getBoundingClientRect();
        const cut = [e, ...e.querySelectorAll('*')]
            .filter(x => x.innerText?.trim() && x.clientWidth > 0
                         && x.scrollWidth > x.clientWidth + 1)
            .map(x => x.tagName + ': ' + x.innerText);
        return {name: e.innerText.trim().replace(/\\s+/g, ' '), left: box.left, top: box.top,
                right: box.right, bottom: box.bottom, cut};
    })
"""
MEASURE_FIGURES = """
(cls) => [...document.querySelectorAll('.' + cls + ' .qpv-figure')].map(f => {
    const value = f.querySelector('.qpv-figure-value');
    const label = f.querySelector('.qpv-figure-label');
    const box = value.getBoundingClientRect();
    return {key: f.dataset.key, top: box.top, bottom: box.bottom, left: box.left,
            right: box.right, labelBottom: label.getBoundingClientRect().bottom,
            value: parseFloat(getComputedStyle(value).fontSize),
            label: parseFloat(getComputedStyle(label).fontSize),
            columns: getComputedStyle(f.parentElement).gridTemplateColumns.split(' ').length};
})
"""
SCROLLING = """
() => { const main = document.querySelector('[data-testid="stMain"]');
        return {scroll: main.scrollHeight, client: main.clientHeight,
                page: document.documentElement.scrollHeight, window: window.innerHeight}; }
"""


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
    page.locator(QUARTIER).first.wait_for(state="visible")


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_every_step_fits_the_screen(chromium, app_url, artefact_path, width, height):
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        for step, (query, title) in STEPS.items():
            page.goto(f"{app_url}/presentation{query}")
            heading(page, title)
            map_drawn(page)
            page.wait_for_timeout(300)  # the map's names are placed after its first frame
            page.screenshot(path=artefact_path(f"presentation-{width}x{height}-{step}.png"))
            where = f"{width}x{height}, {step}"

            # Nothing to scroll: the page is exactly the window.
            sizes = page.evaluate(SCROLLING)
            assert sizes["scroll"] <= sizes["client"] + 1, (where, sizes)
            assert sizes["page"] <= height, (where, sizes)

            # Every control is whole, inside the window, its text never cut.
            controls = page.evaluate(MEASURE_CONTROLS)
            names = " | ".join(c["name"] for c in controls)
            for name in CONTROLS:
                assert name in names, (where, name, names)
            for control in controls:
                assert control["left"] >= 0 and control["top"] >= 0, (where, control)
                assert control["right"] <= width and control["bottom"] <= height, (where, control)
                assert control["cut"] == [], (where, control)

            # The figures: inside the window, large, and each row of values on one line.
            figures = page.evaluate(MEASURE_FIGURES, FIGURES)
            assert len(figures) >= 4, where
            for figure in figures:
                assert figure["bottom"] <= height and figure["labelBottom"] <= height, where
                assert figure["right"] <= width, (where, figure)
                assert figure["value"] >= 2 * figure["label"], (where, figure)
            columns = figures[0]["columns"]
            for i in range(0, len(figures), columns):
                tops = {round(f["top"]) for f in figures[i : i + columns]}
                assert max(tops) - min(tops) <= 1, (where, figures[i : i + columns])

            if step == "accueil":
                assert page.locator(QUARTIER).count() == 21
                territory = page.locator(f"path.{CLASS_TERRITORY}").bounding_box()
                shown = page.locator(MAP).bounding_box()
                assert territory["x"] >= shown["x"] and territory["y"] >= shown["y"], where
                assert territory["x"] + territory["width"] <= shown["x"] + shown["width"], where
                assert territory["y"] + territory["height"] <= shown["y"] + shown["height"], where
                assert shown["y"] + shown["height"] <= height, where
    finally:
        context.close()


@pytest.mark.browser
def test_next_and_previous_change_the_url_and_the_content(browser_page, request_log, app_url):
    page = browser_page
    page.goto(f"{app_url}/presentation?gen=2015&commune=62498")  # the contract's perimeters
    heading(page, "Lens")
    map_drawn(page)
    page.get_by_text("étape 22 sur 51", exact=False).wait_for()
    page.locator(MAP).evaluate("element => { element.leafletMap.testMark = 'même carte'; }")

    page.get_by_role("button", name=re.compile("Suivant")).click()
    heading(page, "Cité 12-14")
    page.wait_for_url(re.compile(r"commune=62498&qpv=QP062024$"))
    population = page.locator(f'.{FIGURES} [data-key="population"] .qpv-figure-value')
    assert population.inner_text() == "2\u202f215\u202fhab."
    map_drawn(page)
    # The next step is drawn on the same map: one quartier, outlined, the view fitted to it.
    assert page.locator(MAP).evaluate("element => element.leafletMap.testMark") == "même carte"
    assert page.locator(QUARTIER).count() == 1

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
    page.goto(f"{app_url}/presentation?gen=2015")
    heading(page, "Quartiers prioritaires — CA de Lens - Liévin")

    # A presentation remote sends Page Down / Page Up.
    page.keyboard.press("PageDown")
    heading(page, "Angres")
    page.wait_for_url(re.compile(r"\?gen=2015&commune=62032$"))
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

    # Home goes back to the overview; the keys are written on the page, in French.
    page.keyboard.press("Home")
    heading(page, "Quartiers prioritaires — CA de Lens - Liévin")
    page.get_by_text("Page suivante → étape suivante", exact=False).wait_for()
    page.get_by_text("Début → accueil", exact=False).wait_for()


@pytest.mark.browser
def test_a_commune_and_a_quartier_are_found_without_accents(browser_page, app_url):
    page = browser_page
    page.goto(f"{app_url}/presentation?gen=2015")
    heading(page, "Quartiers prioritaires — CA de Lens - Liévin")

    # One match: Enter goes straight there.
    page.get_by_role("button", name=re.compile("Aller à")).click()
    search = page.get_by_label("Rechercher une commune ou un quartier")
    search.fill("eleu dit")
    search.press("Enter")
    heading(page, "Éleu-dit-Leauwette")
    page.wait_for_url(re.compile(r"\?gen=2015&commune=62291$"))

    # Several matches: the lists show them, a pick goes there.
    page.get_by_role("button", name=re.compile("Aller à")).click()
    search = page.get_by_label("Rechercher une commune ou un quartier")
    search.fill("cite 1")  # Cité 10, Cité 12-14, Cité 5 - Cité 11, Languedoc - Cité 10
    search.press("Enter")
    wait_idle(page)
    page.get_by_text("Quartier (4)").wait_for()
    page.get_by_text("Commune (0)").wait_for()
    page.get_by_role("combobox", name=re.compile("Quartier")).click()
    page.get_by_role("option", name="Cité 12-14 – QP062024").click()
    heading(page, "Cité 12-14")
    page.wait_for_url(re.compile(r"\?gen=2015&commune=62498&qpv=QP062024$"))

    page.get_by_role("button", name="Accueil").click()
    heading(page, "Quartiers prioritaires — CA de Lens - Liévin")
    assert page.url.endswith("/presentation?gen=2015")


@pytest.mark.browser
def test_a_step_url_opens_that_step_with_its_downloads(browser_page, app_url):
    page = browser_page
    page.goto(f"{app_url}/presentation?gen=2024&commune=62498&qpv=QN06225M")
    heading(page, "Grande Résidence")
    page.get_by_text("49,0\u202f%").first.wait_for()  # the 2024 poverty rate
    map_drawn(page)
    page.get_by_role("button", name=re.compile("Exporter")).click()
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("Fiche du quartier")).click()
    assert download.value.suggested_filename == "fiche-quartier-QN06225M.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("Carte")).click()
    assert Path(download.value.path()).read_bytes().startswith(b"\x89PNG")
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name=re.compile("Dossier de séance")).click()
    assert download.value.suggested_filename == "dossier-de-seance-246200364-2024.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    page.keyboard.press("Escape")
    # The sidebar is hidden in meeting mode; the way out is a link.
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    page.get_by_role("link", name=re.compile("Quitter")).click()
    # The perimeters in force are the default: the link leaves gen out.
    page.wait_for_url(re.compile(r"/(carte)?\?commune=62498&qpv=QN06225M$"))
    page.locator('[data-testid="stSidebar"]').wait_for(state="visible")


@pytest.mark.browser
def test_a_step_number_in_the_url_opens_that_step(browser_page, app_url):
    page = browser_page
    page.goto(f"{app_url}/presentation?gen=2015&etape=23")
    heading(page, "Cité 12-14")
    page.wait_for_url(re.compile(r"\?gen=2015&commune=62498&qpv=QP062024$"))
    page.get_by_text("étape 23 sur 51", exact=False).wait_for()
