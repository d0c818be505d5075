"""Which quartiers a view shows, the headline figures of that selection, and the tour.

Pure functions on the processed tables (see ``docs/ARCHITECTURE.md``), shared by the pages:
:func:`select_qpv` filters the QPV table, :func:`summarize` counts what the selection covers,
:func:`table_of` lays it out for a table view or a CSV export; :func:`tour` is the order the
presentation, the dossier de séance and the commune lists follow (the territory, then each
commune holding a quartier, by name, followed by its quartiers), :func:`find_step` and
:func:`matching` find a commune or a quartier in it.

The headline compares figures of different years on purpose, and says so: the population of the
2015 quartiers is the 2013 census count, the territory's is the latest population municipale of
its communes (2023); the 2024 quartiers' source gives no year.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import generations
from geo.metrics import AREA_CHANGE, METRIC_BY_KEY
from geo.quartier import SHORT_SOURCES, status_label
from geo.store import Dataset, latest_population_column
from geo.territory import STATUS_CONTRACT, STATUS_NEIGHBOURING, normalize_name


@dataclass(frozen=True)
class Filters:
    """What the user asked to see.

    ``communes`` keeps the quartiers touching any of those INSEE codes; ``query`` matches a
    quartier's name or code, ignoring case and accents; the population bounds are inclusive and
    drop the quartiers without a population figure.
    """

    generation: int = generations.DEFAULT
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
    spanning: tuple[str, ...] = ()  # with a commune filter: quartiers reaching other communes

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
    lookups use the perimeters as their source file gives them.

    Raises
    ------
    InputError
        When the generation is not one of ``geo.generations.ORDER``.
    """
    generations.check(filters.generation)
    if isinstance(qpv, gpd.GeoDataFrame):
        qpv = pd.DataFrame(qpv.drop(columns=qpv.geometry.name))
    # One boolean array (numpy): about twice as fast as a chain of pandas masks on this small
    # table, and a new set of filters is computed on the user's rerun (bench/bench_map.py).
    keep = qpv["generation"].to_numpy() == filters.generation
    if not filters.include_neighbouring:
        keep &= qpv["status"].to_numpy(dtype=object) == STATUS_CONTRACT
    if filters.communes:
        wanted = set(filters.communes)
        keep &= np.fromiter(
            (not wanted.isdisjoint(codes.split(",")) for codes in qpv["commune_codes"]),
            dtype=bool,
            count=len(qpv),
        )
    query = normalize_name(filters.query)
    if query:
        searchable = (qpv["name"] + " " + qpv["code"]).map(normalize_name)
        keep &= searchable.str.contains(query, regex=False).to_numpy(dtype=bool)
    population = qpv["population"].to_numpy(dtype=float, na_value=np.nan)  # unknown: NaN
    with np.errstate(invalid="ignore"):  # NaN compares False: an unknown population is out
        if filters.population_min is not None:
            keep &= population >= filters.population_min
        if filters.population_max is not None:
            keep &= population <= filters.population_max
    return qpv[keep]


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
    # Plain arrays: a selection has a few tens of rows, where each pandas operation costs more
    # than the work itself (a new set of filters is summarised in the user's rerun).
    status = selected["status"].to_numpy(dtype=object)
    contract = status == STATUS_CONTRACT
    codes = selected["code"].to_numpy(dtype=object)[contract]
    members = [
        set(c.split(",")) for c in selected["commune_codes"].to_numpy(dtype=object)[contract]
    ]
    populations = selected["population"].to_numpy(dtype=float, na_value=np.nan)[contract]
    known = ~np.isnan(populations)
    years = selected["population_year"].to_numpy(dtype=float, na_value=np.nan)[contract]
    distinct_years = set(years[~np.isnan(years)].tolist())
    territory_codes = set(communes["code"])
    scope = territory_codes & set(commune_filter) if commune_filter else territory_codes
    concerned = set().union(*members) & scope if members else set()
    year, column = latest_population_column(communes)
    return Summary(
        generation=generation,
        quartiers=int(contract.sum()),
        neighbouring=int((status == STATUS_NEIGHBOURING).sum()),
        shared=int(selected["shared"].to_numpy(dtype=bool)[contract].sum()),
        communes=tuple(sorted(concerned)),
        communes_total=len(communes),
        population=int(populations[known].sum()) if known.any() else None,
        population_year=int(distinct_years.pop()) if len(distinct_years) == 1 else None,
        population_missing=int((~known).sum()),
        reference_population=int(communes[column].sum()),
        reference_year=year,
        beyond_territory=tuple(
            code
            for code, commune_codes in zip(codes, members, strict=True)
            if not commune_codes <= territory_codes
        ),
        # Counted whole, like every quartier: the headline says so.
        spanning=tuple(
            code
            for code, commune_codes in zip(codes, members, strict=True)
            if commune_filter and not commune_codes <= set(commune_filter)
        ),
    )


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


