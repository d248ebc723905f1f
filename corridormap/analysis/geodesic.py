"""Geodesic nearest features: found in the belt's metric CRS, measured on the WGS 84 ellipsoid.

:func:`geodesic_nearest` is what every distance a user reads goes through (the access card, gap
rules, catchment green power): the exact planar search of
:func:`corridormap.analysis.nearest.nearest_table` finds the candidates and the nearest location on
each, ``pyproj.Geod`` measures the distance from the query point to that location, and the k nearest
are ranked by the measured (reported) distance.
``nearest_table`` itself stays the planar engine (the same answers as ``geopandas.sjoin_nearest``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

from ..crs import BELT_CRS, geodesic_km, scale_bounds, to_metric
from .nearest import Grid, nearest_columns

__all__ = ["Queries", "geodesic_nearest", "nearest_km"]


def nearest_km(
    nodes_xy: NDArray[np.float64],
    layer: gpd.GeoDataFrame,
    *,
    k: int = 1,
    max_distance_km: float | None = None,
    grid: Grid | None = None,
) -> pd.DataFrame:
    """The k nearest features of a layer (any CRS) to metric points, with geodesic ``km``
    (:func:`geodesic_nearest`)."""
    return pd.DataFrame(_nearest_km(nodes_xy, layer, k=k, max_distance_km=max_distance_km, grid=grid))


def _nearest_km(
    xy: NDArray[np.float64],
    layer: gpd.GeoDataFrame,
    *,
    k: int,
    max_distance_km: float | None,
    grid: Grid | None,
    queries: Queries | None = None,
) -> dict[str, NDArray[Any]]:
    """The k nearest features by geodesic km: candidates found in the belt CRS, distances measured
    on the ellipsoid (:func:`geodesic_nearest`)."""
    geoms = to_metric(layer, "target layer").geometry.values if len(layer) else np.empty(0, dtype=object)
    return geodesic_nearest(xy, geoms, k=k, max_distance_km=max_distance_km, grid=grid, queries=queries)


class Queries:
    """Query points (EPSG:7755) with what every target layer reuses: longitude/latitude and shapely
    points, each computed once."""

    def __init__(self, xy: NDArray[np.float64]) -> None:
        self.xy = np.asarray(xy, dtype=float).reshape(-1, 2)

    @functools.cached_property
    def lonlat(self) -> NDArray[np.float64]:
        return np.column_stack(_from_belt().transform(self.xy[:, 0], self.xy[:, 1]))

    @functools.cached_property
    def points(self) -> NDArray[Any]:
        return shapely.points(self.xy)


@functools.cache
def _from_belt() -> Transformer:
    return Transformer.from_crs(BELT_CRS, "EPSG:4326", always_xy=True)


def geodesic_nearest(
    xy: NDArray[np.float64],
    geoms: NDArray[Any],
    *,
    k: int = 1,
    max_distance_km: float | None = None,
    grid: Grid | None = None,
    queries: Queries | None = None,
) -> dict[str, NDArray[Any]]:
    """Each point's k nearest features ranked by the geodesic km that is reported.

    Both in EPSG:7755. The nearest location on each candidate feature is found in the plane (as
    :func:`nearest_table` does); the distance from the point to it is measured on the WGS 84
    ellipsoid (:func:`corridormap.crs.geodesic_km`). Planar and geodesic distances disagree by
    the projection's scale factor, between ``low`` and ``high`` over the points and features
    (:func:`corridormap.crs.scale_bounds`): ``planar / high <= geodesic <= planar / low``. So
    when the planar k nearest (exact, :func:`nearest_table`) lie within ``G`` geodesic km, every
    feature that can be among the geodesic k nearest lies within ``high * G`` planar metres; all
    of those are measured and ranked (distances to the millimetre; ties to the lower feature
    position). Over the DMIC belt ``high / low`` is about 1.01, so the extra candidates are those
    in a ring 1% wider: for point targets the planar (k+1)-th nearest (a KD-tree) shows which
    points have any, for other targets an STRtree search within that radius finds them.

    Returns columns ``point``, ``rank``, ``target``, ``distance_m`` (planar), ``x``, ``y`` (the
    nearest location) and ``km`` (geodesic), sorted by point then rank.
    """
    q = queries if queries is not None else Queries(xy)
    xy = q.xy
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) if len(geoms) else np.zeros(0, bool)
    if len(xy) == 0 or not valid.any():
        return {**nearest_columns(xy[:0], geoms[:0]), "km": np.empty(0)}
    low, high = scale_bounds(np.vstack([xy, shapely.get_coordinates(shapely.envelope(geoms[valid]))]))
    bound = None if max_distance_km is None else max_distance_km * 1000.0 * high
    all_points = bool((shapely.get_type_id(geoms[valid]) == 0).all())
    with np.errstate(invalid="ignore"):  # nearest's KD-tree path subtracts inf - inf beyond reach (harmless)
        planar = nearest_columns(xy, geoms, k=k + all_points, max_distance_m=bound, grid=grid)
    first = {c: v[planar["rank"] <= k] for c, v in planar.items()}
    near = np.column_stack([first["x"], first["y"]])
    # point targets: the nearest location is the target itself, so transform each target once
    target_lonlat = _lonlat_of_points(geoms, valid) if all_points else None
    first_lonlat = None if target_lonlat is None else target_lonlat[first["target"]]
    g = _geod_km(q.lonlat[first["point"]], near, first_lonlat)
    reach_km = np.full(len(xy), np.inf if max_distance_km is None else float(max_distance_km))
    full = np.bincount(first["point"], minlength=len(xy)) >= k
    worst = np.zeros(len(xy))
    np.maximum.at(worst, first["point"], g)
    reach_km[full] = np.minimum(reach_km[full], worst[full])
    radius = reach_km * 1000.0 * high * (1 + 1e-9) + 1e-6
    need = np.isfinite(radius)
    if all_points:  # only points whose (k+1)-th planar nearest lies within the radius have more
        nxt = planar["rank"] == k + 1
        beyond = np.full(len(xy), np.inf)
        beyond[planar["point"][nxt]] = planar["distance_m"][nxt]
        need &= beyond <= radius
    p, t = _extra_pairs(q, geoms, valid, np.flatnonzero(need), radius, first)
    ends = shapely.get_coordinates(shapely.shortest_line(q.points[p], geoms[t])).reshape(-1, 2, 2)[:, 1]
    p, t = np.r_[first["point"], p].astype(np.intp), np.r_[first["target"], t].astype(np.intp)
    near = np.r_[near, ends]
    extra_lonlat = None if target_lonlat is None else target_lonlat[t[len(g) :]]
    km = np.r_[g, _geod_km(q.lonlat[p[len(g) :]], ends, extra_lonlat)]
    ordered = len(g) if k == 1 else 0  # k = 1: the planar nearest pairs come first, one per point in order
    if max_distance_km is not None:
        keep = km <= max_distance_km
        ordered = int(keep[:ordered].sum())
        p, t, near, km = p[keep], t[keep], near[keep], km[keep]
    return _ranked(xy, p, t, near, km, k, ordered=ordered)


def _geod_km(
    lonlat: NDArray[np.float64], b_xy: NDArray[np.float64], b_lonlat: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Geodesic km from lon/lat points to EPSG:7755 points (``b_lonlat``: theirs, when known), to
    the millimetre (ranks do not hang on float noise)."""
    return np.round(geodesic_km(b_xy, b_xy, a_lonlat=lonlat, b_lonlat=b_lonlat), 6)


