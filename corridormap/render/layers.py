"""One builder per layer kind: a catalog layer becomes one toggleable ``FeatureGroup``.

Inside the group, one ``GeoJson`` per status (and category, where the catalog colours by a column)
carries a constant style. Every feature carries only its id, name, escaped popup HTML and tooltip;
the layer draws in its own pane, whose z-index is the catalog's draw order, so polygons stay under
lines and lines under points however often layers are toggled.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
from folium.utilities import JsCode

from ..catalog import LayerSpec
from . import big as big_path
from .popup import popup_html, tooltip_text
from .style import STATUS_ORDER, categories, path_style

__all__ = ["pane_name", "add_panes", "layer_group", "feature_payload"]

# Leaflet's overlay pane sits at z-index 400 and its marker pane at 600: catalog layers go between.
PANE_BASE_Z = 400

BIND_JS = JsCode(
    """function(feature, layer) {
        var p = feature.properties;
        if (p._popup) { layer.bindPopup(p._popup, {maxWidth: 420}); }
        if (p._tooltip) { layer.bindTooltip(p._tooltip, {sticky: true}); }
    }"""
)


def pane_name(spec: LayerSpec) -> str:
    return f"cm-{spec.name}"


def add_panes(m: folium.Map, specs: list[LayerSpec]) -> None:
    """One pane per layer, stacked by draw order (clickable, unlike folium's default custom pane)."""
    for spec in specs:
        z = PANE_BASE_Z + max(0, min(int(spec.draw_order), 190))
        folium.map.CustomPane(pane_name(spec), z_index=z, pointer_events=True).add_to(m)


def feature_payload(gdf: gpd.GeoDataFrame, spec: LayerSpec) -> gpd.GeoDataFrame:
    """The lean GeoDataFrame actually sent to the page: id, name, popup HTML and tooltip text."""
    records = gdf.drop(columns=gdf.geometry.name).to_dict("records")
    popup_fields = spec.popup or tuple(c for c in gdf.columns if c != gdf.geometry.name)
    out = gpd.GeoDataFrame(
        {
            "id": [str(r.get("id", i)) for i, r in zip(range(len(records)), records, strict=True)],
            "name": [str(r.get("name", "")) for r in records],
            "_popup": [popup_html(r, popup_fields, spec.columns, spec.title) for r in records],
            "_tooltip": [tooltip_text(r, spec.tooltip) for r in records],
        },
        geometry=gdf.geometry.values,
        crs=gdf.crs,
        index=gdf.index,
    )
    return out


def _splits(
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


def layer_group(
    gdf: gpd.GeoDataFrame, spec: LayerSpec, *, show: bool = True, big: bool | str = "auto"
) -> folium.FeatureGroup:
    """Build the toggleable group for one layer (``gdf`` in EPSG:4326).

    ``big``: draw through the large-layer path (:mod:`.big`: simplified per zoom, encoded, canvas
    tiles) always (True), never (False), or for layers over ``big.BIG_VERTICES`` vertices or
    ``big.BIG_FEATURES`` features ("auto").
    """
    # Leaflet's layer control inserts names as HTML: the catalog title goes in escaped
    group = folium.FeatureGroup(name=html.escape(spec.title), show=show)
    if big is True or (big == "auto" and big_path.is_big(gdf)):
        big_path.big_layer(gdf, spec).add_to(group)
        return group
    pane = pane_name(spec)
    for status, colour, part in _splits(gdf, spec):
        style = path_style(spec.style, status=status, color=colour)
        payload = feature_payload(part, spec)
        kwargs: dict[str, Any] = {"pane": pane}
        if spec.kind == "point":
            marker = folium.CircleMarker(**style)
            marker.options["pane"] = pane  # folium's CircleMarker keeps only style keys in its options
            kwargs["marker"] = marker
        folium.GeoJson(
            payload,
            name=html.escape(f"{spec.title} ({status or 'no status'})"),
            style_function=lambda _f, s=style: s,
            on_each_feature=BIND_JS,
            control=False,
            **kwargs,
        ).add_to(group)
    return group
