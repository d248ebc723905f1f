"""Gap rules: flag the features that fall short of a distance standard, with the measured value,
the threshold and the reason why.

Rules live in TOML (the shipped default is ``layers/rules/gaps.toml``)::

    [[rule]]
    id = "far_from_freight_and_road"
    layer = "industrial_nodes"              # the features to check
    description = "Industrial node far from both rail freight and an expressway"
    rationale = "why a planner should care"  # shown with every flag
    source = "where the threshold comes from" # or: a stated planning assumption
    severity = "high"                       # high / medium / low (default medium)
    scope = "belt"                          # belt: only features in the corridor belt; all: every one
    match = "all"                           # flag when all conditions hold ("any": one is enough)
    where = { status = ["operational"] }    # optional: only check these features

    [[rule.condition]]
    target = "freight_stations"             # a layer to measure to
    where = { status = ["operational"] }    # optional: only these targets count
    farther_than_km = 25                    # or within_km = ...
    label = "operational freight station"   # how the reason names the target

    [[data_gap]]                            # a known gap in the shipped data behind some flags
    target = "expressways"
    missing = "Ahmedabad–Dholera Expressway"
    present_if_name_contains = "Dholera"    # once the data has it, the note is dropped
    ids = ["dholera_sir"]                   # the features whose flags it affects

Distances are geodesic km to the nearest target (:func:`corridormap.analysis.geodesic.nearest_km`). A target
layer with no feature left after ``where`` is infinitely far (and the flag says it is a data gap).
Each flag carries the deciding condition's ``measured_km``, ``threshold_km`` and ``margin_km`` (how
far past the threshold it is; for ``match = "all"`` the condition nearest its threshold), and a
``data_note`` when the flag may come from the data rather than the ground: a known data gap, a
target layer with nothing in it, or a margin within the features' stated position tolerance.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .. import settings
from ..crs import DISPLAY_CRS
from ..errors import DataSourceNotFoundError, LayerValidationError, Problem, raise_if_problems
from ..io._tomlfile import read_toml
from .corridor import membership
from .geodesic import nearest_km
from .nearest import query_points

__all__ = [
    "find_gaps",
    "read_rules",
    "read_data_gaps",
    "default_rules_path",
    "node_gap_fields",
    "gap_summary",
]

log = logging.getLogger(__name__)

_COLUMNS = [
    "rule",
    "severity",
    "layer",
    "feature",
    "id",
    "name",
    "measured_km",
    "threshold_km",
    "margin_km",
    "reason",
    "data_note",
    "description",
    "rationale",
    "threshold_source",
]
SEVERITIES = ("high", "medium", "low")
SCOPES = ("belt", "all")
BELT_LAYER = "corridor_belt"
_UNSTATED = "(not stated in the rule file)"


def default_rules_path() -> Path:
    """The shipped rule file, ``layers/rules/gaps.toml``."""
    return Path(settings.layers_dir) / "rules" / "gaps.toml"


def _load(path: str | Path | None) -> dict[str, Any]:
    path = default_rules_path() if path is None else Path(path)
    if not path.is_file():
        raise DataSourceNotFoundError(
            f"gap rule file {path} does not exist. Fix: give the path of a TOML rule file"
        )
    try:
        return read_toml(path)
    except tomllib.TOMLDecodeError as exc:
        problem = Problem(str(path), f"is not valid TOML ({exc})", "correct the TOML syntax")
        raise LayerValidationError(f"gap rules: {problem}", [problem]) from exc


def read_rules(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The ``[[rule]]`` tables of a rule file (default: the shipped one)."""
    return list(_load(path).get("rule", []))


