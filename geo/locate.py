"""Point -> QPV verdict: in, out, uncertain or outside the territory, single and batch.

:class:`Locator` is the public face: it builds its indexes, turns coordinates into Lambert-93
and answers, one point (a :class:`~geo.verdict.Verdict`) or many (a table). What it stands on:
its inputs checked in ``geo._locator_input``, the numeric indexes in ``geo._gridindex``, the
verdict rule over arrays in ``geo._classify``, the geocoding precision in ``geo.precision``, the
verdict types and their wording in ``geo.verdict``.

The lookup runs on the perimeters as their file gives them (not the map's display copy), in
Lambert-93 (EPSG:2154, metres). A verdict is never a bare "in/out": each generation of
perimeters comes with a boundary tolerance (a few metres for the official 2015 file, about
120 m for the simplified 2024 copy) and each geocoded address with a precision
(``geo.precision``); a point closer to a boundary than the sum of both is "uncertain".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo import generations
from geo._classify import Area, Perimeters, concat_results, containing, evaluate, map_chunks, table
from geo._gridindex import Grid, PolygonIndex, SegmentIndex, segments_of
from geo._locator_input import (
    as_float_array,
    check_crs,
    coordinate_error,
    territory_geometry,
    validate_frame,
)
from geo.coordinates import LAMBERT93, WGS84, in_france
from geo.errors import InputError, SchemaError
from geo.precision import check_precision, precision_for_type
from geo.verdict import REASON_CODES, STATUSES, QPVMatch, QPVRef, Verdict, reason_sentence

_GRID_MARGIN_M = 1_000.0  # grid reaches this far beyond the territory and the quartiers
_TARGET_CELLS = 1 << 17  # default grid resolution, a trade-off of build time against speed


_TERRITORY_KEY = "territory"  # the territory outline's index; generations go by their year
_SEP = "__"  # between the index's key and the array's name in ``index_arrays``


def _stored(index: Mapping[str, np.ndarray] | None, key: str) -> dict[str, np.ndarray] | None:
    """The arrays of one boundary index out of ``index_arrays``' flat mapping."""
    if not index:
        return None
    prefix = f"{key}{_SEP}"
    return {k[len(prefix) :]: v for k, v in index.items() if k.startswith(prefix)}


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
    index : mapping of arrays, optional
        What :meth:`index_arrays` gave for the same perimeters and territory (the processed
        tables keep it, ``geo.store.INDEX``): the boundary indexes are then read from it
        instead of computed (the longest part of the build). Arrays that do not fit this grid
        and these boundaries are ignored, so verdicts never depend on it.

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
        index: Mapping[str, np.ndarray] | None = None,
    ):
        validate_frame(qpv)
        territory_geom = territory_geometry(territory)
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
        outline = SegmentIndex(start, end, owner, self.grid, _stored(index, _TERRITORY_KEY))
        self._area = Area(
            grid=self.grid,
            segments=outline,
            polygon=PolygonIndex(territory_arr, self.grid, outline.cell_dist),
            tolerance_m=self.territory_tolerance_m,
        )

        self._generations = {
            g: Perimeters.build(
                qpv[qpv["generation"] == g],
                g,
                float(tolerances[g]),
                self.grid,
                _stored(index, str(g)),
            )
            for g in present
        }

    def index_arrays(self) -> dict[str, np.ndarray]:
        """The boundary indexes as named arrays, to keep beside the tables (``index=``)."""
        parts = {_TERRITORY_KEY: self._area.segments}
        parts.update({str(g): gen.segments for g, gen in self._generations.items()})
        return {
            f"{key}{_SEP}{name}": array
            for key, segments in parts.items()
            for name, array in segments.arrays().items()
        }

    @classmethod
    def from_dataset(cls, dataset: Any, **kwargs: Any) -> Locator:
        """Build from a ``geo.store.Dataset`` (its ``qpv``, ``territory`` and tolerances).

        Keyword arguments go to the constructor (e.g. ``territory_tolerance_m``).
        """
        present = sorted(int(g) for g in pd.unique(dataset.qpv["generation"]))
        tolerances = {g: dataset.tolerance_m(g) for g in present}
        kwargs.setdefault("territory_tolerance_m", dataset.report.territory_tolerance_m)
        kwargs.setdefault("index", getattr(dataset, "locator_index", None))
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
            raise coordinate_error(a, b, crs, self._centre)
        if crs == WGS84:
            a, b = self._transformer.transform(a, b)
        return float(a), float(b)

    def _verdict(
        self, x: float, y: float, generation: int, precision_m: float, result_type: str | None
    ) -> Verdict:
        gen = self._generation(generation)
        precision = max(check_precision(precision_m), precision_for_type(result_type))
        res = evaluate(self._area, gen, np.array([x]), np.array([y]), np.array([precision]))
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
        x, y = self._to_lambert(xs, ys, check_crs(crs), on_invalid="raise")[:2]
        member = map_chunks(lambda a, b: containing(self.grid, gen, a, b)[0], x, y)
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
        x, y, valid = self._to_lambert(xs, ys, check_crs(crs), on_invalid=on_invalid)
        n = len(x)
        precision = as_float_array(precision_m, "précision")
        if precision.size not in (1, n):
            raise InputError(
                f"Il faut une précision par point ou une seule ({precision.size} pour {n} points)."
            )
        precision = np.broadcast_to(precision, (n,))
        rows = np.flatnonzero(valid) if not valid.all() else None
        if rows is not None:
            x, y, precision = x[rows], y[rows], precision[rows]
        precision = np.asarray(check_precision(precision), dtype=float).reshape(-1)

        parts = map_chunks(
            lambda a, b, p: evaluate(self._area, gen, a, b, p), x, y, precision, combine=False
        )
        res = concat_results(parts)
        frame = table(gen, res, x, y, precision)
        if rows is not None:
            frame.index = rows
            frame = frame.reindex(np.arange(n))
            for col in ("within_300m", "within_500m"):
                frame[col] = frame[col].astype("boolean")
            frame["n_qpv"] = frame["n_qpv"].astype("Int8")
        frame.index = index if index is not None else pd.RangeIndex(n)
        return frame

    # ----------------------------------------------------------------------------------------
    # Core

    def _generation(self, generation: Any) -> Perimeters:
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
        x = as_float_array(xs, "x/longitude")
        y = as_float_array(ys, "y/latitude")
        if x.shape != y.shape or x.ndim != 1:
            raise InputError(
                f"Les coordonnées doivent être deux listes de même longueur "
                f"(reçu {x.shape} et {y.shape})."
            )
        bad = ~in_france(x, y, crs)
        if bad.any() and on_invalid == "raise":
            i = int(np.flatnonzero(bad)[0])
            raise coordinate_error(
                float(x[i]), float(y[i]), crs, self._centre, where=f" (ligne {i + 1})"
            )
        valid = ~bad
        if crs == WGS84:
            x, y = x.copy(), y.copy()
            x[valid], y[valid] = self._transformer.transform(x[valid], y[valid])
        return x, y, valid


# --------------------------------------------------------------------------------------------
# One locator per dataset, one point for every generation


def boundary_index(qpv: gpd.GeoDataFrame, territory: Any) -> dict[str, np.ndarray]:
    """The boundary indexes of the Locator of these tables, to keep beside them (``index=``).

    They depend on the geometries only, not on the tolerances.
    """
    present = (int(g) for g in pd.unique(qpv["generation"]))
    return Locator(qpv, territory, dict.fromkeys(present, 0.0)).index_arrays()


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
