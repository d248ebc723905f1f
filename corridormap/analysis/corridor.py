"""The corridor as a line: the influence belt around the Western DFC and positions along it.

Every computation happens in the belt's metric CRS (:data:`corridormap.crs.BELT_CRS`); results come
back in the CRS of the input.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from ..crs import (
    BELT_CRS,
    geodesic_area_km2,
    geodesic_length_km,
    require_crs,
    scale_factor,
    to_metric,
    true_km,
)
from ..errors import LayerValidationError
from .nearest import nearest_table, query_points
from .network import graph_from_lines

__all__ = ["corridor_belt", "corridor_line", "main_line", "chainage", "membership"]

_STARTS = {"north": (1, -1.0), "south": (1, 1.0), "east": (0, -1.0), "west": (0, 1.0)}


def corridor_line(lines: gpd.GeoDataFrame, *, corridor: str = "Western DFC") -> shapely.Geometry:
    """Merge the sections of one corridor into a single line geometry in the belt CRS.

    Parameters
    ----------
    lines : GeoDataFrame
        Line features with a ``corridor`` column (e.g. the ``freight_rail`` layer).
    corridor : str
        Value of the ``corridor`` column to select.
    """
    require_crs(lines, "corridor lines")
    if "corridor" not in lines.columns:
        raise LayerValidationError(
            "corridor lines have no 'corridor' column. Fix: pass the freight_rail layer, or a line "
            "layer whose 'corridor' column names each section's corridor"
        )
    chosen = lines[lines["corridor"] == corridor]
    if chosen.empty:
        found = ", ".join(sorted(map(str, lines["corridor"].dropna().unique()))) or "none"
        raise LayerValidationError(
            f"no section of corridor {corridor!r} in the line layer (corridors found: {found}). "
            f"Fix: choose one of those with corridor=..."
        )
    merged = shapely.line_merge(shapely.union_all(to_metric(chosen).geometry.values))
    return merged


def chosen_as_of(lines: gpd.GeoDataFrame, corridor: str) -> list[str]:
    """The ``as_of`` dates of one corridor's sections (empty when the layer has none)."""
    if "as_of" not in lines.columns or "corridor" not in lines.columns:
        return []
    return [str(v) for v in lines.loc[lines["corridor"] == corridor, "as_of"].dropna()]


def _latest_as_of(dates: list[str]) -> str | None:
    return max(dates) if dates else None


def corridor_belt(
    lines: gpd.GeoDataFrame, *, corridor: str = "Western DFC", buffer_km: float = 150.0
) -> gpd.GeoDataFrame:
    """The corridor's influence belt: every point within ``buffer_km`` of the corridor's line.

    The buffer is computed in EPSG:7755 and returned in the input's CRS, as one polygon with
    ``name``, ``corridor``, ``buffer_km``, ``length_km``, ``area_km2`` and provenance columns. The
    planar buffer distance is ``buffer_km`` times the projection's mean scale factor along the line,
    so the belt is ``buffer_km`` true kilometres wide on each side (within 0.3% over the DMIC belt,
    where the factor varies 0.980–0.987); length and area are geodesic.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> line = gpd.GeoDataFrame({"corridor": ["Western DFC"]},
    ...     geometry=[shapely.LineString([(72.9, 19.0), (77.5, 28.5)])], crs="EPSG:4326")
    >>> belt = corridor_belt(line, buffer_km=10)
    >>> row = belt.iloc[0]
    >>> print(f"{row.length_km:.0f} km long, {row.area_km2:,.0f} km2")
    1152 km long, 23,409 km2
    """
    if buffer_km <= 0:
        raise ValueError(f"buffer_km must be positive, got {buffer_km}")
    crs = require_crs(lines, "corridor lines")
    line = corridor_line(lines, corridor=corridor)
    xy = shapely.get_coordinates(line)
    k = float(np.mean(scale_factor(xy[:, 0], xy[:, 1])))
    belt = shapely.buffer(line, buffer_km * 1000.0 * k, quad_segs=16)
    true = gpd.GeoSeries([line, belt], crs=BELT_CRS)
    out = gpd.GeoDataFrame(
        {
            "name": [f"{corridor} influence belt ({buffer_km:g} km)"],
            "corridor": [corridor],
            "buffer_km": [float(buffer_km)],
            "length_km": [float(geodesic_length_km(true.iloc[:1])[0])],
            "area_km2": [float(geodesic_area_km2(true.iloc[1:])[0])],
            "status": ["computed"],
            "as_of": [_latest_as_of(chosen_as_of(lines, corridor))],
            "source": [f"computed by corridormap: {buffer_km:g} km either side of the {corridor} line"],
            "geometry_quality": ["schematic"],
        },
        geometry=[belt],
        crs=BELT_CRS,
    )
    return out.to_crs(crs)


