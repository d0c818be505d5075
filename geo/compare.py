"""Compare quartiers side by side, with their communes and the territory as references.

Pure functions on a :class:`~geo.store.Dataset`. One row per compared entity (quartier, commune,
territory, median of the territory's quartiers), one column per :class:`Metric`. A value that is
missing or implausible in the sources stays NA (never zero) and is explained, row by row, in the
``flags`` column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import generations
from geo.coordinates import LAMBERT93
from geo.errors import InputError
from geo.facts import book_of
from geo.metrics import AREA_CHANGE, METRIC_BY_KEY, METRICS, Metric, metrics_for, rounding_words
from geo.quartier import (
    COLUMNS,
    FLAG_MARK,
    KIND,
    SHORT_SOURCES,
    Fact,
    Quartier,
    marked,
    quartier_table,
    quartier_values,
)
from geo.selection import Filters, select_qpv, summarize
from geo.sources import CONTOURS_YEAR, SOURCES
from geo.store import Dataset, latest_population_column

MIN_QUARTIERS = 2
COMMUNE_CONTOURS_SIMPLIFIED = SOURCES["contours_communes"].simplified
"""Areas and densities of communes and of the territory come from simplified outlines."""
MAX_QUARTIERS = 8

KIND_QUARTIER = KIND
KIND_COMMUNE = "commune"
KIND_TERRITORY = "territoire"
KIND_MEDIAN = "mediane"
KIND_LABELS = {
    KIND_QUARTIER: "Quartier",
    KIND_COMMUNE: "Commune",
    KIND_TERRITORY: "Territoire",
    KIND_MEDIAN: "Médiane des quartiers",
}


_NOTES = (
    "Population des quartiers : recensement {year_2015} pour les périmètres 2015 ; année non "
    "précisée pour les périmètres 2024 (compilation SIG Ville / Insee). Communes et "
    "territoire : population municipale {commune_year}.",
    "Surface et densité des communes et du territoire : calculées sur des contours communaux "
    "simplifiés ({contours}), donc approximatives : données avec moins de chiffres.",
    "Part de la population communale : pour un quartier, sa population rapportée à celle de sa "
    "(ses) commune(s) ; pour une commune ou le territoire, part de sa population vivant en "
    "quartier prioritaire (estimée quand un quartier s'étend sur plusieurs communes).",
    "Indicateurs 2024 : publiés pour les quartiers seulement, sans année de référence ; "
    "communes et territoire n'en ont pas. La médiane est celle des quartiers du contrat.",
    "Une valeur manquante dans la source est laissée vide (« — ») ; une valeur que la "
    "préparation des données signale est montrée telle que publiée, suivie de {mark}. Les deux "
    "sont expliquées dans la colonne « Remarques » ; aucune n'est remplacée par zéro ni "
    "corrigée. La médiane laisse de côté les valeurs signalées.",
)


def notes(data: Dataset) -> tuple[str, ...]:
    """What a reader of the comparison must know about its figures (French)."""
    year_2015 = generations.year_text(generations.population_year(data, generations.PREVIOUS))
    commune_year, _ = latest_population_column(data.communes)
    out = [
        n.format(
            year_2015=year_2015,
            commune_year=commune_year,
            contours=f"IGN ADMIN EXPRESS {CONTOURS_YEAR}",
            mark=FLAG_MARK,
        )
        for n in _NOTES
    ]
    for generation in generations.ORDER:
        if generations.contours_simplified(data, generation):
            rounding = " ; ".join(
                rounding_words(METRIC_BY_KEY[k], simplified=True) for k in ("area_ha", "density")
            )
            out.insert(
                2,
                f"Surface et densité des quartiers {generation} : {generations.SIMPLIFIED_NOTE}, "
                f"d'où moins de chiffres ({rounding}).",
            )
    return tuple(out)


@dataclass(frozen=True)
class Comparison:
    """The comparison of a few quartiers (see :func:`compare`)."""

    generation: int
    codes: tuple[str, ...]  # compared quartiers, in the order asked, in ``generation``
    table: pd.DataFrame  # one row per entity, columns ``COLUMNS``
    provenance: pd.DataFrame  # the year and source of each row's figures (see provenance())

    @property
    def quartiers(self) -> pd.DataFrame:
        return self.table[self.table["kind"] == KIND_QUARTIER]

    @property
    def metrics(self) -> tuple[Metric, ...]:
        """The metrics that exist for this generation."""
        return metrics_for(self.generation)


# ---------------------------------------------------------------------------------------------
# Selection helpers


def resolve_codes(data: Dataset, codes: Iterable[str], generation: int) -> tuple[str, ...]:
    """Normalise user-given QPV codes to the perimeters of ``generation``.

    A code of the other generation is replaced by its successor (2015 -> 2024) or predecessor
    (2024 -> 2015). Blank and repeated codes are dropped; the order is kept.

    Raises
    ------
    InputError
        For an unknown code, or one with no counterpart in ``generation`` (French message).
    """
    generations.check(generation)
    table = data.qpv.set_index("code")
    out: list[str] = []
    for raw in codes:
        code = str(raw).strip().upper()
        if not code:
            continue
        if code not in table.index:
            raise InputError(f"code de quartier inconnu : {raw!r}")
        row = table.loc[code]
        if row["generation"] != generation:
            other = generations.counterpart(data, code)
            if other is None:
                raise InputError(
                    f"le quartier {code} n'a pas d'équivalent dans les périmètres {generation}"
                )
            code = str(other)
        if code not in out:
            out.append(code)
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Tables


def commune_table(data: Dataset, commune_codes: Sequence[str], generation: int) -> pd.DataFrame:
    """Reference rows for communes of the territory (population, area, density, QPV share)."""
    generations.check(generation)
    communes = data.communes.set_index("code")
    unknown = [c for c in commune_codes if c not in communes.index]
    if unknown:
        raise InputError(f"commune(s) hors du territoire : {', '.join(map(repr, unknown))}")
    sel = communes.loc[list(commune_codes)]
    area_ha = gpd.GeoSeries(sel.geometry, crs=data.communes.crs).to_crs(LAMBERT93).area / 1e4
    year, column = latest_population_column(data.communes)
    population = sel[column].astype("Float64").astype(float)
    df = pd.DataFrame(
        {
            "kind": KIND_COMMUNE,
            "code": list(commune_codes),
            "name": sel["name"].to_numpy(),
            "communes": "",
            "generation": generation,
            "population_year": pd.array([year] * len(sel), "Int64"),
            "population": population.to_numpy(),
            "area_ha": area_ha.to_numpy(),
            "density": (population / (area_ha / 100)).to_numpy(),
            "share_of_commune_pct": sel[f"share_qpv_{generation}"].to_numpy(dtype=float),
            "simplified": COMMUNE_CONTOURS_SIMPLIFIED,
        }
    )
    estimated = sel[f"pop_qpv_{generation}_estimated"].to_numpy(dtype=bool)
    df["flags"] = np.where(
        estimated,
        f"{METRIC_BY_KEY['share_of_commune_pct'].label} : estimée, un quartier de la commune "
        "s'étend sur plusieurs communes (population répartie selon la surface)",
        "",
    )
    return _with_all_columns(df)


def territory_row(data: Dataset, generation: int) -> pd.DataFrame:
    """Reference row for the whole territory.

    Its QPV share is the map's headline figure (:func:`geo.selection.summarize`), so that both
    pages give the same number.
    """
    generations.check(generation)
    summary = summarize(
        select_qpv(data.qpv, Filters(generation=generation)), data.communes, generation=generation
    )
    population = float(summary.reference_population)
    area_ha = float(data.territory.to_crs(LAMBERT93).area.iloc[0] / 1e4)
    caveats = []
    if summary.population_year != summary.reference_year:
        when = summary.population_year or "année non précisée"
        caveats.append(
            f"population des quartiers ({when}) rapportée à la population municipale "
            f"{summary.reference_year}"
        )
    if summary.beyond_territory:
        caveats.append("quartiers débordant du territoire comptés en entier")
    share = METRIC_BY_KEY["share_of_commune_pct"]
    df = pd.DataFrame(
        {
            "kind": [KIND_TERRITORY],
            "code": [data.siren],
            "name": [data.territory_name],
            "communes": [f"{summary.communes_total} communes"],
            "generation": [generation],
            "population_year": pd.array([summary.reference_year], "Int64"),
            "population": [population],
            "area_ha": [area_ha],
            "density": [population / (area_ha / 100)],
            "share_of_commune_pct": [np.nan if summary.share_pct is None else summary.share_pct],
            "simplified": [COMMUNE_CONTOURS_SIMPLIFIED],
            "flags": [
                f"{share.label} : ordre de grandeur, {', '.join(caveats)}" if caveats else ""
            ],
        }
    )
    return _with_all_columns(df)


def median_row(data: Dataset, generation: int) -> pd.DataFrame:
    """Median of the contract's quartiers, for every metric (NA values ignored).

    A value the build flagged is left out of its metric's median, and the row says which.
    """
    quartiers, flags = quartier_values(data, generation)
    contract = set(data.qpv_of(generation, include_neighbouring=False)["code"])
    quartiers = quartiers[quartiers["code"].isin(contract)]
    row, left_out = {}, []
    for m in METRICS:
        doubtful = [
            code
            for code in quartiers["code"]
            if any(f.key == m.key and f.published is not None for f in flags.get(code, []))
        ]
        values = quartiers.loc[~quartiers["code"].isin(doubtful), m.key]
        row[m.key] = float(values.median(skipna=True))
        if doubtful:
            left_out.append(f"{m.label} : sans les valeurs signalées de {', '.join(doubtful)}")
    years = quartiers["population_year"].dropna().unique()
    year = years[0] if len(years) == 1 else pd.NA  # the quartiers' census year, when they share one
    df = pd.DataFrame(
        {
            "kind": [KIND_MEDIAN],
            "code": [""],
            "name": [f"Médiane des {len(quartiers)} quartiers du contrat"],
            "communes": [""],
            "generation": [generation],
            "population_year": pd.array([year], "Int64"),
            **{k: [v] for k, v in row.items()},
            "simplified": [generations.contours_simplified(data, generation)],
            "flags": ["; ".join(left_out)],
        }
    )
    return _with_all_columns(df)


def compare(
    data: Dataset, codes: Iterable[str], *, generation: int = generations.DEFAULT
) -> Comparison:
    """Compare 2 to 8 quartiers with their communes, the territory and the quartiers' median.

    Parameters
    ----------
    data
        The loaded dataset.
    codes
        QPV codes, of either generation (see :func:`resolve_codes`).
    generation
        Perimeters compared: 2015 (population 2013) or 2024 (with the 2024 indicators).

    Returns
    -------
    Comparison
        ``table`` rows: the quartiers in the order given, then their communes (order of first
        appearance), then the territory, then the median of the contract's quartiers.

    Raises
    ------
    InputError
        Unknown code, or fewer than 2 / more than 8 quartiers (French message).
    """
    resolved = resolve_codes(data, codes, generation)
    if not MIN_QUARTIERS <= len(resolved) <= MAX_QUARTIERS:
        raise InputError(
            f"choisissez entre {MIN_QUARTIERS} et {MAX_QUARTIERS} quartiers "
            f"({len(resolved)} choisi(s))"
        )
    quartiers = quartier_table(data, generation).set_index("code").loc[list(resolved)]
    quartiers = quartiers.reset_index()[COLUMNS]
    member_codes = data.qpv.set_index("code").loc[list(resolved), "commune_codes"]
    known = set(data.communes["code"])
    communes: list[str] = []
    for codes_text in member_codes:
        for c in codes_text.split(","):
            if c in known and c not in communes:
                communes.append(c)
    table = pd.concat(
        [
            quartiers,
            commune_table(data, communes, generation),
            territory_row(data, generation),
            median_row(data, generation),
        ],
        ignore_index=True,
    )
    return Comparison(
        generation=generation,
        codes=resolved,
        table=table,
        provenance=provenance(data, table, generation),
    )


def ranking(
    data: Dataset,
    metric: str,
    *,
    generation: int = generations.DEFAULT,
    include_neighbouring: bool = False,
) -> pd.DataFrame:
    """Every quartier ranked on one metric, highest value first; NA values last, unranked.

    Columns ``rank`` (Int64, 1 = highest, ties share the lowest rank), ``code``, ``name``,
    ``communes``, ``value`` and ``flags`` (about this metric only).
    """
    chosen = _metric(metric, generation)
    table, flags_by_code = quartier_values(data, generation)
    if not include_neighbouring:
        contract = data.qpv_of(generation, include_neighbouring=False)["code"]
        table = table[table["code"].isin(contract)]
    flags = table["code"].map(
        lambda code: "; ".join(f.text for f in flags_by_code.get(code, []) if f.key == chosen.key)
    )
    flagged = table["code"].map(
        lambda code: any(
            f.key == chosen.key and f.published is not None for f in flags_by_code.get(code, [])
        )
    )
    out = pd.DataFrame(
        {
            "code": table["code"],
            "name": table["name"],
            "communes": table["communes"],
            "value": table[chosen.key].astype(float),
            "flagged": flagged.astype(bool),
            "flags": flags,
        }
    )
    out["rank"] = out["value"].rank(method="min", ascending=False).astype("Int64")
    simplified = generations.contours_simplified(data, generation) and chosen.from_shapes
    out["value"] = out["value"].map(lambda v: chosen.rounded(v, simplified=simplified))
    out["text"] = [
        marked(chosen.number(v, simplified=simplified), f)
        for v, f in zip(out["value"], out["flagged"], strict=True)
    ]
    out = out.sort_values(["value", "name"], ascending=[False, True], na_position="last")
    columns = ["rank", "code", "name", "communes", "value", "text", "flagged", "flags"]
    return out[columns].reset_index(drop=True)


def ranking_provenance(data: Dataset, metric: str, generation: int) -> str:
    """Year and source of a ranking's figures (the same for every quartier of a generation)."""
    chosen = _metric(metric, generation)
    contract = data.qpv_of(generation, include_neighbouring=False)["code"]
    if not len(contract):
        return ""
    return book_of(data).quartier(str(contract.iloc[0])).facts[chosen.key].provenance


