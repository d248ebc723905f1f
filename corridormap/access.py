"""Access: how far each feature is from the nearest station, line, port or zone.

Distances are measured in the belt's metric CRS (EPSG:7755) and reported in **true kilometres**:
EPSG:7755 is conformal with a scale factor between about 0.980 and 0.986 over the corridor, so a
planar distance is divided by the scale factor at its midpoint (:func:`true_km`). That keeps every
figure within 0.1% of the geodesic distance (``pyproj.Geod``) at belt scale, whatever CRS the input
came in.

The nearest-feature search (:func:`nearest_table`) is exact (the same answers as
``geopandas.sjoin_nearest``) and vectorised: a coarse grid over the query points gives each cell the
few target segments that can possibly be nearest to any point in it, and numpy measures exactly
those. Ties go to the target that comes first in its layer's row order.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import Proj, Transformer

from .crs import BELT_CRS, require_crs, to_metric
from .errors import LayerValidationError

__all__ = ["access_card", "default_targets", "nearest_table", "true_km", "scale_factor"]

log = logging.getLogger(__name__)

Target = gpd.GeoDataFrame | tuple[gpd.GeoDataFrame, str]
_NEAREST_COLUMNS = ["point", "rank", "target", "distance_m", "x", "y"]


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=np.intp if i < 3 else float) for i, c in enumerate(_NEAREST_COLUMNS)})


# --- metric to true distance ----------------------------------------------------------------------
@functools.cache
def _scale_by_radius() -> tuple[tuple[float, float], NDArray[np.float64], NDArray[np.float64]]:
    """EPSG:7755 is a Lambert conformal conic: the scale factor depends only on the distance ``rho``
    from the cone's apex. Locate the apex (from the sagitta of the 24°N parallel) and tabulate."""
    to_xy = Transformer.from_crs("EPSG:4326", BELT_CRS, always_xy=True)
    (x0, x1), (y0, y1) = to_xy.transform([80.0, 90.0], [24.0, 24.0])
    rho0 = ((x1 - x0) ** 2 + (y1 - y0) ** 2) / (2.0 * (y1 - y0))
    apex = (float(x0), float(y0 + rho0))
    lats = np.arange(60.0, -15.0001, -0.05)
    _, ys = to_xy.transform(np.full_like(lats, 80.0), lats)
    factors = Proj(BELT_CRS).get_factors(np.full_like(lats, 80.0), lats).meridional_scale
    return apex, apex[1] - np.asarray(ys), np.asarray(factors, dtype=float)


def scale_factor(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Point scale factor of EPSG:7755 at metric coordinates ``x, y`` (planar m per true m)."""
    (ax, ay), rho, factors = _scale_by_radius()
    return np.interp(np.hypot(np.asarray(x, dtype=float) - ax, ay - np.asarray(y, dtype=float)), rho, factors)


def true_km(
    distance_m: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Planar EPSG:7755 metres at midpoint ``x, y`` -> true (ellipsoidal) kilometres."""
    return np.asarray(distance_m, dtype=float) / scale_factor(x, y) / 1000.0


# --- exact nearest search --------------------------------------------------------------------------
def _segments(geoms: NDArray[Any]) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]]:
    """Every 2-vertex segment (points as zero-length segments) of ``geoms``, with its feature position."""
    parts, feature = shapely.get_parts(geoms, return_index=True)
    kinds = shapely.get_type_id(parts)
    polygonal = kinds == 3
    if polygonal.any():
        rings, ring_part = shapely.get_rings(parts[polygonal], return_index=True)
        ring_feature = feature[polygonal][ring_part]
        parts = np.concatenate([parts[~polygonal], rings])
        feature = np.concatenate([feature[~polygonal], ring_feature])
    coords, owner = shapely.get_coordinates(parts, return_index=True)
    if len(coords) == 0:
        empty = np.empty((0, 2))
        return empty, empty, np.empty(0, dtype=np.intp)
    is_point = (shapely.get_type_id(parts) == 0)[owner]
    joined = np.r_[owner[1:] == owner[:-1], False]
    keep = joined | is_point
    start = coords[keep]
    end = np.where(is_point[keep, None], start, np.roll(coords, -1, axis=0)[keep])
    return start, end, feature[owner[keep]].astype(np.intp)


