"""The planner's map in a real browser: Debian's Chromium driven by Playwright, every request recorded.

The maps are built once per session from the shipped layers plus one node with a hostile name: the
offline map (``offline=True``) must make no request outside ``file://`` and ``data:``; the default map
(everything inlined, tile basemaps offered) is opened with the network cut (tiles fail, nothing else
is requested); the CDN-linked map's requests are answered from the same locally installed assets
(tiles with a blank image). Screenshots go to ``test-artifacts/``. These tests never skip: without
Chromium they fail, saying how to install it.
"""

from __future__ import annotations

import base64
import re
import shutil
import tomllib
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from mappage import silent_flip
from shapely.geometry import Point

import corridormap
from corridormap.render.assets import asset_bytes, asset_table, external_references, map_html
from corridormap.render.controls import CLUSTER_MIN_FEATURES
from corridormap.render.pack import packed_blocks

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
HOSTILE = "Hostile <img src=x onerror=alert(1)> node"
BLANK_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mP8/x8AAwMCAO+ip1sAAAAASUVORK5CYII="
)
TILE_HOSTS = ("tile.openstreetmap.org", "server.arcgisonline.com")


@dataclass
class Built:
    path: Path
    map_var: str
    groups: dict[str, str]  # layer name -> JS variable of its FeatureGroup
    counts: dict[str, int]  # layer name -> features


@dataclass
class Session:
    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)


def _layers() -> dict[str, gpd.GeoDataFrame]:
    layers = corridormap.load_layers()
    nodes = layers["industrial_nodes"]
    row = nodes.iloc[[0]].copy()
    row["id"] = "hostile-1"
    row["name"] = HOSTILE
    row = row.set_geometry([Point(74.5, 24.5)], crs=nodes.crs)
    layers["industrial_nodes"] = pd.concat([nodes, row], ignore_index=True)
    return layers


def _build(layers: dict[str, gpd.GeoDataFrame], out: Path, *, offline: bool, cdn: bool = False) -> Built:
    m = corridormap.build_map(layers, offline=offline)
    specs = corridormap.load_catalog()
    titles = {specs[n].title: n for n in layers}
    groups = {
        titles[c.layer_name]: c.get_name()
        for c in m._children.values()
        if isinstance(c, folium.FeatureGroup) and c.layer_name in titles
    }
    out.write_text(map_html(m, offline=offline, cdn=cdn), encoding="utf-8")
    return Built(out, m.get_name(), groups, {n: len(g) for n, g in layers.items()})


@pytest.fixture(scope="session")
def maps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    tmp = tmp_path_factory.mktemp("maps")
    layers = _layers()
    return {
        "offline": _build(layers, tmp / "offline.html", offline=True),
        "online": _build(layers, tmp / "online.html", offline=False, cdn=True),
    }


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does)"
        )
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _serve_locally(session: Session) -> Any:
    table = asset_table()

    def handle(route: Any) -> None:
        url = route.request.url
        if url in table:
            kind = "text/css" if url.endswith(".css") else "application/javascript"
            route.fulfill(status=200, body=asset_bytes(url), content_type=kind)
        elif any(host in url for host in TILE_HOSTS):
            route.fulfill(status=200, body=BLANK_PNG, content_type="image/png")
        else:
            session.unanswered.append(url)
            route.abort()

    return handle


def _open(
    browser: Any,
    built: Built,
    *,
    online: bool = False,
    width: int = 1280,
    height: int = 800,
    url: str | None = None,
) -> Session:
    page = browser.new_page(viewport={"width": width, "height": height})
    session = Session(page)
    page.on("request", lambda r: session.requests.append(r.url))
    page.on("console", lambda m: session.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: session.errors.append(str(e)))
    # a tile request the map abandons when the view changes is not an error; any other failure is
    page.on(
        "requestfailed",
        lambda r: (
            None
            if any(h in r.url for h in TILE_HOSTS)
            else session.errors.append(f"request failed: {r.url[:200]}")
        ),
    )

    def on_dialog(dialog: Any) -> None:
        session.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    if online:
        page.route("http://**/*", _serve_locally(session))
        page.route("https://**/*", _serve_locally(session))
    page.goto(url or built.path.as_uri())
    page.wait_for_function(f"() => window.{built.map_var} && window.{built.map_var}._loaded")
    page.wait_for_timeout(400)
    return session


