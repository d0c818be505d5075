"""/presentation driven with AppTest: steps, their URLs, jumps, and the figures of each step."""

import apptest
import pytest
from streamlit.testing.v1 import AppTest


@pytest.fixture
def page(processed):
    def open_page(**params) -> AppTest:
        return apptest.open_page("pages/presentation.py", **params)

    return open_page


def title(at: AppTest) -> str:
    return at.title[0].value.replace("\\", "")  # titles are Markdown-escaped


def value(at: AppTest, label: str) -> str:
    return apptest.figures(at)[label][0]


def test_the_presentation_opens_on_the_perimeters_in_force(page):
    at = page()

    assert at.radio(key="presentation_gen").value == 2024
    assert apptest.figures(at)["Quartiers prioritaires"] == ("21", "2024, ANCT, périmètres 2024")
    assert dict(at.query_params) == {}


def test_overview_shows_the_territory_key_figures_with_their_years(page):
    at = page(gen="2015")  # the contract's perimeters, one click away

    assert not at.exception
    assert title(at) == "Quartiers prioritaires — CA de Lens - Liévin"
    shown = apptest.figures(at)
    assert shown["Quartiers prioritaires"] == ("21", "2015, ANCT, périmètres 2015")
    assert shown["Communes concernées"][0] == "19 sur 36"
    assert shown["Habitants des quartiers"] == ("56\u202f398", "2013, Insee, RP 2013")
    assert shown["Part de la population du territoire"][0] == "23,3\u202f%"
    assert "2013 et 2023" in shown["Part de la population du territoire"][1]
    assert at.button(key="presentation_previous").disabled
    assert at.button(key="presentation_home").disabled
    assert dict(at.query_params) == {"gen": "2015"}


def test_next_and_previous_step_through_a_commune_and_its_quartiers(page):
    at = page(gen="2015", commune="62498")
    assert title(at) == "Lens"
    assert apptest.figures(at)["Habitants"] == ("32\u202f920", "2023, Insee, populations légales")

    at.button(key="presentation_next").click().run()
    assert title(at) == "Cité 12-14"
    assert at.query_params["commune"] == "62498"
    assert at.query_params["qpv"] == "QP062024"
    assert apptest.figures(at)["Population"] == ("2\u202f215\u202fhab.", "2013, Insee, RP 2013")

    at.button(key="presentation_previous").click().run()
    assert title(at) == "Lens"
    assert "qpv" not in at.query_params

    at.button(key="presentation_home").click().run()
    assert title(at).startswith("Quartiers prioritaires —")
    assert dict(at.query_params) == {"gen": "2015"}


def test_a_step_opens_from_its_url_and_switches_perimeters_in_place(page):
    at = page(commune="62498", qpv="QP062025")
    assert title(at) == "Grande Résidence"
    assert value(at, "Population") == "4\u202f803\u202fhab."

    at.radio(key="presentation_gen").set_value(2024).run()
    assert at.query_params["qpv"] == "QN06225M"
    assert "gen" not in at.query_params  # the perimeters in force are the default
    assert apptest.figures(at)["Taux de pauvreté"] == (
        "49,0\u202f%",
        "année non précisée, compilation SIG Ville / Insee",
    )
    assert apptest.figures(at)["Surface"][1] == (
        "2024, ANCT, périmètres 2024 (calculé sur des contours simplifiés)"
    )


def test_the_perimeters_in_force_are_offered_first(page):
    at = page()
    assert at.radio(key="presentation_gen").options == [
        "2024 (en vigueur)",
        "2015 (contrat 2015-2023)",
    ]


def test_the_last_step_has_no_next(page):
    at = page(commune="62895", qpv="QP062035")  # Wingles, last commune by name
    assert title(at) == "Cité Des Taberneaux"
    assert at.button(key="presentation_next").disabled


def test_an_unknown_commune_falls_back_to_the_overview_with_a_warning(page):
    at = page(commune="99999")
    assert not at.exception
    assert any("99999" in w.value for w in at.warning)
    assert title(at).startswith("Quartiers prioritaires —")


def test_a_step_number_opens_that_step_and_the_url_names_it(page):
    at = page(gen="2015", etape="23")
    assert title(at) == "Cité 12-14"
    assert dict(at.query_params) == {"gen": "2015", "commune": "62498", "qpv": "QP062024"}
    assert any("étape 23 sur 51" in c.value for c in at.caption)


@pytest.mark.parametrize("raw", ["0", "52", "douze", "-3"])
def test_a_step_number_out_of_range_is_said_in_french(page, raw):
    at = page(gen="2015", etape=raw)
    assert title(at).startswith("Quartiers prioritaires —")
    assert any(f"Étape inconnue : « {raw}" in w.value.replace("\\", "") for w in at.warning)
    assert any("de 1 à 51" in w.value for w in at.warning)


def test_a_search_without_accents_finds_the_commune_and_its_quartiers(page):
    at = page(gen="2015")
    at.text_input(key="presentation_search").input("lievin").run()

    # Several matches: the two lists hold them, accents or not; the step has not changed.
    assert title(at).startswith("Quartiers prioritaires —")
    communes = at.selectbox(key="presentation_jump_commune")
    quartiers = at.selectbox(key="presentation_jump_qpv")
    assert communes.options == ["Liévin (3 quartiers)"]
    assert "Les Hauts De Liévin - Résidence Des Provinces - Cités 9-9bis – QP062029" in (
        quartiers.options
    )

    communes.set_value("62510").run()
    assert title(at) == "Liévin"
    assert dict(at.query_params) == {"gen": "2015", "commune": "62510"}


def test_a_search_with_one_match_goes_straight_there(page):
    at = page(gen="2015")
    at.text_input(key="presentation_search").input("ELEU dit").run()
    assert title(at) == "Éleu-dit-Leauwette"
    assert dict(at.query_params) == {"gen": "2015", "commune": "62291"}

    at.text_input(key="presentation_search").input("qp062035").run()
    assert title(at) == "Cité Des Taberneaux"


def test_a_search_matching_nothing_says_so(page):
    at = page()
    at.text_input(key="presentation_search").input("Arras").run()
    assert any("Aucune commune ni aucun quartier" in c.value for c in at.caption)
    assert at.selectbox(key="presentation_jump_qpv").options == []
