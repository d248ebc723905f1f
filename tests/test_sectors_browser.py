"""Briefs, comparisons and the map's "Sector fit" view in Debian's Chromium (Playwright).

One browser for the module. A brief in each language must render with no missing glyph: every
character on the page is drawn on a canvas with the page's own font stack and compared with the
drawing of an unassigned code point (what Chromium shows for a glyph no font has, "tofu"); the
same character must also be in the font the page embeds. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import corridormap
from corridormap.render.assets import map_html
from corridormap.sectors.brief import write_briefs
from corridormap.sectors.compare import write_compare
from corridormap.sectors.facts import node_facts
from corridormap.sectors.fonts import missing_glyphs
from corridormap.sectors.mapview import add_to_map

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
HOSTILE = "<img src=x onerror=alert(1)> MBIR"

# Characters of the page drawn next to U+0378 (unassigned: no font has it, so Chromium draws tofu).
TOFU_JS = """() => {
  const style = getComputedStyle(document.body);
  const font = "32px " + style.fontFamily;
  const text = document.body.innerText;
  const chars = [...new Set(Array.from(text))].filter(c => c.trim() !== "");
  const canvas = document.createElement("canvas");
  canvas.width = 48; canvas.height = 48;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  function draw(c) {
    ctx.clearRect(0, 0, 48, 48); ctx.font = font; ctx.fillStyle = "#000"; ctx.fillText(c, 4, 36);
    return Array.from(ctx.getImageData(0, 0, 48, 48).data).join(",");
  }
  const tofu = draw("\\u0378");
  return {count: chars.length, tofu: chars.filter(c => draw(c) === tofu), fonts: document.fonts.size,
          loaded: Array.from(document.fonts).map(f => f.family + ":" + f.status)};
}"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("briefs")
    layers = dict(corridormap.load_layers())
    nodes = layers["industrial_nodes"].copy()
    nodes.loc[nodes["id"] == "mbir", "name"] = HOSTILE
    layers["industrial_nodes"] = nodes
    found: dict[str, Any] = {}
    for lang in ("en", "ja"):
        paths = write_briefs(["mbir", "dholera_sir"], out, lang=lang, layers=layers)
        found[f"brief_{lang}"] = paths[0]
        found[f"compare_{lang}"] = write_compare(
            ["mbir", "jit_neemrana", "dholera_sir"], out, lang=lang, layers=layers
        )[1]
    # The node with the most sources (the longest brief) must still print whole.
    ids = [i for name in ("industrial_nodes", "nicdc_national_nodes") for i in layers[name]["id"]]
    counts = {i: len(f.sources) for i, f in node_facts(ids, layers=layers).items()}
    longest = [i for i, n in counts.items() if n == max(counts.values())]  # every node tied for most
    for lang in ("en", "ja"):
        found[f"longest_{lang}"] = write_briefs(longest, out / "longest", lang=lang, layers=layers)
    m = corridormap.build_map(layers, offline=True)
    add_to_map(m, layers)
    found["map"] = out / "map.html"
    found["map"].write_text(map_html(m, offline=True), encoding="utf-8")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium through Playwright's sync API, in its own thread (other modules may hold another)."""
    from playwright.sync_api import sync_playwright

    holder: dict[str, Any] = {}
    ready, done = threading.Event(), threading.Event()
    jobs: list[Any] = []

    def run() -> None:
        with sync_playwright() as p:
            holder["browser"] = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            ready.set()
            while not done.is_set() or jobs:
                if jobs:
                    fn, box, event = jobs.pop(0)
                    try:
                        box["value"] = fn(holder["browser"])
                    except Exception as exc:  # noqa: BLE001 - handed to the test thread
                        box["error"] = exc
                    event.set()
                else:
                    done.wait(0.02)
            holder["browser"].close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(60):
        pytest.fail(f"Chromium did not start ({CHROMIUM}); install it: apt-get install chromium")

    def call(fn: Any) -> Any:
        box: dict[str, Any] = {}
        event = threading.Event()
        jobs.append((fn, box, event))
        event.wait(120)
        if "error" in box:
            raise box["error"]
        return box["value"]

    yield call
    done.set()
    thread.join(30)


