"""The one-page A4 fact sheet and the PNG maps, checked as files a user would open."""

import io
import re
import shutil
import subprocess
from datetime import date

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from geo import style
from geo.errors import InputError
from geo.factsheet import commune_sheet_pdf, dossier_order, dossier_pdf, factsheet_pdf
from geo.format import french_date
from geo.mapimage import map_png

# The selected quartier on paper: the yellow of a selection over the vermillion of a contract
# quartier, over the white of its commune.
SELECTED_ON_PAPER = style.blend(
    style.SELECTED.fill,
    style.SELECTED.fill_opacity,
    "#{:02X}{:02X}{:02X}".format(*style.blend(style.CONTRACT.fill, style.CONTRACT.fill_opacity)),
)

A4_PT = (595.28, 841.89)
MADE_ON = date(2025, 3, 1)

# The hardest sheets to keep on one page: the longest name (2024), the most remarks (a 2015
# quartier whose 2024 successor has missing values), a neighbouring quartier with its reason,
# and one with a value set aside.
HARDEST = {
    "QN06229M": "Les Hauts De Liévin - Résidence Des Provinces - Cités 9-9bis",
    "QP062045": "Quartier Du Maroc - La Canche",
    "QP062043": "La Plaine Du 7",
    "QN06227M": "Sellier Cité 4",
}


def text_of(pdf: bytes) -> str:
    return " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())


@pytest.fixture(scope="module")
def sheets(dataset) -> dict[str, bytes]:
    return {code: factsheet_pdf(dataset, code, made_on=MADE_ON) for code in HARDEST}


@pytest.mark.parametrize("code", list(HARDEST))
def test_sheet_is_one_a4_page_with_the_quartier_name(sheets, code):
    reader = PdfReader(io.BytesIO(sheets[code]))

    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(A4_PT[0], abs=1)
    assert float(box.height) == pytest.approx(A4_PT[1], abs=1)
    text = text_of(sheets[code])
    assert HARDEST[code] in text  # accents included: the font is embedded Unicode
    assert code in text
    assert "Fiche établie le 1er mars 2025" in text


def test_sheet_gives_figures_with_years_sources_and_the_2015_2024_change(sheets):
    text = text_of(sheets["QP062045"])
    assert "Population 2 466 hab. 2013, Insee, RP 2013" in text
    assert "Évolution entre les périmètres 2015 et 2024" in text
    assert "QN06245M" in text  # the 2024 successor and its indicators
    assert "Taux de pauvreté 43,0 %" in text
    assert "Logements sociaux : valeur manquante" in text
    assert "Sources et millésimes" in text
    assert "Recensement de la population 2013" in text


