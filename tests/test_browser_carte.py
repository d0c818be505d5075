"""The map page in a real browser: quartiers drawn offline, clicks open panels, links restore views.

``streamlit run app.py`` with no basemap (``QPV_BASEMAP=aucun``); Chromium cannot reach beyond
127.0.0.1 (see ``tests/conftest.py``). The map is a component in the page (a shadow root, no
iframe): Playwright's CSS locators reach into it; scripts go through its container element,
which holds the Leaflet map (``element.leafletMap``).
"""

import re

import pytest
from playwright.sync_api import expect

from geo import style
from support import REPO_ROOT
from support.browser import wait_idle
from ui import leaflet, mapview

MAP = ".leaflet-container"
QUARTIER = f"path.leaflet-interactive.{mapview.CLASS_QPV}"
FIRST_DRAW_TIMEOUT_MS = 90_000
LEAFLET_JS_PATH = f"/app/static/vendor/leaflet-{leaflet.LEAFLET_VERSION}/leaflet.js"

# A point well inside the SVG path (it and the points 3 px around it hit the path itself, not a
# shape above it), relative to the path's bounding box, nearest the box's centre; null if none.
FIND_CLICKABLE_POINT = """
(path) => {
    const box = path.getBoundingClientRect();
    const hits = (x, y) => path.getRootNode().elementFromPoint(x, y) === path;
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
    """Open ``url`` and wait for the quartiers; return the page (where the map is)."""
    page.goto(url)
    # The first page of a fresh server also checks the processed data: allow for it.
    page.locator(QUARTIER).first.wait_for(state="visible", timeout=FIRST_DRAW_TIMEOUT_MS)
    return page


def map_state(page) -> dict:
    """What the map says of itself: updates taken, layers parsed by the page, zoom, mark."""
    return page.locator(MAP).evaluate(
        """element => ({updates: Number(element.dataset.updates),
                        parses: Number(element.dataset.parses),
                        zoom: element.leafletMap.getZoom(),
                        mark: element.leafletMap.testMark || null})"""
    )


def mark_map(page, mark: str) -> None:
    """Write ``mark`` on the Leaflet map object: only that same object can show it later."""
    page.locator(MAP).evaluate("(element, mark) => { element.leafletMap.testMark = mark; }", mark)


def wait_updates(page, count: int) -> None:
    """Wait until the map has taken ``count`` updates from the script."""
    page.wait_for_function(
        "([element, count]) => Number(element.dataset.updates) >= count",
        arg=[page.locator(MAP).element_handle(), count],
    )


def click_shape(page, css: str) -> None:
    shape = page.locator(css)
    shape.scroll_into_view_if_needed()  # hit testing only sees what is on screen
    point = shape.evaluate(FIND_CLICKABLE_POINT)
    assert point is not None, f"no clickable point on {css}"
    shape.click(position=point)


def test_map_draws_the_quartiers_from_local_assets_only(browser_page, request_log, app_url):
    page = open_map(browser_page, app_url + "/")

    assert page.locator("iframe").count() == 0
    assert page.locator(QUARTIER).count() == 21
    assert page.locator("path.leaflet-interactive").count() >= 21
    assert page.locator(f"path.{mapview.CLASS_COMMUNE}").count() == 36
    assert page.locator(".leaflet-tile").count() == 0  # "Sans fond de carte"
    assert page.locator(".leaflet-control-attribution").inner_text().count("ANCT") == 1
    page.get_by_text("19 sur 36").wait_for()
    # Leaflet comes from the app's static folder; nothing of it from a CDN.
    assert len(request_log.matching(LEAFLET_JS_PATH)) == 1
    assert request_log.external_assets() == []
    assert [url for url in request_log.external() if "leaflet" in url.lower()] == []


# When the first quartier appears on the map (in the component's shadow root): the time, and a
# mark on the Leaflet map object that only that same object can show later.
WATCH_FIRST_DRAW = """
window.__firstDraw = null;
const watch = (root) => new MutationObserver(() => {
    const map = root.querySelector('.qpv-map');
    if (window.__firstDraw === null && map && root.querySelector('path.CLASS_QPV')) {
        map.leafletMap.testMark = 'premier dessin';
        window.__firstDraw = {
            at: performance.now(),
            parses: Number(map.dataset.parses),
        };
    }
}).observe(root, {childList: true, subtree: true});
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (options) {
    const root = attach.call(this, options);
    watch(root);
    return root;
};
""".replace("CLASS_QPV", mapview.CLASS_QPV)


def test_a_first_visit_brings_the_rest_of_the_page_around_the_map_drawn_first(
    browser_page, request_log, app_url
):
    # The first screen is the headline and the map; the filters and the panel, whose ~40
    # modules held the map back, come once it is drawn (ui.carte.first_screen; what the first
    # run sends is checked in tests/test_page_carte.py).
    browser_page.add_init_script(WATCH_FIRST_DRAW)
    page = open_map(browser_page, app_url + "/?gen=2015&commune=62498")

    page.get_by_test_id("stSidebar").get_by_text("Lens (5 quartiers)").wait_for()
    page.get_by_role("heading", name="Lens", exact=True).wait_for()  # the link's commune panel
    wait_idle(page)
    first = page.evaluate("window.__firstDraw")
    # The filters' code was asked for once the map was drawn, not before.
    asked = page.evaluate(
        """() => performance.getEntriesByType('resource')
            .filter((entry) => /\\/(Multiselect|Radio|Slider)\\.[^/]*\\.js$/.test(entry.name))
            .map((entry) => entry.startTime)"""
    )
    assert len(asked) == 3 and min(asked) > first["at"]
    # The map drawn first is the map of the whole page: the same object, no layer read again.
    after = map_state(page)
    assert after["mark"] == "premier dessin"
    assert after["parses"] == first["parses"]
    assert page.locator(MAP).count() == 1
    assert page.locator(QUARTIER).count() == 5
    assert len(request_log.matching(LEAFLET_JS_PATH)) == 1


@pytest.mark.parametrize("broken", ["**/leaflet.js", "**/qpv-map/map.js*"])
def test_a_map_that_cannot_be_drawn_says_so_and_the_rest_of_the_page_comes(
    browser_page, app_url, broken
):
    browser_page.route(broken, lambda route: route.abort())  # a broken copy, a proxy…

    browser_page.goto(app_url + "/?gen=2015")

    alert = browser_page.get_by_role("alert").filter(has_text=leaflet.CONTROL_TEXT["loadError"])
    alert.wait_for(timeout=FIRST_DRAW_TIMEOUT_MS)
    sidebar = browser_page.get_by_test_id("stSidebar")
    sidebar.get_by_role("combobox", name="Communes").wait_for()
    browser_page.get_by_text("Cliquez sur un quartier ou sur une commune").wait_for()
    assert browser_page.locator(QUARTIER).count() == 0


def test_clicking_a_quartier_opens_its_panel_without_a_new_map(browser_page, request_log, app_url):
    page = open_map(browser_page, app_url + "/?gen=2015")
    page.get_by_text("Cliquez sur un quartier ou sur une commune").wait_for()
    wait_idle(page)
    page.locator(MAP).evaluate("element => element.leafletMap.setZoom(12, {animate: false})")
    mark_map(page, "avant le clic")
    before = map_state(page)

    click_shape(page, f"path.{mapview.CLASS_QPV}-QP062025")

    page.get_by_role("heading", name="Grande Résidence").wait_for()
    page.get_by_text("4\u202f803 habitants", exact=False).first.wait_for()
    page.wait_for_url("**qpv=QP062025**")
    page.locator(f'path[stroke="{style.SELECTED.stroke}"]').first.wait_for(state="attached")
    after = map_state(page)
    # The same Leaflet map took one more update: the outline of the quartier, added on top
    # (the one layer read), the zoom the user chose stayed, Leaflet was fetched once.
    assert after["mark"] == "avant le clic"
    assert after["updates"] == before["updates"] + 1
    assert after["parses"] == before["parses"] + 1
    assert after["zoom"] == 12
    assert page.locator(QUARTIER).count() == 21
    assert page.locator(MAP).count() == 1
    assert len(request_log.matching(LEAFLET_JS_PATH)) == 1


def test_a_filter_updates_the_map_in_place(browser_page, app_url):
    page = open_map(browser_page, app_url + "/?gen=2015")
    wait_idle(page)
    mark_map(page, "même carte")
    before = map_state(page)

    communes = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Communes")
    communes.click()
    communes.fill("Lens")
    page.get_by_role("option", name=re.compile(r"^Lens \(5 quartiers\)")).first.click()
    communes.press("Escape")
    page.wait_for_url("**commune=62498**")
    wait_updates(page, before["updates"] + 1)

    expect(page.locator(QUARTIER)).to_have_count(5)
    after = map_state(page)
    assert after["mark"] == "même carte"
    assert after["parses"] == before["parses"]  # the same layers, fewer quartiers shown
    assert after["zoom"] > before["zoom"]  # the view fits Lens's quartiers

    # Coloured communes: a new communes layer, read once; back to plain ones: read no more.
    page.get_by_text("Colorer les communes selon la part d'habitants en quartier").click()
    page.get_by_text("Habitants de la commune en quartier prioritaire").wait_for()
    coloured = map_state(page)
    assert coloured["parses"] == before["parses"] + 1
    page.get_by_text("Colorer les communes selon la part d'habitants en quartier").click()
    page.get_by_text("Habitants de la commune en quartier prioritaire").wait_for(state="detached")
    assert map_state(page)["parses"] == coloured["parses"]
    assert map_state(page)["mark"] == "même carte"


def test_tooltips_and_layer_control(browser_page, app_url):
    page = open_map(browser_page, app_url + "/?gen=2015")
    wait_idle(page)

    shape = page.locator(f"path.{mapview.CLASS_QPV}-QP062025")
    shape.scroll_into_view_if_needed()
    point = shape.evaluate(FIND_CLICKABLE_POINT)
    box = shape.bounding_box()
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for(state="visible")
    assert "Grande Résidence (QP062025)" in tooltip.inner_text()
    assert "4\u202f803 habitants en 2013 (Insee, RP 2013)" in tooltip.inner_text()

    page.locator(".leaflet-control-layers").hover()
    overlays = [t.strip() for t in page.locator(".leaflet-control-layers-overlays label")
                .all_inner_texts()]  # fmt: skip
    assert overlays == ["Communes", "Limite du territoire (CA de Lens - Liévin)",
                        "Quartiers prioritaires"]  # fmt: skip
    page.get_by_role("checkbox", name="Quartiers prioritaires").uncheck()
    page.locator(QUARTIER).first.wait_for(state="detached")
    page.get_by_role("checkbox", name="Quartiers prioritaires").check()
    page.locator(QUARTIER).first.wait_for(state="attached")


def test_the_other_generation_contour_is_drawn_on_request(browser_page, app_url):
    page = open_map(browser_page, app_url + "/?qpv=QP062025")
    counterpart = page.locator(f'path[stroke="{style.COUNTERPART.stroke}"]')
    assert counterpart.count() == 0
    mark_map(page, "même carte")

    page.get_by_text("Dessiner aussi le périmètre 2024").click()

    counterpart.first.wait_for(state="attached")
    assert counterpart.first.get_attribute("stroke-dasharray") == style.COUNTERPART.dash_svg
    assert page.locator(QUARTIER).count() == 21  # added to the map, which was not reloaded
    assert map_state(page)["mark"] == "même carte"


def test_clicking_a_commune_opens_its_panel(browser_page, app_url):
    page = open_map(browser_page, app_url + "/")

    click_shape(page, f"path.{mapview.CLASS_COMMUNE}-62032")

    page.get_by_role("heading", name="Angres").wait_for()
    page.get_by_text("Commune, code Insee 62032").wait_for()


def test_shared_link_restores_the_view(browser_page, app_url):
    page = open_map(browser_page, app_url + "/?gen=2015&commune=62498&qpv=QP062025")

    browser_page.get_by_role("heading", name="Grande Résidence").wait_for()
    assert page.locator(QUARTIER).count() == 5
    sidebar = browser_page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Lens (5 quartiers)").wait_for()
    assert sidebar.get_by_role(
        "radio", name="Périmètres 2015 (contrat de ville 2015-2023)"
    ).is_checked()
    assert "qpv=QP062025" in browser_page.url
    assert "commune=62498" in browser_page.url


# ---------------------------------------------------------------------------------------------
# Layout: the map uses the screen, on a laptop and on a phone

LEGEND = f"details.{mapview.CLASS_LEGEND}"
LABEL = f".{mapview.CLASS_LABEL} span"
# Boxes of the commune names shown on the map (given the map's element).
LABEL_BOXES = f"""
(map) => [...map.querySelectorAll('{LABEL}')].map(e => {{
    const b = e.getBoundingClientRect();
    return {{text: e.textContent, left: b.left, right: b.right, top: b.top, bottom: b.bottom}};
}})
"""


def boxes_overlap(a: dict, b: dict) -> bool:
    return not (
        a["right"] <= b["left"]
        or b["right"] <= a["left"]
        or a["bottom"] <= b["top"]
        or b["bottom"] <= a["top"]
    )


def box_of(locator) -> dict:
    box = locator.bounding_box()
    return {"left": box["x"], "top": box["y"], "right": box["x"] + box["width"],
            "bottom": box["y"] + box["height"]}  # fmt: skip


@pytest.fixture
def screen(chromium):
    """Factory: a page of the given size (closed at the end of the test)."""
    contexts = []

    def open_screen(width: int, height: int):
        context = chromium.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield open_screen
    for context in contexts:
        context.close()


def test_on_a_laptop_the_map_and_the_territory_panel_share_the_width(
    screen, app_url, artefact_path
):
    page = screen(1366, 768)
    open_map(page, app_url + "/")
    page.get_by_role("heading", name="CA de Lens - Liévin", exact=True).wait_for()
    wait_idle(page)
    page.screenshot(path=artefact_path("carte-1366x768.png"))

    shown = box_of(page.locator(MAP))
    panel = box_of(page.get_by_role("heading", name="CA de Lens - Liévin", exact=True))
    main = box_of(page.get_by_test_id("stMainBlockContainer"))
    map_width = shown["right"] - shown["left"]
    assert map_width >= 600
    assert map_width >= 0.55 * (main["right"] - main["left"])
    # The panel sits beside the map, with the territory's summary and its exports.
    assert panel["left"] >= shown["right"] and panel["top"] < shown["bottom"]
    page.get_by_text("19 communes comptent un quartier du contrat de ville").wait_for()
    page.get_by_role("button", name=re.compile("Dossier de séance")).wait_for()
    # The attribution never covers the scale.
    assert not boxes_overlap(
        box_of(page.locator(".leaflet-control-scale")),
        box_of(page.locator(".leaflet-control-attribution")),
    )


def test_on_a_phone_the_map_is_in_the_first_screen_and_its_legend_folds(
    screen, app_url, artefact_path
):
    page = screen(390, 844)
    open_map(page, app_url + "/")
    wait_idle(page)
    page.screenshot(path=artefact_path("carte-390x844.png"))

    shown = box_of(page.locator(MAP))
    assert shown["top"] <= 844 - 300, shown  # at least 300 px of map in the first screen
    assert shown["right"] <= 390

    legend = page.locator(LEGEND)
    row = legend.locator(".qpv-legend-row").first
    assert not legend.evaluate("details => details.open")  # folded: the map stays visible
    assert not row.is_visible()
    legend.locator("summary").click()
    row.wait_for(state="visible")
    assert legend.locator(".qpv-legend-row").count() >= 3
    legend.locator("summary").click()
    row.wait_for(state="hidden")
    assert not boxes_overlap(
        box_of(page.locator(".leaflet-control-scale")),
        box_of(page.locator(".leaflet-control-attribution")),
    )


def test_commune_names_are_written_where_they_fit_and_never_overlap(browser_page, app_url, dataset):
    page = open_map(browser_page, app_url + "/")
    page.locator(LABEL).first.wait_for(state="attached")
    container = page.locator(MAP)

    def names_shown() -> list[dict]:
        names = container.evaluate(LABEL_BOXES)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                assert not boxes_overlap(a, b), (a, b)
        return names

    overview = {n["text"] for n in names_shown()}
    assert {"Lens", "Liévin"} <= overview
    assert len(overview) < 36  # the small communes wait for a closer zoom

    container.evaluate(
        "element => element.leafletMap.setZoom(element.leafletMap.getZoom() + 2, {animate: false})"
    )
    page.wait_for_timeout(500)
    closer = {n["text"] for n in names_shown()}
    assert closer <= set(dataset.communes["name"])
    assert len(closer) > len(overview)


def quartiers_inside_map(page) -> bool:
    """Whether every quartier drawn is whole inside the map's box (1 px of rounding)."""
    return page.locator(QUARTIER).evaluate_all(
        """(paths) => {
            const map = paths[0].closest('.leaflet-container').getBoundingClientRect();
            return paths.every((path) => {
                const box = path.getBoundingClientRect();
                return box.left >= map.left - 1 && box.top >= map.top - 1
                    && box.right <= map.right + 1 && box.bottom <= map.bottom + 1;
            });
        }"""
    )


