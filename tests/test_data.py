"""Checks on the shipped corridor data in ``data/*.geojson``.

The files are hand-authored; these tests hold them to the schema in ``data/README.md``: columns and
vocabularies, counts, published lengths of the lines (geodesic, within 10 %), and every position inside
the state it claims (checked against the third-party 2019 state polygons in ``../shared/data``).
"""

from __future__ import annotations

import datetime as dt
import re
from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from corridormap.analysis.corridor import corridor_belt

DATA = Path(__file__).resolve().parents[1] / "data"
METRIC = "EPSG:7755"

LAYERS = {
    "industrial_nodes": "Point",
    "nicdc_national_nodes": "Point",
    "freight_rail": "LineString",
    "freight_stations": "Point",
    "expressways": "LineString",
    "renewable_zones": "Point",
    "ports_logistics": "Point",
}
COMMON = [
    "id",
    "name",
    "state",
    "status",
    "status_detail",
    "as_of",
    "source",
    "geometry_quality",
    "position_tolerance_km",
    "confidence",
    "notes",
]
REQUIRED = [c for c in COMMON if c != "notes"]
EXTRA = {
    "industrial_nodes": ["node_type", "corridor", "area_ha", "investment_inr_crore", "jobs", "sectors"],
    "nicdc_national_nodes": ["node_type", "corridor", "area_ha", "investment_inr_crore", "jobs", "sectors"],
    "freight_rail": [
        "corridor",
        "section",
        "from_station",
        "to_station",
        "opened",
        "length_km",
        "corridor_length_km",
        "double_track",
        "link",
    ],
    "freight_stations": ["corridor", "role", "km_from_start", "seq"],
    "expressways": [
        "expressway",
        "section",
        "length_km",
        "section_length_km",
        "lanes",
        "opened",
        "designation",
    ],
    "renewable_zones": ["zone_type", "technology", "capacity_mw", "area_ha"],
    "ports_logistics": ["facility_type", "throughput", "capacity_teu_m", "cargo_mt"],
}
STATUSES = {"operational", "under construction", "approved", "proposed"}
QUALITIES = {"surveyed", "approximate", "schematic"}
SECTORS = {
    "electronics",
    "automobiles and components",
    "batteries and EV",
    "engineering goods",
    "pharmaceuticals and medical devices",
    "semiconductors",
    "green materials",
    "food processing",
    "textiles",
    "logistics",
    "chemicals",
}
REFERENCE_NODE_IDS = [
    "dholera_sir",
    "auric_shendra",
    "auric_bidkin",
    "iitgn",
    "iitvu",
    "dpia",
    "mbir",
    "kbnir",
    "jpmia",
    "dngir",
    "mmlh_dadri",
    "mmth_boraki",
    "nangal_chaudhary",
    "pdmir",
    "insir",
    "mbsir",
    "khurpia",
    "rajpura",
    "palakkad",
    "agra_imc",
    "prayagraj_imc",
    "gaya_imc",
    "zaheerabad",
    "orvakal",
    "kopparthy",
    "hisar_imc",
]
# State names used in the data that the 2019 polygons spell differently.
STATE_ALIASES = {"Jammu and Kashmir": "Jammu & Kashmir", "Odisha": "Orissa"}
# Coastal points may fall just outside the simplified polygons (the reference measured up to 6.1 km).
COASTAL_SLACK_KM = 8.0
GEOD = Geod(ellps="WGS84")


def read(name: str) -> gpd.GeoDataFrame:
    return gpd.read_file(DATA / f"{name}.geojson")


@pytest.fixture(scope="module")
def layers() -> dict[str, gpd.GeoDataFrame]:
    return {name: read(name) for name in LAYERS}


@pytest.fixture(scope="module")
def states(shared_data: Path) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(shared_data / "india_states_2019.geojson")
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    return gdf.to_crs(METRIC)


