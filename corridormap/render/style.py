"""Styles from the catalog: a Leaflet path style per (layer, status, category), and legend swatches.

A layer's style is one constant style per status and category, never a per-feature function, so
the map stays small and fast however many features a layer has.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import geopandas as gpd
import pandas as pd

from ..catalog.load import LayerSpec

__all__ = ["path_style", "categories", "splits", "STATUS_ORDER", "DEFAULT_COLOR"]

DEFAULT_COLOR = "#3388ff"
STATUS_ORDER = ("operational", "under construction", "approved", "proposed")


def categories(style: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
    """The column a layer is coloured by and its value -> colour map (``(None, {})`` if none)."""
    cats = style.get("categories")
    if not cats:
        return None, {}
    return str(cats["column"]), {str(k): str(v) for k, v in cats.get("colors", {}).items()}


def path_style(
    style: Mapping[str, Any], *, status: str | None = None, color: str | None = None
) -> dict[str, Any]:
    """Leaflet path options for one status and category of a layer.

    Parameters
    ----------
    style : the layer's ``[style]`` table from the catalog.
    status : the features' status; its ``[style.status.NAME]`` overrides apply.
    color : category colour, replacing the base colour.

    Examples
    --------
    >>> s = {"color": "#c00", "weight": 3, "status": {"proposed": {"dash": "2 6"}}}
    >>> path_style(s, status="proposed")["dashArray"]
    '2 6'
    """
    merged: dict[str, Any] = {k: v for k, v in style.items() if k not in ("status", "categories")}
    if status is not None:
        merged.update(style.get("status", {}).get(status, {}))
    base = color or merged.get("color", DEFAULT_COLOR)
    kind = merged.get("kind", "line")
    out: dict[str, Any] = {
        "color": merged.get("color", base) if kind == "point" and color is None else base,
        "weight": merged.get("weight", 2),
        "opacity": merged.get("opacity", 1.0),
    }
    if color is not None and kind == "point":
        out["fillColor"] = color
    elif kind in ("point", "polygon"):
        out["fillColor"] = merged.get("fill_color", base)
    if kind in ("point", "polygon"):
        out["fill"] = True
        out["fillOpacity"] = merged.get("fill_opacity", 0.6)
    if merged.get("dash"):
        out["dashArray"] = merged["dash"]
    if kind == "point":
        out["radius"] = merged.get("radius", 6)
    return out


def splits(
    gdf: gpd.GeoDataFrame, spec: LayerSpec
) -> Iterator[tuple[str | None, str | None, gpd.GeoDataFrame]]:
    """(status, category colour, features) for each constant-style part of the layer."""
    column, colours = categories(spec.style)
    status = gdf["status"] if "status" in gdf.columns else pd.Series(None, index=gdf.index, dtype=object)
    keys = [s for s in STATUS_ORDER if (status == s).any()]
    keys += sorted({str(s) for s in status.dropna()} - set(keys))
    if status.isna().any():
        keys.append(None)  # type: ignore[arg-type]
    for key in keys:
        part = gdf[status.isna()] if key is None else gdf[status == key]
        if column is None or column not in gdf.columns:
            yield key, None, part
            continue
        for value, colour in colours.items():
            sub = part[part[column] == value]
            if not sub.empty:
                yield key, colour, sub
        rest = part[~part[column].isin(list(colours))]
        if not rest.empty:
            yield key, None, rest
