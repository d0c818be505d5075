"""The figures a slide or a sheet shows about a quartier, a commune or the territory.

Every :class:`Fact` carries its value in French (``"2 215 hab."``), the year it describes (or
« année non précisée ») and its source, so that no page, sheet or slide prints a figure without
them. :class:`FactBook` builds them from the processed tables once per dataset: a dossier of
21 sheets reads the quartier tables once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geo import generations
from geo.compare import METRIC_BY_KEY, quartier_table, quartiers_of_commune
from geo.errors import InputError
from geo.format import fr_int, fr_percent
from geo.selection import Filters, latest_population_column, select_qpv, summarize
from geo.store import Dataset

NO_YEAR = "année non précisée"

SHORT_SOURCES = {
    "qpv": "ANCT",
    "pop2013": "Insee, RP 2013",
    "indicateurs2024": "compilation SIG Ville / Insee",
    "communes": "Insee, populations légales",
}
"""Short forms of the producers in ``geo.sources.DATASETS``, for narrow columns."""

POPULATION_SOURCES = {2015: SHORT_SOURCES["pop2013"], 2024: SHORT_SOURCES["indicateurs2024"]}
"""Where the population of a quartier of each generation comes from."""

QUARTIER_HEADLINE = ("population", "area_ha", "density", "share_of_commune_pct")
"""The quartier's figures shown first (the 2024 quartiers add their two main indicators)."""
HEADLINE_INDICATORS = ("taux_pauvrete", "taux_emploi")
ESTIMATE = "estimation : un quartier sur plusieurs communes est réparti au prorata de sa surface"


@dataclass(frozen=True)
class Fact:
    """One figure: its French text, the year it describes, its source, and any caveat."""

    key: str
    label: str
    value: object  # the number as stored (None when missing), or text for composite figures
    text: str  # the value in French, with its unit ("2 215 hab.", "23,3 %", "—")
    year: str  # "2013", "2023", "2013 et 2023", or NO_YEAR
    source: str
    note: str = ""

    @property
    def provenance(self) -> str:
        """Year and source in words (``"2013, Insee, RP 2013"``), then the caveat."""
        text = f"{self.year}, {self.source}"
        return f"{text} ({self.note})" if self.note else text


