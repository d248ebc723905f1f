"""Packing of a page's own blocks: the inlined scripts, styles and basemap, deflated.

An offline map carries Leaflet, its plugins, corridormap's own JavaScript and CSS and the vector
basemap inline: about 0.55 MB of text, the same in every map, that deflates to about a third.
:func:`pack_page` replaces each such block with a ``<script type="text/x-corridormap-packed">``
holding its raw-deflated bytes as 7-bit text (:func:`.big_geometry.text7`, 1.17 bytes a byte) and,
as attributes, the plain text's length in bytes and its CRC-32, followed by
``<script>corridormapPack.unpack()</script>``; the page's head first gets ``js/pack.js``, the
tiny-inflate decoder it calls (an npm package vendored like the others, see ``assets.toml``) and
``js/notice.js`` (its notices). ``unpack()`` inflates synchronously and puts the original element
back where it was, so scripts still run in page order and nothing waits on the network or on a
promise. The page
ends with ``<script>corridormapPack.end()</script>``: a file cut short (never reaching it) or with a
block that does not unpack shows the reader a notice saying so, not a blank page. The length catches a
block cut short; the CRC-32 a block changed inside (one flipped bit can inflate to other text of the
same length), checked before the block is used: such a block is damaged, never run.

Only blocks corridormap writes are packed, recognised by their exact opening: the inlined assets
(``<script>/* URL */``, ``<style>/* URL */``: :mod:`.assets`), corridormap's own files
(``<script>/* corridormap NAME */``: :func:`.page.add_files`), Leaflet's icon fix, and the
basemap's JSON block; not the CDN-linked page's check (``/* corridormap cdn check */``,
:func:`.assets.cdn_check`), which runs first and stays plain. The map script and every block
holding layer data stay as written: what a reader or a reviewer looks for in the file (names,
popups, escaping) is still plain text.
:func:`unpack_page` gives back the page exactly as it was before packing (for reading the file,
and for the tests); a packed block it cannot read (damaged: its checksum does not match; cut short,
or in a form it does not write) is an error naming the block, never a page returned with that block
still packed or changed.
"""

from __future__ import annotations

import functools
import html
import re
import zlib

import numpy as np

from ..errors import DataSourceNotFoundError, FileFormatError
from .big_geometry import text7
from .page import js_text, vendor_dir

__all__ = ["PACK_MIN_CHARS", "pack_page", "unpack_page", "packed_blocks", "bootstrap"]

PACK_MIN_CHARS = 2_000
"""Blocks shorter than this stay as they are (packing would save less than the runner costs)."""

_PACKED_TYPE = "text/x-corridormap-packed"
_RUNNER = "<script>corridormapPack.unpack()</script>"
_END = "\n<script>corridormapPack.end()</script>"  # the page's last script: the file was read to its end
_BOOT_MARK = "<script>/* corridormap pack bootstrap */"
_INFLATE = "tiny-inflate@1.0.3/index.js"  # vendored from npm (assets.toml)

# the blocks corridormap writes, by their exact opening; group 1 = the text inside
_BLOCKS = re.compile(
    r"<script>(/\* (?:https?://|corridormap (?!pack bootstrap|cdn check))[^*<>]*\*/\n.*?)</script>"
    r"|<style>(/\* (?:https?://|corridormap )[^*<>]*\*/\n.*?)</style>"
    r"|<script>(L\.Icon\.Default\.imagePath = '';.*?)</script>"
    r'|<script type="application/json" id="(cm_basemap_[0-9a-f]+)">(.*?)</script>',
    re.S,
)
_PACKED = re.compile(
    r'<script type="text/x-corridormap-packed" data-kind="(?P<kind>js|css|json)"'
    r'(?: data-id="(?P<id>[^"]*)")? data-bytes="(?P<bytes>\d+)" data-crc32="(?P<crc>[0-9a-f]{8})"'
    r' data-label="(?P<label>[^"]*)">'
    r"(?P<text>[^<]*)</script>" + re.escape(_RUNNER),
)
_DAMAGED_FIX = (
    "the file is damaged or cut short (or was not written by corridormap): ask the sender for the file "
    "again, or rebuild the map (corridormap build)"
)


@functools.lru_cache(maxsize=1)
def bootstrap() -> str:
    """The head script that unpacks: tiny-inflate (as ``corridormapPack.inflateRaw``), ``js/notice.js``
    and ``js/pack.js``."""
    path = vendor_dir() / "npm" / _INFLATE
    if not path.is_file():
        raise DataSourceNotFoundError(
            f"the page's unpacker {path} is missing; reinstall corridormap (pip install . vendors npm "
            "assets into corridormap/_vendor and needs npm or the npm registry)"
        )
    inflate = path.read_text(encoding="utf-8")
    text = (
        "(function (root) {\n  var module = {exports: {}};\n"
        f"{inflate}\n"
        "  (root.corridormapPack = root.corridormapPack || {}).inflateRaw = module.exports;\n"
        "})(window);\n" + js_text("notice.js") + js_text("pack.js")
    ).replace("</script", "<\\/script")
    return f"{_BOOT_MARK}\n{text}\n</script>"


