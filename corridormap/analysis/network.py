"""Line layers as a networkx graph in osmnx's shape, and distances along such a graph.

:func:`graph_from_lines` turns line features (the freight rail, the expressways, any user line
layer) into a ``MultiDiGraph`` shaped like osmnx's: nodes carry ``x``, ``y`` (EPSG:7755 metres,
``graph.graph["crs"]``), every edge carries ``length`` (metres on the WGS 84 ellipsoid), ``speed_kph`` and
``travel_time`` (seconds), in both directions. Vertices closer than ``snap_m`` become one node, so
sections that meet join up.

:func:`network_km` measures, for each query point, the shortest way to the nearest target point:
a straight access leg to the nearest point of the graph's edges, along the graph, and a straight leg
from the graph to the target. It takes any osmnx-style graph, projected or in longitude/latitude;
one-way restrictions are ignored (the graph is read as undirected).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
import shapely.errors
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from ..crs import BELT_CRS, geodesic_km, geodesic_line_km, to_metric
from ..errors import CRSError, DataSourceNotFoundError, FileFormatError, LayerValidationError
from .nearest import nearest_table, query_points
from .rules import read_rules_toml

__all__ = [
    "graph_from_lines",
    "network_km",
    "network_columns",
    "default_speeds",
    "read_graphml",
    "add_geodesic_lengths",
]

log = logging.getLogger(__name__)


def default_speeds() -> dict[str, float]:
    """Planning speeds (km/h) of the shipped line layers, from ``layers/rules/network.toml``."""
    return {str(k): float(v) for k, v in read_rules_toml("network.toml")["speeds_kph"].items()}


def _speeds(lines: gpd.GeoDataFrame, speeds_kph: float | Mapping[str, float] | None, column: str) -> Any:
    if speeds_kph is None:
        speeds_kph = default_speeds()
    if not isinstance(speeds_kph, Mapping):
        return np.full(len(lines), float(speeds_kph))
    if column not in lines.columns:
        return np.full(len(lines), float(speeds_kph.get("default", 60.0)))
    fallback = speeds_kph.get("default")
    missing = sorted({str(v) for v in lines[column] if v not in speeds_kph}) if fallback is None else []
    if missing:
        raise LayerValidationError(
            f"line layer: no speed for {column!r} value(s) {', '.join(missing)}. Fix: add them to "
            f"speeds_kph, or give speeds_kph a 'default'"
        )
    return np.array([float(speeds_kph.get(v, fallback)) for v in lines[column]])  # type: ignore[arg-type]


def graph_from_lines(
    lines: gpd.GeoDataFrame,
    *,
    speeds_kph: float | Mapping[str, float] | None = None,
    speed_column: str = "kind",
    snap_m: float = 50.0,
) -> nx.MultiDiGraph:
    """A graph of line features: a node per (snapped) vertex, an edge each way per segment.

    Parameters
    ----------
    lines : GeoDataFrame
        LineString / MultiLineString features, any CRS.
    speeds_kph : float or mapping, optional
        One speed for every edge, or a mapping from the values of ``speed_column`` to speeds (key
        ``"default"`` for the rest). None uses ``layers/rules/network.toml`` (keys are layer names).
    speed_column : str
        Column whose value picks the speed when ``speeds_kph`` is a mapping.
    snap_m : float
        Vertices closer than this (planar metres) become one node.

    Returns
    -------
    networkx.MultiDiGraph
        Nodes ``x``, ``y`` in EPSG:7755; edges ``length`` (m), ``speed_kph``, ``travel_time`` (s)
        and ``feature`` (the index label of the line the edge comes from).
    """
    metric = to_metric(lines, "line layer")
    speeds = _speeds(metric, speeds_kph, speed_column)
    parts, owner = shapely.get_parts(metric.geometry.values, return_index=True)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    node = _snap(coords, snap_m)
    graph = nx.MultiDiGraph(crs=BELT_CRS)
    for n in np.unique(node):
        graph.add_node(int(n), x=float(coords[n, 0]), y=float(coords[n, 1]))
    seg = np.flatnonzero((part[1:] == part[:-1]) & (node[1:] != node[:-1]))
    a, b = coords[node[seg]], coords[node[seg + 1]]  # snapped ends
    length = geodesic_km(a, b) * 1000.0  # on the ellipsoid
    feature = owner[part[seg]]
    labels = metric.index.tolist()
    for i, s in enumerate(seg):
        speed = float(speeds[feature[i]])
        attrs = {
            "length": float(length[i]),
            "speed_kph": speed,
            "travel_time": float(length[i]) / (speed / 3.6),
            "feature": labels[feature[i]],
        }
        graph.add_edge(int(node[s]), int(node[s + 1]), **attrs)
        graph.add_edge(int(node[s + 1]), int(node[s]), **attrs)
    log.info(
        "graph from %d lines: %d nodes, %d edges",
        len(lines),
        graph.number_of_nodes(),
        graph.number_of_edges(),
    )
    return graph


def _snap(coords: NDArray[np.float64], snap_m: float) -> NDArray[np.intp]:
    """Each vertex's node: the lowest-numbered vertex of its cluster (vertices within ``snap_m``)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(coords)
    pairs = cKDTree(coords).query_pairs(snap_m, output_type="ndarray") if n else np.empty((0, 2), int)
    adjacency = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, label = connected_components(adjacency, directed=False)
    first = np.full(label.max() + 1 if n else 0, n, dtype=np.intp)
    np.minimum.at(first, label, np.arange(n))
    return first[label]


