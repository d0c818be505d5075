"""A verdict (is this point in a quartier prioritaire?) and every word said about it.

The types a :class:`geo.locate.Locator` answers with (:class:`Verdict`, the quartiers it names
as :class:`QPVMatch` and :class:`QPVRef`), and their French wording, in one place: the labels of
statuses (:data:`STATUS_LABELS`, the words of a checked file's ``qpv_<G>_statut`` column) and of
the reasons a verdict is uncertain (:data:`REASON_LABELS`), the one-line answer
(:func:`headline`), the full description (:func:`describe_verdict`), the 300 m / 500 m sentence
(:func:`bands_sentence`) and the neighbour's contract (:func:`contract_clause`). The page, the
PDF, the command line and the file pipeline all say a verdict through these functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from geo.format import fr_distance, fr_int

STATUSES = ("in", "out", "uncertain", "outside_territory")
REASON_CODES = ("boundary", "precision", "territory_edge")
BAND_NEAR_M = 300.0
BAND_FAR_M = 500.0

STATUS_LABELS = {
    "in": "dans",
    "out": "hors",
    "uncertain": "incertain",
    "outside_territory": "hors territoire",
}
"""Each status in one French word or two (a checked file's ``qpv_<G>_statut`` column)."""
NOT_LOCATED = "non localisée"
STATUS_ORDER = ("dans", "incertain", "hors", "hors territoire", NOT_LOCATED)
"""Every value of a ``qpv_<G>_statut`` column, in the order summaries list them."""
_STATUS_PLURALS = {"incertain": "incertains", NOT_LOCATED: "non localisées"}


def status_count(count: int, status: str) -> str:
    """« 2 incertains », « 1 non localisée »: a number of rows of one status (a value of
    :data:`STATUS_ORDER`), the words agreeing with it (in French, plural from 2)."""
    return f"{fr_int(count)} {_STATUS_PLURALS.get(status, status) if count >= 2 else status}"


REASON_LABELS = {
    "boundary": "trop proche de la limite d'un quartier",
    "precision": "adresse localisée seulement à la rue, au lieu-dit ou à la commune",
    "territory_edge": "à la limite du territoire couvert par les données",
}
"""Why a verdict is uncertain, in a few words (file remarks, the headline's second half)."""
TYPE_LEVEL_FR = {"street": "à la rue", "locality": "au lieu-dit", "municipality": "à la commune"}
"""How far an imprecise address was located (the address service's result types)."""


@dataclass(frozen=True)
class QPVRef:
    """A quartier named by its code and name."""

    code: str
    name: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"code": self.code, "name": self.name}


@dataclass(frozen=True)
class QPVMatch:
    """A quartier containing the point, with its communes (names and INSEE codes).

    ``contract`` names the EPCI whose contrat de ville the quartier belongs to when it is not
    the territory's own (a neighbour's quartier the app shows), None otherwise.
    """

    code: str
    name: str
    communes: tuple[str, ...]
    commune_codes: tuple[str, ...] = ()
    contract: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "code": self.code,
            "name": self.name,
            "communes": list(self.communes),
            "commune_codes": list(self.commune_codes),
            "contract": self.contract,
        }


