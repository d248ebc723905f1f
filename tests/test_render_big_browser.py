"""Large layers in a real browser (Debian's Chromium through Playwright), from an offline single file.

One map is built per session with three tiny layers forced down the large-layer path (lines,
polygons with a hole, points including a hostile name). The tests read decoded coordinates back
from the page, check pixels are drawn where features are, click and hover features, search them,
and toggle a layer in the layer control. They never skip: without Chromium they fail, saying how
to install it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from bench_render import CHROMIUM, CHROMIUM_ARGS, FIND_MAP_JS
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from shapely.geometry import LineString, Point, Polygon

from corridormap.catalog.load import LayerSpec
from corridormap.render import big, build_map, heat
from corridormap.render.assets import map_html

pytestmark = pytest.mark.browser

HOSTILE = "Depot <img src=x onerror=alert(1)>"
SITE_MW = [400.0, 100.0, float("nan"), 50.0]  # the third site has no weight: no heat


def _spec(name: str, kind: str, geometry: str, order: int) -> LayerSpec:
    return LayerSpec(
        name=name,
        title=f"Big {kind}s",
        group="Big layers",
        geometry=(geometry,),
        draw_order=order,
        path=Path(f"<{name}>"),
        popup=("name", "status"),
        tooltip=("name",),
        style={
            "kind": kind,
            "color": "#c0392b",
            "weight": 4,
            "radius": 7,
            "status": {"proposed": {"dash": "4 4"}},
        },
    )


def _wiggle(lon0: float, lat0: float, n: int = 80) -> LineString:
    return LineString(
        [(lon0 + 0.002 * i, lat0 + (0.0004 if i % 3 == 1 else 0.0) + 0.00001 * i) for i in range(n)]
    )


def _layers() -> tuple[dict[str, gpd.GeoDataFrame], dict[str, LayerSpec]]:
    lines = gpd.GeoDataFrame(
        {
            "id": ["l1", "l2", "l3"],
            "name": ["Alpha line", "Beta line", "Gamma line"],
            "status": ["operational", "proposed", "operational"],
        },
        geometry=[_wiggle(72.0, 21.0), _wiggle(75.0, 24.0), _wiggle(78.0, 27.0)],
        crs="EPSG:4326",
    )
    square = [(76.0, 19.0), (76.2, 19.0), (76.2, 19.2), (76.0, 19.2)]
    hole = [(76.05, 19.05), (76.15, 19.05), (76.15, 19.15), (76.05, 19.15)]
    zones = gpd.GeoDataFrame(
        {"id": ["z1"], "name": ["Ring zone"], "status": ["approved"]},
        geometry=[Polygon(square, [hole])],
        crs="EPSG:4326",
    )
    sites = gpd.GeoDataFrame(
        {
            "id": ["s1", "s2", "s3", "s4"],
            "name": [HOSTILE, "Plain site", "Twin one", "Twin <b>two</b>"],
            "status": ["proposed", None, "operational", "approved"],
            "capacity_mw": SITE_MW,  # weights its heat map (the popups show name and status)
        },
        geometry=[Point(73.5, 28.5), Point(79.0, 20.0), Point(74.5, 22.5), Point(74.5, 22.5)],
        crs="EPSG:4326",
    )
    specs = {
        "big_lines": dataclasses.replace(_spec("big_lines", "line", "LineString", 60), search=True),
        "big_zones": _spec("big_zones", "polygon", "Polygon", 30),
        "big_sites": dataclasses.replace(_spec("big_sites", "point", "Point", 80), search=True),
    }
    return {"big_lines": lines, "big_zones": zones, "big_sites": sites}, specs


@dataclass
class Page:
    page: Any
    map_var: str
    layers: dict[str, gpd.GeoDataFrame]
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    path: Path | None = None

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def show(self, lat: float, lon: float, zoom: int) -> tuple[float, float]:
        """Centre the map on (lat, lon) and return that point in page pixels, once drawn."""
        return tuple(
            self.js(
                f"""async ([lat, lon, zoom]) => {{
            const map = window[{self.map_var!r}];
            // the map opens with an animated fit; Leaflet ignores setView until it ends
            while (map._animatingZoom) {{ await new Promise(r => requestAnimationFrame(r)); }}
            map.closePopup();
            for (let i = 0; i < 20; i++) {{  // (a pan still running, e.g. a popup's autopan, can undo a jump)
                map.stop();
                map.setView([lat, lon], zoom, {{animate: false}});
                await new Promise(r => requestAnimationFrame(r));
                if (map.getZoom() === zoom && map.getCenter().distanceTo([lat, lon]) < 1) break;
            }}
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
            const box = map.getContainer().getBoundingClientRect();
            const p = map.latLngToContainerPoint([lat, lon]);
            return [box.left + p.x, box.top + p.y];
        }}""",
                [lat, lon, zoom],
            )
        )


class InThread:
    """A Playwright object used from the one thread that owns it.

    Sync Playwright allows one session per thread, and another test module may hold one open in the
    main thread for the whole session; this module's browser lives in a worker thread instead, and
    every attribute, call and result goes through it.
    """

    def __init__(self, target: Any, pool: ThreadPoolExecutor) -> None:
        self._target, self._pool = target, pool

    def __getattr__(self, name: str) -> Any:
        value = self._pool.submit(getattr, self._target, name).result()
        if not callable(value):
            return _wrap(value, self._pool)

        def call(*args: Any, **kwargs: Any) -> Any:
            args = tuple(a._target if isinstance(a, InThread) else a for a in args)
            kwargs = {k: v._target if isinstance(v, InThread) else v for k, v in kwargs.items()}
            return _wrap(self._pool.submit(value, *args, **kwargs).result(), self._pool)

        return call


def _wrap(value: Any, pool: ThreadPoolExecutor) -> Any:
    return InThread(value, pool) if type(value).__module__.startswith("playwright.") else value


def _open(path: Path, state: Page) -> tuple[Any, Any, Any]:
    """In the worker thread: start Playwright, open the map, record requests, errors and dialogs."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    tab = browser.new_page(viewport={"width": 1000, "height": 700})
    tab.on(
        "request",  # blob: URLs are the decoding workers' scripts, made in the page
        lambda r: None if r.url.startswith(("file:", "data:", "blob:")) else state.requests.append(r.url),
    )
    tab.on("pageerror", lambda e: state.errors.append(str(e)))
    tab.on("dialog", lambda d: (state.dialogs.append(d.message), d.dismiss()))
    tab.goto(path.as_uri(), wait_until="load")
    tab.evaluate("corridormapBig.whenReady()")
    return pw, browser, tab


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
    layers, specs = _layers()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(big, "BIG_VERTICES", 0)
        m = build_map(layers, specs, fit_to=None, offline=True, title="Big layers test")
    path = tmp_path_factory.mktemp("big") / "big.html"
    path.write_text(map_html(m, offline=True), encoding="utf-8")
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="big-browser")
    state = Page(None, m.get_name(), layers, path=path)
    pw, browser, tab = pool.submit(_open, path, state).result()
    state.page = InThread(tab, pool)
    try:
        yield state
    finally:
        pool.submit(browser.close).result()
        pool.submit(pw.stop).result()
        pool.shutdown()


