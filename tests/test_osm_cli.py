"""``corridormap osm fetch | extract | graph`` through click's CliRunner, offline."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from click.testing import CliRunner

from corridormap.cli import cli
from corridormap.osm import _overpass

XML = Path(__file__).parent / "fixtures" / "osm" / "rewari.osm"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_extract_writes_one_layer_per_kind(tmp_path: Path) -> None:
    out = tmp_path / "osm.gpkg"
    code, text = run("osm", "extract", str(XML), "--what", "rail,power", "--out", str(out))
    assert code == 0, text
    assert "osm_rail: 4 features" in text and "osm_power: 3 features" in text
    assert sorted(name for name, _ in pyogrio.list_layers(out)) == ["osm_power", "osm_rail"]
    rail = gpd.read_file(out, layer="osm_rail")
    assert set(rail["source"]) == {"OpenStreetMap contributors, ODbL"}
    code, text = run("osm", "extract", str(XML), "--what", "rail", "--out", str(out))
    assert code == 2 and "--overwrite" in text
    code, text = run(
        "osm",
        "extract",
        str(XML),
        "--what",
        "rail",
        "--area",
        "76.59,28.19,76.63,28.21",
        "--out",
        str(out),
        "--overwrite",
    )
    assert code == 0 and "osm_rail: 2 features" in text


@pytest.mark.parametrize(("kind", "suffix", "edges"), [("rail", "graphml", 6), ("road", "gpkg", 4)])
def test_graph(tmp_path: Path, kind: str, suffix: str, edges: int) -> None:
    out = tmp_path / f"g.{suffix}"
    code, text = run("osm", "graph", str(XML), "--kind", kind, "--out", str(out))
    assert code == 0, text
    assert f"{kind} graph:" in text and f"{edges} edges" in text
    if suffix == "graphml":
        import osmnx as ox

        back = ox.load_graphml(out)
        assert back.number_of_edges() == edges
        assert all(d["travel_time"] > 0 for *_, d in back.edges(data=True))
    else:
        frame = gpd.read_file(out, layer="edges")
        assert len(frame) == edges and {"length", "speed_kph", "travel_time"} <= set(frame.columns)


def test_fetch_with_progress_then_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_send(method: str, url: str, *, data: bytes | None, timeout_s: float) -> bytes:
        calls.append(url)
        return XML.read_bytes()

    monkeypatch.setattr(_overpass, "_send", fake_send)
    cache = tmp_path / "cache"
    args = [
        "osm",
        "fetch",
        "--area",
        "76.4,28.0,76.8,28.3",
        "--what",
        "trunk",
        "--tile-deg",
        "0.25",
        "--cache-dir",
        str(cache),
    ]
    code, text = run(*args, "--out", str(tmp_path / "a.gpkg"))
    assert code == 0, text
    assert len(calls) == 6 and "osm_trunk: 2 features" in text
    assert "tiles (2 features so far)" in text
    code, text = run(*args, "--offline", "--out", str(tmp_path / "b.gpkg"))
    assert code == 0 and len(calls) == 6
    code, text = run(
        "osm",
        "fetch",
        "--area",
        "76.4,28.0,76.8,28.3",
        "--what",
        "ports",
        "--offline",
        "--cache-dir",
        str(cache),
        "--out",
        str(tmp_path / "c.gpkg"),
    )
    assert code == 2 and "settings.offline" in text and "Traceback" not in text
