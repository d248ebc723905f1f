"""The computed default rasters agree with pvlib's and global-land-mask's own point look-ups."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pvlib
import pytest
import shapely

from corridormap import settings
from corridormap.raster import read_raster, sample_values
from corridormap.sites.defaults import (
    area_bounds,
    build_default_rasters,
    clear_sky_potential,
    elevation,
    land,
)

# a small box on the coast north of Mumbai: sea to the west, land (and the Western Ghats) to the east
BOUNDS = (72.4, 18.9, 73.6, 19.6)


@pytest.fixture
def area() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[shapely.box(72.65, 19.15, 73.35, 19.35)], crs="EPSG:4326")


@pytest.mark.parametrize(("lon", "lat"), [(72.96, 19.21), (73.45, 19.05), (73.2, 19.5)])
def test_elevation_matches_pvlib_lookup(lon: float, lat: float) -> None:
    raster = elevation(BOUNDS)
    expected = pvlib.location.lookup_altitude(lat, lon)
    assert sample_values(raster, np.array([lon]), np.array([lat]))[0] == expected
    assert raster.tags["units"] == "m" and "coarse" in raster.tags["description"]


def test_clear_sky_potential_matches_pvlib_full_year() -> None:
    lon, lat = 73.2, 19.3
    raster = clear_sky_potential(BOUNDS)
    ours = sample_values(raster, np.array([lon]), np.array([lat]))[0]
    # pvlib's own model at the cell centre, every hour of a year (pandas 3 deprecations inside pvlib)
    centre_lon = (np.floor(lon * 12) + 0.5) / 12
    centre_lat = (np.floor(lat * 12) + 0.5) / 12
    loc = pvlib.location.Location(centre_lat, centre_lon, altitude=pvlib.location.lookup_altitude(lat, lon))
    times = pd.date_range("2025-01-01 00:30", periods=8760, freq="h", tz="UTC")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full_year = loc.get_clearsky(times, model="ineichen")["ghi"].sum() / 1000.0
    assert ours == pytest.approx(full_year, rel=0.005)
    assert "clear-sky potential" in raster.tags["description"]
    assert "not measured" in raster.tags["description"]


def test_land_mask_sea_and_land() -> None:
    raster = land(BOUNDS)
    values = sample_values(raster, np.array([72.5, 73.5]), np.array([19.2, 19.2]))
    assert values.tolist() == [0.0, 1.0]
    assert abs(raster.transform.a) == pytest.approx(1 / 120)


def test_build_caches_cogs_with_provenance(area: gpd.GeoDataFrame, tmp_path) -> None:
    with settings.override(cache_dir=tmp_path):
        paths = build_default_rasters(area, names=["elevation_m", "solar_kwh_m2"])
        first = {name: p.stat().st_mtime_ns for name, p in paths.items()}
        again = build_default_rasters(area, names=["elevation_m", "solar_kwh_m2"])
    assert again == paths
    assert {name: p.stat().st_mtime_ns for name, p in again.items()} == first
    assert all(p.parent == tmp_path / "rasters" for p in paths.values())
    solar = read_raster(paths["solar_kwh_m2"])
    assert solar.tags["units"] == "kWh/m2/year" and "pvlib" in solar.tags["source"]
    w, s, e, n = area_bounds(area)
    assert (w, s, e, n) == pytest.approx((72.4, 18.9, 73.6, 19.6))


def test_build_rejects_unknown_name(area: gpd.GeoDataFrame, tmp_path) -> None:
    with settings.override(cache_dir=tmp_path), pytest.raises(ValueError, match="unknown default raster"):
        build_default_rasters(area, names=["rainfall"])