class FactBook:
    """The facts of one dataset, with the quartier tables computed once."""

    def __init__(self, data: Dataset):
        self.data = data
        self._quartiers: dict[int, pd.DataFrame] = {}
        self.reference_year, self._reference_column = latest_population_column(data.communes)
        self._communes = pd.DataFrame(data.communes.drop(columns="geometry")).set_index("code")

    def quartiers(self, generation: int) -> pd.DataFrame:
        """``geo.compare.quartier_table`` of ``generation``, indexed by code (computed once)."""
        if generation not in self._quartiers:
            table = quartier_table(self.data, generation).set_index("code", drop=False)
            self._quartiers[generation] = table
        return self._quartiers[generation]

    def generation_of(self, code: str) -> int:
        """The generation of a quartier code; InputError for an unknown one."""
        for generation in generations.ORDER:
            if code in self.quartiers(generation).index:
                return generation
        raise InputError(f"code de quartier inconnu : {code!r}")

    # -----------------------------------------------------------------------------------------
    # Quartier

    def quartier(self, code: str, keys: tuple[str, ...] | None = None) -> tuple[Fact, ...]:
        """The figures of a quartier (code of either generation), in the order of ``keys``.

        By default :data:`QUARTIER_HEADLINE`, plus :data:`HEADLINE_INDICATORS` for a 2024
        quartier. Indicators are published for the 2024 quartiers only.
        """
        generation = self.generation_of(code)
        row = self.quartiers(generation).loc[code]
        if keys is None:
            keys = QUARTIER_HEADLINE + (HEADLINE_INDICATORS if generation == 2024 else ())
        return tuple(self._quartier_fact(row, generation, key) for key in keys)

    def flags(self, code: str) -> str:
        """Values of a quartier missing or set aside, and why (``"; "``-separated)."""
        return str(self.quartiers(self.generation_of(code)).loc[code, "flags"])

    def _quartier_fact(self, row: pd.Series, generation: int, key: str) -> Fact:
        metric = METRIC_BY_KEY[key]
        population_year = self.population_year(row["population_year"])
        simplified = generations.contours_simplified(self.data, generation)
        note = generations.SIMPLIFIED_NOTE if simplified else ""
        if key == "population":
            year, source, note = population_year, POPULATION_SOURCES[generation], ""
        elif key == "area_ha":
            year, source = str(generation), f"{SHORT_SOURCES['qpv']}, périmètres {generation}"
        elif key == "density":
            year, source = population_year, "population / surface"
        elif key == "share_of_commune_pct":
            year = f"{population_year} et {self.reference_year}"
            source = f"population de la (des) commune(s) : {SHORT_SOURCES['communes']}"
            note = ""
        elif metric.only_2024:
            if generation != 2024:
                raise InputError(f"{metric.label} : publié pour les quartiers 2024 seulement")
            year, source, note = NO_YEAR, SHORT_SOURCES["indicateurs2024"], ""
        else:
            raise InputError(f"indicateur inconnu pour un quartier : {key!r}")
        value = row[key]
        return Fact(
            key=key,
            label=metric.label,
            value=None if pd.isna(value) else float(value),
            text=metric.format(value),
            year=year,
            source=source,
            note=note,
        )

    @staticmethod
    def population_year(value) -> str:
        """A population's year as text, or :data:`NO_YEAR`."""
        return NO_YEAR if value is None or pd.isna(value) else str(int(value))

    # -----------------------------------------------------------------------------------------
    # Commune

    def commune_quartiers(self, insee: str, generation: int) -> tuple[str, ...]:
        """Codes of the contract's quartiers of ``generation`` in a commune, by name."""
        self._commune_row(insee)  # an unknown commune is an InputError
        return quartiers_of_commune(self.data, insee, generation)

    def commune(self, insee: str, generation: int) -> tuple[Fact, ...]:
        """Population, quartiers, population and share in a quartier, of one commune."""
        row = self._commune_row(insee)
        codes = self.commune_quartiers(insee, generation)
        estimated = bool(row[f"pop_qpv_{generation}_estimated"])
        years = {self.population_year(self.quartiers(generation).loc[c, "population_year"])
                 for c in codes}  # fmt: skip
        year = years.pop() if len(years) == 1 else NO_YEAR
        population_source = POPULATION_SOURCES[generation]
        note = ESTIMATE if estimated else ""
        # A commune without a quartier has none of its inhabitants in one: 0, not missing.
        in_qpv = row[f"pop_qpv_{generation}"]
        share = row[f"share_qpv_{generation}"]
        population = row[self._reference_column]
        return (
            Fact(
                "population",
                "Habitants",
                _number(population),
                fr_int(population),
                str(self.reference_year),
                SHORT_SOURCES["communes"],
            ),
            Fact(
                "quartiers",
                "Quartiers prioritaires",
                len(codes),
                fr_int(len(codes)),
                str(generation),
                f"{SHORT_SOURCES['qpv']}, périmètres {generation}",
            ),
            Fact(
                "population_qpv",
                "Habitants en quartier prioritaire",
                _number(in_qpv),
                ("environ " if estimated else "") + fr_int(in_qpv),
                year if codes else str(generation),
                population_source,
                note,
            ),
            Fact(
                "share_qpv_pct",
                "Part en quartier prioritaire",
                _number(share),
                fr_percent(share),
                f"{year} et {self.reference_year}" if codes else str(generation),
                f"{population_source} ; {SHORT_SOURCES['communes']}",
            ),
        )

    def _commune_row(self, insee: str) -> pd.Series:
        if insee not in self._communes.index:
            raise InputError(f"commune hors du territoire : {insee!r}")
        return self._communes.loc[insee]

    # -----------------------------------------------------------------------------------------
    # Territory

    def territory(self, generation: int) -> tuple[Fact, ...]:
        """The territory's headline: quartiers, communes, population and share in a quartier.

        The same figures as the map's headline (``geo.selection.summarize``).
        """
        summary = summarize(
            select_qpv(self.data.qpv, Filters(generation=generation)),
            self.data.communes,
            generation=generation,
        )
        year = self.population_year(summary.population_year)
        source = POPULATION_SOURCES[generation]
        perimeters = f"{SHORT_SOURCES['qpv']}, périmètres {generation}"
        return (
            Fact(
                "quartiers",
                "Quartiers prioritaires",
                summary.quartiers,
                fr_int(summary.quartiers),
                str(generation),
                perimeters,
            ),
            Fact(
                "communes",
                "Communes concernées",
                len(summary.communes),
                f"{fr_int(len(summary.communes))} sur {summary.communes_total}",
                str(generation),
                perimeters,
            ),
            Fact(
                "population_qpv",
                "Habitants des quartiers",
                summary.population,
                fr_int(summary.population),
                year,
                source,
            ),
            Fact(
                "share_qpv_pct",
                "Part de la population du territoire",
                summary.share_pct,
                fr_percent(summary.share_pct),
                f"{year} et {summary.reference_year}",
                f"{source} ; {SHORT_SOURCES['communes']}",
                "ordre de grandeur : deux années différentes"
                if year != str(summary.reference_year)
                else "",
            ),
        )


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
