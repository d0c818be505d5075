"""One quartier's facts as one typed object (``geo/quartier.py``), read from the real tables:
the map panel, the comparison and the sheets all read these, so each is decided once."""

import pytest

from geo import compare
from geo.facts import FactBook
from geo.quartier import neighbour_reason, status_label, status_notes


@pytest.fixture(scope="module")
def book(dataset) -> FactBook:
    return FactBook(dataset)


def test_the_share_of_its_communes_is_the_one_the_comparison_shows(book, dataset):
    quartier = book.quartier("QP062025")  # Grande Résidence, on three communes

    share = quartier.facts["share_of_commune_pct"]
    assert share.text == "10,3 %"
    assert share.year == "2013 et 2023"
    assert quartier.communes_population == 46625
    table = compare.compare(dataset, ["QP062025", "QP062024"], generation=2015).table
    assert table.set_index("code").loc["QP062025", "share_of_commune_pct"] == share.value


def test_a_neighbour_s_reason_is_the_same_for_both_of_its_generations(book, dataset):
    before, after = book.quartier("QP062043"), book.quartier("QN06243M")  # La Plaine du 7

    assert before.status == after.status == "voisin"
    assert (
        before.neighbour_reason == after.neighbour_reason == neighbour_reason(dataset, "QN06243M")
    )
    assert "CA d'Hénin-Carvin" in before.neighbour_reason
    assert before.contract_name == "CA d'Hénin-Carvin"
    assert status_notes(after)[0].startswith("Quartier voisin, hors contrat de ville")


def test_a_shared_quartier_names_the_other_epci_and_its_missing_share(book):
    quartier = book.quartier("QP062045")  # Quartier du Maroc, partly in the CA d'Hénin-Carvin

    assert quartier.shared and quartier.other_epcis == ("246200299",)
    assert quartier.status_label == status_label("contrat", True)
    assert quartier.facts["share_of_commune_pct"].text == "—"
    assert "non calculée" in quartier.flag("share_of_commune_pct").text


def test_a_value_set_aside_keeps_its_published_figure_and_reason(book):
    quartier = book.quartier("QN06227M")

    flag = quartier.flag("taux_logements_sociaux")
    assert flag.published == pytest.approx(112.82)
    assert flag.reason == "supérieure à 100 % : implausible"
    assert quartier.facts["taux_logements_sociaux"].value is None  # never shown as a figure
    assert [f.key for f in quartier.headline[-2:]] == ["taux_pauvrete", "taux_emploi"]


def test_a_previous_quartier_has_no_indicators_but_its_successor_does(book):
    assert book.quartier("QP062025").indicators == ()
    assert len(book.quartier("QN06225M").indicators) == 14
