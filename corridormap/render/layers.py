"""One builder per layer kind: a catalog layer becomes one toggleable ``FeatureGroup``.

Inside the group, one ``GeoJson`` per status (and category, where the catalog colours by a column)
carries a constant style. Every feature carries only its id, name, escaped popup HTML and tooltip;
the layer draws in its own pane, whose z-index is the catalog's draw order, so polygons stay under
lines and lines under points however often layers are toggled.
"""

from __future__ import annotations

import html
from typing import Any

import folium
import geopandas as gpd
from folium.utilities import JsCode

from ..catalog.load import LayerSpec
from . import big as big_path
from .panes import pane_name
from .popup import popup_html, tooltip_text
from .style import path_style, splits

__all__ = ["layer_group", "feature_payload"]

BIND_JS = JsCode(
    """function(feature, layer) {
        var p = feature.properties;
        if (p._popup) { layer.bindPopup(p._popup, {maxWidth: 420}); }
        if (p._tooltip) { layer.bindTooltip(p._tooltip, {sticky: true}); }
    }"""
)


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
    for status, colour, part in splits(gdf, spec):
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
