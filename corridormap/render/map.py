"""Assemble the corridor map: panes, layers, grouped layer control, legend, fitted to the belt.

:func:`build_map` returns a :class:`folium.Map` (it displays in a notebook); saving is separate
(``m.save(path)``, or :func:`corridormap.build.build_outputs` for the whole default build).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping

import folium
import geopandas as gpd
from folium.plugins import GroupedLayerControl

from ..catalog.load import GROUPS, LayerSpec, load_catalog
from ..crs import to_display
from .basemap import add_basemaps
from .controls import add_controls
from .layers import layer_group
from .legend import Legend, legend_entries
from .page import adopt
from .panes import add_panes

__all__ = ["build_map", "spec_for_frame", "DEFAULT_TITLE"]

log = logging.getLogger(__name__)

DEFAULT_TITLE = "Delhi–Mumbai Industrial Corridor"


def spec_for_frame(name: str, gdf: gpd.GeoDataFrame) -> LayerSpec:
    """A plain catalog entry for a layer that has none (e.g. a user's GeoDataFrame)."""
    from pathlib import Path

    kinds = set(gdf.geom_type.dropna())
    geometry = tuple(sorted(kinds)) or ("Point",)
    order = 80 if all("Point" in k for k in kinds) else 55 if all("Line" in k for k in kinds) else 30
    popup = tuple(c for c in gdf.columns if c != gdf.geometry.name)[:15]
    return LayerSpec(
        name=name,
        title=name.replace("_", " ").capitalize(),
        group="Your layers",
        geometry=geometry,
        draw_order=order,
        path=Path(f"<{name}>"),
        popup=popup,
        tooltip=("name",) if "name" in gdf.columns else popup[:1],
        style={"kind": "point" if order == 80 else "line" if order == 55 else "polygon", "color": "#444"},
    )


def _fit(m: folium.Map, layers: Mapping[str, gpd.GeoDataFrame], fit_to: str | None) -> None:
    frames = [layers[fit_to]] if fit_to and fit_to in layers else list(layers.values())
    frames = [f for f in frames if not f.empty]
    if not frames:
        return
    bounds = [f.total_bounds for f in frames]
    west = min(b[0] for b in bounds)
    south = min(b[1] for b in bounds)
    east = max(b[2] for b in bounds)
    north = max(b[3] for b in bounds)
    m.fit_bounds([[south, west], [north, east]])


def build_map(
    layers: Mapping[str, gpd.GeoDataFrame],
    specs: Mapping[str, LayerSpec] | None = None,
    *,
    title: str = DEFAULT_TITLE,
    fit_to: str | None = "corridor_belt",
    hidden: tuple[str, ...] = (),
    offline: bool = False,
    title_links_html: str = "",
    big: Mapping[str, bool | str] | None = None,
) -> folium.Map:
    """Draw layers on an interactive map.

    Parameters
    ----------
    layers : GeoDataFrames keyed by layer name, in any CRS (drawn in EPSG:4326).
    specs : catalog entries for styles, popups and groups (default: the catalog; a layer with no
        entry gets a plain style in the group "Your layers").
    title : map title.
    fit_to : layer whose extent the map opens on (default the corridor belt; all layers if absent).
    hidden : layers present in the control but switched off at start (as are those whose catalog
        entry says ``visible = false``).
    offline : draw the vector basemap only (no tile layers), for maps that must open with no network.
    title_links_html : trusted, already-escaped links shown under the title (the build's strip diagrams).
    big : per layer, draw through the large-layer path always (True), never (False) or by size
        ("auto"); default the catalog entry's ``big`` key ("auto").

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import corridormap
    >>> m = corridormap.build_map(corridormap.load_layers(["industrial_nodes"]))
    >>> type(m).__name__
    'Map'
    """
    big = dict(big or {})
    catalog = dict(specs) if specs is not None else load_catalog()
    resolved = {name: catalog.get(name) or spec_for_frame(name, gdf) for name, gdf in layers.items()}
    order = sorted(resolved, key=lambda n: (resolved[n].draw_order, n))
    shown = {name: to_display(layers[name], name) for name in order}
    m = folium.Map(location=[23.5, 76.0], zoom_start=5, tiles=None, control_scale=True)
    adopt(m, title=html.escape(title))  # rendered text is never compiled as a template again
    add_basemaps(m, offline=offline)
    add_panes(m, [resolved[n] for n in order])
    groups: dict[str, list[folium.map.Layer]] = {}
    by_layer: dict[str, folium.FeatureGroup] = {}
    for name in order:
        spec = resolved[name]
        group = layer_group(
            shown[name], spec, show=name not in hidden and spec.visible, big=big.get(name, spec.big)
        )
        group.add_to(m)
        by_layer[name] = group
        # group names reach the grouped layer control, which inserts them as HTML
        groups.setdefault(html.escape(resolved[name].group), []).append(group)
    extra_overlays = add_controls(
        m, shown, resolved, by_layer, title=title, title_extra_html=title_links_html
    )
    for control_group, extra in extra_overlays.items():
        groups.setdefault(control_group, []).extend(extra)
    known = [html.escape(g) for g in GROUPS]
    ordered_groups = {g: groups[g] for g in [*known, *sorted(set(groups) - set(known))] if g in groups}
    folium.LayerControl(position="topright", collapsed=True).add_to(m)
    GroupedLayerControl(ordered_groups, exclusive_groups=False, collapsed=True, position="topright").add_to(m)
    Legend(legend_entries(shown, resolved)).add_to(m)
    _fit(m, shown, fit_to)
    log.info("map built with %d layers", len(order))
    return m
