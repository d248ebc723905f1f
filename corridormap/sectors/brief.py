"""Site briefs: one A4 page per node, as HTML (print stylesheet) and PDF, in English or Japanese.

:func:`brief` returns a :class:`Brief` for one node (``.html``, ``.inset_png``, ``.pdf()``; it
displays itself in a notebook); :func:`write_briefs` is what ``corridormap brief`` runs. The page
shows a map inset, the access card, the position along the corridor, what lies within reach, the
renewable capacity in reach, the site context, the sector fit, the gap flags, status and as-of, and
every source. Text from data (names, status details, reasons, sources) is escaped by the template
engine; node names keep their official spelling, with a katakana reading where one is recorded.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
from markupsafe import Markup

from .. import __version__
from ..errors import LayerValidationError
from .facts import RADII_KM, REACH_LAYERS, Fact, NodeFacts, no_city, node_facts
from .i18n import Translator

__all__ = ["Brief", "brief", "briefs", "brief_model", "render_html", "write_briefs"]

log = logging.getLogger(__name__)

_TEMPLATES = Path(__file__).with_name("templates")
_LEFT = ("identity",)
_RIGHT = ("access", "chainage", "renewables", "context")


def _value(t: Translator, fact: Fact) -> str:
    if fact.kind == "translated":
        return (
            t.label(str(fact.value))
            if fact.value and "None" not in str(fact.value)
            else t.label("not_available")
        )
    if fact.kind == "date":
        return t.date(fact.value)
    if fact.kind == "text":
        return str(fact.value) if fact.value not in (None, "") else t.label("not_available")
    if no_city(fact):
        return t.label("no_ne_city", r=float(fact.params["r"]))
    shown = t.number(fact.value, fact.kind)
    return t.more_than(shown) if fact.params.get("at_least") else shown


def _label(t: Translator, fact: Fact) -> str:
    return t.label(fact.key, **{k: v for k, v in fact.params.items() if k in ("r", "line")})


_WITHIN = re.compile(r"^(\d+) within (\d+(?:\.\d+)?) km$")


def _detail(t: Translator, fact: Fact) -> str:
    """The note beside a value, in the page's language where it is corridormap's own wording."""
    if fact.params.get("at_least") or no_city(fact):
        return ""  # the value already says "more than" / "no city"
    if fact.key == "chainage_on" and fact.params.get("side") in ("left", "right"):
        text = (
            f"{t.label('side.' + str(fact.params['side']))}, {t.number(fact.params.get('offset_km'), 'km')}"
        )
        return text + (f" ({t.label('beyond_end')})" if fact.params.get("beyond_end") else "")
    found = _WITHIN.match(fact.detail)
    if found:
        return t.label("within_count", n=int(found.group(1)), r=float(found.group(2)))
    return fact.detail


def _rows(t: Translator, facts: Sequence[Fact]) -> list[dict[str, str]]:
    rows = []
    for fact in facts:
        detail = _detail(t, fact)
        rows.append({"label": _label(t, fact), "value": _value(t, fact), "detail": detail})
    return rows


def _reach_table(t: Translator, facts: Sequence[Fact]) -> dict[str, Any]:
    header = [f"≤ {r:g} km" for r in RADII_KM]
    rows = []
    for name in [*REACH_LAYERS, "renewable_mw"]:
        cells = {f.params.get("r"): f for f in facts if f.key == f"reach.{name}"}
        if not cells:
            continue
        label = t.label(f"row.{name}")
        rows.append({"label": label, "cells": [_value(t, cells[r]) if r in cells else "" for r in RADII_KM]})
    return {"title": t.label("reach"), "header": header, "rows": rows}


def _why(t: Translator, fact: Fact) -> str:
    parts = fact.params.get("parts", ())
    shown = [f"{t.label('criterion.' + c)} {pts:.0f}" for c, pts in parts if pts >= 0.5][:3]
    missing = [t.label("criterion." + c) for c in fact.params.get("missing", ())]
    text = " · ".join(shown)
    if missing:
        text += f" ({t.label('not_assessed')}: {', '.join(missing)})"
    return text


def _fit_table(t: Translator, facts: Sequence[Fact]) -> dict[str, Any]:
    rows = []
    for f in sorted(facts, key=lambda f: -(f.value or -1)):
        rank = (
            t.label("rank", rank=f.params.get("rank"), of=f.params.get("of")) if f.params.get("rank") else ""
        )
        if f.params.get("range"):
            rank += " · " + t.label("rank_range", range=f.params["range"])
        rows.append(
            {
                "label": t.label(f.key),
                "score": t.number(f.value, "score"),
                "width": f"{max(0.0, min(100.0, f.value or 0.0)):.0f}",
                "rank": rank,
                "why": _why(t, f),
            }
        )
    return {"title": t.label("fit"), "rows": rows}


def brief_model(facts: NodeFacts, lang: str, inset_png: bytes) -> dict[str, Any]:
    """The page's content as plain strings in ``lang`` (the template only lays it out)."""
    t = Translator(lang)
    by_key = {s.key: s for s in facts.sections}
    status = by_key["identity"].facts
    status_fact = next(f for f in status if f.key == "status")
    as_of = next(f for f in status if f.key == "as_of")
    sources = [{"text": s, "href": s if s.startswith(("https://", "http://")) else ""} for s in facts.sources]
    return {
        "node_id": facts.node_id,
        "name": facts.name,
        "reading": t.reading(facts.node_id),
        "kicker": f"{t.label('title')} · {t.label('dmic')}",
        "coords": f"{facts.lat:.3f}°N {facts.lon:.3f}°E",
        "status_line": f"{t.label('status')}: {_value(t, status_fact)} "
        f"({t.label('as_of')} {_value(t, as_of)})",
        "map_alt": t.label("map"),
        "inset_uri": "data:image/png;base64," + base64.b64encode(inset_png).decode("ascii"),
        "left": [{"title": t.label(k), "rows": _rows(t, by_key[k].facts)} for k in _LEFT if k in by_key],
        "right": [
            {"title": t.label(k), "rows": _rows(t, by_key[k].facts)}
            for k in _RIGHT
            if k in by_key and by_key[k].facts
        ],
        "reach": _reach_table(t, by_key["reach"].facts if "reach" in by_key else ()),
        "fit": _fit_table(t, by_key["fit"].facts if "fit" in by_key else ()),
        "gaps": {
            "title": t.label("gaps"),
            "rows": [f"{rule}: {reason}" for rule, reason in facts.gap_flags],
            "none": t.label(
                "no_gaps"
                if facts.gaps_checked
                else "gaps_outside_belt"
                if "outside the DMIC corridor belt" in facts.gap_scope
                else "gaps_not_checked"
            ),
        },
        "sources": {"title": t.label("sources"), "rows": sources},
        "footer": t.label("generated", version=__version__, date=t.date(dt.date.today().isoformat()))
        + " "
        + t.label("name_note"),
    }


