"""``corridormap access | chainage | catchments | gaps`` write atomically: all outputs or none."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner

from corridormap.atomic import STAGING_PREFIX
from corridormap.cli import cli


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    ("command", "names"),
    [
        (["gaps"], ["gaps.csv", "gaps.gpkg"]),
        (
            ["chainage", "--line", "wdfc"],
            ["chainage.csv", "chainage.gpkg", "chainage_published.csv", "strip_wdfc.svg"],
        ),
    ],
)
def test_interrupted_overwrite_leaves_previous_outputs_byte_identical(tmp_path, monkeypatch, command, names):
    out = tmp_path / "analysis"
    first = CliRunner().invoke(cli, [*command, "--out", str(out)])
    assert first.exit_code == 0, first.output
    before = _snapshot(out)
    assert sorted(before) == sorted(names)

    def disk_full(self, path, *args, **kwargs):  # half a file, then the failure
        Path(path).write_bytes(b"half a GeoPackage")
        raise OSError("No space left on device")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", disk_full)
    again = CliRunner().invoke(cli, [*command, "--out", str(out), "--overwrite"])
    assert again.exit_code == 2 and "No space left on device" in again.output  # one line, no traceback
    assert isinstance(again.exception, SystemExit) and "Traceback" not in again.output
    assert _snapshot(out) == before  # same files, same bytes; no staging folder left behind
    assert not any(p.name.startswith(STAGING_PREFIX) for p in out.iterdir())


def test_overwrite_replaces_every_output_and_refuses_without_it(tmp_path):
    out = tmp_path / "analysis"
    assert CliRunner().invoke(cli, ["gaps", "--out", str(out)]).exit_code == 0
    (out / "gaps.csv").write_text("stale")
    refused = CliRunner().invoke(cli, ["gaps", "--out", str(out)])
    assert refused.exit_code != 0 and "--overwrite" in refused.output
    assert (out / "gaps.csv").read_text() == "stale"
    assert CliRunner().invoke(cli, ["gaps", "--out", str(out), "--overwrite"]).exit_code == 0
    assert (out / "gaps.csv").read_text(encoding="utf-8").startswith("rule,severity,layer,feature,")
