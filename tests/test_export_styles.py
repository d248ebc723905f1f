"""QGIS styles from the catalog: the GeoPackage's layer_styles table, QML/SLD sidecars, QGIS headless."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

import corridormap
from corridormap.catalog.load import load_catalog
from corridormap.cli import cli
from corridormap.errors import DataLossWarning
from corridormap.export.styles import layer_style, to_qml, to_sld
from corridormap.export.write import export_layers
from corridormap.io.read import list_layers

HERE = Path(__file__).parent
QGIS_PYTHON = "/usr/bin/python3"  # Debian's python3-qgis lives there (the venv cannot import it)
QGIS_COLUMNS = [
    "id",
    "f_table_catalog",
    "f_table_schema",
    "f_table_name",
    "f_geometry_column",
    "styleName",
    "styleQML",
    "styleSLD",
    "useAsDefault",
    "description",
    "owner",
    "ui",
    "update_time",
]
SE = "{http://www.opengis.net/se}"
OGC = "{http://www.opengis.net/ogc}"


@pytest.fixture(scope="module")
def catalog():
    specs = load_catalog()
    return specs, corridormap.load_layers(catalog=specs)


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory, catalog) -> Path:
    specs, layers = catalog
    path = tmp_path_factory.mktemp("styles") / "corridor.gpkg"
    export_layers(layers, path, specs=specs)
    return path


def _rows(path: Path) -> list[dict]:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM layer_styles ORDER BY id")]


def _qml_classes(qml: str) -> tuple[ET.Element, dict[str, dict[str, str]]]:
    """The renderer element and, per category value, its first symbol layer's options."""
    root = ET.fromstring(qml.split("\n", 1)[1])
    renderer = root.find("renderer-v2")
    symbols = {s.get("name"): s for s in renderer.iter("symbol")}
    classes = {}
    for cat in renderer.iter("category"):
        layer = symbols[cat.get("symbol")].find("layer")
        classes[cat.get("value")] = {o.get("name"): o.get("value") for o in layer.find("Option")}
        classes[cat.get("value")]["label"] = cat.get("label")
    return root, classes


def test_layer_styles_table_has_qgis_schema_and_one_default_per_layer(gpkg, catalog) -> None:
    specs, layers = catalog
    rows = _rows(gpkg)
    with sqlite3.connect(gpkg) as db:
        columns = [r[1] for r in db.execute("PRAGMA table_info(layer_styles)")]
        kind = db.execute("SELECT data_type FROM gpkg_contents WHERE table_name='layer_styles'").fetchone()
    assert columns == QGIS_COLUMNS and kind == ("attributes",)
    assert sorted(r["f_table_name"] for r in rows) == sorted(layers)
    assert all(r["useAsDefault"] == 1 and r["styleName"] == "corridormap" for r in rows)
    assert {r["update_time"] for r in rows} == {"2000-01-01T00:00:00.000Z"}
    assert {r["f_geometry_column"] for r in rows} == {"geom"}
    assert {name for name, _ in list_layers(gpkg)} == set(layers)  # a table, not a layer


def test_qml_carries_the_catalog_style(gpkg) -> None:
    rows = {r["f_table_name"]: r for r in _rows(gpkg)}
    root, rail = _qml_classes(rows["freight_rail"]["styleQML"])
    assert root.find("renderer-v2").get("type") == "categorizedSymbol"
    assert root.find("renderer-v2").get("attr") == 'concat("corridor", \' | \', "status")'
    west, east = rail["Western DFC | operational"], rail["Eastern DFC | under construction"]
    assert west["line_color"] == "192,57,43,242" and west["use_custom_dash"] == "0"  # #c0392b, opacity 0.95
    assert east["line_color"].startswith("31,95,168,") and east["customdash"] == "10;6"
    assert west["line_width"] == "4" and west["line_width_unit"] == "Pixel"
    assert rail[""]["label"] == "other"  # the catch-all for values the catalog does not style
    root, nodes = _qml_classes(rows["industrial_nodes"]["styleQML"])
    assert root.find("renderer-v2").get("attr") == "status"
    assert list(nodes) == ["operational", "under construction", "approved", "proposed", ""]
    assert nodes["operational"]["size"] == "16" and nodes["operational"]["color"] == "157,78,221,230"
    assert nodes["proposed"]["outline_style"] == "dot"
    assert (
        root.get("labelsEnabled") == "1"
        and root.find("labeling/settings/text-style").get("fieldName") == "name"
    )
    root, belt = _qml_classes(rows["corridor_belt"]["styleQML"])
    fill = [s for s in root.iter("symbol")][0]
    assert [layer.get("class") for layer in fill.findall("layer")] == ["SimpleFill", "SimpleLine"]


