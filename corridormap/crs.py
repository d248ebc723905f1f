"""The belt's coordinate reference systems and the moves between them.

All distances and areas are computed in :data:`BELT_CRS` (EPSG:7755, WGS 84 / India NSF LCC: a
Lambert conformal conic in metres valid for all of India), never in degrees. Maps are drawn in
:data:`DISPLAY_CRS` (EPSG:4326); reprojection happens at those two boundaries, on copies.

EPSG:7755 is conformal, not equidistant: over the belt (16–32 N) its scale factor is 0.980–0.990,
so a planar metre is 1–2% short of a true metre and a planar square metre 2–4% short. Figures that
are reported (km, km², ha) are therefore true ones: distances are divided by the local scale factor
(:func:`corridormap.nearest.scale_factor`, within 0.1% of geodesic at belt scale), and lengths and
areas of whole geometries come from the ellipsoid (:func:`geodesic_length_km`,
:func:`geodesic_area_km2`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from pyproj import CRS, Geod

from .errors import CRSError

__all__ = [
    "BELT_CRS",
    "DISPLAY_CRS",
    "to_metric",
    "to_display",
    "require_crs",
    "is_metric",
    "geodesic_length_km",
    "geodesic_area_km2",
]

BELT_CRS = "EPSG:7755"
DISPLAY_CRS = "EPSG:4326"


def require_crs(gdf: gpd.GeoDataFrame, what: str = "layer") -> CRS:
    """Return the frame's CRS or raise :class:`CRSError` saying how to set one."""
    if gdf.crs is None:
        raise CRSError(
            f"{what} has no coordinate reference system. Fix: set one, e.g. "
            f"gdf.set_crs('EPSG:4326') for longitude/latitude, or pass crs= / --crs when loading"
        )
    return CRS.from_user_input(gdf.crs)


def is_metric(crs: object) -> bool:
    """True when ``crs`` is projected with metre axes."""
    c = CRS.from_user_input(crs)
    return bool(c.is_projected and c.axis_info and c.axis_info[0].unit_name in ("metre", "meter"))


def to_metric(gdf: gpd.GeoDataFrame, what: str = "layer") -> gpd.GeoDataFrame:
    """Return a copy of ``gdf`` in the belt's metric CRS (EPSG:7755)."""
    crs = require_crs(gdf, what)
    if crs.equals(CRS.from_user_input(BELT_CRS)):
        return gdf.copy()
    return gdf.to_crs(BELT_CRS)


def to_display(gdf: gpd.GeoDataFrame, what: str = "layer") -> gpd.GeoDataFrame:
    """Return a copy of ``gdf`` in longitude/latitude (EPSG:4326) for drawing."""
    crs = require_crs(gdf, what)
    if crs.equals(CRS.from_user_input(DISPLAY_CRS)):
        return gdf.copy()
    return gdf.to_crs(DISPLAY_CRS)


_GEOD = Geod(ellps="WGS84")


def geodesic_length_km(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> np.ndarray:
    """True length of each geometry on the WGS 84 ellipsoid, in km (0 for points)."""
    geoms = to_display(gdf if isinstance(gdf, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=gdf))
    return np.array([_GEOD.geometry_length(g) / 1000.0 if g is not None else np.nan for g in geoms.geometry])


def geodesic_area_km2(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> np.ndarray:
    """True area of each geometry on the WGS 84 ellipsoid, in km² (0 for points and lines)."""
    geoms = to_display(gdf if isinstance(gdf, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=gdf))
    return np.array(
        [abs(_GEOD.geometry_area_perimeter(g)[0]) / 1e6 if g is not None else np.nan for g in geoms.geometry]
    )
