"""Static charts for notebooks and reports: access distances by node, the chainage strip, suitability.

Each function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global state, no
second copy shown in a notebook) that a notebook shows as a PNG (``fig.savefig(path)`` writes it), or,
for the strip, an SVG object a notebook displays. Distances are
the true km the analysis reports; a value that is missing is left out and said so in the title,
never drawn as zero. matplotlib is imported here only.

>>> import corridormap
>>> layers = corridormap.load_layers()
>>> card = corridormap.access_card(layers["industrial_nodes"], corridormap.default_targets(layers))
>>> fig = corridormap.access_chart(card)
>>> fig.axes[0].get_xlabel()
'distance (true km)'
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..catalog.load import load_catalog
from ..catalog.style import STATUS_ORDER, categories
from .outputs import strip_diagram

__all__ = [
    "access_chart",
    "strip_chart",
    "score_chart",
    "sites_chart",
    "status_chart",
    "Svg",
    "target_columns",
]

_KM = re.compile(r"^(?P<prefix>.+)_km$")
_MARKERS = "os^Dv<>ph*"


@functools.cache
def _chart_class() -> type:
    from matplotlib.figure import Figure

    class Chart(Figure):
        """A matplotlib Figure that a notebook shows as a PNG by itself (no pyplot needed)."""

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=100)
            return buffer.getvalue()

    return Chart


def _figure(width: float, height: float) -> Any:
    return _chart_class()(figsize=(width, height), layout="constrained")


def target_columns(card: pd.DataFrame) -> list[str]:
    """The access card's straight-line distance columns: ``<target>_km`` beside ``<target>_name``."""
    found: list[str] = []
    for column in card.columns:
        match = _KM.match(str(column))
        target = match is not None and f"{match.group('prefix')}_name" in card.columns
        if (
            target
            and not str(column).endswith("network_km")
            and not any(card[column].equals(card[c]) for c in found)
        ):
            found.append(str(column))
    return found