def test_the_map_fits_its_new_size_until_the_user_moves_it(browser_page, app_url):
    # The page around the map fills in after it (its panel, a projector's window resized): the
    # quartiers stay whole on the map, until the user zooms, whose view then stays.
    page = open_map(browser_page, app_url + "/?gen=2015")
    wait_idle(page)
    assert quartiers_inside_map(page)
    wide = page.locator(MAP).bounding_box()["width"]

    page.set_viewport_size({"width": 900, "height": 900})
    page.wait_for_function(
        "([element, wide]) => element.getBoundingClientRect().width < wide - 50",
        arg=[page.locator(MAP).element_handle(), wide],
    )
    page.wait_for_timeout(300)
    assert quartiers_inside_map(page)

    page.locator(MAP).evaluate("element => element.leafletMap.setZoom(13, {animate: false})")
    page.set_viewport_size({"width": 1200, "height": 900})
    page.wait_for_timeout(500)
    assert map_state(page)["zoom"] == 13


def test_the_live_map_draws_the_kinds_of_geo_style(browser_page, app_url):
    page = open_map(browser_page, app_url + "/?gen=2015")
    contract = page.locator(f"path.{mapview.CLASS_QPV}-QP062025")  # Grande Résidence
    shared = page.locator(f"path.{mapview.CLASS_QPV}-QP062045")  # Quartier du Maroc
    territory = page.locator(f"path.{mapview.CLASS_TERRITORY}")
    assert contract.get_attribute("stroke") == style.CONTRACT.stroke
    assert contract.get_attribute("fill") == style.CONTRACT.fill
    assert contract.get_attribute("stroke-dasharray") is None
    assert shared.get_attribute("stroke") == style.SHARED.stroke
    assert shared.get_attribute("stroke-dasharray") == style.SHARED.dash_svg
    assert territory.get_attribute("stroke") == style.TERRITORY.stroke
    rows = page.locator(f"{LEGEND} .qpv-legend-row")
    kinds = [rows.nth(i).get_attribute("data-kind") for i in range(rows.count())]
    assert kinds == [style.CONTRACT.key, style.SHARED.key, style.SELECTED.key, style.TERRITORY.key]


def test_back_on_the_map_its_layers_come_from_the_page_not_the_server(browser_page, app_url):
    page = browser_page
    frames = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda data: frames.append(data)))
    open_map(page, app_url + "/?gen=2015")
    wait_idle(page)
    parsed_2015 = map_state(page)["parses"]
    navigation = page.get_by_test_id("stSidebarNav")

    navigation.get_by_role("link", name="Suis-je en QPV ?").click()
    page.locator(f"{QUARTIER}.{mapview.CLASS_QPV}-QN06225M").wait_for(state="attached")
    wait_idle(page)
    parsed_both = map_state(page)["parses"]
    assert parsed_both > parsed_2015  # the 2024 perimeters, read once
    frames.clear()
    navigation.get_by_role("link", name="Carte des quartiers").click()
    page.locator(QUARTIER).first.wait_for(state="attached")
    wait_idle(page)

    # A new map, drawn from the layers the page already had: none read again, none resent.
    assert page.locator(QUARTIER).count() >= 1
    assert map_state(page)["parses"] == parsed_both
    largest = max(len(frame) for frame in frames)
    assert largest < 20_000, f"a message of {largest} bytes came back with the map page"
