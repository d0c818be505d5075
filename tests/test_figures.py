"""Figures as a reader checks them: one rounding wherever a figure is printed, the simplified
2024 copy said, each figure with its year and source, per-commune populations split over
every commune a quartier touches, French separators (issue 13)."""

import io
from datetime import date

import apptest
import geopandas as gpd
import pytest
from pypdf import PdfReader

from geo import compare, generations, selection
from geo.coordinates import LAMBERT93
from geo.facts import FactBook
from geo.factsheet import factsheet_pdf
from geo.format import SEP, fr_int, fr_number
from geo.metrics import METRIC_BY_KEY
from geo.selection import Filters, select_qpv

NNBSP = "\u202f"


@pytest.fixture(scope="module")
def book(dataset) -> FactBook:
    return FactBook(dataset)


def printed_areas(dataset, book, code: str) -> dict[str, str]:
    """The area of one quartier as each surface prints it (without its unit)."""
    quartier = book.quartier(code)
    generation = quartier.generation
    other = "QP062025" if generation == generations.PREVIOUS else "QN06224M"
    comparison = compare.formatted(compare.compare(dataset, [code, other], generation=generation))
    simplified = generations.simplified(dataset)
    selected = select_qpv(dataset.qpv, Filters(generation=generation))
    table = selection.table_of(selected, simplified=simplified)
    formats = selection.table_formats(generation, simplified=simplified)
    row = table[table["Code"] == code].iloc[0]
    change = compare.change_table(dataset, code).set_index("label")
    return {
        "fiche": quartier.facts["area_ha"].text,
        "comparaison": comparison.set_index("Code").loc[code, "Surface (ha)"] + f"{SEP}ha",
        "tableau": formats["Superficie (ha)"](row["Superficie (ha)"]) + f"{SEP}ha",
        "évolution": change.loc["Surface (ha)", f"value_{generation}"],
    }


def test_a_2015_area_is_rounded_once_and_the_same_everywhere(dataset, book):
    # QP062047 measures 23.847 ha: rounded once, 23,8 ha (not 23,85 then 23,9).
    shown = printed_areas(dataset, book, "QP062047")
    assert set(shown.values()) == {f"23,8{NNBSP}ha"}, shown
    quartier = book.quartier("QP062047")
    # Its density comes from the unrounded area, then is rounded once.
    area, population = quartier.facts["area_ha"].value, quartier.facts["population"].value
    assert quartier.facts["density"].text == f"{fr_int(population / (area / 100))}{SEP}hab./km²"
    assert quartier.facts["density"].text == f"5{NNBSP}946{NNBSP}hab./km²"


def test_a_2024_area_from_the_simplified_copy_is_given_to_the_unit_and_says_so(dataset, book):
    # QN06225M: 83.65 ha on the simplified copy, which cannot vouch for the decimal.
    shown = printed_areas(dataset, book, "QN06225M")
    assert set(shown.values()) == {f"84{NNBSP}ha"}, shown
    quartier = book.quartier("QN06225M")
    assert quartier.facts["area_ha"].note == generations.SIMPLIFIED_NOTE
    assert quartier.facts["density"].note == generations.SIMPLIFIED_NOTE
    assert quartier.facts["density"].text == f"5{NNBSP}550{NNBSP}hab./km²"  # to the ten
    assert any(
        "Surface et densité des quartiers 2024 : calculé sur des contours simplifiés" in note
        for note in compare.notes(dataset)
    )
    # The change is computed on a simplified side too: to the unit, with its caveat.
    change = compare.change_table(dataset, "QN06225M").set_index("label")
    assert change.loc["Surface (ha)", "change"] == f"+31{NNBSP}%"
    assert "2024 : calculé sur des contours simplifiés" in change.loc["Surface (ha)", "note"]


