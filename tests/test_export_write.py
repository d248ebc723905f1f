"""GeoPackage export: atomic, refuses overwrites, keeps other layers, deterministic, with a manifest."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import LineString, Point

from corridormap.errors import OutputExistsError
from corridormap.export.manifest import build_manifest
from corridormap.export.write import export_layers, manifest_path


@pytest.fixture
def layers() -> dict[str, gpd.GeoDataFrame]:
    nodes = gpd.GeoDataFrame(
        {"id": ["n1", "n2"], "name": ["Dadri", "Dholera"], "source": ["DMICDC", "DMICDC"]},
        geometry=[Point(77.55, 28.55), Point(72.19, 22.25)],
        crs="EPSG:4326",
    )
    rail = gpd.GeoDataFrame(
        {"id": ["r1"], "corridor": ["Western DFC"]},
        geometry=[LineString([(77.5, 28.5), (72.9, 19.0)])],
        crs="EPSG:4326",
    )
    return {"industrial_nodes": nodes, "freight_rail": rail}


def test_gpkg_round_trip_and_manifest(tmp_path, layers):
    out = export_layers(
        layers,
        tmp_path / "corridor.gpkg",
        specs={
            "industrial_nodes": {
                "description": "Industrial nodes",
                "provenance": {"source": "DMICDC", "licence": "public"},
            }
        },
    )
    for name, gdf in layers.items():
        got = gpd.read_file(out, layer=name)
        assert_geodataframe_equal(got, gdf, check_like=True)
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["layers"]["industrial_nodes"]["features"] == 2
    assert manifest["layers"]["industrial_nodes"]["licence"] == "public"
    assert manifest["layers"]["freight_rail"]["crs"] == "EPSG:4326"
    assert manifest["outputs"][0]["path"] == "corridor.gpkg"


def test_gpkg_refuses_existing_layer_and_keeps_others(tmp_path, layers):
    out = tmp_path / "corridor.gpkg"
    export_layers({"freight_rail": layers["freight_rail"]}, out)
    before = out.read_bytes()
    with pytest.raises(OutputExistsError, match="freight_rail"):
        export_layers(layers, out)
    assert out.read_bytes() == before
    export_layers({"industrial_nodes": layers["industrial_nodes"]}, out)  # a new layer is added
    export_layers({"industrial_nodes": layers["industrial_nodes"].iloc[:1]}, out, overwrite=True)
    assert len(gpd.read_file(out, layer="industrial_nodes")) == 1
    assert len(gpd.read_file(out, layer="freight_rail")) == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_gpkg_is_deterministic(tmp_path, layers):
    a = export_layers(layers, tmp_path / "a" / "corridor.gpkg")
    b = export_layers(layers, tmp_path / "b" / "corridor.gpkg")
    assert a.read_bytes() == b.read_bytes()


def test_manifest_without_specs_uses_feature_columns(layers):
    m = build_manifest(layers)
    assert m["layers"]["industrial_nodes"]["source"] == "DMICDC"
    assert m["layers"]["freight_rail"]["bounds"] == [72.9, 19.0, 77.5, 28.5]
