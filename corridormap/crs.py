"""The belt's coordinate reference systems and the moves between them.

All distances and areas are computed in :data:`BELT_CRS` (EPSG:7755, WGS 84 / India NSF LCC: a
Lambert conformal conic in metres valid for all of India), never in degrees. Maps are drawn in
:data:`DISPLAY_CRS` (EPSG:4326); reprojection happens at those two boundaries, on copies.

EPSG:7755 is conformal, not equidistant: over the belt (16–32 N) its scale factor is 0.980–0.990,
so a planar metre is 1–2% short of a true metre and a planar square metre 2–4% short. Figures that
are reported (km, km², ha) are therefore true ones. Point-to-point distances a user reads are
measured on the WGS 84 ellipsoid (:func:`geodesic_km`, pyproj's ``Geod``: exact); lengths and areas
of whole geometries too (:func:`geodesic_length_km`, :func:`geodesic_area_km2`). Dividing a planar
distance by the local scale factor (:func:`true_km`) is a fast approximation for internal use: within
0.01% of geodesic up to ~300 km, but 0.2% off at ~750 km, as the factor changes along the way.
:func:`scale_bounds` gives the lowest and highest factor over a set of points, which bounds how far
planar and geodesic distances can disagree (used to re-rank nearest features exactly).
"""

from __future__ import annotations

import functools
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
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
    "scale_bounds",
    "true_km",
    "geodesic_km",
    "geodesic_line_km",
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


@functools.cache
def _belt_to_lonlat() -> Transformer:
    return Transformer.from_crs(BELT_CRS, DISPLAY_CRS, always_xy=True)


def geodesic_km(
    a_xy: NDArray[np.float64],
    b_xy: NDArray[np.float64],
    *,
    a_lonlat: NDArray[np.float64] | None = None,
    b_lonlat: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Geodesic distance (km, WGS 84 ellipsoid) between pairs of EPSG:7755 points, row by row
    (``a_lonlat`` / ``b_lonlat``: the first / second points' longitude/latitude when known,
    instead of ``a_xy`` / ``b_xy``).

    Examples
    --------
    >>> t = Transformer.from_crs("EPSG:4326", BELT_CRS, always_xy=True)
    >>> a, b = np.array([t.transform(75.0, 24.0)]), np.array([t.transform(75.0, 25.0)])
    >>> print(f"{geodesic_km(a, b)[0]:.3f}")
    110.766
    """
    a = np.asarray(a_xy, dtype=float).reshape(-1, 2)
    b = np.asarray(b_xy, dtype=float).reshape(-1, 2)
    if len(a) == 0:
        return np.empty(0)
    if a_lonlat is None:
        lon1, lat1 = _belt_to_lonlat().transform(a[:, 0], a[:, 1])
    else:
        lon1, lat1 = np.asarray(a_lonlat, dtype=float).reshape(-1, 2).T
    if b_lonlat is None:
        lon2, lat2 = _belt_to_lonlat().transform(b[:, 0], b[:, 1])
    else:
        lon2, lat2 = np.asarray(b_lonlat, dtype=float).reshape(-1, 2).T
    _, _, metres = _GEOD.inv(np.asarray(lon1), np.asarray(lat1), np.asarray(lon2), np.asarray(lat2))
    return np.asarray(metres, dtype=float) / 1000.0


def geodesic_line_km(lines: NDArray[Any], *, crs: str = BELT_CRS) -> NDArray[np.float64]:
    """Length (km) of each line on the WGS 84 ellipsoid: the sum of the geodesics between its
    consecutive vertices (vertices in ``crs``, EPSG:7755 by default); 0 for a point, NaN for a
    missing geometry. Vectorised: one transform and one ``Geod.inv`` for all vertices."""
    geoms = np.asarray(lines, dtype=object).ravel()
    out = np.zeros(len(geoms))
    out[shapely.is_missing(geoms)] = np.nan
    parts, owner = shapely.get_parts(geoms, return_index=True)  # multi-part: no leg between parts
    coords, part = shapely.get_coordinates(parts, return_index=True)
    if len(coords) < 2:
        return out
    if crs != DISPLAY_CRS:
        coords = np.column_stack(_to_lonlat(crs).transform(coords[:, 0], coords[:, 1]))
    same = part[1:] == part[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    _, _, metres = _GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    np.add.at(out, owner[part[1:][same]], np.asarray(metres, dtype=float) / 1000.0)
    return out


@functools.cache
def _to_lonlat(crs: str) -> Transformer:
    return Transformer.from_crs(crs, DISPLAY_CRS, always_xy=True)


def scale_bounds(xy: NDArray[np.float64], *, pad_m: float = 250_000.0) -> tuple[float, float]:
    """Lowest and highest EPSG:7755 scale factor within ``pad_m`` (radially) of metric points ``xy``.

    The factor of a Lambert conformal conic depends only on the distance from the cone's apex, so
    the extremes over that band of distances bound the factor on any chord or geodesic between the
    points (the pad covers a chord's sag towards the apex and a geodesic's poleward bulge: tens of
    km for chords of 1,500 km). Then for any two points ``planar / high <= geodesic <= planar / low``.
    """
    ax, ay, first, step, factors = _scale_by_radius()
    pts = np.asarray(xy, dtype=float).reshape(-1, 2)
    rho = np.hypot(pts[:, 0] - ax, ay - pts[:, 1])
    lo_i = int(np.clip(np.floor((rho.min() - pad_m - first) / step), 0, len(factors) - 1))
    hi_i = int(np.clip(np.ceil((rho.max() + pad_m - first) / step), 0, len(factors) - 1))
    band = factors[lo_i : hi_i + 1]
    low, high = float(band.min()), float(band.max())
    # beyond the table (70 N to 20 S) the factor only grows away from it (its single minimum lies
    # inside): the band's ends out there take the factor itself (at a metre from the apex at most)
    last = first + step * (len(factors) - 1)
    ends = [r for r in (rho.min() - pad_m, rho.max() + pad_m) if r < first or r > last]
    if ends:
        lon, lat = _belt_to_lonlat().transform(np.full(len(ends), ax), ay - np.maximum(ends, 1.0))
        beyond = np.asarray(Proj(BELT_CRS).get_factors(lon, lat).meridional_scale, dtype=float)
        low, high = min(low, float(beyond.min())), max(high, float(beyond.max()))
    return low, high


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