@pytest.fixture
def offline_page(browser: Any, maps: dict[str, Built]) -> Iterator[Session]:
    session = _open(browser, maps["offline"])
    yield session
    session.page.close()


COUNT_JS = """([groups]) => {
  const out = {};
  for (const [name, v] of Object.entries(groups)) {
    let n = 0;
    const walk = (l) => { if (l.feature) { n++; return; } if (l.eachLayer) { l.eachLayer(walk); } };
    walk(window[v]);
    out[name] = n;
  }
  return out;
}"""

DRAWN_JS = """([mapVar, names]) => {
  const map = window[mapVar];
  const out = {};
  for (const name of names) { out[name] = map.getPane("cm-" + name).querySelectorAll("path").length; }
  let clustered = 0;
  document.querySelectorAll(".marker-cluster span").forEach((s) => {
    clustered += parseInt(s.textContent, 10);
  });
  out["_clustered"] = clustered;
  return out;
}"""


def _show_all(session: Session, built: Built) -> None:
    """Switch on every layer (some are off at start, e.g. nicdc_national_nodes) and show all India."""
    session.page.evaluate(
        "([mapVar, groups]) => { for (const v of Object.values(groups)) {"
        " window[mapVar].addLayer(window[v]); } }",
        [built.map_var, built.groups],
    )
    session.page.evaluate(f"() => window.{built.map_var}.setView([23.5, 80.0], 4, {{animate: false}})")
    session.page.wait_for_timeout(500)


def test_layers_off_at_start_are_listed_but_hidden(offline_page: Session, maps: dict[str, Built]) -> None:
    built = maps["offline"]
    shown = offline_page.page.evaluate(
        "([mapVar, groups]) => Object.fromEntries(Object.entries(groups).map("
        "([n, v]) => [n, window[mapVar].hasLayer(window[v])]))",
        [built.map_var, built.groups],
    )
    assert shown["nicdc_national_nodes"] is False
    assert shown["industrial_nodes"] is True


UNPACKED_JS = """() => [
  document.querySelectorAll('script[type="text/x-corridormap-packed"]').length,
  typeof corridormap.run, typeof L.Control.Measure.prototype,
  JSON.parse(document.querySelector('script[type="application/json"][id^="cm_basemap_"]').textContent)
    .levels.length > 0,
  document.querySelectorAll('.cm-damaged').length,
]"""


def _drawn(session: Session, built: Built) -> dict[str, int]:
    return session.page.evaluate(DRAWN_JS, [built.map_var, list(built.groups)])


def test_offline_map_draws_every_layer_with_no_network_and_no_error(
    browser: Any, maps: dict[str, Built]
) -> None:
    built = maps["offline"]
    session = _open(browser, built)
    try:
        _show_all(session, built)
        assert session.page.evaluate(COUNT_JS, [built.groups]) == built.counts
        drawn = _drawn(session, built)
        clustered = drawn.pop("_clustered")
        # one SVG path per feature; points of a clustered layer are counted in their cluster icons
        assert sum(drawn.values()) + clustered == sum(built.counts.values())
        dense = {n for n, c in built.counts.items() if c >= CLUSTER_MIN_FEATURES}
        assert not dense and clustered == 0  # no shipped layer is dense enough to need clusters
        for name, n in built.counts.items():
            assert drawn[name] == n or (name in dense and drawn[name] < n), name
        session.page.screenshot(path=str(ARTIFACTS / "map-offline.png"))
        # the file ships its scripts, styles and basemap packed (render/pack.py); loaded, none is left
        assert "corridormap controls.js" in packed_blocks(built.path.read_text(encoding="utf-8"))
        assert session.page.evaluate(UNPACKED_JS) == [0, "function", "object", True, 0]  # no notice
        outside = [u for u in session.requests if not u.startswith(("file://", "data:"))]
        assert outside == []
        assert session.errors == []
    finally:
        session.page.close()


