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