def _lonlat_of_points(geoms: NDArray[Any], valid: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Longitude/latitude of each valid point feature (NaN for the others), one transform."""
    out = np.full((len(geoms), 2), np.nan)
    c = shapely.get_coordinates(geoms[valid])
    out[valid] = np.column_stack(_from_belt().transform(c[:, 0], c[:, 1]))
    return out


def _extra_pairs(
    q: Queries,
    geoms: NDArray[Any],
    valid: NDArray[np.bool_],
    need: NDArray[np.intp],
    radius: NDArray[np.float64],
    first: Mapping[str, NDArray[Any]],
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(point, feature) pairs within each needy point's radius that the planar search did not
    measure; a point with an infinite radius (fewer than k features in all) takes every feature."""
    finite = need[np.isfinite(radius[need])]
    p, t = shapely.STRtree(geoms).query(q.points[finite], predicate="dwithin", distance=radius[finite])
    p = finite[p]
    rest = np.flatnonzero(~np.isfinite(radius))
    every = np.flatnonzero(valid)
    p = np.r_[p, np.repeat(rest, len(every))].astype(np.intp)
    t = np.r_[t, np.tile(every, len(rest))].astype(np.intp)
    k = int(first["rank"].max(initial=1))
    measured = np.full((len(q.xy), k), -1, dtype=np.intp)  # each point's features measured already
    measured[first["point"], first["rank"] - 1] = first["target"]
    seen = (measured[p] == t[:, None]).any(axis=1)
    return p[~seen], t[~seen]


def _ranked(
    xy: NDArray[np.float64],
    p: NDArray[np.intp],
    t: NDArray[np.intp],
    near: NDArray[np.float64],
    km: NDArray[np.float64],
    k: int,
    *,
    ordered: int = 0,
) -> dict[str, NDArray[Any]]:
    """Rank (point, feature) pairs by km, ties to the lower feature; keep ranks 1..k.

    ``ordered`` (k = 1 only): the first that many pairs are at most one per point, in point order;
    then only the points with further pairs are sorted."""
    if k == 1 and ordered:
        best = _best_pair(p, t, km, ordered, len(xy))
        p, t, near, km = p[best], t[best], near[best], km[best]
    elif len(p) and not (k == 1 and (np.diff(p) > 0).all()):  # else: one pair per point, in order
        order = np.lexsort((t, km, p))
        p, t, near, km = p[order], t[order], near[order], km[order]
    start = np.r_[0, np.flatnonzero(p[1:] != p[:-1]) + 1] if len(p) else np.zeros(0, np.intp)
    rank = np.arange(len(p)) - np.repeat(start, np.diff(np.r_[start, len(p)])) + 1
    top = rank <= k
    return {
        "point": p[top],
        "rank": rank[top],
        "target": t[top],
        "distance_m": np.hypot(*(near[top] - xy[p[top]]).T),
        "x": near[top, 0],
        "y": near[top, 1],
        "km": km[top],
    }


def _best_pair(
    p: NDArray[np.intp], t: NDArray[np.intp], km: NDArray[np.float64], ordered: int, n: int
) -> NDArray[np.intp]:
    """Index of each point's pair with the least km (ties to the lower feature), in point order,
    when the first ``ordered`` pairs are at most one per point in point order: only the points
    with further pairs are sorted."""
    best = np.full(n, -1, dtype=np.intp)
    best[p[:ordered]] = np.arange(ordered)
    if len(p) > ordered:
        extra = np.zeros(n, dtype=bool)
        extra[p[ordered:]] = True
        rows = np.r_[np.flatnonzero(extra[p[:ordered]]), np.arange(ordered, len(p))]
        rows = rows[np.lexsort((t[rows], km[rows], p[rows]))]
        head = np.r_[True, p[rows][1:] != p[rows][:-1]]
        best[p[rows[head]]] = rows[head]
    return best[best >= 0]
