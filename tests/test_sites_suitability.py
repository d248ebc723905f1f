"""Site suitability on a tiny grid whose every score is worked out by hand."""

from __future__ import annotations

import math
import tomllib

import distributed
import geopandas as gpd
import numpy as np
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from rasterio.transform import from_origin

from corridormap.errors import CatalogError, DataSourceNotFoundError, LayerValidationError
from corridormap.raster import Raster
from corridormap.sites.model import Criterion, load_model, normalise
from corridormap.sites.suitability import make_grid, suitability, suitability_array, top_sites

X0, Y0 = 4_000_000.0, 4_000_000.0  # bottom-left of a 20 km x 20 km square in EPSG:7755


def centre(row: int, col: int) -> tuple[float, float]:
    """Centre of a 5 km cell of the 4 x 4 grid (row 0 at the top)."""
    return X0 + 2500 + 5000 * col, Y0 + 17500 - 5000 * row


MODEL = """
[grid]
cell_km = 5.0
[sites]
top = 3
min_separation_km = 6.0
[exclusions]
water = true
industrial_nodes_layer = "industrial_nodes"
industrial_nodes_within_km = 3.0
industrial_node_statuses = ["operational"]
[criteria.station]
layer = "freight_stations"
weight = 1.0
function = "linear_decay"
full_until = 0.0
zero_at = 20.0
[criteria.solar]
raster = "solar_kwh_m2"
weight = 1.0
function = "linear_rise"
zero_at = 0.0
full_at = 100.0
"""


@pytest.fixture
def model_path(tmp_path):
    path = tmp_path / "model.toml"
    path.write_text(MODEL)
    return path


@pytest.fixture
def area() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 20_000, Y0 + 20_000)], crs="EPSG:7755")


@pytest.fixture
def layers() -> dict[str, gpd.GeoDataFrame]:
    stations = gpd.GeoDataFrame({"name": ["S"]}, geometry=[shapely.Point(centre(2, 1))], crs="EPSG:7755")
    nodes = gpd.GeoDataFrame(
        {"status": ["operational", "proposed"]},
        geometry=[shapely.Point(centre(3, 3)), shapely.Point(centre(1, 0))],
        crs="EPSG:7755",
    )
    return {"freight_stations": stations.to_crs("EPSG:4326"), "industrial_nodes": nodes}


@pytest.fixture
def rasters() -> dict[str, Raster]:
    solar = np.zeros((20, 20))
    solar[:, :10] = 100.0  # west half (cell columns 0 and 1) full marks
    land = np.ones((20, 20))
    land[:5] = 0.0  # the top row of cells is sea
    t = from_origin(X0, Y0 + 20_000, 1000, 1000)
    return {"solar_kwh_m2": Raster(solar, t, "EPSG:7755"), "land": Raster(land, t, "EPSG:7755")}


# EPSG:7755's scale factor here (planar metres per true metre): distances come back in true km
SCALE = 0.98053


def expected_score(row: int, col: int) -> float:
    station = 1 - 5 * math.hypot(row - 2, col - 1) / SCALE / 20
    solar = 1.0 if col < 2 else 0.0
    return 0.5 * max(station, 0.0) + 0.5 * solar


def test_scores_statuses_and_raster(layers, area, rasters, model_path) -> None:
    before = {k: v.copy() for k, v in layers.items()}
    result = suitability(layers, area=area, rasters=rasters, weights=model_path)
    grid = result.grid
    assert len(grid) == 16 and grid.crs == "EPSG:7755"
    for (row, col), cell in grid.set_index(["row", "col"]).iterrows():
        if row == 0:
            assert cell["status"] == "water" and np.isnan(cell["score"])
        elif (row, col) == (3, 3):
            assert cell["status"] == "built-up node" and np.isnan(cell["score"])
        else:
            assert cell["status"] == "scored"
            assert cell["score"] == pytest.approx(expected_score(row, col), rel=1e-5)
            planar_km = 5 * math.hypot(row - 2, col - 1)
            assert cell["distance_to_station_km"] == pytest.approx(planar_km / SCALE, rel=1e-5, abs=1e-9)
    parts = grid["station_contribution"] + grid["solar_contribution"]
    scored = grid["status"] == "scored"
    np.testing.assert_allclose(parts[scored], grid.loc[scored, "score"])
    assert result.score.shape == (4, 4) and np.isnan(result.score.data[0]).all()
    assert result.score.data[2, 1] == pytest.approx(1.0)
    for name, frame in layers.items():
        assert_geodataframe_equal(frame, before[name])


