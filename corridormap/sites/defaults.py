"""The computed default rasters of the belt, built offline from data bundled with pvlib and
global-land-mask, and cached as Cloud-Optimized GeoTIFFs.

=================  ==============================================================================
``solar_kwh_m2``   Clear-sky potential: annual global horizontal irradiation under a cloudless sky,
                   kWh/m², from pvlib's Ineichen-Perez clear-sky model with pvlib's bundled monthly
                   Linke turbidity climatology and altitude grid. One representative day per month
                   (the 15th), hourly steps at half past each UTC hour, each day weighted by its
                   month's length; refraction is neglected. It is an upper bound: it is *not*
                   measured or typical-year irradiance (clouds and monsoon are absent).
``elevation_m``    pvlib's bundled altitude grid (Mapzen terrain tiles resampled to 5 arc-minutes,
                   about 9 km, in 28 m steps): coarse, errors of 100 m and more are possible.
``land``           1 on land, 0 on sea, from global-land-mask (GLOBE, 30 arc-seconds, about 1 km;
                   most lakes count as land).
=================  ==============================================================================

Each raster covers the bounds of an area (by default the Western DFC influence belt) on the source
grid, in EPSG:4326. Files are cached under ``settings.cache_dir / "rasters"``, keyed by name,
bounds, parameters and the versions of corridormap and the source package.

pvlib, h5py and global_land_mask (default dependencies) are imported here only, lazily: they are slow
to import.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio.transform import from_origin

from .. import __version__, settings
from ..errors import require
from ..progress import track
from ..raster import Raster, read_raster, write_raster

__all__ = [
    "DEFAULT_RASTERS",
    "area_bounds",
    "clear_sky_potential",
    "elevation",
    "land",
    "is_land",
    "build_default_rasters",
    "default_raster",
]

log = logging.getLogger(__name__)

_GRID = 12  # pvlib's bundled grids: 5 arc-minute cells, 2160 x 4320, rows from 90 N, columns from 180 W
_LAND_GRID = 120  # global-land-mask: 30 arc-second cells
_MARGIN_DEG = 0.25
_WGS84 = "EPSG:4326"


def area_bounds(area: gpd.GeoDataFrame | None = None) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees around ``area`` plus a 0.25° margin.

    Without ``area``: the 150 km belt around the shipped Western DFC (``freight_rail`` layer).
    """
    if area is None:
        from ..analysis.corridor import corridor_belt
        from ..catalog.load import read_layer

        area = corridor_belt(read_layer("freight_rail"))
    w, s, e, n = (float(v) for v in area.to_crs(_WGS84).total_bounds)
    return w - _MARGIN_DEG, s - _MARGIN_DEG, e + _MARGIN_DEG, n + _MARGIN_DEG


def _window(bounds: Sequence[float], cells_per_degree: int) -> tuple[slice, slice, Any]:
    """Rows, columns and transform of the global grid cells covering ``bounds``."""
    w, s, e, n = bounds
    r0, r1 = math.floor((90 - n) * cells_per_degree), math.ceil((90 - s) * cells_per_degree)
    c0, c1 = math.floor((w + 180) * cells_per_degree), math.ceil((e + 180) * cells_per_degree)
    step = 1.0 / cells_per_degree
    transform = from_origin(-180 + c0 * step, 90 - r0 * step, step, step)
    return slice(r0, r1), slice(c0, c1), transform


def _pvlib_grid(file: str, dataset: str, rows: slice, cols: slice) -> np.ndarray:
    pvlib = require("pvlib")
    h5py: Any = require("h5py")
    path = Path(pvlib.__file__).parent / "data" / file  # type: ignore[attr-defined]
    with h5py.File(path, "r") as h5:
        return np.asarray(h5[dataset][rows, cols])


def _centres(rows: slice, cols: slice, cells_per_degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Latitudes (column vector) and longitudes (row vector) of the cell centres."""
    step = 1.0 / cells_per_degree
    lat = 90 - (np.arange(rows.start, rows.stop) + 0.5) * step
    lon = -180 + (np.arange(cols.start, cols.stop) + 0.5) * step
    return lat[:, None], lon[None, :]


def _tags(description: str, units: str, source: str) -> dict[str, str]:
    return {
        "description": description,
        "units": units,
        "source": source,
        "produced_by": f"corridormap {__version__}",
    }


def elevation(bounds: Sequence[float]) -> Raster:
    """Elevation in metres from pvlib's bundled altitude grid (5', coarse), decoded as
    :func:`pvlib.location.lookup_altitude` does (``28 * code - 450``; no-data code 255 -> 0 m)."""
    rows, cols, transform = _window(bounds, _GRID)
    code = _pvlib_grid("Altitude.h5", "Altitude", rows, cols).astype("float64")
    metres = np.where(code == 255, 0.0, code * 28.0 - 450.0)
    pvlib: Any = require("pvlib")
    tags = _tags(
        "elevation; coarse: 5 arc-minute grid in 28 m steps, errors of 100 m or more",
        "m",
        f"pvlib {pvlib.__version__} bundled Altitude.h5 (Mapzen terrain tiles)",
    )
    return Raster(metres, transform, _WGS84, name="elevation_m", tags=tags)


def _month_irradiation(month: int, lat: np.ndarray, lon: np.ndarray, tl: np.ndarray, alt: np.ndarray) -> Any:
    """Clear-sky GHI summed over the hours of the month's 15th, Wh/m² per day."""
    pvlib: Any = require("pvlib")
    sp, atm = pvlib.solarposition, pvlib.atmosphere
    times = pd.date_range(f"2025-{month:02d}-15 00:30", periods=24, freq="h", tz="UTC")
    doy = times.day_of_year.to_numpy(dtype="float64")
    eot = sp.equation_of_time_spencer71(doy)
    decl = sp.declination_spencer71(doy)[:, None, None]
    hour_angle = (sp.hour_angle(times, 0.0, eot)[:, None, None] + lon[None]) % 360
    zen = np.degrees(sp.solar_zenith_analytical(np.radians(lat)[None], np.radians(hour_angle), decl))
    with np.errstate(divide="ignore", invalid="ignore"):
        am = atm.get_absolute_airmass(atm.get_relative_airmass(zen), atm.alt2pres(alt)[None])
        ghi = pvlib.clearsky.ineichen(
            zen,
            am,
            tl[None],
            altitude=alt[None],
            dni_extra=pvlib.irradiance.get_extra_radiation(doy)[:, None, None],
        )["ghi"]
    return np.nansum(np.where(zen < 90, ghi, 0.0), axis=0)


