"""Geometry steps of the build: Lambert-93 checked, invalid polygons repaired (each repair
recorded in the build report), and the simplified WGS84 copy drawn on the map.
"""

from __future__ import annotations

import geopandas as gpd
import pyproj
import shapely

from geo.coordinates import LAMBERT93, WGS84
from geo.errors import SchemaError
from geo.store import BuildReport, Repair

# Display copies: simplification tolerance (metres, Lambert-93) and coordinate grid (degrees).
DISPLAY_TOLERANCE_M = 4.0
DISPLAY_GRID_DEG = 1e-6


def ensure_lambert93(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Return ``gdf`` labelled EPSG:2154, after checking its CRS is Lambert-93.

    The 2015 shapefile declares IGNF:LAMB93, which is the same projection as EPSG:2154 under
    another name: we check it projects a test point identically before relabelling.
    """
    if gdf.crs is None:
        raise SchemaError(f"{what}: pas de système de coordonnées déclaré")
    if gdf.crs.to_epsg() == 2154:
        return gdf
    probe = pyproj.Transformer.from_crs(WGS84, gdf.crs, always_xy=True).transform(2.83, 50.43)
    ref = pyproj.Transformer.from_crs(WGS84, LAMBERT93, always_xy=True).transform(2.83, 50.43)
    if max(abs(probe[0] - ref[0]), abs(probe[1] - ref[1])) > 0.01:
        raise SchemaError(f"{what}: système de coordonnées inattendu {gdf.crs.name!r}")
    return gdf.set_crs(LAMBERT93, allow_override=True)


def repair_geometries(
    gdf: gpd.GeoDataFrame, report: BuildReport, generation: int
) -> gpd.GeoDataFrame:
    """Repair invalid polygons with ``make_valid``, keep polygonal parts, record each repair."""
    gdf = gdf.copy()
    invalid = ~gdf.geometry.is_valid
    for idx in gdf.index[invalid]:
        before = gdf.at[idx, "geometry"]
        reason = shapely.is_valid_reason(before)
        fixed = _polygonal(shapely.make_valid(before))
        gdf.at[idx, "geometry"] = fixed
        report.repaired.append(
            Repair(
                code=str(gdf.at[idx, "code"]),
                generation=generation,
                reason=str(reason),
                area_before_m2=round(float(before.area), 1),
                area_after_m2=round(float(fixed.area), 1),
            )
        )
    return gdf


def _polygonal(geom):
    """Keep only the polygonal parts of a geometry, as a MultiPolygon."""
    parts = shapely.get_parts(geom)
    polys = []
    for part in parts:
        if part.geom_type == "Polygon":
            polys.append(part)
        elif part.geom_type == "MultiPolygon":
            polys.extend(part.geoms)
    return shapely.MultiPolygon(polys)


def to_multipolygon(geom):
    """``geom`` as a MultiPolygon (a Polygon wrapped, a MultiPolygon unchanged)."""
    return geom if geom.geom_type == "MultiPolygon" else shapely.MultiPolygon([geom])


def display_copy(qpv: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, float]:
    """Simplified WGS84 copy for the map and the largest shift it introduces (metres)."""
    simplified = qpv.geometry.simplify(DISPLAY_TOLERANCE_M, preserve_topology=True)
    shift = float(
        max(
            (
                shapely.hausdorff_distance(a, b)
                for a, b in zip(qpv.geometry, simplified, strict=True)
            ),
            default=0.0,
        )
    )
    out = gpd.GeoDataFrame(
        {"code": qpv["code"].to_numpy(), "generation": qpv["generation"].to_numpy()},
        geometry=simplified.to_crs(WGS84).set_precision(DISPLAY_GRID_DEG).to_numpy(),
        crs=WGS84,
    )
    return out, shift
