"""/contrat-de-ville driven with AppTest: the published figures, the note, the live figures."""

import apptest
import pytest
from streamlit.testing.v1 import AppTest


@pytest.fixture(scope="module")
def at(processed) -> AppTest:
    return apptest.open_page("pages/contrat_de_ville.py")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_page_shows_205_projects_and_the_funding_as_published(at):
    assert not at.exception
    shown = metrics(at)
    assert shown["Projets"] == "205"
    assert shown["Financements mobilisés"] == "2 401 654 €"
    assert shown["Subventions de la CALL"] == "environ 170 000 €"
    text = " ".join(m.value for m in at.markdown)
    assert "**205 projets**" in text
    assert "6,5 millions d'euros" in text
    assert "65 000 €" in text and "violences conjugales" in text

    funding = at.table[0].value.set_index("Financeur")["Montant"]
    assert funding["État"] == "1 831 401 €"
    assert funding["Région"] == "665 298 €"
    assert funding["Communes"] == "1 500 000 €"
    assert funding["Département"] == "159 800 €"
    assert funding["Total annoncé des financements"] == "2 401 654 €"


def test_the_sum_of_contributions_is_computed_and_the_gap_stated(at):
    note = " ".join(i.value for i in at.info)
    assert "4 156 499 €" in note
    assert "1 754 845 €" in note
    assert "sans correction" in note


def test_live_figures_of_the_territory_come_from_the_data(at):
    shown = metrics(at)
    assert shown["Quartiers prioritaires du contrat"] == "21"
    assert shown["Communes concernées"] == "19"
    assert shown["Habitants en 2013"] == "56 398"


def test_pillars_partners_programmes_and_source(at):
    text = " ".join(m.value for m in at.markdown)
    for pillar in (
        "Cohésion sociale et inclusion",
        "Habitat, cadre de vie et environnement",
        "Attractivité des quartiers prioritaires",
        "égalité des chances",
    ):
        assert pillar in text
    assert "2015–2020" in text and "2023" in text
    for partner in ("État", "Région", "Département", "CAF", "communes"):
        assert partner in text
    for programme in (
        "Contrat local de santé",
        "Atelier santé ville",
        "Prévention de la délinquance",
        "36 communes",
        "Plan de lutte contre les discriminations",
        "Appel à projets pour les associations",
    ):
        assert programme in text
    source = " ".join(c.value for c in at.caption)
    assert "https://www.agglo-lenslievin.fr/politique-de-la-ville/" in source
