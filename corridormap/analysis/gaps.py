"""Gap rules: flag the features that fall short of a distance standard, with the reason why.

Rules live in TOML (the shipped default is ``layers/rules/gaps.toml``)::

    [[rule]]
    id = "far_from_freight_and_road"
    layer = "industrial_nodes"              # the features to check
    description = "Industrial node far from both rail freight and an expressway"
    match = "all"                           # flag when all conditions hold ("any": one is enough)
    where = { status = ["operational"] }    # optional: only check these features

    [[rule.condition]]
    target = "freight_stations"             # a layer to measure to
    where = { status = ["operational"] }    # optional: only these targets count
    farther_than_km = 25                    # or within_km = ...
    label = "operational freight station"   # how the reason names the target

Distances are true km to the nearest target (:func:`corridormap.analysis.nearest.nearest_km`). A target layer
with no feature left after ``where`` is infinitely far.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import settings
from ..crs import DISPLAY_CRS
from ..errors import DataSourceNotFoundError, LayerValidationError, Problem, raise_if_problems
from .nearest import nearest_km, query_points

__all__ = ["find_gaps", "read_rules", "default_rules_path"]

_COLUMNS = ["rule", "layer", "feature", "id", "name", "reason", "description"]


def default_rules_path() -> Path:
    """The shipped rule file, ``layers/rules/gaps.toml``."""
    return Path(settings.layers_dir) / "rules" / "gaps.toml"


def read_rules(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The ``[[rule]]`` tables of a rule file (default: the shipped one)."""
    path = default_rules_path() if path is None else Path(path)
    if not path.is_file():
        raise DataSourceNotFoundError(
            f"gap rule file {path} does not exist. Fix: give the path of a TOML rule file"
        )
    with open(path, "rb") as f:
        try:
            return list(tomllib.load(f).get("rule", []))
        except tomllib.TOMLDecodeError as exc:
            problem = Problem(str(path), f"is not valid TOML ({exc})", "correct the TOML syntax")
            raise LayerValidationError(f"gap rules: {problem}", [problem]) from exc


def _check(rules: list[dict[str, Any]], layers: Mapping[str, gpd.GeoDataFrame]) -> None:
    """Every problem of every rule, raised once."""
    problems: list[Problem] = []
    known = ", ".join(sorted(layers)) or "none"
    for n, rule in enumerate(rules, start=1):
        where = f"rule {rule.get('id', n)!r}"
        if rule.get("layer") not in layers:
            problems.append(
                Problem(where, f"layer {rule.get('layer')!r} is not loaded", f"use one of: {known}")
            )
        if rule.get("match", "all") not in ("all", "any"):
            problems.append(Problem(where, f"match = {rule.get('match')!r}", 'use match = "all" or "any"'))
        conditions = rule.get("condition", [])
        if not conditions:
            problems.append(Problem(where, "has no [[rule.condition]]", "add at least one condition"))
        for c in conditions:
            if c.get("target") not in layers:
                problems.append(
                    Problem(
                        where, f"condition target {c.get('target')!r} is not loaded", f"use one of: {known}"
                    )
                )
            if ("farther_than_km" in c) == ("within_km" in c):
                problems.append(
                    Problem(
                        where,
                        f"condition on {c.get('target')!r} needs exactly one threshold",
                        "give either farther_than_km or within_km",
                    )
                )
    raise_if_problems(problems, "gap rules")


def _select(layer: gpd.GeoDataFrame, where: Mapping[str, Any] | None) -> gpd.GeoDataFrame:
    for column, allowed in dict(where or {}).items():
        values = allowed if isinstance(allowed, list) else [allowed]
        layer = layer[layer[column].isin(values)] if column in layer.columns else layer.iloc[0:0]
    return layer


def _condition(
    xy: Any, cond: Mapping[str, Any], layers: Mapping[str, gpd.GeoDataFrame]
) -> tuple[Any, list[str]]:
    """Whether each point meets one condition, and the sentence saying so."""
    target = _select(layers[cond["target"]], cond.get("where"))
    label = cond.get("label", cond["target"])
    table = nearest_km(xy, target)
    km = np.full(len(xy), np.inf)
    km[table["point"].to_numpy()] = table["km"].to_numpy()
    names = np.full(len(xy), None, dtype=object)
    if "name" in target.columns:
        names[table["point"].to_numpy()] = target["name"].to_numpy()[table["target"].to_numpy()]
    far = "farther_than_km" in cond
    limit = float(cond["farther_than_km"] if far else cond["within_km"])
    met = km > limit if far else km <= limit
    words = []
    for d, name in zip(km, names, strict=True):
        if not np.isfinite(d):
            words.append(f"no {label} at all")
        else:
            named = f" ({name})" if name is not None else ""
            words.append(
                f"nearest {label}{named} is {d:.1f} km, {'more than' if far else 'within'} {limit:g} km"
            )
    return met, words


def _apply(rule: Mapping[str, Any], layers: Mapping[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    subject = _select(layers[rule["layer"]], rule.get("where"))
    xy = query_points(subject, f"layer {rule['layer']!r}")
    results = [_condition(xy, c, layers) for c in rule["condition"]]
    met = np.array([r[0] for r in results]).reshape(len(results), len(subject))
    flagged = met.all(axis=0) if rule.get("match", "all") == "all" else met.any(axis=0)
    reasons = ["; ".join(r[1][i] for j, r in enumerate(results) if met[j, i]) for i in range(len(subject))]
    hit = np.flatnonzero(flagged)
    rows = subject.iloc[hit]
    out = pd.DataFrame(
        {
            "rule": rule.get("id", ""),
            "layer": rule["layer"],
            "feature": rows.index.to_numpy(),
            "id": rows["id"].to_numpy() if "id" in rows.columns else None,
            "name": rows["name"].to_numpy() if "name" in rows.columns else None,
            "reason": [reasons[i] for i in hit],
            "description": rule.get("description", ""),
        }
    )
    return gpd.GeoDataFrame(out, geometry=rows.geometry.to_crs(DISPLAY_CRS).to_numpy(), crs=DISPLAY_CRS)


def find_gaps(
    layers: Mapping[str, gpd.GeoDataFrame], rules: str | Path | list[dict[str, Any]] | None = None
) -> gpd.GeoDataFrame:
    """The features that break a gap rule, one row per (rule, feature), with the reason.

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame
        The layers the rules name (e.g. ``corridormap.load_layers()``), any CRS each.
    rules : path, list of dict or None
        A TOML rule file, its parsed ``[[rule]]`` tables, or None for ``layers/rules/gaps.toml``.

    Returns
    -------
    GeoDataFrame
        In EPSG:4326: ``rule``, ``layer``, ``feature`` (index label in its layer), ``id``, ``name``,
        ``reason`` (each met condition with its distance), ``description`` and the geometry.
    """
    parsed = rules if isinstance(rules, list) else read_rules(rules)
    _check(parsed, layers)
    frames = [_apply(rule, layers) for rule in parsed]
    frames = [f for f in frames if len(f)]
    if not frames:
        return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in _COLUMNS}, geometry=[], crs=DISPLAY_CRS)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=DISPLAY_CRS)
