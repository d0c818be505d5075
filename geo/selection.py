"""Which quartiers a view shows, and the headline figures of that selection.

Pure functions on the processed tables (see ``docs/ARCHITECTURE.md``), shared by the pages:
:func:`select_qpv` filters the QPV table, :func:`summarize` counts what the selection covers,
:func:`table_of` lays it out for a table view or a CSV export.

The headline compares figures of different years on purpose, and says so: the population of the
2015 quartiers is the 2013 census count, the territory's is the latest population municipale of
its communes (2023); the 2024 quartiers' source gives no year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from geo.territory import STATUS_CONTRACT, STATUS_NEIGHBOURING, normalize_name

GENERATIONS = (2015, 2024)

_POPULATION_COLUMN = re.compile(r"^pmun_(\d{4})$")


@dataclass(frozen=True)
class Filters:
    """What the user asked to see.

    ``communes`` keeps the quartiers touching any of those INSEE codes; ``query`` matches a
    quartier's name or code, ignoring case and accents; the population bounds are inclusive and
    drop the quartiers without a population figure.
    """

    generation: int = GENERATIONS[0]
    communes: tuple[str, ...] = ()
    query: str = ""
    population_min: int | None = None
    population_max: int | None = None
    include_neighbouring: bool = False


@dataclass(frozen=True)
class Summary:
    """Headline figures of a selection (contract quartiers only; neighbours are not counted)."""

    generation: int
    quartiers: int
    neighbouring: int  # neighbouring quartiers shown alongside, not counted anywhere else
    shared: int  # contract quartiers also attributed to another EPCI
    communes: tuple[str, ...]  # INSEE codes of the territory's communes concerned
    communes_total: int  # communes of the territory
    population: int | None  # sum over the contract quartiers that have a figure
    population_year: int | None  # None when the source gives no year
    population_missing: int  # contract quartiers without a population figure
    reference_population: int  # population municipale of the whole territory
    reference_year: int
    beyond_territory: tuple[str, ...]  # quartiers reaching communes outside the territory

    @property
    def share_pct(self) -> float | None:
        """Population of the quartiers as a percentage of the territory's, or None."""
        if self.population is None or not self.reference_population:
            return None
        return self.population / self.reference_population * 100


