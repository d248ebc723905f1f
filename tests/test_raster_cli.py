"""``corridormap raster`` on rasters and vector files made in tmp_path."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from rasterio.transform import from_origin

from corridormap.cli import cli
from corridormap.raster import Raster, read_raster, write_raster

X0, Y0 = 4_000_000.0, 4_004_000.0


@pytest.fixture
def files(tmp_path):
    data = np.arange(16, dtype="float64").reshape(4, 4)
    write_raster(
        Raster(data, from_origin(X0, Y0, 1000, 1000), "EPSG:7755", name="demo", tags={"units": "u"}),
        tmp_path / "demo.tif",
    )
    points = gpd.GeoDataFrame(
        {"id": ["a", "b"], "name": ["first", "last"]},
        geometry=shapely.points([(X0 + 500, Y0 - 500), (X0 + 3500, Y0 - 3500)]),
        crs="EPSG:7755",
    ).to_crs("EPSG:4326")
    points.to_file(tmp_path / "points.geojson")
    zones = gpd.GeoDataFrame(
        {"id": ["z"], "name": ["top-left"]},
        geometry=[shapely.box(X0, Y0 - 2000, X0 + 2000, Y0)],
        crs="EPSG:7755",
    ).to_crs("EPSG:4326")
    zones.to_file(tmp_path / "zones.geojson")
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_info_prints_shape_and_tags(files) -> None:
    result = run("raster", "info", str(files / "demo.tif"))
    assert result.exit_code == 0
    assert "4 rows x 4 columns" in result.output and "EPSG:7755" in result.output
    assert "values: 0 to 15 u" in result.output and "tag units: u" in result.output


def test_sample_to_csv(files) -> None:
    out = files / "sampled.csv"
    args = ["raster", "sample", str(files / "demo.tif"), "--file", str(files / "points.geojson")]
    args += ["--out", str(out)]
    result = run(*args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert table[["id", "demo"]].values.tolist() == [["a", 0.0], ["b", 15.0]]
    refused = CliRunner().invoke(cli, args)  # the same command again, without --overwrite
    assert refused.exit_code != 0 and "exists" in refused.output and "Traceback" not in refused.output


def test_sample_says_a_point_off_the_raster_has_no_value(files) -> None:
    where = shapely.points([(X0 + 500, Y0 - 500), (X0 - 9e4, Y0)])
    far = gpd.GeoDataFrame({"id": ["in", "off"]}, geometry=where, crs="EPSG:7755").to_crs("EPSG:4326")
    far.to_file(files / "far.geojson")
    result = run("raster", "sample", str(files / "demo.tif"), "--file", str(files / "far.geojson"))
    assert result.exit_code == 0, result.output
    assert "NaN" not in result.output and "nan" not in result.output
    assert "— : no value (1): outside the raster" in result.output


def test_zonal_prints_stats(files) -> None:
    result = run(
        "raster", "zonal", str(files / "demo.tif"), "--file", str(files / "zones.geojson"), "--above", "1.5"
    )
    assert result.exit_code == 0, result.output
    line = result.output.splitlines()[1].split()
    assert line[1:] == ["z", "top-left", "4", "2.5", "0.0", "5.0", "0.5"]


def test_slope_writes_cog(files) -> None:
    out = files / "slope.tif"
    assert run("raster", "slope", str(files / "demo.tif"), str(out)).exit_code == 0
    r = read_raster(out)
    # values rise 1 per 1000 m east and 4 per 1000 m south: grade sqrt(17)/1000
    np.testing.assert_allclose(r.data, np.degrees(np.arctan(np.sqrt(17) / 1000)), rtol=1e-5)


def test_needs_exactly_one_source_of_features(files) -> None:
    result = CliRunner().invoke(cli, ["raster", "sample", str(files / "demo.tif")])
    assert result.exit_code == 2 and "--layer NAME or --file PATH" in result.output


def test_missing_raster_is_one_line_error(files) -> None:
    result = CliRunner().invoke(cli, ["raster", "info", str(files / "nope.tif")])
    assert (
        result.exit_code == 2 and "no such raster file" in result.output and "Traceback" not in result.output
    )
