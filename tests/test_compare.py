"""Comparison tables, ranking, tour and the contrat de ville facts, on the CALL's real data."""

import json
import math

import pandas as pd
import pytest

from geo import compare, contract, selection
from geo.errors import InputError, SchemaError
from geo.metrics import METRICS


def row(table: pd.DataFrame, code: str) -> pd.Series:
    return table.set_index("code").loc[code]


def test_two_named_quartiers_with_their_communes_and_the_territory(dataset):
    result = compare.compare(dataset, ["QP062025", "QP062032"], generation=2015)
    table = result.table

    assert list(table["kind"]) == [
        *["quartier"] * 2, *["commune"] * 4, "territoire", "mediane"
    ]  # fmt: skip
    grande = row(table, "QP062025")
    assert grande["name"] == "Grande Résidence"
    assert grande["population"] == 4803
    assert grande["population_year"] == 2013
    assert row(table, "QP062032")["name"] == "Cité 10"
    assert row(table, "QP062032")["population"] == 1610
    # Its three communes (official order), then Sains-en-Gohelle for Cité 10.
    assert list(table.loc[table["kind"] == "commune", "name"]) == [
        "Lens", "Vendin-le-Vieil", "Loison-sous-Lens", "Sains-en-Gohelle"
    ]  # fmt: skip
    territory = row(table, "246200364")
    assert territory["population"] == 242013
    assert territory["communes"] == "36 communes"
    # Cité 10 is in one commune: 1 610 of Sains-en-Gohelle's 5 948 inhabitants (2023).
    assert row(table, "QP062032")["share_of_commune_pct"] == pytest.approx(
        1610 / 5948 * 100, abs=0.01
    )
    assert row(table, "62737")["population"] == 5948
    assert row(table, "62737")["population_year"] == 2023


def test_2015_comparison_has_no_2024_indicators(dataset):
    result = compare.compare(dataset, ["QP062025", "QP062032"], generation=2015)
    assert {m.key for m in result.metrics} == {
        "population", "area_ha", "density", "share_of_commune_pct"
    }  # fmt: skip
    assert result.table["taux_pauvrete"].isna().all()


def test_codes_of_the_other_generation_follow_their_counterpart(dataset):
    result = compare.compare(dataset, ["QP062024", "qn06227m ", "QP062024"])
    assert result.codes == ("QN06224M", "QN06227M")
    assert list(result.quartiers["name"]) == ["Cité 12-14", "Sellier Cité 4"]


def test_a_ratio_over_100_is_shown_as_published_marked_and_explained(dataset):
    result = compare.compare(dataset, ["QN06227M", "QN06231M"])
    sellier = row(result.table, "QN06227M")
    assert sellier["taux_logements_sociaux"] == pytest.approx(112.82)  # as published
    assert "taux_logements_sociaux" in sellier["flagged"].split(",")
    assert "112,82\u202f%" in sellier["flags"]
    assert "896 logements sociaux pour 794,2 ménages" in sellier["flags"]
    assert sellier["nombre_logements_sociaux"] == 896  # the count itself is kept
    shown = compare.formatted(result).set_index("Code")
    title = "Logements sociaux rapportés au nombre de ménages (%)"
    assert shown.loc["QN06227M", title] == "112,8 ⚠️"
    assert "médiane" not in shown.loc["QN06227M", title]


def test_missing_values_stay_missing_never_zero(dataset):
    table = compare.compare(dataset, ["QN06202M", "QN06245M"]).table
    camus = row(table, "QN06202M")
    assert math.isnan(camus["taux_pauvrete"])
    assert "Taux de pauvreté : valeur manquante" in camus["flags"]
    assert camus["taux_emploi"] == 44.7
    maroc = row(table, "QN06245M")
    assert math.isnan(maroc["nombre_logements_sociaux"])
    # Rouvroy is outside the CALL: no population to divide by.
    assert math.isnan(maroc["share_of_commune_pct"])
    assert "hors du territoire" in maroc["flags"]
    numeric = table[[m.key for m in METRICS]].astype(float)
    assert not (numeric == 0).any().any()


def test_median_row_is_the_median_of_the_21_contract_quartiers(dataset):
    table = compare.compare(dataset, ["QN06202M", "QN06245M"]).table
    median = table[table["kind"] == "mediane"].iloc[0]
    contract = dataset.qpv_of(2024, include_neighbouring=False)
    assert len(contract) == 21
    assert median["name"] == "Médiane des 21 quartiers du contrat"
    assert median["population"] == contract["population"].astype(float).median()
    # Flagged values are left out of the median: 19 social-housing rates, not 21.
    rates = contract.set_index("code")["taux_logements_sociaux"].drop(["QN06227M", "QN06231M"])
    assert median["taux_logements_sociaux"] == pytest.approx(rates.median())


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        (["QP062025"], "entre 2 et 8"),
        (["QN062XXX", "QP062025"], "'QN062XXX'"),
        ([f"QN062{i}M" for i in range(19, 28)], "(9 choisi(s))"),
    ],
)
def test_bad_requests_are_refused_with_the_value(dataset, codes, message):
    with pytest.raises(InputError) as error:
        compare.compare(dataset, codes)
    assert message in str(error.value)


