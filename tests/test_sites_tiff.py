"""Writing the lazy suitability score to a GeoTIFF block by block equals the single-machine scores."""

from __future__ import annotations

import logging

import dask.array as da
import distributed
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.windows
import shapely
from rasterio.transform import from_origin

from corridormap.atomic import STAGING_PREFIX
from corridormap.errors import OutputExistsError
from corridormap.raster import Raster
from corridormap.sites.suitability import (
    stream_suitability,
    suitability,
    suitability_array,
    top_sites,
    write_suitability_tiff,
)
from corridormap.sites.tiff import TopCells

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
    from corridormap.catalog.load import load_layers
    from corridormap.cli import cli

    out = tmp_path / "sites"
    args = ["sites", "--cell-km", "20", "--scheduler", "local", "--stream", "--out", str(out)]
    with settings.override(cache_dir=tmp_path / "cache", offline=True):
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        eager_result = suitability(load_layers(), cell_km=20)
        eager, eager_sites = eager_result.score, eager_result.sites
        again = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "streaming the score and the top sites" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["sites.csv", "sites.geojson", "suitability.tif"]
    data, profile, tags, _ = _read(out / "suitability.tif")
    np.testing.assert_array_equal(data, eager.data.astype("float32"))
    sites = gpd.read_file(out / "sites.geojson")
    table = pd.read_csv(out / "sites.csv", index_col="cell_id")
    assert list(table.index) == list(eager_sites.index) and list(sites["rank"]) == list(eager_sites["rank"])
    np.testing.assert_allclose(sites["score"], eager_sites["score"], rtol=1e-12)
    assert profile["transform"] == eager.transform and tags["cell_m"] == "20000"
    assert again.exit_code == 2 and "exist" in again.output and "Traceback" not in again.output
    refused = CliRunner().invoke(cli, ["sites", "--stream", "--out", str(tmp_path / "other")])
    assert refused.exit_code == 2 and "--stream needs --scheduler" in refused.output


# (top, min_separation_km, chunk_cells, on_cluster): blocks 6.4 km or 3.2 km wide, so at 6 km apart the
# best cells of neighbouring blocks suppress each other across the edges and blocks are picked again
# (or 3.2 km blocks, 2 km apart)
STREAMED = [(3, 6.0, 64, True), (10, 6.0, 64, False), (20, 2.0, 32, True), (5, 0.0, 64, False)]


@pytest.mark.parametrize(("top", "separation", "chunk_cells", "on_cluster"), STREAMED)
def test_streamed_sites_equal_the_eager_sites(
    inputs, client, tmp_path, caplog, top, separation, chunk_cells, on_cluster
) -> None:
    layers, kwargs = inputs
    eager = suitability(layers, top=top, min_separation_km=separation, **kwargs)
    caplog.set_level(logging.INFO, logger="corridormap.sites.tiff")
    path, sites, grid = stream_suitability(
        layers,
        tmp_path / "s.tif",
        top=top,
        min_separation_km=separation,
        chunk_cells=chunk_cells,
        client=client if on_cluster else None,
        cog=False,
        **kwargs,
    )
    assert len(sites) == top and (grid.nrows, grid.ncols) == (200, 300)
    # ranks, cells, scores and every criterion's value and contribution, bit for bit
    pd.testing.assert_frame_equal(sites, eager.sites)
    np.testing.assert_array_equal(_read(path)[0], eager.score.data.astype("float32"))
    repicked = "picked again" in caplog.text
    assert repicked == (separation > 0)  # neighbouring blocks' best cells are closer than that


def _centre_frame(score: np.ndarray, cell: float) -> gpd.GeoDataFrame:
    rows, cols = np.nonzero(~np.isnan(score))
    x0, y1 = X0 + cols * cell, Y0 - rows * cell
    boxes = shapely.box(x0, y1 - cell, x0 + cell, y1)
    index = pd.Index(rows * score.shape[1] + cols, name="cell_id")
    return gpd.GeoDataFrame({"score": score[rows, cols]}, geometry=boxes, crs="EPSG:7755", index=index)


@pytest.mark.parametrize(("top", "expected"), [(1, [12]), (2, [12, 9]), (3, [12, 9, 31]), (9, [12, 9, 31])])
def test_best_cells_of_adjacent_blocks_closer_than_the_separation(client, caplog, top, expected) -> None:
    # 4 x 8 cells of 1 km in two blocks of 4 x 4; separation 2.5 km. Left block: a (row 1, col 3) 0.9,
    # c (1, 1) 0.8 (2 km from a), d (3, 0) 0.1; right block: b (1, 4) 1.0, 1 km from a, e (3, 7) 0.05.
    # In its block a hides c, but a itself is hidden by b across the edge: the sites are b, then c
    # (3 km from b), then not d (2.2 km from c) but e. Cell id = row * 8 + col.
    score = np.full((4, 8), np.nan)
    score[1, 3], score[1, 1], score[3, 0], score[1, 4], score[3, 7] = 0.9, 0.8, 0.1, 1.0, 0.05
    array = da.from_array(score, chunks=4)
    cells = TopCells(top=top, min_separation_km=2.5, transform=from_origin(X0, Y0, 1000, 1000), shape=(4, 8))
    caplog.set_level(logging.INFO, logger="corridormap.sites.tiff")
    for window, block in [
        (rasterio.windows.Window(0, 0, 4, 4), score[:, :4]),
        (rasterio.windows.Window(4, 0, 4, 4), score[:, 4:]),
    ]:
        cells.add(window, block)
    rows, cols = cells.resolve(array, client=client)
    assert list(rows * 8 + cols) == expected
    assert list(top_sites(_centre_frame(score, 1000.0), top=top, min_separation_km=2.5).index) == expected
    assert ("picked again" in caplog.text) == (top > 1)


def test_a_failure_while_picking_sites_leaves_no_score_file(inputs, tmp_path, monkeypatch) -> None:
    from corridormap.sites import tiff as sites_tiff

    layers, kwargs = inputs
    target = tmp_path / "s.tif"
    target.write_bytes(b"the previous score")

    def broken(self, score, client=None):
        raise RuntimeError("worker lost while picking sites")

    monkeypatch.setattr(sites_tiff.TopCells, "resolve", broken)
    with pytest.raises(RuntimeError, match="worker lost"):
        stream_suitability(layers, target, top=3, cog=False, overwrite=True, **kwargs)
    assert target.read_bytes() == b"the previous score"  # untouched: nothing half-done replaced it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.tif"]  # no staging folder left behind
