"""The offline inliner: CDN references become inline content from installed files, or fail naming the URL."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import folium
import pytest

from corridormap.errors import DataSourceNotFoundError
from corridormap.render import assets
from corridormap.render.assets import (
    asset_bytes,
    asset_files,
    asset_table,
    cdn_check,
    external_references,
    inline_assets,
    inline_css,
    register_asset,
    size_report,
)
from corridormap.render.pack import packed_blocks, unpack_page

LEAFLET_JS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"
LEAFLET_CSS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"


@pytest.fixture(autouse=True)
def clean_registry():
    saved = dict(assets._REGISTRY)
    yield
    assets._REGISTRY.clear()
    assets._REGISTRY.update(saved)


@pytest.mark.parametrize("url", sorted(asset_table()))
def test_every_listed_asset_is_installed(url: str) -> None:
    files = asset_files(url)
    assert files
    if all(f is None for f in files):  # documented empty stand-ins
        assert asset_bytes(url) == b""
    else:
        assert len(asset_bytes(url)) > 100


def test_folium_map_assets_are_all_listed() -> None:
    html = folium.Map(tiles=None).get_root().render()
    refs = external_references(html)
    assert refs and refs <= set(asset_table())


def test_inlined_map_has_no_external_reference_and_keeps_content() -> None:
    html = folium.Map(tiles=None).get_root().render()
    packed = inline_assets(html)
    assert external_references(packed) == set()
    assert "<script src=" not in packed and 'rel="stylesheet"' not in packed
    assert LEAFLET_JS in packed_blocks(packed) and LEAFLET_CSS in packed_blocks(packed)
    out = inline_assets(html, pack=False)
    assert unpack_page(packed) == out
    leaflet = asset_files(LEAFLET_JS)[0]
    assert leaflet is not None
    # the Leaflet source itself is in the page, once, ahead of the map's own script
    first_line = leaflet.read_text(encoding="utf-8").strip().splitlines()[0][:60]
    assert out.count(first_line) == 1 and first_line not in packed
    assert out.index(first_line) < out.index("L.map(")
    assert "L.Icon.Default.imagePath = ''" in out


def test_online_mode_keeps_cdn_urls() -> None:
    html = folium.Map(tiles=None).get_root().render()
    out = inline_assets(html, offline=False)
    assert out.replace(cdn_check() + "\n", "") == html  # the page as it was, and its CDN check
    assert external_references(out) == external_references(html)


def test_a_cdn_linked_page_runs_its_cdn_check_first() -> None:
    """The script that shows a notice when the CDNs are out of reach (js/cdn_check.js) comes before the
    page's first script or stylesheet from the network, once, plain (never packed), in CDN-linked
    pages only; its notice is corridormap's fixed text, set as text."""
    html = folium.Map(tiles=None).get_root().render()
    out = inline_assets(html, offline=False)
    check = out.index("<script>/* corridormap cdn check */")
    assert out.count("corridormap cdn check") == 1 and inline_assets(out, offline=False) == out
    first_load = min(out.index("<script src="), out.index('<link rel="stylesheet"'))
    assert check < first_load and "<script" not in out[check + 8 : out.index("</script>", check)]
    assert "cm-cdn-unreachable" in cdn_check() and "without --cdn" in cdn_check()
    assert "innerHTML" not in cdn_check() and "textContent" in cdn_check()
    # the default and the offline page load nothing from the network: no check
    assert "corridormap cdn check" not in inline_assets(html)
    assert "corridormap cdn check" not in inline_assets(html, tiles=True)
    # a page with no script or stylesheet from the network gets none either
    local = Path(assets.__file__).with_name("assets.toml")
    only_local = f'<head><script src="{local.as_uri()}"></script></head>'
    assert "corridormap cdn check" not in inline_assets(only_local, offline=False)


def test_the_cdn_check_stays_plain_in_a_packed_cdn_map() -> None:
    m = folium.Map(tiles=None)
    m.get_root().header.add_child(
        folium.Element("<script>/* corridormap big.js */\n" + "var a = 1;\n" * 1000 + "</script>")
    )
    out = inline_assets(m.get_root().render(), offline=False)
    assert packed_blocks(out) == ["corridormap big.js"]  # packed: the page's own script, not the check
    assert out.index("corridormap cdn check") < out.index(LEAFLET_JS)
    assert cdn_check() in unpack_page(out)


def test_unknown_url_fails_naming_it() -> None:
    html = '<script src="https://cdn.example.invalid/lib/thing.js"></script>'
    with pytest.raises(DataSourceNotFoundError, match=r"cdn\.example\.invalid/lib/thing\.js"):
        inline_assets(html)


def test_missing_vendored_file_fails_naming_url_and_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(assets, "vendor_dir", lambda: tmp_path)
    url = "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist/leaflet-search.min.js"
    expected = r"leaflet-search@2\.9\.7.*reinstall corridormap"
    with pytest.raises(DataSourceNotFoundError, match=expected) as info:
        inline_assets(f'<script src="{url}"></script>')
    assert isinstance(info.value, FileNotFoundError)


def test_tile_layers_cannot_go_offline() -> None:
    html = folium.Map().get_root().render()  # OpenStreetMap tiles
    with pytest.raises(DataSourceNotFoundError, match="tile.openstreetmap.org"):
        inline_assets(html)