@pytest.mark.parametrize("name", LAYERS)
def test_layer_schema(layers: dict[str, gpd.GeoDataFrame], name: str) -> None:
    gdf = layers[name]
    assert gdf.crs.to_epsg() == 4326
    assert set(gdf.geom_type) == {LAYERS[name]}
    assert gdf.geometry.is_valid.all()
    missing = [c for c in COMMON + EXTRA[name] if c not in gdf.columns]
    assert not missing, f"{name}: missing columns {missing}"
    nulls = {c: gdf.loc[gdf[c].isna(), "id"].tolist() for c in REQUIRED if gdf[c].isna().any()}
    assert not nulls, f"{name}: nulls in required columns {nulls}"
    assert gdf["id"].is_unique
    assert gdf["id"].str.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*").all()
    assert set(gdf["status"]) <= STATUSES
    assert set(gdf["geometry_quality"]) <= QUALITIES
    assert (gdf["position_tolerance_km"] > 0).all()
    as_of = pd.to_datetime(gdf["as_of"].astype(str), format="%Y-%m-%d")
    assert (as_of.dt.date <= dt.date(2026, 12, 31)).all()


@pytest.mark.parametrize(
    ("name", "quality"),
    [
        ("industrial_nodes", "approximate"),
        ("nicdc_national_nodes", "approximate"),
        ("freight_stations", "approximate"),
        ("renewable_zones", "approximate"),
        ("ports_logistics", "approximate"),
        ("freight_rail", "schematic"),
        ("expressways", "schematic"),
    ],
)
def test_geometry_quality_is_honest(layers: dict[str, gpd.GeoDataFrame], name: str, quality: str) -> None:
    assert set(layers[name]["geometry_quality"]) == {quality}


@pytest.mark.parametrize("name", LAYERS)
def test_coordinates_have_five_decimals_at_most(name: str) -> None:
    gdf = read(name)
    coords = shapely.get_coordinates(gdf.geometry.values)
    assert (abs(coords * 1e5 - (coords * 1e5).round()) < 1e-6).all()
    assert ((coords[:, 0] > 60) & (coords[:, 0] < 98) & (coords[:, 1] > 6) & (coords[:, 1] < 37)).all()


# NICDC's nodes on other corridors outside the DMIC belt: their own layer (off at start, outside belt stats)
NATIONAL_NODE_IDS = {
    "khurpia",
    "rajpura",
    "palakkad",
    "prayagraj_imc",
    "gaya_imc",
    "zaheerabad",
    "orvakal",
    "kopparthy",
}


def test_counts(layers: dict[str, gpd.GeoDataFrame]) -> None:
    nodes = layers["industrial_nodes"]
    national = layers["nicdc_national_nodes"]
    assert len(nodes) == 35 and len(national) == 8
    assert set(national["id"]) == NATIONAL_NODE_IDS
    assert not set(nodes["id"]) & set(national["id"])
    assert set(REFERENCE_NODE_IDS) <= set(nodes["id"]) | set(national["id"])
    assert layers["expressways"]["expressway"].nunique() == 13
    assert len(layers["renewable_zones"]) == 16
    assert len(layers["ports_logistics"]) == 15
    stations = layers["freight_stations"]
    assert stations.groupby("corridor").size().to_dict() == {"Eastern DFC": 36, "Western DFC": 39}


def test_node_vocabularies(layers: dict[str, gpd.GeoDataFrame]) -> None:
    nodes = pd.concat([layers["industrial_nodes"], layers["nicdc_national_nodes"]])
    used = {s for value in nodes["sectors"].dropna() for s in value.split("; ")}
    assert used <= SECTORS, used - SECTORS
    assert {"Japan industrial township", "sector park"} <= set(nodes["node_type"])
    assert (nodes["area_ha"].dropna() > 0).all()


def test_national_nodes_lie_outside_the_belt_and_the_dmic(layers: dict[str, gpd.GeoDataFrame]) -> None:
    belt = corridor_belt(layers["freight_rail"], corridor="Western DFC", buffer_km=150.0).union_all()
    national = layers["nicdc_national_nodes"]
    assert not national.within(belt).any()
    assert not national["corridor"].str.startswith("DMIC").any()
    nodes = layers["industrial_nodes"]
    assert (nodes.within(belt) | nodes["corridor"].str.startswith("DMIC")).all()


def test_added_nodes_carry_provenance(layers: dict[str, gpd.GeoDataFrame]) -> None:
    nodes = layers["industrial_nodes"]
    added = nodes[~nodes["id"].isin(REFERENCE_NODE_IDS)]
    assert len(added) >= 10
    for _, row in added.iterrows():
        assert row["confidence"].startswith("coords from-memory"), row["id"]
        assert row["position_tolerance_km"] >= 6.0, row["id"]
        assert all(s.startswith("https://") for s in row["source"].split(" ; ")), row["id"]


