"""The indicator catalogue: every figure a quartier, a commune or the territory is compared on.

One :class:`Metric` per figure: its processed column, French label, unit, decimals and help
text, and whether it is one of the published indicators (described for the quartiers of the
generation in force only, ``geo.generations.has_indicators``). Every table, panel, sheet and
chart names and prints a figure through its metric.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo import generations
from geo.format import fr_number

_UNITS_IN_TITLE = ("%", "ha", "hab./km²")


@dataclass(frozen=True)
class Metric:
    """A compared figure: column, French label, unit and how to print it."""

    key: str
    label: str
    unit: str  # "%" for percentages (already x100), "" for ratios
    decimals: int
    indicator: bool = False  # published with the indicators (see generations.has_indicators)
    help: str = ""

    def format(self, value) -> str:
        """The value in French format with its unit (``"45,0 %"``), or ``"—"`` when missing."""
        text = fr_number(value, self.decimals)
        if text == fr_number(None) or not self.unit:
            return text
        return f"{text} {self.unit}"

    @property
    def title(self) -> str:
        """Label with its unit when the label does not say it (``"Surface (ha)"``)."""
        return f"{self.label} ({self.unit})" if self.unit in _UNITS_IN_TITLE else self.label


METRICS: tuple[Metric, ...] = (
    Metric("population", "Population", "hab.", 0),
    Metric("area_ha", "Surface", "ha", 1),
    Metric("density", "Densité", "hab./km²", 0),
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
    Metric("taux_logements_sociaux", "Part de logements sociaux", "%", 1, True),
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


def metrics_for(generation: int) -> tuple[Metric, ...]:
    """Metrics published for one generation of perimeters."""
    with_indicators = generations.has_indicators(generation)
    return tuple(m for m in METRICS if with_indicators or not m.indicator)