TABLE_COLUMNS = {
    "code": "Code",
    "name": "Quartier",
    "commune_names": "Communes",
    "status": "Statut",
    "population": "Population",
    "population_year": "Année de la population",
    "population_source": "Source de la population",
    "area_ha": "Superficie (ha)",
    "density": "Densité (hab./km²)",
    "area_change_pct": "Évolution de la superficie 2015-2024 (%)",
    "shapes_source": "Superficie : année et source",
}
"""Processed column -> French header of the table view and its CSV export."""
_TABLE_METRICS = {
    "population": METRIC_BY_KEY["population"],
    "area_ha": METRIC_BY_KEY["area_ha"],
    "density": METRIC_BY_KEY["density"],
    "area_change_pct": AREA_CHANGE,
}


def table_of(selected: pd.DataFrame, *, simplified: Collection[int] = ()) -> pd.DataFrame:
    """The selection as a plain table with French headers, every figure with its year and
    source, rounded as it is printed (``geo.metrics``).

    ``simplified`` lists the generations whose contours are a simplified copy
    (``geo.generations.simplified``): their areas and densities, and the area change, are
    rounded to fewer digits and say so. Numbers stay numeric (for sorting and spreadsheets);
    the population year is text, since the 2024 source gives none.
    """
    out = pd.DataFrame(selected[[c for c in TABLE_COLUMNS if c in selected.columns]]).reset_index(
        drop=True
    )
    out["status"] = [
        status_label(status, shared)
        for status, shared in zip(selected["status"], selected["shared"], strict=True)
    ]
    out["population_year"] = [
        "non précisée" if pd.isna(year) else str(year) for year in out["population_year"]
    ]
    if "population_source" not in out.columns:
        out["population_source"] = ""
    generation_of = selected["generation"].to_numpy()
    for key, metric in _TABLE_METRICS.items():
        approximate = [_approximate(key, int(g), simplified) for g in generation_of]
        values = [
            metric.rounded(value, simplified=a)
            for value, a in zip(out[key], approximate, strict=True)
        ]
        whole = all(metric.precision(simplified=a) <= 0 for a in approximate)
        # Whole numbers are exported as integers: "4643", not "4643,0".
        out[key] = pd.array(values, dtype="Int64" if whole else "Float64")
    out["shapes_source"] = [_shapes_source(int(g), simplified) for g in generation_of]
    return out[list(TABLE_COLUMNS)].rename(columns=TABLE_COLUMNS)


def table_formats(generation: int, *, simplified: Collection[int] = ()) -> dict:
    """How :func:`table_of`'s figures are printed on screen (French, the same digits as the
    export): header -> function."""
    return {
        TABLE_COLUMNS[key]: partial(
            metric.number, simplified=_approximate(key, generation, simplified)
        )
        for key, metric in _TABLE_METRICS.items()
    }


def _shapes_source(generation: int, simplified: Collection[int]) -> str:
    text = f"{generation}, {SHORT_SOURCES['qpv']}, périmètres {generation}"
    if generation in simplified:
        text += f" ({generations.SIMPLIFIED_NOTE})"
    others = [str(g) for g in simplified if g != generation]
    if others:
        text += f" ; évolution : périmètres {', '.join(others)} simplifiés"
    return text


