"""One visual language: the live map, the PNG and the PDF draw each kind as ``geo.style`` says.

Each medium is read back as it is delivered: the GeoJSON and the legend the live map emits, the
legend and shapes of the PNG's matplotlib figure, the colours, dashes and words of the PDF's
page. Nothing here re-states a colour: every expected value is read from ``geo.style``.
"""

import io
import json
import re
from datetime import date

import pytest
from matplotlib.colors import to_hex, to_rgba
from pypdf import PdfReader

from geo import style
from geo.factsheet import factsheet_pdf
from geo.mapimage import MapCanvas, MapLayers, View
from geo.style import legend_label
from ui import leaflet, mapview

QUARTIER_KINDS = (style.CONTRACT, style.SHARED, style.NEIGHBOURING)
LEAFLET_GREY = "#DDDDDD"  # the map's background with no basemap


def test_status_is_never_told_by_colour_alone():
    dashes = {kind.dash_svg for kind in QUARTIER_KINDS}
    strokes = {kind.stroke for kind in QUARTIER_KINDS}
    assert len(dashes) == len(QUARTIER_KINDS)
    assert len(strokes) == len(QUARTIER_KINDS)
    # The selection stands out by its width and its halo, whatever the colours.
    assert style.SELECTED.width > max(kind.width for kind in QUARTIER_KINDS)
    assert style.SELECTED.halo > 0
    assert style.quartier_kind("contrat", False) is style.CONTRACT
    assert style.quartier_kind("contrat", True) is style.SHARED
    assert style.quartier_kind("voisin", True) is style.NEIGHBOURING


@pytest.mark.parametrize("kind", style.KINDS, ids=lambda k: k.key)
def test_every_line_stands_out_from_the_map_background(kind):
    # WCAG 2.1 non-text contrast: 3:1 against paper and against the map's empty background.
    for background in (style.PAPER, style.PAPER_COMMUNE_FILL, LEAFLET_GREY):
        assert style.contrast_ratio(kind.stroke, background) >= 3, (kind.key, background)


def test_text_colours_reach_wcag_aa():
    for text in (style.TEXT, style.MUTED_TEXT):
        for background in (style.PAPER, style.PAPER_COMMUNE_FILL, LEAFLET_GREY):
            assert style.contrast_ratio(text, background) >= 4.5, (text, background)


def test_the_live_map_emits_the_kinds_of_geo_style(dataset):
    codes = list(dataset.qpv_of(2015)["code"])  # neighbouring quartier included
    data = leaflet.payload(mapview.territory_map(dataset, generation=2015, codes=codes))
    layers = {layer["id"]: layer for layer in json.loads(json.dumps(data))["layers"]}
    features = json.loads(layers["quartiers"]["geojson"])["features"]
    assert sorted(layers["quartiers"]["only"]) == sorted(codes)
    table = dataset.qpv_of(2015).set_index("code")
    seen = set()
    for feature in features:
        row = table.loc[feature["id"]]
        kind = style.quartier_kind(row["status"], bool(row["shared"]))
        drawn = feature["properties"]["style"]
        assert drawn["color"] == kind.stroke
        assert drawn["weight"] == kind.width
        assert drawn.get("dashArray") == kind.dash_svg
        assert drawn["fillColor"] == kind.fill
        assert drawn["fillOpacity"] == kind.fill_opacity
        seen.add(kind)
    assert seen == set(QUARTIER_KINDS)
    assert layers["territory"]["name"].startswith("Limite du territoire")
    outline = json.loads(layers["territory"]["geojson"])["features"][0]["properties"]["style"]
    assert (outline["color"], outline["weight"]) == (style.TERRITORY.stroke, style.TERRITORY.width)

    # The legend: one row per kind, in geo.style's order, each swatch drawn as that kind.
    legend = mapview.legend_html(dataset.territory_name, style.legend_kinds(seen, selected=True))
    assert data["legends"] == [{"position": "bottomright", "html": legend}]  # what the map shows
    rows = re.findall(r'data-kind="([^"]+)".*?</svg><span>([^<]+)</span>', legend)
    assert [key for key, _ in rows] == [k.key for k in style.KINDS]
    for kind, (_, label) in zip(style.KINDS, rows, strict=True):
        assert label == legend_label(kind, dataset.territory_name).replace("'", "&#x27;")
        swatch = re.search(rf'data-kind="{kind.key}".*?</svg>', legend).group(0)
        assert f'stroke="{kind.stroke}" stroke-width="{kind.width:g}"' in swatch
        if kind.dash_svg:
            assert f'stroke-dasharray="{kind.dash_svg}"' in swatch
        if kind.fill:
            assert f'fill="{kind.fill}" fill-opacity="{kind.fill_opacity:g}"' in swatch

    # The selected quartier, added to the map when its panel opens.
    focus = json.loads(mapview.focus_layer(dataset, "QP062025").geojson)["features"]
    halo, outline = (feature["properties"]["style"] for feature in focus)
    assert halo["weight"] == style.SELECTED.halo and halo["color"] == style.PAPER
    assert (outline["color"], outline["weight"]) == (style.SELECTED.stroke, style.SELECTED.width)
    assert (outline["fillColor"], outline["fillOpacity"]) == (
        style.SELECTED.fill,
        style.SELECTED.fill_opacity,
    )


