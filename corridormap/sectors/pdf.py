"""Briefs as PDF with fpdf2 (pure Python), one A4 page per node, the Noto Sans CJK JP font embedded.

The page is laid out from the same model as the HTML brief (:func:`~.brief.brief_model`). Text
the font cannot draw is replaced by "?" and logged (never dropped silently); if the sources do not
fit the page their font shrinks, and any that still do not fit are counted on the page and left to
the HTML brief.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from .fonts import font_path, missing_glyphs

__all__ = ["briefs_pdf"]

log = logging.getLogger(__name__)

_PAGE_W, _PAGE_H, _M = 210.0, 297.0, 10.0
_COL = (_PAGE_W - 2 * _M - 4.0) / 2
_ACCENT, _INK, _MUTED, _BAR = (11, 82, 91), (29, 35, 39), (91, 103, 112), (20, 163, 184)
_FONT = "brief"


def _safe(text: str) -> str:
    missing = missing_glyphs(text)
    if missing:
        log.warning(
            "PDF font has no glyph for %s: shown as '?' (the HTML brief shows them)", "".join(missing)
        )
        for ch in missing:
            text = text.replace(ch, "?")
    return text


class _Page:
    """A little layout helper over one fpdf2 page: cells that wrap and report their height."""

    def __init__(self, pdf: Any, lang: str) -> None:
        self.pdf = pdf

    @staticmethod
    def _wrap(text: str) -> str:
        """Japanese text breaks between any characters; Latin text between words."""
        return "CHAR" if any(ord(ch) >= 0x3000 for ch in text) else "WORD"

    def lines(self, text: str, width: float, size: float) -> int:
        self.pdf.set_font(_FONT, size=size)
        out = self.pdf.multi_cell(
            width, size * 0.42, _safe(text), dry_run=True, output="LINES", wrapmode=self._wrap(text)
        )
        return max(1, len(out))

    def text(
        self,
        x: float,
        y: float,
        width: float,
        text: str,
        size: float,
        color: tuple[int, int, int],
        *,
        align: str = "L",
    ) -> float:
        """Draw wrapped text at (x, y); return the y below it."""
        self.pdf.set_font(_FONT, size=size)
        self.pdf.set_text_color(*color)
        self.pdf.set_xy(x, y)
        line_h = size * 0.42
        self.pdf.multi_cell(width, line_h, _safe(text), align=align, wrapmode=self._wrap(text))
        return y + self.lines(text, width, size) * line_h

    def heading(self, x: float, y: float, width: float, text: str) -> float:
        y = self.text(x, y + 1.2, width, text, 8.2, _ACCENT)
        self.pdf.set_draw_color(201, 209, 214)
        self.pdf.set_line_width(0.2)
        self.pdf.line(x, y + 0.3, x + width, y + 0.3)
        return y + 1.0

    def rows(self, x: float, y: float, width: float, rows: Sequence[Mapping[str, str]]) -> float:
        label_w = width * 0.42
        for row in rows:
            top = y
            y1 = self.text(x, top, label_w - 1, row["label"], 7.2, _MUTED)
            y2 = self.text(x + label_w, top, width - label_w, row["value"], 7.4, _INK)
            if row.get("detail"):
                y2 = self.text(x + label_w, y2, width - label_w, row["detail"], 6.3, _MUTED)
            y = max(y1, y2) + 0.45
        return y


def _section_list(page: _Page, x: float, y: float, sections: Sequence[Mapping[str, Any]]) -> float:
    for section in sections:
        y = page.heading(x, y, _COL, section["title"])
        y = page.rows(x, y, _COL, section["rows"])
    return y


def _reach(page: _Page, x: float, y: float, reach: Mapping[str, Any]) -> float:
    y = page.heading(x, y, _COL, reach["title"])
    label_w = _COL * 0.46
    cell_w = (_COL - label_w) / max(1, len(reach["header"]))
    for i, head in enumerate(reach["header"]):
        page.text(x + label_w + i * cell_w, y, cell_w, head, 6.8, _MUTED, align="R")
    y += 3.2
    for row in reach["rows"]:
        page.text(x, y, label_w, row["label"], 7.0, _MUTED)
        for i, cell in enumerate(row["cells"]):
            page.text(x + label_w + i * cell_w, y, cell_w, cell, 7.0, _INK, align="R")
        y += 3.2
    return y


def _fit(page: _Page, y: float, fit: Mapping[str, Any]) -> float:
    width = _PAGE_W - 2 * _M
    y = page.heading(_M, y, width, fit["title"])
    widths = (40.0, 10.0, 20.0, 52.0)
    for row in fit["rows"]:
        x = _M
        y1 = page.text(x, y, widths[0] - 1, row["label"], 7.2, _INK)
        page.text(x + widths[0], y, widths[1] - 1, row["score"], 7.4, _INK, align="R")
        page.pdf.set_fill_color(*_BAR)
        bar = (widths[2] - 2) * float(row["width"]) / 100.0
        if bar > 0:
            page.pdf.rect(x + widths[0] + widths[1], y + 0.6, bar, 2.0, style="F")
        x3 = x + widths[0] + widths[1] + widths[2]
        y3 = page.text(x3, y, widths[3] - 1, row["rank"], 6.5, _MUTED)
        x4 = x3 + widths[3]
        y4 = page.text(x4, y, _PAGE_W - _M - x4, row["why"], 6.0, _MUTED)
        y = max(y1, y3, y4) + 0.5
    return y


def _sources(page: _Page, y: float, sources: Mapping[str, Any], footer: str) -> None:
    width = _PAGE_W - 2 * _M
    y = page.heading(_M, y, width, sources["title"])
    items = [f"{i}. {s['text']}" for i, s in enumerate(sources["rows"], 1)]
    room = _PAGE_H - _M - y
    for size in (6.0, 5.5, 5.0, 4.6):
        need = (
            sum(page.lines(t, width, size) for t in items) * size * 0.42
            + page.lines(footer, width, size) * size * 0.42
        )
        if need <= room:
            break
    shown = list(items)
    while shown and sum(page.lines(t, width, size) for t in shown) * size * 0.42 + 8 > room:
        shown.pop()
    if len(shown) < len(items):
        log.warning(
            "%d source line(s) did not fit the PDF page; they are in the HTML brief", len(items) - len(shown)
        )
        shown.append(f"… {len(items) - len(shown)} more in the HTML brief")
    for text in shown:
        y = page.text(_M, y, width, text, size, _MUTED)
    page.text(_M, y + 0.8, width, footer, size, _MUTED)


def _one(pdf: Any, model: Mapping[str, Any], lang: str, png: bytes) -> None:
    pdf.add_page()
    page = _Page(pdf, lang)
    y = page.text(_M, _M, _PAGE_W - 2 * _M, model["kicker"], 7.0, _ACCENT)
    y = page.text(_M, y + 0.5, _PAGE_W - 2 * _M, model["name"], 13.0, _INK)
    if model.get("reading"):
        y = page.text(_M, y, _PAGE_W - 2 * _M, model["reading"], 8.5, _MUTED)
    y = page.text(
        _M,
        y + 0.3,
        _PAGE_W - 2 * _M,
        f"{model['node_id']} · {model['coords']} · {model['status_line']}",
        7.0,
        _MUTED,
    )
    pdf.set_draw_color(*_ACCENT)
    pdf.set_line_width(0.6)
    pdf.line(_M, y + 1.0, _PAGE_W - _M, y + 1.0)
    top = y + 3.0
    pdf.image(io.BytesIO(png), x=_M, y=top, w=_COL)
    left = top + _COL * 70.0 / 85.0 + 1.0
    left = _section_list(page, _M, left, model["left"])
    right = _section_list(page, _M + _COL + 4.0, top - 1.2, model["right"])
    right = _reach(page, _M + _COL + 4.0, right, model["reach"])
    y = _fit(page, max(left, right) + 1.0, model["fit"])
    y = page.heading(_M, y, _PAGE_W - 2 * _M, model["gaps"]["title"])
    for gap in model["gaps"]["rows"] or [model["gaps"]["none"]]:
        y = page.text(_M, y, _PAGE_W - 2 * _M, f"• {gap}", 6.8, _INK) + 0.3
    _sources(page, y, model["sources"], model["footer"])


def briefs_pdf(models: Sequence[Mapping[str, Any]], lang: str, insets: Sequence[bytes]) -> bytes:
    """A PDF with one A4 page per brief model."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(_M, _M, _M)
    pdf.add_font(_FONT, fname=str(font_path()))
    pdf.set_title(", ".join(str(m["name"]) for m in models))
    pdf.set_creator("corridormap")
    pdf.set_lang(lang)
    for model, png in zip(models, insets, strict=True):
        _one(pdf, model, lang, png)
    return bytes(pdf.output())
