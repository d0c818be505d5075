"""Point -> QPV verdict: in, out, uncertain or outside the territory, single and batch.

:class:`Locator` is the public face: it validates its inputs, turns coordinates into
Lambert-93 and decides each verdict; the numeric indexes it stands on are in
``geo._gridindex``, the verdict types and their wording in ``geo.verdict``.

The lookup runs on the perimeters as their file gives them (not the map's display copy), in
Lambert-93 (EPSG:2154, metres). A verdict is never a bare "in/out": each generation of
perimeters comes with a boundary tolerance (a few metres for the official 2015 file, about
120 m for the simplified 2024 copy) and each geocoded address with a precision; a point closer
to a boundary than the sum of both is "uncertain".

Geocoding precision
-------------------
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
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo import generations
from geo._gridindex import EPS_M, Grid, PolygonIndex, SegmentIndex, segments_of
from geo.coordinates import LAMBERT93, LAMBERT93_BOUNDS, WGS84, in_france
from geo.errors import InputError, SchemaError
from geo.format import fr_int, fr_number
from geo.territory import STATUS_NEIGHBOURING
from geo.verdict import (
    BAND_FAR_M,
    BAND_NEAR_M,
    REASON_CODES,
    STATUSES,
    QPVMatch,
    QPVRef,
    Verdict,
    reason_sentence,
)

PRECISION_BY_TYPE: dict[str, float] = {
    "housenumber": 10.0,
    "street": math.inf,
    "locality": math.inf,
    "municipality": math.inf,
}

REQUIRED_COLUMNS = ("code", "name", "generation", "commune_names", "commune_codes")

_GRID_MARGIN_M = 1_000.0  # grid reaches this far beyond the territory and the quartiers
_TARGET_CELLS = 1 << 17  # default grid resolution, a trade-off of build time against speed
_PARALLEL_MIN = 200_000  # below this many points, threads cost more than they save

_STATUS_IN, _STATUS_OUT, _STATUS_UNCERTAIN, _STATUS_OUTSIDE = range(4)
_REASON_NONE, _REASON_BOUNDARY, _REASON_PRECISION, _REASON_EDGE = -1, 0, 1, 2


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


@dataclass
class _Generation:
    """Everything precomputed for one generation of perimeters."""

    generation: int
    tolerance_m: float
    codes: np.ndarray
    names: np.ndarray
    communes: tuple[tuple[str, ...], ...]
    commune_codes: tuple[tuple[str, ...], ...]
    contracts: tuple[str | None, ...]  # another EPCI's contract, for a neighbour's quartier
    segments: SegmentIndex
    polygons: PolygonIndex


# --------------------------------------------------------------------------------------------
# Input validation


def _as_float_array(values: Any, label: str) -> np.ndarray:
    try:
        if isinstance(values, pd.Series | pd.Index):
            arr = values.to_numpy(dtype=float, na_value=np.nan)
        else:
            arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"Les valeurs de {label} ne sont pas des nombres.") from None
    return np.atleast_1d(arr)


def _coordinate_error(
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


def _check_crs(crs: str) -> str:
    normalized = str(crs).upper()
    if normalized not in (WGS84, LAMBERT93):
        raise InputError(
            f"Système de coordonnées non pris en charge : {crs!r} "
            f"(attendu : {WGS84} ou {LAMBERT93})."
        )
    return normalized


# --------------------------------------------------------------------------------------------
# The locator


class Locator:
    """Answer "is this point in a QPV?" for one territory and its perimeters.

    Build it once (it precomputes its indexes, about a second for the CALL) and share it.

    Parameters
    ----------
    qpv : geopandas.GeoDataFrame
        The ``qpv.parquet`` table: columns ``code``, ``name``, ``generation``,
        ``commune_names``, ``commune_codes`` and the (Multi)Polygons as their file gives them,
        EPSG:2154.
    territory : shapely geometry, GeoSeries or GeoDataFrame
        The territory the data covers, EPSG:2154 (a bare geometry is assumed to be EPSG:2154
        and its bounds are checked).
    tolerances : mapping
        Boundary tolerance in metres per generation, e.g. ``{2015: 5, 2024: 120}``; every
        generation of ``qpv`` needs one.
    territory_tolerance_m : float, default 0
        Extra margin for the territory outline itself: a point outside the outline by less
        than the tolerance plus this margin is "uncertain", not "outside_territory". Set it to
        the positional error of the commune boundaries when they are simplified.
    cell_size_m : float, optional
        Grid resolution; by default about 2**17 cells over the covered extent (a trade-off
        between build time and lookup speed).

    Raises
    ------
    SchemaError
        Wrong CRS, missing columns, empty table, non-polygon or invalid geometry, missing
        tolerance.
    """

    def __init__(
        self,
        qpv: gpd.GeoDataFrame,
        territory: Any,
        tolerances: Mapping[int, float],
        *,
        territory_tolerance_m: float = 0.0,
        cell_size_m: float | None = None,
    ):
        _validate_frame(qpv)
        territory_geom = _territory_geometry(territory)
        present = sorted(int(g) for g in pd.unique(qpv["generation"]))
        missing = [g for g in present if g not in tolerances]
        if missing:
            raise SchemaError(f"aucune tolérance de limite pour les périmètres {missing}")
        for g, tol in tolerances.items():
            if not (math.isfinite(float(tol)) and float(tol) >= 0):
                raise SchemaError(f"la tolérance des périmètres {g} doit être >= 0 m, pas {tol!r}")
        if not (math.isfinite(territory_tolerance_m) and territory_tolerance_m >= 0):
            raise SchemaError(
                f"la tolérance du territoire doit être >= 0 m, pas {territory_tolerance_m!r}"
            )
        self.territory_tolerance_m = float(territory_tolerance_m)
        self.territory = territory_geom

        geoms = np.asarray(qpv.geometry.values, dtype=object)
        minx, miny, maxx, maxy = shapely.total_bounds(np.append(geoms, territory_geom))
        minx, miny = minx - _GRID_MARGIN_M, miny - _GRID_MARGIN_M
        maxx, maxy = maxx + _GRID_MARGIN_M, maxy + _GRID_MARGIN_M
        size = cell_size_m or math.sqrt((maxx - minx) * (maxy - miny) / _TARGET_CELLS)
        self.grid = Grid(
            x0=minx,
            y0=miny,
            size=float(size),
            nx=math.ceil((maxx - minx) / size),
            ny=math.ceil((maxy - miny) / size),
        )
        self._transformer = pyproj.Transformer.from_crs(WGS84, LAMBERT93, always_xy=True)
        centre = territory_geom.centroid
        to_wgs84 = pyproj.Transformer.from_crs(LAMBERT93, WGS84, always_xy=True)
        self._centre = (*to_wgs84.transform(centre.x, centre.y), centre.x, centre.y)

        territory_arr = np.array([territory_geom], dtype=object)
        start, end, owner = segments_of(territory_arr)
        self._territory_segments = SegmentIndex(start, end, owner, self.grid)
        self._territory_polygon = PolygonIndex(
            territory_arr, self.grid, self._territory_segments.cell_dist
        )

        self._generations: dict[int, _Generation] = {}
        for g in present:
            rows = qpv[qpv["generation"] == g]
            polys = np.asarray(rows.geometry.values, dtype=object)
            start, end, owner = segments_of(polys)
            segments = SegmentIndex(start, end, owner, self.grid)
            self._generations[g] = _Generation(
                generation=g,
                tolerance_m=float(tolerances[g]),
                codes=rows["code"].astype(str).to_numpy(),
                names=rows["name"].astype(str).to_numpy(),
                communes=tuple(_split(v, ",") for v in rows["commune_names"]),
                commune_codes=tuple(_split(v, ",") for v in rows["commune_codes"]),
                contracts=_contracts(rows),
                segments=segments,
                polygons=PolygonIndex(polys, self.grid, segments.cell_dist),
            )

    @classmethod
    def from_dataset(cls, dataset: Any, **kwargs: Any) -> Locator:
        """Build from a ``geo.store.Dataset`` (its ``qpv``, ``territory`` and tolerances).

        Keyword arguments go to the constructor (e.g. ``territory_tolerance_m``).
        """
        present = sorted(int(g) for g in pd.unique(dataset.qpv["generation"]))
        tolerances = {g: dataset.tolerance_m(g) for g in present}
        kwargs.setdefault("territory_tolerance_m", dataset.report.territory_tolerance_m)
        return cls(dataset.qpv, dataset.territory, tolerances, **kwargs)

    @property
    def generations(self) -> tuple[int, ...]:
        """Generations this locator can answer for."""
        return tuple(self._generations)

    def tolerance_m(self, generation: int) -> float:
        """Boundary tolerance of a generation, in metres."""
        return self._generation(generation).tolerance_m

    # ----------------------------------------------------------------------------------------
    # Single point

    def locate(
        self,
        lon: float,
        lat: float,
        *,
        generation: int,
        precision_m: float = 0.0,
        result_type: str | None = None,
    ) -> Verdict:
        """Verdict for a WGS84 point (longitude, latitude in degrees).

        ``precision_m`` is the geocoding precision added to the geometry tolerance;
        ``result_type`` (a BAN type) raises it to ``precision_for_type(result_type)``.

        Raises
        ------
        InputError
            Non-numeric, missing or infinite coordinates, a point outside metropolitan France,
            an unknown generation or result type.
        """
        x, y = self._scalar_to_lambert(lon, lat, WGS84)
        return self._verdict(x, y, generation, precision_m, result_type)

    def locate_xy(
        self,
        x: float,
        y: float,
        *,
        generation: int,
        precision_m: float = 0.0,
        result_type: str | None = None,
    ) -> Verdict:
        """Verdict for a Lambert-93 point (metres). See :meth:`locate`."""
        x, y = self._scalar_to_lambert(x, y, LAMBERT93)
        return self._verdict(x, y, generation, precision_m, result_type)

    def _scalar_to_lambert(self, a: Any, b: Any, crs: str) -> tuple[float, float]:
        try:
            a, b = float(a), float(b)
        except (TypeError, ValueError, OverflowError):
            shown = ", ".join(repr(v)[:30] for v in (a, b))
            raise InputError(f"Coordonnées non numériques : {shown}.") from None
        if not in_france(a, b, crs):
            raise _coordinate_error(a, b, crs, self._centre)
        if crs == WGS84:
            a, b = self._transformer.transform(a, b)
        return float(a), float(b)

    def _verdict(
        self, x: float, y: float, generation: int, precision_m: float, result_type: str | None
    ) -> Verdict:
        gen = self._generation(generation)
        precision = max(_check_precision(precision_m), precision_for_type(result_type))
        res = self._evaluate(gen, np.array([x]), np.array([y]), np.array([precision]))
        first = int(res["member"][0])
        member_ids = [first] if first >= 0 else []
        member_ids += [int(k) for _, ks in res["extras"] for k in ks]
        matches = tuple(
            QPVMatch(
                code=str(gen.codes[k]),
                name=str(gen.names[k]),
                communes=gen.communes[k],
                commune_codes=gen.commune_codes[k],
                contract=gen.contracts[k],
            )
            for k in member_ids
        )
        status = STATUSES[int(res["status"][0])]
        near = int(res["nearest"][0])
        nearest = QPVRef(str(gen.codes[near]), str(gen.names[near]))
        distance = float(res["distance"][0])
        tolerance = gen.tolerance_m + precision
        code = int(res["reason"][0])
        reason = reason_sentence(
            REASON_CODES[code] if code >= 0 else None,
            nearest=nearest,
            inside=bool(matches),
            distance=distance,
            geometry_tolerance=gen.tolerance_m,
            precision=precision,
            result_type=result_type,
            territory_distance=float(res["territory_distance"][0]),
        )
        return Verdict(
            generation=gen.generation,
            status=status,
            qpv=matches,
            nearest=None if status == "in" else nearest,
            distance_m=distance,
            tolerance_m=tolerance,
            within_300m=bool(res["within_300m"][0]),
            within_500m=bool(res["within_500m"][0]),
            reason=reason,
            x=x,
            y=y,
        )

    # ----------------------------------------------------------------------------------------
    # Batch

    def membership(self, xs: Any, ys: Any, *, generation: int, crs: str = WGS84) -> pd.Categorical:
        """Raw geometric membership: code of the quartier containing each point, or NaN.

        The fast path (no distances, no tolerance, no territory check): use it to count or
        colour points, never to tell a user "hors QPV" (use :meth:`locate_many` for that).
        Where perimeters overlap, the first quartier in table order is given.

        Raises
        ------
        InputError
            Unknown generation or CRS, arrays of different lengths, invalid coordinates.
        """
        gen = self._generation(generation)
        x, y = self._to_lambert(xs, ys, _check_crs(crs), on_invalid="raise")[:2]
        member = self._map_chunks(lambda a, b: self._member(gen, a, b)[0], x, y)
        return pd.Categorical.from_codes(member, categories=gen.codes, validate=False)

    def locate_many(
        self,
        xs: Any,
        ys: Any,
        *,
        generation: int,
        crs: str = WGS84,
        precision_m: Any = 0.0,
        on_invalid: Literal["raise", "skip"] = "raise",
    ) -> pd.DataFrame:
        """Verdicts for many points at once, one row per point, in input order.

        Parameters
        ----------
        xs, ys : array-like
            Longitudes/latitudes (``crs="EPSG:4326"``) or Lambert-93 x/y (``"EPSG:2154"``).
            A pandas Series' index is kept as the result's index.
        generation : int
            Generation of perimeters.
        precision_m : float or array-like
            Geocoding precision per point (``math.inf`` for street/locality/municipality
            results, see :func:`precision_for_type`).
        on_invalid : {"raise", "skip"}
            "skip" leaves rows with missing or absurd coordinates with a missing status
            (``NaN``) instead of raising.

        Returns
        -------
        pandas.DataFrame
            ``status`` (categorical of ``STATUSES``), ``code``/``name``/``communes`` of the
            containing quartier and ``contract`` (another EPCI's contract, see
            :class:`QPVMatch`) (missing if none; ``n_qpv`` counts overlapping matches, the
            first is shown), ``distance_m`` to the nearest boundary, ``nearest_code``/
            ``nearest_name`` (missing when "in"), ``tolerance_m``, ``within_300m``,
            ``within_500m``, ``reason`` (one of ``REASON_CODES``, worded by
            ``geo.verdict.REASON_LABELS``),
            ``x``/``y`` in Lambert-93.

        Raises
        ------
        InputError
            Unknown generation or CRS, arrays of different lengths, negative precision, and
            (with ``on_invalid="raise"``) the first invalid coordinates with their row.
        """
        gen = self._generation(generation)
        index = xs.index if isinstance(xs, pd.Series) else None
        x, y, valid = self._to_lambert(xs, ys, _check_crs(crs), on_invalid=on_invalid)
        n = len(x)
        precision = _as_float_array(precision_m, "précision")
        if precision.size not in (1, n):
            raise InputError(
                f"Il faut une précision par point ou une seule ({precision.size} pour {n} points)."
            )
        precision = np.broadcast_to(precision, (n,))
        rows = np.flatnonzero(valid) if not valid.all() else None
        if rows is not None:
            x, y, precision = x[rows], y[rows], precision[rows]
        precision = np.asarray(_check_precision(precision), dtype=float).reshape(-1)

        parts = self._map_chunks(
            lambda a, b, p: self._evaluate(gen, a, b, p), x, y, precision, combine=False
        )
        res = _concat_results(parts)
        frame = self._frame(gen, res, x, y, precision)
        if rows is not None:
            frame.index = rows
            frame = frame.reindex(np.arange(n))
            for col in ("within_300m", "within_500m"):
                frame[col] = frame[col].astype("boolean")
            frame["n_qpv"] = frame["n_qpv"].astype("Int8")
        frame.index = index if index is not None else pd.RangeIndex(n)
        return frame

    def _frame(
        self, gen: _Generation, res: dict, x: np.ndarray, y: np.ndarray, precision: np.ndarray
    ) -> pd.DataFrame:
        member = res["member"]
        n_qpv = (member >= 0).astype(np.int8)
        for pts, _ in res["extras"]:
            np.add.at(n_qpv, pts, 1)
        nearest = np.where(res["status"] == _STATUS_IN, -1, res["nearest"])
        communes = np.array([", ".join(c) for c in gen.communes], dtype=object)
        contracts = np.array([*gen.contracts, None], dtype=object)  # index -1: no quartier
        return pd.DataFrame(
            {
                "status": pd.Categorical.from_codes(res["status"], categories=list(STATUSES)),
                "code": pd.Categorical.from_codes(member, categories=gen.codes, validate=False),
                "name": _categorical(member, gen.names),
                "communes": _categorical(member, communes),
                "contract": contracts[member],
                "n_qpv": n_qpv,
                "distance_m": res["distance"],
                "nearest_code": pd.Categorical.from_codes(
                    nearest, categories=gen.codes, validate=False
                ),
                "nearest_name": _categorical(nearest, gen.names),
                "tolerance_m": gen.tolerance_m + precision,
                "within_300m": res["within_300m"],
                "within_500m": res["within_500m"],
                "reason": pd.Categorical.from_codes(res["reason"], categories=list(REASON_CODES)),
                "x": x,
                "y": y,
            }
        )

    # ----------------------------------------------------------------------------------------
    # Core

    def _generation(self, generation: Any) -> _Generation:
        try:
            return self._generations[int(generation)]
        except (KeyError, TypeError, ValueError):
            known = ", ".join(str(g) for g in self._generations)
            raise InputError(
                f"Génération de périmètres inconnue : {generation!r} (disponibles : {known})."
            ) from None

    def _to_lambert(
        self, xs: Any, ys: Any, crs: str, *, on_invalid: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if on_invalid not in ("raise", "skip"):
            raise ValueError(f"on_invalid must be 'raise' or 'skip', got {on_invalid!r}")
        x = _as_float_array(xs, "x/longitude")
        y = _as_float_array(ys, "y/latitude")
        if x.shape != y.shape or x.ndim != 1:
            raise InputError(
                f"Les coordonnées doivent être deux listes de même longueur "
                f"(reçu {x.shape} et {y.shape})."
            )
        bad = ~in_france(x, y, crs)
        if bad.any() and on_invalid == "raise":
            i = int(np.flatnonzero(bad)[0])
            raise _coordinate_error(
                float(x[i]), float(y[i]), crs, self._centre, where=f" (ligne {i + 1})"
            )
        valid = ~bad
        if crs == WGS84:
            x, y = x.copy(), y.copy()
            x[valid], y[valid] = self._transformer.transform(x[valid], y[valid])
        return x, y, valid

    def _map_chunks(self, func, *arrays, combine: bool = True):
        """Run ``func`` on contiguous slices in threads (numpy releases the GIL)."""
        n = len(arrays[0])
        workers = min(os.cpu_count() or 1, 4)
        if n < _PARALLEL_MIN or workers == 1:
            out = [func(*arrays)]
        else:
            step = -(-n // workers)
            slices = [slice(lo, lo + step) for lo in range(0, n, step)]
            with ThreadPoolExecutor(workers) as pool:
                out = list(pool.map(lambda s: func(*(a[s] for a in arrays)), slices))
            if not combine:
                for s, part in zip(slices, out, strict=True):
                    part["offset"] = s.start
        if not combine:
            return out
        return out[0] if len(out) == 1 else np.concatenate(out)

    def _member(
        self, gen: _Generation, x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, list, np.ndarray, np.ndarray, np.ndarray]:
        xr = x - self.grid.x0
        yr = y - self.grid.y0
        cells = self.grid.cells(xr, yr)
        member, extras = gen.polygons.query(x, y, cells)
        return member, extras, xr, yr, cells

    def _evaluate(
        self, gen: _Generation, x: np.ndarray, y: np.ndarray, precision: np.ndarray
    ) -> dict[str, Any]:
        member, extras, xr, yr, cells = self._member(gen, x, y)
        distance, seg = gen.segments.nearest(x, y, xr, yr, cells)
        nearest = gen.segments.owner[seg]
        inside = member >= 0
        precise = np.isfinite(precision)
        finite_precision = np.where(precise, precision, 0.0)
        near = distance <= gen.tolerance_m + finite_precision + EPS_M

        # Distance to the territory only for points that need it: not inside, not near.
        in_territory = self._territory_polygon.query(x, y, cells)[0] >= 0
        territory_distance = np.zeros(len(x))
        outside_territory = ~in_territory & ~inside & ~near
        check = np.flatnonzero(outside_territory)
        if check.size:
            territory_distance[check] = self._territory_segments.nearest(
                x[check], y[check], xr[check], yr[check], cells[check]
            )[0]
        margin = gen.tolerance_m + finite_precision + self.territory_tolerance_m + EPS_M
        far_outside = outside_territory & (territory_distance > margin)
        edge = outside_territory & ~far_outside

        status = np.full(len(x), _STATUS_OUT, dtype=np.int8)
        reason = np.full(len(x), _REASON_NONE, dtype=np.int8)
        status[inside] = _STATUS_IN
        status[far_outside] = _STATUS_OUTSIDE
        status[edge] = _STATUS_UNCERTAIN
        reason[edge] = _REASON_EDGE
        imprecise = ~precise & ~far_outside
        status[imprecise] = _STATUS_UNCERTAIN
        reason[imprecise] = _REASON_PRECISION
        status[near] = _STATUS_UNCERTAIN
        reason[near] = np.where(precise[near], _REASON_BOUNDARY, _REASON_PRECISION)
        return {
            "member": member,
            "extras": extras,
            "status": status,
            "reason": reason,
            "distance": distance,
            "nearest": nearest,
            "within_300m": inside | (distance <= BAND_NEAR_M),
            "within_500m": inside | (distance <= BAND_FAR_M),
            "territory_distance": territory_distance,
        }


# --------------------------------------------------------------------------------------------
# Helpers of the locator


def _validate_frame(qpv: Any) -> None:
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


def _territory_geometry(territory: Any) -> Any:
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


def _contracts(rows: pd.DataFrame) -> tuple[str | None, ...]:
    """Per quartier, the other EPCI whose contract it belongs to (columns of the build)."""
    if "status" not in rows.columns or "contract_name" not in rows.columns:
        return (None,) * len(rows)
    return tuple(
        str(name) if status == STATUS_NEIGHBOURING and isinstance(name, str) and name else None
        for status, name in zip(rows["status"], rows["contract_name"], strict=True)
    )


def _split(value: Any, sep: str) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    return tuple(part.strip() for part in str(value).split(sep) if part.strip())


def _check_precision(precision_m: Any) -> Any:
    arr = np.asarray(precision_m, dtype=float)
    if np.isnan(arr).any() or (arr < 0).any():
        raise InputError(f"Précision de géocodage invalide : {precision_m!r} (mètres, >= 0).")
    return float(arr) if arr.ndim == 0 else arr


def _categorical(codes: np.ndarray, labels: np.ndarray) -> pd.Categorical:
    """Categorical of ``labels[codes]`` (-1: missing), tolerating duplicate labels."""
    uniques, inverse = np.unique(labels.astype(str), return_inverse=True)
    mapped = np.where(codes >= 0, inverse[np.maximum(codes, 0)], -1)
    return pd.Categorical.from_codes(mapped, categories=uniques, validate=False)


def _concat_results(parts: list[dict]) -> dict[str, Any]:
    if len(parts) == 1:
        return parts[0]
    out: dict[str, Any] = {}
    for key in parts[0]:
        if key in ("extras", "offset"):
            continue
        out[key] = np.concatenate([p[key] for p in parts])
    out["extras"] = [(pts + p.get("offset", 0), ks) for p in parts for pts, ks in p["extras"]]
    return out


# --------------------------------------------------------------------------------------------
# One locator per dataset, one point for every generation


def build_locator(dataset: Any) -> Locator:
    """The :class:`Locator` of a ``geo.store.Dataset``, with the tolerances of its build report.

    Takes a couple of seconds: build it once per process and share it.
    """
    return Locator.from_dataset(dataset)


def locate_point(
    locator: Locator,
    lon: float,
    lat: float,
    *,
    result_type: str | None = None,
    generations: Sequence[int] = generations.ORDER,
) -> dict[int, Verdict]:
    """Verdicts of one WGS84 point for each generation, in the order given (in force first).

    ``result_type`` is the address service's type of a geocoded point (None for a point given
    directly).

    Raises
    ------
    InputError
        Non-numeric, missing or absurd coordinates (French message naming them).
    """
    return {g: locator.locate(lon, lat, generation=g, result_type=result_type) for g in generations}
