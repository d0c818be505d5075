"""/comparer driven with AppTest: what a user sees for a shared link and for their choices."""

import apptest
import pytest
from streamlit.testing.v1 import AppTest

PAGE = "pages/comparer.py"


@pytest.fixture
def page(processed):
    def open_page(**params) -> AppTest:
        return apptest.open_page(PAGE, **params)

    return open_page


def figures(at: AppTest):
    """The comparison table: one row per figure, one column per quartier or reference."""
    return at.table[0].value.set_index("Indicateur")


def test_link_compares_two_named_quartiers_with_their_populations(page):
    at = page(qpv="QP062025,QP062032")

    assert not at.exception
    table = figures(at)
    assert table.loc["Population", "Grande Résidence (QP062025)"] == "4\u202f803"
    assert table.loc["Population", "Cité 10 (QP062032)"] == "1\u202f610"
    assert table.loc["Année de la population", "Grande Résidence (QP062025)"] == "2013"
    assert table.loc["Population", "Sains-en-Gohelle (commune)"] == "5\u202f948"
    assert table.loc["Population", "CA de Lens - Liévin"] == "242\u202f013"
    # 2015 codes open the 2015 perimeters, and the URL says so.
    assert at.radio(key="cmp_generation").value == 2015
    assert at.query_params["gen"] == "2015"
    # Each chart says the year and source of the quartiers' figures it draws.
    captions = [apptest.unescape(c.value) for c in at.caption]
    assert any("Quartiers : 2013, Insee, RP 2013" in c for c in captions), captions


def test_2024_comparison_shows_the_indicators_and_explains_missing_values(page):
    at = page(qpv="QN06224M,QN06227M")

    table = figures(at)
    assert table.loc["Taux de pauvreté (%)", "Sellier Cité 4 (QN06227M)"] == "51,0"
    # Social dwellings over households: over 100 % here, shown as published and marked.
    title = "Logements sociaux rapportés au nombre de ménages (%)"
    assert table.loc[title, "Sellier Cité 4 (QN06227M)"] == "112,8 ⚠️"
    assert table.loc["Surface : année et source", "Sellier Cité 4 (QN06227M)"] == (
        "2024, ANCT, périmètres 2024 (calculé sur des contours simplifiés)"
    )
    remarks = " ".join(m.value for m in at.markdown)
    assert "valeur publiée 112,82\u202f%, plus de 100\u202f% \\: la source compte 896" in remarks
    labels = [button.proto.label for button in at.get("download_button")]
    assert "Télécharger le tableau (CSV)" in labels
    assert "Télécharger le tableau (Excel)" in labels


def test_ranking_puts_the_highest_poverty_rate_first_and_marks_the_compared(page):
    at = page(qpv="QN06224M,QN06227M")

    ranking = at.table[1].value
    assert len(ranking) == 21
    first = ranking.iloc[0]
    assert first["Quartier"] == "Sellier Cité 4 (QN06227M)"
    assert first["Rang"] == "1"
    assert first["Comparé ici"] == "oui"
    assert list(ranking["Rang"].tail(2)) == ["—", "—"]


def test_all_quartiers_of_a_commune_and_the_url_follows(page):
    at = page()
    at.radio(key="cmp_mode").set_value("Tous les quartiers d'une commune").run()
    at.selectbox(key="cmp_commune").set_value("62498").run()

    lens = [c for c in figures(at).columns if "(QN0" in c]
    assert len(lens) == 5
    assert "Grande Résidence (QN06225M)" in lens
    assert at.query_params["qpv"].count(",") == 4
    assert "gen" not in at.query_params  # 2024 is the page's default

    at.radio(key="cmp_generation").set_value(2015).run()
    assert "Grande Résidence (QP062025)" in figures(at).columns
    assert at.query_params["gen"] == "2015"


def test_a_bad_link_is_reported_without_breaking_the_page(page):
    at = page(qpv="QP062025,PASUNCODE")

    assert not at.exception
    assert any("PASUNCODE" in w.value for w in at.warning)
    assert any("au moins 2 quartiers" in i.value for i in at.info)


def test_a_link_with_thousands_of_unknown_codes_gives_one_warning(page):
    at = page(qpv=",".join(f"QPX{i:05d}" for i in range(25_000)) + ",QP062025,QP062032")

    assert not at.exception
    (warning,) = at.warning
    assert warning.value.startswith(
        "Lien : Le lien donne plus de 50 codes pour « qpv » : seuls les 50 premiers sont lus ; "
        "code(s) de quartier inconnu(s) : « QPX00000 », « QPX00001 »"
    )
    assert "et 45 autres." in warning.value
    assert any("au moins 2 quartiers" in i.value for i in at.info)


def test_a_zero_width_space_in_a_link_does_not_hide_a_quartier(page):
    at = page(qpv="\u200bQP062025,qp062032\u200e")

    assert not at.warning
    assert "Grande Résidence (QP062025)" in figures(at).columns
    assert "Cité 10 (QP062032)" in figures(at).columns