def test_sld_carries_the_catalog_style(gpkg) -> None:
    rows = {r["f_table_name"]: r for r in _rows(gpkg)}
    sld = ET.fromstring(rows["freight_rail"]["styleSLD"].split("\n", 1)[1])
    rules = list(sld.iter(f"{SE}Rule"))
    first = rules[0]
    assert first.find(f"{SE}Name").text == "Western DFC, operational"
    literals = [lit.text for lit in first.iter(f"{OGC}Literal")]
    assert literals == ["Western DFC", "operational"]
    stroke = {p.get("name"): p.text for p in first.iter(f"{SE}SvgParameter")}
    assert (
        stroke["stroke"] == "#c0392b" and stroke["stroke-width"] == "4" and "stroke-dasharray" not in stroke
    )
    dashed = {p.get("name"): p.text for p in rules[1].iter(f"{SE}SvgParameter")}
    assert dashed["stroke-dasharray"] == "10 6"
    assert rules[-1].find(f"{SE}ElseFilter") is not None
    nodes = ET.fromstring(rows["industrial_nodes"]["styleSLD"].split("\n", 1)[1])
    assert nodes.find(f".//{SE}TextSymbolizer/{SE}Label/{OGC}PropertyName").text == "name"
    assert nodes.find(f".//{SE}PointSymbolizer//{SE}Size").text == "16"


def test_geopackage_is_byte_identical_and_keeps_other_layers_styles(tmp_path, catalog, gpkg) -> None:
    specs, layers = catalog
    again = tmp_path / "again.gpkg"
    export_layers(layers, again, specs=specs)
    assert again.read_bytes() == gpkg.read_bytes()
    export_layers({"freight_rail": layers["freight_rail"]}, again, specs=specs, overwrite=True)
    assert sorted(r["f_table_name"] for r in _rows(again)) == sorted(layers), "other layers' styles kept"
    assert len(_rows(again)) == len(layers), "one style per layer, not two"


def test_hostile_values_are_escaped_and_unstyled_values_fall_to_other() -> None:
    hostile = "</category><script>x</script> & \"'"
    spec = SimpleNamespace(
        kind="point",
        title="t",
        columns={},
        style={
            "kind": "point",
            "color": "#123456",
            "categories": {"column": "kind", "colors": {hostile: "#abcdef"}},
        },
    )
    gdf = gpd.GeoDataFrame(
        {"kind": [hostile], "status": ["<b>odd</b>"]}, geometry=[shapely.Point(0, 0)], crs=4326
    )
    style = layer_style("x", gdf, spec)
    _, classes = _qml_classes(to_qml(style))
    assert f"{hostile} | operational" in classes and f"{hostile} | <b>odd</b>" in classes
    sld = ET.fromstring(to_sld(style).split("\n", 1)[1])
    assert hostile in [lit.text for lit in sld.iter(f"{OGC}Literal")]


def test_bad_catalog_colour_is_refused_by_name() -> None:
    spec = SimpleNamespace(kind="line", title="t", columns={}, style={"kind": "line", "color": "url(x)"})
    gdf = gpd.GeoDataFrame(
        {"status": ["operational"]}, geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=4326
    )
    with pytest.raises(corridormap.errors.CatalogError, match="layer 'bad'.*url\\(x\\).*#rrggbb"):
        to_qml(layer_style("bad", gdf, spec))
    named = SimpleNamespace(kind="line", title="t", columns={}, style={"kind": "line", "color": "darkred"})
    _, classes = _qml_classes(to_qml(layer_style("named", gdf, named)))
    assert classes["operational"]["line_color"] == "139,0,0,255"  # a CSS name, as the map takes it


