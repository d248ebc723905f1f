"""The planner's map in a real browser: Debian's Chromium driven by Playwright, every request recorded.

The maps are built once per session from the shipped layers plus one node with a hostile name; the
offline map must make no request outside ``file://`` and ``data:``; the online map's CDN requests are
answered from the same locally installed assets (tiles with a blank image). Screenshots go to
``test-artifacts/``. These tests never skip: without Chromium they fail, saying how to install it.
"""

from __future__ import annotations

import base64
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

import corridormap
from corridormap.render.assets import asset_bytes, asset_table, external_references, map_html
from corridormap.render.controls import CLUSTER_MIN_FEATURES

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
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


def _build(layers: dict[str, gpd.GeoDataFrame], out: Path, *, offline: bool) -> Built:
    m = corridormap.build_map(layers, offline=offline)
    specs = corridormap.load_catalog()
    titles = {specs[n].title: n for n in layers}
    groups = {titles[c.layer_name]: c.get_name() for c in m._children.values()
              if isinstance(c, folium.FeatureGroup) and c.layer_name in titles}
    out.write_text(map_html(m, offline=offline), encoding="utf-8")
    return Built(out, m.get_name(), groups, {n: len(g) for n, g in layers.items()})


@pytest.fixture(scope="session")
def maps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    tmp = tmp_path_factory.mktemp("maps")
    layers = _layers()
    return {"offline": _build(layers, tmp / "offline.html", offline=True),
            "online": _build(layers, tmp / "online.html", offline=False)}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium "
                    "(apt-get install chromium; .ci/run does)")
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


def _open(browser: Any, built: Built, *, online: bool = False) -> Session:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    session = Session(page)
    page.on("request", lambda r: session.requests.append(r.url))
    page.on("console", lambda m: session.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: session.errors.append(str(e)))
    # a tile request the map abandons when the view changes is not an error; any other failure is
    page.on("requestfailed", lambda r: None if any(h in r.url for h in TILE_HOSTS)
            else session.errors.append(f"request failed: {r.url[:200]}"))

    def on_dialog(dialog: Any) -> None:
        session.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    if online:
        page.route("http://**/*", _serve_locally(session))
        page.route("https://**/*", _serve_locally(session))
    page.goto(built.path.as_uri())
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


def _drawn(session: Session, built: Built) -> dict[str, int]:
    return session.page.evaluate(DRAWN_JS, [built.map_var, list(built.groups)])


def test_offline_map_draws_every_layer_with_no_network_and_no_error(browser: Any,
                                                                    maps: dict[str, Built]) -> None:
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
        assert dense and clustered > 0  # the shipped stations are dense enough to cluster
        for name, n in built.counts.items():
            assert drawn[name] == n or (name in dense and drawn[name] < n), name
        session.page.screenshot(path=str(ARTIFACTS / "map-offline.png"))
        outside = [u for u in session.requests if not u.startswith(("file://", "data:"))]
        assert outside == []
        assert session.errors == []
    finally:
        session.page.close()


def test_offline_map_is_one_self_contained_file(maps: dict[str, Built]) -> None:
    html = maps["offline"].path.read_text(encoding="utf-8")
    assert external_references(html) == set()
    assert "<script src=" not in html and 'rel="stylesheet"' not in html


CONTROLS = (".cm-title", ".leaflet-control-zoom", ".fullscreen-icon", ".leaflet-control-measure",
            ".leaflet-control-search", ".leaflet-control-minimap", ".leaflet-control-scale",
            ".cm-mouse-position",
            ".cm-sources", ".cm-legend", ".leaflet-control-layers-group")


def open_layer_control(page: Any) -> None:
    """The grouped layer control starts collapsed to its icon; hovering opens it, as for a user."""
    grouped = page.locator(".leaflet-control-layers-group")
    control = page.locator(".leaflet-control-layers").filter(has=grouped)
    control.hover()
    page.wait_for_selector(".leaflet-control-layers-expanded .leaflet-control-layers-group")


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
    open_layer_control(page)
    heat = page.locator(".leaflet-control-layers-group label", has_text="(heat map)").first
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
        page.wait_for_selector(".cm-legend")
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "map-default-offline.png"))
        assert [u for u in requests if not u.startswith(("file://", "data:"))] == []
        assert errors == []
        assert page.locator(".leaflet-cm-industrial_nodes-pane path").count() > 0
    finally:
        page.close()


def test_layer_control_hides_and_shows_a_layer_and_draw_order_holds(offline_page: Session,
                                                                     maps: dict[str, Built]) -> None:
    built, page = maps["offline"], offline_page.page
    specs = corridormap.load_catalog()
    open_layer_control(page)
    label = page.locator(".leaflet-control-layers-group label", has_text=specs["freight_rail"].title)
    rail = page.locator(".leaflet-cm-freight_rail-pane path")
    before = rail.count()
    assert before == built.counts["freight_rail"]
    label.locator("input").uncheck()
    assert rail.count() == 0
    label.locator("input").check()
    assert rail.count() == before
    z = page.evaluate("""([mapVar, names]) => names.map(
        (n) => parseInt(getComputedStyle(window[mapVar].getPane("cm-" + n)).zIndex, 10))""",
                      [built.map_var, list(built.groups)])
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


def test_search_for_dholera_zooms_to_it_and_opens_its_popup(offline_page: Session,
                                                            maps: dict[str, Built]) -> None:
    built, page = maps["offline"], offline_page.page
    nodes = corridormap.read_layer("industrial_nodes")
    dholera = nodes[nodes["name"].str.startswith("Dholera")].geometry.iloc[0]
    _search(page, "Dholera", "Dholera Special")
    page.wait_for_timeout(800)
    zoom, in_view, lat, lon = page.evaluate(f"""([y, x]) => {{ const m = window.{built.map_var};
        const c = m.getCenter(); return [m.getZoom(), m.getBounds().contains([y, x]), c.lat, c.lng]; }}""",
                                            [dholera.y, dholera.x])
    assert zoom == 11 and in_view
    # centred on it, give or take the pan that makes room for its (tall) popup
    assert abs(lat - dholera.y) < 0.3 and abs(lon - dholera.x) < 0.3
    popup = page.locator(".leaflet-popup-content").inner_text()
    assert "Dholera Special Investment Region" in popup
    for label in ("Type", "Status", "Area (ha)", "Source", "Geometry quality"):
        assert label in popup, label
    assert " ha" in popup
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


def test_online_map_with_cdn_answered_locally_draws_the_same_layers(browser: Any,
                                                                    maps: dict[str, Built]) -> None:
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
    finally:
        session.page.close()
