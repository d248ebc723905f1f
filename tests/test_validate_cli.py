"""``corridormap validate``: a report per file, non-zero exit when one is refused, logs on request."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from corridormap.cli import cli


def _geojson(path: Path, coords: list[float], **props: object) -> Path:
    feature = {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": coords}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    return path


def test_good_file_exits_zero(tmp_path: Path) -> None:
    good = _geojson(tmp_path / "good.geojson", [77.2, 28.6], id="A")
    result = CliRunner().invoke(cli, ["validate", str(good)])
    assert result.exit_code == 0, result.output
    assert "good.geojson: ok" in result.output
    assert "1 features; geometry types: Point 1" in result.output
    assert "EPSG:4326" in result.output


def test_refused_file_exits_nonzero_and_names_the_fix(tmp_path: Path) -> None:
    good = _geojson(tmp_path / "good.geojson", [77.2, 28.6])
    swapped = _geojson(tmp_path / "swapped.geojson", [28.6, 77.2])
    result = CliRunner().invoke(cli, ["validate", str(good), str(swapped)])
    assert result.exit_code == 1
    assert "swapped.geojson: REFUSED" in result.output
    assert "--swap-xy" in result.output
    assert "1 of 2 file(s) refused" in result.output
    assert "Traceback" not in result.output


def test_opt_in_option_loads_it(tmp_path: Path) -> None:
    swapped = _geojson(tmp_path / "swapped.geojson", [28.6, 77.2])
    result = CliRunner().invoke(
        cli, ["validate", "--swap-xy", "--log-dir", str(tmp_path / "logs"), str(swapped)]
    )
    assert result.exit_code == 0, result.output
    log = (tmp_path / "logs" / "swapped.geojson.repairs.csv").read_text(encoding="utf-8")
    assert "swap-xy" in log


def test_missing_and_directory_paths_are_clean_errors(tmp_path: Path) -> None:
    (tmp_path / "empty_dir").mkdir()
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "nope.gpkg"), str(tmp_path / "empty_dir")])
    assert result.exit_code == 1
    assert "no such file" in result.output and "is a folder" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_json_output(tmp_path: Path) -> None:
    good = _geojson(tmp_path / "g.geojson", [77.2, 28.6], name="<script>x</script>")
    result = CliRunner().invoke(cli, ["validate", "--json", str(good)])
    data = json.loads(result.output)
    assert data[0]["n_features"] == 1 and data[0]["refused"] is False
    assert [f["check"] for f in data[0]["findings"]] == ["hostile-text"]
