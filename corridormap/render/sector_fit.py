"""The map's "Sector fit" view: a control to choose a sector; nodes sized and coloured by fit.

:func:`sector_fit_payload` turns a :func:`corridormap.sectors.fit.sector_fit` frame into the view's
data; :func:`add_sector_fit_view` adds the control to a map. The browser code is
``js/sector_fit.js`` with ``css/sector_fit.css``; the data enter the page as a JSON block written
after the templates rendered (never as template source), and the script places every text with
``textContent``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import folium
import pandas as pd
from branca.element import Figure, MacroElement
from folium.template import Template

from .page import RawText

__all__ = ["SectorFitView", "sector_fit_payload", "add_sector_fit_view", "LABELS"]

_HERE = Path(__file__).parent
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


class SectorFitView(MacroElement):
    """The "Sector fit" control on a map (script and stylesheet once per page, data as JSON)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = corridormapSectorFit.view(
            {{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, payload: dict[str, Any], *, position: str = "bottomleft") -> None:
        super().__init__()
        self._name = "SectorFitView"
        self.data_text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        self.data_text = self.data_text.replace("</", "<\\/")
        self.options = {"data": f"{self.get_name()}_data", "position": position}

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # renders into the figure
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise TypeError("a SectorFitView renders only inside a map")
        js = (_HERE / "js" / "sector_fit.js").read_text(encoding="utf-8")
        css = (_HERE / "css" / "sector_fit.css").read_text(encoding="utf-8")
        figure.header.add_child(RawText(f"<style>\n{css}\n</style>"), name="corridormap_sector_fit_css")
        figure.header.add_child(RawText(f"<script>\n{js}\n</script>"), name="corridormap_sector_fit_js")
        block = f'<script type="application/json" id="{self.options["data"]}">{self.data_text}</script>'
        figure.html.add_child(RawText(block), name=f"{self.get_name()}_data")
        super().render(**kwargs)


def add_sector_fit_view(m: folium.Map, payload: dict[str, Any]) -> SectorFitView:
    """Add the "Sector fit" control to ``m`` and return it."""
    view = SectorFitView(payload)
    view.add_to(m)
    return view
