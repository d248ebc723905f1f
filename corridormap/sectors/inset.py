"""The brief's map inset: a static PNG drawn offline with matplotlib from the shipped layers.

Drawn in EPSG:7755 (the belt's conformal metric CRS, so shapes are true) around the node: the
coast, major rivers, freight rail, expressways, freight stations, ports and logistics parks,
renewable-energy zones, other industrial nodes, the node itself and a 50 km ring, with a scale bar.
matplotlib is imported here only.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from ..crs import BELT_CRS, DISPLAY_CRS, scale_factor
from .criteria import context_layer
from .fonts import font_family, font_path
from .i18n import Translator
from .profiles import all_nodes

__all__ = ["inset_png"]

# layer -> (label key, colour, marker or None for lines, size)
_STYLE = {
    "freight_rail": ("dfc", "#7b2d26", None, 1.6),
    "expressways": ("legend.expressway", "#d17a00", None, 1.2),
    "freight_stations": ("legend.freight_station", "#7b2d26", "s", 9),
    "ports_logistics": ("legend.port", "#14a3b8", "D", 12),
    "renewable_zones": ("legend.renewable", "#2a9d3f", "^", 16),
    "industrial_nodes": ("legend.node", "#555555", "o", 10),
}


def _figure(size_mm: tuple[float, float], dpi: int) -> Any:
    """A matplotlib Figure on the Agg canvas: no pyplot, no change to the session's backend or rcParams."""
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    path = str(font_path())
    if path not in {f.fname for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(path)
    return Figure(figsize=(size_mm[0] / 25.4, size_mm[1] / 25.4), dpi=dpi)


def _draw_context(ax: Any, window: shapely.Polygon) -> None:
    for name, colour, width in (("coast", "#8aa9c4", 0.8), ("water", "#9cc3e6", 0.9)):
        layer = context_layer(name).to_crs(BELT_CRS)
        layer = layer[layer.intersects(window)]
        if len(layer):
            layer.clip(window).plot(ax=ax, color=colour, linewidth=width, zorder=1)


def inset_png(
    node_id: str,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    lang: str = "en",
    radius_km: float = 120.0,
    size_mm: tuple[float, float] = (85.0, 70.0),
    dpi: int = 200,
) -> bytes:
    """The PNG inset around one node of the node layers (labels in ``lang``)."""
    from matplotlib import rc_context
    from matplotlib.lines import Line2D

    t = Translator(lang)
    with rc_context({"font.family": [font_family(), "DejaVu Sans"]}):
        return _draw(node_id, layers, t, radius_km, size_mm, dpi, Line2D)


def _draw(
    node_id: str,
    layers: Mapping[str, gpd.GeoDataFrame],
    t: Translator,
    radius_km: float,
    size_mm: tuple[float, float],
    dpi: int,
    Line2D: Any,  # noqa: N803 - matplotlib's class, passed in
) -> bytes:
    nodes = all_nodes(layers).to_crs(BELT_CRS)
    node = nodes[nodes["id"] == node_id].geometry.iloc[0]
    half = radius_km * 1000.0 * float(scale_factor(np.array([node.x]), np.array([node.y]))[0])
    window = shapely.box(node.x - half, node.y - half * 0.82, node.x + half, node.y + half * 0.82)
    fig = _figure(size_mm, dpi)
    ax = fig.subplots()
    _draw_context(ax, window)
    handles = []
    for name, (key, colour, marker, size) in _STYLE.items():
        if name == "industrial_nodes":
            layer = nodes[nodes["id"] != node_id]
        elif name in layers:
            layer = layers[name].to_crs(BELT_CRS)
        else:
            continue
        layer = layer[layer.intersects(window)]
        if not len(layer):
            continue
        label = t.label(key)
        if marker is None:
            layer.clip(window).plot(ax=ax, color=colour, linewidth=size, zorder=2, label=label)
            handles.append(Line2D([], [], color=colour, linewidth=size, label=label))
        else:
            ax.scatter(
                layer.geometry.x,
                layer.geometry.y,
                s=size,
                c=colour,
                marker=marker,
                zorder=3,
                edgecolors="white",
                linewidths=0.4,
                label=label,
            )
            handles.append(
                Line2D([], [], color=colour, marker=marker, linestyle="", markersize=4, label=label)
            )
    ring = node.buffer(50_000.0 * float(scale_factor(np.array([node.x]), np.array([node.y]))[0]), 64)
    gpd.GeoSeries([ring.exterior], crs=BELT_CRS).plot(
        ax=ax, color="#444", linewidth=0.6, linestyle=(0, (3, 2))
    )
    ax.scatter(
        [node.x], [node.y], s=90, marker="*", c="#c2185b", edgecolors="black", linewidths=0.5, zorder=5
    )
    handles.append(
        Line2D([], [], color="#444", linewidth=0.6, linestyle=(0, (3, 2)), label=t.label("legend.ring"))
    )
    handles.append(Line2D([], [], color="#8aa9c4", linewidth=0.9, label=t.label("legend.water")))
    _scale_bar(ax, window, node)
    ax.set_xlim(window.bounds[0], window.bounds[2])
    ax.set_ylim(window.bounds[1], window.bounds[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.legend(
        handles=handles, loc="lower left", fontsize=4.5, framealpha=0.85, borderpad=0.4, labelspacing=0.3
    )
    lonlat = gpd.GeoSeries([node], crs=BELT_CRS).to_crs(DISPLAY_CRS).iloc[0]
    ax.text(
        0.99,
        0.99,
        f"{lonlat.y:.2f}°N {lonlat.x:.2f}°E",
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=5,
        color="#333",
    )
    fig.tight_layout(pad=0.2)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, metadata={"Software": None})
    return out.getvalue()


def _scale_bar(ax: Any, window: shapely.Polygon, node: shapely.Point) -> None:
    """A 50 km bar (true km: planar length times the local scale factor)."""
    k = float(scale_factor(np.array([node.x]), np.array([node.y]))[0])
    length = 50_000.0 * k
    x0 = window.bounds[2] - length - (window.bounds[2] - window.bounds[0]) * 0.04
    y0 = window.bounds[1] + (window.bounds[3] - window.bounds[1]) * 0.05
    ax.plot([x0, x0 + length], [y0, y0], color="black", linewidth=1.6, zorder=6)
    ax.text(
        x0 + length / 2,
        y0 + (window.bounds[3] - window.bounds[1]) * 0.015,
        "50 km",
        ha="center",
        va="bottom",
        fontsize=5,
        zorder=6,
    )
