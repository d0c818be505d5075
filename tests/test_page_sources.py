"""The sources page (``/sources``) as a user sees it, driven by AppTest on the processed data."""

import apptest
import pytest
from apptest import unescape
from streamlit.testing.v1 import AppTest

from geo.sources import DATASETS

TIMEOUT = 60


@pytest.fixture(scope="module")
def page() -> AppTest:
    return apptest.open_page("pages/sources.py", timeout=TIMEOUT)


def text_of(at: AppTest) -> str:
    kinds = ("header", "subheader", "markdown", "caption")
    text = "\n".join(e.value for kind in kinds for e in at.get(kind))
    return unescape(text.replace("**", ""))  # what a reader sees, without Markdown marks


def test_every_dataset_is_listed_with_producer_vintage_licence_and_link(page):
    text = text_of(page)
    for ds in DATASETS.values():
        assert ds.title in text
        assert f"Producteur : {ds.producer}" in text
        assert f"Millésime : {ds.vintage}" in text
        assert f"Licence : {ds.licence}" in text
    raw = "\n".join(e.value for e in page.markdown)
    assert "(https://www.data.gouv.fr/fr/datasets/5a561801c751df42d7fca9b6/)" in raw
    assert "(https://www.insee.fr/fr/statistiques/2500431)" in raw


def test_limits_that_matter_to_a_user_are_stated(page):
    text = text_of(page)
    assert "Périmètres 2024 simplifiés" in text  # the mirror holds the simplified copy
    assert "jusqu'à environ 120\u202fm" in text
    assert "Contours des communes simplifiés" in text
    assert "réparti entre elles au prorata de sa surface" in text
    assert "Année de la population des quartiers 2024 : la source ne la précise pas" in text
    assert "Quartier voisin QP062043 : La Plaine du 7 relève du contrat de ville" in text


def test_build_report_counts_match_the_map(page):
    counts = page.table[0].value.set_index("Périmètres")
    row_2015 = counts.loc["Périmètres 2015 (contrat de ville 2015-2023)"]
    assert row_2015["Du contrat de ville"] == 21
    assert row_2015["Communes concernées"] == 19
    assert row_2015["Voisins (hors contrat)"] == 1
    assert row_2015["Habitants"] == "56\u202f398 (2013)"
    row_2024 = counts.loc["Périmètres 2024, en vigueur depuis le 1er janvier 2024"]
    assert row_2024["Habitants"] == "60\u202f441 (année non précisée)"
    assert "36 communes, 242\u202f013 habitants (population municipale 2023)" in text_of(page)


def test_repaired_geometries_are_listed_in_french(page):
    repaired = page.table[1].value
    assert list(repaired["Quartier"]) == ["QP062035", "QP062034"]
    assert set(repaired["Défaut"]) == {"polygone qui se recoupe (auto-intersection)"}
    assert repaired.loc[0, "Surface avant (m²)"] == "454\u202f448,3"


def test_flagged_values_are_a_table_with_labels_and_reasons(page):
    flags = page.dataframe[0].value
    assert len(flags) == 14
    over = flags[flags["Motif"].str.startswith("plus de 100\u202f%")]
    assert list(over["Quartier"]) == ["Sellier Cité 4 (QN06227M)", "3 Cités (QN06231M)"]
    # The rate is social dwellings over households: named for what it is, in French.
    assert list(over["Donnée"]) == ["Logements sociaux rapportés au nombre de ménages"] * 2
    assert list(over["Valeur"]) == ["112,82", "100,83"]
    assert over["Motif"].iloc[0] == (
        "plus de 100\u202f% : la source compte 896 logements sociaux pour 794,2 ménages"
    )
    # Every flagged column is named in French, none by its column name.
    assert not flags["Donnée"].str.contains("_").any()
    assert (flags.loc[flags["Motif"] == "valeur manquante", "Valeur"] == "—").all()


def test_files_read_say_where_they_came_from(page):
    files = page.dataframe[1].value
    row = files.set_index("Fichier").loc["qpv2024_simplified.geojson"]
    assert row["Provenance"] == "copie hors ligne (miroir)"
    assert row["Jeu de données"] == DATASETS["qpv2024"].title
