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
    assert shown["Financements mobilisés"] == "2\u202f401\u202f654\u202f€"
    assert shown["Subventions de la CALL"] == "environ 170\u202f000\u202f€"
    text = " ".join(m.value for m in at.markdown)
    assert "**205 projets**" in text
    assert "6,5 millions d'euros" in text

    funding = at.table[0].value.set_index("Financeur")["Montant"]
    assert funding["État"] == "1\u202f831\u202f401\u202f€"
    assert funding["Région"] == "665\u202f298\u202f€"
    assert funding["Communes"] == "1\u202f500\u202f000\u202f€"
    assert funding["Département"] == "159\u202f800\u202f€"
    assert funding["Total annoncé des financements"] == "2\u202f401\u202f654\u202f€"


def test_the_sum_of_contributions_is_computed_and_the_gap_stated(at):
    note = " ".join(i.value for i in at.info)
    assert "4\u202f156\u202f499\u202f€" in note
    assert "1\u202f754\u202f845\u202f€" in note
    assert "sans correction" in note


def test_live_figures_of_the_territory_come_from_the_data(at):
    shown = metrics(at)
    assert shown["Quartiers prioritaires du contrat"] == "21"
    assert shown["Communes concernées"] == "19"
    assert shown["Habitants en 2013"] == "56\u202f398"


def sections(at: AppTest) -> dict[str, list[str]]:
    """What the page shows under each header (markdown and captions), in order."""
    out: dict[str, list[str]] = {"": []}
    current = ""
    for element in at.main:
        if element.type == "header":
            current = element.value
            out[current] = []
        elif element.type in ("markdown", "caption"):
            out[current].append(element.value)
    return out


def test_the_contract_says_what_its_source_says_with_the_source(at):
    shown = sections(at)
    contract = " ".join(shown["Le contrat de ville"])
    # « 4 piliers », as the CALL's page says, the fourth being the cross-cutting axis.
    assert "Il repose sur 4 piliers" in contract
    for pillar in (
        "l'amélioration de l'inclusion et du développement de la cohésion sociale",
        "l'amélioration de l'habitat, du cadre de vie et de l'environnement",
        "le renforcement de l'attractivité des QPV",
        "l'égalité des chances (axe transversal)",
    ):
        assert pillar in contract
    assert "2015–2020" in contract and "2023" in contract
    # The partners the page names, and no more: it says « ou bien encore ».
    assert (
        "**Partenaires engagés dans le contrat**, notamment : l'État, la Région, le Département "
        "et la Caisse d'allocations familiales." in contract
    )
    text = " ".join(" ".join(v) for v in shown.values())
    for unsourced in ("Contrat local de santé", "Atelier santé ville", "Programmes liés"):
        assert unsourced not in text
    # Every section of published facts ends with its source and its year (or none given).
    for header in ("Qu'est-ce que la politique de la ville ?", "Le contrat de ville",
                   "La programmation 2020", "Violences intrafamiliales"):  # fmt: skip
        assert shown[header][-1].startswith("Source : [Communauté d'agglomération")
        assert shown[header][-1].endswith("année non précisée.")


def test_the_65000_euros_are_not_placed_under_the_2020_programme(at):
    shown = sections(at)
    assert not any("65\u202f000" in line for line in shown["La programmation 2020"])
    violence = " ".join(shown["Violences intrafamiliales"])
    assert "subventionne 4 associations à hauteur de **65\u202f000\u202f€**" in violence
    assert "ne rattache pas ce montant à la programmation 2020" in violence
    assert "https://mag.agglo-lenslievin.fr/violences-conjugales/" in violence
