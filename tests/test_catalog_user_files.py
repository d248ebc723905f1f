"""User layers in the catalog go through the users'-files loader: any format, [read] options, repairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from corridormap import errors, settings
from corridormap.catalog.load import load_catalog, load_layers
from corridormap.cli import cli

POLYGONS = '["Polygon", "MultiPolygon"]'
PLOTS_CSV = "id;name;lat;lon;area_ha\n1;Plot A;28°12'N;76°36'E;12,5\n2;Plot B;19 04 30 N;72 52 40 E;3\n"


def _entry(folder: Path, name: str, source: str, geometry: str, read: str = "") -> None:
    text = f'name = "{name}"\ngroup = "Context"\ngeometry = {geometry}\nsource = "{source}"\n'
    (folder / f"{name}.toml").write_text(text + (f"\n[read]\n{read}\n" if read else ""), encoding="utf-8")


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "mylayers"
    folder.mkdir()
    (folder / "plots.csv").write_text(PLOTS_CSV, encoding="utf-8")
    _entry(
        folder, "my_plots", "plots.csv", '"Point"', 'x = "lon"\ny = "lat"\ncrs = "EPSG:4326"\ndecimal = ","'
    )
    return folder


def test_user_csv_layer_loads_through_the_catalog(user_dir: Path) -> None:
    with settings.override(extra_layers_dirs=[user_dir]), pytest.warns(errors.RepairWarning, match="dms"):
        plots = load_layers(["my_plots"])["my_plots"]
    assert plots.crs.to_epsg() == 4326
    assert plots.geometry.y.round(3).tolist() == [28.2, 19.075]
    assert plots["area_ha"].tolist() == [12.5, 3.0]


def test_unknown_read_option_is_a_catalog_error(user_dir: Path) -> None:
    _entry(user_dir, "typo", "plots.csv", '"Point"', 'colum_x = "lon"')
    with pytest.raises(errors.CatalogError, match="colum_x"):
        load_catalog([user_dir])


def test_invalid_polygons_refused_unless_the_entry_opts_into_repair(tmp_path: Path) -> None:
    bowtie = {"type": "Polygon", "coordinates": [[[75, 22], [76, 23], [76, 22], [75, 23], [75, 22]]]}
    feature = {"type": "Feature", "properties": {"name": "bow"}, "geometry": bowtie}
    (tmp_path / "areas.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    _entry(tmp_path, "areas", "areas.geojson", POLYGONS)
    with pytest.raises(errors.LayerValidationError, match="Self-intersection"):
        load_layers(catalog=load_catalog([tmp_path]))
    _entry(tmp_path, "areas", "areas.geojson", POLYGONS, "repair = true")
    with pytest.warns(errors.RepairWarning, match="invalid-geometry"):
        areas = load_layers(catalog=load_catalog([tmp_path]))["areas"]
    assert areas.geometry.is_valid.all() and areas.geom_type.iloc[0] == "MultiPolygon"


def test_user_layer_refused_file_names_file_and_fix(tmp_path: Path) -> None:
    (tmp_path / "swapped.csv").write_text("id,latitude,longitude\n1,77.2,28.6\n", encoding="utf-8")
    _entry(tmp_path, "swapped", "swapped.csv", '"Point"')
    with pytest.raises(errors.LayerValidationError, match="swapped.csv.*swap-xy"):
        load_layers(catalog=load_catalog([tmp_path]))


def test_layers_command_lists_the_user_layer(user_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRIDORMAP_EXTRA_LAYERS_DIRS", str(user_dir))
    with settings.override(extra_layers_dirs=[user_dir]), pytest.warns(errors.RepairWarning):
        result = CliRunner().invoke(cli, ["layers"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("my_plots"))
    assert "plots.csv" in row and " 2 " in f" {row} "


def test_repair_log_goes_where_settings_say(user_dir: Path, tmp_path: Path) -> None:
    from corridormap import read_file

    logs = tmp_path / "out"
    with settings.override(repair_log_dir=logs), pytest.warns(errors.RepairWarning):
        read_file(user_dir / "plots.csv", x="lon", y="lat", crs="EPSG:4326", decimal=",")
    text = (logs / "plots.csv.repairs.csv").read_text(encoding="utf-8")
    assert text.count("dms") == 2 and "converted to decimal degrees" in text
    assert json.loads((logs / "plots.csv.validation.json").read_text())["n_features"] == 2


def test_build_includes_the_user_layer(user_dir: Path, tmp_path: Path) -> None:
    import pyogrio

    from corridormap.build import build_outputs

    with settings.override(extra_layers_dirs=[user_dir]), pytest.warns(errors.RepairWarning):
        result = build_outputs(tmp_path / "out")
    assert "my_plots" in result.layers and len(result.layers["my_plots"]) == 2
    assert "my_plots" in {str(n) for n, _ in pyogrio.list_layers(result.gpkg)}
    assert "Plot A" in result.map.read_text(encoding="utf-8")
