"""The planner's controls: title block (with the strip diagrams), search, measure, fullscreen,
minimap, pointer position, clustering of dense point layers, heat maps of point layers (:mod:`.heat`:
a large layer's drawn from its own points) and the "Data sources" panel.

:func:`add_controls` adds them all to a map built by :func:`~corridormap.render.map.build_map` and
returns the extra overlays (heat maps) for the layer panel. Every control works with no network:
search runs over names in the page (a large layer's names are read from its own payload, not
embedded twice), the minimap draws the vector country outlines. The browser code is
``render/js/controls.js``; data reaches it as JSON (:class:`~corridormap.render.page.Component`) and
is set as text there, never as HTML.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
from folium.plugins import Fullscreen, MarkerCluster, MeasureControl

from .. import __version__
from ..catalog.load import LayerSpec
from .basemap import outline_geojson
from .big import BigLayer, big_layer_of
from .heat import BIG_HEAT_MAX_FEATURES, HEAT_MAX_FEATURES, big_heat_layer, heat_layer
from .page import Component
from .popup import source_links

__all__ = [
    "add_controls",
    "TitleBlock",
    "SearchControl",
    "MousePosition",
    "VectorMiniMap",
    "DataSources",
    "search_records",
    "source_rows",
    "cluster_layer",
    "heat_layer",
    "HEAT_GROUP",
    "CLUSTER_MIN_FEATURES",
    "HEAT_MAX_FEATURES",
    "BIG_HEAT_MAX_FEATURES",
    "drop_unused_assets",
]

log = logging.getLogger(__name__)

HEAT_GROUP = "Heat maps"
# a point layer clusters when zoomed out only from this many features (sparser layers never do)
CLUSTER_MIN_FEATURES = 300
CLUSTER_NOTE = (
    "Numbered circles in this layer's colour group nearby features when zoomed out; "
    "click one or zoom in to see them"
)
# below this window size (px) the panel and the overview map start collapsed
SMALL_SCREEN = (1500, 900)
TITLE_NOTE = "Positions approximate; boundaries approximate, not authoritative. See Data sources"
SEARCH_ZOOM = 11
# tips offered from the large layers per search (each large layer searches its own names)
SEARCH_BIG_LIMIT = 25
_SEARCH_CDN = "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist"
_MINIMAP_CDN = "https://cdnjs.cloudflare.com/ajax/libs/leaflet-minimap/3.6.1"


class TitleBlock(Component):
    """The map's title, build line, caveat and the strip diagrams (inline SVG in a dialog).

    ``strips``: ``{"title", "file", "svg"}`` per diagram (SVG text made by corridormap).
    """

    def __init__(
        self,
        title: str,
        *,
        built: dt.date | None = None,
        strips: list[dict[str, str]] | None = None,
        note: str = TITLE_NOTE,
    ) -> None:
        day = (built or dt.datetime.now(dt.UTC).date()).isoformat()
        self.built = f"Built {day} with corridormap {__version__}"
        super().__init__(
            "title",
            {"title": title, "built": self.built, "note": note, "strips": strips or []},
            js=("controls.js",),
        )
        # the same text as HTML, escaped (what a reader sees; for tests and the notebook)
        self.html = (
            f'<h1>{html.escape(title)}</h1><div class="cm-built">{html.escape(self.built)}</div>'
            f'<div class="cm-note">{html.escape(note)}</div>'
        )


def search_records(
    layers: Mapping[str, gpd.GeoDataFrame], specs: Mapping[str, LayerSpec]
) -> list[dict[str, Any]]:
    """One record per named feature of the searchable layers (``spec.search``), EPSG:4326.

    ``title`` is the feature name (the layer title is appended where a name repeats), ``loc`` is
    ``[lat, lon]`` of the point (a point inside a line or polygon), ``layer`` and ``id`` find the
    feature on the map (``id`` as the renderer writes it).
    """
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    for name, gdf in layers.items():
        spec = specs[name]
        if not spec.search or "name" not in gdf.columns or gdf.empty:
            continue
        points = gdf.geometry.representative_point()
        positions = pd.Series(range(len(gdf)), index=gdf.index)
        ids = (gdf["id"] if "id" in gdf.columns else positions).astype(str)
        for (idx, label), pt in zip(gdf["name"].items(), points, strict=True):
            if pd.isna(label) or pt is None or pt.is_empty:
                continue
            title = str(label) if str(label) not in seen else f"{label} ({spec.title})"
            seen.add(title)
            loc = [round(pt.y, 6), round(pt.x, 6)]
            records.append({"title": title, "loc": loc, "layer": name, "id": ids[idx]})
    return records


class SearchControl(Component):
    """Search over feature names, offline: zooms to the feature, switches its layer on, opens its popup.

    ``records`` (:func:`search_records`) are the normal layers' names; the large layers named in
    ``big`` (``{layer name: title}``) are searched as the user types through
    ``corridormapBig.search`` over their own payload, and a large-layer result is shown with
    ``layer.focus`` (``render/js/controls.js``).
    """

    default_js = [("Leaflet.Search.js", f"{_SEARCH_CDN}/leaflet-search.min.js")]
    default_css = [("Leaflet.Search.css", f"{_SEARCH_CDN}/leaflet-search.min.css")]

    def __init__(
        self,
        records: list[dict[str, Any]],
        groups: Mapping[str, folium.FeatureGroup],
        *,
        big: Mapping[str, str] | None = None,
        placeholder: str = "Search nodes, stations, ports, zones…",
        zoom: int = SEARCH_ZOOM,
        big_limit: int = SEARCH_BIG_LIMIT,
    ) -> None:
        self.records = records
        self.big = dict(big or {})
        names = list(groups)
        data = {
            "records": records,
            "layers": names,
            "big": self.big,
            "placeholder": placeholder,
            "zoom": int(zoom),
            "bigLimit": int(big_limit),
        }
        super().__init__("search", data, [groups[n] for n in names], js=("controls.js",))


class MousePosition(Component):
    """Latitude and longitude under the pointer, kept true after a pan, zoom or search."""

    def __init__(self) -> None:
        super().__init__("mouse", {}, js=("controls.js",))


class VectorMiniMap(Component):
    """An overview map drawing the vector country outlines (no tiles, works offline); minimised on
    small screens."""

    default_js = [("Control_MiniMap_js", f"{_MINIMAP_CDN}/Control.MiniMap.js")]
    default_css = [("Control_MiniMap_css", f"{_MINIMAP_CDN}/Control.MiniMap.css")]

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.outline = data
        config = {"outline": data, "smallWidth": SMALL_SCREEN[0], "smallHeight": SMALL_SCREEN[1]}
        super().__init__("minimap", config, js=("controls.js",))


def _as_of(spec: LayerSpec, gdf: gpd.GeoDataFrame | None) -> str:
    if spec.provenance.get("as_of"):
        return str(spec.provenance["as_of"])
    if gdf is not None and "as_of" in gdf.columns and gdf["as_of"].notna().any():
        dates = sorted(str(v) for v in gdf["as_of"].dropna())
        return dates[-1] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
    return "not stated"


def source_rows(
    layers: Mapping[str, gpd.GeoDataFrame], specs: Mapping[str, LayerSpec]
) -> list[dict[str, str]]:
    """One row per layer, top layer first: title, source, licence, as-of date(s), geometry quality
    (plain text; the panel escapes it). The as-of date comes from the catalog, else the features'
    ``as_of`` range."""
    rows = []
    for name in sorted(layers, key=lambda n: (-specs[n].draw_order, n)):
        spec, prov = specs[name], specs[name].provenance
        rows.append(
            {
                "layer": name,
                "title": spec.title,
                "source": str(prov.get("source") or (spec.source.name if spec.source else "not stated")),
                "licence": str(prov.get("licence", "not stated")),
                "as_of": _as_of(spec, layers.get(name)),
                "geometry_quality": str(prov.get("geometry_quality", "not stated")),
            }
        )
    return rows


class DataSources(Component):
    """A "Data sources and caveats" button (bottom left) opening every layer's provenance."""

    def __init__(self, rows: list[dict[str, str]], notes: list[str] | tuple[str, ...] = ()) -> None:
        data = [{**r, "source_html": source_links(r["source"])} for r in rows]
        super().__init__("sources", {"rows": data, "notes": list(notes)}, js=("controls.js",))
        esc = html.escape
        body = "".join(
            f'<tr data-layer="{esc(r["layer"], quote=True)}"><th>{esc(r["title"])}</th>'
            f"<td>{source_links(r['source'])}"
            f"<br>Licence: {esc(r['licence'])}<br>As of: {esc(r['as_of'])}"
            f" · Geometry: {esc(r['geometry_quality'])}"
            "</td></tr>"
            for r in rows
        )
        # the same text as HTML, escaped (what a reader sees; the page builds it from the JSON)
        self.html = f"<table>{''.join(esc(n) for n in notes)}{body}</table>"