def test_registered_bare_name_is_inlined_online_and_offline(tmp_path: Path) -> None:
    js = tmp_path / "big.js"
    js.write_text("window.bigLayers = 1; // </script> inside a string", encoding="utf-8")
    register_asset("corridormap/big.js", js)
    html = '<head><script src="corridormap/big.js"></script></head>'
    for offline in (False, True):
        out = inline_assets(html, offline=offline)
        assert "window.bigLayers = 1;" in out
        assert "<\\/script> inside" in out  # cannot close the inline script early
        assert 'src="corridormap/big.js"' not in out


def test_registered_cdn_url_is_inlined_offline_only(tmp_path: Path) -> None:
    css = tmp_path / "x.css"
    css.write_text(".x { color: red }", encoding="utf-8")
    url = "https://cdn.example.invalid/x.css"
    register_asset(url, css)
    html = f'<link rel="stylesheet" href="{url}"/>'
    assert inline_assets(html, offline=False) == f"{cdn_check()}\n{html}"
    assert "<style>" in inline_assets(html) and ".x { color: red }" in inline_assets(html)


def test_package_local_file_is_inlined_without_registration() -> None:
    local = Path(assets.__file__).with_name("assets.toml")  # any file inside the package
    out = inline_assets(f'<script src="{local.as_uri()}"></script>', offline=False)
    assert "[urls]" in out


def test_css_images_and_fonts_become_data_uris(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(b"\x89PNG-a")
    (tmp_path / "f.woff2").write_bytes(b"woff2-bytes")
    (tmp_path / "f.ttf").write_bytes(b"ttf-bytes")
    css = (
        '.a{background:url("img/a.png")} .b{background:url(data:image/png;base64,AAAA)}'
        '@font-face{font-family:x;src:url(f.woff2) format("woff2"),url(f.ttf) format("truetype")}'
    )
    out = inline_css(css, tmp_path / "style.css", "https://cdn.example.invalid/style.css")
    png = base64.b64encode(b"\x89PNG-a").decode()
    assert f'url("data:image/png;base64,{png}")' in out
    assert "url(data:image/png;base64,AAAA)" in out
    assert f"data:font/woff2;base64,{base64.b64encode(b'woff2-bytes').decode()}" in out
    assert "truetype" not in out and base64.b64encode(b"ttf-bytes").decode() not in out


def test_css_with_missing_image_fails_naming_it(tmp_path: Path) -> None:
    with pytest.raises(DataSourceNotFoundError, match=r"gone\.png"):
        inline_css(".a{background:url(gone.png)}", tmp_path / "s.css", "https://cdn.example.invalid/s.css")


def test_external_references_ignore_links_a_reader_clicks() -> None:
    html = (
        '<a href="https://example.org/source">source</a><script src="https://cdn.x/a.js"></script>'
        "<style>.a{background:url(https://cdn.x/b.png)}</style>"
        '<script>L.tileLayer("https://tiles.x/{z}/{x}/{y}.png").addTo(m);'
        'L.imageOverlay("https://img.x/r.png", b); L.imageOverlay("data:image/png;base64,AA", b);'
        'L.marker(p).bindPopup("<a href=\\"https://example.org\\">x</a>")</script>'
    )
    assert external_references(html) == {
        "https://cdn.x/a.js",
        "https://cdn.x/b.png",
        "https://tiles.x/{z}/{x}/{y}.png",
        "https://img.x/r.png",
    }


@pytest.mark.parametrize(
    ("size", "kind", "expected"),
    [
        (1_420_000, {"offline": True}, "1.42 MB (budget 3.00 MB for an offline map)"),
        (3_100_000, {"offline": True}, "3.10 MB (budget 3.00 MB for an offline map) OVER BUDGET"),
        (2_500_000, {}, "2.50 MB (budget 3.00 MB for a single-file map)"),
        (500_000, {"cdn": True}, "0.50 MB (budget 2.00 MB for a CDN-linked map)"),
    ],
)
def test_size_report(size: int, kind: dict[str, bool], expected: str) -> None:
    assert size_report(size, **kind) == expected


def test_inlining_keeps_tile_layers_only_when_asked() -> None:
    m = folium.Map(tiles="OpenStreetMap")
    page = assets.map_html(m)  # the default: everything inlined, tiles kept (used when online)
    assert (
        assets.external_references(page)
        == assets.tile_references(page)
        == {"https://tile.openstreetmap.org/{z}/{x}/{y}.png"}
    )
    with pytest.raises(DataSourceNotFoundError, match="tile"):
        assets.map_html(m, offline=True)
    linked = assets.map_html(m, cdn=True)
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in linked


def test_vendored_npm_packages_carry_their_licence() -> None:
    npm = assets.vendor_dir() / "npm"
    packages = [p for p in npm.iterdir() if p.is_dir()]
    assert len(packages) >= 7
    for package in packages:
        has_file = any(re.match(r"(?i)licen[cs]e", f.name) for f in package.iterdir())
        meta = json.loads((package / "package.json").read_text(encoding="utf-8"))
        stated = meta.get("license") or meta.get("licenses")
        assert has_file or stated, package.name
