"""Line layers as an osmnx-shaped graph, and distances along it."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import Geod

from corridormap.analysis.access import access_card
from corridormap.analysis.network import default_speeds, graph_from_lines, network_km
from corridormap.crs import BELT_CRS, scale_factor
from corridormap.errors import CRSError, LayerValidationError

X0, Y0 = 4_000_000.0, 4_000_000.0  # EPSG:7755 false origin: 80 E, 24 N


def _k() -> float:
    return float(scale_factor(np.array([X0 + 50_000]), np.array([Y0]))[0])


def _lines(gap_m: float = 20.0, crs: str = BELT_CRS) -> gpd.GeoDataFrame:
    """Two sections along y = Y0: 0-50 km (rail) and 50-100 km (expressway), ``gap_m`` apart."""
    geoms = [
        shapely.LineString([(X0, Y0), (X0 + 50_000, Y0)]),
        shapely.LineString([(X0 + 50_000 + gap_m, Y0), (X0 + 100_000, Y0)]),
    ]
    return gpd.GeoDataFrame({"kind": ["freight_rail", "expressways"]}, geometry=geoms, crs=BELT_CRS).to_crs(
        crs
    )


def _pts(xy: list[tuple[float, float]], crs: str = BELT_CRS) -> gpd.GeoDataFrame:
    names = [f"p{i}" for i in range(len(xy))]
    return gpd.GeoDataFrame({"name": names}, geometry=shapely.points(xy), crs=BELT_CRS).to_crs(crs)


def test_graph_has_osmnx_shape_both_directions_and_true_lengths():
    graph = graph_from_lines(_lines())
    assert isinstance(graph, nx.MultiDiGraph) and graph.graph["crs"] == BELT_CRS
    assert graph.number_of_nodes() == 3 and graph.number_of_edges() == 4  # the 20 m gap is snapped
    for _, _, data in graph.edges(data=True):
        assert data["length"] == pytest.approx(50_000 / _k(), rel=1e-4)
        assert data["travel_time"] == pytest.approx(data["length"] / (data["speed_kph"] / 3.6))
    speeds = sorted({d["speed_kph"] for _, _, d in graph.edges(data=True)})
    assert speeds == sorted([default_speeds()["freight_rail"], default_speeds()["expressways"]])
    assert all({"x", "y"} <= set(d) for _, d in graph.nodes(data=True))


def test_sections_farther_apart_than_snap_stay_apart():
    graph = graph_from_lines(_lines(gap_m=500.0), speeds_kph=50.0)
    assert graph.number_of_nodes() == 4 and nx.number_weakly_connected_components(graph) == 2
    assert {d["speed_kph"] for _, _, d in graph.edges(data=True)} == {50.0}


def test_missing_speed_for_a_kind_is_a_clear_error():
    with pytest.raises(LayerValidationError, match="no speed for 'kind' value"):
        graph_from_lines(_lines(), speeds_kph={"freight_rail": 60.0})


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32644", BELT_CRS])
def test_network_km_is_leg_plus_along_plus_leg_in_any_crs(crs):
    graph = graph_from_lines(_lines(crs=crs))
    target = _pts([(X0 + 90_000, Y0 + 1_000)], crs)
    nodes = _pts([(X0 + 10_000, Y0 - 2_000)], crs)
    card = access_card(nodes, {"port": target}, network=graph)
    assert card.loc[0, "port_network_km"] == pytest.approx((2 + 80 + 1) / _k(), rel=2e-3)
    assert card.loc[0, "port_km"] < card.loc[0, "port_network_km"]


def test_point_and_target_on_the_same_edge_go_straight_along_it():
    graph = graph_from_lines(_lines())
    km = network_km(graph, np.array([[X0 + 60_000, Y0 + 1_000]]), _pts([(X0 + 70_000, Y0 - 1_000)]))
    assert km[0] == pytest.approx((1 + 10 + 1) / _k(), rel=2e-3)


def test_osmnx_style_lonlat_graph_with_geodesic_lengths():
    geod = Geod(ellps="WGS84")
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for n, (lon, lat) in enumerate([(75.0, 23.0), (75.0, 24.0), (75.0, 25.0)]):
        graph.add_node(n, x=lon, y=lat)
    for u, v in [(0, 1), (1, 2)]:
        length = geod.inv(75.0, 23.0 + u, 75.0, 23.0 + v)[2]
        graph.add_edge(u, v, length=length)
        graph.add_edge(v, u, length=length)
    nodes = gpd.GeoDataFrame({"name": ["n"]}, geometry=[shapely.Point(75.0, 23.0)], crs="EPSG:4326")
    ports = gpd.GeoDataFrame({"name": ["p"]}, geometry=[shapely.Point(75.0, 25.0)], crs="EPSG:4326")
    card = access_card(nodes, {"port": ports}, network=graph)
    assert card.loc[0, "port_network_km"] == pytest.approx(geod.inv(75, 23, 75, 25)[2] / 1000, rel=1e-3)


def test_line_targets_empty_targets_and_max_distance_give_nan():
    graph = graph_from_lines(_lines())
    xy = np.array([[X0 + 10_000, Y0]])
    assert np.isnan(network_km(graph, xy, _lines()))
    assert np.isnan(network_km(graph, xy, _pts([(X0, Y0)]).iloc[0:0])).all()
    assert np.isnan(network_km(graph, xy, _pts([(X0 + 90_000, Y0)]), max_distance_km=50))


def test_graph_without_crs_is_refused():
    graph = nx.MultiDiGraph()
    graph.add_node(0, x=0.0, y=0.0)
    with pytest.raises(CRSError, match="graph\\['crs'\\]"):
        network_km(graph, np.array([[0.0, 0.0]]), _pts([(1.0, 1.0)]))


def test_a_graphml_graph_with_string_attributes_reads_back_for_the_access_card(tmp_path):
    from click.testing import CliRunner

    from corridormap.analysis.network import read_graphml
    from corridormap.cli import cli

    geod = Geod(ellps="WGS84")
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for n, lat in enumerate([21.0, 21.5]):
        graph.add_node(n, x=str(73.0), y=str(lat))  # as osmnx writes them: strings
    length = geod.inv(73.0, 21.0, 73.0, 21.5)[2]
    wkt = "LINESTRING (73 21, 73 21.5)"
    graph.add_edge(0, 1, length=str(length), geometry=wkt)
    graph.add_edge(1, 0, length=str(length), geometry="LINESTRING (73 21.5, 73 21)")
    nx.write_graphml(graph, tmp_path / "g.graphml")
    back = read_graphml(tmp_path / "g.graphml")
    assert back.nodes["0"]["y"] == 21.0 and isinstance(back.edges["0", "1", 0]["length"], float)
    nodes = gpd.GeoDataFrame({"name": ["n"]}, geometry=[shapely.Point(73.0, 21.0)], crs="EPSG:4326")
    ports = gpd.GeoDataFrame({"name": ["p"]}, geometry=[shapely.Point(73.0, 21.5)], crs="EPSG:4326")
    card = access_card(nodes, {"port": ports}, network=back)
    assert card.loc[0, "port_network_km"] == pytest.approx(length / 1000, rel=1e-3)
    result = CliRunner().invoke(
        cli, ["access", "--graph", str(tmp_path / "g.graphml"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    with pytest.raises(CRSError, match="no 'crs'"):
        nx.write_graphml(nx.MultiDiGraph(), tmp_path / "bare.graphml")
        read_graphml(tmp_path / "bare.graphml")


def test_an_osmnx_graph_saved_as_graphml_measures_the_same(tmp_path):
    from pathlib import Path

    import corridormap.osm as osm
    from corridormap.analysis.network import read_graphml
    from corridormap.osm.graph import save_graph

    rail = osm.rail_graph(Path(__file__).parent / "fixtures" / "osm" / "rewari.osm", area=None)
    node = gpd.GeoDataFrame({"name": ["n"]}, geometry=[shapely.Point(76.60, 28.199)], crs="EPSG:4326")
    station = gpd.GeoDataFrame({"name": ["s"]}, geometry=[shapely.Point(76.67, 28.221)], crs="EPSG:4326")
    direct = access_card(node, {"station": station}, network=rail)["station_network_km"]
    path = save_graph(rail, tmp_path / "rail.graphml")
    again = access_card(node, {"station": station}, network=read_graphml(path))["station_network_km"]
    assert np.isfinite(direct.iloc[0]) and again.iloc[0] == pytest.approx(direct.iloc[0], rel=1e-9)


def test_an_empty_line_layer_gives_an_empty_graph_and_nan_distances():
    graph = graph_from_lines(_lines().iloc[0:0])
    assert graph.number_of_nodes() == 0
    assert np.isnan(network_km(graph, np.array([[X0, Y0]]), _pts([(X0 + 1, Y0)]))).all()
