"""Raster reading, writing and operations on small rasters generated from numpy, with known answers."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from corridormap import settings
from corridormap.errors import DataSourceNotFoundError, NetworkError, OutputExistsError
from corridormap.raster import (
    Raster,
    clip_raster,
    read_raster,
    reproject_raster,
    sample_raster,
    slope,
    write_raster,
    zonal_stats,
)

# 4 x 4 cells of 1 km in the belt CRS, values 0..15 row by row, top-left corner at (4000 km, 4000 km)
X0, Y0 = 4_000_000.0, 4_004_000.0


@pytest.fixture
def grid() -> Raster:
    data = np.arange(16, dtype="float64").reshape(4, 4)
    return Raster(data, from_origin(X0, Y0, 1000, 1000), "EPSG:7755", name="demo", tags={"units": "u"})


def _points(xy: list[tuple[float, float]], crs: str = "EPSG:7755") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": list(range(len(xy)))}, geometry=shapely.points(xy), crs=crs, index=[10, 20, 30]
    )


@pytest.mark.parametrize("crs", ["EPSG:7755", "EPSG:4326"])
def test_sample_known_cells_and_outside(grid: Raster, crs: str) -> None:
    pts = _points([(X0 + 500, Y0 - 500), (X0 + 3500, Y0 - 3500), (X0 - 500, Y0 - 500)]).to_crs(crs)
    before = pts.copy()
    out = sample_raster(grid, pts)
    assert list(out.index) == [10, 20, 30]
    assert out["demo"].iloc[0] == 0.0
    assert out["demo"].iloc[1] == 15.0
    assert np.isnan(out["demo"].iloc[2])
    assert "demo" not in pts.columns and pts.equals(before)


def test_sample_rejects_polygons(grid: Raster) -> None:
    polys = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0 - 10, X0 + 10, Y0)], crs="EPSG:7755")
    with pytest.raises(ValueError, match="Point"):
        sample_raster(grid, polys)


def test_zonal_stats_mean_min_max_share(grid: Raster) -> None:
    zones = gpd.GeoDataFrame(
        {"zone": ["top-left", "all", "outside"]},
        geometry=[
            shapely.box(X0, Y0 - 2000, X0 + 2000, Y0),  # cells 0, 1, 4, 5
            shapely.box(X0, Y0 - 4000, X0 + 4000, Y0),
            shapely.box(X0 - 9000, Y0 - 9000, X0 - 8000, Y0 - 8000),
        ],
        crs="EPSG:7755",
        index=["a", "b", "c"],
    )
    stats = zonal_stats(grid, zones, above=1.5)
    assert list(stats.index) == ["a", "b", "c"]
    assert stats.loc["a"].to_dict() == {"count": 4, "mean": 2.5, "min": 0.0, "max": 5.0, "share_above": 0.5}
    assert stats.loc["b", "mean"] == 7.5 and stats.loc["b", "count"] == 16
    assert stats.loc["b", "share_above"] == pytest.approx(14 / 16)
    assert stats.loc["c", "count"] == 0 and np.isnan(stats.loc["c", "mean"])


def test_zonal_stats_ignores_nodata(grid: Raster) -> None:
    data = grid.data.copy()
    data[0, 0] = np.nan
    r = Raster(data, grid.transform, grid.crs)
    zone = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0 - 2000, X0 + 2000, Y0)], crs="EPSG:7755")
    stats = zonal_stats(r, zone)
    assert stats.iloc[0]["count"] == 3 and stats.iloc[0]["mean"] == pytest.approx(10 / 3)


@pytest.mark.parametrize(("a", "b"), [(0.1, 0.0), (0.0, -0.25), (3.0, 4.0)])
def test_slope_of_tilted_plane(a: float, b: float) -> None:
    cell = 30.0
    rows, cols = np.mgrid[0:6, 0:7]
    x = X0 + (cols + 0.5) * cell
    y = Y0 - (rows + 0.5) * cell
    z = a * x + b * y
    r = Raster(z, from_origin(X0, Y0, cell, cell), "EPSG:7755", name="dem")
    expected = math.degrees(math.atan(math.hypot(a, b)))
    np.testing.assert_allclose(slope(r).data, expected, atol=1e-9)
    assert slope(r).tags["units"] == "degrees"


def test_slope_in_degrees_uses_metres_per_degree() -> None:
    # at the equator one 0.001 degree column step is 111.32 m; rise 11.132 m per step -> 0.1 grade
    cols = np.arange(5)
    z = np.tile(cols * 11.132, (4, 1)).astype(float)
    r = Raster(z, from_origin(0.0, 0.002, 0.001, 0.001), "EPSG:4326")
    np.testing.assert_allclose(slope(r).data, math.degrees(math.atan(0.1)), rtol=1e-4)


def test_write_read_roundtrip_is_cog_with_tags(grid: Raster, tmp_path) -> None:
    path = write_raster(grid, tmp_path / "demo.tif")
    with rasterio.open(path) as src:
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    back = read_raster(path)
    np.testing.assert_array_equal(back.data, grid.data)
    assert back.name == "demo" and back.tags["units"] == "u"
    assert back.transform == grid.transform
    with pytest.raises(OutputExistsError):
        write_raster(grid, path)
    write_raster(grid, path, overwrite=True)


def test_read_window_by_bounds(grid: Raster, tmp_path) -> None:
    path = write_raster(grid, tmp_path / "demo.tif")
    part = read_raster(path, bounds=(X0 + 2000, Y0 - 2000, X0 + 4000, Y0))
    np.testing.assert_array_equal(part.data, [[2, 3], [6, 7]])
    assert part.bounds == (X0 + 2000, Y0 - 2000, X0 + 4000, Y0)


def test_read_errors(tmp_path) -> None:
    with pytest.raises(DataSourceNotFoundError, match="no such raster") as info:
        read_raster(tmp_path / "missing.tif")
    assert isinstance(info.value, FileNotFoundError)
    with settings.override(offline=True), pytest.raises(NetworkError, match="offline"):
        read_raster("https://example.invalid/ghi.tif")


def test_clip_blanks_outside_and_crops(grid: Raster) -> None:
    left_half = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0 - 4000, X0 + 2000, Y0)], crs="EPSG:7755")
    out = clip_raster(grid, left_half.to_crs("EPSG:4326"))
    assert out.shape[0] == 4 and 2 <= out.shape[1] <= 3
    np.testing.assert_array_equal(out.data[:, :2], grid.data[:, :2])
    assert np.isnan(out.data[:, 2:]).all()
    assert not np.isnan(grid.data).any()


def test_reproject_constant_stays_constant(grid: Raster) -> None:
    const = Raster(np.full((4, 4), 7.0), grid.transform, grid.crs)
    out = reproject_raster(const, "EPSG:4326")
    valid = out.data[~np.isnan(out.data)]
    assert valid.size > 0 and np.allclose(valid, 7.0)
    back = reproject_raster(out, "EPSG:7755", resolution=500)
    assert abs(back.transform.a) == 500


# A tiny HTTP server with byte ranges, in its own process (GDAL holds the GIL while it reads a URL)
_RANGE_SERVER = r"""
import functools, http.server, os, re, sys