def _css(text: str) -> Markup:
    from .fonts import font_face_css

    css = (_TEMPLATES / "brief.css").read_text(encoding="utf-8")
    return Markup(f"{font_face_css(text)}\n{css}")  # noqa: S704 - package stylesheet + base64 font, no data text


def _all_text(models: Sequence[Mapping[str, Any]]) -> str:
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if not value.startswith("data:"):
                parts.append(value)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(list(models))
    return "".join(parts)


def render_html(models: Sequence[Mapping[str, Any]], lang: str) -> str:
    """The HTML page of one or more briefs (each one A4 page in print)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)), autoescape=True, undefined=jinja2.StrictUndefined
    )
    t = Translator(lang)
    title = f"{t.label('title')}: " + ", ".join(str(m["name"]) for m in models)
    text = _all_text(models) + title
    return env.get_template("brief.html.j2").render(
        briefs=models, lang=lang, page_title=title, css=_css(text)
    )


@dataclass
class Brief:
    """One node's brief: the HTML page, the map inset, and the model both are drawn from."""

    node_id: str
    lang: str
    html: str
    inset_png: bytes = field(repr=False)
    model: dict[str, Any] = field(repr=False)

    def pdf(self) -> bytes:
        """The brief as a one-page A4 PDF."""
        from .pdf import briefs_pdf

        return briefs_pdf([self.model], self.lang, [self.inset_png])

    def _repr_html_(self) -> str:
        return self.html


def briefs(
    node_ids: Sequence[str], *, lang: str = "en", layers: Mapping[str, gpd.GeoDataFrame] | None = None
) -> list[Brief]:
    """The briefs of several nodes (facts computed once)."""
    from ..catalog.load import load_layers
    from .inset import inset_png

    Translator(lang)  # refuse an unknown language before any work
    layers = dict(layers) if layers is not None else load_layers()
    facts = node_facts(node_ids, layers=layers)
    out = []
    for node_id, f in facts.items():
        png = inset_png(node_id, layers, lang=lang)
        model = brief_model(f, lang, png)
        out.append(Brief(node_id, lang, render_html([model], lang), png, model))
    return out


def brief(node_id: str, *, lang: str = "en", layers: Mapping[str, gpd.GeoDataFrame] | None = None) -> Brief:
    """The one-page brief of a node (an id of ``industrial_nodes`` or ``nicdc_national_nodes``).

    Examples
    --------
    >>> b = brief("mbir", lang="ja")
    >>> "デリー・ムンバイ産業大動脈" in b.html and "Manesar-Bawal Investment Region (MBIR)" in b.html
    True
    """
    if not isinstance(node_id, str) or not node_id:
        raise LayerValidationError(
            f"brief() takes one node id (a string such as 'dholera_sir'), got {node_id!r}. "
            "Fix: pass one id; for several, call corridormap.sectors.brief.briefs([...]) or "
            "write_briefs(...), "
            "or run: corridormap brief ID [ID ...]"
        )
    return briefs([node_id], lang=lang, layers=layers)[0]


def write_briefs(
    node_ids: Sequence[str],
    out_dir: str | Path,
    *,
    lang: str = "en",
    pdf: bool = False,
    overwrite: bool = False,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> list[Path]:
    """Write ``brief_<id>.<lang>.html`` per node and, with ``pdf``, ``briefs.<lang>.pdf`` (one page per node).

    Nothing is written when any output exists and ``overwrite`` is false; each file is written beside
    its target and moved into place.
    """
    from ..atomic import refuse_existing, write_bytes_atomic

    out = Path(out_dir)
    ids = list(dict.fromkeys(node_ids))
    targets = [out / f"brief_{i}.{lang}.html" for i in ids] + ([out / f"briefs.{lang}.pdf"] if pdf else [])
    refuse_existing(targets, overwrite)
    done = briefs(ids, lang=lang, layers=layers)
    contents = [b.html.encode("utf-8") for b in done]
    if pdf:
        from .pdf import briefs_pdf

        contents.append(briefs_pdf([b.model for b in done], lang, [b.inset_png for b in done]))
    out.mkdir(parents=True, exist_ok=True)
    for path, data in zip(targets, contents, strict=True):
        write_bytes_atomic(data, path, overwrite=overwrite)
    log.info("wrote %s", ", ".join(map(str, targets)))
    return targets