def access_chart(
    card: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    highlight: Sequence[str] = (),
    label: str = "name",
) -> Any:
    """A dot plot of each node's distance to the nearest feature of every target layer.

    Nodes are sorted by their first target's distance; ``highlight`` (node labels or index values)
    are drawn in bold. Missing distances (nothing in reach) are not drawn; their count is in the title.
    """
    columns = list(columns) if columns is not None else target_columns(card)
    if not columns:
        raise ValueError("no <target>_km columns beside <target>_name in the card. Fix: pass columns=")
    order = card.sort_values(columns[0], na_position="last")
    names = (order[label] if label in order.columns else order.index.to_series()).astype(str).tolist()
    fig = _figure(8.5, max(3.0, 0.22 * len(order) + 1.2))
    ax = fig.add_subplot()
    y = np.arange(len(order))
    missing = 0
    for i, column in enumerate(columns):
        values = pd.to_numeric(order[column], errors="coerce").to_numpy(dtype=float)
        shown = np.isfinite(values)
        missing += int((~shown).sum())
        target = column.removesuffix("_km").replace("_", " ")
        ax.scatter(
            values[shown], y[shown], marker=_MARKERS[i % len(_MARKERS)], s=28, label=target, alpha=0.85
        )
    ax.set_yticks(y, names, fontsize=7)
    for tick, key in zip(ax.get_yticklabels(), order.index, strict=True):
        if str(key) in highlight or tick.get_text() in highlight:
            tick.set_fontweight("bold")
    ax.invert_yaxis()
    ax.set_xlabel("distance (true km)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, title="nearest")
    title = f"Access distances by node ({len(order)} nodes)"
    ax.set_title(
        title + (f"; {missing} distance(s) with nothing in reach not drawn" if missing else ""), fontsize=10
    )
    return fig


@dataclass(frozen=True)
class Svg:
    """SVG text that a notebook shows as a picture (``_repr_svg_``); ``str(svg)`` is the text."""

    text: str

    def _repr_svg_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def strip_chart(
    layers: Mapping[str, gpd.GeoDataFrame], key: str = "wdfc", *, max_offset_km: float = 50.0
) -> Svg:
    """The chainage strip diagram of a configured line (``layers/rules/chainage.toml``), as the build
    writes it (``strip_<key>.svg``): the features along the line by chainage, side and offset."""
    return Svg(strip_diagram(layers, key, max_offset_km=max_offset_km))


def score_chart(result: Any, *, bins: int = 40) -> Any:
    """The distribution of suitability scores of the scored cells, the top sites' scores marked."""
    grid = result.grid
    scored = grid[grid["status"] == "scored"] if "status" in grid.columns else grid
    scores = pd.to_numeric(scored["score"], errors="coerce").dropna()
    fig = _figure(8.0, 3.6)
    ax = fig.add_subplot()
    ax.hist(scores, bins=bins, range=(0.0, 1.0), color="#7e57c2", alpha=0.8)
    for score in pd.to_numeric(result.sites["score"], errors="coerce").dropna():
        ax.axvline(score, color="#c62828", linewidth=0.8, alpha=0.6)
    others = len(grid) - len(scored)
    ax.set_xlabel("suitability score (0 worst, 1 best)")
    ax.set_ylabel("cells")
    ax.set_title(
        f"{len(scores):,} scored cells ({others:,} excluded: water, built-up nodes, no data); "
        f"red: the {len(result.sites)} top sites",
        fontsize=9,
    )
    return fig


def _catalog_colour(spec: Any, default: str) -> str:
    style = getattr(spec, "style", None) or {}
    return str(style.get("color", default))


def sites_chart(
    result: Any, layers: Mapping[str, gpd.GeoDataFrame], *, specs: Mapping[str, Any] | None = None
) -> Any:
    """A static map: the score of every cell, the belt, freight rail and expressways, the top sites
    numbered by rank (EPSG:4326; the map's colours from the catalog)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    specs = specs if specs is not None else load_catalog()
    fig = _figure(7.5, 8.0)
    ax = fig.add_subplot()
    cells = result.grid.to_crs("EPSG:4326")
    scored = cells[cells["score"].notna()]
    norm = Normalize(0.0, 1.0)
    scored.plot(ax=ax, column="score", cmap="viridis", norm=norm, linewidth=0, alpha=0.75)
    if "corridor_belt" in layers:
        belt_spec = specs.get("corridor_belt")
        layers["corridor_belt"].to_crs(4326).boundary.plot(
            ax=ax, color=_catalog_colour(belt_spec, "#b08900"), linewidth=1, linestyle="--"
        )
    if "freight_rail" in layers:
        column, colours = categories(getattr(specs.get("freight_rail"), "style", {}) or {})
        rail = layers["freight_rail"].to_crs(4326)
        for value, part in rail.groupby(column) if column in rail.columns else [(None, rail)]:
            part.plot(ax=ax, color=colours.get(str(value), "#444444"), linewidth=2)
    if "expressways" in layers:
        layers["expressways"].to_crs(4326).plot(
            ax=ax, color=_catalog_colour(specs.get("expressways"), "#e67e22"), linewidth=1
        )
    sites = result.sites.to_crs("EPSG:4326")
    ax.scatter(
        sites.geometry.x,
        sites.geometry.y,
        marker="*",
        s=160,
        color="#c62828",
        edgecolor="white",
        linewidth=0.8,
        zorder=5,
    )
    for rank, point in zip(sites["rank"], sites.geometry, strict=True):
        ax.annotate(
            str(rank),
            (point.x, point.y),
            xytext=(5, 4),
            textcoords="offset points",
            fontsize=8,
            fontweight="bold",
            zorder=6,
        )
    xmin, ymin, xmax, ymax = cells.total_bounds
    ax.set_xlim(xmin - 0.3, xmax + 0.3)
    ax.set_ylim(ymin - 0.3, ymax + 0.3)
    ax.set_aspect(1 / np.cos(np.radians((ymin + ymax) / 2)))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(f"Suitability score and the top {len(sites)} sites (★, by rank)", fontsize=10)
    fig.colorbar(ScalarMappable(norm=norm, cmap="viridis"), ax=ax, shrink=0.6, label="score")
    return fig


def status_chart(layers: Mapping[str, gpd.GeoDataFrame]) -> Any:
    """Features per layer by status (operational ... proposed), as stacked horizontal bars."""
    counts = pd.DataFrame(
        {
            name: frame["status"].fillna("no status").value_counts()
            for name, frame in layers.items()
            if "status" in frame.columns
        }
    ).T.fillna(0)
    order = [s for s in STATUS_ORDER if s in counts.columns] + sorted(set(counts.columns) - set(STATUS_ORDER))
    counts = counts[order]
    fig = _figure(8.0, 0.45 * len(counts) + 1.5)
    ax = fig.add_subplot()
    left = np.zeros(len(counts))
    for status in order:
        ax.barh(counts.index, counts[status], left=left, label=status)
        left += counts[status].to_numpy()
    ax.invert_yaxis()
    ax.set_xlabel("features")
    ax.legend(fontsize=8, title="status", loc="lower right")
    ax.set_title("Features per layer by status", fontsize=10)
    return fig
