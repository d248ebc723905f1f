"""Access: how far each feature is from the nearest station, line, port or zone.

The nearest location on each target is found in the belt's metric CRS (EPSG:7755, the exact search
of :func:`~corridormap.analysis.nearest.nearest_table`, the same answers as ``geopandas.sjoin_nearest``);
the distance reported is measured from the query point to that location on the WGS 84 ellipsoid
(``pyproj.Geod``), in km, whatever CRS the input came in, and the k nearest are ranked by that
reported distance (ties to the target first in its layer's row order). See
:func:`corridormap.analysis.geodesic.geodesic_nearest`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Mapping
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely  # noqa: F401 (the examples use it)
from numpy.typing import NDArray

from ..crs import require_crs
from ..errors import OptionError
from .geodesic import Queries, _nearest_km
from .nearest import Grid, query_points
from .network import network_columns
from .rules import read_rules_toml

__all__ = ["access_card", "default_targets"]

log = logging.getLogger(__name__)

Target: TypeAlias = gpd.GeoDataFrame | tuple[gpd.GeoDataFrame, str]


# --- the access card -------------------------------------------------------------------------------
def _unpack(prefix: str, target: Target) -> tuple[gpd.GeoDataFrame, str | None]:
    layer, label = target if isinstance(target, tuple) else (target, "name")
    if not isinstance(layer, gpd.GeoDataFrame):
        raise TypeError(f"target {prefix!r} must be a GeoDataFrame or (GeoDataFrame, label column)")
    require_crs(layer, f"target layer {prefix!r}")
    return layer, (label if label in layer.columns else None)


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
        A road or rail graph in osmnx's shape (see :mod:`corridormap.analysis.network`); adds
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
        the target has a label column) and ``{prefix}_km`` columns per target. Distances are
        geodesic km (see the module notes); ties go to the target first in its layer's order.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> nodes = gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.Point(75.0, 24.0)], crs="EPSG:4326")
    >>> ports = gpd.GeoDataFrame({"name": ["P"]}, geometry=[shapely.Point(75.0, 25.0)], crs="EPSG:4326")
    >>> card = access_card(nodes, {"port": ports})
    >>> print(card.loc[0, "port_name"], round(card.loc[0, "port_km"], 1))
    P 110.8
    """
    if max_distance_km is not None and not (math.isfinite(max_distance_km) and max_distance_km > 0):
        raise OptionError(
            f"access_card: max_distance_km = {max_distance_km!r} is not a positive number of km. Fix: pass "
            "a distance above 0 (e.g. 50), or None for no limit"
        )
    xy = query_points(nodes)
    grid = Grid.over(xy)
    queries = Queries(xy)
    new: dict[str, Any] = {}
    for prefix, target in targets.items():
        layer, label = _unpack(prefix, target)
        table = _nearest_km(
            xy,
            layer,
            k=k,
            max_distance_km=max_distance_km,
            grid=grid,
            queries=queries,
            what=f"target {prefix!r}",
        )
        new.update(_rank_columns(prefix, table, len(xy), k, None if label is None else layer[label]))
        wanted = network_targets is None or prefix in network_targets
        if network is not None and wanted and len(layer) and (layer.geom_type == "Point").all():
            name = network_name or str(network.graph.get("name", "the given graph"))
            new.update(
                network_columns(
                    network,
                    xy,
                    layer,
                    new[f"{prefix}_km"],
                    prefix=prefix,
                    network=name,
                    max_ratio=max_ratio,
                    max_distance_km=max_distance_km,
                )
            )
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
