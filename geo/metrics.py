"""The indicator catalogue: every figure a quartier, a commune or the territory is compared on.

One :class:`Metric` per figure: its processed column, French label, unit, precision and help
text, and whether it is one of the published indicators (described for the quartiers of the
generation in force only, ``geo.generations.has_indicators``). Every table, panel, sheet,
chart and export names, rounds and prints a figure through its metric, once, at display: the
tables hold unrounded values.

A figure computed from a simplified copy of the perimeters (``geo.generations.
contours_simplified``: areas, densities, area changes) is printed with fewer digits
(:meth:`Metric.precision`), so that it does not claim a precision its shapes lack.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo import generations
from geo.format import MISSING, SEP, fr_number

_UNITS_IN_TITLE = ("%", "ha", "hab./km²")


@dataclass(frozen=True)
class Metric:
    """A compared figure: column, French label, unit and how to print it."""

    key: str
    label: str
    unit: str  # "%" for percentages (already x100), "" for ratios
    decimals: int  # negative: rounded to tens (-1), hundreds (-2)...
    indicator: bool = False  # published with the indicators (see generations.has_indicators)
    help: str = ""
    simplified_decimals: int | None = None  # precision when computed on simplified contours

    @property
    def from_shapes(self) -> bool:
        """Computed from the perimeters' shapes (an area, a density): less precise on a
        simplified copy."""
        return self.simplified_decimals is not None

    def precision(self, *, simplified: bool = False) -> int:
        """Decimals to print: fewer when the figure comes from simplified contours."""
        if simplified and self.simplified_decimals is not None:
            return self.simplified_decimals
        return self.decimals

    def rounded(self, value, *, simplified: bool = False) -> float:
        """The value rounded as it is printed (NaN when missing), for exports."""
        try:
            number = float(value)
        except (TypeError, ValueError):
            return float("nan")
        return round(number, self.precision(simplified=simplified))

    def number(self, value, *, simplified: bool = False) -> str:
        """The value in French format, without its unit (``"45,0"``), or ``"—"``."""
        return fr_number(value, self.precision(simplified=simplified))

    def format(self, value, *, simplified: bool = False) -> str:
        """The value in French format with its unit (``"45,0 %"``), or ``"—"`` when missing."""
        text = self.number(value, simplified=simplified)
        if text == MISSING or not self.unit:
            return text
        return f"{text}{SEP}{self.unit}"

    def signed(self, value, *, simplified: bool = False) -> str:
        """A change with its sign as printed (``"+30,8 %"``, ``"-4 %"``, ``"0,0 %"``)."""
        text = self.format(value, simplified=simplified)
        positive = text[:1].isdigit() and any(c in "123456789" for c in text)
        return f"+{text}" if positive else text

    @property
    def title(self) -> str:
        """Label with its unit when the label does not say it (``"Surface (ha)"``)."""
        return f"{self.label} ({self.unit})" if self.unit in _UNITS_IN_TITLE else self.label


METRICS: tuple[Metric, ...] = (
    Metric("population", "Population", "hab.", 0),
    Metric("area_ha", "Surface", "ha", 1, simplified_decimals=0),
    Metric("density", "Densité", "hab./km²", 0, simplified_decimals=-1),
    Metric(
        "share_of_commune_pct",
        "Part de la population communale",
        "%",
        1,
        help="Pour un quartier : sa population rapportée à celle de sa (ses) commune(s). "
        "Pour une commune ou le territoire : part de sa population vivant en quartier "
        "prioritaire.",
    ),
    Metric(
        "taux_pauvrete",
        "Taux de pauvreté",
        "%",
        1,
        True,
        help="Part des habitants vivant sous le seuil de pauvreté (60 % du niveau de vie médian).",
    ),
    Metric(
        "taux_emploi", "Taux d'emploi", "%", 1, True, help="Part des 15-64 ans ayant un emploi."
    ),
    Metric(
        "indice_jeunesse",
        "Indice de jeunesse",
        "",
        1,
        True,
        help="Nombre de moins de 20 ans pour une personne de 60 ans ou plus.",
    ),
    Metric("nombre_logements_sociaux", "Logements sociaux", "logements", 0, True),
    Metric(
        "taux_logements_sociaux",
        "Logements sociaux rapportés au nombre de ménages",
        "%",
        1,
        True,
        help="Nombre de logements sociaux divisé par le nombre de ménages, tel que la "
        "compilation le calcule : ce n'est pas une part, il dépasse 100 % quand la source "
        "compte plus de logements sociaux que de ménages.",
    ),
    Metric("nombre_menages", "Ménages", "ménages", 0, True),
    Metric("part_men_1p", "Ménages d'une personne", "%", 1, True),
    Metric("part_men_2p", "Ménages de deux personnes", "%", 1, True),
    Metric("part_men_3p", "Ménages de trois personnes", "%", 1, True),
    Metric("part_men_45p", "Ménages de quatre ou cinq personnes", "%", 1, True),
    Metric("part_men_6pp", "Ménages de six personnes ou plus", "%", 1, True),
    Metric("personnes_couvertes_caf", "Personnes couvertes par la CAF", "pers.", 0, True),
    Metric("allocataires_caf", "Allocataires de la CAF", "allocataires", 0, True),
    Metric("rsa_socle", "Allocataires du RSA socle", "allocataires", 0, True),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}
INDICATOR_KEYS = tuple(m.key for m in METRICS if m.indicator)
AREA_CHANGE = Metric("area_change_pct", "Évolution de la surface", "%", 1, simplified_decimals=0)
"""A quartier's area change between its two generations (not compared between quartiers)."""
_NOT_COMPARED = {
    "part_pop_etrangere": "Part de la population étrangère",
    "part_pop_immigree": "Part de la population immigrée",
    AREA_CHANGE.key: AREA_CHANGE.label,
}
"""Processed columns the build checks but the comparison does not show, in French."""


_ROUNDED_TO = {
    2: "au centième",
    1: "au dixième",
    0: "à l'unité",
    -1: "à la dizaine",
    -2: "à la centaine",
}


def rounding_words(metric: Metric, *, simplified: bool = False) -> str:
    """How a metric is rounded, in French: ``"surface arrondie à l'unité (ha)"``."""
    unit = f" ({metric.unit})" if metric.unit else ""
    to = _ROUNDED_TO[metric.precision(simplified=simplified)]
    return f"{metric.label.lower()} arrondie {to}{unit}"


def label_of(column: str) -> str:
    """The French name of a processed figure's column (a metric's label), or the column
    itself when the catalogue does not know it."""
    if column in METRIC_BY_KEY:
        return METRIC_BY_KEY[column].label
    return _NOT_COMPARED.get(column, column)


def metrics_for(generation: int) -> tuple[Metric, ...]:
    """Metrics published for one generation of perimeters."""
    with_indicators = generations.has_indicators(generation)
    return tuple(m for m in METRICS if with_indicators or not m.indicator)
