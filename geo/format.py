"""French number and date formats for every user-facing figure (``56 398``, ``12,5 %``).

Pure functions, shared by the command line and the app. A missing value is shown as an em dash,
never as zero.
"""

from __future__ import annotations

import math
from datetime import date

# French typography's narrow no-break space (U+202F), as in the PDFs (geo/_pdf.py): a number
# never breaks across lines, nor from its unit. Browsers and spreadsheets copy it as is; the
# app's own readers of typed numbers (coordinates, filters) accept it as a space
# (geo.coordinates, geo.territory.normalize_name).
SEP = "\u202f"
MISSING = "—"
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def fr_number(value, decimals: int = 0) -> str:
    """``56398`` -> ``"56 398"``; ``1234.5, 1`` -> ``"1 234,5"``; missing -> ``"—"``.

    A negative ``decimals`` rounds to tens, hundreds…: ``5551, -1`` -> ``"5 550"``.
    """
    if _missing(value):
        return MISSING
    number = float(value)
    if decimals < 0:
        number, decimals = round(number, decimals), 0
    if round(number, decimals) == 0:
        number = 0.0  # never « -0 »
    text = f"{number:,.{decimals}f}"
    return text.replace(",", SEP).replace(".", ",")


def fr_int(value) -> str:
    """An integer in French format."""
    return fr_number(value, 0)


def fr_percent(value, decimals: int = 1) -> str:
    """``12.5`` (already a percentage) -> ``"12,5 %"``."""
    if _missing(value):
        return MISSING
    return f"{fr_number(value, decimals)}{SEP}%"


def fr_euros(value) -> str:
    """``2401654`` -> ``"2 401 654 €"``."""
    if _missing(value):
        return MISSING
    return f"{fr_int(value)}{SEP}€"


def fr_distance(metres) -> str:
    """``12.4`` -> ``"12 m"``, ``3240`` -> ``"3,2 km"``."""
    if _missing(metres):
        return MISSING
    if float(metres) >= 1_000:
        return f"{fr_number(float(metres) / 1_000, 1)}{SEP}km"
    return f"{fr_int(metres)}{SEP}m"


def french_date(day: date) -> str:
    """``date(2025, 5, 1)`` -> ``"1er mai 2025"``."""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number} {MONTHS[day.month - 1]} {day.year}"
