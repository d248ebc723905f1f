"""Coordinate checks of a user's layer: finite numbers, the CRS, axis order, range and location.

Guessing is unsafe here, so doubtful cases are refused with the option that settles them:
``crs=`` (``--crs``) for a missing or wrong CRS, ``swap_xy`` (``--swap-xy``) for (lat, lon) files,
``salvage`` (``--salvage``) to drop features with impossible coordinates (logged).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from pyproj import CRS

from ..errors import CRSError
from ._geomchecks import Context

__all__ = ["check_crs", "check_location", "outside_india", "INDIA_LON", "INDIA_LAT"]

# longitude/latitude window that holds India with a margin; beyond it a layer is "far from India"
INDIA_LON = (60.0, 100.0)
INDIA_LAT = (0.0, 40.0)


def _bounds_box(geoms: gpd.GeoSeries) -> np.ndarray:
    return np.asarray(geoms.bounds.to_numpy(), dtype=float)


def check_crs(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    """Coordinates finite; CRS present, plausible (not metres labelled as degrees), axes in order."""
    rep = ctx.report
    coords_ok = _finite_mask(gdf, ctx)
    gdf = ctx.refuse_or_drop(
        gdf,
        ~coords_ok,
        "non-finite",
        "coordinates are NaN or Infinity",
        "give these features real coordinates",
    )
    if ctx.crs is not None:
        try:
            CRS.from_user_input(ctx.crs)
        except pyproj.exceptions.CRSError as exc:
            raise CRSError(
                f"{rep.source}: --crs {ctx.crs!r} is not a CRS pyproj knows ({exc}). "
                "Fix: give an EPSG code such as EPSG:4326 or EPSG:32643"
            ) from exc
        if gdf.crs is not None and not CRS.from_user_input(gdf.crs).equals(CRS.from_user_input(ctx.crs)):
            rep.add(
                "warn",
                "crs-override",
                f"declared CRS {CRS.from_user_input(gdf.crs).to_string()} replaced by {ctx.crs} as asked",
                "none: you chose it with --crs",
            )
        gdf = gdf.set_crs(ctx.crs, allow_override=True)
    elif gdf.crs is None:
        return _missing_crs(gdf, ctx)
    crs = CRS.from_user_input(gdf.crs)
    if not (crs.is_geographic or crs.is_projected):
        rep.add(
            "refuse",
            "crs-undefined",
            f"the CRS {crs.name!r} is local (engineering): it does not place the data on the earth",
            "pass the CRS the coordinates are really in with --crs (e.g. EPSG:32643)",
        )
        rep.crs = crs.to_string()
        return gdf
    if crs.is_geographic:
        gdf = _check_degrees(gdf, ctx)
    elif ctx.crs is None and _looks_like_degrees(gdf):
        rep.add(
            "refuse",
            "crs-wrong",
            f"the CRS is projected ({crs.to_string()}) but every coordinate is within ±180/±90: "
            "longitude/latitude labelled as metres",
            "pass --crs EPSG:4326 if these are longitude/latitude",
        )
    rep.crs = crs.to_string()
    return gdf


def _looks_like_degrees(gdf: gpd.GeoDataFrame) -> bool:
    box = gdf.total_bounds
    if not np.isfinite(box).all():
        return False
    return bool(_inside(np.array([box[0], box[2]]), np.array([box[1], box[3]])).all())


def _finite_mask(gdf: gpd.GeoDataFrame, ctx: Context) -> np.ndarray:
    geoms = gdf.geometry.values
    coords, index = shapely.get_coordinates(geoms, include_z=False, return_index=True)
    bad = np.zeros(len(gdf), dtype=bool)
    if len(coords):
        bad[np.unique(index[~np.isfinite(coords).all(axis=1)])] = True
    if ctx.nonfinite:
        bad |= np.array([lab in ctx.nonfinite for lab in ctx.labels], dtype=bool)
    return ~bad


def _missing_crs(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    box = gdf.total_bounds
    if not np.isfinite(box).all():  # no coordinates at all: nothing to place, nothing to refuse
        ctx.report.add("warn", "crs-missing", "no CRS declared (and no coordinates)", "pass --crs")
        return gdf
    looks_degrees = bool(abs(box[[0, 2]]).max() <= 180 and abs(box[[1, 3]]).max() <= 90)
    if ctx.degrees_assumed and looks_degrees:
        ctx.report.add(
            "info",
            "crs-assumed",
            "no CRS declared; longitude/latitude columns read as EPSG:4326",
            "pass --crs if the coordinates are in another system",
        )
        ctx.report.crs = "EPSG:4326"
        return _check_degrees(gdf.set_crs("EPSG:4326"), ctx)
    hint = (
        "the coordinates look like longitude/latitude: --crs EPSG:4326"
        if looks_degrees
        else "the coordinates look projected (metres?): pass the real one, e.g. --crs EPSG:32643 "
        "(UTM 43N) or --crs EPSG:7755"
    )
    ctx.report.add(
        "refuse",
        "crs-missing",
        "no coordinate reference system is declared",
        f"add a .prj / CRS to the file or pass it; {hint}",
    )
    return gdf


def _check_degrees(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    """Geographic CRS: catch projected numbers, swapped axes, out-of-range coordinates."""
    b = _bounds_box(gdf.geometry)
    present = ~np.isnan(b).any(axis=1)
    out = present & ((np.abs(b[:, [0, 2]]) > 180).any(axis=1) | (np.abs(b[:, [1, 3]]) > 90).any(axis=1))
    if present.any() and out[present].mean() > 0.5:
        ctx.report.add(
            "refuse",
            "crs-wrong",
            "coordinates are far beyond ±180/±90: projected numbers (metres?) labelled as degrees",
            "pass the CRS the numbers are really "
            "in, e.g. --crs EPSG:32643 (UTM 43N), EPSG:24378 or EPSG:7755",
        )
        return gdf
    gdf = ctx.refuse_or_drop(
        gdf, out, "out-of-range", "longitude beyond ±180 or latitude beyond ±90", "correct these coordinates"
    )
    return _check_swapped(gdf, ctx)


def _check_swapped(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    b = _bounds_box(gdf.geometry)
    b = b[~np.isnan(b).any(axis=1)]
    if not len(b):
        return gdf
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    in_india = _inside(cx, cy).mean()
    swapped = _inside(cy, cx).mean()
    if ctx.swap_xy:
        geoms = shapely.transform(gdf.geometry.values, lambda c: c[:, ::-1])
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
        ctx.report.add(
            "repair",
            "swap-xy",
            f"x and y swapped on all {len(gdf)} features as asked",
            "none: you chose it with --swap-xy",
        )
        for label in ctx.labels:
            ctx.report.repair(
                feature=label,
                check="swap-xy",
                reason="axes swapped in the source",
                method="x and y exchanged (--swap-xy)",
            )
    elif swapped > 0.5 and in_india < 0.5:
        ctx.report.add(
            "refuse",
            "swapped-axes",
            "coordinates look like (latitude, longitude): they fall in India only with x and y exchanged",
            "pass --swap-xy (swap_xy=True)",
        )
    return gdf


def _inside(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon >= INDIA_LON[0]) & (lon <= INDIA_LON[1]) & (lat >= INDIA_LAT[0]) & (lat <= INDIA_LAT[1])


def outside_india(gdf: gpd.GeoDataFrame) -> pd.Series:
    """True for features whose centre lies far outside India (lon 60-100, lat 0-40), such as (0, 0);
    aligned on ``gdf``'s index (features without a geometry are False)."""
    lonlat = gdf.geometry.to_crs("EPSG:4326") if gdf.crs is not None else gdf.geometry
    b = _bounds_box(lonlat)
    present = ~np.isnan(b).any(axis=1)
    far = present & ~_inside((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)
    return pd.Series(far, index=gdf.index, name="outside_india")


def check_location(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    """Warn about features far from India and about features crossing the antimeridian."""
    if gdf.crs is None or ctx.report.refused or gdf.empty:
        return gdf
    lonlat = (
        gdf.geometry.to_crs("EPSG:4326") if not CRS.from_user_input(gdf.crs).is_geographic else gdf.geometry
    )
    b = _bounds_box(lonlat)
    present = ~np.isnan(b).any(axis=1)
    far = present & ~_inside((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)
    if far.any():
        scope = "the whole layer lies" if far[present].all() else f"{int(far.sum())} feature(s) lie"
        ctx.report.add(
            "warn",
            "far-from-india",
            f"{scope} far outside India (lon {INDIA_LON}, lat {INDIA_LAT})",
            "check the CRS (--crs) and axis order (--swap-xy), or remove features that do not belong",
            features=ctx.ids(far),
        )
    wide = present & ((b[:, 2] - b[:, 0]) > 180)
    if wide.any():
        ctx.report.add(
            "warn",
            "antimeridian",
            "feature(s) span more than 180 degrees of longitude: "
            "they cross the antimeridian or wrap the wrong way",
            "split them at ±180",
            features=ctx.ids(wide),
        )
    return gdf
