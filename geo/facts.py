"""The facts of one dataset, computed once: quartiers, communes and the territory.

:class:`FactBook` holds the quartier tables of a dataset (``geo.quartier.Quartiers``) and says
a commune's and the territory's figures from them, each a :class:`~geo.quartier.Fact` with its
year (or « année non précisée ») and its source: a dossier of 21 sheets, the presentation and the
map's panels read the tables once.
"""

from __future__ import annotations

import weakref

import pandas as pd

from geo import generations
from geo.errors import InputError
from geo.format import fr_int, fr_percent
from geo.quartier import SHORT_SOURCES, Fact, Quartier, Quartiers, population_source
from geo.selection import Filters, Summary, quartiers_by_commune, select_qpv, summarize
from geo.store import Dataset

ESTIMATE_NOTE = (
    "Estimation : un quartier à cheval sur plusieurs communes est réparti entre elles au "
    "prorata de sa surface dans chacune."
)
"""How a commune's population in quartiers is estimated (said wherever it is shown)."""
ESTIMATE = ESTIMATE_NOTE[0].lower() + ESTIMATE_NOTE[1:].rstrip(".")


class FactBook:
    """The facts of one dataset, with the quartier tables computed once."""

    def __init__(self, data: Dataset):
        self.data = data
        self.quartiers = Quartiers(data)
        self.reference_year = self.quartiers.reference_year
        self._reference_column = f"pmun_{self.reference_year}"
        self._communes = pd.DataFrame(data.communes.drop(columns="geometry")).set_index("code")
        # Asked for on every rerun showing a commune; the tables do not change: one pass per
        # generation, kept here.
        self._by_commune: dict[int, dict[str, tuple[str, ...]]] = {}
        self._quartier: dict[str, Quartier] = {}  # frozen: one per code

    def quartier(self, code: str) -> Quartier:
        """The quartier ``code`` of either generation (InputError for an unknown code)."""
        if code not in self._quartier:
            self._quartier[code] = self.quartiers.get(code)
        return self._quartier[code]

    # -----------------------------------------------------------------------------------------
    # Commune

    def commune_quartiers(self, insee: str, generation: int) -> tuple[str, ...]:
        """Codes of the contract's quartiers of ``generation`` in a commune, by name."""
        self._commune_row(insee)  # an unknown commune is an InputError
        if generation not in self._by_commune:
            self._by_commune[generation] = quartiers_by_commune(self.data, generation)
        return self._by_commune[generation].get(insee, ())

    def commune(self, insee: str, generation: int) -> tuple[Fact, ...]:
        """Population, quartiers, population and share in a quartier, of one commune."""
        row = self._commune_row(insee)
        codes = self.commune_quartiers(insee, generation)
        estimated = bool(row[f"pop_qpv_{generation}_estimated"])
        table = self.quartiers.table(generation)
        years = {generations.year_text(table.loc[c, "population_year"]) for c in codes}
        year = years.pop() if len(years) == 1 else generations.NO_YEAR
        source = population_source(self.data, generation)
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
                source,
                note,
            ),
            Fact(
                "share_qpv_pct",
                "Part en quartier prioritaire",
                _number(share),
                fr_percent(share),
                f"{year} et {self.reference_year}" if codes else str(generation),
                f"{source} ; {SHORT_SOURCES['communes']}",
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
        return summary_facts(self.data, summary)


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def summary_facts(data: Dataset, summary: Summary) -> tuple[Fact, ...]:
    """The headline of a selection (``geo.selection.summarize``): quartiers, communes,
    population and share of the territory, each with its year and source."""
    generation = summary.generation
    year = generations.year_text(summary.population_year)
    source = population_source(data, generation)
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


_BOOKS: dict[int, FactBook] = {}


def book_of(data: Dataset) -> FactBook:
    """The :class:`FactBook` of a loaded dataset, built once: its tables never change, and a
    page asks for several of its facts on every rerun."""
    book = _BOOKS.get(id(data))
    if book is None or book.data is not data:
        book = FactBook(data)
        _BOOKS[id(data)] = book
        weakref.finalize(data, _BOOKS.pop, id(data), None)  # forgotten with its dataset
    return book