def test_sheet_embeds_the_dejavu_font(sheets):
    page = PdfReader(io.BytesIO(sheets["QN06227M"])).pages[0]
    fonts = {str(f["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}
    assert any("DejaVuSans" in name for name in fonts), fonts


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
def test_sheet_renders_as_a_non_blank_a4_image(sheets, tmp_path):
    pdf = tmp_path / "fiche.pdf"
    pdf.write_bytes(sheets["QN06229M"])

    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-singlefile", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )

    image = Image.open(tmp_path / "page.png").convert("RGB")
    width, height = image.size
    assert height / width == pytest.approx(297 / 210, rel=0.01)
    pixels = np.asarray(image)
    ink = (pixels < 200).any(axis=2).mean()
    assert 0.03 < ink < 0.6, f"{ink:.1%} of the page is drawn"
    assert _has_colour(pixels, SELECTED_ON_PAPER), "the quartier is not drawn on the sheet's map"


def test_map_png_has_the_requested_size_and_shows_the_selection(dataset):
    png = map_png(
        dataset, quartiers=["QN06225M"], communes=["62498"], width_px=640, height_px=480, dpi=100
    )

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (640, 480)
    pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20  # not blank
    assert _has_colour(pixels, SELECTED_ON_PAPER)


def test_map_png_of_the_whole_territory_has_no_selected_quartier(dataset):
    pixels = np.asarray(Image.open(io.BytesIO(map_png(dataset, generation=2015))).convert("RGB"))
    assert pixels.shape == (900, 1200, 3)
    assert not _has_colour(pixels, SELECTED_ON_PAPER)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quartiers": ["QP062025"], "generation": 2024}, "QP062025"),
        ({"communes": ["59350"]}, "59350"),
        ({"width_px": 50}, "50 x 900"),
    ],
)
def test_map_png_refuses_a_bad_view(dataset, kwargs, message):
    with pytest.raises(InputError, match=message):
        map_png(dataset, **kwargs)


def test_unknown_quartier_has_no_sheet(dataset):
    with pytest.raises(InputError, match="'QP999999'"):
        factsheet_pdf(dataset, "QP999999")


def test_french_date():
    assert french_date(date(2025, 3, 1)) == "1er mars 2025"
    assert french_date(date(2024, 12, 28)) == "28 décembre 2024"


def _has_colour(pixels: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 30) -> bool:
    rgb = np.array(rgb)
    return bool((np.abs(pixels.astype(int) - rgb).sum(axis=2) < tolerance).sum() > 20)


# ---------------------------------------------------------------------------------------------
# Every figure with its year and source; the commune sheet; the dossier de séance

NNBSP = "\u202f"  # the narrow no-break space of French numbers


def raw_text(pdf: bytes, page: int = 0) -> str:
    """A page's text with its line breaks made spaces, no-break spaces kept."""
    return re.sub(r"[ \n]+", " ", PdfReader(io.BytesIO(pdf)).pages[page].extract_text())


def test_numbers_never_break_and_2024_areas_say_they_are_approximate(dataset):
    pdf = factsheet_pdf(dataset, "QN06225M", made_on=MADE_ON)
    text = raw_text(pdf)

    assert f"4{NNBSP}643{NNBSP}hab. année non précisée, compilation SIG Ville" in text
    assert f"84{NNBSP}ha 2024, ANCT, périmètres" in text  # simplified copy: to the unit
    assert f"5{NNBSP}550{NNBSP}hab./km² année non précisée, population / surface" in text
    assert text.count("calculé sur des contours simplifiés") >= 3  # area, density, sources
    assert f"49,0{NNBSP}%" in text
    assert "Source : compilation SIG Ville / Insee, année non précisée." in text
    # The mirror's 2024 perimeters are a simplified copy: nothing calls them official.
    assert "officiel" not in text and "pleine résolution" not in text
    assert re.search(r"\d \d{3}\b", text) is None  # no breakable space inside a number


def test_commune_sheet_gives_both_generations_with_years_and_sources(dataset):
    pdf = commune_sheet_pdf(dataset, "62498", generation=2024, made_on=MADE_ON)
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(reader.pages[0].extract_text().split())

    assert len(reader.pages) == 1
    assert text.startswith("Commune – CA de Lens - Liévin Lens Code Insee 62498")
    assert "Habitants 32 920 2023, Insee, populations légales" in text
    in_force = text.index("Chiffres clés – 2024 (en vigueur)")
    before = text.index("Chiffres clés – 2015 (contrat 2015-2023)")
    assert in_force < before  # the perimeters in force first
    assert "Part en quartier prioritaire 33,2 % année non précisée et 2023" in text[:before]
    assert "Part en quartier prioritaire 29,6 % 2013 et 2023, Insee, RP 2013" in text[before:]
    assert "environ 9 748 2013, Insee, RP 2013 (estimation" in text
    # Its five 2024 quartiers, each with its population, year and source.
    listed = text[text.index("Quartiers prioritaires de la commune – périmètres 2024") :]
    for code in ("QN06224M", "QN06225M", "QN06226M", "QN06227M", "QN06229M"):
        assert code in listed
    assert listed.count("année non précisée, compilation SIG Ville / Insee") == 5
    assert "Sources et millésimes" in text
    assert "Populations légales des communes, millésime 2023 : Insee" in text
    assert "Fiche établie le 1er mars 2025" in text


def test_commune_without_quartier_has_a_sheet_that_says_so(dataset):
    pdf = commune_sheet_pdf(dataset, "62001", generation=2015, made_on=MADE_ON)
    text = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "Ablain-Saint-Nazaire" in text
    assert "Aucun quartier prioritaire du contrat de ville (2015)." in text
    assert "Quartiers prioritaires 0 2015, ANCT, périmètres 2015" in text


def test_unknown_commune_has_no_sheet(dataset):
    with pytest.raises(InputError, match="'59350'"):
        commune_sheet_pdf(dataset, "59350")


@pytest.fixture(scope="module")
def dossier(dataset) -> bytes:
    codes = list(dataset.qpv_of(2015, include_neighbouring=False)["code"])
    return dossier_pdf(dataset, codes[::-1], generation=2015, made_on=MADE_ON)


def test_dossier_has_the_overview_then_one_page_per_quartier_in_the_tour_order(dataset, dossier):
    reader = PdfReader(io.BytesIO(dossier))
    assert len(reader.pages) == 22  # the overview, then the 21 quartiers of the contract

    overview = " ".join(reader.pages[0].extract_text().split())
    assert overview.startswith("Dossier de séance – CA de Lens - Liévin Quartiers prioritaires")
    assert "Quartiers prioritaires 21 2015, ANCT, périmètres 2015" in overview
    assert "Communes concernées 19 sur 36" in overview
    assert "Habitants des quartiers 56 398 2013, Insee, RP 2013" in overview
    assert "Sommaire" in overview and "p. 2 Camus (QP062002) – Angres" in overview

    codes = []
    for page in reader.pages[1:]:
        text = " ".join(page.extract_text().split())
        found = re.search(r"Code (QP\d{6}) · Périmètres 2015", text)
        assert found, text[:200]
        codes.append(found.group(1))
        assert "Chiffres clés" in text and "Sources et millésimes" in text
        assert re.search(r"Population [\d ]+ hab\. 2013, Insee, RP 2013", text)
    contract = set(dataset.qpv_of(2015, include_neighbouring=False)["code"])
    assert sorted(codes) == sorted(contract)  # each quartier once
    # Commune by commune, in alphabetical order, as the presentation visits them: Angres
    # (Camus) first, Wingles (Cité Des Taberneaux) last.
    assert codes[0] == "QP062002" and codes[-1] == "QP062035"
    assert codes == list(dossier_order(dataset, contract, 2015))
    last = " ".join(reader.pages[-1].extract_text().split())
    assert "Dossier établi le 1er mars 2025" in last and "Page 22/22" in last


def test_dossier_of_a_selection_and_of_nothing(dataset):
    pdf = dossier_pdf(dataset, ["QN06225M", "QN06224M"], generation=2024, made_on=MADE_ON)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 3
    assert "Code QN06224M" in reader.pages[1].extract_text()  # Cité 12-14 comes first in Lens
    with pytest.raises(InputError, match="aucun quartier"):
        dossier_pdf(dataset, [], generation=2024)
    with pytest.raises(InputError, match="QP062025"):
        dossier_pdf(dataset, ["QP062025"], generation=2024)
