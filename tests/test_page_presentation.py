"""/presentation driven with AppTest: steps, their URLs, and the figures shown at each step."""

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


def metrics(at: AppTest) -> dict[str, str]:
    """Label -> value of the metrics, the step's own first (the territory's strip follows)."""
    shown: dict[str, str] = {}
    for m in at.metric:
        shown.setdefault(m.label, m.value)
    return shown


def test_overview_shows_the_territory_key_figures(page):
    at = page()

    assert not at.exception
    assert title(at) == "Quartiers prioritaires — CA de Lens - Liévin"
    shown = metrics(at)
    assert shown["Quartiers prioritaires"] == "21"
    assert shown["Communes concernées"] == "19 sur 36"
    assert shown["Habitants des quartiers en 2013"] == "56 398"
    assert shown["Part de la population du territoire"] == "23,3 %"
    assert at.button(key="presentation_previous").disabled
    assert dict(at.query_params) == {}


def test_next_and_previous_step_through_a_commune_and_its_quartiers(page):
    at = page(commune="62498")
    assert title(at) == "Lens"
    assert metrics(at)["Habitants en 2023"] == "32 920"

    at.button(key="presentation_next").click().run()
    assert title(at) == "Cité 12-14"
    assert at.query_params["commune"] == "62498"
    assert at.query_params["qpv"] == "QP062024"
    assert metrics(at)["Habitants en 2013"] == "2 215 hab."

    at.button(key="presentation_previous").click().run()
    assert title(at) == "Lens"
    assert "qpv" not in at.query_params


def test_a_step_opens_from_its_url_and_switches_perimeters_in_place(page):
    at = page(commune="62498", qpv="QP062025")
    assert title(at) == "Grande Résidence"
    assert metrics(at)["Habitants en 2013"] == "4 803 hab."

    at.radio(key="presentation_gen").set_value(2024).run()
    assert at.query_params["qpv"] == "QN06225M"
    assert at.query_params["gen"] == "2024"
    assert metrics(at)["Taux de pauvreté"] == "49,0 %"


def test_the_last_step_has_no_next(page):
    at = page(commune="62895", qpv="QP062035")  # Wingles, last commune by name
    assert title(at) == "Cité Des Taberneaux"
    assert at.button(key="presentation_next").disabled


def test_an_unknown_commune_falls_back_to_the_overview_with_a_warning(page):
    at = page(commune="99999")
    assert not at.exception
    assert any("99999" in w.value for w in at.warning)
    assert title(at).startswith("Quartiers prioritaires —")
