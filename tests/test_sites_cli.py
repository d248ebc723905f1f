"""``corridormap raster build`` and ``corridormap sites`` on the shipped layers, offline, fresh cache."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from corridormap import settings
from corridormap.cli import cli
from corridormap.raster import read_raster


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.mark.slow
def test_raster_build_makes_cached_cogs(cache) -> None:
    with settings.override(cache_dir=cache, offline=True):
        first = CliRunner().invoke(cli, ["raster", "build"], catch_exceptions=False)
        again = CliRunner().invoke(cli, ["raster", "build"], catch_exceptions=False)
    assert first.exit_code == 0 and first.output == again.output
    paths = {line.split()[0]: line.split()[-1] for line in first.output.splitlines()}
    assert set(paths) == {"solar_kwh_m2", "elevation_m", "land"}
    solar = read_raster(paths["solar_kwh_m2"])
    assert "clear-sky potential" in solar.tags["description"]
    assert 2000 < solar.data.mean() < 2700


@pytest.mark.slow
def test_sites_writes_outputs_and_lists_top_sites(cache, tmp_path) -> None:
    out = tmp_path / "sites"
    with settings.override(cache_dir=cache, offline=True):
        result = CliRunner().invoke(
            cli,
            ["sites", "--cell-km", "20", "--top", "4", "--out", str(out), "--map", "--offline", "--grid"],
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sites.csv")
    assert table["rank"].tolist() == [1, 2, 3, 4]
    assert table["score"].is_monotonic_decreasing and table["score"].between(0, 1).all()
    grid = gpd.read_file(out / "suitability_grid.gpkg")
    known = {"scored", "water", "built-up node", "no data", "built-up area", "coastal strip"}
    assert set(grid["status"]) <= known
    assert grid["score"].max() == pytest.approx(table["score"].iloc[0])
    sites = gpd.read_file(out / "sites.geojson")
    assert len(sites) == 4 and sites.crs == "EPSG:4326"
    assert read_raster(out / "suitability.tif").tags["units"] == "1"
    page = (out / "sites.html").read_text()
    assert "Candidate site #1" in page and "Site suitability score" in page
    assert "Distance to a DFC freight station" in page and "grid cell" in page  # readable, with units
    from corridormap.render.assets import external_references

    assert external_references(page) == set()  # the offline map, overlay included, loads nothing
    lines = result.output.splitlines()
    assert lines[0].split()[:2] == ["rank", "score"] and lines[1].split()[0] == "1"
    with settings.override(cache_dir=cache, offline=True):
        again = CliRunner().invoke(cli, ["sites", "--cell-km", "20", "--out", str(out)])
    assert again.exit_code == 2 and "exist. Fix" in again.output and "Traceback" not in again.output