def _project(
    px: NDArray[np.float64], py: NDArray[np.float64], a: NDArray[np.float64], b: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Nearest location on segments ``a-b`` to points ``px, py``: (distance, x, y)."""
    ab = b - a
    length2 = (ab * ab).sum(axis=1)
    t = ((px - a[:, 0]) * ab[:, 0] + (py - a[:, 1]) * ab[:, 1]) / np.where(length2 > 0, length2, 1.0)
    t = np.clip(np.where(length2 > 0, t, 0.0), 0.0, 1.0)
    qx = a[:, 0] + t * ab[:, 0]
    qy = a[:, 1] + t * ab[:, 1]
    return np.hypot(px - qx, py - qy), qx, qy


def _cell_candidates(
    xy: NDArray[np.float64], seg_tree: shapely.STRtree, feature_geoms: NDArray[Any], *, k: int,
    max_m: float,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Grid the points; per occupied cell, the segments that can be among any point's k nearest."""
    span = np.ptp(xy, axis=0).prod() if len(xy) > 1 else 0.0
    cell = float(np.clip(np.sqrt(span / max(len(xy) / 8.0, 1.0)), 200.0, 20_000.0))
    key = np.floor((xy - xy.min(axis=0)) / cell).astype(np.int64)
    cells, point_cell = np.unique(key[:, 0] * 1_000_003 + key[:, 1], return_inverse=True)
    centre = np.zeros((len(cells), 2))
    np.add.at(centre, point_cell, xy)  # any point of the cell lies within one diagonal of the mean
    centre /= np.bincount(point_cell, minlength=len(cells))[:, None]
    reach = np.zeros(len(cells))
    np.maximum.at(reach, point_cell, np.hypot(*(xy - centre[point_cell]).T))
    centres = shapely.points(centre)
    if k == 1:
        found, dist = seg_tree.query_nearest(centres, return_distance=True, all_matches=False)
        d_k = np.full(len(centres), np.inf)
        d_k[found[0]] = dist
    else:
        d_k = _kth_feature_distance(centres, feature_geoms, k)
    radius = np.minimum(d_k + reach, max_m) + reach
    radius = radius * (1 + 1e-9) + 1e-6
    cell_i, seg_i = seg_tree.query(centres, predicate="dwithin", distance=radius)
    return point_cell.astype(np.intp), cell_i.astype(np.intp), seg_i.astype(np.intp)


def _kth_feature_distance(centres: NDArray[Any], geoms: NDArray[Any], k: int) -> NDArray[np.float64]:
    """Distance from each centre to its k-th nearest feature (chunked distance matrix)."""
    out = np.empty(len(centres))
    rows = max(1, 2_000_000 // max(len(geoms), 1))
    for start in range(0, len(centres), rows):
        block = shapely.distance(centres[start : start + rows, None], geoms[None, :])
        kk = min(k, block.shape[1]) - 1
        out[start : start + rows] = np.partition(block, kk, axis=1)[:, kk]
    return out


def nearest_table(
    points_xy: NDArray[np.float64], targets: NDArray[Any], *, k: int = 1, max_distance_m: float | None = None
) -> pd.DataFrame:
    """Exact k nearest target features of each point, all in one metric CRS.

    Parameters
    ----------
    points_xy : ndarray of shape (n, 2)
        Query coordinates (metres).
    targets : ndarray of shapely geometries
        Target features in the same CRS: points, lines or polygons (inside a polygon is 0 m).
    k : int
        How many distinct target features per point.
    max_distance_m : float, optional
        Ignore targets farther than this (planar metres).

    Returns
    -------
    DataFrame
        Long format, one row per (point, rank): ``point`` and ``target`` are positions, ``rank``
        starts at 1, ``distance_m`` is planar, ``x, y`` the nearest location on the target. Points
        with nothing in reach have no rows; ties go to the lower target position.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    xy = np.asarray(points_xy, dtype=float).reshape(-1, 2)
    raw = np.asarray(targets, dtype=object).ravel()
    valid = np.flatnonzero(~(shapely.is_missing(raw) | shapely.is_empty(raw)))
    geoms = raw[valid]
    max_m = np.inf if max_distance_m is None else float(max_distance_m)
    if len(xy) == 0 or len(geoms) == 0:
        table = _empty_table()
    elif (shapely.get_type_id(geoms) == 0).all():
        table = _nearest_points(xy, geoms, k=k, max_m=max_m)
    else:
        table = _nearest_segments(xy, geoms, k=k, max_m=max_m)
    table["target"] = valid[table["target"].to_numpy(dtype=np.intp)]
    return table


def _nearest_points(xy: NDArray[np.float64], geoms: NDArray[Any], *, k: int, max_m: float) -> pd.DataFrame:
    """Point targets: a KD-tree, with ties settled by target position (ambiguous rows re-run exactly)."""
    from scipy.spatial import cKDTree

    coords = shapely.get_coordinates(geoms)
    kk = min(len(coords), k + 1)
    d, i = cKDTree(coords).query(xy, k=kk, distance_upper_bound=max_m * (1 + 1e-12))
    d, i = d.reshape(len(xy), kk), i.reshape(len(xy), kk)
    order = np.lexsort((i, d), axis=1)
    d, i = np.take_along_axis(d, order, 1), np.take_along_axis(i, order, 1)
    take = min(k, kk)
    ambiguous = np.zeros(len(xy), dtype=bool)
    if kk > k:  # a tie across the k-th place may hide a lower-positioned target: redo those exactly
        ambiguous = np.isfinite(d[:, k]) & (d[:, k - 1] == d[:, k])
    rows, ranks = np.nonzero(np.isfinite(d[:, :take]) & ~ambiguous[:, None])
    table = pd.DataFrame(
        {
            "point": rows,
            "rank": ranks + 1,
            "target": i[rows, ranks],
            "distance_m": d[rows, ranks],
            "x": coords[i[rows, ranks], 0],
            "y": coords[i[rows, ranks], 1],
        }
    )
    if ambiguous.any():
        redo = _nearest_segments(xy[ambiguous], geoms, k=k, max_m=max_m)
        redo["point"] = np.flatnonzero(ambiguous)[redo["point"].to_numpy()]
        table = pd.concat([table, redo]).sort_values(["point", "rank"], kind="stable", ignore_index=True)
    return table


def _nearest_segments(xy: NDArray[np.float64], geoms: NDArray[Any], *, k: int, max_m: float) -> pd.DataFrame:
    """Any targets: exact point-to-segment distances for the grid cells' candidate segments."""
    a, b, feature = _segments(geoms)
    tree = shapely.STRtree(shapely.linestrings(np.stack([a, b], axis=1)))
    point_cell, cell_i, seg_i = _cell_candidates(xy, tree, geoms, k=k, max_m=max_m)
    pp, ps = _expand(point_cell, cell_i, seg_i)
    d, qx, qy = _project(xy[pp, 0], xy[pp, 1], a[ps], b[ps])
    pf = feature[ps]
    if np.isin(shapely.get_type_id(geoms), (3, 6)).any():
        d, qx, qy, pp, pf = _add_inside(xy, geoms, d, qx, qy, pp, pf)
    keep = d <= max_m
    if not keep.all():
        d, qx, qy, pp, pf = d[keep], qx[keep], qy[keep], pp[keep], pf[keep]
    if k == 1:
        return _first(pp, pf, d, qx, qy)
    return _rank(pp, pf, d, qx, qy, k)


def _first(pp: Any, pf: Any, d: Any, qx: Any, qy: Any) -> pd.DataFrame:
    """k = 1 over pairs grouped by point: the smallest distance, ties to the lowest target position."""
    if len(pp) == 0:
        return _empty_table()
    starts = np.flatnonzero(np.r_[True, pp[1:] != pp[:-1]])
    group = np.cumsum(np.r_[True, pp[1:] != pp[:-1]]) - 1
    best = np.minimum.reduceat(d, starts)
    lowest = np.where(d == best[group], pf, np.iinfo(np.intp).max)
    chosen = np.flatnonzero(lowest == np.minimum.reduceat(lowest, starts)[group])
    chosen = chosen[np.r_[True, pp[chosen][1:] != pp[chosen][:-1]]]
    return pd.DataFrame(
        {"point": pp[chosen], "rank": 1, "target": pf[chosen], "distance_m": d[chosen], "x": qx[chosen],
         "y": qy[chosen]}
    )


def _expand(
    point_cell: NDArray[np.intp], cell_i: NDArray[np.intp], seg_i: NDArray[np.intp]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(cell, segment) candidate pairs -> (point, segment) pairs."""
    order = np.argsort(cell_i, kind="stable")
    seg_sorted = seg_i[order]
    counts = np.bincount(cell_i, minlength=point_cell.max() + 1)
    offsets = np.r_[0, np.cumsum(counts)[:-1]]
    per_point = counts[point_cell]
    pair_point = np.repeat(np.arange(len(point_cell)), per_point)
    within = np.arange(len(pair_point)) - np.repeat(np.cumsum(per_point) - per_point, per_point)
    return pair_point, seg_sorted[offsets[point_cell][pair_point] + within]


def _add_inside(xy: NDArray[np.float64], geoms: NDArray[Any], d: Any, qx: Any, qy: Any, pp: Any, pf: Any) -> Any:
    """Points inside a polygonal target are 0 m from it."""
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    tree = shapely.STRtree(geoms[polygonal])
    inside_p, inside_t = tree.query(shapely.points(xy), predicate="intersects")
    inside_f = np.flatnonzero(polygonal)[inside_t]
    order = np.argsort(np.r_[pp, inside_p], kind="stable")  # keep pairs grouped by point
    return (
        np.r_[d, np.zeros(len(inside_p))][order],
        np.r_[qx, xy[inside_p, 0]][order],
        np.r_[qy, xy[inside_p, 1]][order],
        np.r_[pp, inside_p][order],
        np.r_[pf, inside_f][order],
    )


def _rank(pp: Any, pf: Any, d: Any, qx: Any, qy: Any, k: int) -> pd.DataFrame:
    """Keep each point's k nearest distinct features, ties to the lower feature position."""
    order = np.lexsort((d, pf, pp))  # best segment per (point, feature)
    first = np.r_[True, (pp[order][1:] != pp[order][:-1]) | (pf[order][1:] != pf[order][:-1])]
    best = order[first]
    order = best[np.lexsort((pf[best], d[best], pp[best]))]
    p_sorted = pp[order]
    starts = np.r_[True, p_sorted[1:] != p_sorted[:-1]]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
    rank = np.arange(len(order)) - group_start + 1
    take = order[rank <= k]
    return pd.DataFrame(
        {
            "point": pp[take],
            "rank": rank[rank <= k],
            "target": pf[take],
            "distance_m": d[take],
            "x": qx[take],
            "y": qy[take],
        }
    )


# --- the access card -------------------------------------------------------------------------------
def query_points(gdf: gpd.GeoDataFrame, what: str = "nodes") -> NDArray[np.float64]:
    """Metric (EPSG:7755) coordinates of each feature: the point itself, else a representative point."""
    metric = to_metric(gdf, what).geometry
    if len(metric) and not (metric.geom_type == "Point").all():
        metric = metric.representative_point()
    xy = shapely.get_coordinates(metric.values)
    if len(xy) != len(gdf):
        raise LayerValidationError(
            f"{what}: {len(gdf) - len(xy)} feature(s) have empty or missing geometry. Fix: drop them "
            f"(gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]) or give them a location"
        )
    return xy


def _unpack(prefix: str, target: Target) -> tuple[gpd.GeoDataFrame, str | None]:
    layer, label = target if isinstance(target, tuple) else (target, "name")
    if not isinstance(layer, gpd.GeoDataFrame):
        raise TypeError(f"target {prefix!r} must be a GeoDataFrame or (GeoDataFrame, label column)")
    require_crs(layer, f"target layer {prefix!r}")
    return layer, (label if label in layer.columns else None)


def nearest_km(
    nodes_xy: NDArray[np.float64], layer: gpd.GeoDataFrame, *, k: int = 1, max_distance_km: float | None = None
) -> pd.DataFrame:
    """:func:`nearest_table` of metric points against a layer in any CRS, with true ``km`` added."""
    geoms = to_metric(layer, "target layer").geometry.values if len(layer) else np.empty(0, dtype=object)
    # planar <= true * 1.03 anywhere near India, so this bound never drops a target within reach
    bound = None if max_distance_km is None else max_distance_km * 1000.0 * 1.03
    table = nearest_table(nodes_xy, geoms, k=k, max_distance_m=bound)
    px, py = nodes_xy[table["point"].to_numpy()].T if len(table) else (np.empty(0), np.empty(0))
    table["km"] = true_km(table["distance_m"].to_numpy(), (px + table["x"]) / 2, (py + table["y"]) / 2)
    if max_distance_km is not None:
        table = table[table["km"] <= max_distance_km]
    return table.reset_index(drop=True)


def access_card(
    nodes: gpd.GeoDataFrame,
    targets: Mapping[str, Target],
    *,
    k: int = 1,
    max_distance_km: float | None = None,
    network: Any = None,
) -> gpd.GeoDataFrame:
    """Each node's nearest feature of every target layer, with its name and distance in km.

    Parameters
    ----------
    nodes : GeoDataFrame
        The features to describe (points; other geometries use a representative point), any CRS.
    targets : mapping of str to GeoDataFrame or (GeoDataFrame, str)
        Column prefix -> target layer (optionally with the column that names its features, default
        ``name``). :func:`default_targets` builds this from the shipped layers.
    k : int
        How many nearest features per target. Rank 1 is in ``{prefix}_name`` / ``{prefix}_km``;
        rank ``i > 1`` in ``{prefix}_name_{i}`` / ``{prefix}_km_{i}``.
    max_distance_km : float, optional
        Targets farther than this are ignored; a node with nothing in reach gets NaN / None.
    network : networkx graph, optional
        A graph in osmnx's shape (see :mod:`corridormap.network`); adds ``{prefix}_network_km``,
        the distance along it from the node's nearest access point to the nearest target.

    Returns
    -------
    GeoDataFrame
        A copy of ``nodes`` (same index, CRS and columns) with ``{prefix}_name`` (when the target has
        a label column) and ``{prefix}_km`` columns per target. Distances are true km (see the module
        notes); ties go to the target first in its layer's order.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> nodes = gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.Point(75.0, 24.0)], crs="EPSG:4326")
    >>> ports = gpd.GeoDataFrame({"name": ["P"]}, geometry=[shapely.Point(75.0, 25.0)], crs="EPSG:4326")
    >>> card = access_card(nodes, {"port": ports})
    >>> print(card.loc[0, "port_name"], round(card.loc[0, "port_km"], 1))
    P 110.8
    """
    out = nodes.copy()
    xy = query_points(nodes)
    for prefix, target in targets.items():
        layer, label = _unpack(prefix, target)
        table = nearest_km(xy, layer, k=k, max_distance_km=max_distance_km)
        for rank in range(1, k + 1):
            suffix = "" if rank == 1 else f"_{rank}"
            hits = table[table["rank"] == rank]
            km = np.full(len(out), np.nan)
            km[hits["point"].to_numpy()] = hits["km"].to_numpy()
            if label is not None:
                names = np.full(len(out), None, dtype=object)
                names[hits["point"].to_numpy()] = layer[label].to_numpy()[hits["target"].to_numpy()]
                out[f"{prefix}_name{suffix}"] = names
            out[f"{prefix}_km{suffix}"] = km
        if network is not None:
            from .network import network_km

            out[f"{prefix}_network_km"] = network_km(network, xy, layer, max_distance_km=max_distance_km)
    return out


@functools.cache
def _target_table() -> dict[str, dict[str, str]]:
    import tomllib

    from . import settings

    with open(settings.layers_dir / "rules" / "access.toml", "rb") as f:
        return dict(tomllib.load(f)["targets"])


def default_targets(layers: Mapping[str, gpd.GeoDataFrame]) -> dict[str, Target]:
    """The access card's targets from the shipped layers (``layers/rules/access.toml``).

    Layers missing from ``layers`` are left out; a ``where`` entry keeps only matching rows.
    """
    targets: dict[str, Target] = {}
    for prefix, spec in _target_table().items():
        layer = layers.get(spec["layer"])
        if layer is None:
            continue
        for column, allowed in dict(spec.get("where", {})).items():
            layer = layer[layer[column].isin(list(allowed))]
        targets[prefix] = (layer, spec.get("label", "name"))
    return targets