def _open(b: Any, path: Path, shot: str) -> tuple[Any, Any, list[str]]:
    context = b.new_context(viewport={"width": 1366, "height": 768}, offline=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (errors.append("dialog " + d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.evaluate("() => document.fonts.ready")
    page.wait_for_timeout(200)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
    return context, page, errors


@pytest.mark.parametrize("name", ["brief_en", "brief_ja", "compare_ja"])
def test_page_renders_with_no_missing_glyph(browser: Any, pages: dict[str, Path], name: str) -> None:
    def check(b: Any) -> dict[str, Any]:
        context, page, errors = _open(b, pages[name], f"sectors_{name}.png")
        result = page.evaluate(TOFU_JS)
        result["errors"] = errors
        result["text"] = page.evaluate("() => document.body.innerText")
        result["img"] = page.evaluate("() => Array.from(document.images).map(i => i.naturalWidth)")
        context.close()
        return dict(result)

    result = browser(check)
    assert result["errors"] == []
    assert result["count"] > 60 and result["tofu"] == [], result["tofu"]
    assert any(f.startswith("CorridormapBrief:loaded") for f in result["loaded"]), result["loaded"]
    assert missing_glyphs(result["text"]) == []
    if name.startswith("brief"):
        assert result["img"] and all(w > 300 for w in result["img"])  # the map inset drew
        assert HOSTILE in result["text"]  # shown as text, not run
    if name.endswith("ja"):
        assert "デリー" in result["text"] or "拠点比較" in result["text"]


def test_brief_prints_one_a4_page_per_node(browser: Any, pages: dict[str, Path], tmp_path: Path) -> None:
    import pypdf

    def pdf(b: Any) -> bytes:
        context, page, _ = _open(b, pages["brief_ja"], "sectors_brief_ja_print.png")
        data = page.pdf(format="A4", print_background=True)
        context.close()
        return bytes(data)

    out = tmp_path / "print.pdf"
    out.write_bytes(browser(pdf))
    assert len(pypdf.PdfReader(out).pages) == 1


# A4 less the @page margins of brief.css (9 mm top, 8 mm bottom, 11 mm each side), in CSS px.
A4_CONTENT_PX = {"width": round(188 * 96 / 25.4), "height": round(280 * 96 / 25.4)}


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_longest_brief_prints_whole_on_one_page(
    browser: Any, pages: dict[str, Path], tmp_path: Path, lang: str
) -> None:
    """Nothing is clipped on paper: the footer (the last line) lies inside the printable page."""
    import pypdf

    def run(b: Any, path: Path) -> dict[str, Any]:
        context = b.new_context(viewport=A4_CONTENT_PX, offline=True)
        page = context.new_page()
        page.goto(path.as_uri())
        page.evaluate("() => document.fonts.ready")
        page.emulate_media(media="print")
        info = page.evaluate(
            """() => {
              const brief = document.querySelector('.brief');
              const items = Array.from(document.querySelectorAll('.sources li, .foot'));
              return {scroll: brief.scrollHeight, client: brief.clientHeight,
                      bottom: Math.max(...items.map(e => e.getBoundingClientRect().bottom)),
                      sources: document.querySelectorAll('.sources li').length,
                      foot: document.querySelector('.foot').innerText};
            }"""
        )
        info["pdf"] = bytes(page.pdf(format="A4", print_background=True))
        page.screenshot(path=str(ARTIFACTS / f"sectors_{path.stem}_print.png"), full_page=True)
        context.close()
        return dict(info)

    for path in pages[f"longest_{lang}"]:
        info = browser(lambda b, path=path: run(b, path))
        assert info["sources"] >= 10
        assert info["scroll"] <= info["client"] + 1  # nothing hidden inside the brief (1 px: rounding)
        assert info["bottom"] <= A4_CONTENT_PX["height"], (path.name, info["bottom"])  # all of it fits
        out = tmp_path / f"{path.stem}.pdf"
        out.write_bytes(info["pdf"])
        reader = pypdf.PdfReader(out)
        assert len(reader.pages) == 1, path.name
        assert "1 / 1" in reader.pages[0].extract_text()  # the page number says the brief is whole


def test_map_sector_fit_view_sizes_nodes_and_explains_in_the_popup(
    browser: Any, pages: dict[str, Path]
) -> None:
    def run(b: Any) -> dict[str, Any]:
        context, page, errors = _open(b, pages["map"], "sectors_map_start.png")
        page.select_option(".cm-sector-fit select", "semiconductors")
        page.wait_for_timeout(300)
        info = page.evaluate(
            """() => {
              const key = Object.keys(window).find(k => k.startsWith('sector_fit_view'));
              const view = window[key];
              const markers = view.layer.getLayers();
              const radii = markers.map(m => m.getRadius());
              const mbir = markers.find(m => m.cmNode === 'mbir');
              mbir.openPopup();
              const popup = document.querySelector('.cm-sf-popup');
              return {n: markers.length, nodes: view.data.nodes.length, radii: radii,
                      popup: popup ? popup.innerText : '',
                      imgs: popup ? popup.querySelectorAll('img').length : -1};
            }"""
        )
        page.screenshot(path=str(ARTIFACTS / "sectors_map_view.png"))
        page.select_option(".cm-sector-fit select", "")
        info["after_off"] = page.evaluate(
            "() => window[Object.keys(window).find(k => k.startsWith('sector_fit_view'))]"
            ".layer.getLayers().length"
        )
        info["errors"] = errors
        context.close()
        return dict(info)

    info = browser(run)
    assert info["errors"] == []
    assert info["n"] == info["nodes"] > 40 and max(info["radii"]) > min(info["radii"])
    assert HOSTILE in info["popup"] and info["imgs"] == 0  # a hostile name stays text
    assert "/ 100" in info["popup"] and "rank" in info["popup"]
    assert info["after_off"] == 0