def _edges_metric(graph: nx.Graph) -> tuple[list[Any], NDArray[Any], NDArray[np.float64], NDArray[np.intp]]:
    """Graph nodes, one metric geometry per undirected edge, its length (m, on the WGS 84 ellipsoid,
    whatever the edge's ``length`` attribute says) and end node positions. Of parallel edges the
    shortest is kept."""
    crs = graph.graph.get("crs")
    if crs is None:
        raise CRSError("network graph has no graph['crs']. Fix: build it with osmnx or graph_from_lines")
    nodes = list(graph.nodes)
    position = {n: i for i, n in enumerate(nodes)}
    xy = np.array([[graph.nodes[n]["x"], graph.nodes[n]["y"]] for n in nodes], dtype=float).reshape(-1, 2)
    to_belt = None
    if not CRS.from_user_input(crs).equals(CRS.from_user_input(BELT_CRS)):
        to_belt = Transformer.from_crs(crs, BELT_CRS, always_xy=True)
        xy = np.column_stack(to_belt.transform(xy[:, 0], xy[:, 1])) if len(xy) else xy
    ends_list, geom_list = [], []
    for u, v, data in graph.edges(data=True):
        i, j = position[u], position[v]
        if i == j:
            continue
        geom = data.get("geometry")
        if geom is not None:
            if to_belt is not None:
                geom = shapely.transform(geom, _transformer(to_belt), interleaved=False)
            if i > j:
                geom = shapely.reverse(geom)  # every geometry runs from ends[:, 0] to ends[:, 1]
        ends_list.append(sorted((i, j)))
        geom_list.append(geom)
    ends = np.array(ends_list, dtype=np.intp).reshape(-1, 2)
    geoms = np.array(geom_list + [None], dtype=object)[:-1]
    straight = shapely.is_missing(geoms)
    if straight.any():
        pairs = np.stack([xy[ends[straight, 0]], xy[ends[straight, 1]]], axis=1)
        geoms[straight] = shapely.linestrings(pairs)
    lengths = geodesic_line_km(geoms) * 1000.0
    order = np.lexsort((lengths, ends[:, 1], ends[:, 0]))
    first = order[np.r_[True, (np.diff(ends[order], axis=0) != 0).any(axis=1)]] if len(order) else order
    return nodes, geoms[first], lengths[first], ends[first]


