"""What a :class:`geo.locate.Locator` is handed, checked before any use: the QPV table and the
territory (``SchemaError``: a build problem), coordinates and their CRS (``InputError``, French:
a user's mistake, with the order of magnitude expected on the territory covered).
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.coordinates import LAMBERT93, LAMBERT93_BOUNDS, WGS84
from geo.errors import InputError, SchemaError
from geo.format import fr_int, fr_number

REQUIRED_COLUMNS = ("code", "name", "generation", "commune_names", "commune_codes")


def validate_frame(qpv: Any) -> None:
    """Raise SchemaError unless ``qpv`` is a valid ``qpv.parquet`` table in Lambert-93."""
    if not isinstance(qpv, gpd.GeoDataFrame):
        raise SchemaError(f"table des QPV attendue (GeoDataFrame), pas {type(qpv).__name__}")
    if qpv.crs is None:
        raise SchemaError("les périmètres des QPV n'ont pas de projection : EPSG:2154 attendue")
    if qpv.crs.to_epsg() != 2154:
        raise SchemaError(
            f"les périmètres des QPV doivent être en EPSG:2154 (Lambert-93), pas "
            f"{qpv.crs.to_string()!r}"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in qpv.columns]
    if missing:
        raise SchemaError(f"il manque à la table des QPV les colonnes {', '.join(missing)}")
    if len(qpv) == 0:
        raise SchemaError("la table des QPV est vide : aucune réponse « hors » ne peut en venir")
    duplicated = qpv.duplicated(["code", "generation"])
    if duplicated.any():
        raise SchemaError(f"codes de QPV en double : {sorted(set(qpv['code'][duplicated]))}")
    geoms = qpv.geometry.values
    kinds = shapely.get_type_id(geoms)
    bad = ~np.isin(kinds, (3, 6)) | shapely.is_empty(geoms)
    if bad.any():
        raise SchemaError(
            f"QPV geometries must be non-empty (Multi)Polygons: {list(qpv['code'][bad])}"
        )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        raise SchemaError(
            f"géométries de QPV invalides (à réparer d'abord) : {list(qpv['code'][invalid])}"
        )


def territory_geometry(territory: Any) -> Any:
    """The territory as one non-empty Lambert-93 (Multi)Polygon; SchemaError otherwise."""
    if isinstance(territory, gpd.GeoDataFrame | gpd.GeoSeries):
        if territory.crs is None or territory.crs.to_epsg() != 2154:
            got = territory.crs.to_string() if territory.crs is not None else None
            raise SchemaError(f"le territoire doit être en EPSG:2154 (Lambert-93), pas {got!r}")
        if len(territory) == 0:
            raise SchemaError("le territoire est vide")
        territory = shapely.union_all(np.asarray(territory.geometry.values, dtype=object))
    if not isinstance(territory, shapely.Polygon | shapely.MultiPolygon) or territory.is_empty:
        raise SchemaError(
            f"le territoire doit être un polygone non vide, pas {type(territory).__name__}"
        )
    minx, miny, maxx, maxy = territory.bounds
    lminx, lminy, lmaxx, lmaxy = LAMBERT93_BOUNDS
    if not (lminx <= minx and maxx <= lmaxx and lminy <= miny and maxy <= lmaxy):
        raise SchemaError(
            f"territory bounds {territory.bounds} are not Lambert-93 coordinates in France"
        )
    return territory


def as_float_array(values: Any, label: str) -> np.ndarray:
    """``values`` as a 1-D float array; InputError (naming ``label``) if not numbers."""
    try:
        if isinstance(values, pd.Series | pd.Index):
            arr = values.to_numpy(dtype=float, na_value=np.nan)
        else:
            arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"Les valeurs de {label} ne sont pas des nombres.") from None
    return np.atleast_1d(arr)


def coordinate_error(
    x: float, y: float, crs: str, centre: tuple[float, float, float, float], where: str = ""
) -> InputError:
    """The French message for unusable coordinates; ``centre`` is the territory's centre as
    ``(lon, lat, x, y)``, the order of magnitude a user should have typed."""
    lon, lat, cx, cy = centre
    if crs == WGS84:
        what = f"longitude {x!r}, latitude {y!r}"
        hint = (
            " Vérifiez que la longitude et la latitude ne sont pas inversées (sur le territoire "
            f"couvert, la longitude est autour de {fr_number(lon, 1)} et la latitude autour de "
            f"{fr_number(lat, 1)})."
        )
    else:
        what = f"x {x!r}, y {y!r} (Lambert-93)"
        hint = (
            " Les coordonnées Lambert-93 sont en mètres (sur le territoire couvert, vers "
            f"x = {fr_int(round(cx, -3))}, y = {fr_int(round(cy, -3))})."
        )
    if not (math.isfinite(x) and math.isfinite(y)):
        return InputError(f"Coordonnées invalides{where} : {what} (valeur manquante ou infinie).")
    return InputError(f"Coordonnées hors de la France métropolitaine{where} : {what}.{hint}")


def check_crs(crs: str) -> str:
    """The CRS code, upper-cased, if the Locator takes it (WGS84 or Lambert-93)."""
    normalized = str(crs).upper()
    if normalized not in (WGS84, LAMBERT93):
        raise InputError(
            f"Système de coordonnées non pris en charge : {crs!r} "
            f"(attendu : {WGS84} ou {LAMBERT93})."
        )
    return normalized