def test_the_png_draws_and_names_the_kinds_of_geo_style(dataset):
    canvas = MapCanvas(MapLayers(dataset), 2015, width_px=800, height_px=600, dpi=100,
                       framed=True)  # fmt: skip
    view = View(quartiers=("QP062045",), communes=("62570",), generation=2015)  # shared quartier
    with canvas.drawn(view, title="Quartier Du Maroc", made_on=date(2025, 3, 1)) as (fig, kinds):
        legend = fig.axes[0].get_legend()
        labels = [text.get_text() for text in legend.get_texts()]
        assert labels == [legend_label(kind, dataset.territory_name) for kind in kinds]
        assert style.SELECTED in kinds and style.SHARED in kinds and style.TERRITORY in kinds
        for kind, handle in zip(kinds, legend.legend_handles, strict=True):
            assert to_hex(handle.get_edgecolor()) == kind.stroke.lower()
            assert handle.get_linewidth() == pytest.approx(kind.width_pt)
            if kind.fill:
                assert handle.get_facecolor() == pytest.approx(
                    to_rgba(kind.fill, kind.fill_opacity)
                )
            # What the renderer uses (in points, scaled by the width): a legend handle copies
            # the pattern of its patch but keeps "solid" as its public line style name.
            _, dashes = handle._dash_pattern
            assert (tuple(dashes) if dashes else None) == pytest.approx(kind.dash_pt)
        # The shapes themselves use the same faces as their legend rows.
        faces = {tuple(round(v, 3) for v in c.get_facecolor()[0])
                 for c in fig.axes[0].collections if len(c.get_facecolor())}  # fmt: skip
        for kind in (style.CONTRACT, style.SHARED, style.SELECTED):
            assert tuple(round(v, 3) for v in to_rgba(kind.fill, kind.fill_opacity)) in faces
        # The frame: title, perimeters and date above, sources below.
        texts = [text.get_text() for text in fig.texts]
        assert texts[0] == "Quartier Du Maroc"
        assert texts[1] == (
            "Périmètres 2015 (contrat de ville 2015-2023) · carte établie le 1er mars 2025"
        )
        assert texts[2].startswith("Sources : périmètres 2015 : ANCT ; communes : IGN")
    # Leaving the view takes its own layer off the canvas: the next view starts clean.
    with canvas.drawn(View(generation=2015)) as (fig, kinds):
        assert style.SELECTED not in kinds
        assert len(fig.texts) == 3


def colours(content: str, rgb_operator: str, grey_operator: str) -> set[tuple[int, ...]]:
    """Colours set in a PDF content stream (``r g b RG`` or, for greys, ``v G``), 0-255."""
    found = {
        tuple(round(float(v) * 255) for v in m.groups())
        for m in re.finditer(rf"([\d.]+) ([\d.]+) ([\d.]+) {rgb_operator}\b", content)
    }
    found |= {
        (round(float(m.group(1)) * 255),) * 3
        for m in re.finditer(rf"(?<![\d.] )\b([\d.]+) {grey_operator}\b", content)
    }
    return found


def test_the_pdf_legend_draws_and_names_the_kinds_of_geo_style(dataset):
    pdf = factsheet_pdf(dataset, "QP062045", made_on=date(2025, 3, 1))  # a shared quartier
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    text = " ".join(page.extract_text().split())
    content = page.get_contents().get_data().decode("latin-1")
    strokes, fills = colours(content, "RG", "G"), colours(content, "rg", "g")
    dashes = {
        tuple(round(float(v), 2) for v in m.group(1).split())
        for m in re.finditer(r"\[([\d. ]+)\] [\d.]+ d", content)
    }
    opacities = {
        round(float(state["/ca"]), 3)
        for state in page["/Resources"].get("/ExtGState", {}).values()
        if "/ca" in state.get_object()
    }
    for kind in (style.CONTRACT, style.SHARED, style.SELECTED, style.TERRITORY):
        assert legend_label(kind, dataset.territory_name) in text, kind.key
        assert style.rgb(kind.stroke) in strokes, kind.key
        if kind.fill:
            assert style.rgb(kind.fill) in fills, kind.key
            assert round(kind.fill_opacity, 3) in opacities, kind.key
        if kind.dash_pt:
            assert tuple(round(v, 2) for v in kind.dash_pt) in dashes, kind.key
