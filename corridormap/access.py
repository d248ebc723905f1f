"""Access: how far each feature is from the nearest station, line, port or zone.

The nearest location on each target is found in the belt's metric CRS (EPSG:7755, the exact search
of :func:`nearest_table`, the same answers as ``geopandas.sjoin_nearest``); the distance reported is
measured from the query point to that location on the WGS 84 ellipsoid (``pyproj.Geod``), in km,
whatever CRS the input came in, and the k nearest are ranked by that reported distance (ties to the
target first in its layer's row order). See :func:`geodesic_nearest`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Mapping
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

from .crs import BELT_CRS, geodesic_km, require_crs, scale_bounds, to_metric
from .errors import LayerValidationError
from .nearest import Grid, nearest_columns, nearest_table, scale_factor, true_km

__all__ = [
    "access_card",
    "default_targets",
    "geodesic_nearest",
    "nearest_km",
    "query_points",
    "nearest_table",
    "true_km",
    "scale_factor",
]

log = logging.getLogger(__name__)

Target: TypeAlias = gpd.GeoDataFrame | tuple[gpd.GeoDataFrame, str]


# --- the access card -------------------------------------------------------------------------------
def query_points(gdf: gpd.GeoDataFrame, what: str = "nodes") -> NDArray[np.float64]:
    """Metric (EPSG:7755) coordinates of each feature: the point itself, else a representative point."""
    crs = require_crs(gdf, what)
    if len(gdf) and (shapely.get_type_id(gdf.geometry.values) == 0).all():  # points: move coordinates only
        xy = shapely.get_coordinates(gdf.geometry.values)
        if not crs.equals(BELT_CRS) and len(xy):
            xy = np.column_stack(_to_belt(crs.to_wkt()).transform(xy[:, 0], xy[:, 1]))
    else:
        metric = to_metric(gdf, what).geometry
        xy = shapely.get_coordinates(metric.representative_point().values if len(metric) else metric.values)
    if len(xy) != len(gdf):
        raise LayerValidationError(
            f"{what}: {len(gdf) - len(xy)} feature(s) have empty or missing geometry. Fix: drop them "
            f"(gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]) or give them a location"
        )
    return xy


@functools.cache
def _to_belt(crs_wkt: str) -> Transformer:
    return Transformer.from_crs(crs_wkt, BELT_CRS, always_xy=True)


def _unpack(prefix: str, target: Target) -> tuple[gpd.GeoDataFrame, str | None]:
    layer, label = target if isinstance(target, tuple) else (target, "name")
    if not isinstance(layer, gpd.GeoDataFrame):
        raise TypeError(f"target {prefix!r} must be a GeoDataFrame or (GeoDataFrame, label column)")
    require_crs(layer, f"target layer {prefix!r}")
    return layer, (label if label in layer.columns else None)


def nearest_km(
    nodes_xy: NDArray[np.float64],
    layer: gpd.GeoDataFrame,
    *,
    k: int = 1,
    max_distance_km: float | None = None,
    grid: Grid | None = None,
) -> pd.DataFrame:
    """:func:`nearest_table` of metric points against a layer in any CRS, with true ``km`` added."""
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
    g = _geod_km(q.lonlat[first["point"]], near)
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
    km = np.r_[g, _geod_km(q.lonlat[p[len(g) :]], ends)]
    if max_distance_km is not None:
        keep = km <= max_distance_km
        p, t, near, km = p[keep], t[keep], near[keep], km[keep]
    return _ranked(xy, p, t, near, km, k)


def _geod_km(lonlat: NDArray[np.float64], b_xy: NDArray[np.float64]) -> NDArray[np.float64]:
    """Geodesic km from lon/lat points to EPSG:7755 points, to the millimetre (ranks do not hang on
    float noise)."""
    return np.round(geodesic_km(b_xy, b_xy, a_lonlat=lonlat), 6)


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
) -> dict[str, NDArray[Any]]:
    """Rank (point, feature) pairs by km, ties to the lower feature; keep ranks 1..k."""
    if len(p) and not (k == 1 and (np.diff(p) > 0).all()):  # else: one pair per point, in order
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


def access_card(
    nodes: gpd.GeoDataFrame,
    targets: Mapping[str, Target],
    *,
    k: int = 1,
    max_distance_km: float | None = None,
    network: Any = None,
    network_targets: Collection[str] | None = None,
    network_name: str | None = None,
    max_ratio: float = 3.0,
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
        A road or rail graph in osmnx's shape (see :mod:`corridormap.network`); adds
        ``{prefix}_network_km``, the distance along it (edge lengths on the ellipsoid) from the
        node's nearest access point to the nearest target (point target layers only), empty where
        there is none, with ``{prefix}_network_note`` saying why ("not connected in this network";
        "likely gap in the network" when it is more than ``max_ratio`` times the straight-line km)
        and ``{prefix}_network`` naming the network.
    network_targets : collection of str, optional
        The prefixes that get a network distance (default: every point target layer).
    network_name : str, optional
        What ``{prefix}_network`` says (default: the graph's ``name`` attribute, else "the given graph").
    max_ratio : float
        The plausibility guard of the network figures (see ``network``).

    Returns
    -------
    GeoDataFrame
        A copy of ``nodes`` (same index, CRS and columns) with ``{prefix}_name`` (categorical, when
        the target has a label column) and ``{prefix}_km`` columns per target. Distances are true km
        (see the module notes); ties go to the target first in its layer's order.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> nodes = gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.Point(75.0, 24.0)], crs="EPSG:4326")
    >>> ports = gpd.GeoDataFrame({"name": ["P"]}, geometry=[shapely.Point(75.0, 25.0)], crs="EPSG:4326")
    >>> card = access_card(nodes, {"port": ports})
    >>> print(card.loc[0, "port_name"], round(card.loc[0, "port_km"], 1))
    P 110.8
    """
    xy = query_points(nodes)
    grid = Grid.over(xy)
    queries = Queries(xy)
    new: dict[str, Any] = {}
    for prefix, target in targets.items():
        layer, label = _unpack(prefix, target)
        table = _nearest_km(xy, layer, k=k, max_distance_km=max_distance_km, grid=grid, queries=queries)
        new.update(_rank_columns(prefix, table, len(xy), k, None if label is None else layer[label]))
        wanted = network_targets is None or prefix in network_targets
        if network is not None and wanted and len(layer) and (layer.geom_type == "Point").all():
            from .network import network_columns

            name = network_name or str(network.graph.get("name", "the given graph"))
            new.update(network_columns(network, xy, layer, new[f"{prefix}_km"], prefix=prefix, network=name,
                                       max_ratio=max_ratio, max_distance_km=max_distance_km))
    columns = pd.DataFrame(new, index=nodes.index)
    clash = [c for c in new if c in nodes.columns]  # a second run replaces its own columns
    merged = pd.concat([nodes.drop(columns=clash) if clash else nodes, columns], axis=1)
    return gpd.GeoDataFrame(merged, geometry=nodes.geometry.name, crs=nodes.crs)