def test_top_sites_are_ranked_and_apart(layers, area, rasters, model_path) -> None:
    sites = suitability(layers, area=area, rasters=rasters, weights=model_path).sites
    assert sites[["row", "col"]].values.tolist() == [[2, 1], [1, 0], [3, 0]]
    assert sites["rank"].tolist() == [1, 2, 3]
    expected = [1.0, expected_score(1, 0), expected_score(3, 0)]
    assert sites["score"].tolist() == pytest.approx(expected, rel=1e-5)
    assert sites.geometry.iloc[0].equals(shapely.Point(centre(2, 1)))
    xy = np.column_stack([sites.geometry.x, sites.geometry.y])
    gaps = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    assert gaps[np.triu_indices(3, 1)].min() >= 6000


def test_changed_weights_change_ranking(layers, area, rasters, model_path) -> None:
    model = load_model(model_path, weights={"solar": 0.0})
    result = suitability(layers, area=area, rasters=rasters, weights=model, top=1, min_separation_km=0)
    assert result.sites.iloc[0]["score"] == pytest.approx(1.0)
    assert result.grid["solar_contribution"].fillna(0).eq(0).all()


@pytest.mark.parametrize(
    ("function", "params", "values", "expected"),
    [
        ("linear_decay", {"full_until": 5, "zero_at": 25}, [0, 5, 15, 25, 40], [1, 1, 0.5, 0, 0]),
        ("linear_rise", {"zero_at": 2000, "full_at": 2400}, [1900, 2100, 2400, 2600], [0, 0.25, 1, 1]),
        ("logistic_decay", {"midpoint": 100, "width": 10}, [100, 1e6], [0.5, 0.0]),
        ("logistic_rise", {"midpoint": 100, "width": 10}, [100, 100 + 10 * math.log(3)], [0.5, 0.75]),
    ],
)
def test_normalisation_functions(function, params, values, expected) -> None:
    c = Criterion("c", 1.0, function, params, layer="x")
    np.testing.assert_allclose(normalise(c, np.array(values, dtype=float)), expected, atol=1e-12)


def test_default_model_is_documented_and_complete() -> None:
    model = load_model()
    names = {c.name for c in model.criteria}
    assert names == {"freight_station", "expressway", "port", "renewable_zone", "solar", "elevation", "slope"}
    assert all(c.description and c.weight > 0 for c in model.criteria)
    assert model.exclude_water and model.nodes_within_km > 0 and model.top == 20


def test_model_problems_are_collected(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[criteria.a]\nlayer = "x"\nfunction = "cubic"\n'
        '[criteria.b]\nraster = "solar_kwh_m2"\nfunction = "linear_rise"\nzero_at = 1\n'
    )
    with pytest.raises(LayerValidationError, match="2 problems") as info:
        load_model(bad)
    assert {p.field for p in info.value.problems} == {"function", "full_at"}
    with pytest.raises(LayerValidationError, match="no criterion 'rain'"):
        load_model(weights={"rain": 1.0})
    with pytest.raises(DataSourceNotFoundError):
        load_model(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("[criteria\n")
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_model(tmp_path / "broken.toml")


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "-1.0", "true", '"2"'])
def test_a_weight_that_is_not_a_finite_number_at_least_0_is_refused(tmp_path, bad) -> None:
    path = tmp_path / "model.toml"
    path.write_text(MODEL.replace("weight = 1.0", f"weight = {bad}", 1))
    with pytest.raises(LayerValidationError) as info:
        load_model(path)
    text = str(info.value)
    assert str(path) in text and "station" in text and "weight" in text
    assert "finite number >= 0" in text and "set weight = <number >= 0>" in text
    value = tomllib.loads(f"w = {bad}")["w"]  # the same value passed as an override
    with pytest.raises(LayerValidationError, match="finite number >= 0"):
        load_model(_good_model(tmp_path), weights={"solar": value})


