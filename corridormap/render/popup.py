"""Popup tables and tooltips as HTML built in Python, every attribute value escaped.

Values are formatted with the catalog's format and unit (``1,250 ha``); sources that are web
addresses become links. Nothing from a data file reaches the page unescaped, so a name such as
``<script>`` shows as text.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from ..catalog.load import ColumnSpec

__all__ = ["format_value", "popup_html", "tooltip_text", "source_links"]

_SOURCE_SEPARATOR = re.compile(r";(?=[ \t]|https?://)")  # ASCII blanks only: U+2028 is text


def _is_null(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def format_value(value: Any, col: ColumnSpec | None) -> str:
    """Format one value as escaped HTML text, with thousands separators and unit.

    >>> from corridormap.catalog.load import ColumnSpec
    >>> format_value(1250.0, ColumnSpec("area_ha", "float", unit="ha", format=",.0f"))
    '1,250 ha'
    >>> format_value("<b>x</b>", None)
    '&lt;b&gt;x&lt;/b&gt;'
    """
    if col is not None and col.format and not isinstance(value, str):
        try:
            text = format(value, col.format)
        except (TypeError, ValueError):
            text = str(value)
    elif isinstance(value, float) and value.is_integer():
        text = f"{value:,.0f}"
    else:
        text = str(value)
    if isinstance(value, bool) or (col is not None and col.type == "bool"):
        text = "yes" if value else "no"
    text = html.escape(text)
    if col is not None and col.unit:
        text += f" {html.escape(col.unit)}"
    return text


def source_links(text: str) -> str:
    """Turn ``"; "``-separated sources into escaped links (web addresses) or escaped text.

    A ``;`` separates sources only when a space or a web address follows it, so text such as
    ``&amp;`` or ``a;b`` shows as written.

    >>> source_links("Gazette 2021; https://example.org/a").split("<br>")[0]
    'Gazette 2021'
    >>> source_links("R&amp;D")
    'R&amp;amp;D'
    """
    parts = []
    for item in (p.strip() for p in _SOURCE_SEPARATOR.split(str(text))):
        if not item:
            continue
        url = urlparse(item)
        if url.scheme in ("http", "https") and url.netloc:
            parts.append(
                f'<a href="{html.escape(item, quote=True)}" target="_blank" rel="noopener noreferrer">'
                f"{html.escape(url.netloc)}</a>"
            )
        else:
            parts.append(html.escape(item))
    return "<br>".join(parts)


def popup_html(
    row: Mapping[str, Any], fields: Sequence[str], columns: Mapping[str, ColumnSpec], title: str
) -> str:
    """A two-column table of the fields that have a value; the layer title as caption."""
    rows = []
    for name in fields:
        value = row.get(name)
        if _is_null(value) or value == "":
            continue
        col = columns.get(name)
        label = html.escape(col.title if col else name.replace("_", " ").capitalize())
        shown = source_links(str(value)) if name == "source" else format_value(value, col)
        rows.append(f"<tr><th>{label}</th><td>{shown}</td></tr>")
    caption = html.escape(title)
    return f'<table class="cm-popup"><caption>{caption}</caption>{"".join(rows)}</table>'


def tooltip_text(row: Mapping[str, Any], fields: Sequence[str]) -> str:
    """Escaped tooltip text: the fields' values joined by " · "."""
    values = [str(row.get(f)) for f in fields if not _is_null(row.get(f))]
    return html.escape(" · ".join(values))