def clear_sky_potential(bounds: Sequence[float]) -> Raster:
    """Annual clear-sky GHI, kWh/m², on pvlib's 5' grid over ``bounds`` (see the module notes)."""
    pvlib: Any = require("pvlib")
    rows, cols, transform = _window(bounds, _GRID)
    lat, lon = _centres(rows, cols, _GRID)
    alt = elevation(bounds).data
    linke = _pvlib_grid("LinkeTurbidities.h5", "LinkeTurbidity", rows, cols).astype("float64") / 20.0
    total = np.zeros(alt.shape)
    for month in range(1, 13):
        days = pd.Period(f"2025-{month:02d}").days_in_month
        total += days * _month_irradiation(month, lat, lon, linke[:, :, month - 1], alt)
    tags = _tags(
        "clear-sky potential: annual GHI under a cloudless sky, not measured irradiance",
        "kWh/m2/year",
        f"pvlib {pvlib.__version__} Ineichen-Perez clear-sky model, bundled Linke turbidity climatology and "
        f"altitude; the 15th of each month, hourly",
    )
    return Raster(total / 1000.0, transform, _WGS84, name="solar_kwh_m2", tags=tags)


def is_land(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True where global-land-mask puts land (30" GLOBE grid; most lakes count as land)."""
    glm: Any = require("global_land_mask")
    return np.asarray(glm.globe.is_land(np.clip(lat, -90, 90), np.clip(lon, -180, 180)), dtype=bool)


def land(bounds: Sequence[float]) -> Raster:
    """1 on land, 0 on sea, on global-land-mask's 30 arc-second grid over ``bounds``."""
    rows, cols, transform = _window(bounds, _LAND_GRID)
    lat, lon = _centres(rows, cols, _LAND_GRID)
    lat2, lon2 = np.broadcast_arrays(lat, lon)
    values = is_land(lon2, lat2).astype("float64")
    tags = _tags("land (1) or sea (0); most lakes count as land", "1", "global-land-mask 1.0 (GLOBE, NOAA)")
    return Raster(values, transform, _WGS84, name="land", tags=tags)


DEFAULT_RASTERS: dict[str, Callable[[Sequence[float]], Raster]] = {
    "solar_kwh_m2": clear_sky_potential,
    "elevation_m": elevation,
    "land": land,
}


def _cache_path(name: str, bounds: Sequence[float]) -> Path:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"corridormap": __version__}
    for dist in ("pvlib", "global-land-mask"):  # read from metadata: importing the mask costs ~1 GB
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:  # pragma: no cover - without the extra the build fails later anyway
            versions[dist] = "missing"
    key = json.dumps({"name": name, "bounds": [round(b, 4) for b in bounds], "versions": versions})
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return Path(settings.cache_dir) / "rasters" / f"{name}-{digest}.tif"


def build_default_rasters(
    area: gpd.GeoDataFrame | None = None,
    *,
    names: Sequence[str] = tuple(DEFAULT_RASTERS),
    refresh: bool = False,
) -> dict[str, Path]:
    """Compute the default rasters over ``area`` (default: the belt) as cached COGs; return their paths.

    A raster already in the cache for the same bounds and versions is reused unless ``refresh``.
    """
    unknown = sorted(set(names) - set(DEFAULT_RASTERS))
    if unknown:
        raise ValueError(f"unknown default raster(s) {unknown}. Fix: choose from {sorted(DEFAULT_RASTERS)}")
    bounds = area_bounds(area)
    paths = {}
    for name in track(names, desc="default rasters", unit="raster"):
        path = _cache_path(name, bounds)
        if refresh or not path.is_file():
            log.info("computing %s over %s", name, bounds)
            write_raster(DEFAULT_RASTERS[name](bounds), path, overwrite=True)
        paths[name] = path
    return paths


def default_raster(name: str, area: gpd.GeoDataFrame | None = None) -> Raster:
    """One default raster over ``area`` (default: the belt), from the cache or computed now."""
    return read_raster(build_default_rasters(area, names=[name])[name])