def test_offline_file_makes_no_request_and_no_error(page: Page) -> None:
    assert page.requests == []
    assert page.errors == []
    assert page.js("Object.keys(corridormapBig.layers).sort()") == ["big_lines", "big_sites", "big_zones"]


def test_fine_levels_are_decoded_in_a_worker(page: Page) -> None:
    where = page.js("Object.values(corridormapBig.layers).map(l => [l.cm.name, l.decodedIn, l.data.top])")
    names = ("big_lines", "big_sites", "big_zones")
    assert sorted(where) == [[n, "worker", len(big.LEVEL_ZOOMS)] for n in names]


def test_coarse_parts_go_to_the_worker_as_the_page_is_read(page: Page) -> None:
    # each layer's decoder took the job its block's inline script sent while the parser read on,
    # and the blocks were emptied (the page keeps one copy of the text)
    sent = page.js("Object.values(corridormapBig.layers).map(l => [l.cm.name, l.sentEarly === true])")
    assert sorted(sent) == [["big_lines", True], ["big_sites", True], ["big_zones", True]]
    left = page.js(
        "Object.values(corridormapBig.layers)"
        ".map(l => document.getElementById(l.cm.payload.coarse).textContent.length)"
    )
    assert left == [0, 0, 0]


def test_the_index_built_in_the_worker_answers_as_one_built_on_the_page(page: Page) -> None:
    answers = page.js(
        """() => Object.values(corridormapBig.layers).map(l => {
          const n = l.cm.counts.features, own = new corridormapBig.GridIndex(l.data.bbox, n), b = l.index;
          const x0 = own.x0, y0 = own.y0, w = own.cw * own.g, h = own.ch * own.g, out = [];
          let seed = 7;
          const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
          for (let q = 0; q < 200; q++) {
            const ax = x0 - 0.1 * w + 1.2 * w * rnd(), ay = y0 - 0.1 * h + 1.2 * h * rnd();
            const s = q % 4 === 3 ? 2 : 0.2 * rnd();
            const box = [ax, ay, ax + s * w, ay + s * h];
            const got = b.query(box[0], box[1], box[2], box[3], []).sort((p, r) => p - r);
            const want = own.query(box[0], box[1], box[2], box[3], []).sort((p, r) => p - r);
            out.push([got.join(), want.join(), want.length]);
          }
          return [l.cm.name, l.data.index !== undefined, out];
        })"""
    )
    for name, from_worker, queries in answers:
        assert from_worker, name
        assert all(got == want for got, want, _ in queries), name
        assert sum(n for _, _, n in queries) > 0, name  # the boxes found features


