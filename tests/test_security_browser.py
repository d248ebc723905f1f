"""Hostile text in a real browser (hypothesis): nothing runs, no dialog opens, the text shows literally.

Each example batches template and HTML metacharacters (``{{ }}``, ``{% %}``, ``{#``, ``</script>``,
``<img onerror>``, backticks, ``${}``, ``javascript:``) into the feature names, layer titles, group
names, units, column labels and sources of ONE map (a normal layer and a large layer), builds it
offline, opens it in Chromium (a few times in all, not per string) and reads what the page shows:
the layer controls, the legend, the title block, the data-sources panel, every popup and tooltip,
and the search tips.
"""

from __future__ import annotations

import contextlib
import string
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from bench_render import CHROMIUM, CHROMIUM_ARGS
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from shapely.geometry import Point
from test_render_big_browser import InThread

from corridormap.catalog.load import ColumnSpec, LayerSpec
from corridormap.render import build_map
from corridormap.render.assets import map_html

pytestmark = pytest.mark.browser

FRAGMENTS = [
    "{{ 7*7 }}",
    "{% if %}",
    "{%- endraw %}",
    "{#",
    "#}",
    "{{",
    "}}",
    "{{ cycler.__init__.__globals__.os.mkdir(dict(cm_pwned_mkdir=1)|first) }}",
    "</script>",
    "<script>window.__pwned=1</script>",
    "<img src=x onerror=window.__pwned=1>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(2)>",
    '"><b onmouseover=alert(3)>',
    "`",
    "${window.__pwned=1}",
    "`${alert(4)}`",
    "javascript:alert(5)",
    "javascript:window.__pwned=1",
    "'",
    '"',
    "\\",
    "&amp;",
    "&lt;i&gt;",
    "<!--",
    "-->",
    "]]>",
    "\u2028",
    "Ahmedābād",
]
hostile = (
    st.lists(
        st.one_of(st.sampled_from(FRAGMENTS), st.text(string.ascii_letters + " -_.", min_size=1, max_size=4)),
        min_size=1,
        max_size=4,
    )
    .map(lambda parts: "".join(parts).strip())
    .filter(bool)
)
N = 6  # features per layer


def _spec(name: str, title: str, group: str, *, unit: str, label: str, source: str, order: int) -> LayerSpec:
    return LayerSpec(
        name=name,
        title=title,
        group=group,
        geometry=("Point",),
        draw_order=order,
        path=Path(f"<{name}>"),
        columns={"size": ColumnSpec("size", "float", label=label, unit=unit, format=",.1f")},
        popup=("name", "size", "source"),
        tooltip=("name",),
        search=True,
        provenance={"source": source, "licence": "test"},
        style={"kind": "point", "color": "#444"},
    )


def _frame(names: list[str], sources: list[str], lon: float) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [f"i{k}" for k in range(len(names))],
            "name": names,
            "size": [1.5 + k for k in range(len(names))],
            "source": sources,
        },
        geometry=[Point(lon + 0.3 * k, 23.0 + 0.2 * k) for k in range(len(names))],
        crs=4326,
    )


@pytest.fixture(scope="module")
def tab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One Chromium tab in a worker thread (another module may hold sync Playwright in this one)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="security-browser")

    def start() -> tuple[Any, Any]:
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        return pw, pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)

    pw, browser = pool.submit(start).result()
    try:
        yield InThread(browser, pool)
    finally:
        pool.submit(browser.close).result()
        pool.submit(pw.stop).result()
        pool.shutdown()


READ_JS = """async ([mapVar, groups, n]) => {
  const map = window[mapVar], text = (sel) => [...document.querySelectorAll(sel)].map(e => e.textContent);
  const out = {controls: text(".leaflet-control-layers").join("\\n"), legend: text(".cm-legend").join(""),
               title: text(".cm-title h1").join(""), sources: text(".cm-sources").join(""),
               popups: [], tooltips: [], big: []};
  const leaves = [];
  const walk = (l) => { if (l.feature) { leaves.push(l); } else if (l.eachLayer) { l.eachLayer(walk); } };
  walk(window[groups.normal]);
  for (const leaf of leaves) {
    leaf.openPopup();
    out.popups.push(leaf.getPopup().getElement().querySelector(".leaflet-popup-content").textContent);
    map.closePopup();
    leaf.openTooltip();
    out.tooltips.push(leaf.getTooltip().getElement().textContent);
    leaf.closeTooltip();
  }
  await corridormapBig.whenReady();
  const big = corridormapBig.layers["hx_big"];
  for (let i = 0; i < n; i++) {
    big.openPopup(i, big.anchor(i));
    out.big.push(map._popup.getElement().querySelector(".leaflet-popup-content").textContent);
    map.closePopup();
  }
  out.pwned = window.__pwned === undefined ? null : String(window.__pwned);
  out.injected = document.querySelectorAll("img[src='x'], svg[onload], b[onmouseover]").length;
  return out;
}"""