def add_geodesic_lengths(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Set every edge's ``length`` (m) to its length on the WGS 84 ellipsoid (its geometry, else the
    straight line between its nodes), in place; returns the graph. osmnx measures on a sphere (0.2 %
    short to 0.5 % long over the belt)."""
    crs = str(graph.graph.get("crs", "EPSG:4326"))
    edges = list(graph.edges(keys=True, data=True))

    def line(u: Any, v: Any, data: Mapping[str, Any]) -> Any:
        if data.get("geometry") is not None:
            return data["geometry"]
        a, b = graph.nodes[u], graph.nodes[v]
        return shapely.LineString([(a["x"], a["y"]), (b["x"], b["y"])])

    geoms = np.array([line(u, v, d) for u, v, _, d in edges] + [None], dtype=object)[:-1]
    lonlat = CRS.from_user_input(crs).equals(CRS.from_user_input("EPSG:4326"))
    km = geodesic_line_km(geoms, crs="EPSG:4326" if lonlat else crs)
    for (_, _, _, data), length in zip(edges, km, strict=True):
        data["length"] = float(length) * 1000.0
    return graph


def _transformer(t: Transformer) -> Any:
    return lambda x, y: t.transform(x, y)


def _snap_to_edges(
    xy: NDArray[np.float64], geoms: NDArray[Any], lengths: NDArray[np.float64]
) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Each point's nearest edge, its straight leg (m), and the along-edge metres to both ends."""
    table = nearest_table(xy, geoms)
    edge = np.full(len(xy), -1, dtype=np.intp)
    leg = np.full(len(xy), np.nan)
    to_a = np.full(len(xy), np.nan)
    p = table["point"].to_numpy()
    edge[p] = table["target"].to_numpy()
    q = table[["x", "y"]].to_numpy()
    leg[p] = geodesic_km(xy[p], q) * 1000.0
    fraction = shapely.line_locate_point(geoms[edge[p]], shapely.points(q), normalized=True)
    to_a[p] = np.nan_to_num(fraction) * lengths[edge[p]]
    to_b = lengths[np.maximum(edge, 0)] - to_a
    return edge, leg, to_a, to_b