def test_the_population_of_a_quartier_over_an_outside_commune_is_split_by_real_contours(
    dataset, mirror_dir
):
    # QP062016 (2015) lies in Hulluch (CALL) and in Haisnes and Douvrin, outside the CALL: the
    # mirror holds the contours of every commune of the Pas-de-Calais, so each gets its share
    # by area, and Hulluch's part is what its row says.
    quartier = dataset.qpv[
        (dataset.qpv["code"] == "QP062016") & (dataset.qpv["generation"] == 2015)
    ].iloc[0]
    assert quartier["commune_codes"] == "62464,62401,62276"
    contours = gpd.read_file(mirror_dir / "communes" / "communes-62-pas-de-calais.geojson")
    contours = contours.set_index("code").to_crs(LAMBERT93)
    shape = gpd.GeoSeries([quartier.geometry], crs=dataset.qpv.crs).to_crs(LAMBERT93).iloc[0]
    areas = {
        c: contours.loc[c].geometry.intersection(shape).area for c in ("62464", "62401", "62276")
    }
    assert all(a > 0 for a in areas.values())  # the outside communes are measured, not guessed
    hulluch_part = quartier["population"] * areas["62464"] / sum(areas.values())

    hulluch = dataset.communes.set_index("code").loc["62464"]
    assert hulluch["qpv_codes_2015"] == "QP062016"
    assert hulluch["pop_qpv_2015"] == pytest.approx(hulluch_part)
    assert bool(hulluch["pop_qpv_2015_estimated"])
    assert not [n for n in dataset.report.notes if "contours absents" in n]


def test_a_commune_filter_says_that_quartiers_over_several_communes_are_counted_whole():
    at = apptest.open_page(gen="2015", commune="62464")  # Hulluch: QP062016 reaches 2 others

    text = apptest.text_of(at)
    assert (
        "1 quartier de la sélection s'étend aussi sur une autre commune que celle(s) choisie(s) "
        ": sa population est comptée en entier dans ces chiffres" in text
    )


def test_every_exported_figure_carries_its_year_and_source(dataset):
    result = compare.compare(dataset, ["QN06224M", "QN06227M"])  # with Lens, their commune
    exported = compare.labelled(result)
    for key, column in compare.PROVENANCE.items():
        # Communes and the territory have no published indicators: nothing to source there.
        rows = exported[exported["Type"] == "Quartier"] if key == "indicators" else exported
        assert rows[column].astype(str).str.len().gt(0).all(), column
    quartier = exported.set_index("Code").loc["QN06224M"]
    assert quartier["Population : année et source"] == (
        "année non précisée, compilation SIG Ville / Insee"
    )
    assert quartier["Surface : année et source"] == (
        "2024, ANCT, périmètres 2024 (calculé sur des contours simplifiés)"
    )
    commune = exported.set_index("Code").loc["62498"]
    assert commune["Population : année et source"] == "2023, Insee, populations légales"

    ranked = compare.ranking(dataset, "taux_pauvrete", generation=2024)
    ranking = compare.ranking_export(dataset, ranked, METRIC_BY_KEY["taux_pauvrete"], 2024)
    assert set(ranking["Année et source"]) == {"année non précisée, compilation SIG Ville / Insee"}

    selected = select_qpv(dataset.qpv, Filters(generation=2015))
    table = selection.table_of(selected, simplified=generations.simplified(dataset))
    assert set(table["Année de la population"]) == {"2013"}
    assert table["Source de la population"].str.startswith("Insee").all()
    assert set(table["Superficie : année et source"]) == {
        "2015, ANCT, périmètres 2015 ; évolution : périmètres 2024 simplifiés"
    }


def test_thousands_never_break_one_separator_everywhere():
    assert SEP == NNBSP
    assert fr_number(56398) == f"56{NNBSP}398"
    assert fr_number(1234.5, 1) == f"1{NNBSP}234,5"
    assert fr_number(5551, -1) == f"5{NNBSP}550"
    assert fr_number(-0.04, 1) == "0,0"  # never « -0,0 »


def test_a_ratio_over_100_is_treated_alike_on_the_sheet_the_panel_and_the_comparison(dataset, book):
    # Sellier Cité 4 counts 896 social dwellings for 794,2 households: 112,82 % as published.
    reason = "plus de 100\u202f% : la source compte 896 logements sociaux pour 794,2 ménages"
    quartier = book.quartier("QN06227M")
    assert quartier.flag("taux_logements_sociaux").reason == reason
    assert quartier.facts["taux_logements_sociaux"].shown == "112,8\u202f% ⚠️"

    comparison = compare.formatted(compare.compare(dataset, ["QN06227M", "QN06224M"]))
    sellier = comparison.set_index("Code").loc["QN06227M"]
    assert sellier["Logements sociaux rapportés au nombre de ménages (%)"] == "112,8 ⚠️"
    assert reason in sellier["Remarques"]

    pdf = factsheet_pdf(dataset, "QN06227M", made_on=date(2025, 3, 1))
    text = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "Logements sociaux rapportés au nombre de ménages 112,8 % ⚠️" in text
    assert " ".join(reason.split()) in text
