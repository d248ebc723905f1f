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

from ..crs import geodesic_area_km2, require_crs, scale_factor, to_metric

__all__ = ["area_footprints"]

METHOD = "equal-area circle of the published area around the anchor point (not a boundary)"


def area_footprints(points: gpd.GeoDataFrame, *, area_column: str = "area_ha") -> gpd.GeoDataFrame:
    """Circles of each point's published area (hectares), for the points that have one.

    Points without an area get no footprint (they are not dropped from the point layer). The
    circle's true (ellipsoidal) area equals the published area. The output keeps the input's index
    and columns, in the input's CRS.

    Examples
    --------
    >>> pts = gpd.GeoDataFrame({"name": ["a", "b"], "area_ha": [100.0, None]},
    ...     geometry=gpd.points_from_xy([75.0, 76.0], [22.0, 23.0]), crs="EPSG:4326")
    >>> fp = area_footprints(pts)
    >>> from corridormap.crs import geodesic_area_km2
    >>> list(fp["name"]), round(float(geodesic_area_km2(fp)[0]) * 100, 2)   # true hectares
    (['a'], 100.0)
    """
    crs = require_crs(points, "points")
    if area_column not in points.columns:
        raise KeyError(f"no column {area_column!r} with the published area in hectares")
    chosen = points[points[area_column].notna() & (points[area_column].astype(float) > 0)]
    metric = to_metric(chosen)
    area_m2 = chosen[area_column].astype(float).to_numpy() * 1e4
    xy = shapely.get_coordinates(metric.geometry.values)
    k = scale_factor(xy[:, 0], xy[:, 1])  # planar metres per true metre at each point
    radius_m = np.sqrt(area_m2 / math.pi) * k
    circles = shapely.buffer(metric.geometry.values, radius_m, quad_segs=32)
    # a 128-gon has slightly less area than its circle: widen it so the true area matches exactly
    true_m2 = geodesic_area_km2(gpd.GeoSeries(circles, crs=metric.crs)) * 1e6
    circles = shapely.buffer(metric.geometry.values, radius_m * np.sqrt(area_m2 / true_m2), quad_segs=32)
    out = gpd.GeoDataFrame(chosen.drop(columns=chosen.geometry.name), geometry=circles, crs=metric.crs)
    out["footprint_method"] = METHOD
    if "geometry_quality" in out.columns:
        out["geometry_quality"] = "approximate"
    return out.to_crs(crs)