def _search_tips(page: Any, text: str) -> list[str]:
    box = page.locator(".leaflet-control-search input.search-input")
    if not box.is_visible():  # (the button toggles the box)
        page.locator(".leaflet-control-search .search-button").click()
    box.fill("")
    box.press_sequentially(text, delay=10)
    with contextlib.suppress(PlaywrightTimeout):  # (the control searches 400 ms after the last key)
        page.wait_for_function(
            "(t) => [...document.querySelectorAll('.search-tip')].some(e => e.textContent.startsWith(t))",
            arg=text,
            timeout=3000,
        )  # (no tip: the assertion says which name was not found)
    tips: list[str] = page.evaluate(
        "() => [...document.querySelectorAll('.search-tip')].map(t => t.textContent)"
    )
    box.fill("")
    return tips


# no shrinking: each example opens the browser, and a failing batch is readable as it is
@settings(
    max_examples=4,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(words=st.lists(hostile, min_size=10, max_size=10))
@example(words=[" ".join(FRAGMENTS[k::10]).strip() for k in range(10)])
def test_hostile_text_shows_literally_and_runs_nothing(
    words: list[str], tab: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    names = [f"Q{k}q {words[k % len(words)]}" for k in range(N)]
    big_names = [f"B{k}b {words[(k + 3) % len(words)]}" for k in range(N)]
    sources = [words[(k + 5) % len(words)] for k in range(N)]
    specs = {
        name: _spec(
            name,
            f"{prefix} {words[k]}",
            f"{prefix}G {words[k + 1]}",
            unit=words[k + 2],
            label=words[k + 3],
            source=f"{prefix}S {words[k + 4]}",
            order=80 + k,
        )
        for k, (name, prefix) in zip((0, 5), (("hx_points", "P"), ("hx_big", "L")), strict=True)
    }
    layers = {"hx_points": _frame(names, sources, 74.0), "hx_big": _frame(big_names, sources, 76.0)}
    m = build_map(layers, specs, title=words[0], fit_to=None, offline=True, big={"hx_big": True})
    groups = {
        "normal": next(
            c.get_name() for c in m._children.values() if getattr(c, "layer_name", "").startswith("P ")
        )
    }
    path = tmp_path_factory.mktemp("hostile") / "hostile.html"
    path.write_text(map_html(m, offline=True), encoding="utf-8")
    assert not Path("cm_pwned_mkdir").exists()

    page = tab.new_page(viewport={"width": 1366, "height": 768})
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_function(f"() => window.{m.get_name()} && window.{m.get_name()}._loaded")
        seen = page.evaluate(READ_JS, [m.get_name(), groups, N])
        tips = {n: _search_tips(page, n.split(" ", 1)[0]) for n in (names[1], big_names[2])}
        page.mouse.move(400, 300)
        page.wait_for_timeout(200)
        seen_after = page.evaluate(
            "() => [window.__pwned === undefined, document.querySelectorAll(\"img[src='x']\").length]"
        )
    finally:
        page.close()

    assert dialogs == [] and errors == [], (dialogs, errors)
    assert seen["pwned"] is None and seen["injected"] == 0 and seen_after == [True, 0]
    for spec in specs.values():
        assert spec.title in seen["controls"] and spec.group in seen["controls"], spec.title
        assert spec.title in seen["legend"]
        assert str(spec.provenance["source"]) in seen["sources"]
    assert seen["title"] == words[0]
    assert len(seen["popups"]) == N and len(seen["big"]) == N
    for name, source, popup, tooltip in zip(names, sources, seen["popups"], seen["tooltips"], strict=True):
        assert name in popup and source in popup and tooltip == name
        assert specs["hx_points"].columns["size"].unit in popup and specs["hx_points"].title in popup
    for name, source, popup in zip(big_names, sources, seen["big"], strict=True):
        assert name in popup and source in popup and specs["hx_big"].columns["size"].unit in popup
    for name, shown in tips.items():
        assert name in shown, (name, shown)
