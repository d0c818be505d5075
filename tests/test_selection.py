"""geo.selection on a tiny hand-made territory: filters, headline figures, table."""

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from geo.selection import (
    Filters,
    commune_choices,
    select_qpv,
    summarize,
    table_of,
)
from geo.store import latest_population_column


def qpv_table() -> pd.DataFrame:
    """Three 2015 quartiers (one neighbouring, one reaching a commune outside) and one 2024."""
    rows = [
        # code, name, gen, status, shared, communes (INSEE), names, population, year
        ("QP000001", "Cité des Éléphants", 2015, "contrat", False, "00001", "Aville", 1200, 2013),
        ("QP000002", "Les Hauts", 2015, "contrat", True, "00001,00002,99999",
         "Aville, Bville, Dehors", 3400, 2013),
        ("QP000003", "La Plaine", 2015, "voisin", True, "00002,99999", "Bville, Dehors", 900,
         2013),
        ("QN00001M", "Cité des Éléphants", 2024, "contrat", False, "00001", "Aville", 1500, None),
    ]  # fmt: skip
    df = pd.DataFrame(
        rows,
        columns=[
            "code", "name", "generation", "status", "shared", "commune_codes", "commune_names",
            "population", "population_year",
        ],
    )  # fmt: skip
    df["population"] = df["population"].astype("Int64")
    df["population_year"] = df["population_year"].astype("Int64")
    df["area_ha"] = [10.0, 20.5, 5.0, 12.0]
    df["density"] = [12000.0, 16585.0, 18000.0, 12500.0]
    df["area_change_pct"] = [20.0, float("nan"), float("nan"), 20.0]
    return df


def communes_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": ["00001", "00002", "00003"],
            "name": ["Aville", "Éville", "Cville"],
            "pmun_2021": [9000, 5000, 1000],
            "pmun_2023": [10000, 6000, 1000],
            "n_qpv_2015": [2, 1, 0],
            "n_qpv_2024": [1, 0, 0],
        }
    )


def codes(df: pd.DataFrame) -> list[str]:
    return list(df["code"])


def test_default_selection_is_the_perimeters_in_force():
    assert Filters().generation == 2024
    assert codes(select_qpv(qpv_table(), Filters())) == ["QN00001M"]


def test_2015_selection_is_the_contract_quartiers_of_2015():
    assert codes(select_qpv(qpv_table(), Filters(generation=2015))) == ["QP000001", "QP000002"]


def test_neighbouring_quartiers_are_shown_only_on_request():
    selected = select_qpv(qpv_table(), Filters(generation=2015, include_neighbouring=True))
    assert codes(selected) == ["QP000001", "QP000002", "QP000003"]


def test_generation_2024_selects_the_2024_perimeters():
    assert codes(select_qpv(qpv_table(), Filters(generation=2024))) == ["QN00001M"]


def test_commune_filter_keeps_quartiers_touching_any_chosen_commune():
    table = qpv_table()
    assert codes(select_qpv(table, Filters(generation=2015, communes=("00002",)))) == ["QP000002"]
    both = Filters(generation=2015, communes=("00001", "00002"), include_neighbouring=True)
    assert codes(select_qpv(table, both)) == ["QP000001", "QP000002", "QP000003"]
    assert codes(select_qpv(table, Filters(generation=2015, communes=("00003",)))) == []


@pytest.mark.parametrize("query", ["elephant", "CITÉ DES ÉLÉPHANTS", "qp000001", "  éléph "])
def test_query_matches_name_or_code_ignoring_case_and_accents(query):
    assert codes(select_qpv(qpv_table(), Filters(generation=2015, query=query))) == ["QP000001"]


def test_population_bounds_are_inclusive():
    table = qpv_table()
    assert codes(
        select_qpv(table, Filters(generation=2015, population_min=1200, population_max=1200))
    ) == ["QP000001"]
    assert codes(select_qpv(table, Filters(generation=2015, population_min=1201))) == ["QP000002"]
    assert codes(select_qpv(table, Filters(generation=2015, population_max=3399))) == ["QP000001"]


def test_population_bounds_drop_quartiers_without_a_figure():
    table = qpv_table()
    table.loc[0, "population"] = pd.NA
    assert codes(select_qpv(table, Filters(generation=2015))) == ["QP000001", "QP000002"]
    assert codes(select_qpv(table, Filters(generation=2015, population_min=0))) == ["QP000002"]


