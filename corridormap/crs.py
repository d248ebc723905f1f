"""The belt's coordinate reference systems and the moves between them.

All distances and areas are computed in :data:`BELT_CRS` (EPSG:7755, WGS 84 / India NSF LCC: a
Lambert conformal conic in metres valid for all of India), never in degrees. Maps are drawn in
:data:`DISPLAY_CRS` (EPSG:4326); reprojection happens at those two boundaries, on copies.

EPSG:7755 is conformal, not equidistant: over the belt (16–32 N) its scale factor is 0.980–0.990,
so a planar metre is 1–2% short of a true metre and a planar square metre 2–4% short. Figures that
are reported (km, km², ha) are therefore true ones: distances are divided by the local scale factor
(:func:`scale_factor`, within 0.1% of geodesic at belt scale), and lengths and
areas of whole geometries come from the ellipsoid (:func:`geodesic_length_km`,
:func:`geodesic_area_km2`).
"""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
from numpy.typing import NDArray
from pyproj import CRS, Geod, Proj, Transformer

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
    "scale_factor",
    "true_km",
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


@functools.cache
def _scale_by_radius() -> tuple[float, float, float, float, NDArray[np.float64]]:
    """EPSG:7755 is a Lambert conformal conic, so its scale factor depends only on the distance
    ``rho`` from the cone's apex. Find the apex (from the sagitta of the 24 N parallel) and tabulate
    the factor on a regular grid of ``rho``: (apex x, apex y, first rho, rho step, factors)."""
    to_xy = Transformer.from_crs("EPSG:4326", BELT_CRS, always_xy=True)
    (x0, x1), (y0, y1) = to_xy.transform([80.0, 90.0], [24.0, 24.0])
    rho0 = ((x1 - x0) ** 2 + (y1 - y0) ** 2) / (2.0 * (y1 - y0))
    lats = np.arange(70.0, -20.0001, -0.01)
    _, ys = to_xy.transform(np.full_like(lats, 80.0), lats)
    rho = (y0 + rho0) - np.asarray(ys)
    factors = np.asarray(Proj(BELT_CRS).get_factors(np.full_like(lats, 80.0), lats).meridional_scale)
    step = 500.0
    regular = np.arange(rho[0], rho[-1], step)
    return float(x0), float(y0 + rho0), float(rho[0]), step, np.interp(regular, rho, factors)


def scale_factor(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Point scale factor of EPSG:7755 at metric coordinates ``x, y`` (planar m per true m)."""
    ax, ay, first, step, factors = _scale_by_radius()
    dx, dy = np.asarray(x, dtype=float) - ax, ay - np.asarray(y, dtype=float)
    at = (np.sqrt(dx * dx + dy * dy) - first) / step
    at = np.clip(at, 0, len(factors) - 1.000001)
    i = at.astype(np.intp)
    w = at - i
    return factors[i] * (1 - w) + factors[i + 1] * w


def true_km(
    distance_m: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Planar EPSG:7755 metres measured around midpoint ``x, y`` -> true (ellipsoidal) kilometres."""
    return np.asarray(distance_m, dtype=float) / scale_factor(x, y) / 1000.0


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