@pytest.mark.parametrize("name", ["big_lines", "big_zones", "big_sites"])
@pytest.mark.parametrize("level", [0, 3, 6])
def test_browser_decodes_the_prepared_geometry(page: Page, name: str, level: int) -> None:
    gdf = page.layers[name]
    prepared = big.prepare(gdf)
    expected = big.level_geometries(prepared, level).to_crs("EPSG:4326")
    for f, geom in enumerate(expected):
        rings = page.js("([n, f, k]) => corridormapBig.layers[n].latLngs(f, k)", [name, f, level])
        parts = [geom] if not hasattr(geom, "geoms") else list(geom.geoms)
        want = [shapely.get_coordinates(p)[:, ::-1] for p in parts]
        if name == "big_zones":  # rings come back open; the prepared outline repeats its first vertex
            want = [w[:-1] for w in want]
        assert len(rings) == len(want)
        for got, w in zip(rings, want, strict=True):
            np.testing.assert_allclose(np.asarray(got), w, atol=1e-9)


def test_full_detail_in_the_browser_is_within_a_metre_of_the_input(page: Page) -> None:
    gdf = page.layers["big_lines"]
    for f, original in enumerate(gdf.to_crs(big.MERCATOR).geometry):
        rings = page.js("(f) => corridormapBig.layers.big_lines.latLngs(f)", f)
        decoded = gpd.GeoSeries([LineString(np.asarray(rings[0])[:, ::-1])], crs="EPSG:4326").to_crs(
            big.MERCATOR
        )
        assert decoded.iloc[0].hausdorff_distance(original) <= 0.75


def _alpha_at(page: Page, name: str, x: float, y: float) -> int:
    """Alpha of the pixel at page (x, y) on the layer's canvas tiles (0 if none covers it)."""
    return int(
        page.js(
            """([pane, x, y]) => {
        for (const c of document.querySelectorAll('.leaflet-' + pane + '-pane canvas')) {
            const b = c.getBoundingClientRect();
            if (x >= b.left && x < b.right && y >= b.top && y < b.bottom) {
                const s = c.width / b.width;
                const px = Math.floor((x - b.left) * s), py = Math.floor((y - b.top) * s);
                return c.getContext('2d').getImageData(px, py, 1, 1).data[3];
            }
        }
        return 0;
    }""",
            [f"cm-{name}", x, y],
        )
    )


@pytest.mark.parametrize(
    ("name", "lat", "lon", "zoom", "off"),
    [
        ("big_lines", 21.0, 72.0 + 0.002 * 30, 13, -60),
        ("big_zones", 19.0, 76.1, 11, 60),  # on the south edge; 60 px south is outside
        ("big_sites", 20.0, 79.0, 9, -60),
    ],
)
def test_features_are_drawn_where_they_are(
    page: Page, name: str, lat: float, lon: float, zoom: int, off: int
) -> None:
    x, y = page.show(lat, lon, zoom)
    assert _alpha_at(page, name, x, y) > 0
    assert _alpha_at(page, name, x, y + off) == 0  # 60 px off the feature: nothing drawn


def test_polygon_hole_is_not_filled(page: Page) -> None:
    x, y = page.show(19.1, 76.1, 11)
    assert _alpha_at(page, "big_zones", x, y) == 0
    x, y = page.show(19.025, 76.1, 11)
    assert _alpha_at(page, "big_zones", x, y) > 0


def _click_popup(page: Page, x: float, y: float) -> str:
    """Click at (x, y) and return the popup's text (one retry: a loaded machine can drop a click)."""
    for _ in range(2):
        page.page.mouse.click(x, y)
        try:
            return _popup_text(page)
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"no popup opened after clicking at {x:.0f}, {y:.0f}")


def _popup_text(page: Page) -> str:
    """Text of the one open popup (a closed popup fades out for 200 ms first)."""
    page.page.wait_for_function(
        "document.querySelectorAll('.leaflet-popup-content').length === 1", timeout=3000
    )
    return page.page.inner_text(".leaflet-popup-content")


def _no_popup(page: Page) -> bool:
    page.page.wait_for_timeout(400)
    return page.page.locator(".leaflet-popup-content").count() == 0


def test_click_opens_the_features_popup(page: Page) -> None:
    x, y = page.show(21.0, 72.0 + 0.002 * 30, 13)
    text = _click_popup(page, x, y)
    assert "Alpha line" in text and "Big lines" in text and "operational" in text
    page.page.mouse.click(x, y + 80)  # off every feature (and below the open popup): the popup closes
    assert _no_popup(page)


def test_hover_shows_the_tooltip(page: Page) -> None:
    x, y = page.show(24.0, 75.0 + 0.002 * 40, 13)
    page.page.mouse.move(x - 5, y)
    page.page.mouse.move(x, y)
    assert page.page.inner_text(".cm-big-tooltip", timeout=3000) == "Beta line"