def test_selection_of_a_geodataframe_comes_without_geometry():
    table = qpv_table()
    squares = gpd.GeoDataFrame(table, geometry=[box(0, 0, 1, 1)] * len(table), crs="EPSG:2154")
    selected = select_qpv(squares, Filters(generation=2015))
    assert type(selected) is pd.DataFrame
    assert "geometry" not in selected.columns
    assert codes(selected) == ["QP000001", "QP000002"]


def test_unknown_generation_is_refused_with_its_value():
    with pytest.raises(ValueError, match="2019"):
        select_qpv(qpv_table(), Filters(generation=2019))


def test_summary_counts_contract_quartiers_and_communes_of_the_territory():
    selected = select_qpv(qpv_table(), Filters(generation=2015, include_neighbouring=True))
    summary = summarize(selected, communes_table(), generation=2015)

    assert summary.quartiers == 2
    assert summary.neighbouring == 1  # shown, not counted
    assert summary.shared == 1
    assert summary.communes == ("00001", "00002")  # 99999 is outside the territory
    assert summary.communes_total == 3
    assert summary.population == 1200 + 3400
    assert summary.population_year == 2013
    assert summary.reference_population == 17000
    assert summary.reference_year == 2023
    assert summary.share_pct == pytest.approx(4600 / 17000 * 100)
    assert summary.beyond_territory == ("QP000002",)


def test_summary_limits_communes_concerned_to_the_commune_filter():
    filters = Filters(generation=2015, communes=("00002",))
    selected = select_qpv(qpv_table(), filters)
    summary = summarize(selected, communes_table(), generation=2015, commune_filter=("00002",))
    assert summary.communes == ("00002",)
    assert summary.population == 3400


def test_summary_of_2024_has_no_population_year():
    selected = select_qpv(qpv_table(), Filters(generation=2024))
    summary = summarize(selected, communes_table(), generation=2024)
    assert (summary.quartiers, summary.population, summary.population_year) == (1, 1500, None)


def test_summary_of_an_empty_selection_has_no_population_nor_share():
    selected = select_qpv(qpv_table(), Filters(generation=2015, query="introuvable"))
    summary = summarize(selected, communes_table(), generation=2015)
    assert (summary.quartiers, summary.communes) == (0, ())
    assert summary.population is None
    assert summary.share_pct is None


def test_missing_populations_are_counted_not_taken_as_zero():
    table = qpv_table()
    table.loc[1, "population"] = pd.NA
    summary = summarize(
        select_qpv(table, Filters(generation=2015)), communes_table(), generation=2015
    )
    assert (summary.population, summary.population_missing) == (1200, 1)


def test_latest_population_column_is_the_most_recent_year():
    assert latest_population_column(communes_table()) == (2023, "pmun_2023")
    with pytest.raises(ValueError, match="pmun_"):
        latest_population_column(communes_table().drop(columns=["pmun_2021", "pmun_2023"]))


def test_commune_choices_say_how_many_quartiers_in_alphabetical_order():
    choices = commune_choices(communes_table(), 2015)
    assert list(choices.items()) == [
        ("00001", "Aville (2 quartiers)"),
        ("00003", "Cville"),
        ("00002", "Éville (1 quartier)"),  # accents sort with their base letter
    ]
    assert commune_choices(communes_table(), 2024)["00001"] == "Aville (1 quartier)"


def test_table_has_french_headers_numeric_populations_and_readable_years():
    table = table_of(select_qpv(qpv_table(), Filters(generation=2024)))
    assert list(table.columns[:5]) == ["Code", "Quartier", "Communes", "Statut", "Population"]
    assert table.loc[0, "Statut"] == "Contrat de ville"
    assert table.loc[0, "Population"] == 1500
    assert pd.api.types.is_numeric_dtype(table["Population"])
    assert table.loc[0, "Année de la population"] == "non précisée"


def test_table_names_each_status():
    table = table_of(select_qpv(qpv_table(), Filters(generation=2015, include_neighbouring=True)))
    assert list(table["Statut"]) == [
        "Contrat de ville",
        "Contrat de ville, partagé avec un autre EPCI",
        "Quartier voisin (hors contrat de ville)",
    ]
