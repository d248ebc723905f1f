"""The planner's controls and basemaps, on tiny inline layers with known answers (no browser)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import pytest
from click.testing import CliRunner
from mappage import one, page_data
from shapely.geometry import LineString, Point, Polygon

import corridormap
from corridormap.catalog.load import LayerSpec
from corridormap.render import basemap, controls
from corridormap.render.assets import external_references, map_html, tile_references
from corridormap.render.big import BigLayer, big_layer_of
from corridormap.render.layers import layer_group
from corridormap.render.pack import unpack_page


def _spec(name: str, kind: str, *, search: bool = False, order: int = 80, **prov: str) -> LayerSpec:
    geometry = {"point": ("Point",), "line": ("LineString",), "polygon": ("Polygon",)}[kind]
    return LayerSpec(
        name=name,
        title=name.title(),
        group="Your layers",
        geometry=geometry,
        draw_order=order,
        path=Path(f"<{name}>"),
        search=search,
        provenance=prov,
        style={"kind": kind, "color": "#123456"},
        popup=("name",),
    )


def _points(names: list[str], *, crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [f"p{i}" for i in range(len(names))],
            "name": names,
            "status": "operational",
            "as_of": [f"2024-0{i % 9 + 1}-01" for i in range(len(names))],
        },
        geometry=[Point(72.0 + i, 22.0 + i / 10) for i in range(len(names))],
        crs=crs,
    )


def test_search_records_cover_searchable_layers_with_lat_lon_and_ids() -> None:
    nodes = _points(["Dholera", "Sanand"])
    line = gpd.GeoDataFrame(
        {"id": ["l0"], "name": ["Rail"]}, geometry=[LineString([(70, 20), (72, 20)])], crs="EPSG:4326"
    )
    specs = {"nodes": _spec("nodes", "point", search=True), "rail": _spec("rail", "line")}
    records = controls.search_records({"nodes": nodes, "rail": line}, specs)
    assert records == [
        {"title": "Dholera", "loc": [22.0, 72.0], "layer": "nodes", "id": "p0"},
        {"title": "Sanand", "loc": [22.1, 73.0], "layer": "nodes", "id": "p1"},
    ]


def test_search_records_disambiguate_repeated_names_and_skip_missing() -> None:
    a, b = _points(["Vapi", None]), _points(["Vapi"])
    specs = {"a": _spec("a", "point", search=True), "b": _spec("b", "point", search=True)}
    titles = [r["title"] for r in controls.search_records({"a": a, "b": b}, specs)]
    assert titles == ["Vapi", "Vapi (B)"]


def test_source_rows_from_catalog_provenance_and_feature_dates() -> None:
    specs = {
        "nodes": _spec(
            "nodes",
            "point",
            order=90,
            source="Gazette; https://example.org/a",
            licence="CC BY 4.0",
            geometry_quality="approximate",
        ),
        "belt": _spec("belt", "polygon", order=10, as_of="2025-01-01"),
    }
    belt = gpd.GeoDataFrame({"name": ["b"]}, geometry=[Polygon([(0, 0), (1, 0), (1, 1)])], crs="EPSG:4326")
    rows = controls.source_rows({"belt": belt, "nodes": _points(["x", "y", "z"])}, specs)
    assert [r["layer"] for r in rows] == ["nodes", "belt"]  # top layer first
    assert rows[0] == {
        "layer": "nodes",
        "title": "Nodes",
        "source": "Gazette; https://example.org/a",
        "licence": "CC BY 4.0",
        "as_of": "2024-01-01 to 2024-03-01",
        "geometry_quality": "approximate",
    }
    assert rows[1]["as_of"] == "2025-01-01" and rows[1]["licence"] == "not stated"
    panel = controls.DataSources(rows).html
    assert '<a href="https://example.org/a"' in panel and "Licence: CC BY 4.0" in panel


@pytest.mark.parametrize("hostile", ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"])
def test_title_and_sources_escape_text(hostile: str) -> None:
    title = controls.TitleBlock(hostile, built=dt.date(2026, 1, 2)).html
    assert "Built 2026-01-02" in title and "<script" not in title and "<img" not in title
    rows = [
        {
            "layer": "x",
            "title": hostile,
            "source": hostile,
            "licence": hostile,
            "as_of": hostile,
            "geometry_quality": hostile,
        }
    ]
    panel = controls.DataSources(rows).html
    assert "<script" not in panel and "<img" not in panel
    assert panel.count("&lt;") >= 5


@pytest.mark.parametrize(("weight", "expected"), [(None, [1.0, 1.0]), ("capacity_mw", [0.25, 1.0])])
def test_heat_layer_weights(weight: str | None, expected: list[float]) -> None:
    gdf = _points(["a", "b"])
    gdf["capacity_mw"] = [50.0, 200.0]
    heat = controls.heat_layer(gdf, _spec("zones", "point"), weight=weight)
    assert [row[2] for row in heat.data] == expected
    assert [row[:2] for row in heat.data] == [[22.0, 72.0], [22.1, 73.0]]
    assert heat.show is False and heat.layer_name == "Zones (heat map)"


def test_no_heat_map_for_huge_point_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(controls, "HEAT_MAX_FEATURES", 2)
    specs = {"few": _spec("few", "point"), "many": _spec("many", "point")}
    m = folium.Map(tiles=None)
    layers = {"few": _points(["a", "b"]), "many": _points(["a", "b", "c"])}
    groups = {n: layer_group(g, specs[n]).add_to(m) for n, g in layers.items()}
    extra = controls.add_controls(m, layers, specs, groups, title="t")
    assert [h.layer_name for h in extra[controls.HEAT_GROUP]] == ["Few (heat map)"]


def _map_with(layers: dict[str, gpd.GeoDataFrame], specs: dict[str, LayerSpec], **kw: object) -> str:
    m = corridormap.build_map(layers, specs, **kw)
    return unpack_page(m.get_root().render())  # the page's own scripts read as plain text


@pytest.mark.parametrize(("n", "clustered"), [(3, False), (controls.CLUSTER_MIN_FEATURES, True)])
def test_dense_point_layers_cluster(n: int, clustered: bool) -> None:
    specs = {"pts": _spec("pts", "point", search=True)}
    html = _map_with({"pts": _points([f"n{i}" for i in range(n)])}, specs)
    assert ("L.markerClusterGroup(" in html) is clustered
    assert '"pane": "cm-pts"' in html  # circle markers draw in their layer's pane, not the overlay pane


def test_cluster_layer_moves_geojson_into_one_cluster() -> None:
    spec = _spec("pts", "point")
    group = layer_group(_points(["a", "b"]), spec)
    parts = [c for c in group._children.values() if isinstance(c, folium.GeoJson)]
    others = [c for c in group._children.values() if not isinstance(c, folium.GeoJson)]
    cluster = controls.cluster_layer(group, color="#123456")
    assert list(group._children.values()) == [cluster, *others]
    assert list(cluster._children.values()) == parts
    assert cluster.options["cmColor"] == "#123456"  # clusters drawn in the layer's own colour


def test_build_map_has_controls_heat_group_and_no_bootstrap() -> None:
    specs = {"pts": _spec("pts", "point", search=True), "line": _spec("line", "line", order=55)}
    line = gpd.GeoDataFrame(
        {"id": ["l"], "name": ["L"]}, geometry=[LineString([(70, 20), (72, 21)])], crs="EPSG:4326"
    )
    html = _map_with({"pts": _points(["Dholera"]), "line": line}, specs)
    for marker in (
        "new L.Control.Search(",
        "new L.Control.Measure(",
        "L.control.fullscreen(",
        "new L.Control.MiniMap(",
        "cm-mouse-position",
        "cm-sources",
        "L.control.scale(",
        '"Heat maps"',
        "Pts (heat map)",
    ):
        assert marker in html, marker
    assert "bootstrap.min.css" not in html and "bootstrap.bundle.min.js" not in html
    assert "Line (heat map)" not in html  # heat maps only for point layers


def test_default_map_offers_three_tile_basemaps_over_the_planning_one() -> None:
    specs = {"pts": _spec("pts", "point")}
    html = _map_with({"pts": _points(["a"])}, specs)
    assert "tile.openstreetmap.org" in html and "World_Light_Gray_Base" in html and "World_Imagery" in html
    bases = one(html, "panel")["bases"]
    assert [b["title"] for b in bases][-1] == basemap.VECTOR_NAME
    assert one(html, "panel")["defaultBase"] == bases[0]["key"] == "tiles0"
    assert not re.search(r"api[_-]?key|access_token", html, re.I)
    # the page itself is self-contained: only the tile templates point at the network
    assert external_references(html) == tile_references(html) != set()


def test_offline_map_has_no_tiles_and_inlines_everything() -> None:
    m = corridormap.build_map({"pts": _points(["a"])}, {"pts": _spec("pts", "point")}, offline=True)
    html = map_html(m, offline=True)
    assert "L.tileLayer" not in html.split("</head>")[1]
    assert external_references(html) == set()
    assert [b["key"] for b in one(html, "panel")["bases"]] == [basemap.VECTOR_KEY]


def test_planning_basemap_data() -> None:
    land = basemap.countries()
    assert set(land.loc[land["highlight"], "iso_a3"]) == {"IND"}
    assert {"PAK", "NPL", "BGD"} <= set(land["iso_a3"])
    west, south, east, north = land.total_bounds
    assert west >= 60.0 and south >= 4.0 and east <= 100.0 and north <= 38.0
    india = land[land["highlight"]].geometry.iloc[0]
    assert india.contains(Point(77.21, 28.61)) and india.contains(Point(72.88, 19.08))  # Delhi, Mumbai
    towns = basemap.cities()
    assert towns.crs.to_epsg() == 4326
    assert {"Ahmedabad", "Mumbai", "Delhi", "Nashik", "Prayagraj"} <= set(towns["name"])  # today's names
    assert {"Mumbai", "Delhi", "Ahmedabad"} <= set(towns.loc[towns["major"], "name"])
    assert "Nasik" not in set(towns["name"])
    outline = basemap.outline_geojson()
    assert outline["type"] == "FeatureCollection" and len(json.dumps(outline)) < 60_000
    data = basemap.basemap_data()
    assert [lv["minZoom"] for lv in data["levels"]] == [0, 7]
    coarse, fine = (sum(len(r) for f in lv["states"] for p in f for r in p) for lv in data["levels"])
    assert coarse < fine  # fewer characters zoomed out
    assert {"Gujarat", "Rajasthan", "Maharashtra"} <= {s[2] for s in data["stateLabels"]}


@pytest.mark.parametrize("coords", [[(72.5, 23.0), (72.6, 23.1)], [(-0.5, 51.5), (0.12, 51.49), (0.0, 51.5)]])
def test_encoded_lines_decode_to_the_rounded_coordinates(coords: list[tuple[float, float]]) -> None:
    text = basemap.encode_line(coords, 3)
    lat = lng = 0
    i, out = 0, []
    while i < len(text):  # the decoder of render/js/basemap.js, in Python
        for k in range(2):
            shift = result = 0
            while True:
                b = ord(text[i]) - 63
                i += 1
                result |= (b & 0x1F) << shift
                shift += 5
                if b < 0x20:
                    break
            d = ~(result >> 1) if result & 1 else result >> 1
            if k == 0:
                lat += d
            else:
                lng += d
        out.append((lng / 1000, lat / 1000))
    assert out == [(round(x, 3), round(y, 3)) for x, y in coords]


def test_cli_build_offline_prints_size_against_budget(tmp_path: Path) -> None:
    from corridormap.cli import cli

    result = CliRunner().invoke(cli, ["build", "--offline", "--out", str(tmp_path)])
    both = CliRunner().invoke(cli, ["build", "--offline", "--cdn", "--out", str(tmp_path / "x")])
    assert both.exit_code != 0 and "exclude each other" in both.output
    assert result.exit_code == 0, result.output
    match = re.search(r"Map size: (\d+\.\d\d) MB \(budget 3\.00 MB for an offline map\)", result.output)
    assert match
    html = (tmp_path / "corridor.html").read_text(encoding="utf-8")
    size_mb = (tmp_path / "corridor.html").stat().st_size / 1e6
    assert float(match.group(1)) == pytest.approx(size_mb, abs=0.006)
    assert float(match.group(1)) < 3.0
    assert external_references(html) == set()
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert "offline" in json.dumps(manifest)


def test_a_layer_can_opt_out_of_the_heat_map() -> None:
    import dataclasses

    from corridormap.catalog.load import load_catalog
    from corridormap.render import build_map

    layers = corridormap.load_layers(["renewable_zones", "ports_logistics"])
    specs = dict(load_catalog())
    specs["ports_logistics"] = dataclasses.replace(
        specs["ports_logistics"], style={**specs["ports_logistics"].style, "heatmap": False}
    )
    html = build_map(layers, specs).get_root().render()
    assert f"{specs['renewable_zones'].title} (heat map)" in html
    assert f"{specs['ports_logistics'].title} (heat map)" not in html


def _sites(n: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [f"s{i}" for i in range(n)], "name": [f"Site {i}" for i in range(n)], "status": "operational"},
        geometry=[Point(72.0 + 0.01 * i, 22.0 + 0.01 * (i % 7)) for i in range(n)],
        crs="EPSG:4326",
    )


@pytest.mark.parametrize("big", [True, False])
def test_a_large_searchable_layer_embeds_no_search_records(big: bool) -> None:
    """Search adds the same bytes to the page whatever the size of a large layer (its names come from
    its own payload); a normal layer's names are embedded, one record each."""
    added = {}
    for n in (40, 400):
        sizes = {}
        for search in (False, True):
            m = corridormap.build_map(
                {"sites": _sites(n)},
                {"sites": _spec("sites", "point", search=search)},
                big={"sites": big},
                fit_to=None,
            )
            html = m.get_root().render()
            sizes[search] = len(html)
        added[n] = sizes[True] - sizes[False]
        control = next(c for c in m._children.values() if isinstance(c, controls.SearchControl))
        assert control.big == ({"sites": "Sites"} if big else {})
        assert len(control.records) == (0 if big else n)
        records = [r["title"] for d in page_data(html, "search") for r in d["records"]]
        assert ("Site 39" in records) is not big
    if big:
        assert added[400] == added[40]
    else:
        assert added[400] - added[40] >= 360 * len('{"title":"Site 100","loc":[22.0,73.0]}')


@pytest.mark.parametrize("big", [True, False])
def test_big_layer_of_tells_which_path_layer_group_took(big: bool) -> None:
    group = layer_group(_sites(3), _spec("sites", "point"), big=big)
    found = big_layer_of(group)
    assert (found is not None) is big
    assert found is None or isinstance(found, BigLayer)


@pytest.mark.parametrize("offline", [False, True])
def test_a_notebook_map_and_a_saved_map_need_no_network(offline: bool, tmp_path: Path) -> None:
    import html as html_lib

    m = corridormap.build_map({"pts": _points(["a"])}, {"pts": _spec("pts", "point")}, offline=offline)
    srcdoc = re.search(r'srcdoc="(.*?)"', m._repr_html_(), re.S)
    assert srcdoc
    m.save(tmp_path / "m.html")
    for page in (html_lib.unescape(srcdoc.group(1)), (tmp_path / "m.html").read_text(encoding="utf-8")):
        assert "<script src=" not in page and 'rel="stylesheet"' not in page
        assert external_references(page) == tile_references(page)
        assert bool(tile_references(page)) is not offline