def _good_model(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(MODEL)
    return path


def test_missing_layer_is_named(layers, area, rasters, model_path) -> None:
    with pytest.raises(LayerValidationError, match="'freight_stations'"):
        suitability(
            {"industrial_nodes": layers["industrial_nodes"]}, area=area, rasters=rasters, weights=model_path
        )


def test_grid_is_aligned_on_cell_multiples() -> None:
    grid = make_grid(shapely.box(1200, 3400, 9100, 9900), 1000.0)
    assert (grid.left, grid.top, grid.nrows, grid.ncols) == (1000.0, 10000.0, 7, 9)


def test_top_sites_stops_when_space_runs_out(layers, area, rasters, model_path) -> None:
    grid = suitability(layers, area=area, rasters=rasters, weights=model_path).grid
    assert len(top_sites(grid, top=50, min_separation_km=0)) == grid["score"].notna().sum()
    assert len(top_sites(grid, top=50, min_separation_km=100)) == 1


# --- the Dask path: the same scores on a LocalCluster ---------------------------------------------


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_dask_stack_equals_single_machine(client, layers, area, rasters, model_path) -> None:
    single = suitability(layers, area=area, rasters=rasters, weights=model_path, cell_km=1)
    stack, grid, model = suitability_array(
        layers, area=area, rasters=rasters, weights=model_path, cell_km=1, chunk_cells=7
    )
    assert stack.numblocks[1:] == (3, 3)
    computed = client.compute(stack).result()
    assert computed.shape == (len(model.criteria) + 2, 20, 20)
    np.testing.assert_array_equal(computed[-1], single.score.data)
    assert np.isfinite(computed[-1]).sum() == single.grid["score"].notna().sum() > 200


def test_suitability_with_client_equals_single_machine(client, layers, area, rasters, model_path) -> None:
    single = suitability(layers, area=area, rasters=rasters, weights=model_path, cell_km=1)
    on_dask = suitability(layers, area=area, rasters=rasters, weights=model_path, cell_km=1, client=client)
    assert_geodataframe_equal(on_dask.grid, single.grid)
    assert_geodataframe_equal(on_dask.sites, single.sites)


def test_result_writes_geotiff_and_sites_and_draws_on_a_map(
    layers, area, rasters, model_path, tmp_path
) -> None:
    import folium

    from corridormap.errors import OutputExistsError
    from corridormap.raster import read_raster
    from corridormap.render.raster_overlay import add_suitability

    result = suitability(layers, area=area, rasters=rasters, weights=model_path)
    paths = result.write(tmp_path / "out")
    back = read_raster(paths["score"])
    np.testing.assert_allclose(back.data, result.score.data, rtol=1e-6)
    sites = gpd.read_file(paths["sites"])
    assert sites["rank"].tolist() == [1, 2, 3] and sites.crs == "EPSG:4326"
    with pytest.raises(OutputExistsError):
        result.write(tmp_path / "out")
    m = folium.Map(tiles=None)
    add_suitability(m, result)
    page = m.get_root().render()
    assert "Candidate site #1" in page and "data:image/png;base64" in page
    assert page.count("L.divIcon") == 3


def test_local_cluster_by_name(layers, area, rasters, model_path) -> None:
    single = suitability(layers, area=area, rasters=rasters, weights=model_path)
    local = suitability(layers, area=area, rasters=rasters, weights=model_path, client="local")
    assert_geodataframe_equal(local.grid, single.grid)


# --- exclusion layers, readable criteria, sensitivity --------------------------------------------
def test_exclusion_layers_in_the_model_are_replaceable_by_the_users_own(layers, area, rasters, tmp_path):
    # the user's protected area over cell (2, 2) as a layer; a "sea" file whose land is the west half
    protected = gpd.GeoDataFrame(geometry=[shapely.Point(centre(2, 2)).buffer(100)], crs="EPSG:7755")
    west = shapely.box(X0 - 1000, Y0 - 1000, X0 + 10_000, Y0 + 21_000)
    land = gpd.GeoDataFrame(geometry=[west], crs="EPSG:7755")
    land_file = tmp_path / "my_land.gpkg"
    land.to_file(land_file)
    text = (
        MODEL
        + f"""
[[exclusions.layer]]
name = "protected"
layer = "protected_areas"
status = "excluded"
[[exclusions.layer]]
name = "sea"
file = "{land_file.name}"
mode = "outside"
status = "water"
extent = [{X0 - 1000}, {Y0 - 1000}, {X0 + 21_000}, {Y0 + 21_000}]
"""
    )
    path = tmp_path / "model.toml"
    path.write_text(text)
    result = suitability({**layers, "protected_areas": protected}, area=area, rasters=rasters, weights=path)
    status = result.grid.set_index(["row", "col"])["status"]
    assert status[(2, 2)] == "excluded"
    assert status[(1, 3)] == "water" and status[(2, 0)] == "scored"  # east of the land file's coast: sea
    assert result.sites["score"].notna().all()
    assert set(result.sites.set_index(["row", "col"]).index).isdisjoint({(2, 2), (1, 2), (1, 3)})


def test_bad_exclusion_entries_are_reported_at_once(tmp_path):
    path = tmp_path / "model.toml"
    path.write_text(MODEL + '[[exclusions.layer]]\nname = "x"\nstatus = "lava"\nmode = "near"\n')
    with pytest.raises(LayerValidationError) as info:
        load_model(path)
    text = str(info.value)
    assert "bad status ('lava')" in text and "bad mode ('near')" in text and "bad file/layer" in text


def test_criteria_have_readable_titles_with_units():
    model = load_model()
    assert model.criterion("freight_station").title == "Distance to a DFC freight station (km)"
    assert model.criterion("solar").title.endswith("(kWh/m²/yr)")
    assert {e.name for e in model.exclusions} >= {"sea", "coastal_strip", "lakes", "built_up"}
    assert all(e.source and e.licence == "public domain" for e in model.exclusions)


def test_weight_sensitivity_reports_each_weight_both_ways(layers, area, rasters, model_path):
    from corridormap.sites.sensitivity import weight_sensitivity

    result = suitability(layers, area=area, rasters=rasters, weights=model_path)
    table = weight_sensitivity(result)
    assert list(table["criterion"]) == ["station", "station", "solar", "solar"]
    assert list(table["change"]) == ["-20%", "+20%", "-20%", "+20%"]
    assert list(table["new_weight"]) == pytest.approx([0.8, 1.2, 0.8, 1.2])
    assert (table["top_kept"] <= table["top_n"]).all()
    assert (table["top_kept_or_adjacent"] >= table["top_kept"]).all()
    # by hand: the same re-scoring as suitability() with the weight changed
    heavier = load_model(model_path, weights={"solar": 1.2})
    moved = suitability(layers, area=area, rasters=rasters, weights=heavier)
    row = table[(table["criterion"] == "solar") & (table["change"] == "+20%")].iloc[0]
    assert row["best_site"] == moved.sites.index[0]
    assert row["top_kept"] == len(set(moved.sites.index) & set(result.sites.index))


@pytest.fixture(scope="module")
def shipped_sites():
    return suitability()


def test_no_shipped_site_in_built_up_area_sea_or_lake(shipped_sites):
    # checked against the shared Natural Earth files directly, not the copies the model reads
    from pathlib import Path

    shared = Path("/work/shared/data/natural_earth_belt")
    folder = shared if shared.is_dir() else Path(__file__).parents[1] / "data" / "natural_earth"
    sites = shipped_sites.sites.to_crs("EPSG:4326")
    points = shapely.points(shapely.get_coordinates(sites.geometry.values))
    urban = shapely.union_all(gpd.read_file(folder / "ne_50m_urban_areas_belt.geojson").geometry.values)
    land = shapely.union_all(gpd.read_file(folder / "ne_10m_land_belt.geojson").geometry.values)
    lakes = shapely.union_all(gpd.read_file(folder / "ne_10m_lakes_belt.geojson").geometry.values)
    assert not shapely.intersects(points, urban).any()
    assert shapely.within(points, land).all()
    assert not shapely.intersects(points, lakes).any()
    # and not within the 10 km coastal strip: each site at least ~10 km from the coastline
    clip = shapely.buffer(shapely.boundary(shapely.box(*land.bounds)), 1e-6)
    coast = shapely.difference(shapely.boundary(land), clip)
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    for p in points:
        q = shapely.ops.nearest_points(coast, p)[0]
        assert geod.inv(p.x, p.y, q.x, q.y)[2] > 9_000.0
    assert shipped_sites.grid["status"].isin(["built-up area", "coastal strip"]).any()


def test_sites_command_writes_lon_lat_cell_and_sensitivity(tmp_path):
    import pandas as pd
    from click.testing import CliRunner

    from corridormap.cli import cli

    result = CliRunner().invoke(cli, ["sites", "--out", str(tmp_path), "--top", "5"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "sites.csv")
    assert {"cell_id", "row", "col", "lon", "lat", "rank", "score"} <= set(table.columns)
    assert table["lon"].between(68, 82).all() and table["lat"].between(16, 33).all()
    sensitivity = pd.read_csv(tmp_path / "sensitivity.csv")
    assert len(sensitivity) == 2 * 7 and set(sensitivity["change"]) == {"-20%", "+20%"}
    assert "Weight sensitivity (each weight ±20 %" in result.output


def test_places_exclude_a_disc_growing_with_the_square_root_of_population(layers, area, rasters, tmp_path):
    # a town of 1 million at cell (1, 1): 10 km x sqrt(1) = 10 km of "built-up area"; a village at
    # cell (3, 2), 11.2 planar km away, is below min_population and excludes nothing
    places = gpd.GeoDataFrame(
        {"pop_max": [1_000_000, 1_000]},
        geometry=[shapely.Point(centre(1, 1)), shapely.Point(centre(3, 2))],
        crs="EPSG:7755",
    )
    text = (
        MODEL
        + """
[[exclusions.layer]]
name = "metro"
layer = "places"
population_column = "pop_max"
min_population = 500000
km_per_sqrt_million = 10.0
status = "built-up area"
"""
    )
    path = tmp_path / "model.toml"
    path.write_text(text)
    result = suitability({**layers, "places": places}, area=area, rasters=rasters, weights=path)
    grid = result.grid.set_index(["row", "col"])
    built = {rc for rc, s in grid["status"].items() if s == "built-up area"}
    # every cell centre within 10 true km (about 9.8 planar km) of the town, none beyond
    for (row, col), status in grid["status"].items():
        planar_km = 5 * math.hypot(row - 1, col - 1)
        if planar_km < 9.5 and status != "water":
            assert (row, col) in built
        if planar_km > 10.2:
            assert (row, col) not in built
    assert (3, 2) not in built and (2, 2) in built
    assert (1, 3) not in built  # 10 planar km is 10.2 true km: just outside
