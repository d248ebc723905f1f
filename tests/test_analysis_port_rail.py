"""Honest along-network figures: rail km along a freight corridor between a node's station and ports,
the plausibility guard, stated reasons, and no inf/NaN text in the default build's CSVs and popups."""

from __future__ import annotations

import re

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from corridormap.analysis.access import access_card
from corridormap.analysis.port_rail import port_rail_card, port_rail_rules, port_rail_table
from corridormap.crs import BELT_CRS

GEOD = Geod(ellps="WGS84")
RULES = {**port_rail_rules(), "corridors": {"Test DFC": "south", "Other DFC": "north"}}


def _gdf(rows: list[dict], geoms: list[shapely.Geometry]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs="EPSG:4326")


@pytest.fixture
def world() -> dict[str, gpd.GeoDataFrame]:
    """A north-south corridor along 75 E from 20 N to 26 N with stations at 21, 23 and 25 N, a port at
    its south end and an inland terminal 10 km off it at 24 N; a second corridor with no port."""
    rail = _gdf(
        [
            {"corridor": "Test DFC", "status": "operational", "link": False},
            {"corridor": "Other DFC", "status": "operational", "link": False},
        ],
        [shapely.LineString([(75, 20), (75, 23), (75, 26)]), shapely.LineString([(80, 20), (80, 26)])],
    )
    stations = _gdf(
        [
            {"name": n, "corridor": c}
            for n, c in [("S21", "Test DFC"), ("S23", "Test DFC"), ("S25", "Test DFC"), ("O22", "Other DFC")]
        ],
        shapely.points([(75, 21), (75, 23), (75, 25), (80, 22)]),
    )
    ports = _gdf(
        [
            {"name": "Port", "status": "operational", "facility_type": "major port"},
            {"name": "ICD", "status": "operational", "facility_type": "ICD"},
            {"name": "Planned", "status": "approved", "facility_type": "major port"},
        ],
        shapely.points([(75, 20), (75.0985, 24), (75, 25.9)]),
    )
    nodes = _gdf(
        [{"name": n} for n in ["near S25", "near O22", "far away"]],
        shapely.points([(75.2, 25), (80.1, 22), (78, 23)]),
    )
    return {"rail": rail, "stations": stations, "ports": ports, "nodes": nodes}


def _table(w: dict[str, gpd.GeoDataFrame], **rules: object) -> pd.DataFrame:
    return port_rail_table(w["nodes"], w["stations"], w["rail"], w["ports"], rules={**RULES, **rules})


def test_rail_km_is_the_chainage_difference_along_the_line_plus_straight_legs(world):
    table = _table(world)
    mine = table[table["node_name"] == "near S25"].set_index("port")
    assert set(mine.index) == {"Port", "ICD"}  # the approved port has no rail yet: not counted
    rail_km = GEOD.inv(75, 20, 75, 25)[2] / 1000.0  # S25 to the south end, along the meridian
    assert mine.loc["Port", "rail_km"] == pytest.approx(rail_km, rel=1e-4)
    assert mine.loc["Port", "access_km"] == pytest.approx(GEOD.inv(75.2, 25, 75, 25)[2] / 1000.0, rel=1e-4)
    assert mine.loc["ICD", "rail_km"] == pytest.approx(GEOD.inv(75, 24, 75, 25)[2] / 1000.0, rel=1e-3)
    assert mine.loc["ICD", "port_leg_km"] == pytest.approx(10.0, abs=0.1)
    assert (
        mine.loc["Port", "via"].startswith("554 km along the Test DFC; main line")  # no quality: no caveat
        and "km from its south end" in mine.loc["Port", "via"]
    )
    card = port_rail_card(world["nodes"], table, "port_rail")
    assert card.loc[0, "port_rail_name"] == "Port"
    assert card.loc[0, "port_rail_km"] == pytest.approx(rail_km, rel=1e-4)


def test_a_corridor_without_ports_and_a_node_too_far_are_stated_not_computed(world):
    table = _table(world)
    card = port_rail_card(world["nodes"], table, "port_rail")
    assert np.isnan(card.loc[1, "port_rail_km"]) and np.isnan(card.loc[2, "port_rail_km"])
    assert card.loc[1, "port_rail_note"].startswith("not connected in this network: no port or terminal")
    assert "Other DFC" in card.loc[1, "port_rail_note"]
    assert "more than 100 km" in card.loc[2, "port_rail_note"]  # max_access_km
    assert card["port_rail_note"].notna().sum() == 2


