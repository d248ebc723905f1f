"""Node x sector fit: a weighted sum of normalised criteria, each contribution kept, and how the
ranking moves when any one weight changes by ±20 %.

For a node and a sector profile, each weighted criterion ``c`` has a raw value (see
:mod:`corridormap.sectors.criteria`), a score ``s_c`` in [0, 1] from the profile's normalisation
function, and a weight ``w_c``. Over the criteria that could be assessed at that node (set ``A``):

    fit = 100 * sum_{c in A} w_c * s_c / sum_{c in A} w_c
    contribution_c = 100 * w_c * s_c / sum_{c in A} w_c

so the contributions add up to the fit (0 = worst, 100 = best), and ``assessed_weight_share`` says
which share of the profile's weight was assessed (1.0 = all of it). ``declared_sector`` is 1 when the
node's ``sectors`` list any of the profile's ``matches``, else 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..crs import DISPLAY_CRS
from ..sites.model import Criterion, normalise
from .criteria import criterion_values
from .profiles import Profile, criteria_specs, load_profiles

__all__ = ["sector_fit", "fit_scores", "fit_sensitivity", "not_assessed_share", "SENSITIVITY_STEP"]

SENSITIVITY_STEP = 0.2


def _declared(values: pd.Series, matches: tuple[str, ...]) -> np.ndarray:
    wanted = {m.strip().lower() for m in matches}

    def hit(text: object) -> float:
        if not isinstance(text, str):
            return 0.0
        return float(bool({t.strip().lower() for t in text.split(";")} & wanted))

    return values.map(hit).to_numpy(dtype=float)


def _scores(values: pd.DataFrame, profile: Profile) -> dict[str, np.ndarray]:
    """Each weighted criterion's raw value and score (NaN where not assessed)."""
    out: dict[str, np.ndarray] = {}
    for w in profile.weightings:
        raw = values[w.criterion]
        if w.criterion == "declared_sector":
            raw = pd.Series(_declared(raw, profile.matches), index=values.index)
        raw = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        criterion = Criterion(w.criterion, w.weight, w.function, w.params)
        score = normalise(criterion, raw)
        bound = f"{w.criterion}_at_least"
        if bound in values.columns:  # a lower bound fixes the score when the score saturates there
            low = values[bound].to_numpy(dtype=float)
            at_low = normalise(criterion, low)
            saturated = at_low == (0.0 if w.function.endswith("decay") else 1.0)
            score = np.where(np.isnan(score) & ~np.isnan(low) & saturated, at_low, score)
        out[f"{w.criterion}_value"] = raw
        out[f"{w.criterion}_score"] = score
    return out