def test_a_map_file_cut_short_or_damaged_says_so(
    browser: Any, maps: dict[str, Built], tmp_path: Path
) -> None:
    text = maps["offline"].path.read_text(encoding="utf-8")
    first = text.index('<script type="text/x-corridormap-packed"')
    files = {  # an e-mail or a download cut short inside a packed block, or in the map's data
        "cut in a packed block": text[: first + 2_000],
        "cut in the body": text[: len(text) * 9 // 10],
        # a packed block whose text is not what it declares: Leaflet does not unpack
        "damaged": re.sub(r'data-bytes="(\d+)"', lambda m: f'data-bytes="{int(m[1]) + 1}"', text, count=1),
    }
    for name, page_text in files.items():
        path = tmp_path / f"{name.replace(' ', '-')}.html"
        path.write_text(page_text, encoding="utf-8")
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        try:
            page.goto(path.as_uri(), wait_until="load")
            note = page.locator(".cm-damaged")
            assert note.count() == 1 and note.is_visible(), name
            if name == "damaged":
                assert "damaged" in note.inner_text() and "leaflet.js" in note.inner_text()
            else:
                assert "incomplete" in note.inner_text() and "Ask the sender" in note.inner_text()
            page.screenshot(path=str(ARTIFACTS / f"map-{path.stem}.png"))
        finally:
            page.close()


def test_the_pages_crc32_is_zlibs(offline_page: Session) -> None:
    """pack.js's CRC-32 (four bytes a step) gives zlib.crc32's value, whatever the length's remainder."""
    rng = np.random.default_rng(7)
    samples = [b"", b"a", b"abc", b"abcd", b"abcde", bytes(range(256)) * 3, rng.bytes(10_001)]
    got = offline_page.page.evaluate(
        "(arrays) => arrays.map((a) => corridormapPack.crc32(new Uint8Array(a)))", [list(b) for b in samples]
    )
    assert got == [zlib.crc32(b) for b in samples]


def test_a_block_changed_inside_shows_the_damaged_notice_and_no_error_escapes(
    browser: Any, maps: dict[str, Built], tmp_path: Path
) -> None:
    """One flipped bit in a packed block that still inflates to the length it declares (render/pack.py's
    CRC-32 catches it): the block is not used, the notice names it, no error is thrown."""
    built = maps["offline"]
    label = "corridormap corridormap.css"  # a stylesheet: the rest of the page runs without it
    path = tmp_path / "flipped.html"
    path.write_text(silent_flip(built.path.read_text(encoding="utf-8"), label), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    thrown: list[str] = []
    logged: list[str] = []
    page.on("pageerror", lambda e: thrown.append(str(e)))
    page.on("console", lambda m: logged.append(m.text) if m.type == "error" else None)
    try:
        page.goto(path.as_uri(), wait_until="load")
        note = page.locator(".cm-damaged")
        assert note.count() == 1 and note.is_visible()
        assert "damaged" in note.inner_text() and label in note.inner_text()
        assert "Ask the sender for the file again" in note.inner_text()
        page.screenshot(path=str(ARTIFACTS / "map-flipped-bit.png"))
        # the changed block stays packed (inert); every other block unpacked and the map runs
        left = page.evaluate(
            "() => [...document.querySelectorAll('script[type=\"text/x-corridormap-packed\"]')]"
            ".map((s) => s.getAttribute('data-label'))"
        )
        assert left == [label]
        assert page.evaluate(f"() => window.{built.map_var}._loaded") is True
        assert thrown == []
        assert len(logged) == 1 and label in logged[0] and "CRC-32" in logged[0]
    finally:
        page.close()


def test_offline_map_is_one_self_contained_file(maps: dict[str, Built]) -> None:
    html = maps["offline"].path.read_text(encoding="utf-8")
    assert external_references(html) == set()
    assert "<script src=" not in html and 'rel="stylesheet"' not in html


CONTROLS = (
    ".cm-title",
    ".leaflet-control-zoom",
    ".fullscreen-icon",
    ".leaflet-control-measure",
    ".leaflet-control-search",
    ".leaflet-control-minimap",
    ".leaflet-control-scale",
    ".cm-mouse-position",
    ".cm-sources",
    ".cm-panel",
)


def open_panel(page: Any) -> Any:
    """The layer panel (collapsed at start on a laptop screen) opened as a user does; returns it."""
    panel = page.locator(".cm-panel")
    if "collapsed" in (panel.get_attribute("class") or ""):
        panel.locator(".cm-panel-head").click()
    page.wait_for_selector(".cm-panel-body", state="visible")
    return panel


def test_controls_work_offline(offline_page: Session) -> None:
    page = offline_page.page
    for selector in CONTROLS:
        assert page.locator(selector).count() >= 1, selector
    assert "Built " in page.locator(".cm-title").inner_text()
    page.mouse.move(640, 420)
    page.mouse.move(650, 430)
    assert re.fullmatch(r"\d+\.\d{4}° N, \d+\.\d{4}° E", page.locator(".cm-mouse-position").inner_text())
    page.locator(".cm-sources button").click()
    panel = page.locator(".cm-sources-body")
    assert panel.is_visible()
    specs = corridormap.load_catalog()
    text = panel.inner_text()
    for name in ("industrial_nodes", "freight_rail", "corridor_belt"):
        assert specs[name].title in text
    assert text.count("Licence:") == len(page.locator(".cm-sources tr").all())
    page.locator(".cm-sources button").click()  # close the panel again
    assert not panel.is_visible()
    # measure a triangle: distance and area in km and ha, with Leaflet's default icons served inline
    page.locator(".leaflet-control-measure").hover()
    page.locator(".leaflet-control-measure .js-start").click()
    for x, y in ((250, 350), (450, 350), (450, 550)):
        page.mouse.click(x, y)
        page.wait_for_timeout(250)
    results = page.locator(".leaflet-control-measure .js-results").inner_text()
    assert re.search(r"[\d,.]+ Kilometers", results), results
    page.locator(".leaflet-control-measure .js-finish").click()
    popup = page.locator(".leaflet-popup-content").inner_text()
    assert "Hectares" in popup and "Perimeter" in popup, popup
    panel = open_panel(page)
    heat = panel.locator(".cm-panel-row", has_text="(heat map)").first
    heat.locator("input").check(timeout=10000)
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 1
    page.screenshot(path=str(ARTIFACTS / "map-offline-controls.png"))
    assert offline_page.errors == []


def test_default_offline_build_opens_with_no_network(browser: Any, tmp_path: Path) -> None:
    result = corridormap.build_outputs(tmp_path / "out", offline=True)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(result.map.as_uri())
        page.wait_for_selector(".cm-panel")
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "map-default-offline.png"))
        assert [u for u in requests if not u.startswith(("file://", "data:"))] == []
        assert errors == []
        assert page.locator(".leaflet-cm-industrial_nodes-pane path").count() > 0
    finally:
        page.close()