def test_hostile_name_shows_as_text(page: Page) -> None:
    x, y = page.show(28.5, 73.5, 10)
    assert HOSTILE in _click_popup(page, x, y)
    assert page.page.locator(".leaflet-popup-content img").count() == 0
    assert page.dialogs == []


def test_search_finds_and_focuses_a_feature(page: Page) -> None:
    found = page.js(
        f"window[{page.map_var!r}] && corridormapBig.search(window[{page.map_var!r}], 'gamma')"
        ".map(r => [r.layer.cm.name, r.name])"
    )
    assert found == [["big_lines", "Gamma line"]]
    page.js(f"corridormapBig.search(window[{page.map_var!r}], 'gamma')[0].layer.focus(2)")
    assert "Gamma line" in _popup_text(page)


def test_features_drawn_on_each_other_open_a_chooser(page: Page) -> None:
    # two sites at one position: a click (and openAt) lists both, names as text; each opens its own
    x, y = page.show(22.5, 74.5, 10)
    page.page.mouse.click(x, y)
    page.page.wait_for_selector(".cm-big-chooser li a", timeout=3000)
    entries = page.page.locator(".cm-big-chooser li a")
    assert sorted(entries.all_inner_texts()) == ["Twin <b>two</b>", "Twin one"]
    page.page.locator(".cm-big-chooser li a", has_text="Twin <b>two</b>").click()
    page.page.wait_for_function("!document.querySelector('.cm-big-chooser')", timeout=3000)
    assert "Twin <b>two</b>" in _popup_text(page) and "approved" in _popup_text(page)
    page.show(22.5, 74.5, 10)
    assert page.js(f"corridormapBig.openAt(window[{page.map_var!r}], [22.5, 74.5])") is True
    page.page.wait_for_selector(".cm-big-chooser li a", timeout=3000)
    assert page.page.locator(".cm-big-chooser li a").count() == 2
    x, y = page.show(20.0, 79.0, 10)  # a site alone: its popup straight away
    assert "Plain site" in _click_popup(page, x, y) and page.page.locator(".cm-big-chooser").count() == 0


def test_open_at_opens_the_feature_under_a_point(page: Page) -> None:
    page.show(19.0, 76.1, 11)
    assert page.js(f"corridormapBig.openAt(window[{page.map_var!r}], [19.0, 76.1])") is True
    assert "Ring zone" in _popup_text(page)
    assert page.js(f"corridormapBig.openAt(window[{page.map_var!r}], [10.0, 60.0])") is False


def _panel_box(page: Page, title: str) -> Any:
    """The layer panel's checkbox of a layer (the panel opened first if it starts collapsed)."""
    panel = page.page.locator(".cm-panel")
    if "collapsed" in (panel.get_attribute("class") or ""):
        panel.locator(".cm-panel-head").click()
    return panel.locator(".cm-panel-row", has_text=title).locator("input")


def test_layer_panel_hides_and_shows_the_large_layer(page: Page) -> None:
    x, y = page.show(21.0, 72.0 + 0.002 * 30, 13)
    box = _panel_box(page, "Big lines")
    assert box.is_checked()
    box.click()
    assert page.js("document.querySelectorAll('.leaflet-cm-big_lines-pane canvas').length") == 0
    assert page.js("corridormapBig.layers.big_lines._map") is None
    page.page.mouse.click(x, y)
    assert _no_popup(page)
    box.click()
    x, y = page.show(21.0, 72.0 + 0.002 * 30, 13)
    assert _alpha_at(page, "big_lines", x, y) > 0


def _search_box(page: Page, text: str, tip_text: str) -> list[str]:
    """Type ``text`` into the search control, click the first tip containing ``tip_text``; return the tips."""
    p = page.page
    box = p.locator(".leaflet-control-search input.search-input")
    if not box.is_visible():
        p.locator(".leaflet-control-search .search-button").click()
    box.fill("")  # (a previous search leaves its text in the open box)
    box.press_sequentially(text, delay=20)
    tip = p.locator(".search-tooltip .search-tip", has_text=tip_text).first
    tip.wait_for(state="visible", timeout=5000)
    tips = p.locator(".search-tooltip .search-tip").all_inner_texts()
    tip.click()
    return tips


def test_the_search_control_opens_a_large_layer_feature_popup(page: Page) -> None:
    page.show(24.0, 76.0, 5)
    _search_box(page, "Plain", "Plain site")
    assert "Plain site" in _popup_text(page)