@dataclass(frozen=True)
class Verdict:
    """Answer for one point and one generation of perimeters.

    ``status`` is one of ``STATUSES``. ``qpv`` lists the quartiers whose perimeter contains the
    point (possibly non-empty for an "uncertain" point); ``nearest`` is the quartier whose
    boundary is nearest, given unless the status is "in"; ``distance_m`` is the distance to that
    boundary (inside or outside); ``tolerance_m`` is the geometry tolerance plus the geocoding
    precision (``inf`` for a street/locality/municipality result); ``reason`` explains, in
    French, an "uncertain" or "outside_territory" status (None otherwise).
    """

    generation: int
    status: str
    qpv: tuple[QPVMatch, ...]
    nearest: QPVRef | None
    distance_m: float
    tolerance_m: float
    within_300m: bool
    within_500m: bool
    reason: str | None
    x: float
    y: float

    @property
    def codes(self) -> tuple[str, ...]:
        """Codes of the quartiers containing the point."""
        return tuple(m.code for m in self.qpv)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``tolerance_m`` is None when infinite)."""
        return {
            "generation": self.generation,
            "status": self.status,
            "qpv": [m.to_dict() for m in self.qpv],
            # Another EPCI's contrat de ville, when the point is in a neighbour's quartier.
            "contract": next((m.contract for m in self.qpv if m.contract), None),
            "nearest": self.nearest.to_dict() if self.nearest else None,
            "distance_m": round(self.distance_m, 1),
            "tolerance_m": round(self.tolerance_m, 1) if math.isfinite(self.tolerance_m) else None,
            "within_300m": self.within_300m,
            "within_500m": self.within_500m,
            "reason": self.reason,
            "x": round(self.x, 2),
            "y": round(self.y, 2),
        }


# ---------------------------------------------------------------------------------------------
# Saying it


def _plain(generation: int, code: str, name: str) -> str:
    return f"{name} ({code})"


def describe_verdict(
    verdict: Verdict,
    *,
    quartier: Callable[[int, str, str], str] = _plain,
    escape: Callable[[str], str] = str,
) -> list[str]:
    """A verdict in plain French: a short headline first, then the details (reason, bands).

    Parameters
    ----------
    quartier : callable, optional
        ``quartier(generation, code, name)`` -> how a quartier is named; default
        ``"Name (CODE)"``. The address page passes a Markdown link to the quartier's panel.
    escape : callable, optional
        Applied to every other text taken from the data (communes, reasons): the page passes
        a Markdown escaper.
    """
    g = verdict.generation

    def named(ref) -> str:
        return quartier(g, ref.code, ref.name) + contract_clause(ref, escape=escape)

    def nearest() -> str:
        distance = fr_distance(verdict.distance_m)
        return f"Quartier le plus proche : {named(verdict.nearest)}, à {distance}."

    reason = [escape(verdict.reason)] if verdict.reason else []
    if verdict.status == "in":
        names = [named(m) for m in verdict.qpv]
        communes = list(dict.fromkeys(c for m in verdict.qpv for c in m.communes))
        where = ""
        if len(communes) == 1:
            where = f", sur la commune de {escape(communes[0])}"
        elif communes:
            where = f", sur les communes de {escape(and_list(communes))}"
        if len(names) == 1:
            return [f"Dans le quartier prioritaire {names[0]}{where}."]
        return [f"Dans les quartiers prioritaires {and_list(names)}{where}."]
    if verdict.status == "outside_territory":
        return ["Hors du territoire couvert.", *reason]
    if verdict.status == "uncertain":
        lines = ["Incertain : on ne peut pas trancher.", *reason]
        if verdict.qpv:
            inside = ", ".join(named(m) for m in verdict.qpv)
            lines.append(f"Sur le tracé disponible, le point est dans le périmètre de {inside}.")
        elif verdict.nearest:
            lines.append(nearest())
        return [*lines, bands_sentence(verdict)]
    return ["Hors quartier prioritaire.", nearest(), bands_sentence(verdict)]


def contract_clause(quartier, *, escape: Callable[[str], str] = str) -> str:
    """``", du contrat de ville de la CA d'Hénin-Carvin"`` for a neighbour's quartier, else "".

    ``quartier`` is a :class:`~geo.locate.QPVMatch` (or anything with a ``contract``).
    """
    contract = getattr(quartier, "contract", None)
    return f", du contrat de ville de la {escape(contract)}" if contract else ""


def and_list(items: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b et c"``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} et {items[-1]}"


def bands_sentence(verdict: Verdict) -> str:
    """Whether the point lies within 300 m and 500 m of a quartier, in French."""

    def yes_no(flag: bool) -> str:
        return "oui" if flag else "non"

    return (
        f"À moins de {fr_distance(BAND_NEAR_M)} d'un quartier prioritaire : "
        f"{yes_no(verdict.within_300m)} ; "
        f"à moins de {fr_distance(BAND_FAR_M)} : {yes_no(verdict.within_500m)}."
    )


def headline(
    verdict: Verdict,
    *,
    territory_name: str,
    quartier: Callable[[int, str, str], str] = _plain,
    escape: Callable[[str], str] = str,
) -> str:
    """The one-line answer: « Oui, dans … », « Non, hors … (à N m de X) », « Incertain : … ».

    Parameters
    ----------
    quartier : callable, optional
        ``quartier(generation, code, name)`` -> how a quartier is named (the page passes a
        Markdown link); every other text from the data goes through ``escape``.
    """
    g = verdict.generation

    def named(ref: Any) -> str:
        return quartier(g, ref.code, ref.name) + contract_clause(ref, escape=escape)

    if verdict.status == "in":
        names = [named(m) for m in verdict.qpv]
        if len(names) == 1:
            return f"Oui, dans le quartier prioritaire {names[0]}"
        return f"Oui, dans les quartiers prioritaires {and_list(names)}"
    if verdict.status == "out":
        where = f" (à {fr_distance(verdict.distance_m)} de {named(verdict.nearest)})"
        return "Non, hors quartier prioritaire" + (where if verdict.nearest else "")
    if verdict.status == "outside_territory":
        return f"Hors du territoire couvert ({escape(territory_name)})"
    return f"Incertain : {short_reason(verdict, quartier=quartier, escape=escape)}"


def short_reason(
    verdict: Verdict,
    *,
    quartier: Callable[[int, str, str], str] = _plain,
    escape: Callable[[str], str] = str,
) -> str:
    """Why a verdict is uncertain, in a few words (the headline's second half)."""
    g = verdict.generation
    if not math.isfinite(verdict.tolerance_m):
        return REASON_LABELS["precision"]
    if verdict.nearest is not None and verdict.distance_m <= verdict.tolerance_m:
        where = quartier(g, verdict.nearest.code, verdict.nearest.name)
        if verdict.qpv:
            return f"le point est dans {where}, à {fr_distance(verdict.distance_m)} de sa limite"
        return f"limite du quartier {where} à {fr_distance(verdict.distance_m)}"
    return REASON_LABELS["territory_edge"]


def reason_sentence(
    code: str | None,
    *,
    nearest: QPVRef,
    inside: bool,
    distance: float,
    geometry_tolerance: float,
    precision: float,
    result_type: str | None,
    territory_distance: float,
) -> str | None:
    """The French sentence explaining an uncertain or outside-territory verdict."""
    quartier = f"« {nearest.name} » ({nearest.code})"
    if code == "precision":
        level = TYPE_LEVEL_FR.get(result_type or "")
        if level:
            return (
                f"L'adresse n'a été localisée qu'{level} : sa position exacte est inconnue, "
                "on ne peut pas dire si elle est dans un quartier prioritaire. "
                "Précisez le numéro dans la voie."
            )
        return "La position de l'adresse est trop imprécise pour trancher."
    if code == "boundary":
        tolerance = geometry_tolerance + precision
        if precision > 0:
            detail = (
                f"{fr_distance(geometry_tolerance)} de précision des périmètres + "
                f"{fr_distance(precision)} de précision de l'adresse"
            )
        else:
            detail = "précision des périmètres"
        margin = f"la marge d'incertitude de {fr_distance(tolerance)} ({detail})"
        if distance < 0.5:
            return f"Le point est sur la limite du quartier {quartier} ; {margin}."
        where = "de la limite du quartier" if inside else "du quartier"
        return f"Le point est à {fr_distance(distance)} {where} {quartier}, moins que {margin}."
    if code == "territory_edge":
        return (
            f"Le point est à {fr_distance(territory_distance)} en dehors du territoire couvert par "
            "les données, dans la marge d'incertitude : les quartiers des territoires voisins ne "
            "sont pas chargés."
        )
    if territory_distance > 0:
        return (
            f"Le point est à {fr_distance(territory_distance)} en dehors du territoire couvert par "
            "les données : on ne peut pas dire s'il se trouve dans un quartier prioritaire."
        )
    return None