def _approximate(key: str, generation: int, simplified: Collection[int]) -> bool:
    """Whether a table figure comes from simplified contours (the change: either side's)."""
    if key == "area_change_pct":
        return bool(simplified)
    return _TABLE_METRICS[key].from_shapes and generation in simplified


# ---------------------------------------------------------------------------------------------
# The tour


def quartiers_of_commune(
    data: Dataset, commune_code: str, generation: int, *, include_neighbouring: bool = False
) -> tuple[str, ...]:
    """Codes of the quartiers of ``generation`` lying (partly) in a commune, by name."""
    qpv = data.qpv_of(generation, include_neighbouring=include_neighbouring)
    inside = qpv["commune_codes"].str.split(",").map(lambda codes: commune_code in codes)
    return tuple(sort_by_name(qpv[inside])["code"])


def quartiers_by_commune(data: Dataset, generation: int) -> dict[str, tuple[str, ...]]:
    """Every commune's :func:`quartiers_of_commune` (the contract's quartiers), in one pass.

    Communes without a quartier are absent.
    """
    qpv = sort_by_name(data.qpv_of(generation, include_neighbouring=False))
    found: dict[str, list[str]] = {}
    for code, communes in zip(qpv["code"], qpv["commune_codes"], strict=True):
        for commune in communes.split(","):
            found.setdefault(commune, []).append(code)
    return {commune: tuple(codes) for commune, codes in found.items()}


def communes_with_quartiers(data: Dataset, generation: int) -> pd.DataFrame:
    """Communes of the territory holding at least one quartier of the contract, by name.

    Columns ``code``, ``name``, ``n_qpv`` and ``qpv_codes`` (tuple, quartiers sorted by name).
    """
    generations.check(generation)
    communes = data.communes[data.communes[f"n_qpv_{generation}"] > 0]
    out = pd.DataFrame({"code": communes["code"], "name": communes["name"]})
    out["qpv_codes"] = [quartiers_of_commune(data, c, generation) for c in out["code"]]
    out["n_qpv"] = out["qpv_codes"].map(len)
    return sort_by_name(out).reset_index(drop=True)


def sort_by_name(frame: pd.DataFrame, column: str = "name") -> pd.DataFrame:
    """Rows in French alphabetical order of ``column`` (accents and case ignored)."""
    return frame.sort_values(column, key=lambda names: names.map(normalize_name))


@dataclass(frozen=True)
class Step:
    """One step of a guided tour: the territory, a commune, or a quartier within a commune."""

    commune: str | None = None
    qpv: str | None = None


def tour(data: Dataset, generation: int) -> tuple[Step, ...]:
    """The territory, then each commune holding a quartier (by name) followed by its quartiers.

    A quartier over several communes comes back under each of them.
    """
    steps = [Step()]
    holding = communes_with_quartiers(data, generation)
    for commune, codes in zip(holding["code"], holding["qpv_codes"], strict=True):
        steps.append(Step(commune=str(commune)))
        steps.extend(Step(commune=str(commune), qpv=str(code)) for code in codes)
    return tuple(steps)


def matching(query: str, names: Mapping[str, str]) -> tuple[str, ...]:
    """Codes whose name or code contains ``query``, ignoring case and accents, by name.

    ``matching("lievin", {"62510": "Liévin"})`` gives ``("62510",)``; an empty query matches
    everything.
    """
    wanted = normalize_name(query)
    found = [code for code, name in names.items() if wanted in normalize_name(f"{name} {code}")]
    return tuple(sorted(found, key=lambda code: normalize_name(names[code])))


def find_step(steps: Sequence[Step], *, commune: str | None, qpv: str | None) -> int:
    """Index of the step showing ``commune``/``qpv``; the best partial match, else 0.

    A quartier without a commune goes to its first commune's step; an unknown commune or a
    quartier not in that commune is ignored.
    """
    for i, step in enumerate(steps):
        if step == Step(commune, qpv):
            return i
    if qpv:
        for i, step in enumerate(steps):
            if step.qpv == qpv:
                return i
    if commune:
        for i, step in enumerate(steps):
            if step == Step(commune):
                return i
    return 0
