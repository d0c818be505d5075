"""The verdict rule over arrays of points for one generation of perimeters: in, out, uncertain
or outside the territory, from the indexes of ``geo._gridindex``, the tolerances and each
point's geocoding precision; the perimeters indexed from their rows of ``qpv.parquet``; points
split across threads; the table :meth:`geo.locate.Locator.locate_many` returns.

Private plumbing of ``geo.locate``: statuses and reasons are codes here, indexes into
``geo.verdict.STATUSES`` and ``REASON_CODES``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geo._gridindex import EPS_M, Grid, PolygonIndex, SegmentIndex, segments_of
from geo.territory import STATUS_NEIGHBOURING
from geo.verdict import BAND_FAR_M, BAND_NEAR_M, REASON_CODES, STATUSES

_PARALLEL_MIN = 200_000  # below this many points, threads cost more than they save

_STATUS_IN, _STATUS_OUT, _STATUS_UNCERTAIN, _STATUS_OUTSIDE = range(4)
_REASON_NONE, _REASON_BOUNDARY, _REASON_PRECISION, _REASON_EDGE = -1, 0, 1, 2


@dataclass
class Perimeters:
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

    @classmethod
    def build(
        cls,
        rows: pd.DataFrame,
        generation: int,
        tolerance_m: float,
        grid: Grid,
        stored: Any = None,
    ) -> Perimeters:
        """Index the rows of ``qpv.parquet`` of one generation on ``grid``.

        ``stored``: the boundary index's arrays kept from an earlier build (see
        :class:`~geo._gridindex.SegmentIndex`), used when they fit.
        """
        polys = np.asarray(rows.geometry.values, dtype=object)
        start, end, owner = segments_of(polys)
        segments = SegmentIndex(start, end, owner, grid, stored)
        return cls(
            generation=generation,
            tolerance_m=tolerance_m,
            codes=rows["code"].astype(str).to_numpy(),
            names=rows["name"].astype(str).to_numpy(),
            communes=tuple(_split(v, ",") for v in rows["commune_names"]),
            commune_codes=tuple(_split(v, ",") for v in rows["commune_codes"]),
            contracts=_contracts(rows),
            segments=segments,
            polygons=PolygonIndex(polys, grid, segments.cell_dist),
        )


@dataclass(frozen=True)
class Area:
    """The territory's indexes on the grid every index shares, and its outline's tolerance."""

    grid: Grid
    segments: SegmentIndex
    polygon: PolygonIndex
    tolerance_m: float


def containing(
    grid: Grid, gen: Perimeters, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, list, np.ndarray, np.ndarray, np.ndarray]:
    """The quartier containing each point (-1: none), overlaps, grid-relative x/y, cells."""
    xr = x - grid.x0
    yr = y - grid.y0
    cells = grid.cells(xr, yr)
    member, extras = gen.polygons.query(x, y, cells)
    return member, extras, xr, yr, cells


def evaluate(
    area: Area, gen: Perimeters, x: np.ndarray, y: np.ndarray, precision: np.ndarray
) -> dict[str, Any]:
    """Status, reason, containing and nearest quartier, distances and bands of each point."""
    member, extras, xr, yr, cells = containing(area.grid, gen, x, y)
    distance, seg = gen.segments.nearest(x, y, xr, yr, cells)
    nearest = gen.segments.owner[seg]
    inside = member >= 0
    precise = np.isfinite(precision)
    finite_precision = np.where(precise, precision, 0.0)
    near = distance <= gen.tolerance_m + finite_precision + EPS_M

    # Distance to the territory only for points that need it: not inside, not near.
    in_territory = area.polygon.query(x, y, cells)[0] >= 0
    territory_distance = np.zeros(len(x))
    outside_territory = ~in_territory & ~inside & ~near
    check = np.flatnonzero(outside_territory)
    if check.size:
        territory_distance[check] = area.segments.nearest(
            x[check], y[check], xr[check], yr[check], cells[check]
        )[0]
    margin = gen.tolerance_m + finite_precision + area.tolerance_m + EPS_M
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


def map_chunks(func: Callable, *arrays: np.ndarray, combine: bool = True) -> Any:
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


def concat_results(parts: list[dict]) -> dict[str, Any]:
    """One result from the results of :func:`map_chunks` slices (``combine=False``)."""
    if len(parts) == 1:
        return parts[0]
    out: dict[str, Any] = {}
    for key in parts[0]:
        if key in ("extras", "offset"):
            continue
        out[key] = np.concatenate([p[key] for p in parts])
    out["extras"] = [(pts + p.get("offset", 0), ks) for p in parts for pts, ks in p["extras"]]
    return out


def table(
    gen: Perimeters, res: dict, x: np.ndarray, y: np.ndarray, precision: np.ndarray
) -> pd.DataFrame:
    """One row per point: the columns :meth:`geo.locate.Locator.locate_many` documents."""
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


def _categorical(codes: np.ndarray, labels: np.ndarray) -> pd.Categorical:
    """Categorical of ``labels[codes]`` (-1: missing), tolerating duplicate labels."""
    uniques, inverse = np.unique(labels.astype(str), return_inverse=True)
    mapped = np.where(codes >= 0, inverse[np.maximum(codes, 0)], -1)
    return pd.Categorical.from_codes(mapped, categories=uniques, validate=False)


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