def select_qpv(qpv: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Attributes of the QPVs matching ``filters``, in table order.

    The result is a plain DataFrame, without geometry even when ``qpv`` is a GeoDataFrame:
    every later step is several times faster on it, the map draws its own display copy, and
    lookups use the full-resolution table.

    Raises
    ------
    ValueError
        When the generation is not one of ``GENERATIONS``.
    """
    if filters.generation not in GENERATIONS:
        raise ValueError(
            f"unknown generation {filters.generation!r}, expected one of {GENERATIONS}"
        )
    if isinstance(qpv, gpd.GeoDataFrame):
        qpv = pd.DataFrame(qpv.drop(columns=qpv.geometry.name))
    keep = qpv["generation"] == filters.generation
    if not filters.include_neighbouring:
        keep &= qpv["status"] == STATUS_CONTRACT
    if filters.communes:
        wanted = set(filters.communes)
        keep &= qpv["commune_codes"].map(lambda codes: not wanted.isdisjoint(codes.split(",")))
    query = normalize_name(filters.query)
    if query:
        searchable = (qpv["name"] + " " + qpv["code"]).map(normalize_name)
        keep &= searchable.str.contains(query, regex=False)
    population = qpv["population"].astype("Float64")
    if filters.population_min is not None:
        keep &= (population >= filters.population_min).fillna(False)
    if filters.population_max is not None:
        keep &= (population <= filters.population_max).fillna(False)
    return qpv[keep.astype(bool)]


def summarize(
    selected: pd.DataFrame,
    communes: pd.DataFrame,
    *,
    generation: int,
    commune_filter: tuple[str, ...] = (),
) -> Summary:
    """Headline figures of ``selected`` (rows of the QPV table of one generation).

    Parameters
    ----------
    selected
        Output of :func:`select_qpv`.
    communes
        The territory's communes (``code`` and ``pmun_<year>`` columns).
    generation
        The generation shown, so that an empty selection still says which one.
    commune_filter
        When given, only these communes can be "concerned".
    """
    contract = selected[selected["status"] == STATUS_CONTRACT]
    territory_codes = set(communes["code"])
    scope = territory_codes & set(commune_filter) if commune_filter else territory_codes
    members = [set(codes.split(",")) for codes in contract["commune_codes"]]
    concerned = set().union(*members) & scope if members else set()
    years = contract["population_year"].dropna().unique()
    population = contract["population"].dropna()
    year, column = latest_population_column(communes)
    return Summary(
        generation=generation,
        quartiers=len(contract),
        neighbouring=int((selected["status"] == STATUS_NEIGHBOURING).sum()),
        shared=int(contract["shared"].sum()),
        communes=tuple(sorted(concerned)),
        communes_total=len(communes),
        population=int(population.sum()) if len(population) else None,
        population_year=int(years[0]) if len(years) == 1 else None,
        population_missing=int(contract["population"].isna().sum()),
        reference_population=int(communes[column].sum()),
        reference_year=year,
        beyond_territory=tuple(
            code
            for code, codes in zip(contract["code"], members, strict=True)
            if not codes <= territory_codes
        ),
    )


def latest_population_column(communes: pd.DataFrame) -> tuple[int, str]:
    """The most recent ``pmun_<year>`` column of the communes table, as ``(year, column)``."""
    found = sorted(
        (int(m.group(1)), column)
        for column in communes.columns
        if (m := _POPULATION_COLUMN.match(str(column)))
    )
    if not found:
        raise ValueError(f"no pmun_<year> column among {list(communes.columns)}")
    return found[-1]


def commune_choices(communes: pd.DataFrame, generation: int) -> dict[str, str]:
    """INSEE code -> label for a commune picker, in alphabetical order.

    Communes holding quartiers of the contract say how many: ``"Lens (5 quartiers)"``.
    """
    column = f"n_qpv_{generation}"
    rows = sorted(
        zip(communes["code"], communes["name"], communes[column], strict=True),
        key=lambda row: normalize_name(row[1]),
    )
    return {code: f"{name}{_count_label(int(n))}" for code, name, n in rows}


def _count_label(n: int) -> str:
    if n == 0:
        return ""
    return f" ({n} quartier{'s' if n > 1 else ''})"


def status_label(status: str, shared: bool) -> str:
    """French label of a quartier's status, as shown in tooltips, panels and tables."""
    if status == STATUS_NEIGHBOURING:
        return "Quartier voisin (hors contrat de ville)"
    if shared:
        return "Contrat de ville, partagé avec un autre EPCI"
    return "Contrat de ville"


TABLE_COLUMNS = {
    "code": "Code",
    "name": "Quartier",
    "commune_names": "Communes",
    "status": "Statut",
    "population": "Population",
    "population_year": "Année de la population",
    "area_ha": "Superficie (ha)",
    "density": "Densité (hab./km²)",
    "area_change_pct": "Évolution de la superficie 2015-2024 (%)",
}
"""Processed column -> French header of the table view and its CSV export."""


def table_of(selected: pd.DataFrame) -> pd.DataFrame:
    """The selection as a plain table with French headers.

    Numbers stay numeric (for sorting and spreadsheets); the population year is text, since
    the 2024 source gives none.
    """
    out = pd.DataFrame(selected[list(TABLE_COLUMNS)]).reset_index(drop=True)
    out["status"] = [
        status_label(status, shared)
        for status, shared in zip(selected["status"], selected["shared"], strict=True)
    ]
    out["population_year"] = [
        "non précisée" if pd.isna(year) else str(year) for year in out["population_year"]
    ]
    return out.rename(columns=TABLE_COLUMNS)
