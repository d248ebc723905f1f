"""The access card: nearest features with names and true km, whatever CRS the input came in."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from corridormap.analysis.access import access_card
from corridormap.analysis.nearest import nearest_table
from corridormap.crs import BELT_CRS, scale_factor, true_km

CRSES = ["EPSG:4326", "EPSG:32643", BELT_CRS]
GEOD = Geod(ellps="WGS84")
# one degree of latitude at 24-25 N along a meridian is 110.77 km (meridian arc, WGS 84)
DEG_LAT_KM = GEOD.inv(75.0, 24.0, 75.0, 25.0)[2] / 1000.0


def _lonlat(names: list[str], points: list[tuple[float, float]], **cols: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": names, **cols}, geometry=[shapely.Point(p) for p in points], crs="EPSG:4326"
    )


def _in(gdf: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    return gdf.to_crs(crs)


@pytest.fixture
def nodes() -> gpd.GeoDataFrame:
    out = _lonlat(["Dholera", "Ujjain"], [(75.0, 24.0), (76.0, 26.0)])
    out.index = pd.Index([10, 20], name="node")
    return out


@pytest.fixture
def stations() -> gpd.GeoDataFrame:
    return _lonlat(["North", "Far"], [(75.0, 25.0), (80.0, 30.0)])


@pytest.mark.parametrize("crs", CRSES)
def test_nearest_station_name_and_km_are_the_same_in_every_crs(nodes, stations, crs):
    card = access_card(_in(nodes, crs), {"freight_station": _in(stations, crs)})
    assert list(card["freight_station_name"]) == ["North", "North"]
    assert card.loc[10, "freight_station_km"] == pytest.approx(DEG_LAT_KM, rel=1e-3)
    expected = GEOD.inv(76.0, 26.0, 75.0, 25.0)[2] / 1000.0
    assert card.loc[20, "freight_station_km"] == pytest.approx(expected, rel=1e-3)


def test_input_untouched_index_crs_and_columns_kept(nodes, stations):
    before = nodes.copy()
    card = access_card(nodes, {"port": stations})
    pd.testing.assert_frame_equal(nodes, before)
    assert card.index.equals(nodes.index) and card.crs == nodes.crs
    assert list(card.columns) == ["name", "geometry", "port_name", "port_km"]


@pytest.mark.parametrize("crs", CRSES)
def test_nearest_point_on_a_line_is_the_perpendicular_foot(crs):
    # a meridian line at 75 E; the node 1 degree of longitude east of it at the equator-ish 24 N
    line = gpd.GeoDataFrame(
        {"corridor": ["Western DFC"]},
        geometry=[shapely.LineString([(75.0, 20.0), (75.0, 28.0)])],
        crs="EPSG:4326",
    )
    node = _lonlat(["A"], [(75.5, 24.0)])
    card = access_card(_in(node, crs), {"dfc_line": (_in(line, crs), "corridor")})
    expected = GEOD.inv(75.5, 24.0, 75.0, 24.0)[2] / 1000.0
    assert card.loc[0, "dfc_line_name"] == "Western DFC"
    assert card.loc[0, "dfc_line_km"] == pytest.approx(expected, rel=2e-3)


def test_belt_scale_distances_agree_with_geodesic_within_half_a_percent():
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(72.0, 78.5, 300), rng.uniform(18.5, 29.0, 300)
    nodes = _lonlat([f"n{i}" for i in range(300)], list(zip(lon, lat, strict=True)))
    target = _lonlat(["T"], [(74.5, 23.5)])
    km = access_card(nodes, {"t": target})["t_km"].to_numpy()
    geodesic = GEOD.inv(lon, lat, np.full(300, 74.5), np.full(300, 23.5))[2] / 1000.0
    assert np.max(np.abs(km / geodesic - 1)) < 0.005
    assert np.max(np.abs(km / geodesic - 1)) < 0.001  # the scale correction does better than required


def test_scale_factor_matches_pyproj_and_true_km_divides_by_it():
    from pyproj import Proj, Transformer

    x, y = Transformer.from_crs("EPSG:4326", BELT_CRS, always_xy=True).transform([73.0, 77.0], [19.0, 28.5])
    expected = Proj(BELT_CRS).get_factors([73.0, 77.0], [19.0, 28.5]).meridional_scale
    assert scale_factor(np.array(x), np.array(y)) == pytest.approx(expected, rel=1e-6)
    assert true_km(np.array([1000.0]), np.array(x[:1]), np.array(y[:1]))[0] == pytest.approx(1 / expected[0])


def test_ties_go_to_the_first_target_in_layer_order():
    # two stations the same planar distance either side of the node, in the belt CRS
    node = gpd.GeoDataFrame({"name": ["N"]}, geometry=[shapely.Point(4e6, 4e6)], crs=BELT_CRS)
    pts = [shapely.Point(4e6 - 5000, 4e6), shapely.Point(4e6 + 5000, 4e6)]
    for names in (["West", "East"], ["East", "West"]):
        stations = gpd.GeoDataFrame(
            {"name": names}, geometry=pts if names[0] == "West" else pts[::-1], crs=BELT_CRS
        )
        assert access_card(node, {"s": stations}).loc[0, "s_name"] == names[0]
        table = nearest_table(np.array([[4e6, 4e6]]), stations.geometry.values, k=2)
        assert list(table["target"]) == [0, 1]


def test_ties_between_lines_go_to_the_first_line():
    lines = [shapely.LineString([(0, 10), (100, 10)]), shapely.LineString([(0, -10), (100, -10)])]
    table = nearest_table(np.array([[50.0, 0.0], [50.0, 30.0]]), np.array(lines, dtype=object))
    assert list(table["target"]) == [0, 0]
    assert list(table["distance_m"]) == [10.0, 20.0]


def test_empty_target_and_nothing_in_reach_give_nan_and_none(nodes, stations):
    empty = stations.iloc[0:0]
    card = access_card(nodes, {"port": empty, "freight_station": stations}, max_distance_km=120)
    assert card["port_km"].isna().all() and card["port_name"].isna().all()
    assert card.loc[10, "freight_station_name"] == "North"
    assert pd.isna(card.loc[20, "freight_station_name"]) and np.isnan(card.loc[20, "freight_station_km"])


def test_empty_nodes_give_an_empty_card_with_the_columns(nodes, stations):
    card = access_card(nodes.iloc[0:0], {"port": stations})
    assert len(card) == 0 and {"port_name", "port_km"} <= set(card.columns)


def test_k_nearest_adds_suffixed_columns_in_distance_order(nodes, stations):
    more = pd.concat([stations, _lonlat(["South"], [(75.0, 23.5)])], ignore_index=True)
    card = access_card(nodes, {"s": more}, k=2)
    assert card.loc[10, "s_name"] == "South" and card.loc[10, "s_name_2"] == "North"
    assert card.loc[10, "s_km"] < card.loc[10, "s_km_2"]
    assert card.loc[10, "s_km"] == pytest.approx(DEG_LAT_KM / 2, rel=2e-3)


def test_k_larger_than_the_layer_leaves_the_extra_ranks_empty(nodes, stations):
    card = access_card(nodes, {"s": stations}, k=3)
    assert card["s_name_3"].isna().all() and card["s_km_3"].isna().all()


def test_inside_a_polygon_target_is_zero_km():
    zone = gpd.GeoDataFrame(
        {"name": ["Zone"]},
        geometry=[shapely.segmentize(shapely.box(74.0, 23.0, 76.0, 25.0), 0.01)],
        crs="EPSG:4326",
    )
    nodes = _lonlat(["in", "out"], [(75.0, 24.0), (75.0, 26.0)])
    card = access_card(nodes, {"renewable_zone": zone})
    assert card.loc[0, "renewable_zone_km"] == 0.0
    assert card.loc[1, "renewable_zone_km"] == pytest.approx(DEG_LAT_KM, rel=3e-3)


def _random_case(kind: str, seed: int, *, extent: float, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Random query points and about ten random targets of one kind, in metres."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, extent, (points, 2))
    if kind == "points":
        return xy, shapely.points(rng.uniform(0, extent, (12, 2)))
    if kind == "lines":
        return xy, shapely.linestrings(rng.uniform(0, extent, (9, 4, 2)))
    return xy, shapely.buffer(shapely.points(rng.uniform(0, extent, (9, 2))), extent / 20)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("kind", ["points", "lines", "polygons"])
def test_same_answers_as_sjoin_nearest(seed, kind):
    xy, geoms = _random_case(kind, seed, extent=100_000.0, points=400)
    targets = gpd.GeoDataFrame(geometry=geoms, crs=BELT_CRS)
    points = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=BELT_CRS)
    joined = gpd.sjoin_nearest(points, targets, distance_col="d")  # every tied target, one row each
    first = joined.groupby(level=0).agg(d=("d", "first"), target=("index_right", "min"))
    table = nearest_table(xy, geoms)
    np.testing.assert_allclose(table["distance_m"], first["d"], rtol=1e-9, atol=1e-6)
    assert (table["target"].to_numpy() == first["target"].to_numpy()).all()


def test_max_distance_drops_far_targets_in_the_table():
    table = nearest_table(np.array([[0.0, 0.0]]), shapely.points([[300.0, 400.0]]), max_distance_m=499.0)
    assert table.empty
    table = nearest_table(np.array([[0.0, 0.0]]), shapely.points([[300.0, 400.0]]), max_distance_m=500.0)
    assert list(table["distance_m"]) == [500.0]


def test_missing_crs_is_a_clear_error(stations):
    from corridormap.errors import CRSError

    with pytest.raises(CRSError, match="no coordinate reference system"):
        access_card(stations.set_crs(None, allow_override=True), {"s": stations})


# --- the command -----------------------------------------------------------------------------------
def _run(args: list[str]):
    from click.testing import CliRunner

    from corridormap.cli import cli

    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_access_command_writes_csv_and_gpkg_and_refuses_to_overwrite(tmp_path):
    result = _run(["access", "--out", str(tmp_path), "--no-network"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "access.csv")
    assert {
        "freight_station_name",
        "freight_station_km",
        "dfc_line_km",
        "expressway_km",
        "port_km",
        "renewable_zone_km",
        "renewable_mw_within_100km",
        "lon",
        "lat",
    } <= set(table.columns)
    layer = gpd.read_file(tmp_path / "access.gpkg", layer="access_card")
    assert len(layer) == len(table) and layer.crs == "EPSG:4326"
    again = _run(["access", "--out", str(tmp_path)])
    assert again.exit_code != 0 and "--overwrite" in again.output


def test_access_command_takes_a_user_nodes_file_and_checks_its_geometry(tmp_path):
    nodes = _lonlat(["Mine"], [(73.0, 21.0)])
    nodes.to_file(tmp_path / "nodes.geojson")
    result = _run(
        ["access", "--out", str(tmp_path / "o"), "--nodes", str(tmp_path / "nodes.geojson"), "--k", "2"]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "o" / "access.csv")
    assert list(table["name"]) == ["Mine"] and "port_name_2" in table.columns
    assert {"port_rail_km", "port_rail_note", "terminal_rail_km"} <= set(table.columns)
    assert "freight_station_network_km" not in table.columns  # the shipped lines are not a road network
    line = gpd.GeoDataFrame(
        {"name": ["l"]}, geometry=[shapely.LineString([(73, 21), (74, 22)])], crs="EPSG:4326"
    )
    line.to_file(tmp_path / "line.geojson")
    bad = _run(["access", "--out", str(tmp_path / "p"), "--nodes", str(tmp_path / "line.geojson")])
    assert bad.exit_code != 0 and "--nodes needs Point" in bad.output


def test_public_names_resolve_to_the_analysis_functions():
    import corridormap

    for name in ("access_card", "chainage", "membership", "catchments", "green_power", "find_gaps"):
        assert callable(getattr(corridormap, name))


def test_build_hook_adds_cards_rings_flags_and_strip_diagrams(tmp_path):
    import corridormap
    from corridormap.analysis.outputs import add_analysis
    from corridormap.catalog.load import load_catalog

    specs = load_catalog()
    layers = corridormap.load_layers(catalog=specs)
    before = layers["industrial_nodes"].copy()
    out_layers, out_specs, files = add_analysis(layers, specs, tmp_path)
    pd.testing.assert_frame_equal(layers["industrial_nodes"], before)  # input untouched
    nodes = out_layers["industrial_nodes"]
    popup = set(out_specs["industrial_nodes"].popup)
    wanted = {"freight_station_km", "port_rail_km", "port_rail_note", "renewable_mw_within_100km"}
    assert wanted <= popup & set(nodes.columns)
    assert not any(c.endswith("_network_km") for c in nodes.columns)
    assert nodes["freight_station_km"].notna().all()
    assert {"catchment_rings", "gap_flags"} <= set(out_layers) & set(out_specs)
    assert out_specs["catchment_rings"].group == "Analysis"
    assert sorted(files) == ["strip_dme.svg", "strip_wdfc.svg"] and files["strip_wdfc.svg"].startswith(
        b"<svg"
    )


@pytest.mark.parametrize("kind", ["points", "lines", "polygons"])
def test_k_nearest_matches_brute_force(kind):
    xy, geoms = _random_case(kind, 5, extent=50_000.0, points=300)
    table = nearest_table(xy, geoms, k=3)
    dist = shapely.distance(shapely.points(xy)[:, None], geoms[None, :])
    order = np.lexsort((np.broadcast_to(np.arange(len(geoms)), dist.shape), dist), axis=1)[:, :3]
    assert len(table) == 3 * len(xy)
    np.testing.assert_array_equal(table["target"].to_numpy().reshape(-1, 3), order)
    np.testing.assert_allclose(
        table["distance_m"].to_numpy().reshape(-1, 3), np.take_along_axis(dist, order, 1), atol=1e-6
    )


@pytest.mark.parametrize("k", [1, 2])
def test_the_strtree_path_for_many_segments_gives_the_same_answers(monkeypatch, k):
    import corridormap.analysis.nearest as nearest

    rng = np.random.default_rng(9)
    xy = rng.uniform(0, 80_000, (500, 2))
    geoms = shapely.linestrings(rng.uniform(0, 80_000, (10, 6, 2)))
    dense = nearest_table(xy, geoms, k=k)
    monkeypatch.setattr(nearest, "_DENSE_LIMIT", 0)
    tree = nearest_table(xy, geoms, k=k)
    pd.testing.assert_frame_equal(dense, tree)


def test_duplicate_index_labels_and_a_second_run_keep_rows_and_columns(stations):
    nodes = _lonlat(["a", "b"], [(75.0, 24.0), (76.0, 26.0)])
    nodes.index = pd.Index([7, 7])
    card = access_card(nodes, {"s": stations})
    assert list(card["name"]) == ["a", "b"] and list(card.index) == [7, 7]
    again = access_card(card, {"s": stations})
    assert list(again.columns) == list(card.columns)
    np.testing.assert_allclose(again["s_km"], card["s_km"])


@pytest.mark.parametrize("bad", [float("nan"), -1.0, 0.0, float("inf")])
def test_a_max_distance_that_is_not_a_positive_km_is_refused(nodes, stations, bad):
    from corridormap.errors import OptionError

    with pytest.raises(OptionError, match="max_distance_km") as err:
        access_card(nodes, {"station": stations}, max_distance_km=bad)
    assert isinstance(err.value, ValueError) and "Fix:" in str(err.value)


def test_a_node_with_a_nan_coordinate_is_named(stations):
    from corridormap.errors import LayerValidationError

    nodes = gpd.GeoDataFrame(
        {"id": ["ok", "broken"]},
        geometry=[shapely.Point(75.0, 24.0), shapely.Point(float("nan"), 24.0)],
        crs="EPSG:4326",
    )
    with pytest.raises(LayerValidationError, match=r"NaN or infinite: row 1 \(id 'broken'\)"):
        access_card(nodes, {"station": stations})


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("bad", ["point", "line"])
def test_access_card_refuses_a_target_with_nan_coordinates(k, bad):
    # before: k = 1 ignored the feature silently; k = 2 named it with km NaN (line) or raised
    # scipy's bare "data must be finite" (point targets)
    from corridormap.errors import LayerValidationError

    nodes = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(75.0, 24.0)], crs="EPSG:4326")
    with np.errstate(invalid="ignore"):  # shapely warns when it builds a NaN coordinate
        nan = [np.nan, 24.0]
        geom = shapely.points(nan) if bad == "point" else shapely.linestrings([[75.0, 25.0], nan])
    layer = gpd.GeoDataFrame(
        {"name": ["good", "bad"]}, geometry=[shapely.Point(75.1, 24.0), geom], index=[10, 11], crs="EPSG:4326"
    )
    message = r"target 'port': 1 feature\(s\).*NaN or infinite.*row 11.*Fix"
    with pytest.raises(LayerValidationError, match=message):
        access_card(nodes, {"port": layer}, k=k)
