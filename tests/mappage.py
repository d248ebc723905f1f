"""Read a built map page the way its JavaScript does: the JSON data block of each component."""

from __future__ import annotations

import json
import re
from typing import Any

_BLOCK = re.compile(
    r'<script type="application/json" id="cm_(?P<fn>[a-z]+)_[0-9a-f]+">(?P<data>.*?)</script>', re.S
)


def page_data(html: str, function: str) -> list[Any]:
    """The data of every component of ``function`` (``"panel"``, ``"title"``, ``"search"``...) in the page."""
    return [json.loads(m.group("data")) for m in _BLOCK.finditer(html) if m.group("fn") == function]


def one(html: str, function: str) -> Any:
    """The data of the page's one component of ``function``."""
    found = page_data(html, function)
    assert len(found) == 1, f"{len(found)} {function} components in the page"
    return found[0]


def silent_flip(page: str, label: str) -> str:
    """``page`` with one bit of one character of its packed block ``label`` flipped, chosen so the
    block still inflates to valid UTF-8 of the length it declares, but to other text: damage that a
    length check cannot see (only the block's checksum can). The last such character of the block."""
    import html
    import zlib

    from corridormap.render import pack
    from corridormap.render.big_geometry import TEXT7_ESCAPED

    match = next(m for m in pack._PACKED.finditer(page) if html.unescape(m.group("label")) == label)
    text, size = match.group("text"), int(match.group("bytes"))
    plain = zlib.decompress(pack._text7_bytes(text), -15)
    for i in range(len(text) - 1, -1, -1):
        for bit in (1, 2, 4, 8, 16, 32, 64):
            value = (ord(text[i]) & 127) ^ bit
            changed = text[:i] + chr(value + 0x80 if value in TEXT7_ESCAPED else value) + text[i + 1 :]
            try:
                data = zlib.decompress(pack._text7_bytes(changed), -15)
                data.decode("utf-8")
            except (zlib.error, ValueError):
                continue
            if len(data) == size and data != plain:
                start = match.start("text")
                return page[:start] + changed + page[match.end("text") :]
    raise AssertionError(f"no character of packed block {label!r} flips silently")