def ranking_export(
    data: Dataset, ranked: pd.DataFrame, metric: Metric, generation: int
) -> pd.DataFrame:
    """A ranking (:func:`ranking`) for a CSV file: French headers, values as printed (rounded,
    numbers kept numeric), their year and source, the flags."""
    return pd.DataFrame(
        {
            "Rang": ranked["rank"],
            "Code": ranked["code"],
            "Quartier": ranked["name"],
            "Commune(s)": ranked["communes"],
            metric.title: ranked["value"],
            "Année et source": ranking_provenance(data, metric.key, generation),
            "Valeur signalée": ranked["flagged"].map({True: "oui", False: ""}),
            "Remarque": ranked["flags"],
        }
    )


def change_table(data: Dataset, code: str) -> pd.DataFrame:
    """How a quartier changed between its 2015 and 2024 perimeters.

    One row per figure (``Nom``, ``Surface``, ``Population``, ``Densité``) with columns
    ``label``, ``value_2015``, ``value_2024``, ``change`` (French text, ready to print) and
    ``note``. A quartier with no counterpart has ``"—"`` on the missing side. Areas, densities
    and the area change are printed with the precision of their contours (fewer digits for a
    simplified copy, said in ``note``).
    """
    table = data.qpv.set_index("code")
    if code not in table.index:
        raise InputError(f"code de quartier inconnu : {code!r}")
    twin = generations.counterpart(data, code)
    if int(table.loc[code, "generation"]) == generations.PREVIOUS:
        code15, code24 = code, twin
    else:
        code15, code24 = twin, code
    r15 = table.loc[code15] if isinstance(code15, str) else None
    r24 = table.loc[code24] if isinstance(code24, str) else None

    def get(r, col):
        return None if r is None else r[col]

    simplified = {g: generations.contours_simplified(data, g) for g in generations.ORDER}
    either = any(simplified.values())

    def pct(a, b, *, shapes: bool) -> str:
        if a is None or b is None or pd.isna(a) or pd.isna(b) or float(a) == 0:
            return "—"
        change = (float(b) / float(a) - 1) * 100
        return AREA_CHANGE.signed(change, simplified=shapes and either)

    area = METRIC_BY_KEY["area_ha"]
    pop = METRIC_BY_KEY["population"]
    dens = METRIC_BY_KEY["density"]
    year15 = generations.year_text(get(r15, "population_year"))
    year24 = generations.year_text(get(r24, "population_year"))
    shape_note = "; ".join(
        f"{g} : {generations.SIMPLIFIED_NOTE}"
        for g in (generations.PREVIOUS, generations.IN_FORCE)
        if simplified[g]
    )
    p15, p24 = generations.PREVIOUS, generations.IN_FORCE
    rows = [
        ("Code", code15 if r15 is not None else "—", code24 if r24 is not None else "—", "", ""),
        ("Nom", get(r15, "name") or "—", get(r24, "name") or "—", "", ""),
        (
            area.title,
            area.format(get(r15, "area_ha"), simplified=simplified[p15]),
            area.format(get(r24, "area_ha"), simplified=simplified[p24]),
            pct(get(r15, "area_ha"), get(r24, "area_ha"), shapes=True),
            shape_note,
        ),
        (
            pop.title,
            pop.format(get(r15, "population")),
            pop.format(get(r24, "population")),
            pct(get(r15, "population"), get(r24, "population"), shapes=False),
            f"{year15} puis {year24} : périmètres et sources différents",
        ),
        (
            dens.title,
            dens.format(get(r15, "density"), simplified=simplified[p15]),
            dens.format(get(r24, "density"), simplified=simplified[p24]),
            pct(get(r15, "density"), get(r24, "density"), shapes=True),
            shape_note,
        ),
    ]
    return pd.DataFrame(rows, columns=["label", "value_2015", "value_2024", "change", "note"])


