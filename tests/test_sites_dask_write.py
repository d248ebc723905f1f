"""Writing the lazy suitability score to a GeoTIFF block by block equals the single-machine scores."""

from __future__ import annotations

import dask.array as da
import distributed
import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from corridormap.atomic import STAGING_PREFIX
from corridormap.errors import OutputExistsError
from corridormap.raster import Raster
from corridormap.sites import suitability, suitability_array, write_suitability_tiff

X0, Y0 = 4_000_000.0, 4_000_000.0  # bottom-left of a 30 km x 20 km area in EPSG:7755: 200 x 300 cells

MODEL = """
grid = {cell_km = 0.1}
sites = {top = 3, min_separation_km = 6.0}
[exclusions]
water = true
industrial_nodes_layer = "industrial_nodes"
industrial_nodes_within_km = 1.0
industrial_node_statuses = ["operational"]
[criteria]
station = {layer = "freight_stations", weight = 2.0, function = "linear_decay", full_until = 0, zero_at = 20}
solar = {raster = "solar_kwh_m2", weight = 1.0, function = "linear_rise", zero_at = 0, full_at = 100}
"""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    model = tmp_path_factory.mktemp("model") / "model.toml"
    model.write_text(MODEL)
    # the area is the 30 x 20 km box less its south-east triangle, so some cells are outside (NaN)
    area = shapely.Polygon(
        [(X0, Y0), (X0, Y0 + 20_000), (X0 + 30_000, Y0 + 20_000), (X0 + 30_000, Y0 + 8_000)]
    )
    stations = shapely.points([(X0 + 7_000, Y0 + 12_000), (X0 + 25_000, Y0 + 17_000)])
    nodes = shapely.points([(X0 + 10_000, Y0 + 15_000)])
    layers = {
        "freight_stations": gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=stations, crs="EPSG:7755"),
        "industrial_nodes": gpd.GeoDataFrame({"status": ["operational"]}, geometry=nodes, crs="EPSG:7755"),
    }
    t = from_origin(X0, Y0 + 20_000, 1000, 1000)
    solar = np.tile(np.linspace(0.0, 120.0, 30), (20, 1))
    land = np.ones((20, 30))
    land[:2, :5] = 0.0  # a corner of sea
    rasters = {"solar_kwh_m2": Raster(solar, t, "EPSG:7755"), "land": Raster(land, t, "EPSG:7755")}
    kwargs = {
        "area": gpd.GeoDataFrame(geometry=[area], crs="EPSG:7755"),
        "rasters": rasters,
        "weights": model,
    }
    return layers, kwargs


@pytest.fixture(scope="module")
def single(inputs) -> Raster:
    layers, kwargs = inputs
    return suitability(layers, **kwargs).score


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def _read(path):
    with rasterio.open(path) as src:
        return src.read(1), src.profile, src.tags(), src.descriptions


CASES = [(True, True, "float64"), (False, False, "float32")]


@pytest.mark.parametrize(("on_cluster", "cog", "dtype"), CASES)
def test_blockwise_tiff_equals_single_machine(
    inputs, single, client, tmp_path, on_cluster, cog, dtype
) -> None:
    layers, kwargs = inputs
    stack, grid, _ = suitability_array(layers, chunk_cells=64, **kwargs)
    assert (grid.nrows, grid.ncols) == (200, 300) and stack.numblocks[1:] == (4, 5)
    path = tmp_path / "out" / "suitability.tif"
    written = write_suitability_tiff(
        stack[-1],
        path,
        transform=grid.transform,
        crs="EPSG:7755",
        client=client if on_cluster else None,
        cog=cog,
        dtype=dtype,
        tags={"source": "test model"},
        batch_blocks=3,
    )
    assert written == path and [p.name for p in path.parent.iterdir()] == ["suitability.tif"]
    data, profile, tags, names = _read(path)
    np.testing.assert_array_equal(data, single.data.astype(dtype))
    assert 0 < np.isnan(data).sum() < data.size / 2 and np.nanmax(data) <= 1.0
    assert profile["transform"] == single.transform == grid.transform
    assert profile["crs"].to_epsg() == 7755 and np.isnan(profile["nodata"]) and profile["dtype"] == dtype
    assert profile["tiled"] and profile["compress"] == "deflate"
    assert tags["source"] == "test model" and tags["units"] == "1" and "suitability" in tags["description"]
    assert names == ("suitability",)


def test_existing_file_is_refused_then_replaced_with_overwrite(tmp_path) -> None:
    path = tmp_path / "score.tif"
    path.write_bytes(b"keep me")
    array = da.full((10, 12), 0.5, chunks=5)
    with pytest.raises(OutputExistsError, match="score.tif"):
        write_suitability_tiff(array, path, transform=from_origin(X0, Y0, 100, 100), crs="EPSG:7755")
    assert path.read_bytes() == b"keep me"
    transform = from_origin(X0, Y0, 100, 100)
    write_suitability_tiff(array, path, transform=transform, crs="EPSG:7755", overwrite=True)
    data, profile, _, _ = _read(path)
    assert data.shape == (10, 12) and (data == 0.5).all() and profile["width"] == 12


def _fail_on_last(block: np.ndarray, block_info=None) -> np.ndarray:
    if block_info[0]["chunk-location"] == (1, 2):
        raise RuntimeError("block (1, 2) failed")
    return block


@pytest.mark.parametrize("on_cluster", [True, False])
def test_failing_compute_leaves_no_file(client, tmp_path, on_cluster) -> None:
    array = da.full((10, 12), 0.5, chunks=5).map_blocks(_fail_on_last, dtype="float64")
    path = tmp_path / "score.tif"
    with pytest.raises(RuntimeError, match=r"block \(1, 2\) failed"):
        write_suitability_tiff(
            array,
            path,
            transform=from_origin(X0, Y0, 100, 100),
            crs="EPSG:7755",
            client=client if on_cluster else None,
            batch_blocks=2,
        )
    assert not path.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_array_must_be_2d(tmp_path) -> None:
    with pytest.raises(ValueError, match="2-D"):
        write_suitability_tiff(
            da.zeros((2, 3, 4)), tmp_path / "x.tif", transform=from_origin(X0, Y0, 1, 1), crs="EPSG:7755"
        )
    assert not (tmp_path / "x.tif").exists()


@pytest.mark.slow
def test_cli_streams_the_score_on_a_scheduler(tmp_path) -> None:
    from click.testing import CliRunner

    from corridormap import settings
    from corridormap.catalog import load_layers
    from corridormap.cli import cli

    out = tmp_path / "sites"
    args = ["sites", "--cell-km", "20", "--scheduler", "local", "--stream", "--out", str(out)]
    with settings.override(cache_dir=tmp_path / "cache", offline=True):
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        eager = suitability(load_layers(), cell_km=20).score
        again = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "streaming the score only" in result.output and sorted(p.name for p in out.iterdir()) == [
        "suitability.tif"
    ]
    data, profile, tags, _ = _read(out / "suitability.tif")
    np.testing.assert_array_equal(data, eager.data.astype("float32"))
    assert profile["transform"] == eager.transform and tags["cell_m"] == "20000"
    assert again.exit_code == 1 and "exist" in again.output and "Traceback" not in again.output
    refused = CliRunner().invoke(cli, ["sites", "--stream", "--out", str(tmp_path / "other")])
    assert refused.exit_code == 2 and "--stream needs --scheduler" in refused.output
