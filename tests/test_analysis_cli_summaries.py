"""Outputs that explain themselves: summaries of the analysis commands, progress bars, Shapefile records."""

from __future__ import annotations

import io
import json
import re
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

import corridormap
from corridormap import progress, settings
from corridormap.cli import cli
from corridormap.cli._summary import (
    access_summary,
    chainage_summary,
    gaps_summary,
    losses_summary,
    sites_summary,
)

NUMBER_WORDS = re.compile(r"\b(nan|inf|-inf|NaN|None)\b")


def test_access_summary_reads_the_columns_there_are_and_says_what_is_missing() -> None:
    card = pd.DataFrame(
        {
            "name": ["A", "B", "C"],
            "port_name": ["P", "Q", None],
            "port_km": [10.0, 30.0, np.nan],
            "port_network_km": [12.0, np.nan, np.inf],
            "station_name": [None, None, None],
            "station_km": [np.nan, np.nan, np.nan],
            "position_tolerance_km": [1.0, 2.0, 3.0],  # not a target: no station of that name
            "renewable_mw_within_100km": [0.0, 250.0, np.nan],
            "in_belt": [True, False, True],
        }
    )
    text = "\n".join(access_summary(card))
    assert "Access card: 3 node(s)" in text
    assert "port: median 20.0 km, nearest 10.0 km, farthest 30.0 km (B); 1 with none in reach" in text
    assert "port along the network: median 12.0 km" in text and "2 not connected in this network" in text
    assert "station: with none in reach for every row" in text
    assert "position tolerance" not in text
    assert "renewable capacity within 100 km: median 125 MW; 1 node(s) with none" in text
    assert "in the corridor belt: 2 of 3" in text
    assert not NUMBER_WORDS.search(text), text


def test_chainage_gaps_and_sites_summaries() -> None:
    table = pd.DataFrame(
        {
            "line": ["WDFC", "WDFC", "DME"],
            "chainage_km": [0.0, 1394.2, np.nan],
            "beyond_end": [False, True, None],
            "side": ["left", "right", "left"],
        }
    )
    text = "\n".join(chainage_summary(table))
    assert "WDFC: 2 feature(s), km 0.0 to 1,394.2, 1 beyond an end; 1 left, 1 right" in text
    assert "DME: 1 feature(s); 1 left" in text and not NUMBER_WORDS.search(text)
    flagged = pd.DataFrame({"rule": ["far", "far", "green"], "id": ["a", "b", "a"]})
    assert gaps_summary(flagged)[:3] == ["Gaps: 3 flag(s) on 2 feature(s)", "  far: 2", "  green: 1"]
    assert gaps_summary(flagged.iloc[:0])[1] == "  no feature breaks a rule"
    sites = gpd.GeoDataFrame(
        {"rank": [1, 2], "score": [0.9, 0.7]},
        geometry=[shapely.Point(72.9, 21.5), shapely.Point(75, 25)],
        crs=4326,
    ).to_crs(7755)
    text = "\n".join(sites_summary(sites, cells=1234, separation_km=20))
    assert "2 candidate site(s) from 1,234 scored cell(s), at least 20 km apart" in text
    assert "best 0.90, last 0.70" in text and "best site: lon 72.900, lat 21.500" in text


def test_cli_commands_print_a_summary_and_where_the_files_are(tmp_path) -> None:
    runner = CliRunner()
    for verb, heading in [
        ("access", "Access card: {} node(s)"),
        ("chainage", "Chainage: {} row(s)"),
        ("gaps", "Gaps: {} flag(s)"),
    ]:
        result = runner.invoke(cli, [verb, "--out", str(tmp_path)])
        assert result.exit_code == 0, result.output
        rows = len(pd.read_csv(tmp_path / f"{verb}.csv"))
        assert heading.format(rows) in result.output and "Wrote:" in result.output, result.output
        assert f"  {(tmp_path / f'{verb}.csv').resolve()}" in result.output
        assert not NUMBER_WORDS.search(result.output), result.output


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_only_when_asked() -> None:
    stream = _Terminal()
    assert list(progress.track(range(4), desc="scoring", stream=stream)) == [0, 1, 2, 3]
    assert stream.getvalue() == "", "off by default: the library prints nothing"
    with settings.override(progress=True):
        assert list(progress.track(range(4), desc="scoring", stream=stream)) == [0, 1, 2, 3]
        assert "scoring:   0%" in stream.getvalue() and "/4 [" in stream.getvalue()
        piped = io.StringIO()  # not a terminal: silent (logs, CI)
        list(progress.track(range(4), desc="scoring", stream=piped))
        assert piped.getvalue() == ""
        steps_stream = _Terminal()
        with progress.steps(3, desc="build", stream=steps_stream) as bar:
            for name in ("layers", "map", "GeoPackage"):
                bar.step(name)
        assert "map" in steps_stream.getvalue() and "GeoPackage" in steps_stream.getvalue()