def test_ranking_on_poverty_has_every_contract_quartier_and_missing_values_last(dataset):
    ranked = compare.ranking(dataset, "taux_pauvrete", generation=2024)
    assert len(ranked) == 21
    assert "QN06243M" not in set(ranked["code"])  # La Plaine du 7: neighbouring
    assert ranked.iloc[0]["code"] == "QN06227M"
    assert ranked.iloc[0]["value"] == 51.0
    assert ranked.iloc[0]["rank"] == 1
    # Two quartiers at 49 % share rank 2; the next one is 4th.
    assert list(ranked["rank"].iloc[1:4]) == [2, 2, 4]
    tail = ranked.tail(2)
    assert set(tail["code"]) == {"QN06202M", "QN06232M"}
    assert tail["rank"].isna().all()
    assert (tail["flags"] == "Taux de pauvreté : valeur manquante").all()


def test_ranking_refuses_an_indicator_the_generation_lacks(dataset):
    with pytest.raises(InputError, match="'taux_pauvrete'"):
        compare.ranking(dataset, "taux_pauvrete", generation=2015)


def test_quartiers_of_a_commune_and_the_tour(dataset):
    assert len(selection.quartiers_of_commune(dataset, "62498", 2015)) == 5
    holding = selection.communes_with_quartiers(dataset, 2015)
    assert len(holding) == 19
    assert holding.iloc[0]["name"] == "Angres"

    steps = selection.tour(dataset, 2015)
    assert steps[0] == selection.Step()
    assert len(steps) == 1 + 19 + int(holding["n_qpv"].sum())
    lens = selection.find_step(steps, commune="62498", qpv=None)
    assert steps[lens + 1].commune == "62498" and steps[lens + 1].qpv is not None
    # A quartier without its commune goes to its first commune; unknown values to the start.
    assert steps[selection.find_step(steps, commune=None, qpv="QP062025")].qpv == "QP062025"
    assert selection.find_step(steps, commune="99999", qpv=None) == 0


@pytest.mark.parametrize("generation", [2015, 2024])
def test_quartiers_by_commune_in_one_pass_match_each_communes_own_list(dataset, generation):
    by_commune = selection.quartiers_by_commune(dataset, generation)
    assert by_commune["62498"]  # Lens holds quartiers of both generations
    for insee in dataset.communes["code"]:
        expected = selection.quartiers_of_commune(dataset, insee, generation)
        assert by_commune.get(insee, ()) == expected, insee


def test_change_between_generations(dataset):
    change = compare.change_table(dataset, "QN06234M").set_index("label")
    assert change.loc["Code", "value_2015"] == "QP062034"
    # 2024 perimeters of the mirror are simplified: the change is given to the unit.
    assert change.loc["Surface (ha)", "change"] == "+178\u202f%"
    assert change.loc["Population", "value_2015"] == "1\u202f438\u202fhab."


def test_labelled_table_keeps_numbers_numeric_with_french_headers(dataset):
    result = compare.compare(dataset, ["QN06224M", "QN06227M"])
    labelled = compare.labelled(result)
    assert "Taux de pauvreté (%)" in labelled.columns
    assert labelled["Population"].iloc[0] == 3087
    assert pd.api.types.is_float_dtype(labelled["Taux de pauvreté (%)"])
    shown = compare.formatted(result)
    assert shown["Population"].iloc[0] == "3\u202f087"
    # Social dwellings over households, over 100 % for Sellier Cité 4: as published, marked.
    assert shown["Logements sociaux rapportés au nombre de ménages (%)"].iloc[1] == "112,8 ⚠️"
    assert labelled["Logements sociaux rapportés au nombre de ménages (%)"].iloc[1] == 112.8


def test_contract_facts_are_read_as_published(tmp_path):
    facts = contract.load_contract_facts()
    assert facts.programming["projects"] == 205
    assert facts.programming["funding_mobilised_eur"] == 2401654
    assert facts.contributions_sum == 1831401 + 665298 + 1500000 + 159800 == 4156499
    assert facts.excess_over_announced == 4156499 - 2401654
    assert facts.source_url == "https://www.agglo-lenslievin.fr/politique-de-la-ville/"

    broken = json.loads(contract.CONTRACT_FILE.read_text("utf-8"))
    broken["programming"]["contributions"][0]["eur"] = "1 831 401"
    path = tmp_path / "contrat.json"
    path.write_text(json.dumps(broken), "utf-8")
    with pytest.raises(SchemaError, match="'1 831 401'"):
        contract.load_contract_facts(path)


def test_the_median_of_2015_quartiers_carries_their_census_year(dataset):
    assert compare.median_row(dataset, 2015)["population_year"].iloc[0] == 2013
    assert pd.isna(compare.median_row(dataset, 2024)["population_year"].iloc[0])