def cluster_layer(
    group: folium.FeatureGroup, *, disable_at_zoom: int = 9, color: str = "#555"
) -> MarkerCluster:
    """Move the point GeoJson parts of a layer's group into one cluster group inside it.

    Points cluster when zoomed out, drawn as circles in the layer's ``color`` with the count
    (``corridormap.clusterIcon``), and are all drawn, in the layer's own pane, from
    ``disable_at_zoom`` on. Returns the cluster group.
    """
    cluster = MarkerCluster(
        control=False,
        icon_create_function="corridormap.clusterIcon",
        options={
            "disableClusteringAtZoom": disable_at_zoom,
            "showCoverageOnHover": False,
            "spiderfyOnMaxZoom": False,
            "maxClusterRadius": 45,
            "cmColor": color,
        },
    )
    children = list(group._children.items())
    group._children.clear()
    cluster.add_to(group)
    for key, child in children:
        if isinstance(child, folium.GeoJson):
            child._parent = None
            cluster.add_child(child, name=key)
        else:
            group.add_child(child, name=key)
    return cluster


# folium.Map loads Bootstrap 5, jQuery, Font Awesome and the awesome-markers plugin (about 600 KB
# inlined) though nothing on corridormap's map uses them (its markers are circles and its labels and
# badges plain elements), and Bootstrap's grid class ``.row`` restyles any element of that class.
UNUSED_MAP_ASSETS = frozenset(
    {
        "bootstrap",
        "bootstrap_css",
        "jquery",
        "awesome_markers",
        "awesome_markers_css",
        "awesome_markers_font_css",
        "glyphicons_css",
        "awesome_rotate_css",
    }
)


