"""Script injection, in a real browser: hostile names from the data or from the user stay text.

A copy of the processed CALL tables is written to a temporary ``QPV_PROCESSED_DIR`` with the
names of every quartier, of two communes and of the territory carrying HTML/JavaScript payloads
(the manifest is the real one, so the app takes the folder as current). The app runs on it with a
Géoplateforme stand-in whose test address label carries the payloads too. Chromium then opens
the map (and hovers a quartier for its tooltip), a quartier's fact panel, a commune's panel, the
comparison, the presentation, the address page with a payload in ``?q=``, and a file check of a
file whose name and cells are payloads.

After each page: no dialog opened, ``window.__xss`` is undefined in the page and in every frame,
no ``<img src=x>`` nor payload ``<script>`` element exists anywhere (the map's shadow root
included), and the payload is visible as text where the name is shown.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from geo.store import load_dataset, write_tables
from geo.territory import DEFAULT_TERRITORY
from support import REPO_ROOT
from support.fake_geoplateforme import FakeGeoplateforme
from ui import adresse, mapview

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
SVG = '"><svg onload=alert(1)>'
PAYLOADS = (SCRIPT, IMG, SVG)
QUARTIER = f"path.leaflet-interactive.{mapview.CLASS_QPV}"
FIRST_LOAD_MS = 120_000

# What an injection would leave behind, in one frame: in its document and in every open shadow
# root (the map component's).
INJECTED = """() => {
    const roots = [document];
    for (let i = 0; i < roots.length; i++) {
        for (const element of roots[i].querySelectorAll('*')) {
            if (element.shadowRoot) roots.push(element.shadowRoot);
        }
    }
    const all = css => roots.flatMap(root => [...root.querySelectorAll(css)]);
    return {
        xss: window.__xss === undefined ? null : String(window.__xss),
        imgs: all('img[src="x"]').length,
        svgs: all('svg[onload]').length,
        scripts: all('script').filter(s => s.textContent.includes('window.__xss=1')
            && !s.textContent.includes('&lt;') && s.textContent.trim().length < 40).length,
        shadowRoots: roots.length - 1,
    };
}"""
CLEAN = {"xss": None, "imgs": 0, "svgs": 0, "scripts": 0}


def injected(frame) -> dict:
    found = frame.evaluate(INJECTED)
    found.pop("shadowRoots")
    return found


def hostile(name: str, i: int) -> str:
    return f"{PAYLOADS[i % len(PAYLOADS)]} {name}"


@pytest.fixture(scope="module")
def hostile_tables(processed, tmp_path_factory) -> Path:
    """The real tables, names replaced by payloads, in a folder the app takes as current."""
    dataset = load_dataset()
    qpv = dataset.qpv.copy()
    communes = dataset.communes.copy()
    territory = dataset.territory.copy()
    renamed = {"62498": f"Lens {IMG}", "62510": f"{SCRIPT} Liévin"}
    old_names = dict(zip(communes["code"], communes["name"], strict=True))
    communes["name"] = communes["code"].map(renamed).fillna(communes["name"])
    qpv["name"] = [hostile(n, i) for i, n in enumerate(qpv["name"])]
    for code, name in renamed.items():
        qpv["commune_names"] = qpv["commune_names"].str.replace(old_names[code], name, regex=False)
    territory["name"] = f"CA {SVG} de Lens-Liévin"
    report = dataclasses.replace(
        dataset.report,
        territory=dataclasses.replace(dataset.report.territory, name=territory["name"].iloc[0]),
    )
    root = tmp_path_factory.mktemp("processed-xss")
    write_tables(
        root / DEFAULT_TERRITORY,
        {
            "qpv.parquet": qpv,
            "qpv_display.parquet": dataset.qpv_display,
            "communes.parquet": communes,
            "territory.parquet": territory,
            "correspondence.parquet": dataset.correspondence,
            "flags.parquet": dataset.flags,
        },
        report,
        manifest=dataset.manifest,
        index=dataset.locator_index or {},
    )
    return root


@pytest.fixture(scope="module")
def hostile_ban(mirror_dir):
    """A Géoplateforme stand-in whose only address at QP062025 has a label full of payloads."""
    from support.fake_geoplateforme import load_addresses

    addresses = load_addresses(mirror_dir)
    target = next(a for a in addresses if a.qpv_code == "QP062025")
    label = f"{SCRIPT} {IMG} {SVG} Lens piege"
    others = [a for a in addresses if a.qpv_code != "QP062025"]
    # QP062025 is also in Vendin-le-Vieil, whose name the hostile tables keep: the suggestions
    # recognise the commune by its name and postal code.
    communes = json.loads((mirror_dir / "communes" / "communes.json").read_text("utf-8"))
    vendin = next(c for c in communes if c["nom"] == "Vendin-le-Vieil")
    target = dataclasses.replace(
        target,
        label=label,
        city=vendin["nom"],
        citycode=vendin["code"],
        postcode=vendin["codesPostaux"][0],
    )
    with FakeGeoplateforme([target, *others]) as server:
        yield server


@pytest.fixture(scope="module")
def app_url(start_streamlit, hostile_tables, hostile_ban, mirror_dir):
    return start_streamlit(
        REPO_ROOT / "app.py",
        env={
            "QPV_PROCESSED_DIR": str(hostile_tables),
            "QPV_DATA_MIRROR": str(mirror_dir),
            "QPV_GEOCODER_URL": hostile_ban.url,
            "QPV_BASEMAP": "aucun",
        },
    )


@pytest.fixture
def page(browser_page):
    """The test's page, with every dialog recorded (and dismissed)."""
    browser_page.dialogs = []

    def on_dialog(dialog):
        browser_page.dialogs.append(dialog.message)
        dialog.dismiss()

    browser_page.on("dialog", on_dialog)
    return browser_page