PROVENANCE = {
    "population": "Population : année et source",
    "area_ha": "Surface : année et source",
    "density": "Densité : année et source",
    "share_of_commune_pct": "Part de la population communale : années et sources",
    "indicators": "Indicateurs : année et source",
}
"""Provenance columns of a comparison's export: what each row's figures are, and from when."""


def provenance(data: Dataset, table: pd.DataFrame, generation: int) -> pd.DataFrame:
    """The year (or « année non précisée ») and source of each row's figures, in French.

    One row per row of ``table`` (same index), one column per :data:`PROVENANCE` group (the
    indicators' column only for the generation that has them). Quartiers say what their facts
    say (``geo.quartier.Fact.provenance``); communes and the territory what ``geo.facts`` says;
    the median what its quartiers' figures say.
    """
    book = book_of(data)
    keys = [k for k in PROVENANCE if k != "indicators" or generations.has_indicators(generation)]
    contract = data.qpv_of(generation, include_neighbouring=False)["code"]
    sample = book.quartier(str(contract.iloc[0])) if len(contract) else None
    territory = book.territory(generation)
    rows = []
    for kind, code in zip(table["kind"], table["code"], strict=True):
        if kind == KIND_QUARTIER:
            rows.append(_quartier_provenance(book.quartier(code), keys))
        elif kind == KIND_MEDIAN:
            said = _quartier_provenance(sample, keys) if sample else {}
            rows.append({k: f"médiane des quartiers ; {v}" for k, v in said.items() if v})
        else:  # a commune or the territory
            facts = book.commune(code, generation) if kind == KIND_COMMUNE else territory
            share = next(f for f in facts if f.key == "share_qpv_pct")
            rows.append(_reference_provenance(book.reference_year, share))
    out = pd.DataFrame(rows, index=table.index, columns=keys).fillna("")
    return out.rename(columns=PROVENANCE)