@pytest.mark.parametrize("hidden", [False, True])
def test_the_search_box_finds_a_large_line_and_opens_its_popup(page: Page, hidden: bool) -> None:
    page.show(24.0, 76.0, 5)
    if hidden:  # switched off in the layer control: a search result switches it back on
        page.js(
            f"""() => {{ const map = window[{page.map_var!r}], big = corridormapBig.layers.big_lines;
                map.eachLayer(l => {{ if (l.hasLayer && l !== big && l.hasLayer(big)) map.removeLayer(l); }});
            }}"""
        )
        assert page.js("corridormapBig.layers.big_lines._map") is None
    tips = _search_box(page, "gamma", "Gamma line")
    assert tips == ["Gamma line"]
    assert "Gamma line" in _popup_text(page)
    view = page.js(
        f"""() => {{ const map = window[{page.map_var!r}];
            return [map.getZoom(), map.getBounds().contains(corridormapBig.layers.big_lines.bounds(2))]; }}"""
    )
    assert view[0] >= 9 and view[1] is True  # zoomed onto the whole line
    assert page.js("!!corridormapBig.layers.big_lines._map") is True


def test_the_search_box_lists_large_layer_names_as_text(page: Page) -> None:
    page.show(24.0, 76.0, 5)
    tips = _search_box(page, "onerror", "Depot")
    assert tips == [HOSTILE]
    assert HOSTILE in _popup_text(page)
    assert page.page.locator(".search-tooltip img, .leaflet-popup-content img").count() == 0
    assert page.dialogs == []


# --- the heat map of a large point layer, drawn from the layer's own decoded points

_HEAT_JS = "Object.keys(window).filter(k => k.startsWith('big_heat_layer_')).map(k => window[k])"
# the heat map's canvas: pixels with some alpha (all of them, or at page point (x, y) only)
_HEAT_ALPHA_JS = """([x, y]) => {
    const c = document.querySelector('canvas.leaflet-heatmap-layer');
    if (!c) return -1;
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, b = c.getBoundingClientRect();
    if (x === null) { let n = 0; for (let i = 3; i < px.length; i += 4) if (px[i]) n++; return n; }
    const i = 4 * (Math.floor(y - b.top) * c.width + Math.floor(x - b.left));
    return px[i + 3];
}"""


def _expected_heat(page: Page) -> list[list[float]]:
    """[lat, lon, weight] the heat map should hold: the sites with a positive capacity."""
    sites = page.layers["big_sites"]
    codes = heat.weight_codes(np.nan_to_num(np.asarray(SITE_MW)) / max(SITE_MW))
    return [[p.y, p.x, c / 255] for p, c in zip(sites.geometry, codes, strict=True) if c]


def test_heat_map_of_a_large_layer_is_drawn_from_its_points(page: Page) -> None:
    assert page.js(f"{_HEAT_JS}.length") == 1
    # nothing read before it is switched on: no second copy of the points, even in the page's memory
    assert page.js(f"{_HEAT_JS}[0]._latlngs.length") == 0 and page.js(f"{_HEAT_JS}[0].filled") is None
    x, y = page.show(28.5, 73.5, 8)
    box = _panel_box(page, "Big points (heat map)")
    assert not box.is_checked()
    box.click()
    got = page.js(f"async () => {{ const h = {_HEAT_JS}[0]; await h.filled; return h._latlngs; }}")
    want = _expected_heat(page)
    assert len(got) == len(want) == page.js("corridormapBig.layers.big_sites.cm.counts.features") - 1
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-5)  # metres of the payload
    assert page.js("document.querySelector('script[id$=\"_weights\"]').textContent") == ""
    x, y = page.show(28.5, 73.5, 8)
    page.page.wait_for_timeout(100)
    assert page.js(_HEAT_ALPHA_JS, [x, y]) > 0  # heat where the site is
    assert page.js(_HEAT_ALPHA_JS, [x, y + 150]) == 0  # none 150 px away from every site
    box.click()  # off again: its canvas goes
    assert page.js(_HEAT_ALPHA_JS, [None, None]) == -1


# holds the decoding worker's answers to fine parts until releaseWorkers(): the large layers paint
# their coarse parts but stay not wholly decoded
_HOLD_WORKERS_JS = """(() => {
  const Real = window.Worker, held = [];
  let released = false;
  window.Worker = function (url) {
    // only the replies to fine parts are held: the coarse parts, decoded in the same worker, go
    // through, so the map paints
    const w = new Real(url), fine = new Set(), proxy = { onmessage: null, onerror: null,
      postMessage: (m, t) => { if (m && m.fine != null) fine.add(m.id); w.postMessage(m, t); },
      terminate: () => w.terminate() };
    w.onmessage = (e) => {
      const go = () => proxy.onmessage(e);
      if (released || !fine.has(e.data.id)) go(); else held.push(go);
    };
    w.onerror = (e) => proxy.onerror && proxy.onerror(e);
    return proxy;
  };
  window.releaseWorkers = () => { released = true; held.splice(0).forEach((go) => go()); };
})();"""


