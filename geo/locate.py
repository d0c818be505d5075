"""Point -> QPV verdict: in, out, uncertain or outside the territory, single and batch.

The lookup runs on full-resolution perimeters in Lambert-93 (EPSG:2154, metres). A verdict is
never a bare "in/out": each generation of perimeters comes with a boundary tolerance (a few
metres for the official 2015 file, about 120 m for the simplified 2024 copy) and each geocoded
address with a precision; a point closer to a boundary than the sum of both is "uncertain".

How it is fast
--------------
Everything is precomputed once per :class:`Locator` on a regular grid covering the territory
and the perimeters (plus a 1 km margin):

* membership: a cell that no boundary crosses is wholly inside one quartier or wholly outside,
  so most points get their quartier from one array lookup; only points in cells crossed by a
  boundary are tested with ``shapely.contains_xy`` against prepared polygons, and only against
  the polygons touching their cell;
* nearest boundary: for every cell, the boundary segments that can be the nearest one for *some*
  point of the cell (segments within ``D + 2h`` of the cell centre, where ``D`` is the centre's
  distance to its nearest segment and ``h`` the cell half-diagonal: any point of the cell is
  within ``D + h`` of that segment, so its own nearest segment is within ``D + 2h`` of the
  centre). The lists are built top-down on a hierarchy of grids and stored as padded tables, so
  a point's distance is a small vectorised point-segment computation. Distances are therefore
  exact for every point, however far from the quartiers (no capping): points outside the grid
  fall back to an ``STRtree`` nearest query, also exact.

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
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.errors import InputError, SchemaError
from geo.format import fr_distance
from geo.territory import STATUS_NEIGHBOURING

LAMBERT93 = "EPSG:2154"
WGS84 = "EPSG:4326"

STATUSES = ("in", "out", "uncertain", "outside_territory")
REASON_CODES = ("boundary", "precision", "territory_edge")
REASON_LABELS_FR = {
    "boundary": "trop proche de la limite d'un quartier",
    "precision": "adresse localisée seulement à la rue, au lieu-dit ou à la commune",
    "territory_edge": "à la limite du territoire couvert par les données",
}
BAND_NEAR_M = 300.0
BAND_FAR_M = 500.0

PRECISION_BY_TYPE: dict[str, float] = {
    "housenumber": 10.0,
    "street": math.inf,
    "locality": math.inf,
    "municipality": math.inf,
}
TYPE_LEVEL_FR = {"street": "à la rue", "locality": "au lieu-dit", "municipality": "à la commune"}

# Metropolitan France with Corsica, with a generous margin. Anything outside is a mistake
# (swapped longitude/latitude, Lambert coordinates given as degrees, overseas address...).
WGS84_BOUNDS = (-5.5, 41.0, 10.0, 51.5)  # lon min, lat min, lon max, lat max
LAMBERT93_BOUNDS = (0.0, 6_000_000.0, 1_300_000.0, 7_200_000.0)

REQUIRED_COLUMNS = ("code", "name", "generation", "commune_names", "commune_codes")

_GRID_MARGIN_M = 1_000.0  # grid reaches this far beyond the territory and the quartiers
_TARGET_CELLS = 1 << 17  # default grid resolution, a trade-off of build time against speed
_ROOT_CELLS = 8  # the top of the candidate hierarchy has at most this many cells per side
_CHUNK = 16_384  # points per vectorised block (keeps temporaries in cache)
_PARALLEL_MIN = 200_000  # below this many points, threads cost more than they save
_EPS_M = 1e-6  # numeric slack: a point on a boundary must compare <= any tolerance

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


# --------------------------------------------------------------------------------------------
# Geometry helpers


@dataclass(frozen=True)
class _Grid:
    """A regular grid; cell ids are row-major, ``ncells`` is the sentinel for points outside."""

    x0: float
    y0: float
    size: float
    nx: int
    ny: int

    def __post_init__(self):
        for name, kind in (("x0", float), ("y0", float), ("size", float), ("nx", int), ("ny", int)):
            object.__setattr__(self, name, kind(getattr(self, name)))

    @property
    def ncells(self) -> int:
        return self.nx * self.ny

    def cells(self, xr: np.ndarray, yr: np.ndarray) -> np.ndarray:
        """Cell of each point given relative to the origin (``ncells`` when outside)."""
        inv = 1.0 / self.size
        fx = xr * inv
        fy = yr * inv
        inside = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        # Coordinates were checked to lie in France, so the casts cannot overflow; cells of
        # points outside the grid are replaced by the sentinel.
        cell = fy.astype(np.int32) * np.int32(self.nx) + fx.astype(np.int32)
        return np.where(inside, cell, np.int32(self.ncells))


def _segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boundary segments of polygons: start points, end points and owning geometry index."""
    parts, part_owner = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    coords, coord_part = shapely.get_coordinates(parts, return_index=True)
    same = coord_part[1:] == coord_part[:-1]
    start = coords[:-1][same]
    end = coords[1:][same]
    owner = part_owner[coord_part[:-1][same]].astype(np.int32)
    return start, end, owner


