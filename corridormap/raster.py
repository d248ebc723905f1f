"""Rasters: read any GeoTIFF or COG, write COGs with provenance, and the operations analysts need.

A :class:`Raster` is one band held in memory as a float array (``NaN`` marks no data) with its affine
transform, CRS and provenance tags. Every function here returns a new raster or frame and never
changes its input.

>>> import numpy as np
>>> from rasterio.transform import from_origin
>>> r = Raster(np.array([[1.0, 2.0], [3.0, 4.0]]), from_origin(0, 2000, 1000, 1000), "EPSG:7755")
>>> float(r.data.mean()), r.shape, r.bounds
(2.5, (2, 2), (0.0, 0.0, 2000.0, 2000.0))

rasterio is imported here and nowhere else in corridormap.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import rasterio.features
import rasterio.warp
import rasterio.windows
import shapely
from affine import Affine
from pyproj import CRS

from . import settings
from .crs import require_crs
from .errors import CRSError, DataSourceNotFoundError, FileFormatError, NetworkError, OutputExistsError

__all__ = [
    "Raster",
    "read_raster",
    "write_raster",
    "reproject_raster",
    "bounds_in",
    "clip_raster",
    "sample_values",
    "sample_raster",
    "zonal_stats",
    "slope",
]

log = logging.getLogger(__name__)

_URL_PREFIXES = ("http://", "https://", "s3://", "gs://", "/vsicurl/", "/vsis3/", "/vsigs/")


@dataclass(frozen=True)
class Raster:
    """One band in memory: values, georeferencing and provenance.

    Attributes
    ----------
    data : ndarray
        2-D float array, ``NaN`` where there is no data.
    transform : Affine
        Pixel-to-CRS transform (top-left corner of the top-left cell).
    crs : str
        The raster's CRS (anything :class:`pyproj.CRS` accepts).
    name : str
        Short name of the quantity, e.g. ``"elevation_m"``.
    tags : dict
        Provenance and units (``source``, ``units``, ``description``, ...); written as GeoTIFF tags.
    """

    data: np.ndarray
    transform: Affine
    crs: str
    name: str = "value"
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if np.ndim(self.data) != 2:
            raise ValueError(f"raster {self.name!r}: data must be 2-D, got shape {np.shape(self.data)}")

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return int(self.data.shape[0]), int(self.data.shape[1])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the raster's CRS."""
        b = rasterio.transform.array_bounds(self.shape[0], self.shape[1], self.transform)
        left, bottom, right, top = (float(v) for v in b)
        return left, bottom, right, top

    @property
    def units(self) -> str:
        """The ``units`` tag, or an empty string."""
        return str(self.tags.get("units", ""))


def _is_url(source: str) -> bool:
    return source.startswith(_URL_PREFIXES)


def _open_raster(text: str) -> Any:
    """``rasterio.open``, with GDAL's refusals turned into a message that names the file and the fix."""
    try:
        return rasterio.open(text)
    except rasterio.errors.RasterioIOError as exc:
        raise FileFormatError(
            f"{text}: not a raster GDAL can read ({exc}). Fix: pass a GeoTIFF or Cloud-Optimized GeoTIFF; "
            f"for vector files use `corridormap validate`"
        ) from exc


def read_raster(
    source: str | os.PathLike[str],
    *,
    band: int = 1,
    bounds: Sequence[float] | None = None,
    bounds_crs: str | None = None,
    name: str | None = None,
) -> Raster:
    """Read one band of a GeoTIFF or Cloud-Optimized GeoTIFF from a path or a URL.

    Parameters
    ----------
    source : str or path
        Local file, or ``https://``/``s3://`` URL (read through GDAL's virtual file systems, so a COG
        is fetched by ranges and only the window asked for is downloaded).
    band : int
        Band number, from 1.
    bounds : (left, bottom, right, top), optional
        Read only this window (in ``bounds_crs``, by default the raster's own CRS).
    bounds_crs : str, optional
        CRS of ``bounds``.
    name : str, optional
        Name of the result; by default the band's description or the file stem.
    """
    text = os.fspath(source)
    if _is_url(text):
        if settings.offline:
            raise NetworkError(
                f"{text}: reading a URL while settings.offline is on. Fix: download the file and pass "
                f"its path, or turn offline off (CORRIDORMAP_OFFLINE=0)"
            )
    elif not Path(text).is_file():
        raise DataSourceNotFoundError(f"{text}: no such raster file. Fix: check the path")
    with _open_raster(text) as src:
        if src.crs is None:
            raise CRSError(f"{text}: the raster has no CRS. Fix: assign one with gdal_edit.py -a_srs")
        window = None
        if bounds is not None:
            b = tuple(bounds)
            if bounds_crs is not None:
                b = rasterio.warp.transform_bounds(bounds_crs, src.crs, *b)
            window = rasterio.windows.from_bounds(*b, transform=src.transform)
            window = (
                window.round_offsets()
                .round_lengths()
                .intersection(rasterio.windows.Window(0, 0, src.width, src.height))
            )
        data = src.read(band, window=window, masked=True).astype("float64").filled(np.nan)
        transform = src.window_transform(window) if window is not None else src.transform
        tags = dict(src.tags())
        tags.update(src.tags(band))
        label = name or (src.descriptions[band - 1] if src.descriptions else None) or Path(text).stem
        crs = src.crs.to_wkt()
    return Raster(data, transform, crs, name=label, tags=tags)


