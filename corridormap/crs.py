"""The belt's coordinate reference systems and the moves between them.

All distances and areas are computed in :data:`BELT_CRS` (EPSG:7755, WGS 84 / India NSF LCC: a
Lambert conformal conic in metres valid for all of India), never in degrees. Maps are drawn in
:data:`DISPLAY_CRS` (EPSG:4326); reprojection happens at those two boundaries, on copies.
"""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS

from .errors import CRSError

__all__ = ["BELT_CRS", "DISPLAY_CRS", "to_metric", "to_display", "require_crs", "is_metric"]

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
