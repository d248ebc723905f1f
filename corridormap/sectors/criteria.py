"""The raw value of every sector criterion at every node: distances, sums within reach, raster values.

The criteria are listed in ``layers/rules/sectors/_context.toml``; this module measures them. A value
that cannot be measured honestly is ``NaN`` with a note saying why ("not assessed: ..."), never a
guess: a node outside the Natural Earth clip, or whose nearest feature found lies farther than the
clip edge (a closer one could lie beyond it), or whose reach crosses the edge; a raster that the
installed extras cannot compute. Distances are true km (EPSG:7755 corrected by the local scale
factor, see :mod:`corridormap.crs`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from .. import settings
from ..analysis.geodesic import nearest_km
from ..analysis.nearest import query_points
from ..crs import BELT_CRS, DISPLAY_CRS, to_metric, true_km
from ..errors import CatalogError, DataSourceNotFoundError, MissingDependencyError
from .profiles import CriterionSpec, context, criteria_specs, node_layer_names

__all__ = ["context_layer", "context_layers", "criterion_values", "NOT_ASSESSED"]

log = logging.getLogger(__name__)

NOT_ASSESSED = "not assessed"


@functools.cache
def _read_context(path: Path, mtime_ns: int) -> gpd.GeoDataFrame:
    return gpd.read_file(path)


def context_layer(name: str) -> gpd.GeoDataFrame:
    """One context layer of ``_context.toml`` (a shipped ``data/ne_*`` file), filtered by its ``where``."""
    spec = context().get("context", {}).get(name)
    if spec is None:
        raise CatalogError(
            f"no context layer {name!r} in {Path(settings.layers_dir) / 'rules/sectors/_context.toml'}. "
            f"Fix: use one of {', '.join(context().get('context', {}))}"
        )
    path = Path(settings.data_dir) / spec["file"]
    if not path.is_file():
        raise DataSourceNotFoundError(
            f"{path}: context file of {name!r} is missing. Fix: restore it from the "
            f"repository (data/README.md lists it)"
        )
    gdf = _read_context(path, path.stat().st_mtime_ns).copy()
    for column, allowed in dict(spec.get("where", {})).items():
        gdf = gdf[gdf[column].isin(list(allowed))]
    return gdf


def context_layers() -> dict[str, gpd.GeoDataFrame]:
    """Every context layer by name."""
    return {name: context_layer(name) for name in context().get("context", {})}


def _edge_km(nodes: gpd.GeoDataFrame, xy: NDArray[np.float64]) -> NDArray[np.float64]:
    """True km from each node to the edge of the context extent; -1 for nodes outside it."""
    w, s, e, n = (float(v) for v in context()["extent"])
    box = shapely.box(w, s, e, n)
    lonlat = nodes.to_crs(DISPLAY_CRS).geometry.values
    inside = shapely.contains(box, lonlat)
    ring = gpd.GeoSeries([shapely.segmentize(box.exterior, 0.05)], crs=DISPLAY_CRS).to_crs(BELT_CRS).iloc[0]
    planar = shapely.distance(shapely.points(xy), ring)
    km = true_km(planar, xy[:, 0], xy[:, 1])
    return np.where(inside, km, -1.0)


def _target(spec: CriterionSpec, layers: Mapping[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame | None:
    if spec.context is not None:
        return context_layer(spec.context)
    if spec.layer not in layers:
        return None
    frame = layers[str(spec.layer)]
    for column, allowed in dict(spec.where).items():
        if column in frame.columns:
            frame = frame[frame[column].isin(list(allowed))]
    return frame


def _nearest(spec: CriterionSpec, xy: Any, target: gpd.GeoDataFrame, edge: Any) -> tuple[Any, Any, Any]:
    values, at_least = np.full(len(xy), np.nan), np.full(len(xy), np.nan)
    notes = np.full(len(xy), f"{NOT_ASSESSED}: no {spec.layer or spec.context} features", dtype=object)
    if len(target) == 0:
        return values, notes, at_least
    table = nearest_km(xy, target)
    names = target["name"].to_numpy() if "name" in target.columns else np.full(len(target), "")
    for point, feature, km in zip(table["point"], table["target"], table["km"], strict=True):
        if spec.context is not None and edge[point] < 0:
            notes[point] = f"{NOT_ASSESSED}: outside the Natural Earth extent"
        elif spec.context is not None and km > edge[point]:
            # nothing within the edge distance: the true distance is at least that far
            at_least[point] = edge[point]
            notes[point] = (
                f"more than {edge[point]:.0f} km (nearest in the Natural Earth extent: {km:.0f} km)"
            )
        else:
            values[point], notes[point] = km, str(names[feature])
    return values, notes, at_least


def _sum_within(spec: CriterionSpec, xy: Any, target: gpd.GeoDataFrame, edge: Any) -> tuple[Any, Any, Any]:
    within = float(spec.within_km or 0.0)
    amount = pd.to_numeric(target[str(spec.column)], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    values, counts = np.zeros(len(xy)), np.zeros(len(xy), dtype=int)
    if len(target):
        geoms = to_metric(target, str(spec.layer or spec.context)).geometry.values
        points = shapely.points(xy)
        pi, fi = shapely.STRtree(geoms).query(points, predicate="dwithin", distance=within * 1030.0)
        link = shapely.shortest_line(points[pi], geoms[fi])
        mid = shapely.get_coordinates(shapely.line_interpolate_point(link, 0.5, normalized=True)).reshape(
            -1, 2
        )
        keep = true_km(shapely.length(link), mid[:, 0], mid[:, 1]) <= within
        np.add.at(values, pi[keep], amount[fi[keep]])
        np.add.at(counts, pi[keep], 1)
    notes = np.array([f"{c} within {within:g} km" for c in counts], dtype=object)
    at_least = np.full(len(xy), np.nan)
    if spec.context is not None:
        short = edge < within
        at_least[short & (edge >= 0)] = values[short & (edge >= 0)]  # what was found is a lower bound
        values[short] = np.nan
        notes[short] = np.where(
            edge[short] >= 0,
            f"at least the part found: the {within:g} km reach crosses the Natural Earth extent",
            f"{NOT_ASSESSED}: outside the Natural Earth extent",
        )
    return values, notes, at_least


def _raster(spec: CriterionSpec, nodes: gpd.GeoDataFrame, area: gpd.GeoDataFrame) -> tuple[Any, Any]:
    from ..raster import sample_values

    try:
        from ..sites.defaults import default_raster

        raster = default_raster(str(spec.raster), area)
    except MissingDependencyError as exc:
        log.info("criterion %s not assessed: %s", spec.name, exc)
        note = f"{NOT_ASSESSED}: {exc}"  # a broken install: the packages are default dependencies
        return np.full(len(nodes), np.nan), np.full(len(nodes), note, dtype=object)
    lonlat = nodes.to_crs(raster.crs).geometry
    values = sample_values(raster, lonlat.x.to_numpy(), lonlat.y.to_numpy())
    notes = np.where(np.isnan(values), f"{NOT_ASSESSED}: outside the raster", "clear-sky model").astype(
        object
    )
    return values, notes


def _raster_area(nodes: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """The nodes with every node layer, so that a subset reuses the same cached raster."""
    frames = [nodes.to_crs(DISPLAY_CRS).geometry]
    frames += [layers[n].to_crs(DISPLAY_CRS).geometry for n in node_layer_names() if n in layers]
    return gpd.GeoDataFrame(geometry=pd.concat(frames, ignore_index=True), crs=DISPLAY_CRS)


def criterion_values(
    nodes: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    names: list[str] | None = None,
) -> pd.DataFrame:
    """Raw value (``NAME``) and note (``NAME_note``) of each criterion at each node.

    Where a context file's clip hides the answer, ``NAME`` is NaN and ``NAME_at_least`` holds a lower
    bound (the distance to the clip edge, or the sum found inside it); :func:`~.fit.fit_scores` uses
    the bound only when it already fixes the score (e.g. a coast farther than the distance at which
    the score saturates).

    ``declared_sector`` depends on the profile and is measured by :mod:`corridormap.sectors.fit`;
    here its value is the node's declared sectors as text. The result is aligned on ``nodes.index``;
    the input is not modified.
    """
    specs = criteria_specs()
    wanted = names if names is not None else list(specs)
    xy = query_points(nodes)
    edge = _edge_km(nodes, xy)
    out: dict[str, Any] = {}
    for name in wanted:
        spec = specs[name]
        if spec.measure == "declared_sector":
            column = str(spec.column)
            out[name] = nodes[column].to_numpy() if column in nodes.columns else np.full(len(nodes), None)
            out[f"{name}_note"] = np.full(len(nodes), "declared sectors of the node", dtype=object)
            continue
        if spec.measure == "raster":
            out[name], out[f"{name}_note"] = _raster(spec, nodes, _raster_area(nodes, layers))
            continue
        target = _target(spec, layers)
        if target is None:
            out[name] = np.full(len(nodes), np.nan)
            out[f"{name}_note"] = np.full(len(nodes), f"{NOT_ASSESSED}: no {spec.layer} layer", dtype=object)
        elif spec.measure == "nearest_km":
            out[name], out[f"{name}_note"], out[f"{name}_at_least"] = _nearest(spec, xy, target, edge)
        else:
            out[name], out[f"{name}_note"], out[f"{name}_at_least"] = _sum_within(spec, xy, target, edge)
    return pd.DataFrame(out, index=nodes.index)
