"""Styles from the catalog: a Leaflet path style per (layer, status, category), and legend swatches.

The styles themselves are read by :mod:`corridormap.catalog.style` (shared with the QGIS styles of
exports); this module splits a layer into its constant-style parts.

A layer's style is one constant style per status and category, never a per-feature function, so
the map stays small and fast however many features a layer has.
"""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import pandas as pd

from ..catalog.load import LayerSpec
from ..catalog.style import DEFAULT_COLOR, STATUS_ORDER, categories, path_style

__all__ = ["path_style", "categories", "splits", "STATUS_ORDER", "DEFAULT_COLOR"]


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
