"""Assemble the corridor map: basemaps, panes, layers, the layer panel with its legend, labels,
gap badges and controls, fitted to the belt.

:func:`build_map` returns a :class:`folium.Map` whose page inlines every asset (it displays in a
notebook and ``m.save(path)`` writes a file that opens with no network); saving is separate
(``m.save(path)``, or :func:`corridormap.build.build_outputs` for the whole default build).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
from folium.plugins import MarkerCluster

from ..catalog.load import GROUPS, LayerSpec, load_catalog
from ..crs import to_display
from .assets import MapFigure
from .basemap import BOUNDARY_NOTE, add_basemaps, basemap_sources
from .controls import CLUSTER_NOTE, HEAT_GROUP, SMALL_SCREEN, add_controls
from .layers import layer_group
from .legend import LayerPanel, layer_swatches, status_rows
from .page import Component, adopt
from .panes import add_panes

__all__ = [
    "build_map",
    "spec_for_frame",
    "DEFAULT_TITLE",
    "GAP_LAYER",
    "gap_flags_by_feature",
    "label_points",
]

log = logging.getLogger(__name__)

DEFAULT_TITLE = "Delhi–Mumbai Industrial Corridor"
GAP_LAYER = "gap_flags"  # drawn as badges on the flagged features and a section of their popups
GAP_FIELDS = ("description", "reason", "severity", "data_note")  # what a gap's popup entry shows
LABEL_PANE, BADGE_PANE = "cm-labels", "cm-badges"


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


def _fit(layers: Mapping[str, gpd.GeoDataFrame], fit_to: str | None) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of ``fit_to`` (all layers if absent), None if empty."""
    frames = [layers[fit_to]] if fit_to and fit_to in layers else list(layers.values())
    frames = [f for f in frames if not f.empty]
    if not frames:
        return None
    bounds = [f.total_bounds for f in frames]
    return [
        [float(min(b[1] for b in bounds)), float(min(b[0] for b in bounds))],
        [float(max(b[3] for b in bounds)), float(max(b[2] for b in bounds))],
    ]


def gap_flags_by_feature(flags: gpd.GeoDataFrame) -> dict[str, dict[str, list[dict[str, str]]]]:
    """Gap flags as ``{layer: {feature id: [{"description", "reason", "severity", "data_note"}]}}``
    (from the gap layer's ``layer`` and ``id`` columns and :data:`GAP_FIELDS`, "" where absent; rows
    without a layer or id are left out)."""
    out: dict[str, dict[str, list[dict[str, str]]]] = {}
    if not {"layer", "id"} <= set(flags.columns):
        return out
    for row in flags.drop(columns=flags.geometry.name).to_dict("records"):
        if pd.isna(row.get("layer")) or pd.isna(row.get("id")):
            continue
        item = {k: "" if pd.isna(row.get(k)) else str(row.get(k)) for k in GAP_FIELDS}
        out.setdefault(str(row["layer"]), {}).setdefault(str(row["id"]), []).append(item)
    return out


def _short(name: str) -> str:
    """A label's text: the name before a bracket or comma (the popup has the full name)."""
    for sep in (" (", ", ", " / "):
        name = name.split(sep)[0]
    return name.strip()


def label_points(gdf: gpd.GeoDataFrame, *, decimals: int = 3) -> list[list[Any]]:
    """``[lat, lon, text]`` per labelled position: features sharing a position get one label
    ("First name +2")."""
    if "name" not in gdf.columns or gdf.empty:
        return []
    pts = gdf.geometry.representative_point()
    groups: dict[tuple[float, float], list[str]] = {}
    for p, n in zip(pts, gdf["name"], strict=True):
        if p is None or p.is_empty or pd.isna(n):
            continue
        groups.setdefault((round(p.y, decimals), round(p.x, decimals)), []).append(_short(str(n)))
    return [
        [lat, lon, names[0] + (f" +{len(names) - 1}" if len(names) > 1 else "")]
        for (lat, lon), names in groups.items()
    ]


def _badges(m: folium.Map, flags: gpd.GeoDataFrame, spec: LayerSpec, show: bool) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name=spec.title, show=show)
    # one badge per flagged position (the popups of the features there say which gaps, and why)
    badges = sorted(
        {
            (round(p.y, 5), round(p.x, 5))
            for p in flags.geometry.representative_point()
            if p is not None and not p.is_empty
        }
    )
    Component("badges", {"badges": badges, "pane": BADGE_PANE}, [group]).add_to(group)
    return group


class _PanelRows:
    """The layer panel's rows, by control group."""

    def __init__(self) -> None:
        self.groups: dict[str, list[dict[str, Any]]] = {}

    def add(
        self,
        group: str,
        key: str,
        title: str,
        element: folium.map.Layer,
        swatches: list[dict[str, str]],
        note: str = "",
    ) -> None:
        self.groups.setdefault(group, []).append(
            {"key": key, "title": title, "element": element, "swatches": swatches, "note": note}
        )

    def ordered(self) -> dict[str, list[dict[str, Any]]]:
        order = [*GROUPS, *sorted(set(self.groups) - set(GROUPS) - {HEAT_GROUP}), HEAT_GROUP]
        return {g: self.groups[g] for g in order if g in self.groups}


