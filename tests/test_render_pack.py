"""Packed pages: corridormap's own blocks deflated, data never packed, the page given back exactly."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from mappage import silent_flip
from shapely.geometry import Point

import corridormap
from corridormap.catalog.load import LayerSpec
from corridormap.errors import DataSourceNotFoundError, FileFormatError
from corridormap.render import pack
from corridormap.render.assets import (
    asset_bytes,
    asset_table,
    external_references,
    inline_assets,
    tile_references,
)
from corridormap.render.big_geometry import text7
from corridormap.render.pack import PACK_MIN_CHARS, pack_page, packed_blocks, unpack_page

HOSTILE = "<script>/* https://evil.example */\n" + "{{ 7*7 }} </script><b>x</b> & " * 100


def _spec() -> LayerSpec:
    return LayerSpec(
        name="pts",
        title="Sites",
        group="Test",
        geometry=("Point",),
        draw_order=80,
        path=Path("<pts>"),
        popup=("name",),
        tooltip=("name",),
        search=True,
        style={"kind": "point", "color": "#333", "radius": 4},
    )


@pytest.fixture(scope="module")
def plain_and_packed() -> tuple[str, str]:
    gdf = gpd.GeoDataFrame(
        {"id": ["a", "b"], "name": [HOSTILE, "Dholera"]},
        geometry=[Point(72.1, 22.3), Point(72.2, 22.4)],
        crs="EPSG:4326",
    )
    m = corridormap.build_map({"pts": gdf}, {"pts": _spec()})
    linked = m.get_root().render_linked()  # type: ignore[attr-defined]  # (rendered once)
    return inline_assets(linked, tiles=True, pack=False), inline_assets(linked, tiles=True)


def test_packed_page_unpacks_to_the_plain_page_exactly(plain_and_packed: tuple[str, str]) -> None:
    plain, packed = plain_and_packed
    assert unpack_page(packed) == plain
    assert pack_page(packed) == packed  # packing twice changes nothing
    # Leaflet, plugins, corridormap's scripts and styles and the basemap: about 0.3 MB less
    assert len(plain.encode()) - len(packed.encode()) > 250_000


def test_only_corridormap_blocks_are_packed(plain_and_packed: tuple[str, str]) -> None:
    plain, packed = plain_and_packed
    labels = packed_blocks(packed)
    own = {f"corridormap {p.name}" for p in (Path(pack.__file__).parent / "js").glob("*.js")}
    own |= {f"corridormap {p.name}" for p in (Path(pack.__file__).parent / "css").glob("*.css")}
    for label in labels:
        assert (
            label in asset_table()
            or label in own
            or label == "Leaflet default icons"
            or re.fullmatch(r"cm_basemap_[0-9a-f]+", label)
        ), label
    # the feature's name (data) stays plain text in the file, escaped exactly as without packing
    escaped = "\\u003cscript\\u003e/* https://evil.example */"
    assert plain.count(escaped) >= 1 and packed.count(escaped) == plain.count(escaped)
    assert packed.count("evil.example") == plain.count("evil.example")
    assert "<script>/* https://evil" not in packed and "evil.example" not in " ".join(labels)
    # the map's own script (layers, popups) is never packed
    assert packed.count("L.map(") == plain.count("L.map(") == 1


def test_small_blocks_stay_plain() -> None:
    small = "<script>/* corridormap tiny.js */\nvar a = 1;\n</script>"
    assert pack_page(small) == small
    big = "<html><head><script>/* corridormap x.js */\n" + "var a = 1;\n" * PACK_MIN_CHARS + "</script>"
    packed = pack_page(big)
    assert packed.index("corridormap pack bootstrap") < packed.index("text/x-corridormap-packed")
    assert packed.endswith("\n<script>corridormapPack.end()</script>")  # a file cut short is told apart
    assert unpack_page(packed) == big


@pytest.mark.parametrize("n", [0, 1, 6, 7, 8, 13, 14, 1000, 7 * 1024 + 3])
def test_seven_bit_text_reads_back(n: int) -> None:
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    assert pack._text7_bytes(text7(data)) == data


def test_a_damaged_block_is_an_error_not_a_wrong_page() -> None:
    big = "<script>/* corridormap x.js */\n" + "var a = 1;\n" * PACK_MIN_CHARS + "</script>"
    packed = pack_page(big)
    cut = re.sub(r'(data-bytes=")(\d+)', lambda m: m.group(1) + str(int(m.group(2)) + 1), packed)
    with pytest.raises(ValueError, match="declares"):
        unpack_page(cut)
    truncated = re.sub(r'(data-label="[^"]*">)([^<]{40})[^<]*', r"\1\2", packed)
    with pytest.raises(FileFormatError, match="'corridormap x.js' of the page does not unpack"):
        unpack_page(truncated)


def test_missing_inflater_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(pack, "vendor_dir", lambda: tmp_path)
    pack.bootstrap.cache_clear()
    try:
        with pytest.raises(DataSourceNotFoundError, match="tiny-inflate.*reinstall corridormap"):
            pack_page("<script>/* corridormap x.js */\n" + "x" * PACK_MIN_CHARS + "</script>")
    finally:
        pack.bootstrap.cache_clear()


def _own_script_page(line: str) -> str:
    """A page with one block of corridormap's own large enough to pack, starting with ``line``."""
    body = f"{line}\n" + "var a = 1;\n" * PACK_MIN_CHARS
    return f"<html><head><script>/* corridormap x.js */\n{body}</script></head></html>"


