"""Geocoding precision: the extra tolerance a geocoded point earns, by address-service result type.

A BAN ``housenumber`` result is a point at the address (entrance or parcel): it counts for
``PRECISION_BY_TYPE["housenumber"]`` metres of extra tolerance. ``street``, ``locality`` and
``municipality`` results are the position of a whole street, place or commune: where the address
lies along it is unknown, so no verdict can rest on that point. Their precision is infinite and
the verdict is "uncertain" with an explicit reason (the distances and 300/500 m bands are still
those of the geocoded point), unless the point is outside the territory by more than the
geometry tolerance (then "outside_territory", which an imprecise address cannot turn into a QPV
verdict either).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import InputError

PRECISION_BY_TYPE: dict[str, float] = {
    "housenumber": 10.0,
    "street": math.inf,
    "locality": math.inf,
    "municipality": math.inf,
}


def precision_for_type(result_type: str | None) -> float:
    """Extra tolerance in metres for a BAN result type (``math.inf``: not a usable point).

    Parameters
    ----------
    result_type : str or None
        ``housenumber``, ``street``, ``locality`` or ``municipality``; None means a point given
        directly (map click, coordinates), precision 0.

    Raises
    ------
    InputError
        For an unknown type.
    """
    if result_type is None:
        return 0.0
    try:
        return PRECISION_BY_TYPE[result_type]
    except KeyError:
        raise InputError(
            f"Type de résultat de géocodage inconnu : {result_type!r} "
            f"(attendu : {', '.join(PRECISION_BY_TYPE)})."
        ) from None


def precisions_for_types(result_types: Any) -> np.ndarray:
    """Vectorised :func:`precision_for_type` for a column of BAN types (missing -> NaN)."""
    types = pd.Series(result_types, dtype="object")
    known = types.map(PRECISION_BY_TYPE)
    unknown = types.notna() & known.isna()
    if unknown.any():
        raise InputError(
            f"Type de résultat de géocodage inconnu : {types[unknown].iloc[0]!r} "
            f"(attendu : {', '.join(PRECISION_BY_TYPE)})."
        )
    return np.array(known.to_numpy(dtype=float, na_value=np.nan))  # writable copy


def check_precision(precision_m: Any) -> Any:
    """``precision_m`` (a number or an array) as floats; InputError if missing or negative."""
    arr = np.asarray(precision_m, dtype=float)
    if np.isnan(arr).any() or (arr < 0).any():
        raise InputError(f"Précision de géocodage invalide : {precision_m!r} (mètres, >= 0).")
    return float(arr) if arr.ndim == 0 else arr
