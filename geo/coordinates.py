"""Coordinates: the two systems the app uses, France's bounds, and coordinates read from text.

One place for:

* the CRS codes: Lambert-93 (``EPSG:2154``, metres) for every distance, area and lookup, WGS84
  (``EPSG:4326``, degrees) for the map and what users type;
* the « is it in metropolitan France » check: a point outside is a mistake (swapped longitude
  and latitude, metres given as degrees, an overseas address), never a verdict;
* reading a coordinate typed by a user (:func:`parse_degrees`) or found in a file's column
  (:func:`parse_coordinates`), with a decimal point or a decimal comma.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo.errors import InputError

LAMBERT93 = "EPSG:2154"
WGS84 = "EPSG:4326"

# Metropolitan France with Corsica, with a generous margin.
WGS84_BOUNDS = (-5.5, 41.0, 10.0, 51.5)  # lon min, lat min, lon max, lat max
LAMBERT93_BOUNDS = (0.0, 6_000_000.0, 1_300_000.0, 7_200_000.0)  # x min, y min, x max, y max

_SPACES = str.maketrans("", "", " \u00a0\u202f")
_PLAIN_DECIMAL = r"^[+-]?[0-9]{1,15}\.[0-9]{1,30}$"


def in_france(x: Any, y: Any, crs: str = WGS84) -> np.ndarray:
    """Mask of the points that are finite and lie in metropolitan France.

    ``x``/``y`` are longitudes/latitudes (``crs=WGS84``) or Lambert-93 metres (``LAMBERT93``).
    """
    minx, miny, maxx, maxy = WGS84_BOUNDS if crs == WGS84 else LAMBERT93_BOUNDS
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(x) & np.isfinite(y) & (x >= minx) & (x <= maxx)
        return ok & (y >= miny) & (y <= maxy)


def parse_degrees(text: Any, what: str) -> float:
    """A longitude or latitude typed by a user, in decimal degrees (point or comma).

    Spaces (also non-breaking) are ignored: ``" 2,83 "`` gives ``2.83``.

    Raises
    ------
    InputError
        Empty, not a number or not finite (French message naming ``what``).
    """
    cleaned = str(text if text is not None else "").translate(_SPACES).replace(",", ".")
    if not cleaned:
        raise InputError(f"Saisissez la {what} (en degrés décimaux).")
    try:
        value = float(cleaned)
    except ValueError:
        shown = str(text).strip()[:30]
        raise InputError(
            f"La {what} doit être un nombre en degrés décimaux (virgule ou point), pas « {shown} »."
        ) from None
    if not math.isfinite(value):
        raise InputError(f"La {what} doit être un nombre fini.")
    return value


def parse_coordinates(values: pd.Series) -> np.ndarray:
    """Numbers from a column of text cells (decimal point or comma); unusable cells are NaN."""
    text = values.astype(str).str.strip().str.replace(",", ".", regex=False)
    # Plain decimals (nearly every cell) are read by Arrow in C, to the same nearest double as
    # pandas; pandas reads the others (integers, exponents, words), with its own rules.
    cells = pa.array(text.array, from_pandas=True)
    plain = pc.fill_null(pc.match_substring_regex(cells, _PLAIN_DECIMAL), False)
    fast = plain.to_numpy(zero_copy_only=False)
    numbers = np.full(len(text), np.nan)
    numbers[fast] = pc.cast(cells.filter(plain), pa.float64()).to_numpy(zero_copy_only=False)
    if not fast.all():
        rest = ~fast
        numbers[rest] = pd.to_numeric(text[rest], errors="coerce").to_numpy(dtype=float)
    return numbers
