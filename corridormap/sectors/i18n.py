"""Labels and number formats of briefs and comparisons, in English (``en``) and Japanese (``ja``).

Labels come from ``layers/i18n/labels.toml`` (each Japanese term of art cites where its usage was
checked). Numbers are formatted for the reader: English with thousands separators and ISO dates;
Japanese with 万 grouping for people (557.1万人), rupee amounts in 億ルピー (1 crore = 0.1 億),
areas in ヘクタール and dates as 2023年12月1日.

>>> t = Translator("ja")
>>> t.number(5570891.0, "people"), t.number(92000.0, "ha"), t.number(1000.0, "inr_crore")
('557.1万人', '92,000ヘクタール', '100億ルピー')
>>> Translator("en").number(88.04, "km")
'88.0 km'
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from pathlib import Path
from typing import Any

from .. import settings
from ..errors import CatalogError, DataSourceNotFoundError

__all__ = ["LANGS", "Translator", "labels", "labels_path"]

LANGS = ("en", "ja")


def labels_path() -> Path:
    """``<settings.layers_dir>/i18n/labels.toml``."""
    return Path(settings.layers_dir) / "i18n" / "labels.toml"


@functools.cache
def _load(path: Path, mtime_ns: int) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def labels() -> dict[str, Any]:
    """The labels file: ``terms``, ``ui`` and ``readings`` tables."""
    path = labels_path()
    if not path.is_file():
        raise DataSourceNotFoundError(
            f"{path}: the labels file is missing. Fix: restore it from the repository"
        )
    return _load(path, path.stat().st_mtime_ns)


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


class Translator:
    """Labels and number formats for one language."""

    def __init__(self, lang: str) -> None:
        if lang not in LANGS:
            raise CatalogError(f"unknown language {lang!r}. Fix: use one of {', '.join(LANGS)}")
        self.lang = lang
        data = labels()
        self._table = {**data.get("terms", {}), **data.get("ui", {})}
        self._readings = data.get("readings", {})

    def label(self, key: str, **params: Any) -> str:
        """The label of ``key`` with its placeholders filled (numbers as ``10``, not ``10.0``)."""
        entry = self._table.get(key)
        if entry is None or self.lang not in entry:
            raise CatalogError(f"{labels_path()}: no {self.lang!r} label for {key!r}. Fix: add it")
        shown = {k: (f"{v:g}" if isinstance(v, float) else v) for k, v in params.items()}
        return str(entry[self.lang]).format(**shown)

    def reading(self, node_id: str) -> str:
        """The katakana reading of a node's name where one is recorded (Japanese only), else ''."""
        entry = self._readings.get(node_id, {})
        return str(entry.get(self.lang, "")) if self.lang == "ja" else ""

    def number(self, value: float | None, kind: str) -> str:
        """A value formatted for this language (``not available`` for ``None``)."""
        if value is None:
            return self.label("not_available")
        return self._ja(value, kind) if self.lang == "ja" else self._en(value, kind)

    @staticmethod
    def _en(v: float, kind: str) -> str:
        formats = {
            "km": f"{v:,.1f} km",
            "mw": f"{v:,.0f} MW",
            "ha": f"{v:,.0f} ha",
            "inr_crore": f"INR {v:,.0f} crore",
            "count": f"{v:,.0f}",
            "people": f"{v:,.0f}",
            "score": f"{v:.1f}",
            "kwh": f"{v:,.0f} kWh/m²/yr",
        }
        return formats.get(kind, f"{v:,.2f}")

    @staticmethod
    def _ja(v: float, kind: str) -> str:
        if kind == "people":
            return f"{_trim(f'{v / 1e4:,.1f}')}万人" if v >= 1e4 else f"{v:,.0f}人"
        if kind == "inr_crore":  # 1 crore = 10,000,000 rupees = 0.1 億
            return f"{_trim(f'{v / 10:,.1f}')}億ルピー"
        formats = {
            "km": f"{v:,.1f} km",
            "mw": f"{v:,.0f} MW",
            "ha": f"{v:,.0f}ヘクタール",
            "count": f"{v:,.0f}",
            "score": f"{v:.1f}",
            "kwh": f"{v:,.0f} kWh/m²/年",
        }
        return formats.get(kind, f"{v:,.2f}")

    def date(self, text: Any) -> str:
        """An ISO date as ``2023-12-01`` (en) or ``2023年12月1日`` (ja); other text unchanged."""
        try:
            day = dt.date.fromisoformat(str(text)[:10])
        except ValueError:
            return str(text) if text else self.label("not_available")
        return day.isoformat() if self.lang == "en" else f"{day.year}年{day.month}月{day.day}日"

    def more_than(self, shown: str) -> str:
        """``more than 518 km`` (en) / ``518 km超`` (ja)."""
        return (
            f"{self.label('more_than')} {shown}" if self.lang == "en" else f"{shown}{self.label('more_than')}"
        )
