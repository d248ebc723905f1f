"""Heat maps of point layers (no browser): a large layer's heat map carries no second copy of its
points, only its weights, which are encoded and decoded here independently; weight edge cases."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from folium.plugins import HeatMap
from shapely.geometry import Point
from test_render_big import untext7

import corridormap
from corridormap.catalog.load import LayerSpec
from corridormap.errors import CorridormapWarning, LayerValidationError
from corridormap.render import controls, heat
from corridormap.render.assets import asset_bytes
from corridormap.render.big import big_layer_of
from corridormap.render.layers import layer_group
from corridormap.render.pack import unpack_page
from corridormap.render.page import js_text


def _spec(name: str = "sites", **style: object) -> LayerSpec:
    return LayerSpec(
        name=name,
        title=name.title(),
        group="Your layers",
        geometry=("Point",),
        draw_order=80,
        path=Path(f"<{name}>"),
        popup=("name",),
        style={"kind": "point", "color": "#123456", **style},
    )


def _sites(n: int, **columns: object) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(n)
    return gpd.GeoDataFrame(
        {"id": [f"s{i}" for i in range(n)], "name": [f"Site {i}" for i in range(n)], **columns},
        geometry=[Point(x, y) for x, y in zip(rng.uniform(70, 78, n), rng.uniform(19, 28, n), strict=True)],
        crs="EPSG:4326",
    )


def _html(layers: dict[str, gpd.GeoDataFrame], specs: dict[str, LayerSpec], **big: bool) -> str:
    """The page as written, its packed blocks (the inlined scripts) unpacked."""
    return unpack_page(corridormap.build_map(layers, specs, fit_to=None, big=big).get_root().render())


_WEIGHTS = re.compile(
    r"<script type=\"application/octet-stream\" id=\"big_heat_layer_[0-9a-f]+_weights\">([^<]*)</script>"
)
_COORD = re.compile(r"\[-?\d+\.\d+, -?\d+\.\d+(, [\d.]+)?\]")


@pytest.mark.parametrize("weighted", [False, True])
def test_large_point_layer_heat_map_sends_no_second_copy_of_the_points(weighted: bool) -> None:
    n = 3000
    gdf = _sites(n, capacity_mw=np.linspace(1.0, 300.0, n)) if weighted else _sites(n)
    html = _html({"sites": gdf}, {"sites": _spec()}, sites=True)
    off = _html({"sites": gdf}, {"sites": _spec(heatmap=False)}, sites=True)
    assert "Sites (heat map)" in html and "Sites (heat map)" not in off
    assert "corridormapBig.heat(" in html and "L.heatLayer(" not in html
    assert len(_COORD.findall(html)) < 10  # no point list: only the map's few fixed positions
    blocks = _WEIGHTS.findall(html)
    assert len(blocks) == (1 if weighted else 0)
    # what the heat map adds: its script, leaflet.heat (both inlined), a panel row, and the weights
    scripts = len(js_text("big_heat.js").encode()) + len(asset_bytes(HeatMap.default_js[0][1]))
    extra = len(html.encode()) - len(off.encode())
    assert scripts < extra < scripts + 1_000 + (n // 2 if weighted else 0), (scripts, extra)
    if weighted:
        codes = np.frombuffer(zlib.decompress(untext7(blocks[0])), dtype=np.uint8)
        assert codes.tolist() == heat.weight_codes(np.linspace(1.0, 300.0, n) / 300.0).tolist()


def test_the_old_path_embedded_every_point_for_comparison() -> None:
    gdf = _sites(500)
    html = _html({"sites": gdf}, {"sites": _spec()}, sites=False)
    assert "L.heatLayer(" in html and len(_COORD.findall(html)) >= 500


def test_weights_follow_the_features_the_large_layer_keeps() -> None:
    gdf = _sites(5, capacity_mw=[10.0, 999.0, 20.0, np.nan, 40.0])
    gdf.loc[1, "geometry"] = Point()  # an empty geometry: the large layer leaves it out
    spec = _spec()
    group = layer_group(gdf, spec, big=True)
    big = big_layer_of(group)
    assert big is not None and big.rows.tolist() == [0, 2, 3, 4]
    layer = heat.big_heat_layer(big, gdf, spec, weight="capacity_mw")
    assert layer.show is False and layer.layer_name == "Sites (heat map)"
    codes = np.frombuffer(zlib.decompress(untext7(layer.weights_text or "")), dtype=np.uint8)
    assert codes.tolist() == [64, 128, 0, 255]  # 10, 20, (missing), 40 of 40


def test_weight_codes_round_trip_within_half_a_step_and_keep_positive_weights() -> None:
    w = np.concatenate([[0.0, 1e-9, 0.001, 0.5 / 255, 1.0], np.random.default_rng(3).uniform(0, 1, 1000)])
    codes = heat.weight_codes(w)
    assert codes.dtype == np.uint8 and codes[0] == 0 and codes[-1001] == 255
    assert (codes[w > 0] >= 1).all()  # a positive weight never rounds to no heat
    big_enough = w >= 1 / 255
    assert np.abs(codes[big_enough] / 255 - w[big_enough]).max() <= 0.5 / 255 + 1e-12


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([50.0, 200.0, np.nan], [0.25, 1.0, 0.0]),
        ([0.0, 5.0], [0.0, 1.0]),
        ([np.nan, np.nan], None),  # no value at all: unweighted
        ([0.0, 0.0], None),
        ([True, False], [1.0, 0.0]),
        (pd.array([3, None, 6], dtype="Int64"), [0.5, 0.0, 1.0]),
    ],
)
def test_heat_weights(values: object, expected: list[float] | None) -> None:
    got = heat.heat_weights(pd.DataFrame({"w": values}), "w", what="sites")
    assert (got is None and expected is None) or (got is not None and got.tolist() == expected)


def test_no_weight_column_means_unweighted() -> None:
    assert heat.heat_weights(pd.DataFrame({"w": [1.0]}), None, what="sites") is None
    assert heat.heat_weights(pd.DataFrame({"w": [1.0]}), "capacity_mw", what="sites") is None


@pytest.mark.parametrize("bad", [-5.0, np.inf, -np.inf])
def test_negative_or_infinite_weights_add_no_heat_and_warn(bad: float) -> None:
    with pytest.warns(CorridormapWarning, match=r"layer 'sites': 1 feature\(s\) with a negative or infinite"):
        got = heat.heat_weights(pd.DataFrame({"w": [bad, 10.0, 5.0]}), "w", what="sites")
    assert got is not None and got.tolist() == [0.0, 1.0, 0.5]


def test_text_weights_are_refused_naming_the_layer_column_and_rows() -> None:
    with pytest.raises(LayerValidationError, match=r"layer 'sites'.*'w'.*row 1 \('lots'\).*Fix"):
        heat.heat_weights(pd.DataFrame({"w": [1.0, "lots", None]}), "w", what="sites")


def test_small_layer_heat_map_leaves_out_points_without_weight() -> None:
    gdf = _sites(3, capacity_mw=[10.0, np.nan, 40.0])
    layer = heat.heat_layer(gdf, _spec(), weight="capacity_mw")
    assert isinstance(layer, HeatMap) and [row[2] for row in layer.data] == [0.25, 1.0]


def test_large_heat_map_cap_and_opt_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(controls, "BIG_HEAT_MAX_FEATURES", 4)
    specs = {"few": _spec("few"), "many": _spec("many"), "quiet": _spec("quiet", heatmap=False)}
    layers = {"few": _sites(4), "many": _sites(5), "quiet": _sites(4)}
    m = folium.Map(tiles=None)
    groups = {n: layer_group(g, specs[n], big=True).add_to(m) for n, g in layers.items()}
    extra = controls.add_controls(m, layers, specs, groups, title="t")
    assert [(type(h).__name__, h.layer_name) for h in extra[controls.HEAT_GROUP]] == [
        ("BigHeatLayer", "Few (heat map)")
    ]


def test_heat_layer_name_is_escaped() -> None:
    gdf = _sites(3)
    spec = _spec()
    spec = LayerSpec(**{**spec.__dict__, "title": "<b>Sites</b>"})
    layer = heat.big_heat_layer(big_layer_of(layer_group(gdf, spec, big=True)), gdf, spec)  # type: ignore[arg-type]
    assert layer.layer_name == "&lt;b&gt;Sites&lt;/b&gt; (heat map)"