def test_export_cli_writes_style_sidecars(tmp_path) -> None:
    runner = CliRunner()
    out = tmp_path / "fgb"
    args = [
        "export",
        "--format",
        "fgb",
        "--out",
        str(out),
        "--layers",
        "freight_rail,industrial_nodes",
        "--styles",
        "sld",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert sorted(p.name for p in out.glob("*.sld")) == ["freight_rail.sld", "industrial_nodes.sld"]
        ET.parse(out / "freight_rail.sld")
        manifest = json.loads((out / "export.manifest.json").read_text())
        assert "freight_rail.sld" in json.dumps(manifest["outputs"])
        again = runner.invoke(cli, args)
        assert again.exit_code != 0 and "--overwrite" in again.output
        shp = runner.invoke(
            cli,
            [
                "export",
                "--format",
                "shp",
                "--out",
                str(tmp_path / "shp"),
                "--layers",
                "renewable_zones",
                "--styles",
                "qml",
            ],
        )
        assert shp.exit_code == 0, shp.output
        assert (tmp_path / "shp" / "renewable_zones.qml").is_file()


@pytest.mark.qgis
def test_qgis_opens_the_layers_styled(tmp_path, gpkg, catalog) -> None:
    """QGIS 3.22 headless loads each layer's default style from the GeoPackage and a .qml sidecar."""
    specs, layers = catalog
    nodes = layers["industrial_nodes"].copy()
    nodes.loc[nodes.index[0], "status"] = None  # a feature the catalog does not style: drawn as "other"
    with pytest.warns(DataLossWarning, match="index order"):
        export_layers(
            {"industrial_nodes": nodes}, tmp_path / "nodes.fgb", driver="fgb", specs=specs, styles="qml"
        )
    sources = [f"{gpkg}|layername={name}" for name in layers] + [str(tmp_path / "nodes.fgb")]
    done = subprocess.run(
        [QGIS_PYTHON, str(HERE / "qgis_check.py"), *sources],
        capture_output=True,
        text=True,
        timeout=300,
        env={"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    if "No module named 'qgis'" in done.stderr:
        pytest.fail(
            "QGIS's Python bindings are missing: apt-get install python3-qgis qgis-providers "
            "(bash .ci/run installs them)"
        )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for name, layer in layers.items():
        got = report[f"{gpkg}|layername={name}"]
        assert got["valid"] and got["default_style_loaded"], (name, got.get("message"))
        assert got["renderer"] == "categorizedSymbol", name
        assert got["features"] == len(layer)
        status = dict(zip(layer["id"].astype(str), layer["status"], strict=True)) if "id" in layer else {}
        for feature in got["drawn"]:
            assert feature["category"] is not None and feature["color"] is not None, (name, feature)
            if feature["id"] in status and name != "freight_rail" and name != "renewable_zones":
                assert feature["category"] == status[feature["id"]], (name, feature)
    rail = report[f"{gpkg}|layername=freight_rail"]
    colours = {c["label"]: c["color"] for c in rail["categories"]}
    assert (
        colours["Western DFC, operational"] == "#c0392b" and colours["Eastern DFC, operational"] == "#1f5fa8"
    )
    assert {f["category"].split(",")[0] for f in rail["drawn"]} == {"Western DFC", "Eastern DFC"}
    dashes = {c["label"]: c["layers"][0]["props"] for c in rail["categories"]}
    assert dashes["Western DFC, under construction"]["customdash"] == "10;6"
    nodes_got = report[f"{gpkg}|layername=industrial_nodes"]
    assert nodes_got["labels"] and nodes_got["label_field"] == "name"
    sidecar = report[str(tmp_path / "nodes.fgb")]
    assert sidecar["default_style_loaded"] and sidecar["renderer"] == "categorizedSymbol"
    first = [f for f in sidecar["drawn"] if f["id"] == str(nodes["id"].iloc[0])]
    assert first and first[0]["category"] == "other"