def main_line(lines: gpd.GeoDataFrame, *, start: str = "north", snap_m: float = 1000.0) -> shapely.LineString:
    """One line through a set of sections, in the belt CRS, running from its ``start`` end.

    The sections become a graph (ends closer than ``snap_m`` join); the main line is the longest of
    the shortest paths between two dead ends, so spurs and links drop out. Disconnected pieces: the
    largest is used.
    """
    if start not in _STARTS:
        raise ValueError(f"start must be one of {', '.join(_STARTS)}, got {start!r}")
    if len(lines) == 0:
        raise LayerValidationError(
            "the line layer for chainage is empty. Fix: pass at least one line section"
        )
    graph = nx.Graph(graph_from_lines(lines, speeds_kph=1.0, snap_m=snap_m))
    graph = graph.subgraph(max(nx.connected_components(graph), key=len))
    ends = [n for n, degree in graph.degree() if degree == 1] or list(graph.nodes)[:1]
    best: tuple[float, list[Any]] = (-1.0, [])
    for source in ends:
        length, paths = nx.single_source_dijkstra(graph, source, weight="length")
        far = max((n for n in ends if n in length), key=lambda n: length[n])
        if length[far] > best[0]:
            best = (length[far], paths[far])
    xy = np.array([[graph.nodes[n]["x"], graph.nodes[n]["y"]] for n in best[1]])
    axis, sign = _STARTS[start]
    if sign * (xy[-1, axis] - xy[0, axis]) < 0:
        xy = xy[::-1]
    return shapely.LineString(xy)


def chainage(
    features: gpd.GeoDataFrame,
    line: gpd.GeoDataFrame | shapely.LineString,
    *,
    prefix: str = "",
    start: str = "north",
) -> gpd.GeoDataFrame:
    """Linear referencing: each feature's km along ``line``, its side and perpendicular offset.

    Parameters
    ----------
    features : GeoDataFrame
        Points (other geometries use a representative point), any CRS.
    line : GeoDataFrame or LineString
        The line's sections (any CRS; merged by :func:`main_line`), or one LineString in EPSG:7755.
    prefix : str
        Put before the new column names (``"wdfc_"`` gives ``wdfc_chainage_km``...).
    start : str
        Which end is km 0 when ``line`` is a layer: ``north`` (default), ``south``, ``east``, ``west``.

    Returns
    -------
    GeoDataFrame
        A copy of ``features`` with ``chainage_km`` (true km from the start), ``side`` (``left`` /
        ``right`` looking along the line; ``on line``; ``past end`` straight ahead of an end),
        ``offset_km`` (true km to the line) and
        ``beyond_end`` (the feature lies past an end, so the offset is to that end).
    """
    path = line if isinstance(line, shapely.LineString) else main_line(line, start=start)
    v = shapely.get_coordinates(path)
    mid = (v[1:] + v[:-1]) / 2
    cum_km = np.r_[0.0, np.cumsum(true_km(np.hypot(*(v[1:] - v[:-1]).T), mid[:, 0], mid[:, 1]))]
    xy = query_points(features, "features")
    table = nearest_table(xy, shapely.linestrings(np.stack([v[:-1], v[1:]], axis=1)))
    seg = table["target"].to_numpy()
    p, q = xy[table["point"].to_numpy()], table[["x", "y"]].to_numpy()
    along = cum_km[seg] + true_km(np.hypot(*(q - v[seg]).T), *((q + v[seg]) / 2).T)
    d = v[seg + 1] - v[seg]
    cross = d[:, 0] * (p[:, 1] - v[seg, 1]) - d[:, 1] * (p[:, 0] - v[seg, 0])
    out = features.copy()
    out[f"{prefix}chainage_km"] = along
    on_line = table["distance_m"].to_numpy() == 0
    sides = ["on line", "left", "right"]
    out[f"{prefix}side"] = np.select([on_line, cross > 0, cross < 0], sides, "past end")
    out[f"{prefix}offset_km"] = true_km(table["distance_m"].to_numpy(), *((p + q) / 2).T)
    out[f"{prefix}beyond_end"] = (
        ((seg == 0) & np.all(q == v[0], axis=1)) | ((seg == len(v) - 2) & np.all(q == v[-1], axis=1))
    ) & (table["distance_m"].to_numpy() > 0)
    return out


def membership(
    features: gpd.GeoDataFrame,
    belt: gpd.GeoDataFrame,
    *,
    states: gpd.GeoDataFrame | None = None,
    state_column: str = "name",
) -> gpd.GeoDataFrame:
    """Which features touch the corridor belt, and (given a states layer) which state each is in.

    Returns a copy of ``features`` with ``in_belt`` (the feature intersects any belt polygon) and,
    with ``states``, ``state_from_layer``: the ``state_column`` value of the state polygon holding
    the feature's representative point (None outside every state; the first state on overlaps).
    """
    out = features.copy()
    shapes = to_metric(features, "features").geometry.values
    zone = shapely.union_all(to_metric(belt, "belt").geometry.values)
    out["in_belt"] = np.asarray(shapely.intersects(shapes, zone), dtype=bool) if len(out) else []
    if states is not None:
        if state_column not in states.columns:
            raise LayerValidationError(
                f"states layer has no {state_column!r} column "
                f"(columns: {', '.join(map(str, states.columns))}). "
                f"Fix: pass state_column= naming the column with the state names"
            )
        points = shapely.points(query_points(features, "features"))
        tree = shapely.STRtree(to_metric(states, "states").geometry.values)
        hit_point, hit_state = tree.query(points, predicate="intersects")
        names = pd.Series(states[state_column].to_numpy()[hit_state], index=hit_point)
        names = names[~names.index.duplicated()]
        value = np.full(len(out), None, dtype=object)
        value[names.index.to_numpy()] = names.to_numpy()
        out["state_from_layer"] = value
    return out
