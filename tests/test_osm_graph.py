"""Road and rail graphs from the OSM fixture: topology, lengths, speeds and travel times by hand."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from pyproj import Geod

from corridormap import osm
from corridormap.errors import LayerValidationError
from corridormap.osm.graph import parse_speed_kph

XML = Path(__file__).parent / "fixtures" / "osm" / "rewari.osm"
R = 6_371_009  # osmnx's mean earth radius, metres
GEOD = Geod(ellps="WGS84")


def east_m(dlon: float, lat: float) -> float:
    """Great-circle (osmnx's sphere) length of a short due-east run."""
    return R * math.radians(dlon) * math.cos(math.radians(lat))


def geod_m(graph: nx.MultiDiGraph, u: int, v: int) -> float:
    """Length of the straight edge u-v on the WGS 84 ellipsoid."""
    a, b = graph.nodes[u], graph.nodes[v]
    return float(GEOD.inv(a["x"], a["y"], b["x"], b["y"])[2])


@pytest.fixture(scope="module")
def roads() -> nx.MultiDiGraph:
    return osm.road_graph(XML, area=None)


@pytest.fixture(scope="module")
def rail() -> nx.MultiDiGraph:
    return osm.rail_graph(XML, area=None)


def test_road_graph_is_osmnx_shaped(roads: nx.MultiDiGraph) -> None:
    assert isinstance(roads, nx.MultiDiGraph)
    assert roads.graph["crs"].lower() == "epsg:4326"
    assert all({"x", "y"} <= set(d) for _, d in roads.nodes(data=True))
    assert all({"length", "speed_kph", "travel_time"} <= set(d) for *_, d in roads.edges(data=True))


def test_road_topology_follows_oneway(roads: nx.MultiDiGraph) -> None:
    # the motorway is one-way 201 -> 203; the trunk road is two-way; the one-way expressway-trunk 209 -> 210;
    # primary and construction are left out
    assert sorted(roads.edges()) == [(201, 203), (203, 206), (206, 203), (209, 210)]


def test_road_lengths_speeds_and_times(roads: nx.MultiDiGraph) -> None:
    motorway = roads.edges[201, 203, 0]
    assert motorway["length"] == pytest.approx(geod_m(roads, 201, 203), rel=1e-7)  # on the ellipsoid
    assert abs(motorway["length"] / east_m(0.04, 28.25) - 1) > 1e-3  # not osmnx's sphere (0.3 % apart)
    assert motorway["speed_kph"] == 120.0  # tagged maxspeed wins
    trunk = roads.edges[203, 206, 0]
    assert trunk["speed_kph"] == 70.0  # layers/osm/speeds.toml, [road] trunk
    for *_, d in roads.edges(data=True):
        assert d["travel_time"] == pytest.approx(d["length"] / (d["speed_kph"] / 3.6))


def test_road_classes_can_be_chosen() -> None:
    only_motorways = osm.road_graph(XML, area=None, classes=("motorway",))
    assert sorted(only_motorways.edges()) == [(201, 203), (209, 210)]  # 209-210: trunk + expressway=yes


def test_rail_graph_is_bidirectional_and_skips_construction(rail: nx.MultiDiGraph) -> None:
    assert sorted(rail.nodes) == [101, 103, 108, 110]  # 111 is on the line under construction
    assert sorted(rail.edges()) == [(101, 103), (103, 101), (103, 108), (103, 110), (108, 103), (110, 103)]


def test_rail_speeds(rail: nx.MultiDiGraph) -> None:
    branch = rail.edges[103, 110, 0]
    assert branch["usage"] == "branch" and branch["speed_kph"] == 50.0  # speeds.toml [rail] branch
    assert branch["length"] == pytest.approx(geod_m(rail, 103, 110), rel=1e-9)  # due south 0.02 degrees
    assert abs(branch["length"] / (R * math.radians(0.02)) - 1) > 1e-3  # the sphere's figure is 0.3 % long
    merged = rail.edges[103, 108, 0]  # two tagged ways merged by simplification: the lower maxspeed
    assert merged["speed_kph"] == 100.0
    assert merged["travel_time"] == pytest.approx(merged["length"] / (100 / 3.6))


def test_area_keeps_ways_with_a_node_inside() -> None:
    rail = osm.rail_graph(XML, area=(76.59, 28.19, 76.625, 28.21))
    assert sorted(rail.nodes) == [101, 103, 106, 110]  # way 1002 (106-108) has no node inside
    roads = osm.road_graph(XML, area=(76.655, 28.265, 76.7, 28.3))
    assert sorted(roads.edges()) == [(203, 206), (206, 203)]


def test_no_ways_is_a_clear_error() -> None:
    with pytest.raises(LayerValidationError, match="no motorway\\+trunk ways found"):
        osm.road_graph(XML, area=(70.0, 20.0, 70.1, 20.1))


@pytest.mark.parametrize(
    ("tag", "kph"),
    [
        ("100", 100.0),
        ("60 mph", 96.56064),
        ("80 km/h", 80.0),
        (["100", "110"], 100.0),
        ("signals", np.nan),
        (None, np.nan),
    ],
)
def test_parse_speed(tag: object, kph: float) -> None:
    got = parse_speed_kph(tag)
    assert (np.isnan(got) and np.isnan(kph)) or got == pytest.approx(kph)


def test_graph_from_layers_uses_the_layer_names_for_speeds() -> None:
    import geopandas as gpd
    import shapely

    rail = gpd.GeoDataFrame(geometry=[shapely.LineString([(75.0, 24.0), (75.0, 24.5)])], crs=4326)
    road = gpd.GeoDataFrame(geometry=[shapely.LineString([(75.0, 24.5), (75.5, 24.5)])], crs=4326)
    graph = osm.graph_from_layers(
        {"freight_rail": rail, "expressways": road}, speeds_kph={"freight_rail": 60.0, "expressways": 90.0}
    )
    assert graph.number_of_nodes() == 3 and graph.number_of_edges() == 4  # the lines meet at (75, 24.5)
    assert sorted({d["speed_kph"] for *_, d in graph.edges(data=True)}) == [60.0, 90.0]
    assert "kind" not in rail.columns  # inputs untouched
    single = osm.graph_from_layers(rail, speeds_kph=50.0)
    assert single.number_of_edges() == 2
    with pytest.raises(ValueError, match="at least one"):
        osm.graph_from_layers({})


def test_access_card_measures_along_the_osm_rail_graph(rail: nx.MultiDiGraph) -> None:
    import geopandas as gpd
    import shapely

    from corridormap import access_card

    node = gpd.GeoDataFrame({"name": ["n"]}, geometry=[shapely.Point(76.60, 28.199)], crs=4326)
    station = gpd.GeoDataFrame({"name": ["s"]}, geometry=[shapely.Point(76.67, 28.221)], crs=4326)
    card = access_card(node, {"station": station}, network=rail)
    along_m = rail.edges[101, 103, 0]["length"] + rail.edges[103, 108, 0]["length"]
    legs_m = 2 * GEOD.inv(76.6, 28.199, 76.6, 28.2)[2]  # 0.001 degree of latitude at each end
    assert card.loc[0, "station_network_km"] == pytest.approx((along_m + legs_m) / 1000, rel=0.01)
    assert card.loc[0, "station_network_km"] > card.loc[0, "station_km"]


def test_graph_from_the_curated_freight_rail() -> None:
    import corridormap
    from corridormap.crs import to_metric

    rail = corridormap.read_layer("freight_rail")
    graph = osm.graph_from_layers({"freight_rail": rail})
    km = sum(d["length"] for *_, d in graph.edges(data=True)) / 2000  # every segment runs both ways
    assert km == pytest.approx(to_metric(rail).length.sum() / 1000, rel=0.03)  # EPSG:7755 scale < 3 %
    assert {d["speed_kph"] for *_, d in graph.edges(data=True)} == {65.0}  # layers/rules/network.toml