def test_heat_map_switched_on_before_the_layer_decodes_fills_in_when_ready(page: Page) -> None:
    context = page.page.context.browser.new_context(viewport={"width": 1000, "height": 700})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.add_init_script(_HOLD_WORKERS_JS)
    tab.goto(page.path.as_uri() if page.path else "", wait_until="load")
    tab.evaluate("corridormapBig.whenDrawn()")
    before = tab.evaluate(
        f"""() => {{ const h = {_HEAT_JS}[0], map = {FIND_MAP_JS}, big = corridormapBig.layers.big_sites;
            map.addLayer(h);
            return [h._latlngs.length, big.data.top < big.cm.zooms.length]; }}"""
    )
    assert before == [0, True]  # on, and the layer not wholly decoded yet
    got = tab.evaluate(
        f"async () => {{ releaseWorkers(); const h = {_HEAT_JS}[0]; await h.filled; return h._latlngs; }}"
    )
    tab.wait_for_timeout(100)
    painted = tab.evaluate(_HEAT_ALPHA_JS, [None, None])
    context.close()
    assert errors == []
    np.testing.assert_allclose(np.asarray(got), np.asarray(_expected_heat(page)), atol=1e-5)
    assert painted > 100


# --- the encoding on a tricky layer: decoded by the page's JavaScript exactly as Python wrote it


def _walk(rng: np.random.Generator, n: int, lon0: float, lat0: float) -> np.ndarray:
    """A walk with steps from 0 (repeated vertices) to ~30 km and turns up to a U-turn."""
    step = np.concatenate([[0.0], rng.choice([0.0, 1.0, 7.0, 40.0, 150.0, 900.0, 30_000.0], n - 1)])
    heading = np.cumsum(rng.choice([0.0, 0.05, 0.6, np.pi], n, p=[0.4, 0.4, 0.15, 0.05]))
    x, y = np.cumsum(step * np.cos(heading)), np.cumsum(step * np.sin(heading))
    return np.column_stack([lon0 + x / 100_000.0, lat0 + y / 110_000.0])


def _tricky_layers() -> dict[str, tuple[gpd.GeoDataFrame, tuple[int, ...]]]:
    """Lines with 14 zoom levels (multipart, empty, two-vertex, repeated vertices), polygons with
    holes and multipolygons, points; belt coordinates (no antimeridian); empty geometries."""
    from shapely.geometry import MultiLineString, MultiPolygon

    rng = np.random.default_rng(16)
    lines = [
        LineString(_walk(rng, 3000, 72.0, 21.0)),
        None,
        MultiLineString(
            [_walk(rng, 400, 74.0, 23.0), [(74.5, 23.5), (74.6, 23.5)], _walk(rng, 50, 75.0, 22.0)]
        ),
        LineString(),
        LineString([(79.9, 29.9), (79.9, 29.9001)]),
        LineString(_walk(rng, 800, 68.5, 18.5)),
    ]
    square = [(76.0, 19.0), (76.2, 19.0), (76.2, 19.2), (76.0, 19.2)]
    holes = [
        [(76.05, 19.05), (76.08, 19.05), (76.08, 19.08), (76.05, 19.08)],
        [(76.12, 19.12), (76.15, 19.12), (76.15, 19.15)],
    ]
    disc = _walk(rng, 200, 77.0, 25.0)
    zones = [
        Polygon(square, holes),
        None,
        MultiPolygon([Polygon(square[::-1]).buffer(0.3, 64), Polygon([(78, 26), (78.1, 26), (78, 26.1)])]),
        shapely.convex_hull(shapely.multipoints(disc)),
        Polygon(),
    ]
    sites = [Point(73.5, 28.5), None, Point(79.0, 20.0), Point(79.0, 20.0)]

    def frame(geoms: list[Any]) -> gpd.GeoDataFrame:
        n = len(geoms)
        return gpd.GeoDataFrame(
            {"name": [f"f{i}" for i in range(n)], "status": (["operational", "proposed"] * n)[:n]},
            geometry=geoms,
            crs="EPSG:4326",
        )

    return {
        "tricky_lines": (frame(lines), tuple(range(3, 17))),
        "tricky_zones": (frame(zones), (4, 9, 14)),
        "tricky_sites": (frame(sites), big.LEVEL_ZOOMS),
    }


def _open_tricky(path: Path, state: Page) -> tuple[Any, Any, Any]:
    """In the worker thread: open the map with the network cut (offline context, no host resolves)."""
    from bench_render import launch
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = launch(pw)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, offline=True)
    tab = context.new_page()
    tab.on(
        "request",
        lambda r: None if r.url.startswith(("file:", "data:", "blob:")) else state.requests.append(r.url),
    )
    tab.on("pageerror", lambda e: state.errors.append(str(e)))
    tab.goto(path.as_uri(), wait_until="load")
    tab.evaluate("corridormapBig.whenReady()")
    return pw, browser, tab