def drop_unused_assets(m: folium.Map) -> None:
    """Stop ``m`` from loading the folium defaults in :data:`UNUSED_MAP_ASSETS`."""
    m.default_js = [(n, u) for n, u in m.default_js if n not in UNUSED_MAP_ASSETS]
    m.default_css = [(n, u) for n, u in m.default_css if n not in UNUSED_MAP_ASSETS]


def _heat_for(
    name: str, gdf: gpd.GeoDataFrame, spec: LayerSpec, big: BigLayer | None, weight: str | None
) -> folium.map.Layer | None:
    """The heat map of one point layer: from the large layer's own points when it took the large
    path, else folium's (points embedded); None (logged) above the path's cap."""
    if big is not None and big.options.get("kind") == "point":
        n = big.options["counts"]["features"]
        if n > BIG_HEAT_MAX_FEATURES:
            log.info("no heat map for %s: %d points (more than %d)", name, n, BIG_HEAT_MAX_FEATURES)
            return None
        return big_heat_layer(big, gdf, spec, weight=weight)
    if len(gdf) > HEAT_MAX_FEATURES:
        log.info("no heat map for %s: %d points (more than %d)", name, len(gdf), HEAT_MAX_FEATURES)
        return None
    return heat_layer(gdf, spec, weight=weight)