def test_layer_control_hides_and_shows_a_layer_and_draw_order_holds(
    offline_page: Session, maps: dict[str, Built]
) -> None:
    built, page = maps["offline"], offline_page.page
    specs = corridormap.load_catalog()
    panel = open_panel(page)
    label = panel.locator(".cm-panel-row", has_text=specs["freight_rail"].title)
    rail = page.locator(".leaflet-cm-freight_rail-pane path")
    before = rail.count()
    assert before == built.counts["freight_rail"]
    label.locator("input").uncheck()
    assert rail.count() == 0
    label.locator("input").check()
    assert rail.count() == before
    z = page.evaluate(
        """([mapVar, names]) => names.map(
        (n) => parseInt(getComputedStyle(window[mapVar].getPane("cm-" + n)).zIndex, 10))""",
        [built.map_var, list(built.groups)],
    )
    by_order = sorted(built.groups, key=lambda n: specs[n].draw_order)
    assert [z[list(built.groups).index(n)] for n in by_order] == sorted(z)
    assert len(set(z)) == len(z) or specs  # equal draw orders may share a z-index
    # after the toggle the rail is still drawn under the stations and above the belt
    assert z[list(built.groups).index("freight_rail")] < z[list(built.groups).index("freight_stations")]
    assert z[list(built.groups).index("freight_rail")] > z[list(built.groups).index("corridor_belt")]
    assert offline_page.errors == []


