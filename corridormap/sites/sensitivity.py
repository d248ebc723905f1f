"""How the top candidate sites change when each criterion's weight moves (one-at-a-time sensitivity).

The usual check of a weighted-sum (MCDA) ranking: move one weight by ±20 % with the others fixed,
re-score every cell (the normalised criterion scores do not depend on the weights, so this is exact
and needs no new distances), pick the top sites again with the same separation rule, and report how
many of the original top sites stay, whether the best one stays, and which sites come and go. A
ranking whose top sites survive every ±20 % move is robust to reasonable disagreement about weights.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .suitability import SuitabilityResult, top_sites

__all__ = ["weight_sensitivity"]

COLUMNS = [
    "criterion",
    "label",
    "weight",
    "change",
    "new_weight",
    "top_kept",
    "top_kept_or_adjacent",
    "top_n",
    "best_unchanged",
    "best_site",
    "entering",
    "leaving",
    "max_rank_shift",
]


def weight_sensitivity(
    result: SuitabilityResult,
    *,
    change: float = 0.2,
    top: int | None = None,
    min_separation_km: float | None = None,
) -> pd.DataFrame:
    """For every criterion with a positive weight, and for ``-change`` and ``+change``: the top sites
    with that one weight moved, against ``result.sites``.

    Returns
    -------
    DataFrame
        One row per (criterion, change): ``criterion``, ``label`` (readable, with unit), ``weight``,
        ``change`` (e.g. ``-20%``), ``new_weight``, ``top_kept`` (how many of the original top cells
        are still in the top), ``top_kept_or_adjacent`` (also counting a new top cell next to an
        original one: the same place, one cell over), ``top_n``, ``best_unchanged``, ``best_site``
        (cell id of the new #1), ``entering`` / ``leaving`` (cell ids, ``"; "``-joined, in rank
        order) and ``max_rank_shift`` (the largest change of rank among the cells kept).
    """
    model = result.model
    grid = result.grid
    top = len(result.sites) if top is None else top
    separation = model.min_separation_km if min_separation_km is None else min_separation_km
    base = list(result.sites.index)
    base_rank = {cell: i for i, cell in enumerate(base, start=1)}
    scores = np.column_stack([grid[f"{c.name}_score"].to_numpy(dtype=float) for c in model.criteria])
    excluded = grid["score"].isna().to_numpy()
    rows = []
    for i, criterion in enumerate(model.criteria):
        if criterion.weight <= 0:
            continue
        for sign in (-1.0, 1.0):
            weights = np.array([c.weight for c in model.criteria])
            weights[i] *= 1.0 + sign * change
            score = scores @ weights / weights.sum()
            score[excluded] = np.nan
            moved = top_sites(grid.assign(score=score), top=top, min_separation_km=separation)
            cells = list(moved.index)
            kept = [c for c in cells if c in base_rank]
            near = _adjacent(grid, base, cells)
            rows.append(
                {
                    "criterion": criterion.name,
                    "label": criterion.title,
                    "weight": criterion.weight,
                    "change": f"{sign * change:+.0%}",
                    "new_weight": float(weights[i]),
                    "top_kept": len(kept),
                    "top_kept_or_adjacent": near,
                    "top_n": len(base),
                    "best_unchanged": bool(cells[:1] == base[:1]),
                    "best_site": cells[0] if cells else None,
                    "entering": "; ".join(str(c) for c in cells if c not in base_rank),
                    "leaving": "; ".join(str(c) for c in base if c not in set(cells)),
                    "max_rank_shift": max((abs(cells.index(c) + 1 - base_rank[c]) for c in kept), default=0),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def _adjacent(grid: pd.DataFrame, base: list[int], cells: list[int]) -> int:
    """How many of ``cells`` are one of ``base`` or touch one (8-neighbourhood on the grid)."""
    rc = grid[["row", "col"]]
    original = rc.loc[base].to_numpy()
    new = rc.loc[cells].to_numpy()
    if len(original) == 0 or len(new) == 0:
        return 0
    gap = np.abs(new[:, None, :] - original[None, :, :]).max(axis=2)
    return int((gap.min(axis=1) <= 1).sum())
