"""Nodes side by side: the same facts as the briefs in one table, the best value of each row marked.

A row is comparable when its fact says which direction is better (distances: lower; capacity, fit,
area, counts: higher). The best value is marked on every node that has it (ties all marked); a row
where every node has the same value, or fewer than two nodes have a value, marks none. A value that
is only a lower bound (a coast farther than the Natural Earth clip shows) counts for "higher is
better" rows (it is conservative) and never wins a "lower is better" row.

>>> table = compare_nodes(["mbir", "jit_neemrana"])
>>> row = table[table["fact"] == "Nearest DFC freight station"].iloc[0]
>>> row["best"]
'mbir'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from .facts import Fact, NodeFacts, no_city, node_facts
from .i18n import Translator

__all__ = ["compare_nodes", "best_of", "compare_html", "write_compare"]

log = logging.getLogger(__name__)

_TEMPLATES = Path(__file__).with_name("templates")


def best_of(facts: Mapping[str, Fact | None]) -> list[str]:
    """The node ids holding the best value of one comparable fact (empty when none stands out)."""
    first = next((f for f in facts.values() if f is not None), None)
    if first is None or first.better not in ("lower", "higher"):
        return []
    usable = {
        node: float(f.value)
        for node, f in facts.items()
        if f is not None
        and f.value is not None
        and not (f.params.get("at_least") and first.better == "lower")
    }
    if len(usable) < 2 or len(set(usable.values())) == 1:
        return []
    target = min(usable.values()) if first.better == "lower" else max(usable.values())
    return [node for node, value in usable.items() if value == target]


def _rows(all_facts: Mapping[str, NodeFacts]) -> list[tuple[str, str, dict[str, Any], str]]:
    """(section, fact key + params, kind) of every comparable fact, in brief order, first node first."""
    seen: dict[tuple[str, tuple[tuple[str, Any], ...]], tuple[str, str]] = {}
    for facts in all_facts.values():
        for section in facts.sections:
            for f in section.facts:
                if f.better is None:
                    continue
                params = tuple(sorted((k, v) for k, v in f.params.items() if k in ("r", "line")))
                seen.setdefault((f.key, params), (section.key, f.kind))
    return [(section, key, dict(params), kind) for (key, params), (section, kind) in seen.items()]


def _lookup(facts: NodeFacts, key: str, params: Mapping[str, Any]) -> Fact | None:
    return facts.fact(key, **params)


def compare_nodes(
    node_ids: Sequence[str],
    *,
    lang: str = "en",
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    facts: Mapping[str, NodeFacts] | None = None,
) -> pd.DataFrame:
    """One row per comparable fact: ``section``, ``fact`` (label in ``lang``), ``kind``, ``better``,
    one column of raw values per node id, ``best`` (node ids, ``"; "``-joined) and
    ``lower_bound_for`` (node ids whose value is only a lower bound) and ``no_city_for`` (node ids
    whose city population of 0 means no Natural Earth populated place within the radius, ``radius_km``)."""
    t = Translator(lang)
    ids = list(dict.fromkeys(node_ids))
    if len(ids) < 2 or len(ids) > 4:
        from ..errors import LayerValidationError

        raise LayerValidationError(
            f"compare takes 2 to 4 distinct node ids, got {len(ids)}. Fix: name 2-4 nodes"
        )
    all_facts = dict(facts) if facts is not None else node_facts(ids, layers=layers)
    records = []
    for section, key, kw, kind in _rows(all_facts):
        cells = {node: _lookup(all_facts[node], key, kw) for node in ids}
        some = next(f for f in cells.values() if f is not None)
        record: dict[str, Any] = {
            "section": section,
            "fact": t.label(key, **kw),
            "key": key,
            "kind": kind,
            "better": some.better,
        }
        for node, f in cells.items():
            record[node] = None if f is None or f.value is None else float(f.value)
        record["best"] = "; ".join(best_of(cells))
        record["lower_bound_for"] = "; ".join(
            n for n, f in cells.items() if f is not None and f.params.get("at_least")
        )
        record["no_city_for"] = "; ".join(n for n, f in cells.items() if f is not None and no_city(f))
        record["radius_km"] = float(kw["r"]) if "r" in kw else None
        records.append(record)
    return pd.DataFrame(records)


def compare_html(table: pd.DataFrame, names: Mapping[str, str], *, lang: str = "en") -> str:
    """The comparison as one HTML page (best values bold with a ★ and a ``best`` class)."""
    import jinja2

    t = Translator(lang)
    ids = [c for c in names]
    rows = []
    for _, row in table.iterrows():
        best = set(str(row["best"]).split("; ")) if row["best"] else set()
        bounds = set(str(row["lower_bound_for"]).split("; ")) if row["lower_bound_for"] else set()
        no_city = set(str(row["no_city_for"]).split("; ")) if row.get("no_city_for") else set()
        cells = []
        for node in ids:
            value = row[node]
            shown = t.number(None if pd.isna(value) else float(value), str(row["kind"]))
            if node in bounds:
                shown = t.more_than(shown)
            elif node in no_city:
                shown = t.label("no_ne_city", r=float(row["radius_km"]))
            cells.append({"text": shown, "best": node in best})
        rows.append({"label": row["fact"], "cells": cells})
    from markupsafe import Markup

    from .fonts import font_face_css

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)), autoescape=True, undefined=jinja2.StrictUndefined
    )
    nodes = [{"id": i, "name": names[i], "reading": t.reading(i)} for i in ids]
    text = "".join(str(v) for r in rows for v in [r["label"], *(c["text"] for c in r["cells"])])
    text += "".join(f"{n['name']}{n['reading']}" for n in nodes) + t.label("compare_title") + t.label("best")
    css = (_TEMPLATES / "compare.css").read_text(encoding="utf-8")
    return env.get_template("compare.html.j2").render(
        lang=lang,
        title=t.label("compare_title"),
        heading=t.label("fact"),
        best=t.label("best"),
        nodes=nodes,
        rows=rows,
        css=Markup(f"{font_face_css(text + t.label('fact'))}\n{css}"),  # noqa: S704 - package CSS + font
    )


def write_compare(
    node_ids: Sequence[str],
    out_dir: str | Path,
    *,
    lang: str = "en",
    overwrite: bool = False,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> list[Path]:
    """Write ``compare.<lang>.csv`` and ``compare.<lang>.html`` (existing ones refused without
    ``overwrite``)."""
    from ..atomic import refuse_existing, write_bytes_atomic

    out = Path(out_dir)
    targets = [out / f"compare.{lang}.csv", out / f"compare.{lang}.html"]
    refuse_existing(targets, overwrite)
    ids = list(dict.fromkeys(node_ids))
    facts = node_facts(ids, layers=layers) if len(ids) >= 2 else {}
    table = compare_nodes(ids, lang=lang, facts=facts)
    names = {i: facts[i].name for i in ids}
    csv = table.drop(columns=["key"]).round(3).to_csv(index=False).encode("utf-8")
    html = compare_html(table, names, lang=lang).encode("utf-8")
    out.mkdir(parents=True, exist_ok=True)
    for path, data in zip(targets, (csv, html), strict=True):
        write_bytes_atomic(data, path, overwrite=overwrite)
    return targets
