"""The default build: map, GeoPackage and manifest from the shipped data, offline."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from geopandas.testing import assert_geodataframe_equal
from mappage import one

import corridormap
from corridormap.build import build_outputs
from corridormap.catalog.load import GROUPS, load_catalog
from corridormap.cli import cli
from corridormap.errors import OutputExistsError
from corridormap.render.assets import MAP_BUDGET_BYTES, external_references, tile_references


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("build")
    return build_outputs(out)


@pytest.fixture(scope="module")
def html(built) -> str:
    return built.map.read_text(encoding="utf-8")


def test_outputs_written(built) -> None:
    for path in (built.map, built.gpkg, built.manifest):
        assert path.is_file() and path.stat().st_size > 0
    assert not [p for p in built.map.parent.iterdir() if p.name.startswith(".")], "no stray temp files"


def test_map_has_every_layer_group_and_legend_entry(built, html: str) -> None:
    specs = load_catalog()
    panel = one(html, "panel")
    titles = {row["key"]: row["title"] for g in panel["groups"] for row in g["layers"]}
    for name, spec in specs.items():
        if name not in built.layers:
            continue
        assert titles.get(name) == spec.title, f"layer {name} missing from the layer panel"
        assert f"cm-{name}" in html, f"layer {name} has no pane"
    groups_used = {specs[n].group for n in built.layers if n in specs}
    assert groups_used >= {g for g in GROUPS if g not in ("Analysis",)}
    assert groups_used <= {g["title"] for g in panel["groups"]}
    zones = next(row for g in panel["groups"] for row in g["layers"] if row["key"] == "renewable_zones")
    assert [s["label"] for s in zones["swatches"]] == ["Solar", "Wind", "Hybrid", "Green hydrogen"]
    status = [r["label"] for r in panel["status"]]
    assert {"Operational", "Under construction", "Proposed"} <= set(status)
    assert "Computed" not in status  # no style of its own: not offered as a line style


def test_panes_stack_in_draw_order(built, html: str) -> None:
    specs = load_catalog()
    z = {}
    for name in built.layers:
        if name in specs:
            marker = f'"cm-{name}"'
            start = html.index(marker)
            z[name] = int(
                html[html.index("zIndex = ", start) + 9 : html.index(";", html.index("zIndex = ", start))]
            )
    assert z["corridor_belt"] < z["freight_rail"] < z["industrial_nodes"]
    assert z["renewable_footprints"] < z["expressways"] < z["freight_stations"]


def test_popups_are_compact_with_units_once(html: str) -> None:
    page = html.replace("\\u003c", "<").replace("\\u003e", ">").replace('\\"', '"')
    assert 'class="cm-pop"' in page and 'class="cm-pop-key"' in page
    assert " ha</dd>" in page and " MW</td>" in page
    assert "Investment</dt><dd>" in page  # the label without its unit: the value carries it
    assert "(₹ crore)" not in page and "Area (ha)" not in page


def test_map_fitted_to_belt(built, html: str) -> None:
    west, south, east, north = built.layers["corridor_belt"].total_bounds
    (s, w), (n, e) = one(html, "panel")["fit"]
    assert (s, w, n, e) == pytest.approx((south, west, north, east))


def test_hostile_names_are_escaped() -> None:
    layers = corridormap.load_layers(["industrial_nodes"])
    nodes = layers["industrial_nodes"].copy()
    nodes.loc[nodes.index[0], "name"] = "<img src=x onerror=alert(1)>"
    nodes.loc[nodes.index[1], "sectors"] = "<script>alert('x')</script>"
    html = corridormap.build_map({"industrial_nodes": nodes}).get_root().render()
    assert "<img src=x" not in html
    assert "<script>alert" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html.replace("\\u0026", "&")


def test_geopackage_round_trip(built) -> None:
    listed = {name for name, _ in pyogrio.list_layers(built.gpkg)}
    assert listed == set(built.layers) | {"layer_styles"}  # QGIS styles, one default per layer
    styles = pyogrio.read_dataframe(built.gpkg, layer="layer_styles", read_geometry=False)
    assert sorted(styles["f_table_name"]) == sorted(built.layers) and styles["useAsDefault"].all()
    for name, gdf in built.layers.items():
        back = gpd.read_file(built.gpkg, layer=name)
        assert back.crs == gdf.crs
        assert len(back) == len(gdf)
        expected = gdf.reset_index(drop=True)
        for col in expected.columns:
            if col == expected.geometry.name:
                continue
            got = [None if pd.isna(v) else v for v in back[col].astype(object)]
            want = [None if pd.isna(v) else v for v in expected[col].astype(object)]
            assert got == want, f"{name}.{col}"
        assert_geodataframe_equal(back[["geometry"]], expected[["geometry"]], check_less_precise=True)


def test_manifest(built) -> None:
    manifest = json.loads(built.manifest.read_text(encoding="utf-8"))
    assert manifest["corridormap_version"] == corridormap.__version__
    for name, gdf in built.layers.items():
        entry = manifest["layers"][name]
        assert entry["features"] == len(gdf) if "features" in entry else entry["count"] == len(gdf)
        assert "4326" in json.dumps(entry)
        text = json.dumps(entry)
        assert "licence" in text and "source" in text


def test_refuses_to_overwrite(built) -> None:
    before = {p: p.read_bytes() for p in (built.map, built.gpkg, built.manifest)}
    with pytest.raises(OutputExistsError):
        build_outputs(built.map.parent)
    assert {p: p.read_bytes() for p in before} == before


def test_belt_is_150_true_km_either_side_of_the_western_dfc(built) -> None:
    from corridormap.crs import geodesic_area_km2, geodesic_length_km, scale_factor

    belt = built.layers["corridor_belt"]
    rail = built.layers["freight_rail"]
    assert len(belt) == 1 and belt.crs.to_epsg() == 4326
    line = shapely.line_merge(
        shapely.union_all(rail[rail["corridor"] == "Western DFC"].to_crs(7755).geometry.values)
    )
    poly = belt.to_crs(7755).geometry.iloc[0]
    assert poly.contains(line)
    # planar distance / local scale factor = true distance: 147 true km inside, 153 true km outside
    xy = shapely.get_coordinates(line)
    k = scale_factor(xy[:, 0], xy[:, 1])
    near = [shapely.Point(c) for c in line.buffer(147_000 * k.min()).exterior.coords[::40]]
    far = [shapely.Point(c) for c in line.buffer(153_000 * k.max()).exterior.coords[::40]]
    assert all(poly.contains(p) for p in near)
    assert not any(poly.contains(p) for p in far)
    # reported length and area are true (geodesic) figures: a 150 km buffer of a curve covers at most
    # 2 x 150 km x length + the end caps (equal for a straight line, less where the bends' buffers overlap)
    length = geodesic_length_km(gpd.GeoSeries([line], crs=7755))[0]
    assert belt["length_km"].iloc[0] == pytest.approx(length, rel=1e-9)
    assert belt["area_km2"].iloc[0] == pytest.approx(geodesic_area_km2(belt)[0], rel=1e-9)
    straight = 2 * 150 * length + 3.1416 * 150**2
    assert 0.9 * straight <= belt["area_km2"].iloc[0] <= 1.01 * straight


def test_cli_build_and_layers(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["build", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert str((tmp_path / "out" / "corridor.html").resolve()) in result.output
    assert "Gap rules (layers/rules/gaps.toml), features flagged:" in result.output
    assert "far_from_freight_and_road (high):" in result.output
    out = tmp_path / "out"
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    again = runner.invoke(cli, ["build", "--out", str(out)])  # the README's first command, run twice
    assert again.exit_code == 0, again.output
    assert "outputs exist" in again.output and f"corridormap build --out {out} --overwrite" in again.output
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before, "nothing rewritten"
    (out / "corridor.html").unlink()  # a partial build folder is refused, naming what is there
    partial = runner.invoke(cli, ["build", "--out", str(out)])
    assert partial.exit_code == 2 and "corridor.gpkg" in partial.output and "--overwrite" in partial.output
    assert "Traceback" not in partial.output and not (out / "corridor.html").exists()
    exported = runner.invoke(cli, ["export", "--out", str(out / "corridor.gpkg")])  # export still refuses
    assert exported.exit_code != 0 and "--overwrite" in exported.output
    listing = runner.invoke(cli, ["layers"])
    assert listing.exit_code == 0, listing.output
    for name in load_catalog():
        assert name in listing.output


def test_strip_diagrams_written_and_embedded_in_the_map(built, html: str) -> None:
    strips = [p for p in built.extra if p.name.startswith("strip_") and p.suffix == ".svg"]
    assert strips, "the build writes the strip diagrams beside the map"
    embedded = {s["file"]: s["svg"] for s in one(html, "title")["strips"]}
    for path in strips:
        assert path.read_text(encoding="utf-8").lstrip().startswith("<svg")
        assert embedded[path.name] == path.read_text(encoding="utf-8")  # inside the map: no link to a file
        assert f'href="{path.name}"' not in html and f'href=\\"{path.name}\\"' not in html


def test_read_logs_written_beside_the_outputs(built) -> None:
    logs = built.map.parent / "read-logs"
    names = {p.name for p in logs.iterdir()}
    for spec in load_catalog().values():
        if spec.source is not None:
            assert f"{spec.source.name}.validation.json" in names


def test_every_public_name_resolves_and_no_module_shadows_a_function() -> None:
    import importlib

    for name, module in corridormap._API.items():
        importlib.import_module(f"corridormap.{module}")  # importing a room must not replace a name
        assert getattr(corridormap, name) is getattr(importlib.import_module(f"corridormap.{module}"), name)
    assert callable(corridormap.catchments) and callable(corridormap.find_gaps)


def test_default_map_is_one_file_within_the_e_mail_budget(built, html: str) -> None:
    assert built.map.stat().st_size < MAP_BUDGET_BYTES["default"]
    assert external_references(html) == tile_references(html)  # only tile basemaps, used when online
    assert "<script src=" not in html


def test_export_with_analysis_holds_the_builds_analysis_layers(built, tmp_path):
    """One analysis as layers: the build's GeoPackage and ``export --with-analysis`` agree exactly."""
    names = ["industrial_nodes", "catchment_rings", "gap_flags"]
    out = tmp_path / "analysis.gpkg"
    args = ["export", "--out", str(out), "--with-analysis", "--layers", ",".join(names)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    for name in names:
        exported, in_build = gpd.read_file(out, layer=name), gpd.read_file(built.gpkg, layer=name)
        assert list(exported.columns) == list(in_build.columns), name
        assert_geodataframe_equal(exported, in_build)
    nodes = gpd.read_file(built.gpkg, layer="industrial_nodes")
    # rail km to ports along the DFC and gap flags in both; no km along the shipped lines as a network
    assert {"freight_station_km", "port_rail_km", "port_rail_note", "gap_flags"} <= set(nodes.columns)
    assert not any(c.endswith("_network_km") for c in nodes.columns)