def read_data_gaps(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The ``[[data_gap]]`` tables of a rule file (default: the shipped one)."""
    return list(_load(path).get("data_gap", []))


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
        if rule.get("severity", "medium") not in SEVERITIES:
            problems.append(
                Problem(where, f"severity = {rule.get('severity')!r}", f"use one of {SEVERITIES}")
            )
        if rule.get("scope", "all") not in SCOPES:
            problems.append(Problem(where, f"scope = {rule.get('scope')!r}", f"use one of {SCOPES}"))
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


def _tolerance(frame: gpd.GeoDataFrame, rows: Any) -> NDArray[np.float64]:
    """``position_tolerance_km`` of the given rows (0 where the layer states none)."""
    if "position_tolerance_km" not in frame.columns or len(rows) == 0:
        return np.zeros(len(rows))
    values = pd.to_numeric(frame["position_tolerance_km"], errors="coerce").to_numpy(dtype=float)[rows]
    return np.nan_to_num(values)


def _condition(xy: Any, cond: Mapping[str, Any], layers: Mapping[str, gpd.GeoDataFrame]) -> dict[str, Any]:
    """One condition over the points: met, km, margin past the threshold, target tolerance, words."""
    target = _select(layers[cond["target"]], cond.get("where"))
    label = cond.get("label", cond["target"])
    table = nearest_km(xy, target)
    p, t = table["point"].to_numpy(), table["target"].to_numpy()
    km = np.full(len(xy), np.inf)
    km[p] = table["km"].to_numpy()
    tolerance = np.zeros(len(xy))
    tolerance[p] = _tolerance(target, t)
    names = np.full(len(xy), None, dtype=object)
    if "name" in target.columns:
        names[p] = target["name"].to_numpy()[t]
    far = "farther_than_km" in cond
    limit = float(cond["farther_than_km"] if far else cond["within_km"])
    met = km > limit if far else km <= limit
    margin = km - limit if far else limit - km
    words = []
    for d, name in zip(km, names, strict=True):
        if not np.isfinite(d):
            words.append(f"no {label} at all")
        else:
            named = f" ({name})" if name is not None else ""
            words.append(
                f"nearest {label}{named} is {d:.1f} km, {'more than' if far else 'within'} {limit:g} km"
            )
    return {
        "met": met,
        "km": km,
        "limit": limit,
        "margin": margin,
        "tolerance": tolerance,
        "words": words,
        "target": cond["target"],
        "label": label,
        "empty": len(target) == 0,
    }


def _in_scope(
    subject: gpd.GeoDataFrame, rule: Mapping[str, Any], layers: Mapping[str, gpd.GeoDataFrame]
) -> gpd.GeoDataFrame:
    """The features a rule judges: all, or (scope = "belt") those touching the corridor belt."""
    if rule.get("scope", "all") != "belt":
        return subject
    belt = layers.get(BELT_LAYER)
    if belt is None or len(belt) == 0:
        log.warning(
            "rule %r is scoped to the belt, but no %s layer is loaded: not applied",
            rule.get("id"),
            BELT_LAYER,
        )
        return subject.iloc[0:0]
    return subject[membership(subject, belt)["in_belt"].to_numpy(dtype=bool)]


def _apply(
    rule: Mapping[str, Any], layers: Mapping[str, gpd.GeoDataFrame], data_gaps: list[dict[str, Any]]
) -> gpd.GeoDataFrame:
    subject = _in_scope(_select(layers[rule["layer"]], rule.get("where")), rule, layers)
    if len(subject) == 0:
        return _empty()
    xy = query_points(subject, f"layer {rule['layer']!r}")
    results = [_condition(xy, c, layers) for c in rule["condition"]]
    met = np.array([r["met"] for r in results]).reshape(len(results), len(subject))
    flagged = met.all(axis=0) if rule.get("match", "all") == "all" else met.any(axis=0)
    margins = np.array([np.where(r["met"], r["margin"], np.nan) for r in results]).reshape(met.shape)
    hit = np.flatnonzero(flagged)
    pick = np.nanargmin if rule.get("match", "all") == "all" else np.nanargmax
    own_tol = _tolerance(subject, hit)
    rows = subject.iloc[hit]
    ids = rows["id"].to_numpy() if "id" in rows.columns else np.full(len(rows), None)
    names = ("measured_km", "threshold_km", "margin_km", "reason", "data_note")
    out: dict[str, list[Any]] = {c: [] for c in names}
    for n, i in enumerate(hit.tolist()):
        fill = np.inf if pick is np.nanargmin else -np.inf  # a target not found at all decides last
        j = int(pick(np.where(np.isfinite(margins[:, i]), margins[:, i], fill)))
        r = results[j]
        finite = bool(np.isfinite(r["km"][i]))
        out["measured_km"].append(float(r["km"][i]) if finite else np.nan)
        out["threshold_km"].append(r["limit"])
        out["margin_km"].append(float(r["margin"][i]) if finite else np.nan)
        reason = "; ".join(x["words"][i] for k, x in enumerate(results) if met[k, i])
        if int(met[:, i].sum()) > 1:  # the columns carry one condition: say which
            most = "smallest" if pick is np.nanargmin else "largest"
            reason += (
                f" (the measured and threshold km given are those of the {r['label']} condition, the one "
                f"with the {most} margin)"
            )
        out["reason"].append(reason)
        out["data_note"].append(_data_note(results, met[:, i], i, own_tol[n], ids[n], layers, data_gaps))
    frame = pd.DataFrame(
        {
            "rule": rule.get("id", ""),
            "severity": rule.get("severity", "medium"),
            "layer": rule["layer"],
            "feature": rows.index.to_numpy(),
            "id": ids,
            "name": rows["name"].to_numpy() if "name" in rows.columns else None,
            **out,
            "description": rule.get("description", ""),
            "rationale": rule.get("rationale", _UNSTATED),
            "threshold_source": rule.get("source", _UNSTATED),
        }
    )
    return gpd.GeoDataFrame(frame, geometry=rows.geometry.to_crs(DISPLAY_CRS).to_numpy(), crs=DISPLAY_CRS)


def _data_note(
    results: list[dict[str, Any]],
    met: NDArray[np.bool_],
    i: int,
    own_tolerance: float,
    feature_id: Any,
    layers: Mapping[str, gpd.GeoDataFrame],
    data_gaps: list[dict[str, Any]],
) -> str | None:
    """Why a flag may come from the data rather than the ground (None when nothing says so)."""
    notes = []
    for r, m in zip(results, met, strict=True):
        if not m:
            continue
        if r["empty"]:
            notes.append(f"data gap: no {r['label']} in the shipped data at all")
            continue
        for gap in data_gaps:
            if gap.get("target") == r["target"] and feature_id in list(gap.get("ids", [])):
                names = layers[r["target"]].get("name", pd.Series(dtype=object)).astype(str)
                marker = str(gap.get("present_if_name_contains", "\0"))
                if not names.str.contains(marker, regex=False).any():
                    notes.append(f"data gap: {gap.get('missing')} is not in the shipped {r['target']} layer")
        tolerance = own_tolerance + float(r["tolerance"][i])
        if np.isfinite(r["margin"][i]) and r["margin"][i] <= tolerance:
            notes.append(
                f"borderline: {r['label']} {r['margin'][i]:.1f} km past the threshold, within the data's "
                f"position tolerance (±{tolerance:.0f} km)"
            )
    return "; ".join(notes) or None


def _empty() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in _COLUMNS}, geometry=[], crs=DISPLAY_CRS)


def find_gaps(
    layers: Mapping[str, gpd.GeoDataFrame],
    rules: str | Path | list[dict[str, Any]] | None = None,
    *,
    data_gaps: list[dict[str, Any]] | None = None,
) -> gpd.GeoDataFrame:
    """The features that break a gap rule, one row per (rule, feature), with the reason.

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame
        The layers the rules name (e.g. ``corridormap.load_layers()``), any CRS each; rules with
        ``scope = "belt"`` also need the ``corridor_belt`` layer.
    rules : path, list of dict or None
        A TOML rule file, its parsed ``[[rule]]`` tables, or None for ``layers/rules/gaps.toml``.
    data_gaps : list of dict, optional
        Known data gaps (``[[data_gap]]`` tables); default: those of the rule file read.

    Returns
    -------
    GeoDataFrame
        In EPSG:4326: ``rule``, ``severity``, ``layer``, ``feature`` (index label in its layer),
        ``id``, ``name``, ``measured_km``, ``threshold_km``, ``margin_km`` (of the deciding
        condition), ``reason`` (each met condition with its distance), ``data_note`` (why the flag
        may come from the data), ``description``, ``rationale``, ``threshold_source`` (the rule's
        ``source``) and the geometry.
    """
    if isinstance(rules, list):
        parsed, gaps = rules, list(data_gaps or [])
    else:
        parsed, gaps = read_rules(rules), (read_data_gaps(rules) if data_gaps is None else data_gaps)
    _check(parsed, layers)
    frames = [f for f in (_apply(rule, layers, gaps) for rule in parsed) if len(f)]
    if not frames:
        return _empty()
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=DISPLAY_CRS)


def node_gap_fields(
    features: gpd.GeoDataFrame,
    flags: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    layer: str = "industrial_nodes",
    rules: list[dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Per feature of ``layer`` (aligned on ``features.index``): ``gap_flags`` (the rules it breaks,
    most severe first: ``far_from_port (medium); ...``, empty when none), ``gap_detail`` (each with
    its reason and any data note) and ``gap_scope`` (which rules judged it; a feature outside the
    belt that only belt rules would judge says it was not judged)."""
    rules = [r for r in (read_rules() if rules is None else rules) if r.get("layer") == layer]
    judged = np.zeros(len(features), dtype=int)
    for rule in rules:
        inside = _in_scope(_select(features, rule.get("where")), rule, layers)
        judged[features.index.get_indexer(inside.index)] += 1
    mine = flags[flags["layer"] == layer] if len(flags) else flags
    order = {s: i for i, s in enumerate(SEVERITIES)}
    out = pd.DataFrame({"gap_flags": None, "gap_detail": None, "gap_scope": None}, index=features.index)
    for feature, rows in mine.groupby("feature", sort=False):
        rows = rows.sort_values("severity", key=lambda s: s.map(order), kind="stable")
        out.loc[feature, "gap_flags"] = "; ".join(f"{r.rule} ({r.severity})" for r in rows.itertuples())
        out.loc[feature, "gap_detail"] = " | ".join(
            f"{r.rule}: {r.reason}" + (f" [{r.data_note}]" if isinstance(r.data_note, str) else "")
            for r in rows.itertuples()
        )
    belt_only = bool(rules) and all(r.get("scope", "all") == "belt" for r in rules)
    for k, n in enumerate(judged):
        if n:
            text = f"judged by {n} of {len(rules)} gap rules"
        elif belt_only:
            text = "not judged: outside the DMIC corridor belt, where the gap rules apply"
        else:
            text = "not judged: no gap rule applies to it"
        out.iloc[k, out.columns.get_loc("gap_scope")] = text
    return out


def gap_summary(flags: gpd.GeoDataFrame, rules: list[dict[str, Any]] | None = None) -> list[str]:
    """One line per rule: how many features it flags (and how many of those carry a data note)."""
    rules = read_rules() if rules is None else rules
    lines = []
    for rule in rules:
        mine = flags[flags["rule"] == rule.get("id", "")] if len(flags) else flags
        noted = int(mine["data_note"].notna().sum()) if len(mine) else 0
        count = mine["feature"].nunique() if len(mine) else 0
        lines.append(
            f"{rule.get('id', '')} ({rule.get('severity', 'medium')}): {count} {rule.get('layer', '')} "
            "flagged" + (f", {noted} with a data note" if noted else "")
        )
    return lines