def _search(page: Any, text: str, tip_starts: str) -> list[str]:
    """Type into the search box, click the first tip containing ``tip_starts``; return the tips shown."""
    page.locator(".leaflet-control-search .search-button").click()
    page.locator(".leaflet-control-search input.search-input").press_sequentially(text, delay=20)
    tip = page.locator(".search-tooltip .search-tip", has_text=tip_starts).first
    tip.wait_for(state="visible", timeout=5000)
    tips = page.locator(".search-tooltip .search-tip").all_inner_texts()
    tip.click()
    page.locator(".leaflet-popup-content").wait_for(state="visible", timeout=5000)
    return tips


def test_search_for_dholera_zooms_to_it_and_opens_its_popup(
    offline_page: Session, maps: dict[str, Built]
) -> None:
    built, page = maps["offline"], offline_page.page
    nodes = corridormap.read_layer("industrial_nodes")
    dholera = nodes[nodes["name"].str.startswith("Dholera")].geometry.iloc[0]
    _search(page, "Dholera", "Dholera Special")
    page.wait_for_timeout(800)
    zoom, in_view, lat, lon = page.evaluate(
        f"""([y, x]) => {{ const m = window.{built.map_var};
        const c = m.getCenter(); return [m.getZoom(), m.getBounds().contains([y, x]), c.lat, c.lng]; }}""",
        [dholera.y, dholera.x],
    )
    assert zoom == 11 and in_view
    # centred on it, give or take the pan that makes room for its (tall) popup
    assert abs(lat - dholera.y) < 0.3 and abs(lon - dholera.x) < 0.3
    popup = page.locator(".leaflet-popup-content").inner_text()
    assert "Dholera Special Investment Region" in popup
    for text in (
        "investment region",
        "under construction",
        "Area",
        "92,000 ha",
        "Source:",
        "more sources",
        "Details",
    ):
        assert text in popup, text
    assert "Area (ha)" not in popup  # units once, with the value
    # the search box never covers the popup
    box = page.locator(".leaflet-control-search").bounding_box()
    pop = page.locator(".leaflet-popup").bounding_box()
    assert box and pop
    assert (
        box["x"] + box["width"] <= pop["x"]
        or box["y"] + box["height"] <= pop["y"]
        or pop["y"] + pop["height"] <= box["y"]
    )
    page.screenshot(path=str(ARTIFACTS / "map-offline-search.png"))
    assert offline_page.errors == []


def test_hostile_name_shows_as_text_and_opens_no_dialog(offline_page: Session) -> None:
    page = offline_page.page
    tips = _search(page, "onerror", "Hostile")
    assert tips == [HOSTILE]
    popup = page.locator(".leaflet-popup-content")
    assert HOSTILE in popup.inner_text()
    assert popup.locator("img").count() == 0
    assert page.locator("img[src='x']").count() == 0
    page.wait_for_timeout(300)
    assert offline_page.dialogs == []
    assert offline_page.errors == []


def test_online_map_with_cdn_answered_locally_draws_the_same_layers(
    browser: Any, maps: dict[str, Built]
) -> None:
    built = maps["online"]
    session = _open(browser, built, online=True)
    try:
        _show_all(session, built)
        assert session.page.evaluate(COUNT_JS, [built.groups]) == built.counts
        drawn = _drawn(session, built)
        clustered = drawn.pop("_clustered")
        assert sum(drawn.values()) + clustered == sum(built.counts.values())
        session.page.screenshot(path=str(ARTIFACTS / "map-online.png"))
        cdn = [u for u in session.requests if u in asset_table()]
        assert cdn, "the online map should load its scripts from CDN addresses"
        assert session.unanswered == []
        assert session.errors == []
        # its CDNs answered: no notice (js/cdn_check.js) and none of the damaged-file ones either
        assert session.page.locator(".cm-notices").count() == 0
    finally:
        session.page.close()


BLOCKED_PAGE = "<html><body><h1>Access denied</h1><p>This site is blocked by your network.</p></body></html>"


