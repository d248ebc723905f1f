"""OpenStreetMap: features fetched from Overpass or read from extracts, road and rail graphs, open datasets.

``features`` fetches a kind of feature for an area and reads extracts; ``graph`` builds osmnx-shaped
road and rail graphs; ``datasets`` loads open datasets users already know; ``_overpass`` is the one
door to the network. The parsing shared with the users'-files loader is :mod:`corridormap.io.osm_extract`.

>>> from corridormap import osm
>>> sorted(osm.feature_specs())[:2]
['industrial', 'motorway']
"""

from ..io.osm_extract import (
    OSM_SOURCE,
    FeatureSpec,
    feature_specs,
    normalise,
    parse_capacity_mw,
    pbf_to_xml,
    read_config,
)
from .features import fetch_layer, fetch_layers, read_extract, resolve_area
from .graph import graph_from_layers, graph_to_frames, parse_speed_kph, rail_graph, road_graph, save_graph

__all__ = [
    "OSM_SOURCE",
    "FeatureSpec",
    "feature_specs",
    "fetch_layer",
    "fetch_layers",
    "read_extract",
    "resolve_area",
    "parse_capacity_mw",
    "normalise",
    "read_config",
    "pbf_to_xml",
    "road_graph",
    "rail_graph",
    "graph_from_layers",
    "graph_to_frames",
    "parse_speed_kph",
    "save_graph",
]
