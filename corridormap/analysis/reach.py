"""What lies within reach: catchment rings with counts and sums, and green-power pairing.

Radii are true kilometres: each ring is buffered in EPSG:7755 by the radius times the projection's
scale factor at the feature (see :func:`corridormap.crs.true_km`), so a 50 km ring is 50 km on
the ground wherever it sits in the belt.

The module is named ``reach`` so that ``corridormap.catchments`` stays the function: a module of
the same name would replace it on the package once imported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..crs import BELT_CRS, require_crs, scale_factor, to_metric, true_km
from ..errors import LayerValidationError
from .geodesic import nearest_km
from .nearest import query_points
from .rules import read_rules_toml

__all__ = ["catchments", "catchment_table", "green_power", "default_contents"]

Content: TypeAlias = gpd.GeoDataFrame | tuple[gpd.GeoDataFrame, str | None]


def _rules() -> dict[str, Any]:
    return read_rules_toml("catchments.toml")


def default_radii_km() -> tuple[float, ...]:
    """The catchment radii of ``layers/rules/catchments.toml`` (10, 25, 50 km as shipped)."""
    return tuple(float(r) for r in _rules()["radii_km"])


def default_contents(layers: Mapping[str, gpd.GeoDataFrame]) -> dict[str, Content]:
    """What catchments count (and sum) among the shipped layers, per ``layers/rules/catchments.toml``."""
    out: dict[str, Content] = {}
    for name, spec in _rules()["contents"].items():
        if name in layers:
            out[name] = (layers[name], spec.get("sum"))
    return out


def _unpack(name: str, content: Content) -> tuple[gpd.GeoDataFrame, str | None]:
    layer, column = content if isinstance(content, tuple) else (content, None)
    require_crs(layer, f"catchment content {name!r}")
    if column is not None and column not in layer.columns:
        raise LayerValidationError(
            f"catchment content {name!r} has no column {column!r} to sum. Fix: name one of its numeric "
            f"columns, or None to count only"
        )
    return layer, column


def catchments(
    features: gpd.GeoDataFrame,
    contents: Mapping[str, Content],
    *,
    radii_km: Sequence[float] | None = None,
    label: str = "name",
) -> gpd.GeoDataFrame:
    """Rings (everything within r km) around each feature, with counts and sums of what falls inside.

    Parameters
    ----------
    features : GeoDataFrame
        The features to draw rings around (any geometry, any CRS).
    contents : mapping of str to GeoDataFrame or (GeoDataFrame, column)
        Layers to count inside each ring: ``{name}_count``; with a column, also its sum
        ``{name}_{column}_sum`` (missing values count as 0). A feature counts when it intersects the
        ring, so a feature in its own contents counts itself.
    radii_km : sequence of float, optional
        Ring radii in true km (default 10, 25, 50 from ``layers/rules/catchments.toml``).
    label : str
        Column of ``features`` copied to ``name`` in the output, when present.

    Returns
    -------
    GeoDataFrame
        One row per (feature, radius) in the features' CRS: ``feature`` (the feature's index label),
        ``name``, ``radius_km``, the counts and sums, and the ring polygon.
    """
    radii = default_radii_km() if radii_km is None else tuple(float(r) for r in radii_km)
    if any(r <= 0 for r in radii):
        raise ValueError(f"radii_km must all be positive, got {list(radii)}")
    crs = require_crs(features, "features")
    metric = to_metric(features, "features").geometry.values
    centre = shapely.get_coordinates(shapely.centroid(metric)) if len(metric) else np.empty((0, 2))
    k = scale_factor(centre[:, 0], centre[:, 1])
    rows = np.repeat(np.arange(len(features)), len(radii))
    radius = np.tile(np.asarray(radii), len(features))
    rings = shapely.buffer(metric[rows], radius * 1000.0 * k[rows], quad_segs=16)
    names = features[label].to_numpy()[rows] if label in features.columns else np.full(len(rows), None)
    out = pd.DataFrame({"feature": features.index.to_numpy()[rows], "name": names, "radius_km": radius})
    for name, content in contents.items():
        layer, column = _unpack(name, content)
        count, total = _inside(rings, layer, column)
        out[f"{name}_count"] = count
        if column is not None:
            out[f"{name}_{column}_sum"] = total
    return gpd.GeoDataFrame(out, geometry=rings, crs=BELT_CRS).to_crs(crs)


def _inside(rings: Any, layer: gpd.GeoDataFrame, column: str | None) -> tuple[Any, Any]:
    """Per ring: how many features of ``layer`` intersect it, and the sum of ``column`` over them."""
    count = np.zeros(len(rings), dtype=np.int64)
    total = np.zeros(len(rings))
    if len(layer) == 0 or len(rings) == 0:
        return count, total
    geoms = to_metric(layer, "catchment content").geometry.values
    ring_i, feature_i = shapely.STRtree(geoms).query(rings, predicate="intersects")
    np.add.at(count, ring_i, 1)
    if column is not None:
        values = pd.to_numeric(layer[column], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        np.add.at(total, ring_i, values[feature_i])
    return count, total


def catchment_table(rings: gpd.GeoDataFrame) -> pd.DataFrame:
    """The rings' attributes without geometry, for a CSV."""
    return pd.DataFrame(rings.drop(columns=rings.geometry.name))


