"""Road and rail graphs from OpenStreetMap (osmnx-shaped), and a graph from the curated lines.

:func:`road_graph` (motorway and trunk by default) and :func:`rail_graph` read the same sources as
:mod:`corridormap.osm` (Overpass tiles through the cache, or a local extract), keep only the ways
that exist today (no construction or proposed lines), and build an osmnx ``MultiDiGraph``: nodes
with ``x``/``y`` in EPSG:4326, the graph attribute ``crs``, and on every edge ``length`` (metres on
the WGS 84 ellipsoid, :func:`corridormap.analysis.network.add_geodesic_lengths`; osmnx's own are spherical),
``speed_kph`` and ``travel_time`` (seconds). Speeds come from a tagged ``maxspeed`` where present,
else from ``layers/osm/speeds.toml`` by road class (``highway``) or rail ``usage``. Rail is
bidirectional; roads follow OSM's ``oneway``. Such a graph is what
``corridormap.access_card(..., network=G)`` takes.
"""

from __future__ import annotations

import bz2
import gzip
import logging
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, cast
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from ..analysis.network import add_geodesic_lengths, graph_from_lines
from ..errors import LayerValidationError, OutputExistsError
from ..export.write import export_layers
from ..io.osm_extract import FeatureSpec, _matches, _osmnx, _spec, _xml_of, read_config
from . import _overpass
from .features import AreaLike, resolve_area

__all__ = [
    "road_graph",
    "rail_graph",
    "graph_from_layers",
    "parse_speed_kph",
    "save_graph",
    "graph_to_frames",
]

log = logging.getLogger(__name__)

EDGE_TAGS = [
    "highway",
    "railway",
    "usage",
    "gauge",
    "electrified",
    "operator",
    "name",
    "ref",
    "maxspeed",
    "oneway",
    "lanes",
    "bridge",
    "tunnel",
]


def _open(path: Path) -> IO[bytes]:
    name = path.name.lower()
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    if name.endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


Nodes = dict[int, tuple[str, str]]  # id -> (lat, lon) as written
Ways = dict[int, tuple[list[int], dict[str, str]]]  # id -> (node refs, tags)


def _scan(paths: Iterable[Path]) -> tuple[Nodes, Ways]:
    """All node positions and all ways (node refs, tags) of some OSM XML files; later files add."""
    nodes: Nodes = {}
    ways: Ways = {}
    for path in paths:
        with _open(path) as fh:
            for _, elem in ET.iterparse(fh, events=("end",)):  # noqa: S314 - local OSM files
                if elem.tag == "node":
                    nodes[int(elem.attrib["id"])] = (elem.attrib["lat"], elem.attrib["lon"])
                    elem.clear()
                elif elem.tag == "way":
                    refs = [int(nd.attrib["ref"]) for nd in elem.iter("nd")]
                    tags = {t.attrib["k"]: t.attrib["v"] for t in elem.iter("tag")}
                    ways[int(elem.attrib["id"])] = (refs, tags)
                    elem.clear()
    return nodes, ways


def _keep_ways(
    nodes: Mapping[int, tuple[str, str]],
    ways: Mapping[int, tuple[list[int], dict[str, str]]],
    rules: Sequence[Mapping[str, Any]],
    area: shapely.Geometry | None,
) -> list[int]:
    ids = list(ways)
    tags = pd.DataFrame([ways[i][1] for i in ids])
    keep = _matches(tags, rules) if len(ids) else np.zeros(0, dtype=bool)
    out = []
    for way_id, ok in zip(ids, keep, strict=True):
        refs = [r for r in ways[way_id][0] if r in nodes]
        if not ok or len(refs) < 2:
            continue
        if area is not None:
            xy = np.array([(float(nodes[r][1]), float(nodes[r][0])) for r in refs])
            if not shapely.contains_xy(area, xy[:, 0], xy[:, 1]).any():
                continue
        out.append(way_id)
    return out