def assert_nothing_ran(page) -> None:
    assert page.dialogs == [], f"a dialog opened: {page.dialogs}"
    for frame in page.frames:
        if frame.is_detached():
            continue
        assert injected(frame) == CLEAN, f"injection in frame {frame.url}"


def wait_map(page, timeout: float = FIRST_LOAD_MS):
    """Wait for the quartiers drawn; return the page (the map's shadow root is searched)."""
    page.locator(QUARTIER).first.wait_for(state="visible", timeout=timeout)
    assert page.evaluate(INJECTED)["shadowRoots"] >= 1  # the map's is searched too
    return page


def visible_text(page, text: str) -> None:
    page.get_by_text(text, exact=False).first.wait_for(state="visible")


def test_map_and_its_tooltip_show_hostile_names_as_text(page, app_url):
    page.goto(app_url + "/?gen=2015")
    frame = wait_map(page)

    shape = frame.locator(f"path.{mapview.CLASS_QPV}-QP062025")
    shape.scroll_into_view_if_needed()
    box = shape.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tooltip = frame.locator(".leaflet-tooltip").first
    tooltip.wait_for(state="visible")

    assert any(p in tooltip.inner_text() for p in PAYLOADS)
    assert_nothing_ran(page)


def test_fact_panels_show_hostile_names_as_text(page, app_url):
    page.goto(app_url + "/?qpv=QP062025")
    wait_map(page)
    heading = page.get_by_role("heading", name=re.compile(re.escape("Grande Résidence")))
    heading.first.wait_for(state="visible")
    assert any(p in heading.first.inner_text() for p in PAYLOADS)
    assert_nothing_ran(page)

    page.goto(app_url + "/?commune=62498")
    wait_map(page)
    visible_text(page, f"Lens {IMG}")
    assert_nothing_ran(page)


def test_comparison_and_presentation_show_hostile_names_as_text(page, app_url):
    page.goto(app_url + "/comparer?qpv=QP062025,QP062024&gen=2015")
    page.get_by_test_id("stVegaLiteChart").first.wait_for(state="visible", timeout=FIRST_LOAD_MS)
    visible_text(page, "Grande Résidence")
    assert_nothing_ran(page)

    page.goto(app_url + "/presentation?commune=62498&qpv=QP062025")
    wait_map(page)
    visible_text(page, f"Lens {IMG}")
    assert_nothing_ran(page)


def test_address_from_the_url_and_its_label_stay_text(page, app_url, hostile_ban):
    query = f"{SCRIPT} {IMG} piege Lens"
    page.goto(f"{app_url}/adresse?q={query}")
    page.get_by_text("Adresse trouvée").first.wait_for(state="visible", timeout=FIRST_LOAD_MS)

    visible_text(page, f"{SCRIPT} {IMG} {SVG} Lens piege")  # the service's label, as text
    visible_text(page, "Oui, dans le quartier prioritaire")
    assert hostile_ban.count("/search") >= 1
    assert_nothing_ran(page)


def test_suggested_addresses_stay_text(page, app_url, hostile_ban):
    page.goto(f"{app_url}/adresse")
    field = page.get_by_placeholder(adresse.ADDRESS_PLACEHOLDER)
    field.wait_for(timeout=FIRST_LOAD_MS)

    field.press_sequentially("Lens pie", delay=40)

    visible_text(page, f"{SCRIPT} {IMG} {SVG} Lens piege")  # the suggestion's label, as text
    assert hostile_ban.count("/completion") >= 1
    assert_nothing_ran(page)


def test_file_check_with_hostile_name_and_cells_stays_text(page, app_url, hostile_ban):
    rows = [f"{p} M. Test;{p} {hostile_ban.addresses[i].label}" for i, p in enumerate(PAYLOADS)]
    data = ("nom;adresse\n" + "\n".join(rows) + "\n").encode()
    name = "<img src=x onerror=window.__xss=1>.csv"  # a browser sends '"' as %22 in names
    page.goto(app_url + "/fichier")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": data}]
    )
    page.get_by_role("button", name=re.compile("^Vérifier les 3 lignes")).click()
    page.get_by_role("heading", name="Résultat").wait_for(state="visible", timeout=FIRST_LOAD_MS)
    visible_text(page, f"{name} : 3 lignes")  # the file name, as text

    point = page.locator("path.leaflet-interactive").last
    point.wait_for(state="visible")
    # A checked line's point: its tooltip names its line in the file, and its quartier as text.
    point.hover()
    tooltip = page.locator(".leaflet-tooltip").first
    tooltip.wait_for(state="visible")
    assert tooltip.inner_text().startswith("Ligne ")
    assert_nothing_ran(page)
