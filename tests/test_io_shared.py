"""The real third-party files in ../shared/data load cleanly; the states file's repairs are reported."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import corridormap
from corridormap import errors
from corridormap.validate import validate_file

NATURAL_EARTH = [
    "ne_10m_admin_0_boundary_lines_land_belt.geojson",
    "ne_10m_airports_belt.geojson",
    "ne_10m_lakes_belt.geojson",
    "ne_10m_land_belt.geojson",
    "ne_10m_populated_places_belt.geojson",
    "ne_10m_ports_belt.geojson",
    "ne_10m_rivers_lake_centerlines_belt.geojson",
    "ne_50m_urban_areas_belt.geojson",
]


def test_states_invalid_polygons_are_repaired_and_reported(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "india_states_2019.geojson"
    with pytest.warns(errors.RepairWarning, match="invalid-geometry"):
        states = corridormap.read_file(path, log_dir=tmp_path)
    assert len(states) == 36
    assert states.geometry.is_valid.all()
    repaired = {r.feature for r in validate_file(path).repairs if r.check == "invalid-geometry"}
    names = {states.loc[int(label.lstrip("#")), "st_name"] for label in repaired}
    assert names == {"Rajasthan", "Telangana"}
    with (tmp_path / "india_states_2019.geojson.repairs.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["check"] == "invalid-geometry"]
    assert len(rows) == 2
    for row in rows:  # the repair keeps the area (the defects are degenerate spikes)
        before, after = float(row["area_before_m2"]), float(row["area_after_m2"])
        assert before > 1e10 and abs(after - before) / before < 1e-3


def test_stations_load_as_they_are(shared_data: Path) -> None:
    stations = corridormap.read_file(shared_data / "railway_stations_belt.geojson")
    assert len(stations) > 3000
    assert set(stations.geom_type) == {"Point"}
    assert stations.crs.to_epsg() == 4326


def test_wri_power_plants_csv(shared_data: Path) -> None:
    path = shared_data / "power_plants_india_wri_gppd.csv"
    left_out = "46 feature.s. left out .46 no coordinates.: line 16, line 27"
    with pytest.warns(errors.DataLossWarning, match=left_out):
        plants = corridormap.read_file(path)
    # rows without coordinates are left out of the layer and listed by line (#13), the others load
    assert len(plants) == 907 - 46 and plants.geometry.notna().all()
    report = validate_file(path)
    missing = [f for f in report.findings if f.check == "no-coordinates"]
    assert len(missing) == 1 and len(missing[0].features) == 46 and not report.refused
    assert plants["capacity_mw"].dtype.kind == "f"
    assert plants.crs.to_epsg() == 4326


@pytest.mark.parametrize("name", NATURAL_EARTH)
def test_natural_earth_belt_files(shared_data: Path, name: str) -> None:
    report = validate_file(shared_data / "natural_earth_belt" / name)
    assert not report.refused, report.to_text()
    assert report.n_features > 0
