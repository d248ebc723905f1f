"""One legend for the whole map: a swatch per layer (and per category), and the status styles.

Swatches are small inline SVGs drawn with the same colours and dash patterns as the map, so the
legend cannot drift from what is drawn. Labels are escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
from branca.element import MacroElement
from folium.template import Template

from ..catalog.load import LayerSpec
from .style import STATUS_ORDER, categories, path_style

__all__ = ["Legend", "legend_entries", "swatch_svg"]


def swatch_svg(kind: str, style: Mapping[str, Any]) -> str:
    """A 28x14 SVG swatch: a circle (point), a line, or a filled box (polygon)."""
    stroke = html.escape(str(style.get("color", "#333")), quote=True)
    fill = html.escape(str(style.get("fillColor", style.get("color", "#333"))), quote=True)
    dash = html.escape(str(style.get("dashArray", "")), quote=True)
    width = float(style.get("weight", 2))
    fill_op = float(style.get("fillOpacity", 0.6))
    if kind == "point":
        shape = (
            f'<circle cx="14" cy="7" r="5" stroke="{stroke}" stroke-width="{min(width, 2)}" '
            f'stroke-dasharray="{dash}" fill="{fill}" fill-opacity="{fill_op}"/>'
        )
    elif kind == "line":
        shape = (
            f'<line x1="1" y1="7" x2="27" y2="7" stroke="{stroke}" stroke-width="{min(width, 5)}" '
            f'stroke-dasharray="{dash}"/>'
        )
    else:
        shape = (
            f'<rect x="2" y="2" width="24" height="10" stroke="{stroke}" stroke-width="1" '
            f'stroke-dasharray="{dash}" fill="{fill}" fill-opacity="{max(fill_op, 0.25)}"/>'
        )
    return f'<svg width="28" height="14" aria-hidden="true">{shape}</svg>'


def legend_entries(
    layers: Mapping[str, gpd.GeoDataFrame], specs: Mapping[str, LayerSpec]
) -> list[dict[str, str]]:
    """Rows of the legend, top layer first: ``{"layer", "label", "svg"}`` per layer and category,
    then one row per status style present in the map (``layer`` = ``"status"``)."""
    rows: list[dict[str, str]] = []
    statuses: set[str] = set()
    for name in sorted(layers, key=lambda n: -specs[n].draw_order):
        spec, gdf = specs[name], layers[name]
        column, colours = categories(spec.style)
        if "status" in gdf.columns:
            statuses.update(str(s) for s in gdf["status"].dropna())
        present = set(gdf[column].dropna().astype(str)) if column and column in gdf.columns else set()
        shown = [v for v in colours if v in present]
        if not shown:
            rows.append(
                {"layer": name, "label": spec.title, "svg": swatch_svg(spec.kind, path_style(spec.style))}
            )
        for value in shown:
            rows.append(
                {
                    "layer": name,
                    "label": f"{spec.title}: {value}",
                    "svg": swatch_svg(spec.kind, path_style(spec.style, color=colours[value])),
                }
            )
    status_style = {"kind": "line", "color": "#444", "weight": 3, "status": _status_styles(specs)}
    for status in [s for s in STATUS_ORDER if s in statuses] + sorted(statuses - set(STATUS_ORDER)):
        rows.append(
            {
                "layer": "status",
                "label": status.capitalize(),
                "svg": swatch_svg("line", path_style(status_style, status=status)),
            }
        )
    return rows


def _status_styles(specs: Mapping[str, LayerSpec]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for spec in specs.values():
        for status, style in spec.style.get("status", {}).items():
            merged.setdefault(status, style)
    return merged


class Legend(MacroElement):
    """A collapsible legend control (bottom right) listing the given rows."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .cm-legend { background: rgba(255,255,255,0.94); padding: 6px 10px; border-radius: 5px;
                       box-shadow: 0 1px 5px rgba(0,0,0,0.4); font: 12px/1.35 system-ui, sans-serif;
                       max-height: 45vh; overflow-y: auto; }
          .cm-legend h4 { margin: 0 0 4px; font-size: 13px; cursor: pointer; }
          .cm-legend .row { display: flex; align-items: center; gap: 6px; white-space: nowrap; }
          .cm-legend .sep { margin-top: 4px; border-top: 1px solid #ddd; padding-top: 3px; font-weight: 600; }
          .cm-legend.collapsed .body { display: none; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function() {
          var legend = L.control({position: "bottomright"});
          legend.onAdd = function() {
            var div = L.DomUtil.create("div", "cm-legend");
            div.innerHTML = {{ this.html|tojson }};
            div.querySelector("h4").onclick = function() { div.classList.toggle("collapsed"); };
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
          };
          legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, rows: list[dict[str, str]], title: str = "Legend") -> None:
        super().__init__()
        self._name = "Legend"
        body = []
        in_status = False
        for row in rows:
            if row["layer"] == "status" and not in_status:
                body.append('<div class="sep">Status (line and outline style)</div>')
                in_status = True
            body.append(
                f'<div class="row" data-layer="{html.escape(row["layer"], quote=True)}">'
                f"{row['svg']}<span>{html.escape(row['label'])}</span></div>"
            )
        self.html = f'<h4>{html.escape(title)}</h4><div class="body">{"".join(body)}</div>'