def _fit_of(scores: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(fit 0-100, assessed weight) for these weights over precomputed scores."""
    n = len(next(iter(scores.values())))
    weighted, assessed = np.zeros(n), np.zeros(n)
    for name, weight in weights.items():
        score = scores[f"{name}_score"]
        ok = ~np.isnan(score)
        weighted += np.where(ok, weight * np.nan_to_num(score), 0.0)
        assessed += np.where(ok, weight, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        fit = 100.0 * weighted / np.where(assessed > 0, assessed, np.nan)
    return fit, assessed


def _rank(fit: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(fit, index=index).rank(ascending=False, method="min")


def fit_scores(values: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Per node: each weighted criterion's raw value, score, weight and contribution, and the fit.

    ``values`` is :func:`~corridormap.sectors.criteria.criterion_values` output (aligned on nodes).
    """
    scores = _scores(values, profile)
    weights = profile.weights()
    fit, assessed = _fit_of(scores, weights)
    columns: dict[str, Any] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        denominator = np.where(assessed > 0, assessed, np.nan)
        for name, weight in weights.items():
            columns[f"{name}_value"] = scores[f"{name}_value"]
            columns[f"{name}_score"] = scores[f"{name}_score"]
            columns[f"{name}_weight"] = np.full(len(values), weight)
            columns[f"{name}_contribution"] = 100.0 * weight * scores[f"{name}_score"] / denominator
    columns["fit"] = fit
    columns["assessed_weight_share"] = assessed / sum(weights.values())
    out = pd.DataFrame(columns, index=values.index)
    out["rank"] = _rank(fit, values.index)
    return out


def _why(row: pd.Series, profile: Profile, notes: pd.Series) -> str:
    """Plain-text reason: the largest contributions, then what was not assessed."""
    specs = criteria_specs()
    parts, nothing = [], []
    ordered = sorted(profile.weightings, key=lambda w: -np.nan_to_num(row[f"{w.criterion}_contribution"]))
    for w in ordered:
        contribution = row[f"{w.criterion}_contribution"]
        if np.isnan(contribution):
            continue
        if contribution >= 0.05:
            parts.append(f"{specs[w.criterion].label}: {contribution:.1f} pts")
        else:
            nothing.append(specs[w.criterion].label)
    missing = [
        f"{specs[w.criterion].label} ({notes[w.criterion + '_note']})"
        for w in profile.weightings
        if np.isnan(row[f"{w.criterion}_contribution"])
    ]
    text = "; ".join(parts) if parts else "no criterion scored"
    if nothing:
        text += f". No points: {'; '.join(nothing)}"
    return text + (f". Not assessed: {'; '.join(missing)}" if missing else "")


def _ranks_under(values: pd.DataFrame, profile: Profile) -> dict[tuple[str, float], pd.Series]:
    """The ranks when one weight at a time is multiplied by 1 ± :data:`SENSITIVITY_STEP`."""
    scores = _scores(values, profile)
    weights = profile.weights()
    out = {}
    for name, weight in weights.items():
        for factor in (1.0 - SENSITIVITY_STEP, 1.0 + SENSITIVITY_STEP):
            fit, _ = _fit_of(scores, {**weights, name: weight * factor})
            out[(name, factor)] = _rank(fit, values.index)
    return out


def sector_fit(
    nodes: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    profiles: Mapping[str, Profile] | None = None,
    *,
    values: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """The fit of every node for every sector, one row per (node, sector), best first per sector.

    Parameters
    ----------
    nodes : industrial nodes (any CRS; an ``id`` column names them, else the index).
    layers : the layers the criteria measure against (``corridormap.load_layers()``).
    profiles : sector profiles (default: the shipped ones, :func:`load_profiles`).
    values : precomputed :func:`criterion_values` (default: measured now).

    Returns
    -------
    GeoDataFrame in EPSG:4326 with ``node_id``, ``name``, ``state``, ``status``, ``sector``,
    ``sector_title``, ``fit`` (0-100), ``rank`` (1 = best in the sector), ``rank_min`` / ``rank_max``
    (best and worst rank when any one weight moves by ±20 %), ``assessed_weight_share``, per weighted
    criterion ``<c>_value``, ``<c>_score``, ``<c>_weight``, ``<c>_contribution`` (points), ``why``.
    """
    profiles = dict(profiles) if profiles is not None else load_profiles()
    values = values if values is not None else criterion_values(nodes, layers)
    ids = (
        nodes["id"].astype(str) if "id" in nodes.columns else pd.Series(nodes.index.astype(str), nodes.index)
    )
    frames = []
    for profile in profiles.values():
        scores = fit_scores(values, profile)
        moved = _ranks_under(values, profile)
        ranks = pd.concat([scores["rank"], *moved.values()], axis=1)
        frame = pd.DataFrame(
            {
                "node_id": ids.to_numpy(),
                "name": nodes["name"].to_numpy() if "name" in nodes.columns else ids.to_numpy(),
                "state": nodes["state"].to_numpy() if "state" in nodes.columns else None,
                "status": nodes["status"].to_numpy() if "status" in nodes.columns else None,
                "layer": nodes["layer"].to_numpy() if "layer" in nodes.columns else None,
                "sector": profile.id,
                "sector_title": profile.title,
            },
            index=nodes.index,
        )
        frame = frame.join(scores)
        frame["rank_min"] = ranks.min(axis=1)
        frame["rank_max"] = ranks.max(axis=1)
        frame["why"] = [_why(scores.loc[i], profile, values.loc[i]) for i in nodes.index]
        frame["geometry"] = nodes.to_crs(DISPLAY_CRS).geometry.values
        frames.append(frame.sort_values(["rank", "node_id"], na_position="last"))
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=DISPLAY_CRS)
    for column in ("rank", "rank_min", "rank_max"):
        out[column] = out[column].astype("Int64")
    head = [
        "node_id",
        "name",
        "layer",
        "state",
        "status",
        "sector",
        "sector_title",
        "fit",
        "rank",
        "rank_min",
        "rank_max",
        "assessed_weight_share",
        "why",
    ]
    per = [f"{c}_{part}" for c in criteria_specs() for part in ("value", "score", "weight", "contribution")]
    return out[[*head, *(c for c in per if c in out.columns), "geometry"]]


def fit_sensitivity(values: pd.DataFrame, profiles: Mapping[str, Profile], ids: pd.Series) -> pd.DataFrame:
    """For every sector, criterion and ±20 % change of its weight: how the ranking moved.

    Columns: ``sector``, ``criterion``, ``weight``, ``change`` (-20 % / +20 %), ``nodes_moved`` (nodes
    whose rank changed), ``max_rank_shift``, ``top_node`` (rank 1 after the change) and
    ``top_changed`` (whether rank 1 is another node than with the profile's weights).
    """
    rows = []
    for profile in profiles.values():
        base = fit_scores(values, profile)["rank"]
        base_top = ids[base == 1].sort_values().tolist()
        for (criterion, factor), ranks in _ranks_under(values, profile).items():
            shift = (ranks - base).abs()
            top = ids[ranks == 1].sort_values().tolist()
            rows.append(
                {
                    "sector": profile.id,
                    "criterion": criterion,
                    "weight": profile.weights()[criterion],
                    "change": f"{(factor - 1) * 100:+.0f} %",
                    "nodes_moved": int((shift.fillna(0) > 0).sum()),
                    "max_rank_shift": int(shift.fillna(0).max()) if len(shift) else 0,
                    "top_node": "; ".join(top),
                    "top_changed": top != base_top,
                }
            )
    return pd.DataFrame(rows)


def not_assessed_share(fit: pd.DataFrame) -> float:
    """Share of (node, sector) rows where some weight could not be assessed."""
    return float((fit["assessed_weight_share"] < 1.0).mean()) if len(fit) else 0.0