def add_controls(
    m: folium.Map,
    layers: Mapping[str, gpd.GeoDataFrame],
    specs: Mapping[str, LayerSpec],
    groups: Mapping[str, folium.FeatureGroup],
    *,
    title: str,
    built: dt.date | None = None,
    strips: list[dict[str, str]] | None = None,
    notes: tuple[str, ...] = (),
    basemap_rows: list[dict[str, str]] | None = None,
    cluster_min_features: int = CLUSTER_MIN_FEATURES,
) -> dict[str, list[folium.map.Layer]]:
    """Add the planner's controls to ``m``.

    Parameters
    ----------
    m : the map.
    layers : the drawn layers, EPSG:4326, keyed by layer name.
    specs : their catalog entries.
    groups : each layer's FeatureGroup on the map (as built by ``layer_group``).
    title : map title for the title block.
    built : build date shown in the title block (default today, UTC).
    strips : strip diagrams shown from the title block (``{"title", "file", "svg"}`` each).
    notes : caveats shown at the top of the Data sources panel.
    basemap_rows : the basemap's sources, listed after the layers' in the Data sources panel.
    cluster_min_features : point layers with at least this many features cluster when zoomed out.

    Returns
    -------
    dict
        Extra overlays for the grouped layer control, by control group (the heat maps).
    """
    drop_unused_assets(m)
    TitleBlock(title, built=built, strips=strips).add_to(m)
    Fullscreen(position="topleft", title="Full screen", title_cancel="Leave full screen").add_to(m)
    MeasureControl(
        position="topleft",
        primary_length_unit="kilometers",
        secondary_length_unit="meters",
        primary_area_unit="hectares",
        secondary_area_unit="sqkilometers",
        units={"sqkilometers": {"factor": 1e-6, "display": "km²", "decimals": 1}},
    ).add_to(m)
    searchable = {n: g for n, g in groups.items() if specs[n].search}
    # a large layer (as layer_group drew it) is searched in its own payload, not embedded again
    big = {n: specs[n].title for n, g in searchable.items() if big_layer_of(g) is not None}
    if searchable:
        records = search_records({n: layers[n] for n in searchable if n not in big}, specs)
        SearchControl(records, searchable, big=big).add_to(m)
    MousePosition().add_to(m)
    VectorMiniMap(outline_geojson()).add_to(m)
    DataSources([*source_rows(layers, specs), *(basemap_rows or [])], notes).add_to(m)
    heat: list[folium.map.Layer] = []
    for name, gdf in layers.items():
        if specs[name].kind != "point" or gdf.empty:
            continue
        parts = groups[name]._children.values() if name in groups else ()
        if len(gdf) >= cluster_min_features and any(isinstance(c, folium.GeoJson) for c in parts):
            colour = str(specs[name].style.get("fill_color") or specs[name].style.get("color") or "#555")
            # (a large layer draws on canvas tiles: nothing to cluster)
            cluster_layer(groups[name], color=colour)
        if specs[name].style.get("heatmap", True) is False:  # [style] heatmap = false: not offered
            continue
        # the catalog may name a weight column ([style] heat_weight); capacity is the natural default
        weight = specs[name].style.get("heat_weight")
        if weight is None and "capacity_mw" in gdf.columns:
            weight = "capacity_mw"
        big_layer = big_layer_of(groups[name]) if name in groups else None
        layer = _heat_for(name, gdf, specs[name], big_layer, weight)
        if layer is None:
            continue
        layer.add_to(m)
        heat.append(layer)
    log.info("controls added: %d searchable layers, %d heat maps", len(searchable), len(heat))
    return {HEAT_GROUP: heat} if heat else {}