def write_raster(
    raster: Raster, path: str | os.PathLike[str], *, overwrite: bool = False, dtype: str = "float32"
) -> Path:
    """Write ``raster`` as a Cloud-Optimized GeoTIFF with its tags; the write is atomic.

    Raises :class:`~corridormap.errors.OutputExistsError` if ``path`` exists and ``overwrite`` is off.
    """
    out = Path(path)
    if out.exists() and not overwrite:
        raise OutputExistsError(f"{out} exists. Fix: pass overwrite=True (--overwrite) or another path")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    profile: dict[str, Any] = {
        "driver": "COG",
        "width": raster.shape[1],
        "height": raster.shape[0],
        "count": 1,
        "dtype": dtype,
        "crs": CRS.from_user_input(raster.crs).to_wkt(),
        "transform": raster.transform,
        "nodata": np.nan,
        "compress": "deflate",
    }
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(raster.data.astype(dtype), 1)
            dst.update_tags(**{str(k): str(v) for k, v in raster.tags.items()})
            dst.set_band_description(1, raster.name)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("wrote %s (%d x %d)", out, *raster.shape)
    return out


def reproject_raster(
    raster: Raster,
    dst_crs: str,
    *,
    resolution: float | None = None,
    bounds: Sequence[float] | None = None,
    shape: tuple[int, int] | None = None,
    resampling: str = "bilinear",
) -> Raster:
    """Warp ``raster`` to ``dst_crs``.

    The target grid is ``shape`` (rows, columns) over ``bounds`` (in ``dst_crs``) when both are given,
    else GDAL's choice around the raster's extent, with cells of ``resolution`` (target units) if given.
    ``resampling`` is a :class:`rasterio.enums.Resampling` name: ``nearest`` for classes, ``bilinear``
    for continuous values.
    """
    method = rasterio.enums.Resampling[resampling]
    left, bottom, right, top = raster.bounds
    if bounds is not None and shape is not None:
        height, width = shape
        transform = rasterio.transform.from_bounds(*bounds, width, height)
    else:
        kwargs: dict[str, Any] = {"resolution": resolution} if resolution else {}
        transform, width, height = rasterio.warp.calculate_default_transform(
            raster.crs, dst_crs, raster.shape[1], raster.shape[0], left, bottom, right, top, **kwargs
        )
    out = np.full((height, width), np.nan)
    rasterio.warp.reproject(
        raster.data.astype("float64"),
        out,
        src_transform=raster.transform,
        src_crs=raster.crs,
        src_nodata=np.nan,
        dst_transform=transform,
        dst_crs=dst_crs,
        dst_nodata=np.nan,
        resampling=method,
    )
    return replace(raster, data=out, transform=transform, crs=CRS.from_user_input(dst_crs).to_wkt())


def bounds_in(raster: Raster, crs: str) -> tuple[float, float, float, float]:
    """The raster's extent as (left, bottom, right, top) in ``crs`` (edges densified, so it encloses)."""
    b = rasterio.warp.transform_bounds(raster.crs, crs, *raster.bounds, densify_pts=21)
    return float(b[0]), float(b[1]), float(b[2]), float(b[3])


def _geometries_in(area: gpd.GeoDataFrame | gpd.GeoSeries, crs: str, what: str) -> np.ndarray:
    require_crs(gpd.GeoDataFrame(geometry=area.geometry) if isinstance(area, gpd.GeoSeries) else area, what)
    return np.asarray(area.to_crs(crs).geometry.values)


def clip_raster(
    raster: Raster, area: gpd.GeoDataFrame | gpd.GeoSeries, *, all_touched: bool = False
) -> Raster:
    """Crop ``raster`` to the bounds of ``area`` and blank (``NaN``) every cell outside its polygons.

    A cell is inside when its centre is (or, with ``all_touched``, when it touches a polygon).
    """
    geoms = _geometries_in(area, raster.crs, "clip area")
    union = shapely.union_all(geoms)
    if union.is_empty:
        raise ValueError("clip area is empty. Fix: pass at least one polygon")
    window = rasterio.windows.from_bounds(*union.bounds, transform=raster.transform)
    window = window.round_offsets(op="floor").round_lengths(op="ceil")
    window = window.intersection(rasterio.windows.Window(0, 0, raster.shape[1], raster.shape[0]))
    rows, cols = window.toslices()
    data = raster.data[rows, cols].copy()
    transform = rasterio.windows.transform(window, raster.transform)
    outside = rasterio.features.geometry_mask(
        [union], out_shape=data.shape, transform=transform, all_touched=all_touched
    )
    data[outside] = np.nan
    return replace(raster, data=data, transform=transform)


