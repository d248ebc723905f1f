"""Open datasets through the generic loader: the copies in ../shared/data, downloads through the seam."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import corridormap
from corridormap import settings
from corridormap.errors import CatalogError, DataSourceNotFoundError, LayerValidationError, NetworkError
from corridormap.osm import _overpass, datasets

PROVENANCE = [
    "id",
    "name",
    "state",
    "status",
    "status_detail",
    "as_of",
    "source",
    "licence",
    "geometry_quality",
    "position_tolerance_km",
]


@pytest.fixture(autouse=True)
def cache(tmp_path: Path) -> Iterator[Path]:
    with settings.override(cache_dir=tmp_path / "cache", mirror=None, offline=False):
        yield tmp_path / "cache"


@pytest.fixture
def gppd_csv(shared_data: Path) -> Path:
    return shared_data / "power_plants_india_wri_gppd.csv"


def test_gppd_solar_and_wind_become_a_renewable_layer(
    gppd_csv: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plants = datasets.gppd_renewables(gppd_csv)
    # 127 solar + 123 wind rows in the file; 19 of them have no coordinates
    assert len(plants) == 231
    assert "19 selected rows have no coordinates" in caplog.text
    assert plants["technology"].value_counts().to_dict() == {"solar": 123, "wind": 108}
    assert list(plants.columns[: len(PROVENANCE)]) == PROVENANCE
    assert plants.crs == "EPSG:4326" and plants["id"].is_unique
    acme = plants.set_index("id").loc["gppd-WRI1020239"]
    assert (acme["name"], acme["capacity_mw"], acme["commissioning_year"]) == ("ACME Solar Tower", 2.5, 2011)
    assert (acme.geometry.x, acme.geometry.y) == (73.2407, 28.1839)
    assert acme["source"].startswith("Global Power Plant Database v1.3, World Resources Institute")
    assert acme["licence"] == "CC BY 4.0" and acme["status"] == "operational"


def test_datameet_stations(shared_data: Path) -> None:
    stations = datasets.railway_stations(shared_data / "railway_stations_belt.geojson")
    assert len(stations) == 3305
    badhal = stations.set_index("code").loc["BDHL"]
    assert (badhal["id"], badhal["name"], badhal["state"], badhal["zone"]) == (
        "datameet-BDHL",
        "Badhal",
        "Rajasthan",
        "NWR",
    )
    assert badhal.geometry.x == pytest.approx(75.4516454)
    assert set(stations["licence"]) == {"CC0 1.0"}


def test_download_once_then_cached(gppd_csv: Path, monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    calls: list[str] = []

    def fake_send(method: str, url: str, *, data: bytes | None, timeout_s: float) -> bytes:
        calls.append(url)
        return gppd_csv.read_bytes()

    monkeypatch.setattr(_overpass, "_send", fake_send)
    first = datasets.gppd_renewables()
    second = datasets.gppd_renewables()
    assert calls == [datasets.dataset_spec("gppd_renewables")["url"]]
    assert (cache / "downloads" / "database_IND.csv").is_file()
    assert len(first) == len(second) == 231


def test_mirror_folder_and_offline(gppd_csv: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "downloads").mkdir(parents=True)
    shutil.copy(gppd_csv, mirror / "downloads" / "database_IND.csv")
    with settings.override(mirror=str(mirror)):
        assert len(datasets.gppd_renewables()) == 231
    with settings.override(offline=True), pytest.raises(NetworkError, match="settings.offline"):
        datasets.railway_stations()


def test_a_catalog_entry_loads_a_dataset(gppd_csv: Path, tmp_path: Path) -> None:
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "gppd.toml").write_text(
        f'''
name = "gppd"
title = "GPPD solar and wind"
group = "Renewable energy"
geometry = "Point"
draw_order = 86
[derive]
function = "load_dataset"
params = {{ name = "gppd_renewables", path = "{gppd_csv.as_posix()}" }}
[columns]
capacity_mw = {{ type = "float", label = "Capacity", unit = "MW" }}
''',
        encoding="utf-8",
    )
    with settings.override(extra_layers_dirs=[folder]):
        layer = corridormap.read_layer("gppd")
    assert len(layer) == 231 and layer["capacity_mw"].max() > 0


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="unknown dataset 'nope'.*gppd_renewables"):
        datasets.load_dataset("nope")
    with pytest.raises(DataSourceNotFoundError, match="does not exist"):
        datasets.gppd_renewables(tmp_path / "missing.csv")
    bad = tmp_path / "plants.csv"
    bad.write_text("name,gppd_idnr,primary_fuel\nA,W1,Solar\n", encoding="utf-8")
    with pytest.raises(LayerValidationError, match="no column 'longitude', 'latitude'"):
        datasets.gppd_renewables(bad)


def test_dataset_names() -> None:
    assert datasets.dataset_names() == ["datameet_stations", "gppd_renewables"]