def test_vocabularies(layers: dict[str, gpd.GeoDataFrame]) -> None:
    assert set(layers["freight_rail"]["corridor"]) == {"Western DFC", "Eastern DFC"}
    assert set(layers["freight_stations"]["role"]) <= {
        "terminus",
        "junction",
        "crossing",
        "cargo terminal",
        "route point",
    }
    assert set(layers["renewable_zones"]["technology"]) == {"solar", "wind", "hybrid", "green hydrogen"}


def geodesic_km(geoms: gpd.GeoSeries) -> float:
    return sum(GEOD.geometry_length(g) for g in geoms) / 1000.0


@pytest.mark.parametrize(("corridor", "published_km"), [("Western DFC", 1506.0), ("Eastern DFC", 1337.0)])
def test_dfc_length_matches_published(
    layers: dict[str, gpd.GeoDataFrame], corridor: str, published_km: float
) -> None:
    rail = layers["freight_rail"]
    built = rail[(rail["corridor"] == corridor) & (rail["status"] != "proposed")]
    assert set(built["corridor_length_km"]) == {published_km}
    assert geodesic_km(built.geometry) == pytest.approx(published_km, rel=0.10)


def test_dfc_proposed_extension(layers: dict[str, gpd.GeoDataFrame]) -> None:
    rail = layers["freight_rail"]
    proposed = rail[rail["status"] == "proposed"]
    assert proposed["id"].tolist() == ["edfc_sonnagar_dankuni"]
    assert geodesic_km(proposed.geometry) == pytest.approx(538.0, rel=0.10)


def test_dfc_sections_connect(layers: dict[str, gpd.GeoDataFrame]) -> None:
    rail = layers["freight_rail"].set_index("id")
    ends = {i: (g.coords[0], g.coords[-1]) for i, g in rail.geometry.items()}
    west = [i for i in rail.index if i.startswith("wdfc_")]
    for a, b in pairwise(west):
        assert ends[a][1] == ends[b][0], (a, b)
    assert ends["edfc_khurja_dadri_link"][1] == ends["wdfc_rewari_dadri"][1]


def test_dfc_published_section_lengths(layers: dict[str, gpd.GeoDataFrame]) -> None:
    rail = layers["freight_rail"]
    published = rail.dropna(subset=["length_km"])
    for _, row in published.iterrows():
        computed = GEOD.geometry_length(row.geometry) / 1000.0
        assert computed == pytest.approx(row["length_km"], rel=0.25), row["id"]


def test_expressway_sections_connect(layers: dict[str, gpd.GeoDataFrame]) -> None:
    roads = layers["expressways"]
    for name, group in roads.groupby("expressway"):
        if len(group) == 1:
            continue
        vertices = [set(g.coords) for g in group.geometry]
        for i, own in enumerate(vertices):
            others = set().union(*(v for j, v in enumerate(vertices) if j != i))
            assert own & others, f"{name}: section {group['id'].iloc[i]} touches no other section"


@pytest.mark.parametrize("name", ["freight_rail", "expressways"])
def test_opened_is_a_date_not_after_as_of(layers: dict[str, gpd.GeoDataFrame], name: str) -> None:
    gdf = layers[name]
    opened = gdf.dropna(subset=["opened"])
    assert len(opened) > 0
    when = pd.to_datetime(opened["opened"].astype(str), format="%Y-%m-%d")
    as_of = pd.to_datetime(opened["as_of"].astype(str), format="%Y-%m-%d")
    assert (when <= as_of).all(), opened.loc[(when > as_of).values, "id"].tolist()
    assert (opened["status"] == "operational").all()


def test_expressway_lengths_match_published(layers: dict[str, gpd.GeoDataFrame]) -> None:
    roads = layers["expressways"]
    roads = roads[roads["status"] != "proposed"]
    for name, group in roads.groupby("expressway"):
        assert group["length_km"].nunique() == 1, name
        published = float(group["length_km"].iloc[0])
        assert geodesic_km(group.geometry) == pytest.approx(published, rel=0.10), name


