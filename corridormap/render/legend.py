"""The legend inside the layer panel: a swatch per layer (and per category), and the status styles.

Swatches are small inline SVGs drawn with the same colours and dash patterns as the map, so the
legend cannot drift from what is drawn; every attribute is escaped. :class:`LayerPanel` is the one
control holding basemaps, layers and legend.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
from branca.element import Element

from ..catalog.load import LayerSpec
from .page import Component
from .style import STATUS_ORDER, categories, path_style

__all__ = ["LayerPanel", "legend_entries", "layer_swatches", "status_rows", "swatch_svg", "HTML_TO_IMAGE"]

HTML_TO_IMAGE = "https://cdn.jsdelivr.net/npm/html-to-image@1.11.11/dist/html-to-image.js"


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


def layer_swatches(gdf: gpd.GeoDataFrame, spec: LayerSpec) -> list[dict[str, str]]:
    """The swatches of one layer: one per category present (``label`` = the category), else one."""
    column, colours = categories(spec.style)
    present = set(gdf[column].dropna().astype(str)) if column and column in gdf.columns else set()
    shown = [v for v in colours if v in present]
    if not shown:
        return [{"label": spec.title, "svg": swatch_svg(spec.kind, path_style(spec.style))}]
    return [
        {
            "label": value.capitalize() if value.islower() else value,
            "svg": swatch_svg(spec.kind, path_style(spec.style, color=colours[value])),
        }
        for value in shown
    ]


def status_rows(
    layers: Mapping[str, gpd.GeoDataFrame], specs: Mapping[str, LayerSpec]
) -> list[dict[str, str]]:
    """One row per status that has its own line style and is present in the map."""
    statuses: set[str] = set()
    for gdf in layers.values():
        if "status" in gdf.columns:
            statuses.update(str(s) for s in gdf["status"].dropna())
    styles = _status_styles(specs)
    status_style = {"kind": "line", "color": "#444", "weight": 3, "status": styles}
    wanted = [s for s in STATUS_ORDER if s in statuses] + sorted((statuses & set(styles)) - set(STATUS_ORDER))
    return [
        {"label": s.capitalize(), "svg": swatch_svg("line", path_style(status_style, status=s))}
        for s in wanted
    ]


class LayerPanel(Component):
    """The one control for basemaps, layers (grouped, with swatches) and legend notes, plus the
    tools to share, save (PNG) and print the view (``render/js/panel.js``).

    Parameters
    ----------
    bases : ``(key, title, element or None)`` per basemap choice (None: the vector basemap alone).
    groups : ``{group title: [{"key", "title", "element", "swatches", "note"}]}`` in order.
    status : status rows (:func:`status_rows`).
    notes : short notes under the layers.
    default_base : key of the basemap chosen at start.
    fit : ``[[south, west], [north, east]]`` the map opens on, unless the URL holds a shared view.
    """

    default_js = [("html_to_image", HTML_TO_IMAGE)]

    def __init__(
        self,
        bases: Sequence[tuple[str, str, Element | None]],
        groups: Mapping[str, list[dict[str, Any]]],
        *,
        status: list[dict[str, str]],
        notes: list[str],
        default_base: str,
        small_screen: tuple[int, int] = (1500, 900),
        title: str = "Layers and legend",
        fit: list[list[float]] | None = None,
    ) -> None:
        refs: list[Element] = []

        def ref(element: Element | None) -> int | None:
            if element is None:
                return None
            refs.append(element)
            return len(refs) - 1

        data = {
            "title": title,
            "basesTitle": "Basemap",
            "statusTitle": "Status (line and outline style)",
            "bases": [{"key": k, "title": t, "ref": ref(e)} for k, t, e in bases],
            "defaultBase": default_base,
            "groups": [
                {
                    "title": g,
                    "layers": [
                        {
                            "key": r["key"],
                            "title": r["title"],
                            "ref": ref(r["element"]),
                            "swatches": r.get("swatches", []),
                            "note": r.get("note", ""),
                        }
                        for r in rows
                    ],
                }
                for g, rows in groups.items()
            ],
            "status": status,
            "notes": notes,
            "smallWidth": small_screen[0],
            "smallHeight": small_screen[1],
            "fit": fit,
        }
        super().__init__("panel", data, refs, js=("panel.js",))
