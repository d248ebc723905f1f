"""Popups and tooltips as HTML built in Python, every attribute value escaped.

A popup is compact (layout in ``popup.toml``): the feature's name, layer, type, status badge and gap
badges, a row of key figures, the first source (the others behind a toggle), then collapsible
sections (the access card, details). Values are formatted with the catalog's format and unit, the
unit shown once (``1,250 ha``); sources that are web addresses become links. Nothing from a data
file reaches the page unescaped, so a name such as ``<script>`` shows as text.
"""

from __future__ import annotations

import functools
import html
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from ..catalog.load import ColumnSpec

__all__ = [
    "format_value",
    "popup_html",
    "popup_table_html",
    "popup_layout",
    "label_of",
    "tooltip_text",
    "source_links",
]

_LAYOUT = Path(__file__).with_name("popup.toml")

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


@functools.lru_cache(maxsize=1)
def popup_layout() -> dict[str, Any]:
    """The popup layout of ``popup.toml`` beside this module (header, key figures, sections)."""
    return tomllib.loads(_LAYOUT.read_text(encoding="utf-8"))


def label_of(name: str, col: ColumnSpec | None) -> str:
    """A field's label without its unit (the value carries the unit, shown once)."""
    text = (col.label if col is not None and col.label else None) or name.replace("_", " ").capitalize()
    return html.escape(text)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())


def _rows(row: Mapping[str, Any], fields: Sequence[str], columns: Mapping[str, ColumnSpec]) -> str:
    out = []
    for name in fields:
        value = row.get(name)
        if _is_null(value) or value == "":
            continue
        out.append(
            f"<tr><th>{label_of(name, columns.get(name))}</th>"
            f"<td>{format_value(value, columns.get(name))}</td></tr>"
        )
    return "".join(out)


def _sources(text: str) -> str:
    links = source_links(text).split("<br>") if text else []
    if not links:
        return ""
    first = f'<div class="cm-pop-src">Source: {links[0]}</div>'
    if len(links) == 1:
        return first
    rest = "<br>".join(links[1:])
    return (
        f'{first}<details class="cm-more"><summary>{len(links) - 1} more source'
        f"{'s' if len(links) > 2 else ''}</summary>{rest}</details>"
    )


def _gaps(gaps: Sequence[Mapping[str, str]]) -> tuple[str, str]:
    """(badge, section) for the gap flags of one feature: description, severity, reason and data
    note, escaped."""
    if not gaps:
        return "", ""
    n = len(gaps)
    badge = f'<span class="cm-badge cm-badge-gap">{n} gap{"s" if n > 1 else ""}</span>'

    def item(g: Mapping[str, str]) -> str:
        level = html.escape(g.get("severity") or "")
        severity = f' <span class="cm-gap-severity">({level})</span>' if level else ""
        note = f"<br><i>Data note: {html.escape(g['data_note'])}</i>" if g.get("data_note") else ""
        return (
            f"<li><b>{html.escape(str(g.get('description', '')))}</b>{severity}<br>"
            f"{html.escape(str(g.get('reason', '')))}{note}</li>"
        )

    items = "".join(item(g) for g in gaps)
    section = (
        f'<details class="cm-sec cm-sec-gaps" open><summary>Gaps ({n})</summary><ul>{items}</ul></details>'
    )
    return badge, section


def popup_html(
    row: Mapping[str, Any],
    fields: Sequence[str],
    columns: Mapping[str, ColumnSpec],
    title: str,
    *,
    gaps: Sequence[Mapping[str, str]] = (),
) -> str:
    """A compact popup: header (name, layer, type, status and gap badges), key figures, the first
    source with the others behind a toggle, then collapsible sections (``popup.toml``).

    Every value is escaped; units are shown once, with the value.
    """
    layout = popup_layout()
    present = [f for f in fields if not (_is_null(row.get(f)) or row.get(f) == "")]
    used = {layout["name"], layout["status"], layout["source"]}
    name = row.get(layout["name"])
    kind = next((f for f in layout["type"] if f in present), None)
    meta = []
    if kind:
        used.add(kind)
        meta.append(f'<span class="cm-pop-type">{format_value(row[kind], columns.get(kind))}</span>')
    status = row.get(layout["status"])
    if layout["status"] in present:
        text = html.escape(str(status))
        meta.append(f'<span class="cm-badge cm-status-{_slug(str(status))}">{text}</span>')
    gap_badge, gap_section = _gaps(gaps)
    if gap_badge:
        meta.append(gap_badge)
    key = [f for f in layout["key"] if f in present][: int(layout.get("key_max", 4))]
    used.update(key)
    figures = "".join(
        f"<div><dt>{label_of(f, columns.get(f))}</dt><dd>{format_value(row[f], columns.get(f))}</dd></div>"
        for f in key
    )
    parts = [
        '<div class="cm-pop">',
        f'<div class="cm-pop-layer">{html.escape(title, quote=False)}</div>',
        (
            f'<div class="cm-pop-name">{html.escape(str(name), quote=False)}</div>'
            if layout["name"] in present
            else ""
        ),
        f'<div class="cm-pop-meta">{" ".join(meta)}</div>' if meta else "",
        f'<dl class="cm-pop-key">{figures}</dl>' if figures else "",
        gap_section,
        _sources(str(row[layout["source"]])) if layout["source"] in present else "",
    ]
    sections = layout.get("section", [])
    for section in sections:
        wanted = section["fields"] or [
            f for f in present if f not in used and not any(f in s["fields"] for s in sections)
        ]
        wanted = [f for f in wanted if f in present and f not in used]
        used.update(wanted)
        body = _rows(row, wanted, columns)
        if body:
            flag = " open" if section.get("open") else ""
            parts.append(
                f'<details class="cm-sec"{flag}><summary>{html.escape(section["title"])}</summary>'
                f"<table>{body}</table></details>"
            )
    parts.append("</div>")
    return "".join(parts)


def popup_table_html(
    row: Mapping[str, Any], fields: Sequence[str], columns: Mapping[str, ColumnSpec], title: str
) -> str:
    """A plain two-column table of the fields that have a value, the layer title as caption: the
    popup of a large layer (``js/big_layer.js`` assembles the same HTML from its columnar table)."""
    rows = []
    for name in fields:
        value = row.get(name)
        if _is_null(value) or value == "":
            continue
        col = columns.get(name)
        shown = source_links(str(value)) if name == "source" else format_value(value, col)
        rows.append(f"<tr><th>{label_of(name, col)}</th><td>{shown}</td></tr>")
    return f'<table class="cm-popup"><caption>{html.escape(title)}</caption>{"".join(rows)}</table>'


def tooltip_text(row: Mapping[str, Any], fields: Sequence[str]) -> str:
    """Escaped tooltip text: the fields' values joined by " · "."""
    values = [str(row.get(f)) for f in fields if not _is_null(row.get(f))]
    return html.escape(" · ".join(values))