def state_problems(states: gpd.GeoDataFrame, point: shapely.Point, claimed: list[str]) -> str | None:
    claimed = [STATE_ALIASES.get(s, s) for s in claimed]
    inside = states.loc[states.contains(point), "st_name"].tolist()
    if inside:
        return None if inside[0] in claimed else f"inside {inside[0]}, claims {claimed}"
    distance = states.distance(point)
    nearest = states.loc[distance.idxmin(), "st_name"]
    km = distance.min() / 1000.0
    if nearest in claimed and km <= COASTAL_SLACK_KM:
        return None
    return f"outside all states; nearest {nearest} at {km:.1f} km, claims {claimed}"


@pytest.mark.parametrize("name", LAYERS)
def test_positions_lie_in_their_states(
    layers: dict[str, gpd.GeoDataFrame], states: gpd.GeoDataFrame, name: str
) -> None:
    gdf = layers[name].to_crs(METRIC)
    problems = []
    for _, row in gdf.iterrows():
        claimed = row["state"].split("; ")
        vertices = (
            [row.geometry]
            if row.geometry.geom_type == "Point"
            else [shapely.Point(c) for c in row.geometry.coords]
        )
        for vertex in vertices:
            problem = state_problems(states, vertex, claimed)
            if problem:
                problems.append(f"{row['id']}: {problem}")
    assert not problems, problems


@pytest.mark.parametrize(("claimed", "expected"), [(["Gujarat"], None), (["Rajasthan"], "inside Gujarat")])
def test_state_check_catches_a_wrong_state(
    states: gpd.GeoDataFrame, claimed: list[str], expected: str | None
) -> None:
    ahmedabad = gpd.GeoSeries([shapely.Point(72.58, 23.03)], crs=4326).to_crs(METRIC).iloc[0]
    problem = state_problems(states, ahmedabad, claimed)
    assert (problem is None) if expected is None else problem.startswith(expected)


LENGTH_NOTE = re.compile(r"Length check: the line measures (?P<km>[\d.]+) km on the ellipsoid")
CHAINAGE_NOTE = re.compile(
    r"Chainage: signal-book (?P<pub>[\d.]+) km from New JNPT; "
    r"the schematic line reaches this point at (?P<km>[\d.]+) km"
)


def test_dfc_sections_explain_their_length(layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Every DFC section states its measured length beside the published one, and the figure is true."""
    for _, row in layers["freight_rail"].iterrows():
        match = LENGTH_NOTE.search(row["notes"] or "")
        assert match, f"{row['id']}: notes lack the length check"
        measured = GEOD.geometry_length(row.geometry) / 1000.0
        assert float(match["km"]) == pytest.approx(measured, abs=0.1), row["id"]


def test_wdfc_station_chainage_is_stated(layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Each WDFC station with a signal-book chainage states the line's chainage there; that figure is true."""
    rail = layers["freight_rail"]
    coords: list[tuple[float, float]] = []
    for geom in rail.loc[rail["id"].str.startswith("wdfc_"), "geometry"]:
        part = list(geom.coords)
        coords += part if not coords else part[1:]
    chainage = [0.0]
    for a, b in pairwise(coords):
        chainage.append(chainage[-1] + GEOD.inv(*a, *b)[2] / 1000.0)
    at = dict(zip(coords, chainage, strict=True))
    stations = layers["freight_stations"].dropna(subset=["km_from_start"])
    assert len(stations) >= 15
    for _, row in stations.iterrows():
        match = CHAINAGE_NOTE.search(row["notes"] or "")
        assert match, f"{row['id']}: notes lack the chainage comparison"
        assert float(match["pub"]) == pytest.approx(row["km_from_start"])
        assert float(match["km"]) == pytest.approx(at[(row.geometry.x, row.geometry.y)], abs=0.1), row["id"]


EXPRESSWAY_NOTE = re.compile(
    r"Length check: the expressway's sections other than proposed ones measure (?P<km>[\d.]+) km"
)


def test_expressways_explain_their_length(layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Every expressway section states the whole expressway's measured length, and the figure is true."""
    roads = layers["expressways"]
    built = roads[roads["status"] != "proposed"]
    totals = {name: geodesic_km(group.geometry) for name, group in built.groupby("expressway")}
    for _, row in roads.iterrows():
        match = EXPRESSWAY_NOTE.search(row["notes"] or "")
        assert match, f"{row['id']}: notes lack the length check"
        assert float(match["km"]) == pytest.approx(totals[row["expressway"]], abs=0.1), row["id"]
