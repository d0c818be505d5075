"""One quartier's facts as one typed object (``geo/quartier.py``), read from the real tables:
the map panel, the comparison and the sheets all read these, so each is decided once."""

import pytest

from geo import compare
from geo.facts import FactBook
from geo.quartier import Epci, neighbour_reason, status_label, status_notes


@pytest.fixture(scope="module")
def book(dataset) -> FactBook:
    return FactBook(dataset)


def test_the_share_of_its_communes_is_the_one_the_comparison_shows(book, dataset):
    quartier = book.quartier("QP062025")  # Grande Résidence, on three communes

    share = quartier.facts["share_of_commune_pct"]
    assert share.text == "10,3\u202f%"
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

    assert quartier.shared and quartier.other_epcis == (Epci("246200299", "CA d'Hénin-Carvin"),)
    assert status_notes(quartier)[0].startswith("Quartier partagé avec CA d'Hénin-Carvin :")
    assert quartier.status_label == status_label("contrat", True)
    assert quartier.facts["share_of_commune_pct"].text == "—"
    assert "non calculée" in quartier.flag("share_of_commune_pct").text


def test_a_ratio_over_100_keeps_its_published_figure_marked_with_its_reason(book):
    quartier = book.quartier("QN06227M")

    flag = quartier.flag("taux_logements_sociaux")
    assert flag.published == pytest.approx(112.82)
    assert flag.reason == (
        "plus de 100\u202f% : la source compte 896 logements sociaux pour 794,2 ménages"
    )
    fact = quartier.facts["taux_logements_sociaux"]
    assert fact.label == "Logements sociaux rapportés au nombre de ménages"
    assert fact.shown == "112,8\u202f% ⚠️"  # as published, marked: never blanked nor corrected
    assert [f.key for f in quartier.headline[-2:]] == ["taux_pauvrete", "taux_emploi"]


def test_a_previous_quartier_has_no_indicators_but_its_successor_does(book):
    assert book.quartier("QP062025").indicators == ()
    assert len(book.quartier("QN06225M").indicators) == 14


def test_an_epci_missing_from_the_epci_table_is_explained_not_printed_raw(book):
    quartier = book.quartier("QP062016")  # Hulluch, with Haisnes and Douvrin

    assert quartier.other_epcis == (Epci("200044055", None),)
    note = status_notes(quartier)[0]
    # The SIREN of the 2015 attribution is absent from the 2026 EPCI table: said, with what the
    # data says of its communes outside the territory today.
    assert "ne figure pas dans la liste des EPCI de 2026" in note
    assert "SIREN 200044055 vient de l'attribution des quartiers 2015" in note
    assert (
        "ses communes hors du territoire (Haisnes, Douvrin) relèvent de CA de Béthune-Bruay, "
        "Artois-Lys Romane" in note
    )