def _quartier_provenance(quartier: Quartier, keys: list[str]) -> dict[str, str]:
    said = {k: quartier.facts[k].provenance for k in keys if k in quartier.facts}
    if "indicators" in keys and quartier.indicators:
        said["indicators"] = quartier.indicators[0].provenance
    return said


def _reference_provenance(year: int, share: Fact) -> dict[str, str]:
    """A commune's or the territory's: population (legal), shapes (commune contours), share."""
    contours = SHORT_SOURCES["contours_communes"]
    return {
        "population": f"{year}, {SHORT_SOURCES['communes']}",
        "area_ha": f"{CONTOURS_YEAR}, {contours}",
        "density": f"{year} et {CONTOURS_YEAR}, population / surface ({contours})",
        "share_of_commune_pct": share.provenance,
    }


def labelled(result: Comparison) -> pd.DataFrame:
    """The comparison table with French column headers, for exports: numbers kept as numbers,
    rounded as they are printed, each row's years and sources, its remarks."""
    table = result.table
    out = pd.DataFrame(
        {
            "Type": table["kind"].map(KIND_LABELS),
            "Code": table["code"],
            "Nom": table["name"],
            "Commune(s)": table["communes"],
            "Périmètres": table["generation"],
            "Année de la population": table["population_year"],
        }
    )
    for m in result.metrics:
        values = _rounded(table, m)
        whole = all(
            m.precision(simplified=bool(s) and m.from_shapes) <= 0 for s in table["simplified"]
        )
        # Whole numbers (populations, counts, areas to the unit) are exported as integers:
        # "4803", not "4803,0".
        out[m.title] = values.astype("Int64") if whole else values
    out = pd.concat([out, result.provenance], axis=1)
    out["Valeurs signalées"] = table["flagged"].map(
        lambda keys: ", ".join(METRIC_BY_KEY[k].label for k in str(keys).split(",") if k)
    )
    out["Remarques"] = table["flags"]
    return out