@pytest.mark.parametrize("network", ["none", "a proxy's block page"])
def test_online_map_with_no_network_says_why_and_what_to_do(
    browser: Any, maps: dict[str, Built], network: str
) -> None:
    """A CDN-linked map opened where its CDNs cannot be reached (no network: every request fails; or a
    network that answers them with its own "blocked" page) shows a notice, not a blank white page."""
    built = maps["online"]
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    def refuse(route: Any) -> None:
        if network == "none":
            route.abort("internetdisconnected")
        else:
            route.fulfill(status=200, body=BLOCKED_PAGE, content_type="text/html")

    page.route("http://**/*", refuse)
    page.route("https://**/*", refuse)
    try:
        page.goto(built.path.as_uri(), wait_until="load")
        assert page.evaluate("() => typeof window.L") == "undefined"  # the map library is not there
        note = page.locator(".cm-cdn-unreachable")
        assert note.count() == 1 and note.is_visible()
        text = note.inner_text()
        for part in (
            "loads its map library",
            "from the internet",
            "could not be reached",
            "with internet access",
            "ask the sender",
            "corridormap build",
            "without --cdn",
        ):
            assert part in text, part
        box = note.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 768 and box["width"] > 300
        assert float(note.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 14
        assert page.locator(".cm-damaged").count() == 0  # the file itself is whole
        assert dialogs == []  # a notice in the page, not an alert
        name = "no-network" if network == "none" else "blocked"
        page.screenshot(path=str(ARTIFACTS / f"map-cdn-{name}.png"))
    finally:
        page.close()


# ---- the default build as a planner opens it: the file alone, a laptop, the network cut ----

MAP_JS = (
    "(() => { for (const k of Object.keys(window)) {"
    " try { if (window[k] instanceof L.Map) return window[k]; } catch (e) {} } return null; })()"
)
SIZES = [(1366, 768), (1920, 1080)]


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, gpd.GeoDataFrame]:
    """The default build's map copied alone into an empty folder (as when e-mailed), and its nodes."""
    result = corridormap.build_outputs(tmp_path_factory.mktemp("build") / "out")
    folder = tmp_path_factory.mktemp("inbox")
    shutil.copy(result.map, folder / "corridor.html")
    nodes = result.layers["industrial_nodes"].to_crs("EPSG:4326")
    nodes["flagged"] = nodes["id"].isin(set(result.layers["gap_flags"]["id"]))  # (the build's gap flags)
    return folder / "corridor.html", nodes


@contextmanager
def _cut_off(browser: Any, path: Path, width: int, height: int, hash_: str = "") -> Iterator[Session]:
    """The map opened from ``path`` with every network request aborted (and recorded); closed after."""
    page = browser.new_page(viewport={"width": width, "height": height})
    session = Session(page)
    page.on("pageerror", lambda e: session.errors.append(str(e)))
    page.on("dialog", lambda d: (session.dialogs.append(d.message), d.dismiss()))

    def cut(route: Any) -> None:
        session.requests.append(route.request.url)
        route.abort()

    page.route("http://**/*", cut)
    page.route("https://**/*", cut)
    try:
        page.goto(path.as_uri() + hash_)
        page.wait_for_function(f"() => {MAP_JS} && {MAP_JS}._loaded")
        page.wait_for_timeout(500)
        yield session
    finally:
        page.close()


def _node_pixel(page: Any, lat: float, lon: float, zoom: int = 10) -> tuple[float, float]:
    p = page.evaluate(
        f"""([lat, lon, z]) => {{ const m = {MAP_JS}; m.closePopup();
        m.setView([lat, lon], z, {{animate: false}}); const p = m.latLngToContainerPoint([lat, lon]);
        const r = m.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }}""",
        [lat, lon, zoom],
    )
    page.wait_for_timeout(250)  # (a closing popup fades out; it must not catch the click)
    return p[0], p[1]


