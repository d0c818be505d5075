"""In Chromium, the page is French: ``lang="fr"`` and none of Streamlit's built-in English.

The app is started as users start it (``streamlit run serve.py``). On the map, the file and the
comparison pages, every text and accessible name of the main document (text nodes, ``aria-label``,
``title``, ``placeholder``…) is read after the widgets were used as a user would (a list opened
and searched, a file too large dropped on the uploader), and checked against the English strings
Streamlit 1.67 writes there; their French versions must be shown instead.
"""

from __future__ import annotations

import re

import pytest

from support import REPO_ROOT
from support.browser import wait_idle
from ui.leaflet import BASEMAP_ENV_VAR, NO_BASEMAP

pytestmark = pytest.mark.browser

# Streamlit's English, as it writes it (whole texts or accessible names).
ENGLISH = [
    r"Skip to main content", r"Collapse sidebar", r"Expand sidebar", r"App pages",
    r"Running\.\.\.", r"Connecting", r"Please wait\.\.\.",
    r"Drag and drop .*", r"Browse files", r"Upload", r"Add files", r".* per file",
    r"Limit .*", r"File must be .* or smaller\.", r".*files are not allowed\.",
    r"No results", r"Select all", r"Select \d+ matches", r"\d+ options? available\.",
    r"Clear all", r"Open", r"Remove .*", r"Help for .*", r"Link to heading",
    r"Download as CSV", r"Search", r"Fullscreen", r"Show/hide columns", r"Error:",
    r"Choose an? options?", r".*, \d+(\.\d+)?(B|KB|MB)", r"\d+(\.\d+)?(B|KB|MB)",
    # Leaflet's, on the map
    r"Zoom in", r"Zoom out", r"Layers", r"A JavaScript library for interactive maps",
]  # fmt: skip
ENGLISH_RE = re.compile("|".join(f"(?:{pattern})" for pattern in ENGLISH))

# Every text node and accessible attribute of the main document and of its open shadow roots
# (the map component's, where Leaflet writes its controls).
READ_PAGE = """() => {
    const texts = [];
    const roots = [document.body];
    for (let i = 0; i < roots.length; i++) {
        for (const el of roots[i].querySelectorAll("*")) {
            if (el.shadowRoot) roots.push(el.shadowRoot);
        }
    }
    const names = ["aria-label", "title", "placeholder", "alt", "aria-description",
                   "aria-roledescription", "aria-valuetext"];
    for (const root of roots) {
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (node.parentElement.closest("script, style, noscript, [translate='no']")) continue;
            const text = node.nodeValue.trim();
            if (text) texts.push(text);
        }
        for (const el of root.querySelectorAll("*")) {
            for (const name of names) {
                const value = el.getAttribute(name);
                if (value && value.trim()) texts.push(value.trim());
            }
        }
    }
    return {lang: document.documentElement.lang, texts, shadowRoots: roots.length - 1};
}"""


@pytest.fixture(scope="module")
def app_url(start_streamlit):
    return start_streamlit(REPO_ROOT / "app.py", env={BASEMAP_ENV_VAR: NO_BASEMAP.key})


class Reader:
    """What a user could read or hear, gathered at several moments on one page."""

    def __init__(self, page):
        self.page = page
        self.texts: set[str] = set()

    def read(self) -> None:
        shown = self.page.evaluate(READ_PAGE)
        assert shown["lang"] == "fr"
        self.texts.update(shown["texts"])

    def english(self) -> list[str]:
        return sorted(t for t in self.texts if ENGLISH_RE.fullmatch(t))

    def has(self, pattern: str) -> bool:
        return any(re.fullmatch(pattern, t) for t in self.texts)


def open_page(browser_page, url: str) -> Reader:
    browser_page.goto(url)
    browser_page.locator('[data-testid="stMain"]').wait_for()
    wait_idle(browser_page)
    reader = Reader(browser_page)
    reader.read()
    return reader


def search_list(browser_page, reader: Reader, field, *, nothing: str, some: str) -> None:
    """Open a multiselect, type text matching nothing, then text matching several options."""
    field.click()
    browser_page.get_by_role("option").first.wait_for()
    reader.read()
    field.fill(nothing)
    browser_page.get_by_text("Aucun résultat").wait_for()
    reader.read()
    field.fill(some)
    browser_page.get_by_text(re.compile(r"^Sélectionner les \d+ résultats$")).wait_for()
    reader.read()
    browser_page.keyboard.press("Escape")


def test_the_map_page_is_french(browser_page, app_url):
    reader = open_page(browser_page, app_url + "/")
    browser_page.locator(".leaflet-container").wait_for()
    reader.read()  # the map's controls
    communes = browser_page.locator('[data-testid="stMultiSelect"] input').first
    search_list(browser_page, reader, communes, nothing="zzqx", some="e")
    browser_page.get_by_text("Tableau de la sélection").click()  # the table, one click away
    browser_page.get_by_test_id("stDataFrame").wait_for()
    wait_idle(browser_page)
    reader.read()

    assert reader.english() == []
    assert reader.has("Aller au contenu principal")
    assert reader.has(r"Aide : .+"), "help icons: « Aide : <label> »"
    for name in ("Télécharger en CSV", "Rechercher", "Plein écran", "Replier la barre latérale"):
        assert reader.has(name), name
    assert reader.has(r"\d+ choix disponibles\.")
    for name in ("Zoom avant", "Zoom arrière", "Fonds de carte et couches", "Sans fond de carte"):
        assert reader.has(name), name


def test_the_comparison_page_is_french(browser_page, app_url):
    reader = open_page(browser_page, app_url + "/comparer")
    quartiers = browser_page.locator('[data-testid="stMultiSelect"] input').first
    search_list(browser_page, reader, quartiers, nothing="zzqx", some="a")

    assert reader.english() == []
    assert reader.has("Aucun résultat") and reader.has("Tout sélectionner")
    assert reader.has("Ouvrir")


def test_the_file_page_is_french_even_when_a_file_is_refused(browser_page, app_url, tmp_path):
    reader = open_page(browser_page, app_url + "/fichier")
    uploader = browser_page.locator('input[type="file"]')
    too_big = tmp_path / "adresses.csv"
    too_big.write_bytes(b"adresse\n" + b"1 rue de Lens\n" * 500_000)  # 7 MB > 5 MB
    uploader.set_input_files(str(too_big))
    browser_page.get_by_text("Le fichier ne doit pas dépasser 5,0\u00a0Mo.").wait_for()
    reader.read()
    wrong_type = tmp_path / "adresses.pdf"
    wrong_type.write_bytes(b"%PDF-1.4\n")
    uploader.set_input_files(str(wrong_type))
    browser_page.get_by_text(re.compile("ne sont pas acceptés|n'est pas accepté")).wait_for()
    reader.read()

    assert reader.english() == []
    for french in ("5\u00a0Mo par fichier", "Choisir un fichier", "Erreur :"):
        assert reader.has(french), french
    assert reader.has(r"adresses\.csv, \d+,\d\u00a0Mo"), "the file's size, the French way"