def formatted(result: Comparison) -> pd.DataFrame:
    """The comparison table as French text, for display (``"56 398"``, ``"45,0"``, ``"—"``),
    values the build flagged marked (``geo.quartier.FLAG_MARK``)."""
    table = result.table
    out = labelled(result)
    for m in result.metrics:
        out[m.title] = [
            marked(m.number(value, simplified=bool(simplified) and m.from_shapes), m.key in keys)
            for value, simplified, keys in zip(
                table[m.key], table["simplified"], table["flagged"].map(_keys), strict=True
            )
        ]
    out["Année de la population"] = table["population_year"].map(
        lambda y: "non précisée" if pd.isna(y) else str(int(y))
    )
    out["Périmètres"] = table["generation"].astype(str)
    return out


def _keys(flagged) -> set[str]:
    return {k for k in str(flagged).split(",") if k} if isinstance(flagged, str) else set()


def _rounded(table: pd.DataFrame, metric: Metric) -> pd.Series:
    """One metric's column rounded as printed, row by row (fewer digits on simplified shapes)."""
    return pd.Series(
        [
            metric.rounded(v, simplified=bool(s) and metric.from_shapes)
            for v, s in zip(table[metric.key], table["simplified"], strict=True)
        ],
        index=table.index,
        dtype=float,
    )


# ---------------------------------------------------------------------------------------------
# Internals


def _with_all_columns(df: pd.DataFrame) -> pd.DataFrame:
    for col in COLUMNS:
        if col not in df.columns:
            df[col] = np.nan
    # A column added above is float NaN: text columns are filled as objects, not as floats.
    df["flags"] = df["flags"].astype(object).fillna("")
    df["flagged"] = df["flagged"].astype(object).fillna("")
    df["simplified"] = df["simplified"].fillna(False).astype(bool)
    return df[COLUMNS]


def _metric(key: str, generation: int) -> Metric:
    available = {m.key: m for m in metrics_for(generation)}
    if key not in available:
        raise InputError(
            f"indicateur {key!r} indisponible pour les périmètres {generation} "
            f"(disponibles : {', '.join(available)})"
        )
    return available[key]