def _popup(page: Any) -> tuple[str, dict[str, float] | None]:
    el = page.locator(".leaflet-popup")
    if el.count() == 0:
        return "", None
    return el.inner_text(), el.bounding_box()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_default_map_alone_and_offline_every_node_reachable_by_a_click(
    browser: Any, alone: tuple[Path, gpd.GeoDataFrame], width: int, height: int
) -> None:
    path, nodes = alone
    with _cut_off(browser, path, width, height) as session:
        page = session.page
        page.screenshot(path=str(ARTIFACTS / f"planner-first-view-{width}x{height}.png"))
        assert session.errors == [] and session.dialogs == []
        # only tile basemaps asked for the network (and were skipped): the file is self-contained
        assert session.requests and all(any(h in u for h in TILE_HOSTS) for u in session.requests)
        for pane in ("freight_rail", "corridor_belt", "industrial_nodes"):
            assert page.locator(f".leaflet-cm-{pane}-pane path").count() > 0, pane
        assert page.locator(".leaflet-cm-basemap-pane path").count() > 50  # the planning basemap
        assert page.locator(".cm-label.cm-state", has_text="Gujarat").count() == 1
        collapsed = "collapsed" in (page.locator(".cm-panel").get_attribute("class") or "")
        assert collapsed is (width < 1500)  # the panel starts collapsed on a laptop screen
        # no link or load points at a file beside the HTML (the strip diagrams are inside)
        local = page.evaluate("""() => Array.from(document.querySelectorAll('[href], [src]'))
            .map(e => e.getAttribute('href') || e.getAttribute('src'))
            .filter(h => h && !/^(https?:|mailto:|#|data:|blob:|javascript:)/i.test(h))""")
        assert local == []
        wrong, tall, chosen = [], [], 0
        for name, geom in zip(nodes["name"], nodes.geometry, strict=True):
            x, y = _node_pixel(page, geom.y, geom.x)
            page.mouse.click(x, y)
            page.wait_for_timeout(400)  # (the popup pans into view, animated)
            text, box = _popup(page)
            if page.locator(".cm-chooser").count():
                entry = page.locator(".cm-chooser li a", has_text=name)
                if entry.count() != 1:
                    wrong.append(name)
                    continue
                entry.click()
                chosen += 1
                page.wait_for_timeout(300)
                text, box = _popup(page)
            if name not in text:
                wrong.append(name)
            elif (
                box is None
                or box["height"] > 0.6 * height + 60
                or box["y"] < 0
                or box["y"] + box["height"] > height
            ):
                tall.append((name, box))
        assert wrong == [] and tall == []
        assert chosen >= 7  # Dholera SIR and the Tata fab, four Sanand units, two YEIDA units share positions
        x, y = _node_pixel(page, 22.98, 72.33, 11)  # the four Sanand units
        page.mouse.click(x, y)
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / f"planner-chooser-{width}x{height}.png"))
        page.locator(".cm-chooser li a").nth(1).click()
        page.wait_for_timeout(400)
        page.screenshot(path=str(ARTIFACTS / f"planner-popup-{width}x{height}.png"))
        # back to the list from a feature opened there, and on to another of the four
        back = page.locator(".leaflet-popup .cm-chooser-back")
        assert back.count() == 1 and back.inner_text() == "\u2190 4 features here"
        back.click()
        page.wait_for_timeout(300)
        assert page.locator(".cm-chooser li a").count() == 4
        third = page.locator(".cm-chooser li a").nth(2)
        third_name = third.inner_text()
        third.click()
        page.wait_for_timeout(300)
        assert third_name in _popup(page)[0] and page.locator(".cm-chooser-back").count() == 1
        lone = next(g for g in nodes.geometry if sum(g.distance(o) < 0.05 for o in nodes.geometry) == 1)
        x, y = _node_pixel(page, lone.y, lone.x, 11)  # a node alone at its position: no chooser, no back link
        page.mouse.click(x, y)
        page.wait_for_timeout(400)
        assert page.locator(".cm-chooser").count() == 0 and page.locator(".cm-chooser-back").count() == 0
        assert session.errors == []


