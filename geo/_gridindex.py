"""The numeric indexes behind :class:`geo.locate.Locator`: a grid, boundary segments, polygons.

Private plumbing: ``geo.locate`` is the public face. Everything here works in one metric CRS
(Lambert-93) on numpy arrays, with no knowledge of quartiers, verdicts or words.

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
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import shapely

ROOT_CELLS = 8  # the top of the candidate hierarchy has at most this many cells per side
CHUNK = 16_384  # points per vectorised block (keeps temporaries in cache)
EPS_M = 1e-6  # numeric slack: a point on a boundary must compare <= any tolerance


@dataclass(frozen=True)
class Grid:
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


def segments_of(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boundary segments of polygons: start points, end points and owning geometry index."""
    parts, part_owner = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    coords, coord_part = shapely.get_coordinates(parts, return_index=True)
    same = coord_part[1:] == coord_part[:-1]
    start = coords[:-1][same]
    end = coords[1:][same]
    owner = part_owner[coord_part[:-1][same]].astype(np.int32)
    return start, end, owner


def dist2(px, py, ax, ay, dx, dy, inv):
    """Squared distance from points to segments (a, a + d); ``inv`` = 1 / |d|² (0 if |d| = 0)."""
    wx = px - ax
    wy = py - ay
    t = np.clip((wx * dx + wy * dy) * inv, 0.0, 1.0)
    ex = wx - t * dx
    ey = wy - t * dy
    return ex * ex + ey * ey


class SegmentIndex:
    """Exact nearest boundary segment for points, through per-cell candidate lists."""

    def __init__(
        self,
        start: np.ndarray,
        end: np.ndarray,
        owner: np.ndarray,
        grid: Grid,
        stored: Mapping[str, np.ndarray] | None = None,
    ):
        """Index the segments (start, end) on ``grid``.

        ``stored`` is what :meth:`arrays` gave for the same segments on the same grid (read from
        the processed tables): the candidate lists are then taken from it instead of computed.
        It is used only when it fits (same grid, same segment count, every array present),
        otherwise the lists are computed as if it were not given.
        """
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
        if stored is not None and _fits(stored, grid, len(self.ax)):
            self.cell_dist = np.asarray(stored["cell_dist"])
            self.bucket_of_cell = np.asarray(stored["bucket_of_cell"])
            self.row_of_cell = np.asarray(stored["row_of_cell"])
            self._tables = [
                stored.get(f"table{b}")
                for b in range(int(self.bucket_of_cell[: grid.ncells].max()) + 1)
            ]
        else:
            cells, segs, self.cell_dist = self._candidates()
            self._tables, self.bucket_of_cell, self.row_of_cell = padded_tables(
                cells, segs, grid.ncells
            )

    def arrays(self) -> dict[str, np.ndarray]:
        """The candidate lists as named arrays, for ``stored`` of a later index (see __init__)."""
        g = self.grid
        out = {
            "grid": np.array([g.x0, g.y0, g.size, g.nx, g.ny, len(self.ax)], dtype=float),
            "cell_dist": self.cell_dist,
            "bucket_of_cell": self.bucket_of_cell,
            "row_of_cell": self.row_of_cell,
        }
        out.update({f"table{b}": t for b, t in enumerate(self._tables) if t is not None})
        return out

    def _candidates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cell, segment) candidate pairs of the finest grid, and each cell's centre distance."""
        g = self.grid
        levels = 0
        while max(-(-g.nx // 2**levels), -(-g.ny // 2**levels)) > ROOT_CELLS:
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
                dist2((ix + 0.5) * size, (iy + 0.5) * size, *self._params.take(segs, axis=1))
            )
            dmin = np.full(nxl * nyl, np.inf)
            np.minimum.at(dmin, cells, d)
            # Any point of the cell is within D + h of the centre's nearest segment, hence its
            # own nearest segment is within D + 2h of the centre (2h = size * sqrt 2).
            keep = d <= dmin[cells] + size * math.sqrt(2.0) * (1 + 1e-9) + EPS_M
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
            for lo in range(0, len(sel), CHUNK):
                part = sel[lo : lo + CHUNK]
                cand = table[self.row_of_cell[cells[part]]]
                ax, ay, dx, dy, inv = self._params.take(cand, axis=1)
                d2 = dist2(xr[part, None], yr[part, None], ax, ay, dx, dy, inv)
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


def _fits(stored: Mapping[str, np.ndarray], grid: Grid, nseg: int) -> bool:
    """Whether stored candidate lists were computed for this grid and this many segments."""
    if not {"grid", "cell_dist", "bucket_of_cell", "row_of_cell"} <= set(stored):
        return False
    expected = np.array([grid.x0, grid.y0, grid.size, grid.nx, grid.ny, nseg], dtype=float)
    bucket = np.asarray(stored["bucket_of_cell"])
    if not (
        np.array_equal(np.asarray(stored["grid"]), expected)
        and bucket.shape == (grid.ncells + 1,)
        and np.asarray(stored["row_of_cell"]).shape == (grid.ncells + 1,)
        and np.asarray(stored["cell_dist"]).shape == (grid.ncells,)
    ):
        return False
    for b in (int(v) for v in np.unique(bucket[: grid.ncells])):
        table = stored.get(f"table{b}")
        if table is None or table.ndim != 2 or table.shape[1] != 2**b:
            return False
        rows = np.asarray(stored["row_of_cell"])[: grid.ncells][bucket[: grid.ncells] == b]
        if rows.size and (rows.max() >= table.shape[0] or table.max() >= nseg or table.min() < 0):
            return False
    return True


def padded_tables(
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


class PolygonIndex:
    """Which polygons contain each point: a lookup per grid cell, exact tests near boundaries."""

    _MIXED = -2

    def __init__(self, polygons: np.ndarray, grid: Grid, cell_dist: np.ndarray):
        self.grid = grid
        self.polygons = polygons.copy()
        shapely.prepare(self.polygons)
        # Prepared geometries build their indexes lazily: not safe to share between threads.
        self._lock = threading.Lock()
        half_diag = grid.size * math.sqrt(0.5)
        # A cell no boundary comes within half a diagonal of its centre is not crossed by any
        # boundary: all its points share the membership of its centre.
        plain = (cell_dist > half_diag * (1 + 1e-9) + EPS_M).reshape(grid.ny, grid.nx)
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