@pytest.mark.parametrize(("args", "expected"), [([], True), (["-q"], False)])
def test_cli_turns_progress_on_unless_quiet(monkeypatch, args, expected) -> None:
    import click

    seen = []
    probe = click.command("probe")(lambda: seen.append(settings.progress))
    monkeypatch.setitem(corridormap.cli.COMMANDS, "probe", probe)
    assert CliRunner().invoke(cli, [*args, "probe"]).exit_code == 0
    assert seen == [expected] and settings.progress is False, "restored after the command"


def test_shapefile_export_keeps_records_inside_and_summarises_losses(tmp_path) -> None:
    out = tmp_path / "shp"
    result = CliRunner().invoke(cli, ["export", "--format", "shp", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning:" not in result.output, "one summary, not a warning per field"
    fieldmap = out / "export.fieldmap.json"
    assert (out / "export.manifest.json").is_file() and fieldmap.is_file()
    assert not (tmp_path / "shp.manifest.json").exists() and not (tmp_path / "shp.fieldmap.json").exists()
    summary = [line for line in result.output.splitlines() if "declared change(s)" in line]
    assert len(summary) == 1 and str(fieldmap) in summary[0]
    assert "field names changed" in result.output and "text cut to the format's field size" in result.output
    # every cut text ends with the mark, fits 254 bytes, and its full text is in the field map by id
    recorded = json.loads(fieldmap.read_text())["losses"]
    cut = [e for e in recorded if e["kind"] == "truncated"]
    # a cut value's column is named as written (after any rename); back to the catalog's name
    original_name = {
        (e["layer"], e["mapping"][e["column"]]): e["column"] for e in recorded if e["kind"] == "rename"
    }
    layers = corridormap.load_layers()
    checked = 0
    for entry in cut:
        column = entry["column"]
        with zipfile.ZipFile(out / f"{entry['layer']}.shp.zip") as zf:
            name = next(n for n in zf.namelist() if n.endswith(".shp"))
        got = pyogrio.read_dataframe(
            f"/vsizip/{out / (entry['layer'] + '.shp.zip')}/{name}", read_geometry=False
        )
        short = column
        original = layers[entry["layer"]].set_index("id")[original_name.get((entry["layer"], column), column)]
        for full in entry["mapping"]["full_text"]:
            value = got.loc[got["id"] == full["id"], short].iloc[0]
            assert value.endswith("…") and len(value.encode()) <= 254
            assert full["text"] == original.loc[full["id"]] and full["text"].startswith(value[:-1])
            checked += 1
    assert checked > 50
    manifest = json.loads((out / "export.manifest.json").read_text())
    assert [e for e in manifest["losses"] if e["kind"] == "truncated"] == cut


def test_losses_summary_groups_by_kind(tmp_path) -> None:
    entries = [
        {"layer": "a", "column": "geometry_quality", "kind": "rename", "count": 3},
        {"layer": "b", "column": "geometry_quality", "kind": "rename", "count": 4},
        {"layer": "a", "column": "source", "kind": "truncated", "count": 2},
        {"layer": "a", "column": None, "kind": "mystery", "count": 1, "reason": "a new kind of change"},
    ]
    lines = losses_summary(entries, tmp_path / "f.json")
    assert lines[0].startswith("4 declared change(s)") and len(lines) == 4
    assert "  field names changed: 2 field(s) in 2 layer(s)" in lines
    assert "  a new kind of change: 1 layer(s), 1 feature(s)" in lines