def sample_values(raster: Raster, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Values of the cells containing the points ``(xs, ys)`` (raster CRS); ``NaN`` outside the raster."""
    inverse = ~raster.transform
    cols_f, rows_f = inverse @ (np.asarray(xs, dtype="float64"), np.asarray(ys, dtype="float64"))
    rows = np.floor(rows_f).astype("int64")
    cols = np.floor(cols_f).astype("int64")
    inside = (rows >= 0) & (rows < raster.shape[0]) & (cols >= 0) & (cols < raster.shape[1])
    out = np.full(rows.shape, np.nan)
    out[inside] = raster.data[rows[inside], cols[inside]]
    return out


def sample_raster(raster: Raster, points: gpd.GeoDataFrame, *, column: str | None = None) -> gpd.GeoDataFrame:
    """A copy of ``points`` with a column of the raster's value under each point (``NaN`` outside).

    Parameters
    ----------
    raster : Raster
    points : GeoDataFrame
        Point features in any CRS (reprojected on a copy); the index is kept.
    column : str, optional
        Name of the new column; by default the raster's name.
    """
    geoms = _geometries_in(points, raster.crs, "points")
    if len(geoms) and not np.all(shapely.get_type_id(geoms) == 0):
        raise ValueError("sample_raster needs Point geometries. Fix: take centroids first (gdf.centroid)")
    out = points.copy()
    out[column or raster.name] = sample_values(raster, shapely.get_x(geoms), shapely.get_y(geoms))
    return out


def _zone_values(raster: Raster, geom: shapely.Geometry) -> np.ndarray:
    """Valid values of the cells whose centre falls inside ``geom``."""
    if geom is None or geom.is_empty:
        return np.empty(0)
    window = rasterio.windows.from_bounds(*geom.bounds, transform=raster.transform)
    window = window.round_offsets(op="floor").round_lengths(op="ceil")
    full = rasterio.windows.Window(0, 0, raster.shape[1], raster.shape[0])
    try:
        window = window.intersection(full)
    except rasterio.errors.WindowError:
        return np.empty(0)
    rows, cols = window.toslices()
    block = raster.data[rows, cols]
    inside = ~rasterio.features.geometry_mask(
        [geom], out_shape=block.shape, transform=rasterio.windows.transform(window, raster.transform)
    )
    values = block[inside]
    return values[~np.isnan(values)]


def zonal_stats(raster: Raster, polygons: gpd.GeoDataFrame, *, above: float | None = None) -> pd.DataFrame:
    """Statistics of the raster over each polygon: ``count``, ``mean``, ``min``, ``max`` and, with
    ``above``, ``share_above`` (the share of the zone's valid cells whose value exceeds ``above``).

    A cell belongs to a zone when its centre is inside the polygon; every cell counts the same, so
    use a raster in an equal-area or metric CRS when cells differ in area. The result is aligned on
    ``polygons``' index; a zone without valid cells gets ``count`` 0 and ``NaN`` statistics.
    """
    geoms = _geometries_in(polygons, raster.crs, "zones")
    rows = []
    for geom in geoms:
        v = _zone_values(raster, geom)
        row: dict[str, float] = {"count": int(v.size)}
        row["mean"] = float(v.mean()) if v.size else np.nan
        row["min"] = float(v.min()) if v.size else np.nan
        row["max"] = float(v.max()) if v.size else np.nan
        if above is not None:
            row["share_above"] = float((v > above).mean()) if v.size else np.nan
        rows.append(row)
    columns = ["count", "mean", "min", "max"] + (["share_above"] if above is not None else [])
    return pd.DataFrame(rows, index=polygons.index, columns=columns)


_M_PER_DEGREE = 111_320.0


def slope(elevation: Raster) -> Raster:
    """Slope in degrees from an elevation raster in metres (central differences, one-sided at edges).

    In a geographic CRS the cell size in metres is taken per row from the latitude (spherical
    approximation); in a projected CRS from the transform.
    """
    z = elevation.data.astype("float64")
    if z.shape[0] < 2 or z.shape[1] < 2:
        raise ValueError(f"slope needs at least 2 x 2 cells, got {z.shape}")
    dx = abs(elevation.transform.a)
    dy = abs(elevation.transform.e)
    crs = CRS.from_user_input(elevation.crs)
    if crs.is_geographic:
        rows = np.arange(z.shape[0]) + 0.5
        lat = elevation.transform.f + rows * elevation.transform.e
        dx_m = (dx * _M_PER_DEGREE * np.cos(np.radians(lat)))[:, None]
        dy_m = dy * _M_PER_DEGREE
    else:
        dx_m, dy_m = dx, dy
    dz_dy, dz_dx = np.gradient(z)
    grade = np.hypot(dz_dx / dx_m, dz_dy / dy_m)
    tags = {**elevation.tags, "units": "degrees", "description": f"slope computed from {elevation.name}"}
    return replace(elevation, data=np.degrees(np.arctan(grade)), name="slope_deg", tags=tags)