def _rank_columns(
    prefix: str, table: dict[str, NDArray[Any]], n: int, k: int, labels: pd.Series | None
) -> dict[str, Any]:
    """One node per row: ``{prefix}_name[_i]`` (categorical, when ``labels`` name the target
    features) and ``{prefix}_km[_i]`` (NaN / missing where nothing is in reach) for ranks 1-k."""
    out: dict[str, Any] = {}
    codes, names = pd.factorize(labels) if labels is not None else (None, None)
    dtype = None if names is None else pd.CategoricalDtype(names)
    for rank in range(1, k + 1):
        suffix = "" if rank == 1 else f"_{rank}"
        hit = table["rank"] == rank
        point, found = table["point"][hit], table["target"][hit]
        if codes is not None:
            code = np.full(n, -1, dtype=codes.dtype)
            code[point] = codes[found]  # factorize codes: valid by construction
            out[f"{prefix}_name{suffix}"] = pd.Categorical.from_codes(code, dtype=dtype, validate=False)
        km = np.full(n, np.nan)
        km[point] = table["km"][hit]
        out[f"{prefix}_km{suffix}"] = km
    return out


def _target_table() -> dict[str, dict[str, Any]]:
    from ._rules import read_rules_toml

    return dict(read_rules_toml("access.toml")["targets"])


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
