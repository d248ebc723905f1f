"""One builder per layer kind: a catalog layer becomes one toggleable ``FeatureGroup``.

Inside the group, one ``GeoJson`` per status (and category, where the catalog colours by a column)
carries a constant style. Every feature carries only its id, name, escaped popup HTML and tooltip;
the layer draws in its own pane, whose z-index is the catalog's draw order, so polygons stay under
lines and lines under points however often layers are toggled.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from folium.utilities import JsCode

from ..catalog.load import LayerSpec
from . import big as big_path
from .page import Component
from .panes import pane_name
from .popup import popup_html, tooltip_text
from .style import path_style, splits

__all__ = ["layer_group", "feature_payload", "rounded"]

# popups, tooltips and the chooser of stacked points are bound by render/js/corridormap.js
BIND_JS = JsCode("function(feature, layer) { corridormap.bindFeature(feature, layer); }")
COORD_DECIMALS = 5  # about 1 m: coordinates sent to the page are rounded to this


def rounded(geometry: Any, decimals: int = COORD_DECIMALS) -> Any:
    """Geometries with coordinates rounded for the page (display only; about 1 m at 5 decimals)."""
    return shapely.transform(np.asarray(geometry), lambda xy: np.round(xy, decimals))


def feature_payload(
    gdf: gpd.GeoDataFrame, spec: LayerSpec, *, gaps: Mapping[str, list[dict[str, str]]] | None = None
) -> gpd.GeoDataFrame:
    """The lean GeoDataFrame actually sent to the page: id, name, layer title, popup HTML, tooltip.

    ``gaps``: gap flags by feature id (description and reason), shown as badges and a popup section.
    """
    records = gdf.drop(columns=gdf.geometry.name).to_dict("records")
    popup_fields = spec.popup or tuple(c for c in gdf.columns if c != gdf.geometry.name)
    ids = [str(r.get("id", i)) for i, r in zip(range(len(records)), records, strict=True)]
    flags = gaps or {}
    out = gpd.GeoDataFrame(
        {
            "id": ids,
            "name": [str(r.get("name", "")) for r in records],
            "_layer": spec.title,
            "_popup": [
                popup_html(r, popup_fields, spec.columns, spec.title, gaps=flags.get(i, ()))
                for r, i in zip(records, ids, strict=True)
            ],
            "_tooltip": [tooltip_text(r, spec.tooltip) for r in records],
        },
        geometry=rounded(gdf.geometry.values),
        crs=gdf.crs,
        index=gdf.index,
    )
    return out


def layer_group(
    gdf: gpd.GeoDataFrame,
    spec: LayerSpec,
    *,
    show: bool = True,
    big: bool | str = "auto",
    gaps: Mapping[str, list[dict[str, str]]] | None = None,
) -> folium.FeatureGroup:
    """Build the toggleable group for one layer (``gdf`` in EPSG:4326).

    ``big``: draw through the large-layer path (:mod:`.big`: simplified per zoom, encoded, canvas
    tiles) always (True), never (False), or for layers over ``big.BIG_VERTICES`` vertices or
    ``big.BIG_FEATURES`` features ("auto"). ``gaps``: gap flags by feature id, shown in popups.
    """
    # (the catalog title goes in escaped: folium may insert layer names as HTML)
    group = folium.FeatureGroup(name=html.escape(spec.title), show=show)
    Component("core").add_to(group)  # corridormap.js binds the features' popups and tooltips
    if big is True or (big == "auto" and big_path.is_big(gdf)):
        big_path.big_layer(gdf, spec).add_to(group)
        return group
    pane = pane_name(spec)
    for status, colour, part in splits(gdf, spec):
        style = path_style(spec.style, status=status, color=colour)
        payload = feature_payload(part, spec, gaps=gaps)
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
