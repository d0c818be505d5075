"""The two generations of perimeters: their order, their names and how precise their shapes are.

Every list of generations a user sees (radio buttons, legends, sheets, sources) puts the
perimeters in force first: 2024, then 2015. Valid values and the default view are
``geo.selection.GENERATIONS`` and ``ui.state.DEFAULT_GENERATION``.
"""

from __future__ import annotations

from geo.store import Dataset

IN_FORCE = 2024
ORDER = (2024, 2015)
"""Display order: the perimeters in force first."""

LABELS = {
    2024: "Périmètres 2024, en vigueur depuis le 1er janvier 2024",
    2015: "Périmètres 2015 (contrat de ville 2015-2023)",
}
"""How the two generations are named everywhere in the app, in display order."""

SHORT_LABELS = {2024: "2024 (en vigueur)", 2015: "2015 (contrat 2015-2023)"}

SIMPLIFIED_NOTE = "calculé sur des contours simplifiés"
"""Said of every area and density computed from a simplified copy of the perimeters."""

_SIMPLIFIED_SOURCES = {2024: "qpv2024_simplified"}


def contours_simplified(data: Dataset, generation: int) -> bool:
    """True when the perimeters of ``generation`` were built from a simplified copy.

    The build report names the file each generation came from: the mirror's 2024 file is a
    simplified copy of the official one, so its areas and densities are approximate.
    """
    if generation not in LABELS:
        raise ValueError(f"unknown generation {generation!r}, expected one of {ORDER}")
    simplified = _SIMPLIFIED_SOURCES.get(generation)
    if simplified is None:
        return False
    used = (data.report.get("sources") or {}).get(f"qpv{generation}") or {}
    return used.get("source") == simplified