def _write_ways(
    paths: Sequence[Path], rules: Sequence[Mapping[str, Any]], area: shapely.Geometry | None, dest: Path
) -> int:
    """One OSM XML file with the ways of ``paths`` matching ``rules`` (and their nodes); returns the count."""
    nodes, ways = _scan(paths)
    kept = _keep_ways(nodes, ways, rules, area)
    used = sorted({r for w in kept for r in ways[w][0] if r in nodes})
    with dest.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="corridormap">\n')
        for n in used:
            out.write(f'<node id="{n}" lat="{nodes[n][0]}" lon="{nodes[n][1]}"/>\n')
        for w in kept:
            refs, tags = ways[w]
            out.write(f'<way id="{w}">' + "".join(f'<nd ref="{r}"/>' for r in refs if r in nodes))
            out.write("".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()))
            out.write("</way>\n")
        out.write("</osm>\n")
    return len(kept)


def _graph(
    specs: Sequence[FeatureSpec],
    source: str | Path | None,
    area: AreaLike | None,
    tile_deg: float,
    *,
    bidirectional: bool,
) -> nx.MultiDiGraph:
    rules = [r for s in specs for r in s.operational_rules()]
    keys = tuple(dict.fromkeys(k for s in specs for k in s.keys))
    polygon = None if area is None else resolve_area(area)
    what = "+".join(s.what for s in specs)
    with tempfile.TemporaryDirectory(prefix="corridormap-graph-") as tmp:
        if source is not None:
            paths = [_xml_of(Path(source), keys, Path(tmp))]
        else:
            if polygon is None:
                raise ValueError("give a source extract or an area to fetch")
            tiles = _overpass.tile_bounds(polygon, tile_deg=tile_deg)
            paths = [
                t.path for s in specs for t in _overpass.fetch_tiles(s.match, s.elements, tiles, label=s.what)
            ]
        merged = Path(tmp) / "ways.osm"
        if _write_ways(paths, rules, polygon, merged) == 0:
            raise LayerValidationError(
                f"no {what} ways found in {source or 'the area'}. Fix: check the "
                f"extract or area covers the corridor, or choose other classes"
            )
        with _osmnx(useful_tags_way=EDGE_TAGS, useful_tags_node=["highway", "railway", "ref", "name"]) as ox:
            graph: nx.MultiDiGraph = ox.graph_from_xml(merged, bidirectional=bidirectional, retain_all=True)
    add_geodesic_lengths(graph)  # osmnx's lengths are great-circle (sphere); ours are on the ellipsoid
    log.info("%s graph: %d nodes, %d edges", what, len(graph), graph.number_of_edges())
    return graph


_SPEED = re.compile(r"^\s*([\d.]+)\s*(mph|km/h|kmh|kph)?\s*$", re.IGNORECASE)


def parse_speed_kph(value: object) -> float:
    """A ``maxspeed`` tag ("100", "60 mph", or a list after simplification: the lowest) in km/h."""
    if isinstance(value, list):
        speeds = [parse_speed_kph(v) for v in value]
        speeds = [s for s in speeds if not np.isnan(s)]
        return min(speeds) if speeds else float("nan")
    match = _SPEED.match(value) if isinstance(value, str) else None
    if match is None:
        return float("nan")
    factor = 1.609344 if (match.group(2) or "").lower() == "mph" else 1.0
    return float(match.group(1)) * factor


def road_graph(
    source: str | Path | None = None,
    *,
    area: AreaLike | None = "belt",
    classes: Sequence[str] = ("motorway", "trunk"),
    tile_deg: float = 1.0,
) -> nx.MultiDiGraph:
    """A drivable graph of the main roads, with ``length`` (m), ``speed_kph`` and ``travel_time`` (s).

    Parameters
    ----------
    source : path, optional
        A local ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` extract; None fetches from Overpass (cached).
    area : area, optional
        See :func:`corridormap.osm.fetch_layer`; with an extract, None keeps the whole file.
    classes : sequence of str
        Kinds of ``layers/osm/features.toml`` to include (``motorway``, ``trunk``).
    """
    specs = [_spec(c) for c in classes]
    speeds = dict(read_config("speeds.toml")["road"])
    fallback = float(speeds.pop("fallback"))
    graph = _graph(specs, source, area, tile_deg, bidirectional=False)
    with _osmnx() as ox:
        hwy_speeds = {k: float(v) for k, v in speeds.items()}
        graph = ox.add_edge_speeds(graph, hwy_speeds=hwy_speeds, fallback=fallback)
        return ox.add_edge_travel_times(graph)


