"""The layer catalog: reading TOML entries, validating layers against them, every problem at once."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from corridormap import settings
from corridormap.catalog.load import load_catalog, load_layers, read_layer, read_spec
from corridormap.errors import CatalogError, DataSourceNotFoundError, LayerValidationError

GOOD = {
    "id": "a",
    "name": "Alpha",
    "status": "operational",
    "as_of": "2025-01-01",
    "source": "https://example.org/a",
    "geometry_quality": "approximate",
    "capacity_mw": 10,
}


def _write_geojson(path: Path, features: list[tuple[dict, dict | None]], crs: str | None = None) -> Path:
    fc: dict = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": props, "geometry": geom} for props, geom in features],
    }
    if crs:
        fc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(fc), encoding="utf-8")
    return path


def _point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    (tmp_path / "zones.toml").write_text(
        textwrap.dedent("""
        name = "zones"
        group = "Renewable energy"
        geometry = "Point"
        source = "zones.geojson"
        draw_order = 70
        [columns]
        id = { type = "str", required = true, unique = true }
        name = { type = "str", required = true }
        status = { type = "str", required = true, allowed = ["operational", "proposed"] }
        as_of = { type = "date", required = true }
        capacity_mw = { type = "float", unit = "MW" }
        [style]
        kind = "point"
        color = "#123456"
    """),
        encoding="utf-8",
    )
    return tmp_path


def test_good_layer_loads_and_casts(catalog_dir: Path) -> None:
    _write_geojson(catalog_dir / "zones.geojson", [(GOOD, _point(75.0, 22.0))])
    specs = load_catalog([catalog_dir])
    gdf = load_layers(catalog=specs)["zones"]
    assert gdf.crs.to_epsg() == 4326
    assert gdf["capacity_mw"].dtype == "float64"
    assert gdf.loc[0, "name"] == "Alpha"
    assert specs["zones"].source == catalog_dir / "zones.geojson"


def test_every_problem_reported_at_once(catalog_dir: Path) -> None:
    bad = [
        ({**GOOD, "id": "dup"}, _point(75.0, 22.0)),
        ({**GOOD, "id": "dup", "status": "rumoured"}, _point(75.1, 22.1)),  # duplicate id, bad status
        ({**GOOD, "id": "c", "capacity_mw": "lots"}, _point(75.2, 22.2)),  # not a float
        ({**GOOD, "id": "d", "name": None}, _point(75.3, 22.3)),  # required empty
        ({**GOOD, "id": "e"}, _point(-3.7, 40.4)),  # outside India
        ({**GOOD, "id": "f"}, {"type": "LineString", "coordinates": [[75, 22], [76, 23]]}),  # wrong type
        ({**GOOD, "id": "g", "as_of": "last spring"}, _point(75.4, 22.4)),  # not a date
        ({**GOOD, "id": "h"}, None),  # missing geometry
    ]
    _write_geojson(catalog_dir / "zones.geojson", bad)
    with pytest.raises(LayerValidationError) as info:
        load_layers(catalog=load_catalog([catalog_dir]))
    message = str(info.value)
    assert "zones.geojson" in message
    found = {(p.feature, p.field) for p in info.value.problems}
    assert ("id=dup", "id") in found
    assert ("id=dup", "status") in found
    assert ("id=c", "capacity_mw") in found
    assert ("id=d", "name") in found
    assert ("id=e", None) in found
    assert ("id=f", None) in found
    assert ("id=g", "as_of") in found
    assert ("id=h", None) in found
    assert all(p.fix for p in info.value.problems)
    assert isinstance(info.value, ValueError)


def test_invalid_polygon_is_reported_with_fix(tmp_path: Path) -> None:
    (tmp_path / "areas.toml").write_text(
        'name = "areas"\ngroup = "Context"\ngeometry = "Polygon"\nsource = "areas.geojson"\n',
        encoding="utf-8",
    )
    bowtie = {"type": "Polygon", "coordinates": [[[75, 22], [76, 23], [76, 22], [75, 23], [75, 22]]]}
    _write_geojson(tmp_path / "areas.geojson", [({"name": "bow"}, bowtie)])
    with pytest.raises(LayerValidationError, match="Self-intersection.*make_valid"):
        load_layers(catalog=load_catalog([tmp_path]))


def test_missing_required_column(catalog_dir: Path) -> None:
    props = {k: v for k, v in GOOD.items() if k != "as_of"}
    _write_geojson(catalog_dir / "zones.geojson", [(props, _point(75.0, 22.0))])
    with pytest.raises(LayerValidationError, match="required column 'as_of' is missing"):
        load_layers(catalog=load_catalog([catalog_dir]))


def test_projected_source_is_reprojected(catalog_dir: Path) -> None:
    metric = gpd.GeoSeries([shapely.Point(75.0, 22.0)], crs="EPSG:4326").to_crs("EPSG:7755").iloc[0]
    gdf = gpd.GeoDataFrame([GOOD], geometry=[metric], crs="EPSG:7755")
    gdf.to_file(catalog_dir / "zones.geojson.gpkg", driver="GPKG")
    (catalog_dir / "zones.toml").write_text(
        (catalog_dir / "zones.toml").read_text().replace('"zones.geojson"', '"zones.geojson.gpkg"')
    )
    out = load_layers(catalog=load_catalog([catalog_dir]))["zones"]
    assert out.crs.to_epsg() == 4326
    assert out.geometry.iloc[0].x == pytest.approx(75.0, abs=1e-9)


_PT = 'name = "x"\ngroup = "Context"\ngeometry = "Point"\nsource = "x.geojson"\n'


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('name = "x"\ngroup = "Context"\n', "missing key"),
        ('name = "x"\ngroup = "Context"\ngeometry = "Blob"\nsource = "x.geojson"\n', "unknown geometry"),
        ('name = "x"\ngroup = "Context"\ngeometry = "Point"\n', "exactly one of 'source'"),
        (
            'name = "x"\ngroup = "Context"\ngeometry = "Point"\nsource = "x"\n[columns]\na = "decimal"\n',
            "type 'decimal'",
        ),
        ('name = "x" group', "not valid TOML"),
        (f'{_PT}[style]\ndash = "6 4); alert(1"\n', r"\[style\] dash = .* is not a dash pattern"),
        (f'{_PT}[style]\ncolor = "red;background:url(x)"\n', r"color = .* is not a colour"),
        (f'{_PT}[style]\ncolor = "notacolour"\n', r"color = .* is not a colour"),
        (f"{_PT}[style]\nweight = -3\n", r"weight = -3 is out of range.*0 to 50"),
        (f"{_PT}[style]\nopacity = nan\n", r"opacity = nan is out of range"),
        (f'{_PT}[style]\nkind = "blob"\n', r"kind = 'blob'.*point, line, polygon"),
        (f"{_PT}[style.status.proposed]\ndash = 6\n", r"\[style.status.proposed\] dash = 6"),
        (f'{_PT}[style.categories]\ncolumn = "a"\ncolors = {{ b = "#12" }}\n', r"'b' = '#12' is not"),
    ],
)
def test_malformed_entries(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=match) as info:
        read_spec(path)
    assert str(path) in str(info.value)


def test_missing_source_and_unknown_layer(catalog_dir: Path) -> None:
    specs = load_catalog([catalog_dir])
    with pytest.raises(DataSourceNotFoundError, match="zones.geojson does not exist"):
        load_layers(catalog=specs)
    with pytest.raises(CatalogError, match="unknown layer"):
        read_layer("nope", catalog=specs)


def test_derived_layer_and_extra_folder(catalog_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    _write_geojson(catalog_dir / "zones.geojson", [({**GOOD, "area_ha": 250.0}, _point(75.0, 22.0))])
    extra = tmp_path_factory.mktemp("extra")
    (extra / "zone_areas.toml").write_text(
        textwrap.dedent("""
        name = "zone_areas"
        group = "Renewable energy"
        geometry = "Polygon"
        draw_order = 5
        [derive]
        function = "area_footprints"
        from = "zones"
    """),
        encoding="utf-8",
    )
    with settings.override(layers_dir=catalog_dir, extra_layers_dirs=[extra]):
        specs = load_catalog()
        assert list(specs) == ["zone_areas", "zones"]  # draw order, bottom first
        areas = read_layer("zone_areas")
    from corridormap.crs import geodesic_area_km2

    assert geodesic_area_km2(areas)[0] * 100 == pytest.approx(250.0, rel=1e-6)  # true hectares


def test_layers_can_start_switched_off(catalog_dir: Path) -> None:
    import folium

    from corridormap.render import build_map

    _write_geojson(catalog_dir / "zones.geojson", [(GOOD, _point(75.0, 22.0))])
    text = (catalog_dir / "zones.toml").read_text()
    hidden = text.replace("draw_order = 70", "draw_order = 70\nvisible = false")
    (catalog_dir / "zones.toml").write_text(hidden)
    specs = load_catalog([catalog_dir])
    assert specs["zones"].visible is False
    m = build_map(load_layers(catalog=specs), specs)
    groups = [
        c for c in m._children.values() if isinstance(c, folium.FeatureGroup) and c.layer_name == "Zones"
    ]
    assert len(groups) == 1 and groups[0].show is False
    html = m.get_root().render()
    assert f"{groups[0].get_name()}.addTo(" not in html  # in the layer panel, not on the map at start
    assert f"var {groups[0].get_name()} = L.featureGroup(" in html


def test_catalog_big_key_sends_a_layer_down_the_large_layer_path(catalog_dir: Path) -> None:
    from corridormap.render import build_map

    points = [({**GOOD, "id": f"p{i}"}, _point(75.0 + i * 0.01, 22.0)) for i in range(60)]
    _write_geojson(catalog_dir / "zones.geojson", points)
    text = (catalog_dir / "zones.toml").read_text()
    (catalog_dir / "zones.toml").write_text(text.replace("draw_order = 70", "draw_order = 70\nbig = true"))
    specs = load_catalog([catalog_dir])
    assert specs["zones"].big is True
    layers = load_layers(catalog=specs)
    html = build_map(layers, specs).get_root().render()
    assert "corridormapBig.layer(" in html
    small = build_map(layers, specs, big={"zones": False}).get_root().render()
    assert "corridormapBig.layer(" not in small


def test_catalog_big_key_refuses_other_values(catalog_dir: Path) -> None:
    text = (catalog_dir / "zones.toml").read_text()
    (catalog_dir / "zones.toml").write_text(text.replace("draw_order = 70", 'draw_order = 70\nbig = "yes"'))
    with pytest.raises(CatalogError, match="big = 'yes'.*true, false"):
        load_catalog([catalog_dir])


def test_a_copied_entry_whose_extends_base_is_missing_says_so(tmp_path: Path) -> None:
    # a user copies a shipped entry (which has extends = "_common.toml") into their own folder
    entry = tmp_path / "industrial_nodes.toml"
    shipped = settings.layers_dir / "industrial_nodes.toml"
    entry.write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"extends '_common.toml', but .* does not exist\. Fix: copy"):
        read_spec(entry)