def network_km(
    graph: nx.Graph,
    points_xy: NDArray[np.float64],
    targets: gpd.GeoDataFrame,
    *,
    max_distance_km: float | None = None,
) -> NDArray[np.float64]:
    """Distance (true km) from each metric point to the nearest target point along ``graph``.

    Access leg (point to the nearest point of an edge) + along the graph (edge ``length``) + leg to
    the target. Targets that are not points, an empty graph, no target or no path give NaN.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    out = np.full(len(points_xy), np.nan)
    if len(targets) == 0 or len(points_xy) == 0 or not (targets.geom_type == "Point").all():
        if len(targets) and len(points_xy):
            log.info("network distance skipped: target layer is not points")
        return out
    nodes, geoms, lengths, ends = _edges_metric(graph)
    if len(geoms) == 0:
        return out
    t_edge, t_leg, t_a, t_b = _snap_to_edges(query_points(targets, "targets"), geoms, lengths)
    n, t = len(nodes), len(t_edge)
    rows = np.r_[ends[:, 0], n + np.arange(t), n + np.arange(t)]
    cols = np.r_[ends[:, 1], ends[t_edge, 0], ends[t_edge, 1]]
    weights = np.r_[lengths, t_leg + t_a, t_leg + t_b] + 1e-9  # a zero would read as no edge
    matrix = coo_matrix((weights, (rows, cols)), shape=(n + t, n + t)).tocsr()
    dist = np.asarray(dijkstra(matrix, directed=False, indices=n + np.arange(t), min_only=True))
    edge, leg, to_a, to_b = _snap_to_edges(np.asarray(points_xy, dtype=float), geoms, lengths)
    ok = edge >= 0
    e = edge[ok]
    best = leg[ok] + np.minimum(to_a[ok] + dist[ends[e, 0]], to_b[ok] + dist[ends[e, 1]])
    for j in range(t):  # a point and a target on the same edge: straight along it
        same = e == t_edge[j]
        best[same] = np.minimum(best[same], leg[ok][same] + np.abs(to_a[ok][same] - t_a[j]) + t_leg[j])
    out[ok] = best / 1000.0
    out[~np.isfinite(out)] = np.nan  # not connected: no figure (never inf)
    if max_distance_km is not None:
        out[out > max_distance_km] = np.nan
    return out


def network_columns(
    graph: nx.Graph,
    points_xy: NDArray[np.float64],
    targets: gpd.GeoDataFrame,
    straight_km: NDArray[np.float64],
    *,
    prefix: str,
    network: str,
    max_ratio: float = 3.0,
    max_distance_km: float | None = None,
) -> dict[str, Any]:
    """:func:`network_km` as the columns a user reads, never inf or NaN text.

    ``{prefix}_network_km`` (empty where there is no figure), ``{prefix}_network_note`` (why it is
    empty: "not connected in this network", or "likely gap in the network" when the figure is more
    than ``max_ratio`` times ``straight_km``, the straight-line km to the nearest target) and
    ``{prefix}_network`` (which network the figure is along).
    """
    km = network_km(graph, points_xy, targets, max_distance_km=max_distance_km)
    straight = np.asarray(straight_km, dtype=float)
    note = np.full(len(km), None, dtype=object)
    beyond = "" if max_distance_km is None else f" within {max_distance_km:g} km"
    note[~np.isfinite(km)] = f"not connected in this network{beyond}"
    absurd = np.isfinite(km) & np.isfinite(straight) & (km > max_ratio * straight)
    note[absurd] = [
        f"likely gap in the network: {k:,.1f} km along it against {d:,.1f} km straight "
        f"(more than {max_ratio:g} times)"
        for k, d in zip(km[absurd], straight[absurd], strict=True)
    ]
    km[absurd] = np.nan
    return {f"{prefix}_network_km": km, f"{prefix}_network_note": note, f"{prefix}_network": network}


def read_graphml(path: str | Path) -> nx.MultiDiGraph:
    """A road or rail graph saved as GraphML (e.g. by osmnx or ``corridormap osm``), ready for
    :func:`network_km`: node ``x``, ``y`` and edge ``length`` as numbers, WKT edge geometries parsed."""
    path = Path(path)
    if not path.is_file():
        raise DataSourceNotFoundError(
            f"graph file {path} does not exist. Fix: give the path of a .graphml file"
        )
    try:
        graph = nx.MultiDiGraph(nx.read_graphml(path, force_multigraph=True))
    except (ElementTree.ParseError, nx.NetworkXError, KeyError, ValueError) as exc:
        raise FileFormatError(
            f"{path}: not a GraphML graph ({type(exc).__name__}: {exc}). Fix: give a .graphml file saved "
            "by osmnx or `corridormap osm graph`"
        ) from None
    if "crs" not in graph.graph:
        raise CRSError(
            f"{path}: the graph has no 'crs' attribute. Fix: save it with osmnx (it records the CRS)"
        )
    try:
        for _, data in graph.nodes(data=True):
            data["x"], data["y"] = float(data["x"]), float(data["y"])
        for _, _, data in graph.edges(data=True):
            if "length" in data:
                data["length"] = float(data["length"])
            if isinstance(data.get("geometry"), str):
                data["geometry"] = shapely.from_wkt(data["geometry"])
    except (KeyError, ValueError, shapely.errors.ShapelyError) as exc:
        raise FileFormatError(
            f"{path}: a node or edge lacks a readable x, y, length or geometry ({exc!r}). Fix: save the "
            "graph with osmnx (ox.save_graphml) or `corridormap osm graph`"
        ) from None
    return graph