def green_power(
    nodes: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    within_km: float = 100.0,
    capacity_column: str = "capacity_mw",
    label: str = "name",
) -> gpd.GeoDataFrame:
    """Per node: renewable capacity within ``within_km`` and the nearest zone with its capacity.

    Returns a copy of ``nodes`` with ``renewable_mw_within_{X}km`` (sum of ``capacity_column`` over
    zones within X true km; missing capacities count as 0), ``renewable_zones_within_{X}km`` (how
    many), ``nearest_renewable_zone_name``, ``nearest_renewable_zone_km`` and
    ``nearest_renewable_zone_mw``. No zones: 0 MW and NaN / None for the nearest.
    """
    if capacity_column not in zones.columns:
        raise LayerValidationError(
            f"renewable zones have no {capacity_column!r} column. Fix: pass capacity_column= naming "
            f"the column with each zone's capacity in MW"
        )
    require_crs(zones, "renewable zones")
    xy = query_points(nodes)
    capacity = pd.to_numeric(zones[capacity_column], errors="coerce").to_numpy(dtype=float)
    point_i, zone_i, km = _pairs_within(xy, zones, within_km)
    tag = f"{within_km:g}km"
    out = nodes.copy()
    mw = np.zeros(len(out))
    np.add.at(mw, point_i, np.nan_to_num(capacity[zone_i]))
    out[f"renewable_mw_within_{tag}"] = mw
    out[f"renewable_zones_within_{tag}"] = np.bincount(point_i, minlength=len(out))
    nearest = nearest_km(xy, zones)
    hit, target = nearest["point"].to_numpy(), nearest["target"].to_numpy()
    names = np.full(len(out), None, dtype=object)
    if label in zones.columns:
        names[hit] = zones[label].to_numpy()[target]
    out["nearest_renewable_zone_name"] = names
    for column, values in (("km", nearest["km"].to_numpy()), ("mw", capacity[target])):
        filled = np.full(len(out), np.nan)
        filled[hit] = values
        out[f"nearest_renewable_zone_{column}"] = filled
    return out


def _pairs_within(xy: Any, layer: gpd.GeoDataFrame, within_km: float) -> tuple[Any, Any, Any]:
    """(point, feature, true km) for every feature within ``within_km`` of each metric point."""
    if len(layer) == 0 or len(xy) == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty, np.empty(0)
    geoms = to_metric(layer, "layer").geometry.values
    points = shapely.points(xy)
    # planar <= true * 1.03 anywhere near India: the bound keeps every candidate
    point_i, feature_i = shapely.STRtree(geoms).query(
        points, predicate="dwithin", distance=within_km * 1030.0
    )
    link = shapely.shortest_line(points[point_i], geoms[feature_i])
    mid = shapely.get_coordinates(shapely.line_interpolate_point(link, 0.5, normalized=True)).reshape(-1, 2)
    km = true_km(shapely.length(link), mid[:, 0], mid[:, 1])
    keep = km <= within_km
    return point_i[keep], feature_i[keep], km[keep]
