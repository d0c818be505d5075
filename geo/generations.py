"""The two generations of perimeters, and every decision about them.

- Their order: the perimeters in force first, then the previous ones (:data:`ORDER`), in every
  list a user sees (radio buttons, legends, sheets, a checked file's columns, the command line);
  every page opens on the perimeters in force (:data:`DEFAULT`).
- Their names: :data:`LABELS` (long), :data:`NAMES` (« Périmètres 2024 (en vigueur) »),
  :data:`SHORT_LABELS` (« 2024 (en vigueur) »).
- Which of them the published indicators describe (:func:`has_indicators`).
- The year of their quartiers' population, as the build read it from the sources
  (:func:`population_year`: the census year for 2015, none for 2024, whose source gives none).
- How precise their shapes are: whether the perimeters in use are a simplified copy
  (:func:`contours_simplified`).
- A quartier's counterpart in the other generation (:func:`counterpart`).
"""

from __future__ import annotations

import pandas as pd

from geo.errors import InputError
from geo.store import Dataset

IN_FORCE = 2024
PREVIOUS = 2015
ORDER = (IN_FORCE, PREVIOUS)
"""Display order: the perimeters in force first."""
DEFAULT = IN_FORCE
"""The perimeters every page shows until the user (or a link) asks for the others."""

LABELS = {
    IN_FORCE: "Périmètres 2024, en vigueur depuis le 1er janvier 2024",
    PREVIOUS: "Périmètres 2015 (contrat de ville 2015-2023)",
}
"""How the two generations are named in headings, in display order."""
NAMES = {
    IN_FORCE: "Périmètres 2024 (en vigueur)",
    PREVIOUS: "Périmètres 2015 (contrat de ville 2015-2023)",
}
"""The same, shorter: before a verdict or a count (« Périmètres 2024 (en vigueur) : dans »)."""
SHORT_LABELS = {IN_FORCE: "2024 (en vigueur)", PREVIOUS: "2015 (contrat 2015-2023)"}
"""The shortest names, for radio buttons and table headers."""

NO_YEAR = "année non précisée"
"""Said of a figure whose source gives no year."""
SIMPLIFIED_NOTE = "calculé sur des contours simplifiés"
"""Said of every area and density computed from a simplified copy of the perimeters."""


def check(generation: object) -> int:
    """``generation`` as an int when it is one of :data:`ORDER`.

    Raises
    ------
    InputError
        For any other value (French message naming the known generations).
    """
    try:
        value = int(generation)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        value = None
    if value not in ORDER:
        known = " ou ".join(str(g) for g in ORDER)
        raise InputError(f"génération de périmètres inconnue : {generation!r} ({known})")
    return value


def other(generation: int) -> int:
    """The other generation: 2015 for 2024, 2024 for 2015."""
    return PREVIOUS if check(generation) == IN_FORCE else IN_FORCE


def has_indicators(generation: int) -> bool:
    """True when the published indicators (poverty, employment...) describe that generation."""
    return check(generation) == IN_FORCE


def population_year(data: Dataset, generation: int) -> int | None:
    """The year of the population of that generation's quartiers, or None when the source gives
    none (read by the build from the source file, see ``geo.store.GenerationReport``)."""
    return data.report.generations[check(generation)].population_year


def year_text(year: object) -> str:
    """A figure's year as text: ``"2013"``, or :data:`NO_YEAR` when missing."""
    if year is None or pd.isna(year):  # type: ignore[call-overload]
        return NO_YEAR
    try:
        return str(int(year))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return NO_YEAR


def contours_simplified(data: Dataset, generation: int) -> bool:
    """True when the perimeters of ``generation`` in use are a simplified copy of the official
    ones (the build report names the file each generation came from): their areas and densities
    are then approximate, and lookups near a limit uncertain."""
    return data.report.generations[check(generation)].simplified


def simplified(data: Dataset) -> tuple[int, ...]:
    """The generations whose perimeters in use are a simplified copy, in display order
    (:func:`contours_simplified`)."""
    return tuple(g for g in ORDER if contours_simplified(data, g))


def counterparts(data: Dataset) -> dict[str, str]:
    """Every quartier's counterpart in the other generation: a previous quartier's successor
    (the largest overlap), a quartier in force's predecessor; quartiers without one are absent."""
    qpv = data.qpv
    previous = qpv["generation"] == PREVIOUS
    twin = qpv["successor"].where(previous, qpv["predecessor"])
    return {c: t for c, t in zip(qpv["code"], twin, strict=True) if isinstance(t, str)}


def counterpart(data: Dataset, code: str) -> str | None:
    """The same quartier in the other generation (its successor or predecessor), or None."""
    return counterparts(data).get(code)
