"""``corridormap export``: formats, CRS choice and refusals, layer choice, users' files, manifests."""

from __future__ import annotations

import json
import sqlite3
import warnings

import geopandas as gpd
import pytest
from click.testing import CliRunner
from pyproj import CRS
from shapely.geometry import Point

from corridormap.cli import cli
from corridormap.errors import CRSError, DataLossWarning
from corridormap.export.formats import FORMATS
from corridormap.export.manifest import file_sha256
from corridormap.export.write import export_layers, fieldmap_path, manifest_path, read_back


def _run(*args: str):
    return CliRunner().invoke(cli, ["export", *args])


@pytest.fixture
def nodes() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["a", "b"], "name": ["Dadri", "Dholera"]},
        geometry=[Point(77.55, 28.55), Point(72.19, 22.25)],
        crs="EPSG:4326",
    )


@pytest.mark.parametrize(
    ("fmt", "suffix"),
    [
        ("gpkg", ".gpkg"),
        ("geojson", ".geojson"),
        ("fgb", ".fgb"),
        ("parquet", ".parquet"),
        ("shp", ".shp.zip"),
        ("kml", ".kml"),
        ("kmz", ".kmz"),
        ("csv", ".csv"),
    ],
)
def test_cli_exports_catalog_layer_in_every_format(tmp_path, fmt, suffix):
    out = tmp_path / f"nodes{suffix}"
    result = _run("--format", fmt, "--out", str(out), "--layers", "industrial_nodes")
    assert result.exit_code == 0, result.output
    assert out.exists() and manifest_path(out).exists()
    manifest = json.loads(manifest_path(out).read_text())
    entry = manifest["layers"]["industrial_nodes"]
    assert entry["features"] == len(read_back(out, "industrial_nodes", driver=fmt)) > 0
    assert manifest["inputs"] and all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    assert manifest["gdal_version"] and manifest["corridormap_version"]
    assert manifest["options"]["format"] == fmt and manifest["options"]["geometry_precision"]
    assert "source" in entry and "licence" in entry
    if "warning:" in result.output:  # every warning printed is recorded beside the output
        assert fieldmap_path(out).exists()


def test_cli_refuses_existing_and_names_the_fix(tmp_path):
    out = tmp_path / "nodes.geojson"
    assert _run("--format", "geojson", "--out", str(out), "--layers", "industrial_nodes").exit_code == 0
    before = out.read_bytes()
    again = _run("--format", "geojson", "--out", str(out), "--layers", "industrial_nodes")
    assert again.exit_code != 0 and "--overwrite" in again.output and "Traceback" not in again.output
    assert out.read_bytes() == before
    assert (
        _run(
            "--format", "geojson", "--out", str(out), "--layers", "industrial_nodes", "--overwrite"
        ).exit_code
        == 0
    )


@pytest.mark.parametrize(("fmt", "crs"), [("geojson", "7755"), ("kml", "belt"), ("kmz", "EPSG:32643")])
def test_cli_refuses_a_crs_the_format_cannot_hold(tmp_path, fmt, crs):
    result = _run("--format", fmt, "--out", str(tmp_path / "x"), "--crs", crs, "--layers", "industrial_nodes")
    assert result.exit_code != 0 and "holds only EPSG:4326" in result.output
    assert not (tmp_path / "x").exists()


_ANY_EPSG = [
    ("gpkg", "EPSG:7755"),
    ("fgb", "EPSG:32643"),
    ("parquet", "EPSG:7755"),
    ("shp", "EPSG:24378"),
    ("csv", "EPSG:7755"),
]


@pytest.mark.parametrize(("fmt", "crs"), _ANY_EPSG)
def test_any_epsg_where_the_format_holds_it(tmp_path, nodes, fmt, crs):
    out = tmp_path / f"nodes{FORMATS[fmt].suffixes[0]}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)
        export_layers({"nodes": nodes}, out, driver=fmt, crs=crs)
    got = read_back(out, "nodes", driver=fmt)
    assert CRS(got.crs).equals(CRS(crs))
    expected = nodes.to_crs(crs).set_index("id").geometry
    for ident, geom in zip(got["id"], got.geometry, strict=True):
        assert geom.equals_exact(expected[ident], tolerance=1e-6)
    assert json.loads(manifest_path(out).read_text())["layers"]["nodes"]["crs"] == crs


def test_unknown_crs_and_unknown_layer_are_refused(tmp_path, nodes):
    with pytest.raises(CRSError, match="EPSG code"):
        export_layers({"nodes": nodes}, tmp_path / "x.gpkg", crs="not a crs")
    result = _run("--out", str(tmp_path / "x.gpkg"), "--layers", "no_such_layer")
    assert result.exit_code != 0 and "industrial_nodes" in result.output


def test_cli_converts_users_files_with_input_hashes(tmp_path, nodes):
    src = tmp_path / "my_sites.geojson"
    nodes.to_file(src)
    out = tmp_path / "converted.gpkg"
    result = _run("--out", str(out), str(src))
    assert result.exit_code == 0, result.output
    assert sorted(gpd.read_file(out, layer="my_sites")["id"]) == ["a", "b"]
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["inputs"] == [{"path": src.name, "sha256": file_sha256(src)}]


def test_gpkg_layer_descriptions_and_records_of_kept_layers(tmp_path, nodes):
    out = tmp_path / "c.gpkg"
    export_layers(
        {"nodes": nodes},
        out,
        specs={"nodes": {"description": "Industrial nodes of the DMIC", "title": "Industrial nodes"}},
    )
    export_layers({"more": nodes}, out)  # a second export adds a layer; the first stays described
    with sqlite3.connect(out) as db:
        query = "SELECT table_name, identifier, description FROM gpkg_contents"
        rows = {r[0]: r[1:] for r in db.execute(query)}
    assert rows["nodes"] == ("Industrial nodes", "Industrial nodes of the DMIC")
    assert sorted(json.loads(manifest_path(out).read_text())["layers"]) == ["more", "nodes"]


def test_with_analysis_adds_the_card_catchment_rings_and_gap_flags(tmp_path):
    out = tmp_path / "analysis.gpkg"
    layers = "industrial_nodes,catchment_rings,gap_flags"
    result = _run("--out", str(out), "--with-analysis", "--layers", layers)
    assert result.exit_code == 0, result.output
    card = gpd.read_file(out, layer="industrial_nodes")
    assert len(card) > 0 and {"freight_station_km", "port_rail_km", "gap_flags"} <= set(card.columns)
    rings = gpd.read_file(out, layer="catchment_rings")
    assert set(rings.geom_type) == {"Polygon"} and "radius_km" in rings.columns
    flags = gpd.read_file(out, layer="gap_flags")
    assert {"rule", "severity", "measured_km", "threshold_km", "reason"} <= set(flags.columns)


def test_with_analysis_needs_industrial_nodes(tmp_path, nodes):
    src = tmp_path / "plants.geojson"
    nodes.to_file(src)
    result = _run(str(src), "--out", str(tmp_path / "x.gpkg"), "--with-analysis")
    assert result.exit_code != 0
    assert "industrial_nodes" in result.output and "Fix:" in result.output
    assert not (tmp_path / "x.gpkg").exists()