def test_external_references_reads_inside_packed_blocks() -> None:
    packed = pack_page(_own_script_page('fetch("https://evil.example/a.json");'))
    assert "evil.example" not in packed  # the address is inside the packed block
    assert external_references(packed) == {"https://evil.example/a.json"}


def test_tile_references_read_inside_packed_blocks_as_external_references_do() -> None:
    page = _own_script_page('L.tileLayer("https://t.example/{z}/{x}/{y}.png");')
    packed = pack_page(page)
    assert tile_references(packed) == tile_references(page) == {"https://t.example/{z}/{x}/{y}.png"}
    assert external_references(packed) == tile_references(packed)


@pytest.mark.parametrize(
    "label",
    [
        "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js",
        "corridormap corridormap.css",
        "cm_basemap_",
    ],
)
def test_a_block_changed_inside_is_caught_by_its_checksum(
    plain_and_packed: tuple[str, str], label: str
) -> None:
    """One flipped bit that still inflates to the declared length (so the length check passes): the
    block's CRC-32 names it, and the page is never returned with that block's text changed."""
    _, packed = plain_and_packed
    label = next(x for x in packed_blocks(packed) if x.startswith(label))
    damaged = silent_flip(packed, label)
    assert len(damaged) == len(packed) and damaged != packed
    with pytest.raises(FileFormatError, match=re.escape(f"packed block {label!r}") + ".*CRC-32.*file again"):
        unpack_page(damaged)
    with pytest.raises(FileFormatError, match="CRC-32"):
        external_references(damaged)


def test_every_packed_block_carries_the_crc32_of_its_plain_text(plain_and_packed: tuple[str, str]) -> None:
    _, packed = plain_and_packed
    crcs = re.findall(r' data-bytes="\d+" data-crc32="([0-9a-f]{8})" ', packed)
    assert len(crcs) == len(packed_blocks(packed)) > 10
    leaflet = asset_bytes("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js").decode("utf-8")
    body = f"/* https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js */\n{leaflet}\n".encode()
    assert f"{zlib.crc32(body):08x}" in crcs


@pytest.mark.parametrize("damage", ["bytes", "cut", "attributes"])
def test_a_packed_block_that_does_not_unpack_is_named(damage: str) -> None:
    packed = pack_page(_own_script_page("var b = 2;"))
    if damage == "bytes":  # a block whose text is not what its header says
        bad = re.sub(r'(data-bytes=")(\d+)', lambda m: m.group(1) + str(int(m.group(2)) - 1), packed)
    elif damage == "cut":  # the file ends inside a packed block (an e-mail cut short)
        bad = packed[: packed.index('data-kind="js"') + 200]
    else:  # a block in a form unpack_page does not read, which the browser would still run
        bad = packed.replace('data-kind="js" ', 'data-kind="js"  ')
    with pytest.raises(FileFormatError, match="corridormap x.js|packed block"):
        unpack_page(bad)
    with pytest.raises(FileFormatError, match="rebuild the map|file again"):
        external_references(bad)
