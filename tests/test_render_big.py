"""The large-layer path in Python: preparation, the encoding (checked by an independent decoder
written here), attributes, styles, the map element and the dispatch from ``layer_group``."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import zlib
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon

from corridormap.catalog.load import ColumnSpec, LayerSpec
from corridormap.errors import CorridormapWarning, LayerValidationError
from corridormap.render import big, big_geometry, layers
from corridormap.render.popup import popup_table_html

HALF_DIAGONAL_M = 0.5 * 2**0.5  # worst rounding error of a point quantised to whole metres


# --- an independent decoder of the payload (the JavaScript one is checked in the browser tests)


def _uvarints(raw: bytes) -> list[int]:
    out, value, shift = [], 0, 0
    for byte in raw:
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            out.append(value)
            value, shift = 0, 0
    assert shift == 0, "payload ends inside a varint"
    return out


def _signed(v: int) -> int:
    return (v >> 1) ^ -(v & 1)


def untext7(text: str) -> bytes:
    """The bytes of :func:`corridormap.render.big_geometry.text7` text, bit by bit."""
    bits = "".join(format(ord(c) & 127, "07b") for c in text)
    return bytes(int(bits[i : i + 8], 2) for i in range(0, 8 * (len(bits) // 8), 8))


def _from_frame(a: int, b: int, ex: int, ey: int) -> tuple[int, int]:
    """The inverse of big_geometry.along_across for one residual, in plain Python floats."""
    q = (0 if ex >= 0 else 2) if abs(ex) >= abs(ey) else (1 if ey > 0 else 3)
    ux, uy = [(ex, ey), (ey, -ex), (-ex, -ey), (-ey, ex)][q]
    u, w = a, b
    if uy != 0:
        length = math.sqrt(float(ux) * ux + float(uy) * uy)
        p, s = (length - ux) / uy, -uy / length
        u1 = u - math.floor(p * w + 0.5)
        w = w - math.floor(s * u1 + 0.5)
        u = u1 - math.floor(p * w + 0.5)
    return [(u, w), (-w, u), (-u, -w), (w, -u)][q]


def _decode_part(raw: bytes, counts: dict[str, int], coarse: dict | None) -> dict[str, np.ndarray]:
    """One part of the layout documented in :func:`corridormap.render.big_geometry.encode`."""
    header = iter(_uvarints_prefix(raw))
    k = next(header)
    lengths = [next(header) for _ in range(k)]
    start = len(raw) - sum(lengths)
    sections, cursor = [], start
    for n in lengths:
        sections.append(raw[cursor : cursor + n])
        cursor += n
    nb = len(big_geometry.STEP_BUCKETS) + 1
    numbers = iter(_uvarints(sections[0]))
    heads = iter(_uvarints(sections[2]))
    escapes = iter(_uvarints(sections[3]))
    symbols = [iter(sections[1])] + [iter(sections[4 + b]) for b in range(nb)]
    across = [iter(_uvarints(sections[4 + nb + b])) for b in range(nb)]
    nf, nr = counts["features"], counts["rings"]
    rings = coarse["rings"] if coarse else [next(numbers) for _ in range(nf)]
    verts = [next(numbers) for _ in range(nr)]
    styles = coarse["styles"] if coarse else [next(numbers) for _ in range(nf)]
    xy, tags, c = [], [], 0
    first = (0, 0)
    for n in verts:
        ring: list[tuple[int, int]] = []
        for i in range(n):
            bucket = 0
            if i >= 2:
                ex, ey = ring[-1][0] - ring[-2][0], ring[-1][1] - ring[-2][1]
                bucket = 1 + sum(max(abs(ex), abs(ey)) >= e for e in big_geometry.STEP_BUCKETS)
            sym = next(symbols[bucket])
            if coarse is not None and sym == 0:
                point, tag = tuple(coarse["xy"][c]), int(coarse["tags"][c])
                c += 1
            else:
                tag = sym >> 4
                if i == 0:
                    point = (first[0] + _signed(next(heads)), first[1] + _signed(next(heads)))
                elif i == 1:
                    point = (ring[-1][0] + _signed(next(heads)), ring[-1][1] + _signed(next(heads)))
                else:
                    za = sym & 15
                    za += next(escapes) if za == 15 else 0
                    rx, ry = _from_frame(_signed(za), _signed(next(across[bucket - 1])), ex, ey)
                    point = (ring[-1][0] + ex + rx, ring[-1][1] + ey + ry)
            if i == 0:
                first = point
            ring.append(point)
            tags.append(tag)
        xy.extend(ring)
    for rest in (numbers, heads, escapes, *symbols, *across):
        assert next(rest, None) is None, "numbers left over after the vertices"
    if coarse is not None:
        assert c == len(coarse["xy"]), "coarse vertices left over"
    xy_array = np.array(xy, dtype=np.int64).reshape(-1, 2)
    tag_array = np.array(tags, np.uint8)
    return {"rings": rings, "verts": verts, "styles": styles, "xy": xy_array, "tags": tag_array}


def _uvarints_prefix(raw: bytes) -> list[int]:
    """The varints at the start of ``raw`` up to the end of its section-length header."""
    out, value, shift, i = [], 0, 0, 0
    while not out or len(out) < out[0] + 1:
        byte = raw[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            out.append(value)
            value, shift = 0, 0
    return out


def decode(
    encoded: big_geometry.Encoded, counts: dict[str, int], *, deflated: bool = True
) -> dict[str, np.ndarray]:
    """Decode both parts: the coarse vertices first, then every vertex at full detail."""
    inflate = zlib.decompress if deflated else bytes
    coarse = _decode_part(inflate(encoded.coarse), counts, None)
    assert (coarse["tags"] <= encoded.split).all() and len(coarse["xy"]) == encoded.coarse_vertices
    full = _decode_part(inflate(encoded.fine), counts, coarse)
    return {
        "ring_offsets": np.concatenate([[0], np.cumsum(coarse["rings"])]).astype(np.int64),
        "vertex_offsets": np.concatenate([[0], np.cumsum(full["verts"])]).astype(np.int64),
        "styles": np.asarray(coarse["styles"]),
        "xy": full["xy"],
        "tags": full["tags"],
        "coarse": coarse,
    }


def decoded_geometries(d: dict[str, np.ndarray], kind: str, level: int) -> list[list[np.ndarray]]:
    """Rings of each feature at ``level`` (vertices whose tag is at most ``level``)."""
    out = []
    for f in range(len(d["ring_offsets"]) - 1):
        rings = []
        for r in range(d["ring_offsets"][f], d["ring_offsets"][f + 1]):
            a, e = d["vertex_offsets"][r], d["vertex_offsets"][r + 1]
            rings.append(d["xy"][a:e][d["tags"][a:e] <= level].astype(float))
        out.append(rings)
    return out


# --- fixtures: tiny layers in Web Mercator metres, so known answers are easy to state


def _zigzag_line(x0: float, y0: float, n: int = 41, amp: float = 3.0, step: float = 500.0) -> LineString:
    return LineString([(x0 + i * step, y0 + (amp if i % 2 else 0.0) + 0.3) for i in range(n)])


def _spec(name: str, kind: str, geometry: str, **extra: object) -> LayerSpec:
    style = {"kind": kind, "color": "#123456", "weight": 3, "status": {"proposed": {"dash": "2 6"}}}
    return LayerSpec(
        name=name,
        title=f"{name} title",
        group="Test",
        geometry=(geometry,),
        draw_order=60,
        path=Path(f"<{name}>"),
        popup=("name", "status", "length_km"),
        tooltip=("name",),
        columns={"length_km": ColumnSpec("length_km", "float", unit="km", format=",.1f")},
        style=style,
        **extra,
    )  # type: ignore[arg-type]


@pytest.fixture
def lines() -> gpd.GeoDataFrame:
    geoms = [
        _zigzag_line(8_500_000, 2_700_000),
        None,
        MultiLineString(
            [_zigzag_line(8_600_000, 2_800_000, n=5), [(8_600_000, 2_810_000), (8_601_000, 2_810_400)]]
        ),
        _zigzag_line(8_700_000, 2_900_000, amp=400.0),
    ]
    return gpd.GeoDataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "name": ["Alpha", "Beta", "<b>Gamma</b> & co", 'Delta\'s "quoted"'],
            "status": ["operational", "proposed", "proposed", None],
            "length_km": [1234.56, None, 2.0, 3.25],
        },
        geometry=geoms,
        crs="EPSG:3857",
        index=[10, 11, 12, 13],
    )


# --- preparation


def test_tolerance_is_half_a_pixel_of_the_zoom() -> None:
    assert big.tolerance_m(0) == pytest.approx(156543.03392804097 / 2)
    assert big.tolerance_m(14) == pytest.approx(156543.03392804097 / 2**14 / 2)


def test_prepare_tags_the_coarsest_level_keeping_each_vertex() -> None:
    # a 3 m bump on a 2 km line: dropped at z10 (76 m tolerance), kept at z18 (0.3 m)
    gdf = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1000, 3), (2000, 0)])], crs="EPSG:3857")
    p = big.prepare(gdf, zooms=(10, 18))
    assert p.kind == "line"
    assert p.xy.tolist() == [[0, 0], [1000, 3], [2000, 0]]
    assert p.tags.tolist() == [0, 1, 0]


def test_prepare_quantises_to_whole_metres_and_keeps_the_input(lines: gpd.GeoDataFrame) -> None:
    before = lines.copy()
    p = big.prepare(lines)
    assert p.rows.tolist() == [0, 2, 3]  # the missing geometry is left out
    assert p.xy.dtype == np.int64
    full = big.level_geometries(p, len(p.zooms))
    for geom, original in zip(full, lines.geometry.iloc[p.rows], strict=True):
        assert geom.hausdorff_distance(original) <= HALF_DIAGONAL_M
    assert_geodataframe_equal(lines, before)


@pytest.mark.parametrize("level", range(7))
def test_levels_are_nested_and_within_their_tolerance(lines: gpd.GeoDataFrame, level: int) -> None:
    p = big.prepare(lines)
    coarse = big.level_geometries(p, level)
    finer = big.level_geometries(p, min(level + 1, len(p.zooms)))
    tolerance = big.tolerance_m(p.zooms[level]) if level < len(p.zooms) else 0.0
    for c, f, original in zip(coarse, finer, lines.geometry.iloc[p.rows], strict=True):
        assert shapely.get_num_coordinates(c) <= shapely.get_num_coordinates(f)
        # cascaded simplification: at most the sum of this and all finer tolerances (< 4/3 of this one)
        assert c.hausdorff_distance(original) <= tolerance * 4 / 3 + HALF_DIAGONAL_M
        assert c.is_simple or not original.is_simple


def test_line_keeps_its_ends_at_every_level(lines: gpd.GeoDataFrame) -> None:
    p = big.prepare(lines)
    for r in range(len(p.vertex_offsets) - 1):
        assert p.tags[p.vertex_offsets[r]] == 0
        assert p.tags[p.vertex_offsets[r + 1] - 1] == 0


def test_polygon_rings_lose_their_closing_vertex_and_keep_their_holes() -> None:
    outer = [(0, 0), (4000, 0), (4000, 4000), (0, 4000), (0, 0)]
    hole = [(1000, 1000), (2000, 1000), (2000, 2000), (1000, 2000), (1000, 1000)]
    gdf = gpd.GeoDataFrame(geometry=[Polygon(outer, [hole]), MultiPolygon([Polygon(outer)])], crs="EPSG:3857")
    p = big.prepare(gdf)
    assert p.kind == "polygon"
    assert p.ring_offsets.tolist() == [0, 2, 3]
    assert p.vertex_offsets.tolist() == [0, 4, 8, 12]
    assert p.xy[:4].tolist() == [[0, 0], [4000, 0], [4000, 4000], [0, 4000]]
    rings = big.level_geometries(p, len(p.zooms))[0]
    assert rings.geom_type == "MultiLineString" and len(rings.geoms) == 2


def test_points_and_multipoints_are_one_vertex_rings() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(1.4, 2.6), MultiPoint([(10, 10), (20, 20)])], crs="EPSG:3857")
    p = big.prepare(gdf)
    assert (p.kind, p.ring_offsets.tolist(), p.vertex_offsets.tolist()) == ("point", [0, 1, 3], [0, 1, 2, 3])
    assert p.xy.tolist() == [[1, 3], [10, 10], [20, 20]]
    assert p.tags.tolist() == [0, 0, 0]


def test_mixed_geometry_families_are_refused_with_the_fix() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(0, 0), LineString([(0, 0), (1, 1)])], crs="EPSG:3857")
    with pytest.raises(LayerValidationError, match="'mixed_layer': mixed.*split the layer"):
        big.prepare(gdf, what="mixed_layer")


def test_empty_layer_prepares_to_nothing() -> None:
    p = big.prepare(gpd.GeoDataFrame(geometry=[None], crs="EPSG:4326"))
    assert p.n_features == 0 and len(p.xy) == 0


# --- encoding, decoded independently


@pytest.mark.parametrize("deflate", [True, False])
def test_encoding_decodes_back_to_the_prepared_arrays(lines: gpd.GeoDataFrame, deflate: bool) -> None:
    p = big.prepare(lines)
    codes = np.array([2, 0, 1])
    counts = {"features": p.n_features, "rings": len(p.vertex_offsets) - 1, "vertices": len(p.xy)}
    d = decode(big.encode(p, codes, deflate=deflate), counts, deflated=deflate)
    np.testing.assert_array_equal(d["ring_offsets"], p.ring_offsets)
    np.testing.assert_array_equal(d["vertex_offsets"], p.vertex_offsets)
    np.testing.assert_array_equal(d["styles"], codes)
    np.testing.assert_array_equal(d["xy"], p.xy)
    np.testing.assert_array_equal(d["tags"], p.tags)


@pytest.mark.parametrize("level", [0, 3, 6])
def test_decoded_levels_match_the_prepared_geometry(lines: gpd.GeoDataFrame, level: int) -> None:
    p = big.prepare(lines)
    counts = {"features": p.n_features, "rings": len(p.vertex_offsets) - 1, "vertices": len(p.xy)}
    d = decode(big.encode(p, np.zeros(p.n_features, int)), counts)
    for rings, prepared in zip(
        decoded_geometries(d, "line", level), big.level_geometries(p, level), strict=True
    ):
        parts = [prepared] if prepared.geom_type == "LineString" else list(prepared.geoms)
        assert [r.tolist() for r in rings] == [shapely.get_coordinates(g).tolist() for g in parts]


@pytest.mark.parametrize("values", [[0, 1, 127, 128, 300, 16383, 16384, 2**28 - 1, 2**35 + 5]])
def test_varints_round_trip(values: list[int]) -> None:
    assert _uvarints(big_geometry._varints(np.array(values)).tobytes()) == values


@pytest.mark.parametrize("values", [[0, -1, 1, -64, 64, -(2**30), 2**30]])
def test_zigzag_round_trip(values: list[int]) -> None:
    assert [_signed(int(v)) for v in big_geometry._zigzag(np.array(values))] == values


def test_synthetic_network_round_trips_within_quantisation() -> None:
    from bench_render import synthetic_belt

    gdf = synthetic_belt(3000, seed=3)["synth_lines"]
    p = big.prepare(gdf)
    counts = {"features": p.n_features, "rings": len(p.vertex_offsets) - 1, "vertices": len(p.xy)}
    d = decode(big.encode(p, np.zeros(p.n_features, int)), counts)
    projected = gdf.to_crs(big.MERCATOR).geometry
    for rings, original in zip(decoded_geometries(d, "line", len(p.zooms)), projected, strict=True):
        assert LineString(rings[0]).hausdorff_distance(original) <= HALF_DIAGONAL_M


# --- attributes and styles


def _assemble_popup(table: dict, f: int) -> str:
    """What big_layer.js assembles (popupHtml), in Python."""

    def value(col: dict, i: int) -> str:
        return col["d"][col["c"][i]] if "c" in col else col["v"][i]

    rows = "".join(
        f"<tr><th>{label}</th><td>{value(col, f)}</td></tr>"
        for label, col in zip(table["labels"], table["columns"], strict=True)
        if value(col, f) != ""
    )
    return f'<table class="cm-popup"><caption>{table["title"]}</caption>{rows}</table>'


def test_popups_assembled_from_the_table_equal_the_normal_paths_popups(lines: gpd.GeoDataFrame) -> None:
    spec = _spec("lines", "line", "LineString")
    table = big.attribute_table(lines, spec)
    for f, record in enumerate(lines.drop(columns="geometry").to_dict("records")):
        assert _assemble_popup(table, f) == popup_table_html(record, spec.popup, spec.columns, spec.title)
    assert "&lt;b&gt;Gamma&lt;/b&gt; &amp; co" in json.dumps(table)
    assert "<b>" not in json.dumps(table)
    assert "1,234.6 km" in json.dumps(table)


def test_tooltips_and_names_reuse_a_popup_column(lines: gpd.GeoDataFrame) -> None:
    table = big.attribute_table(lines, _spec("lines", "line", "LineString"))
    assert table["tooltip"] == 0 and table["names"] == 0  # the "name" column, sent once


def test_repeated_values_are_sent_once(lines: gpd.GeoDataFrame) -> None:
    many = gpd.GeoDataFrame(
        {"name": ["x"] * 6, "status": ["proposed"] * 6}, geometry=[Point(0, 0)] * 6, crs="EPSG:3857"
    )
    status = big.attribute_table(many, _spec("m", "point", "Point"))["columns"][1]
    assert status == {"d": ["proposed"], "c": [0] * 6}


def test_style_codes_follow_status_then_category() -> None:
    spec = _spec("lines", "line", "LineString")
    spec = LayerSpec(
        **{
            **spec.__dict__,
            "style": {
                **spec.style,
                "categories": {"column": "corridor", "colors": {"West": "#c00", "East": "#00c"}},
            },
        }
    )
    gdf = gpd.GeoDataFrame(
        {
            "status": ["proposed", "operational", "operational", "proposed"],
            "corridor": ["East", "East", "West", "West"],
        },
        geometry=[Point(0, 0)] * 4,
        crs="EPSG:3857",
    )
    codes, styles = big.style_table(gdf, spec)
    assert codes.tolist() == [3, 1, 0, 2]
    assert [(s["color"], s.get("dashArray")) for s in styles] == [
        ("#c00", None),
        ("#00c", None),
        ("#c00", "2 6"),
        ("#00c", "2 6"),
    ]


# --- the map element


def _render(gdf: gpd.GeoDataFrame, spec: LayerSpec, **kw: object) -> str:
    m = folium.Map(tiles=None)
    layers.layer_group(gdf, spec, **kw).add_to(m)  # type: ignore[arg-type]
    return m.get_root().render()


def _page_of(element: big.BigLayer) -> str:
    """The page of a map holding one large-layer element (in a feature group, as layer_group does)."""
    group = folium.FeatureGroup(name="x")
    element.add_to(group)
    m = folium.Map(tiles=None)
    group.add_to(m)
    return m.get_root().render()


def test_layer_group_dispatches_by_size(lines: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec("lines", "line", "LineString")
    assert "corridormapBig.layer(" not in _render(lines, spec)
    assert "corridormapBig.layer(" in _render(lines, spec, big=True)
    assert "corridormapBig.layer(" not in _render(lines, spec, big=False)
    monkeypatch.setattr(big, "BIG_VERTICES", 50)
    page = _render(lines, spec)
    assert "corridormapBig.layer(" in page and "geo_json_" not in page


def test_payload_goes_into_the_page_untouched(lines: gpd.GeoDataFrame) -> None:
    spec = _spec("lines", "line", "LineString")
    element = big.big_layer(lines.to_crs("EPSG:4326"), spec)
    page = _page_of(element)
    name = element.get_name()
    block = '<script type="application/octet-stream" id="{}">([^<]*)</script>'
    for part in ("coarse", "fine"):
        match = re.search(block.format(f"{name}_{part}"), page)
        assert match and match.group(1) == getattr(element, f"{part}_text")
    attrs = re.search(block.format(f"{name}_attributes"), page)
    table = json.loads(zlib.decompress(untext7(attrs.group(1))) if attrs else b"")
    assert table == big.attribute_table(lines.iloc[[0, 2, 3]], spec)
    assert page.count("CM.BigLayer = L.GridLayer.extend") == 1  # the library once per page
    raw = zlib.decompress(untext7(match.group(1)))  # the fine part: a symbol byte per vertex at least
    assert len(raw) > element.options["counts"]["vertices"]
    assert element.options["pane"] == "cm-lines"


def test_coarse_part_is_sent_early_with_numbers_only(lines: gpd.GeoDataFrame) -> None:
    # the inline call after the coarse block carries the block's id and corridormap's own numbers,
    # nothing from the layer (its name and text here are hostile)
    hostile = '</script><script>alert(1)</script>{{ x }}"'
    spec = _spec("lines", "line", "LineString")
    spec = dataclasses.replace(spec, name="evil_lines", title=hostile)
    gdf = lines.to_crs("EPSG:4326").assign(name=hostile)
    element = big.big_layer(gdf, spec)
    page = _page_of(element)
    name = element.get_name()
    calls = re.findall(
        r"<script>window\.corridormapBig && corridormapBig\.early && "
        r"corridormapBig\.early\((.*?)\);</script>",
        page,
    )
    assert len(calls) == 1
    assert re.fullmatch(r'[{}\[\]",:a-z0-9_]*', calls[0])  # no text but keys, the id and numbers
    msg = json.loads(calls[0])
    o = element.options
    assert msg == {
        "id": f"{name}_coarse",
        "counts": o["counts"],
        "steps": o["steps"],
        "deflate": o["deflate"],
        "split": o["split"],
        "levels": len(o["zooms"]),
    }
    coarse = f'<script type="application/octet-stream" id="{name}_coarse">{element.coarse_text}</script>'
    call = "<script>window.corridormapBig && corridormapBig.early && corridormapBig.early("
    assert page.index(coarse) + len(coarse) < page.index(call) < page.index(f'id="{name}_fine"')


def test_over_budget_warns_and_names_the_layer(lines: gpd.GeoDataFrame) -> None:
    with pytest.warns(CorridormapWarning, match="'lines'.*over the budget"):
        big.big_layer(lines, _spec("lines", "line", "LineString"), budget_bytes=10)


def test_javascript_has_no_script_end_tag() -> None:
    assert "</script" not in big.js_source().lower()


def test_layer_without_crs_is_refused_with_the_fix() -> None:
    from corridormap.errors import CRSError

    with pytest.raises(CRSError, match="no coordinate reference system.*set_crs"):
        big.prepare(gpd.GeoDataFrame(geometry=[Point(0, 0)]))


@pytest.mark.parametrize(("n_points", "expected"), [(big.BIG_FEATURES, False), (big.BIG_FEATURES + 1, True)])
def test_many_features_take_the_large_path(n_points: int, expected: bool) -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(i, 0) for i in range(n_points)], crs="EPSG:3857")
    assert big.is_big(gdf) is expected


def test_coordinates_off_the_web_map_are_refused_with_the_fix() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(10, 89.9), Point(10, 20)], crs="EPSG:4326")
    with pytest.raises(LayerValidationError, match="'polar'.*85°.*clip the layer"):
        big.prepare(gdf, what="polar")


def test_an_empty_layer_still_makes_a_valid_element() -> None:
    element = big.big_layer(
        gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326"), _spec("empty", "point", "Point")
    )
    assert element.options["counts"] == {"features": 0, "rings": 0, "vertices": 0}
    for text in (element.coarse_text, element.fine_text):
        assert zlib.decompress(untext7(text)).endswith(bytes(12))  # 12 empty sections


@pytest.mark.parametrize("size", [0, 1, 6, 7, 8, 13, 14, 15, 1000])
def test_text7_round_trips_and_avoids_what_the_html_parser_changes(size: int) -> None:
    data = bytes(np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8)) + bytes([0, 13, 60] * 3)
    text = big.text7(data)
    assert untext7(text) == data
    assert not set(text) & {"\0", "\r", "<"}
    assert len(text.encode("utf-8")) < 1.25 * len(data) + 16


@pytest.mark.parametrize("split", [0, 1, 5, 14])
def test_encoding_round_trips_a_hard_walk_at_every_split(split: int) -> None:
    """Steps from 0 to 30 km, U-turns and repeated vertices, 14 levels: every context and escape."""
    rng = np.random.default_rng(7)
    n = 4000
    step = rng.choice([0.0, 1.0, 7.0, 40.0, 150.0, 900.0, 30_000.0], n)
    heading = np.cumsum(rng.choice([0.0, 0.05, 0.6, np.pi], n, p=[0.4, 0.4, 0.15, 0.05]))
    x, y = np.cumsum(step * np.cos(heading)), np.cumsum(step * np.sin(heading))
    xy = np.column_stack([8_000_000 + x, 2_500_000 + y])
    gdf = gpd.GeoDataFrame(
        geometry=[LineString(xy[:2500]), None, MultiLineString([xy[2500:3000], xy[3000:3002], xy[3002:]])],
        crs="EPSG:3857",
    )
    p = big.prepare(gdf, zooms=tuple(range(3, 17)))
    counts = {"features": p.n_features, "rings": len(p.vertex_offsets) - 1, "vertices": len(p.xy)}
    encoded = big.encode(p, np.array([0, 1]), split=split)
    d = decode(encoded, counts)
    np.testing.assert_array_equal(d["xy"], p.xy)
    np.testing.assert_array_equal(d["tags"], p.tags)
    np.testing.assert_array_equal(d["vertex_offsets"], p.vertex_offsets)
    np.testing.assert_array_equal(d["coarse"]["xy"], p.xy[p.tags <= split])


def test_along_across_is_reversible_for_every_direction() -> None:
    """Residuals in the frame of steps pointing every way (axes, diagonals, zero) come back exactly."""
    rng = np.random.default_rng(3)
    axes = [[0, 0], [5, 5], [-5, 5], [5, -5], [-5, -5], [0, 7], [7, 0], [0, -7], [-7, 0]]
    e = np.concatenate([rng.integers(-50_000, 50_001, (3000, 2)), axes])
    r = rng.integers(-3000, 3001, (len(e), 2))
    ab = big_geometry.along_across(r, e)
    back = [_from_frame(int(a), int(b), int(x), int(y)) for (a, b), (x, y) in zip(ab, e, strict=True)]
    assert back == [tuple(v) for v in r.tolist()]
    # a rotation: lengths kept (within the three roundings); a miss along the step is all "along"
    assert np.abs(np.hypot(*ab.T) - np.hypot(*r.T)).max() <= 2.5
    along = big_geometry.along_across(e[:-9] // 100, e[:-9])
    assert (np.abs(along[:, 1]) <= 2).all()