class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send_head(self):
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return None
        size = os.path.getsize(path)
        m = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        f = open(path, "rb")
        start, end = (int(m.group(1)), min(int(m.group(2) or size - 1), size - 1)) if m else (0, size - 1)
        self.send_response(206 if m else 200)
        if m:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        f.seek(start)
        self.left = end - start + 1
        self.send_header("Content-Length", str(self.left))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return f

    def copyfile(self, source, outputfile):
        outputfile.write(source.read(self.left))

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=sys.argv[1]))
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def test_read_cog_from_a_url_by_window(grid: Raster, tmp_path) -> None:
    import subprocess
    import sys

    write_raster(grid, tmp_path / "demo.tif")
    server = subprocess.Popen(
        [sys.executable, "-c", _RANGE_SERVER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(server.stdout.readline())  # type: ignore[union-attr]
        part = read_raster(f"http://127.0.0.1:{port}/demo.tif", bounds=(X0 + 2000, Y0 - 2000, X0 + 4000, Y0))
    finally:
        server.terminate()
        server.wait()
        server.stdout.close()  # type: ignore[union-attr]
    np.testing.assert_array_equal(part.data, [[2, 3], [6, 7]])
    assert part.name == "demo"


def test_a_file_that_is_not_a_raster_is_refused_with_a_fix(tmp_path):
    from corridormap.errors import FileFormatError
    from corridormap.raster import read_raster

    path = tmp_path / "plots.tif"
    path.write_text("not a raster", encoding="utf-8")
    with pytest.raises(FileFormatError, match="plots.tif: not a raster GDAL can read.*Fix"):
        read_raster(path)
