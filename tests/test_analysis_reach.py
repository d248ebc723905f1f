"""Catchment rings with counts and sums, and green-power pairing, in true km from any CRS."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from corridormap.analysis.reach import catchment_table, catchments, green_power
from corridormap.crs import BELT_CRS
from corridormap.errors import LayerValidationError

CRSES = ["EPSG:4326", "EPSG:32643", BELT_CRS]
GEOD = Geod(ellps="WGS84")
NODE = (75.0, 24.0)


def _at(km: list[float], azimuth: float = 0.0) -> list[shapely.Point]:
    """Points ``km`` true kilometres from NODE along ``azimuth`` (degrees from north)."""
    n = len(km)
    lon, lat, _ = GEOD.fwd(np.full(n, NODE[0]), np.full(n, NODE[1]), np.full(n, azimuth), np.array(km) * 1000)
    return [shapely.Point(x, y) for x, y in zip(lon, lat, strict=True)]


def _gdf(geoms: list[shapely.Geometry], crs: str = "EPSG:4326", **cols: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=geoms, crs="EPSG:4326").to_crs(crs)


@pytest.mark.parametrize("crs", CRSES)
def test_counts_and_sums_per_ring_by_hand(crs):
    nodes = _gdf([shapely.Point(NODE)], crs, name=["Node"])
    zones = _gdf(
        _at([5, 20, 40, 60], azimuth=90), crs, name=list("abcd"), capacity_mw=[10.0, 20.0, np.nan, 80.0]
    )
    ports = _gdf(_at([30], azimuth=200), crs, name=["p"])
    rings = catchments(
        nodes, {"renewable_zones": (zones, "capacity_mw"), "ports": ports}, radii_km=[10, 25, 50]
    )
    assert list(rings["radius_km"]) == [10, 25, 50]
    assert list(rings["renewable_zones_count"]) == [1, 2, 3]
    assert list(rings["renewable_zones_capacity_mw_sum"]) == [10.0, 30.0, 30.0]
    assert list(rings["ports_count"]) == [0, 0, 1]
    assert list(rings["feature"]) == [0, 0, 0] and set(rings["name"]) == {"Node"}
    assert rings.crs == nodes.crs


def test_ring_radius_is_true_km_on_the_ground():
    rings = catchments(_gdf([shapely.Point(NODE)]), {}, radii_km=[50])
    boundary = shapely.get_coordinates(rings.geometry.iloc[0].exterior)
    km = GEOD.inv(np.full(len(boundary), NODE[0]), np.full(len(boundary), NODE[1]), *boundary.T)[2] / 1000
    assert np.all(np.abs(km - 50) < 0.25)  # 0.5%, the polygon's 64 vertices sit on the circle


def test_default_radii_and_table_without_geometry():
    rings = catchments(_gdf([shapely.Point(NODE), shapely.Point(76, 25)], name=["a", "b"]), {})
    assert list(rings["radius_km"]) == [10, 25, 50, 10, 25, 50]
    assert list(rings["feature"]) == [0, 0, 0, 1, 1, 1]
    table = catchment_table(rings)
    assert "geometry" not in table.columns and len(table) == 6


def test_empty_contents_and_empty_features():
    nodes = _gdf([shapely.Point(NODE)], name=["n"])
    rings = catchments(nodes, {"ports": nodes.iloc[0:0]}, radii_km=[10])
    assert list(rings["ports_count"]) == [0]
    assert len(catchments(nodes.iloc[0:0], {"ports": nodes}, radii_km=[10])) == 0


def test_bad_radius_and_missing_sum_column_are_clear_errors():
    nodes = _gdf([shapely.Point(NODE)], name=["n"])
    with pytest.raises(ValueError, match="positive"):
        catchments(nodes, {}, radii_km=[0])
    with pytest.raises(LayerValidationError, match="no column 'mw'"):
        catchments(nodes, {"z": (nodes, "mw")}, radii_km=[10])


@pytest.mark.parametrize("crs", CRSES)
def test_green_power_capacity_within_and_nearest_zone(crs):
    nodes = _gdf([shapely.Point(NODE)], crs, name=["n"])
    nodes.index = pd.Index(["node-1"])
    zones = _gdf(
        _at([50, 80, 150], azimuth=45), crs, name=["near", "mid", "far"], capacity_mw=[100.0, np.nan, 300.0]
    )
    out = green_power(nodes, zones)
    row = out.loc["node-1"]
    assert row["renewable_mw_within_100km"] == 100.0 and row["renewable_zones_within_100km"] == 2
    assert row["nearest_renewable_zone_name"] == "near" and row["nearest_renewable_zone_mw"] == 100.0
    assert row["nearest_renewable_zone_km"] == pytest.approx(50.0, rel=1e-3)
    wider = green_power(nodes, zones, within_km=200)
    assert wider.loc["node-1", "renewable_mw_within_200km"] == 400.0


def test_green_power_without_zones_gives_zero_and_nan():
    nodes = _gdf([shapely.Point(NODE)], name=["n"])
    zones = _gdf(_at([50]), name=["z"], capacity_mw=[1.0]).iloc[0:0]
    out = green_power(nodes, zones)
    assert out.loc[0, "renewable_mw_within_100km"] == 0.0
    assert pd.isna(out.loc[0, "nearest_renewable_zone_name"]) and np.isnan(
        out.loc[0, "nearest_renewable_zone_km"]
    )


def test_green_power_names_the_missing_capacity_column():
    nodes = _gdf([shapely.Point(NODE)], name=["n"])
    with pytest.raises(LayerValidationError, match="capacity_column"):
        green_power(nodes, nodes)


def test_catchments_command_writes_rings_and_table(tmp_path):
    from click.testing import CliRunner

    from corridormap.cli import cli

    result = CliRunner().invoke(cli, ["catchments", "--out", str(tmp_path), "--radii", "20,40"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "catchments.csv")
    assert set(table["radius_km"]) == {20.0, 40.0}
    assert {
        "industrial_nodes_count",
        "renewable_zones_capacity_mw_sum",
        "ports_logistics_count",
        "freight_stations_count",
    } <= set(table.columns)
    assert (table["industrial_nodes_count"] >= 1).all()  # every ring holds its own node
    rings = gpd.read_file(tmp_path / "catchments.gpkg", layer="catchments")
    assert len(rings) == len(table) and set(rings.geom_type) == {"Polygon"}
    bad = CliRunner().invoke(cli, ["catchments", "--out", str(tmp_path / "x"), "--layer", "nope"])
    assert bad.exit_code != 0 and "no layer 'nope'" in bad.output


def test_catchments_command_around_a_user_file(tmp_path):
    from click.testing import CliRunner

    from corridormap.cli import cli

    site = _gdf([shapely.box(72.5, 21.0, 72.7, 21.2)], name=["My site"])  # a polygon near Surat
    site.to_file(tmp_path / "site.geojson")
    args = [
        "catchments",
        "--features",
        str(tmp_path / "site.geojson"),
        "--radii",
        "50",
        "--out",
        str(tmp_path / "o"),
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "o" / "catchments.csv")
    assert list(table["name"]) == ["My site"] and table.loc[0, "freight_stations_count"] >= 1