def test_an_absurd_route_is_withheld_as_a_likely_gap(world):
    # a node just east of S23 whose only counted port sits 5 km from it but 300 km down the line:
    # the port is beside a hairpin of the corridor that the straight line cuts across
    rail = _gdf(
        [{"corridor": "Test DFC", "status": "operational", "link": False}],
        [shapely.LineString([(75, 20), (75, 23), (77.9, 23), (77.9, 20.05), (75.1, 20.05)])],
    )
    ports = _gdf(
        [{"name": "Hairpin port", "status": "operational", "facility_type": "major port"}],
        shapely.points([(75.1, 20.1)]),
    )
    nodes = _gdf([{"name": "N"}], shapely.points([(75.05, 20.3)]))
    stations = _gdf([{"name": "S20", "corridor": "Test DFC"}], shapely.points([(75, 20.3)]))
    table = port_rail_table(nodes, stations, rail, ports, rules=RULES)
    row = table.iloc[0]
    assert np.isnan(row["rail_km"]) and np.isnan(row["total_km"])
    assert row["note"].startswith("likely gap in the network")
    card = port_rail_card(nodes, table, "port_rail")
    assert (
        np.isnan(card.loc[0, "port_rail_km"]) and "likely gap in the network" in card.loc[0, "port_rail_note"]
    )


def test_network_figure_more_than_3x_straight_is_withheld_and_unreachable_is_stated():
    from corridormap.analysis.network import graph_from_lines

    x0, y0 = 4_000_000.0, 4_000_000.0
    # a U-shaped line: the node sits at one tip, the station at the other, 2 km apart across the gap
    u = shapely.LineString([(x0, y0), (x0, y0 + 50_000), (x0 + 2_000, y0 + 50_000), (x0 + 2_000, y0)])
    lone = shapely.LineString([(x0 + 90_000, y0), (x0 + 95_000, y0)])
    graph = graph_from_lines(gpd.GeoDataFrame(geometry=[u, lone], crs=BELT_CRS), speeds_kph=60.0)
    nodes = gpd.GeoDataFrame(
        {"name": ["tip", "lone"]}, geometry=shapely.points([(x0, y0), (x0 + 92_000, y0)]), crs=BELT_CRS
    )
    station = gpd.GeoDataFrame({"name": ["S"]}, geometry=shapely.points([(x0 + 2_000, y0)]), crs=BELT_CRS)
    card = access_card(nodes, {"s": station}, network=graph, network_name="test lines")
    assert np.isnan(card.loc[0, "s_network_km"])
    assert card.loc[0, "s_network_note"].startswith("likely gap in the network: 104")  # 102 planar km / 0.98
    assert np.isnan(card.loc[1, "s_network_km"])
    assert card.loc[1, "s_network_note"] == "not connected in this network"
    assert set(card["s_network"]) == {"test lines"}
    assert nx.number_weakly_connected_components(graph) == 2


_BAD = re.compile(r"(?<![A-Za-z])(inf|nan|-inf|infinity)(?![A-Za-z])", re.IGNORECASE)


def test_default_build_popups_and_access_csv_never_print_inf_or_nan(tmp_path):
    from click.testing import CliRunner

    import corridormap
    from corridormap.analysis.outputs import add_analysis
    from corridormap.catalog.load import load_catalog
    from corridormap.cli import cli
    from corridormap.render.popup import popup_html

    specs = load_catalog()
    layers, specs2, _ = add_analysis(corridormap.load_layers(catalog=specs), specs, tmp_path)
    for name in ("industrial_nodes", "gap_flags"):
        spec = specs2[name]
        for _, row in layers[name].iterrows():
            text = popup_html(row.to_dict(), spec.popup, spec.columns, spec.title)
            assert not _BAD.search(re.sub(r"<[^>]+>", " ", text)), text
    nodes = layers["industrial_nodes"]
    numeric = nodes.select_dtypes("number")
    values = numeric.to_numpy(dtype=float, na_value=np.nan)
    assert not np.isinf(values).any()
    result = CliRunner().invoke(cli, ["access", "--out", str(tmp_path / "a")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for csv in ("access.csv", "port_rail.csv"):
        text = (tmp_path / "a" / csv).read_text(encoding="utf-8")
        assert not _BAD.search(text), csv
    pairs = pd.read_csv(tmp_path / "a" / "port_rail.csv")
    assert pairs["rail_km"].notna().any() and (pairs["rail_km"].dropna() >= 0).all()
    withheld = pairs["rail_km"].isna()
    assert pairs.loc[withheld, "note"].str.len().gt(0).all()  # every empty figure has its reason


def test_a_schematic_line_makes_the_rail_km_approximate_and_says_by_how_much(world):
    rail = world["rail"].assign(geometry_quality="schematic", corridor_length_km=[700.0, None])
    line_km = GEOD.inv(75, 20, 75, 26)[2] / 1000.0
    table = _table({**world, "rail": rail})
    via = table.set_index("port").loc["Port", "via"]
    assert isinstance(via, str)
    short = round((700.0 - line_km) / 700.0 * 100)
    assert via.startswith(
        f"≈ 554 km along the Test DFC (schematic line, about {short} % shorter than the "
        "published route of 700 km)"
    )
    card = port_rail_card(world["nodes"], table, "port_rail")
    assert card.loc[0, "port_rail_via"] == via
    rail_km = GEOD.inv(75, 20, 75, 25)[2] / 1000.0
    assert table.set_index("port").loc["Port", "rail_km"] == pytest.approx(rail_km, rel=1e-4)  # not scaled
