"""The map's "Sector fit" view: a control to choose a sector; nodes sized and coloured by fit.

:func:`sector_fit_payload` turns a :func:`corridormap.sectors.fit.sector_fit` frame into the view's
data; :func:`add_sector_fit_view` adds the control to a map. The browser code is
``js/sector_fit.js`` with ``css/sector_fit.css``; the data enter the page as a JSON block written
after the templates rendered (never as template source), and the script places every text with
``textContent``.
"""

from __future__ import annotations

from typing import Any

import folium
import pandas as pd

from .page import Component

__all__ = ["SectorFitView", "sector_fit_payload", "add_sector_fit_view", "LABELS"]

LABELS = {
    "title": "Sector fit",
    "off": "Off (choose a sector)",
    "rank": "rank {rank} of {of}",
    "range": "±20 % weights: {range}",
    "pts": "pts",
    "not_assessed": "Not assessed",
    "share": "{share} of the weight assessed",
}


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 2)


def sector_fit_payload(fit: pd.DataFrame, labels: dict[str, str]) -> dict[str, Any]:
    """The view's data: sectors, nodes (in a fixed order) and per sector one row per node.

    ``labels`` maps each criterion name to the label shown in popups.
    """
    nodes = fit.drop_duplicates("node_id")[["node_id", "name"]].reset_index(drop=True)
    geo = fit.drop_duplicates("node_id").geometry.reset_index(drop=True)
    sectors = fit.drop_duplicates("sector")[["sector", "sector_title"]]
    criteria = [c.removesuffix("_contribution") for c in fit.columns if c.endswith("_contribution")]
    out: dict[str, Any] = {
        "labels": LABELS,
        "sectors": [{"id": s, "title": t} for s, t in sectors.itertuples(index=False)],
        "nodes": [
            {"id": i, "name": n, "lat": round(g.y, 5), "lon": round(g.x, 5)}
            for (i, n), g in zip(nodes.itertuples(index=False), geo, strict=True)
        ],
        "fit": {},
    }
    for sector, rows in fit.groupby("sector", sort=False):
        rows = rows.set_index("node_id").loc[nodes["node_id"]]
        table = []
        for _, r in rows.iterrows():
            weighted = [c for c in criteria if pd.notna(r.get(f"{c}_weight"))]
            parts = sorted(
                (
                    (labels.get(c, c), _num(r[f"{c}_contribution"]))
                    for c in weighted
                    if _num(r[f"{c}_contribution"]) is not None
                ),
                key=lambda p: -(p[1] or 0),
            )
            table.append(
                {
                    "fit": _num(r["fit"]),
                    "rank": None if pd.isna(r["rank"]) else int(r["rank"]),
                    "rank_min": None if pd.isna(r["rank_min"]) else int(r["rank_min"]),
                    "rank_max": None if pd.isna(r["rank_max"]) else int(r["rank_max"]),
                    "share": _num(r["assessed_weight_share"]),
                    "parts": [p for p in parts if (p[1] or 0) >= 0.05],
                    "missing": [labels.get(c, c) for c in weighted if _num(r[f"{c}_contribution"]) is None],
                }
            )
        out["fit"][str(sector)] = table
    return out


class SectorFitView(Component):
    """The "Sector fit" control on a map: ``js/sector_fit.js`` and ``css/sector_fit.css`` once per page,
    the data as a JSON block (:class:`~corridormap.render.page.Component`, the page's one way)."""

    def __init__(self, payload: dict[str, Any], *, position: str = "bottomleft") -> None:
        super().__init__(
            "sectorFitView",
            {"payload": payload, "position": position},
            js=("sector_fit.js",),
            css=("sector_fit.css",),
        )
        self._name = "SectorFitView"  # (the page's variable: sector_fit_view_...)


def add_sector_fit_view(m: folium.Map, payload: dict[str, Any]) -> SectorFitView:
    """Add the "Sector fit" control to ``m`` and return it."""
    view = SectorFitView(payload)
    view.add_to(m)
    return view