def rail_graph(
    source: str | Path | None = None, *, area: AreaLike | None = "belt", tile_deg: float = 1.0
) -> nx.MultiDiGraph:
    """A graph of the railway lines in use (both directions), with ``length``, ``speed_kph``, ``travel_time``.

    Speed per edge: the tagged ``maxspeed``, else ``layers/osm/speeds.toml`` ``[rail]`` by ``usage``.
    """
    speeds = dict(read_config("speeds.toml")["rail"])
    fallback = float(speeds.pop("fallback"))
    graph = _graph([_spec("rail")], source, area, tile_deg, bidirectional=True)
    for _, _, data in graph.edges(data=True):
        usage = data.get("usage")
        usage = usage[0] if isinstance(usage, list) else usage
        tagged = parse_speed_kph(data.get("maxspeed"))
        data["speed_kph"] = tagged if not np.isnan(tagged) else float(speeds.get(str(usage), fallback))
    with _osmnx() as ox:
        return ox.add_edge_travel_times(graph)


def graph_from_layers(
    layers: Mapping[str, gpd.GeoDataFrame] | Sequence[gpd.GeoDataFrame] | gpd.GeoDataFrame,
    *,
    speeds_kph: float | Mapping[str, float] | None = None,
    snap_m: float = 50.0,
) -> nx.MultiDiGraph:
    """A graph from curated line layers (e.g. ``{"freight_rail": ..., "expressways": ...}``).

    Delegates to :func:`corridormap.analysis.network.graph_from_lines`, so the curated and the OSM
    graphs share osmnx's shape and one place decides how lines become edges. Given a mapping, each
    line's ``kind`` is its layer name, which picks its speed (``layers/rules/network.toml`` unless
    ``speeds_kph``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> rail = gpd.GeoDataFrame(geometry=[shapely.LineString([(75.0, 24.0), (75.0, 24.5)])], crs=4326)
    >>> g = graph_from_layers({"freight_rail": rail})
    >>> g.number_of_edges(), round(g.edges[0, 1, 0]["length"] / 1000, 1)
    (2, 55.4)
    """
    if isinstance(layers, gpd.GeoDataFrame):
        layers = [layers]
    named = layers.items() if isinstance(layers, Mapping) else ((None, f) for f in layers)
    frames = [frame if name is None else frame.assign(kind=name) for name, frame in named]
    if not frames:
        raise ValueError("graph_from_layers needs at least one line layer")
    crs = frames[0].crs
    lines = gpd.GeoDataFrame(pd.concat([f.to_crs(crs) for f in frames], ignore_index=True), crs=crs)
    graph: nx.MultiDiGraph = graph_from_lines(lines, speeds_kph=speeds_kph, snap_m=snap_m)
    return graph


def _flat(value: object) -> object:
    return "; ".join(map(str, value)) if isinstance(value, list | set | tuple) else value


def graph_to_frames(graph: nx.MultiDiGraph) -> dict[str, gpd.GeoDataFrame]:
    """The graph's ``nodes`` and ``edges`` as GeoDataFrames; list values (merged ways) joined by "; "."""
    with _osmnx() as ox:
        nodes, edges = ox.graph_to_gdfs(graph)
    frames = {"nodes": nodes.reset_index(), "edges": edges.reset_index()}
    for frame in frames.values():
        for column in frame.columns.drop(frame.geometry.name):
            if frame[column].dtype == object:
                frame[column] = frame[column].map(_flat)
    return frames


def save_graph(graph: nx.MultiDiGraph, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a graph as GraphML (``.graphml``, osmnx reads it back) or GeoPackage (``nodes``, ``edges``)."""
    path = Path(path)
    if path.suffix.lower() == ".gpkg":
        return export_layers(graph_to_frames(graph), path, overwrite=overwrite)
    if path.suffix.lower() != ".graphml":
        raise ValueError(f"{path}: write a graph as .graphml or .gpkg")
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path} exists. Fix: choose another name or pass overwrite=True (--overwrite)"
        )
    partial = path.with_name(path.name + ".part")
    with _osmnx() as ox:
        ox.io.save_graphml(graph, partial)
    os.replace(partial, path)
    return path