def build_map(
    layers: Mapping[str, gpd.GeoDataFrame],
    specs: Mapping[str, LayerSpec] | None = None,
    *,
    title: str = DEFAULT_TITLE,
    fit_to: str | None = "corridor_belt",
    hidden: tuple[str, ...] = (),
    offline: bool = False,
    strips: list[dict[str, str]] | None = None,
    big: Mapping[str, bool | str] | None = None,
) -> folium.Map:
    """Draw layers on an interactive map.

    Parameters
    ----------
    layers : GeoDataFrames keyed by layer name, in any CRS (drawn in EPSG:4326). A layer named
        ``gap_flags`` (columns ``layer``, ``id``, ``description``, ``reason``) is drawn as badges on
        the flagged features and a "Gaps" section of their popups.
    specs : catalog entries for styles, popups and groups (default: the catalog; a layer with no
        entry gets a plain style in the group "Your layers").
    title : map title.
    fit_to : layer whose extent the map opens on (default the corridor belt; all layers if absent).
    hidden : layers present in the layer panel but switched off at start (as are those whose
        catalog entry says ``visible = false``).
    offline : for air-gapped use: no tile basemaps (the planning basemap only) and a page that makes
        no network request. By default the online tile basemaps are offered too: they load when the
        network is there and are skipped when not.
    strips : strip diagrams shown from the title block, ``{"title", "file", "svg"}`` each.
    big : per layer, draw through the large-layer path always (True), never (False) or by size
        ("auto"); default the catalog entry's ``big`` key ("auto").

    Returns
    -------
    folium.Map
        Its page inlines every asset: ``m.save(path)`` and a notebook show it with no network.

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
    gaps = gap_flags_by_feature(shown[GAP_LAYER]) if GAP_LAYER in shown else {}
    m = folium.Map(location=[23.5, 76.0], zoom_start=5, tiles=None, control_scale=True)
    adopt(m, title=html.escape(title), figure=MapFigure(offline=offline))  # data stays data; inlined
    bases, default_base = add_basemaps(m, offline=offline)
    add_panes(m, [resolved[n] for n in order if n != GAP_LAYER or not gaps])
    folium.map.CustomPane(LABEL_PANE, z_index=640, pointer_events=False).add_to(m)
    folium.map.CustomPane(BADGE_PANE, z_index=630, pointer_events=False).add_to(m)
    rows = _PanelRows()
    by_layer: dict[str, folium.FeatureGroup] = {}
    for name in order:
        spec = resolved[name]
        show = name not in hidden and spec.visible
        if name == GAP_LAYER and gaps:
            group = _badges(m, shown[name], spec, show)
            swatch = [{"label": spec.title, "svg": _BADGE_SWATCH}]
        else:
            group = layer_group(
                shown[name], spec, show=show, big=big.get(name, spec.big), gaps=gaps.get(name)
            )
            by_layer[name] = group
            swatch = layer_swatches(shown[name], spec)
        group.add_to(m)
        rows.add(spec.group, name, spec.title, group, swatch)
    extra = add_controls(
        m,
        {n: shown[n] for n in by_layer},
        resolved,
        by_layer,
        title=title,
        strips=strips,
        notes=(BOUNDARY_NOTE,),
        basemap_rows=basemap_sources(),
    )
    for layer in extra.get(HEAT_GROUP, []):
        rows.add(HEAT_GROUP, f"heat:{layer.layer_name}", layer.layer_name, layer, [])
    for name, group in reversed(by_layer.items()):  # top layer first: its labels win where they meet
        if any(isinstance(c, MarkerCluster) for c in group._children.values()):
            for row in rows.groups[resolved[name].group]:
                if row["key"] == name:
                    row["note"] = CLUSTER_NOTE
        zoom = resolved[name].style.get("label_zoom")
        if zoom is not None and resolved[name].kind == "point":
            labels = {"labels": label_points(shown[name]), "minZoom": int(zoom), "pane": LABEL_PANE}
            Component("labels", labels, [group]).add_to(m)
    # the panel opens the map on the corridor, or on the view shared in the URL
    LayerPanel(
        bases,
        rows.ordered(),
        status=status_rows(shown, resolved),
        default_base=default_base,
        notes=[BOUNDARY_NOTE],
        small_screen=SMALL_SCREEN,
        fit=_fit(shown, fit_to),
    ).add_to(m)
    log.info("map built with %d layers", len(order))
    return m


_BADGE_SWATCH = (
    '<svg width="28" height="14" aria-hidden="true">'
    '<circle cx="10" cy="7" r="5" fill="#9d4edd" stroke="#5b2a86"/>'
    '<rect x="14" y="0" width="11" height="10" rx="5" fill="#c62828" stroke="#fff"/></svg>'
)