@pytest.fixture(scope="module")
def tricky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Page, dict[str, Any]]]:
    import folium

    from corridormap.render.panes import pane_name

    m = folium.Map(location=[24, 74], zoom_start=6, tiles=None)
    elements = {}
    for name, (gdf, zooms) in _tricky_layers().items():
        kind = {"tricky_lines": "line", "tricky_zones": "polygon", "tricky_sites": "point"}[name]
        spec = _spec(name, kind, kind.capitalize(), 50)
        folium.map.CustomPane(pane_name(spec), z_index=450).add_to(m)  # build_map makes these
        group = folium.FeatureGroup(name=name).add_to(m)
        elements[name] = (big.big_layer(gdf, spec, zooms=zooms), big.prepare(gdf, zooms=zooms))
        elements[name][0].add_to(group)
    path = tmp_path_factory.mktemp("tricky") / "tricky.html"
    path.write_text(map_html(m, offline=True), encoding="utf-8")
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tricky-browser")
    state = Page(None, m.get_name(), {})
    pw, browser, tab = pool.submit(_open_tricky, path, state).result()
    state.page = InThread(tab, pool)
    elements["path"] = path
    try:
        yield state, elements
    finally:
        pool.submit(browser.close).result()
        pool.submit(pw.stop).result()
        pool.shutdown()


_ARRAYS_JS = """(name) => {
  const d = corridormapBig.layers[name].data, a = (v) => Array.from(v);
  return {ringStart: a(d.ringStart), vertStart: a(d.vertStart), style: a(d.style), xs: a(d.xs), ys: a(d.ys),
          tags: a(d.tags), top: d.top, where: corridormapBig.layers[name].decodedIn};
}"""


@pytest.mark.parametrize("name", ["tricky_lines", "tricky_zones", "tricky_sites"])
def test_javascript_decodes_what_python_encoded(tricky: tuple[Page, dict[str, Any]], name: str) -> None:
    page, elements = tricky
    element, prepared = elements[name]
    got = page.js(_ARRAYS_JS, name)
    assert got["where"] == "worker" and got["top"] == len(prepared.zooms)
    assert got["ringStart"] == prepared.ring_offsets.tolist()
    assert got["vertStart"] == prepared.vertex_offsets.tolist()
    assert got["xs"] == prepared.xy[:, 0].tolist() and got["ys"] == prepared.xy[:, 1].tolist()
    assert got["tags"] == prepared.tags.tolist()
    assert len(got["style"]) == prepared.n_features
    if name == "tricky_lines":  # the walk's steps and turns reach every context and the escapes
        assert len(prepared.zooms) == 14 and set(prepared.tags.tolist()) == set(range(15))


@pytest.mark.parametrize("name", ["tricky_lines", "tricky_zones"])
def test_javascript_decodes_the_coarse_part_alone(tricky: tuple[Page, dict[str, Any]], name: str) -> None:
    page, elements = tricky
    element, prepared = elements[name]
    got = page.js(
        """async ([text, o]) => {
          const b = await corridormapBig.partBytes(text, o.deflate);
          const d = corridormapBig.decodePart(b, o.counts, o.steps, null);
          return {xs: Array.from(d.xs), ys: Array.from(d.ys), tags: Array.from(d.tags)};
        }""",
        [element.coarse_text, element.options],
    )
    coarse = prepared.tags <= element.options["split"]
    assert got["xs"] == prepared.xy[coarse, 0].tolist() and got["ys"] == prepared.xy[coarse, 1].tolist()
    assert got["tags"] == prepared.tags[coarse].tolist()


def test_tricky_map_opens_offline_with_no_request_and_no_error(tricky: tuple[Page, dict[str, Any]]) -> None:
    page, _ = tricky
    assert page.requests == [] and page.errors == []
    painted = page.js(
        """() => Object.values(corridormapBig.layers).filter(l => l.cm.name.startsWith('tricky'))
              .map(l => Object.values(l._tiles).some(t => {
                 const c = t.el, px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                 for (let i = 3; i < px.length; i += 4) if (px[i]) return true;
                 return false; }))"""
    )
    assert painted == [True, True, True]


def test_a_page_refusing_workers_decodes_the_fine_part_itself(tricky: tuple[Page, dict[str, Any]]) -> None:
    page, elements = tricky
    tab = page.page.context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.add_init_script("window.Worker = undefined;")  # as under a policy that forbids workers
    tab.goto(elements["path"].as_uri(), wait_until="load")
    tab.evaluate("corridormapBig.whenReady()")
    got = tab.evaluate(_ARRAYS_JS, "tricky_lines")
    tab.close()
    prepared = elements["tricky_lines"][1]
    assert got["where"] == "page" and errors == []
    assert got["xs"] == prepared.xy[:, 0].tolist() and got["tags"] == prepared.tags.tolist()


# --- the early coarse decode when things go wrong (review16c)

_EARLY_CALL = "corridormapBig.early({"  # (the inline call after a coarse block; the JS files are packed)