def _dist2(px, py, ax, ay, dx, dy, inv):
    """Squared distance from points to segments (a, a + d); ``inv`` = 1 / |d|² (0 if |d| = 0)."""
    wx = px - ax
    wy = py - ay
    t = np.clip((wx * dx + wy * dy) * inv, 0.0, 1.0)
    ex = wx - t * dx
    ey = wy - t * dy
    return ex * ex + ey * ey


class _SegmentIndex:
    """Exact nearest boundary segment for points, through per-cell candidate lists."""

    def __init__(self, start: np.ndarray, end: np.ndarray, owner: np.ndarray, grid: _Grid):
        self.grid = grid
        self.owner = owner
        self.ax = start[:, 0] - grid.x0
        self.ay = start[:, 1] - grid.y0
        self.dx = end[:, 0] - start[:, 0]
        self.dy = end[:, 1] - start[:, 1]
        len2 = self.dx * self.dx + self.dy * self.dy
        self.inv = np.divide(1.0, len2, out=np.zeros_like(len2), where=len2 > 0)
        # One gather per block fetches all five per-segment values.
        self._params = np.stack([self.ax, self.ay, self.dx, self.dy, self.inv])
        self._lines = shapely.linestrings(np.stack([start, end], axis=1))
        self._tree = shapely.STRtree(self._lines)
        self._lock = threading.Lock()  # GEOS objects are shared between batch threads
        cells, segs, self.cell_dist = self._candidates()
        self._tables, self.bucket_of_cell, self.row_of_cell = _padded_tables(
            cells, segs, grid.ncells
        )

    def _candidates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cell, segment) candidate pairs of the finest grid, and each cell's centre distance."""
        g = self.grid
        levels = 0
        while max(-(-g.nx // 2**levels), -(-g.ny // 2**levels)) > _ROOT_CELLS:
            levels += 1
        dims = [
            (-(-g.nx // 2 ** (levels - k)), -(-g.ny // 2 ** (levels - k)))
            for k in range(levels + 1)
        ]
        nseg = len(self.ax)
        nx0, ny0 = dims[0]
        root = np.arange(nx0 * ny0, dtype=np.int32)
        ix = np.repeat(root % nx0, nseg)
        iy = np.repeat(root // nx0, nseg)
        segs = np.tile(np.arange(nseg, dtype=np.int32), nx0 * ny0)
        for level, (nxl, nyl) in enumerate(dims):
            size = g.size * 2 ** (levels - level)
            cells = iy * np.int32(nxl) + ix
            d = np.sqrt(
                _dist2((ix + 0.5) * size, (iy + 0.5) * size, *self._params.take(segs, axis=1))
            )
            dmin = np.full(nxl * nyl, np.inf)
            np.minimum.at(dmin, cells, d)
            # Any point of the cell is within D + h of the centre's nearest segment, hence its
            # own nearest segment is within D + 2h of the centre (2h = size * sqrt 2).
            keep = d <= dmin[cells] + size * math.sqrt(2.0) * (1 + 1e-9) + _EPS_M
            if level == levels:
                return cells[keep], segs[keep], dmin
            ix, iy, segs = 2 * ix[keep], 2 * iy[keep], segs[keep]
            nxc, nyc = dims[level + 1]
            parts = []
            for di in (0, 1):
                for dj in (0, 1):
                    ok = (ix + di < nxc) & (iy + dj < nyc)
                    parts.append((ix[ok] + di, iy[ok] + dj, segs[ok]))
            ix, iy, segs = (np.concatenate(col) for col in zip(*parts, strict=True))
        raise AssertionError("unreachable: the loop returns on its last level")

    def nearest(
        self, x: np.ndarray, y: np.ndarray, xr: np.ndarray, yr: np.ndarray, cells: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distance to the nearest segment and that segment's index, for every point."""
        n = len(xr)
        dist = np.empty(n)
        seg = np.empty(n, dtype=np.int32)
        buckets = self.bucket_of_cell[cells]
        for b, table in enumerate(self._tables):
            if table is None:
                continue
            sel = np.flatnonzero(buckets == b)
            for lo in range(0, len(sel), _CHUNK):
                part = sel[lo : lo + _CHUNK]
                cand = table[self.row_of_cell[cells[part]]]
                ax, ay, dx, dy, inv = self._params.take(cand, axis=1)
                d2 = _dist2(xr[part, None], yr[part, None], ax, ay, dx, dy, inv)
                j = np.argmin(d2, axis=1)[:, None]
                dist[part] = np.sqrt(np.take_along_axis(d2, j, axis=1)[:, 0])
                seg[part] = np.take_along_axis(cand, j, axis=1)[:, 0]
        outside = np.flatnonzero(cells == self.grid.ncells)
        if outside.size:
            pts = shapely.points(x[outside], y[outside])
            with self._lock:
                (src, hit), d = self._tree.query_nearest(
                    pts, return_distance=True, all_matches=False
                )
            dist[outside[src]] = d
            seg[outside[src]] = hit
        return dist, seg


def _padded_tables(
    cells: np.ndarray, segs: np.ndarray, ncells: int
) -> tuple[list[np.ndarray | None], np.ndarray, np.ndarray]:
    """Group candidate lists by power-of-two length into padded (cells, width) tables.

    The bucket and row arrays have one extra sentinel slot (index ``ncells``) pointing to no
    bucket, for points outside the grid.
    """
    order = np.argsort(cells, kind="stable")
    segs = segs[order]
    counts = np.bincount(cells, minlength=ncells)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    bucket = np.zeros(ncells + 1, dtype=np.int8)
    bucket[:ncells] = np.ceil(np.log2(np.maximum(counts, 1))).astype(np.int8)
    bucket[ncells] = -1
    row = np.zeros(ncells + 1, dtype=np.int32)
    tables: list[np.ndarray | None] = []
    for b in range(int(bucket[:ncells].max()) + 1):
        members = np.flatnonzero(bucket[:ncells] == b)
        if members.size == 0:
            tables.append(None)
            continue
        width = 2**b
        row[members] = np.arange(members.size, dtype=np.int32)
        # Short lists repeat their last candidate: harmless for a minimum.
        col = np.minimum(np.arange(width)[None, :], counts[members, None] - 1)
        tables.append(segs[starts[members, None] + col])
    return tables, bucket, row


class _PolygonIndex:
    """Which polygons contain each point: a lookup per grid cell, exact tests near boundaries."""

    _MIXED = -2

    def __init__(self, polygons: np.ndarray, grid: _Grid, cell_dist: np.ndarray):
        self.grid = grid
        self.polygons = polygons.copy()
        shapely.prepare(self.polygons)
        # Prepared geometries build their indexes lazily: not safe to share between threads.
        self._lock = threading.Lock()
        half_diag = grid.size * math.sqrt(0.5)
        # A cell no boundary comes within half a diagonal of its centre is not crossed by any
        # boundary: all its points share the membership of its centre.
        plain = (cell_dist > half_diag * (1 + 1e-9) + _EPS_M).reshape(grid.ny, grid.nx)
        hits = np.zeros((grid.ny, grid.nx), dtype=np.int32)
        owner = np.full((grid.ny, grid.nx), -1, dtype=np.int32)
        touching: list[tuple[np.ndarray, int]] = []  # (cells, polygon) to test point by point
        for k, (rows, cols) in enumerate(self._windows()):
            jj, ii = np.nonzero(plain[rows, cols])
            jj += rows.start
            ii += cols.start
            inside = shapely.contains_xy(
                self.polygons[k],
                grid.x0 + (ii + 0.5) * grid.size,
                grid.y0 + (jj + 0.5) * grid.size,
            )
            hits[jj[inside], ii[inside]] += 1
            owner[jj[inside], ii[inside]] = k
            # Kept in case polygons overlap there (then the cell must be tested point by point).
            touching.append((jj[inside] * grid.nx + ii[inside], k))
            jj, ii = np.nonzero(~plain[rows, cols])
            jj += rows.start
            ii += cols.start
            x = grid.x0 + ii * grid.size
            y = grid.y0 + jj * grid.size
            crossed = shapely.intersects(
                self.polygons[k], shapely.box(x, y, x + grid.size, y + grid.size)
            )
            touching.append((jj[crossed] * grid.nx + ii[crossed], k))
        owner[~plain | (hits > 1)] = self._MIXED  # crossed by a boundary, or overlaps
        self.owner = np.append(owner.ravel(), np.int32(-1))  # sentinel: outside the grid
        mixed = np.flatnonzero(self.owner == self._MIXED)
        self.row_of_cell = np.zeros(grid.ncells + 1, dtype=np.int32)
        self.row_of_cell[mixed] = np.arange(mixed.size, dtype=np.int32)
        is_mixed = self.owner == self._MIXED
        pairs = [(c[is_mixed[c]], k) for c, k in touching]
        src = np.concatenate([self.row_of_cell[c] for c, _ in pairs] + [np.zeros(0, np.int32)])
        poly = np.concatenate(
            [np.full(c.size, k, np.int32) for c, k in pairs] + [np.zeros(0, np.int32)]
        )
        counts = np.bincount(src, minlength=mixed.size)
        width = max(1, int(counts.max()) if counts.size else 1)
        table = np.full((mixed.size, width), -1, dtype=np.int32)
        order = np.argsort(src, kind="stable")
        src, poly = src[order], poly[order]
        rank = np.arange(src.size) - np.concatenate([[0], np.cumsum(counts)[:-1]])[src]
        table[src, rank] = poly
        self.candidates = table

    def _windows(self) -> list[tuple[slice, slice]]:
        """(rows, columns) of the grid cells each polygon's bounding box touches."""
        g = self.grid
        out = []
        for minx, miny, maxx, maxy in shapely.bounds(self.polygons):
            i0 = max(int((minx - g.x0) // g.size), 0)
            j0 = max(int((miny - g.y0) // g.size), 0)
            i1 = min(int((maxx - g.x0) // g.size) + 1, g.nx)
            j1 = min(int((maxy - g.y0) // g.size) + 1, g.ny)
            out.append((slice(j0, j1), slice(i0, i1)))
        return out

    def query(
        self, x: np.ndarray, y: np.ndarray, cells: np.ndarray
    ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """First containing polygon per point (-1: none) and any further (point, polygon) hits."""
        first = self.owner[cells]
        mixed = np.flatnonzero(first == self._MIXED)
        extras: list[tuple[np.ndarray, np.ndarray]] = []
        if mixed.size == 0:
            return first, extras
        first[mixed] = -1
        cand = self.candidates[self.row_of_cell[cells[mixed]]]
        for col in range(cand.shape[1]):
            column = cand[:, col]
            for k in np.unique(column[column >= 0]):
                pts = mixed[column == k]
                with self._lock:
                    pts = pts[shapely.contains_xy(self.polygons[k], x[pts], y[pts])]
                if pts.size == 0:
                    continue
                free = first[pts] == -1
                first[pts[free]] = k
                if not free.all():
                    extras.append((pts[~free], np.full((~free).sum(), k, dtype=np.int32)))
        return first, extras


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
    segments: _SegmentIndex
    polygons: _PolygonIndex


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


def _bad_coordinates(x: np.ndarray, y: np.ndarray, crs: str) -> np.ndarray:
    """Mask of points that are not finite or lie outside metropolitan France."""
    minx, miny, maxx, maxy = WGS84_BOUNDS if crs == WGS84 else LAMBERT93_BOUNDS
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(x) & np.isfinite(y) & (x >= minx) & (x <= maxx)
        ok &= (y >= miny) & (y <= maxy)
    return ~ok


def _coordinate_error(x: float, y: float, crs: str, where: str = "") -> InputError:
    if crs == WGS84:
        what = f"longitude {x!r}, latitude {y!r}"
        hint = (
            " Vérifiez que la longitude et la latitude ne sont pas inversées"
            " (la longitude est autour de 2,8 et la latitude autour de 50,4 à Lens)."
        )
    else:
        what = f"x {x!r}, y {y!r} (Lambert-93)"
        hint = (
            " Les coordonnées Lambert-93 sont en mètres (vers x = 685 000, y = 7 036 000 à Lens)."
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
        ``commune_names``, ``commune_codes`` and full-resolution (Multi)Polygons, EPSG:2154.
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
        generations = sorted(int(g) for g in pd.unique(qpv["generation"]))
        missing = [g for g in generations if g not in tolerances]
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
        self.grid = _Grid(
            x0=minx,
            y0=miny,
            size=float(size),
            nx=math.ceil((maxx - minx) / size),
            ny=math.ceil((maxy - miny) / size),
        )
        self._transformer = pyproj.Transformer.from_crs(WGS84, LAMBERT93, always_xy=True)

        territory_arr = np.array([territory_geom], dtype=object)
        start, end, owner = _segments(territory_arr)
        self._territory_segments = _SegmentIndex(start, end, owner, self.grid)
        self._territory_polygon = _PolygonIndex(
            territory_arr, self.grid, self._territory_segments.cell_dist
        )

        self._generations: dict[int, _Generation] = {}
        for g in generations:
            rows = qpv[qpv["generation"] == g]
            polys = np.asarray(rows.geometry.values, dtype=object)
            start, end, owner = _segments(polys)
            segments = _SegmentIndex(start, end, owner, self.grid)
            self._generations[g] = _Generation(
                generation=g,
                tolerance_m=float(tolerances[g]),
                codes=rows["code"].astype(str).to_numpy(),
                names=rows["name"].astype(str).to_numpy(),
                communes=tuple(_split(v, ",") for v in rows["commune_names"]),
                commune_codes=tuple(_split(v, ",") for v in rows["commune_codes"]),
                contracts=_contracts(rows),
                segments=segments,
                polygons=_PolygonIndex(polys, self.grid, segments.cell_dist),
            )

    @classmethod
    def from_dataset(cls, dataset: Any, **kwargs: Any) -> Locator:
        """Build from a ``geo.store.Dataset`` (its ``qpv``, ``territory`` and tolerances).

        Keyword arguments go to the constructor (e.g. ``territory_tolerance_m``).
        """
        generations = sorted(int(g) for g in pd.unique(dataset.qpv["generation"]))
        tolerances = {g: dataset.tolerance_m(g) for g in generations}
        kwargs.setdefault(
            "territory_tolerance_m", float(dataset.report["tolerances_m"].get("territory", 0.0))
        )
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
        if _bad_coordinates(np.array([a]), np.array([b]), crs)[0]:
            raise _coordinate_error(a, b, crs)
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
        reason = _reason_fr(
            int(res["reason"][0]),
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
            ``within_500m``, ``reason`` (one of ``REASON_CODES``, see ``REASON_LABELS_FR``),
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
        bad = _bad_coordinates(x, y, crs)
        if bad.any() and on_invalid == "raise":
            i = int(np.flatnonzero(bad)[0])
            raise _coordinate_error(float(x[i]), float(y[i]), crs, where=f" (ligne {i + 1})")
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
        near = distance <= gen.tolerance_m + finite_precision + _EPS_M

        # Distance to the territory only for points that need it: not inside, not near.
        in_territory = self._territory_polygon.query(x, y, cells)[0] >= 0
        territory_distance = np.zeros(len(x))
        outside_territory = ~in_territory & ~inside & ~near
        check = np.flatnonzero(outside_territory)
        if check.size:
            territory_distance[check] = self._territory_segments.nearest(
                x[check], y[check], xr[check], yr[check], cells[check]
            )[0]
        margin = gen.tolerance_m + finite_precision + self.territory_tolerance_m + _EPS_M
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


def _reason_fr(
    code: int,
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
    if code == _REASON_PRECISION:
        level = TYPE_LEVEL_FR.get(result_type or "")
        if level:
            return (
                f"L'adresse n'a été localisée qu'{level} : sa position exacte est inconnue, "
                "on ne peut pas dire si elle est dans un quartier prioritaire. "
                "Précisez le numéro dans la voie."
            )
        return "La position de l'adresse est trop imprécise pour trancher."
    if code == _REASON_BOUNDARY:
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
    if code == _REASON_EDGE:
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