# The check of a block's plain bytes. CRC-32 rather than the cheaper Adler-32: it catches every
# burst of up to 32 flipped bits and spreads short texts well (Adler-32 is weak on the first few
# hundred bytes), and computed four bytes a step (js/pack.js) it costs what Adler-32 does. Measured
# in Chromium over the default map's 20 blocks (548 KB plain; benchmarks/bench_unpack.py, on a
# 2-core machine under a load of 6-9): a first, cold pass (as a page runs it) fastest 1.8-2.1 ms
# four bytes a step, 2.4-3.4 ms a byte a step, 2.0-2.2 ms for Adler-32; warm 0.6, 1.3 and 0.4-0.5
# ms. Within a page load the check took 17-19 ms median (fastest about 6: cold code competing with
# the page's own compiling), reading the blocks 55-70 ms median against 40-54 without it.
def _crc32(data: bytes) -> str:
    return f"{zlib.crc32(data):08x}"


@functools.lru_cache(maxsize=64)
def _packed(kind: str, body: str, element_id: str, label: str) -> str:
    data = body.encode("utf-8")
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    z = deflater.compress(data) + deflater.flush()
    id_attr = f' data-id="{element_id}"' if kind == "json" else ""
    return (
        f'<script type="{_PACKED_TYPE}" data-kind="{kind}"{id_attr} data-bytes="{len(data)}" '
        f'data-crc32="{_crc32(data)}" data-label="{html.escape(label, quote=True)}">{text7(z)}</script>'
        f"{_RUNNER}"
    )


def pack_page(page: str, *, min_chars: int = PACK_MIN_CHARS) -> str:
    """``page`` with corridormap's own blocks packed (see the module docstring); the same page if none."""
    packed = False

    def sub(match: re.Match[str]) -> str:
        nonlocal packed
        js, css, icons, element_id, json_text = match.groups()
        body = js or css or icons or json_text or ""
        if len(body) < min_chars:
            return match.group(0)
        packed = True
        if icons is not None:
            return _packed("js", body, "", "Leaflet default icons")
        if element_id is not None:
            return _packed("json", body, element_id, element_id)
        return _packed("js" if js is not None else "css", body, "", body[3 : body.index("*/")].strip())

    out = _BLOCKS.sub(sub, page)
    if not packed:
        return page
    if _BOOT_MARK not in out:
        at = out.index(f'<script type="{_PACKED_TYPE}"')
        out = out[:at] + bootstrap() + "\n" + out[at:] + _END
    return out


def _text7_bytes(text: str) -> bytes:
    """The bytes of a 7-bit text (:func:`.big_geometry.text7`'s inverse): ``floor(7 * chars / 8)``."""
    values = (np.frombuffer(text.encode("utf-16-le"), dtype="<u2") & 127).astype(np.uint8)
    bits = np.unpackbits(values[:, None], axis=1)[:, 1:].reshape(-1)  # 7 bits each, first bit first
    return np.packbits(bits[: len(bits) // 8 * 8]).tobytes()


def _unpack_text(text: str, size: int, crc: str, label: str) -> str:
    try:
        data = zlib.decompress(_text7_bytes(text), -15)
        if len(data) != size:
            raise ValueError(f"it holds {len(data)} bytes, not the {size} it declares")
        if _crc32(data) != crc:
            raise ValueError(f"its CRC-32 is {_crc32(data)}, not the {crc} it declares: it was changed")
        return data.decode("utf-8")
    except (zlib.error, ValueError) as err:  # UnicodeDecodeError is a ValueError
        raise FileFormatError(
            f"packed block {label!r} of the page does not unpack ({err}): {_DAMAGED_FIX}"
        ) from err


def unpack_page(page: str) -> str:
    """The page as it was before :func:`pack_page` (every packed block back in place, no bootstrap).

    Raises
    ------
    FileFormatError
        A packed block does not unpack or does not match its checksum, or is not in the form
        :func:`pack_page` writes (the browser would still run it), or the page ends inside one.
    """

    def sub(match: re.Match[str]) -> str:
        label = html.unescape(match.group("label"))
        body = _unpack_text(match.group("text"), int(match.group("bytes")), match.group("crc"), label)
        kind = match.group("kind")
        if kind == "css":
            return f"<style>{body}</style>"
        if kind == "json":
            return f'<script type="application/json" id="{match.group("id")}">{body}</script>'
        return f"<script>{body}</script>"

    out = _PACKED.sub(sub, page)
    start = out.find(_BOOT_MARK)
    if start >= 0:
        end = out.index("</script>", start) + len("</script>\n")
        out = out[:start] + out[end:]
        last = out.rfind(_END)
        if last >= 0:
            out = out[:last] + out[last + len(_END) :]
    # what is left of a packed block (data cannot write "<script": it is escaped in the page)
    left = [at for at in (out.find(f'<script type="{_PACKED_TYPE}"'), out.find(_RUNNER)) if at >= 0]
    if left:
        raise FileFormatError(
            f"a packed block of the page (at character {min(left)} of the unpacked text) is cut short or "
            f"not in the form corridormap writes: {_DAMAGED_FIX}"
        )
    return out


def packed_blocks(page: str) -> list[str]:
    """The labels of the page's packed blocks (an asset's URL, a file name, a block's id), in order."""
    return [html.unescape(m.group("label")) for m in _PACKED.finditer(page)]