def _open_variant(
    page: Page, html: str, path: Path, *, init: str | None = None, offline: bool = False
) -> Any:
    """Write ``html`` to ``path`` and open it in a new context of the module's browser (its network
    cut if ``offline``); returns (tab, page errors)."""
    path.write_text(html, encoding="utf-8")
    context = page.page.context.browser.new_context(viewport={"width": 1000, "height": 700}, offline=offline)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    if init:
        tab.add_init_script(init)
    tab.goto(path.as_uri(), wait_until="load")
    return tab, errors


def test_a_worker_failing_after_the_early_call_leaves_the_page_decoding(page: Page, tmp_path: Path) -> None:
    # a worker that starts, takes the early jobs, then fails (as a policy refusing it after the
    # fact would, or a script error in it): every layer still decodes, on the page
    init = """(() => {
      const B = window.Blob;  // the worker's script (a Blob of decode.js) with a failing end
      window.Blob = function (parts, opts) {
        if (parts && typeof parts[0] === 'string' && parts[0].indexOf('corridormap') >= 0)
          parts = [parts[0] + "\\nthrow new Error('worker start failed');"];
        return new B(parts, opts);
      };
      window.Blob.prototype = B.prototype;
    })();"""
    assert page.path is not None
    tab, errors = _open_variant(page, page.path.read_text(encoding="utf-8"), tmp_path / "w.html", init=init)
    tab.evaluate("corridormapBig.whenReady()")
    got = tab.evaluate(
        "Object.values(corridormapBig.layers)"
        ".map(l => [l.cm.name, l.sentEarly === true, l.decodedIn, l.data.top])"
    )
    tab.context.close()
    assert errors == []
    assert sorted(got) == [
        [n, True, "page", len(big.LEVEL_ZOOMS)] for n in ("big_lines", "big_sites", "big_zones")
    ]


def test_a_file_cut_before_the_map_script_leaves_no_worker_running(page: Page, tmp_path: Path) -> None:
    # the file stops inside the map script, after every coarse block and its early call: no layer
    # is made to take the early jobs; the page says the file is incomplete and keeps no decoding
    # worker (a thread holding the decoded coarse parts) alive for nothing
    assert page.path is not None
    text = page.path.read_text(encoding="utf-8")
    assert text.rindex(_EARLY_CALL) < text.index("corridormapBig.layer(")
    tab, errors = _open_variant(page, text[: text.index("corridormapBig.layer(")], tmp_path / "cut.html")
    notice = tab.evaluate("(document.querySelector('.cm-damaged') || {}).textContent || ''")
    for _ in range(30):  # (the early jobs' replies come back within a second)
        if not tab.workers:
            break
        tab.wait_for_timeout(100)
    alive = len(tab.workers)
    tab.context.close()
    assert errors == [] and "incomplete" in notice
    assert alive == 0


def test_a_damaged_fine_part_keeps_the_coarse_drawing_and_says_so_once(page: Page, tmp_path: Path) -> None:
    # one layer's fine part does not decode (its text damaged in the file): the layer keeps its
    # coarse drawing, the others decode fully, and the console says which layer, once, with no
    # uncaught error
    assert page.path is not None
    text = page.path.read_text(encoding="utf-8")
    start = text.index('_fine">') + len('_fine">')
    end = text.index("</script>", start)
    damaged = text[:start] + "x" * 40 + text[end:]
    logged: list[str] = []
    context = page.page.context.browser.new_context(viewport={"width": 1000, "height": 700})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.on("console", lambda m: logged.append(m.text) if m.type == "error" else None)
    path = tmp_path / "damaged-fine.html"
    path.write_text(damaged, encoding="utf-8")
    tab.goto(path.as_uri(), wait_until="load")
    tab.evaluate("corridormapBig.whenDrawn()")
    tab.wait_for_timeout(1500)  # (the fine parts are decoded once every layer has painted)
    drawn = tab.evaluate("Object.values(corridormapBig.layers).map(l => l.data !== null)")
    context.close()
    assert errors == [] and drawn == [True, True, True]
    said = [m for m in logged if "not fully decoded" in m]
    assert len(said) == 1 and said[0].startswith("corridormap: layer big_")


def test_early_calls_do_nothing_where_the_layer_script_did_not_run(page: Page, tmp_path: Path) -> None:
    # a --cdn map opened where the CDN is blocked: Leaflet is missing, so big_layer.js stops at its
    # first use of L, after decode.js and grid_index.js made window.corridormapBig; the inline
    # early calls must then do nothing rather than add an error per large layer
    layers, specs = _layers()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(big, "BIG_VERTICES", 0)
        m = build_map(layers, specs, fit_to=None, offline=False, title="CDN map")
    html = map_html(m, cdn=True)
    assert html.count(_EARLY_CALL) == 3
    tab, errors = _open_variant(page, html, tmp_path / "cdn.html", offline=True)
    tab.context.close()
    assert any("L is not defined" in e for e in errors)  # the real cause, said once it is reached
    assert [e for e in errors if "early" in e] == []
