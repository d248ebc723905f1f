"""Approximate footprints: an equal-area circle around a point whose area is published.

Where a zone's boundary is not public but its area is, a circle of that area centred on the zone's
anchor point shows its extent at corridor scale. Each footprint says so in ``footprint_method`` and
carries ``geometry_quality = "approximate"``: it is an extent, never a boundary.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely

from .crs import require_crs, to_metric

__all__ = ["area_footprints"]

METHOD = "equal-area circle of the published area around the anchor point (not a boundary)"


def area_footprints(points: gpd.GeoDataFrame, *, area_column: str = "area_ha") -> gpd.GeoDataFrame:
    """Circles of each point's published area (hectares), for the points that have one.

    Points without an area get no footprint (they are not dropped from the point layer). The
    output keeps the input's index and columns, in the input's CRS.

    Examples
    --------
    >>> pts = gpd.GeoDataFrame({"name": ["a", "b"], "area_ha": [100.0, None]},
    ...     geometry=gpd.points_from_xy([75.0, 76.0], [22.0, 23.0]), crs="EPSG:4326")
    >>> fp = area_footprints(pts)
    >>> list(fp["name"]), round(float(fp.to_crs("EPSG:7755").area.iloc[0]) / 1e4, 1)
    (['a'], 100.0)
    """
    crs = require_crs(points, "points")
    if area_column not in points.columns:
        raise KeyError(f"no column {area_column!r} with the published area in hectares")
    chosen = points[points[area_column].notna() & (points[area_column].astype(float) > 0)]
    metric = to_metric(chosen)
    radius_m = np.sqrt(chosen[area_column].astype(float).to_numpy() * 1e4 / math.pi)
    circles = shapely.buffer(metric.geometry.values, radius_m, quad_segs=32)
    # a buffer polygon has slightly less area than the circle: scale the radius to match exactly
    scale = np.sqrt(chosen[area_column].astype(float).to_numpy() * 1e4 / shapely.area(circles))
    circles = shapely.buffer(metric.geometry.values, radius_m * scale, quad_segs=32)
    out = gpd.GeoDataFrame(chosen.drop(columns=chosen.geometry.name), geometry=circles, crs=metric.crs)
    out["footprint_method"] = METHOD
    if "geometry_quality" in out.columns:
        out["geometry_quality"] = "approximate"
    return out.to_crs(crs)