def test_shared_view_in_the_url_hash_restores_and_follows_the_map(
    browser: Any, alone: tuple[Path, gpd.GeoDataFrame]
) -> None:
    path, _ = alone
    with _cut_off(
        browser, path, 1366, 768, "#map=9/23.1000/72.6000&layers=industrial_nodes,freight_rail&base=planning"
    ) as session:
        page = session.page
        lat, lon, zoom = page.evaluate(
            f"() => {{ const m = {MAP_JS}, c = m.getCenter(); return [c.lat, c.lng, m.getZoom()]; }}"
        )
        assert (round(lat, 3), round(lon, 3), zoom) == (23.1, 72.6, 9)
        assert page.locator(".leaflet-cm-freight_stations-pane path").count() == 0  # not in the shared view
        assert page.locator(".leaflet-cm-freight_rail-pane path").count() > 0
        assert session.requests == []  # the planning basemap was shared: no tile asked for
        page.evaluate(f"() => {MAP_JS}.setView([19.0, 73.0], 8, {{animate: false}})")
        page.wait_for_timeout(500)
        assert page.evaluate("() => location.hash").startswith("#map=8/19.0000/73.0000&layers=")
        assert session.errors == []


def test_png_and_print_show_the_map_with_its_title_and_legend(
    browser: Any, alone: tuple[Path, gpd.GeoDataFrame]
) -> None:
    import io

    import numpy as np
    from PIL import Image

    path, _ = alone
    with _cut_off(browser, path, 1366, 768) as session:
        page = session.page
        url = page.evaluate(f"() => corridormap.capturePng({MAP_JS})")
        data = base64.b64decode(url.split(",", 1)[1])
        (ARTIFACTS / "planner-view-export.png").write_bytes(data)
        image = Image.open(io.BytesIO(data)).convert("L")
        assert image.size == (1366, 768)
        # the legend panel (opened for the image) sits top right: a light box with dark text
        legend = np.asarray(image.crop((1366 - 280, 40, 1366 - 20, 300)))
        assert legend.mean() > 200 and legend.min() < 90
        title = np.asarray(image.crop((500, 12, 860, 34)))  # the title block, centred at the top
        assert title.min() < 90
        assert "collapsed" in (page.locator(".cm-panel").get_attribute("class") or "")  # restored after
        page.emulate_media(media="print")
        assert page.locator(".cm-panel-body").is_visible() and page.locator(".cm-title").is_visible()
        assert not page.locator(".leaflet-control-zoom").is_visible()
        assert not page.locator(".cm-panel-bases").is_visible()
        page.screenshot(path=str(ARTIFACTS / "planner-print-preview.png"))
        for size in ("A4", "A3"):
            pdf = page.pdf(format=size, landscape=True, print_background=True)
            assert pdf.startswith(b"%PDF")
            (ARTIFACTS / f"planner-print-{size}.pdf").write_bytes(pdf)
        assert session.errors == []


def test_strip_diagram_opens_inside_the_map(browser: Any, alone: tuple[Path, gpd.GeoDataFrame]) -> None:
    path, nodes = alone
    alone_here = ~nodes.geometry.duplicated(keep=False)  # a position no other node shares: no chooser
    flagged = nodes[nodes["flagged"] & alone_here].geometry.iloc[0]
    with _cut_off(browser, path, 1366, 768) as session:
        page = session.page
        page.locator(".cm-strip-open", has_text="Western DFC").click()
        dialog = page.locator(".cm-dialog")
        assert dialog.locator("svg.cm-strip-svg text").count() > 20
        assert "New Rewari" in dialog.inner_text()
        page.screenshot(path=str(ARTIFACTS / "planner-strip-diagram.png"))
        page.keyboard.press("Escape")
        assert page.locator(".cm-dialog").count() == 0
        # what a planner reads (panel, data sources, title, a flagged node's popup) names no file or rule id
        open_panel(page)
        page.locator(".cm-sources button").click()
        x, y = _node_pixel(page, flagged.y, flagged.x)  # a gap-flagged node
        page.mouse.click(x, y)
        page.wait_for_timeout(300)
        # every section of the popup opened (Details, Access, more sources), as a planner may
        page.evaluate(
            "() => document.querySelectorAll('.leaflet-popup details').forEach(d => (d.open = true))"
        )
        text = page.evaluate("() => document.body.innerText")
        assert "Gaps (" in text and "Confidence" in text
        gaps_toml = Path(__file__).resolve().parents[1] / "layers" / "rules" / "gaps.toml"
        rules = tomllib.loads(gaps_toml.read_text("utf-8"))
        for word in (".toml", ".geojson", "layers/", "rules/", *(r["id"] for r in rules["rule"])):
            assert word not in text, word
        assert session.errors == []
