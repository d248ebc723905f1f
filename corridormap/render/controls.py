"""The planner's controls: title block, search, measure, fullscreen, minimap, mouse position,
clustering of dense point layers, heat maps of point layers and the "Data sources" panel.

:func:`add_controls` adds them all to a map built by :func:`~corridormap.render.map.build_map` and
returns the extra overlays (heat maps) for the grouped layer control. Every control works with no
network: search runs over names embedded in the page (a large layer's names are read from its own
payload, not embedded twice), the minimap draws the vector country outlines,
and text from data files reaches the page escaped (search tips are set as text, never as HTML).
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
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import Fullscreen, HeatMap, MarkerCluster, MeasureControl
from folium.template import Template

from .. import __version__
from ..catalog.load import LayerSpec
from .basemap import outline_geojson
from .big import big_layer_of
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
    "drop_unused_assets",
]

log = logging.getLogger(__name__)

HEAT_GROUP = "Heat maps"
CLUSTER_MIN_FEATURES = 50
# a heat map embeds every point again: above this many points (big layers) it is left out
HEAT_MAX_FEATURES = 20_000
SEARCH_ZOOM = 11
# tips offered from the large layers per search (each large layer searches its own names)
SEARCH_BIG_LIMIT = 25
_SEARCH_CDN = "https://cdn.jsdelivr.net/npm/leaflet-search@2.9.7/dist"
_MINIMAP_CDN = "https://cdnjs.cloudflare.com/ajax/libs/leaflet-minimap/3.6.1"


class TitleBlock(MacroElement):
    """The map's title and build line, centred at the top."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .cm-title { position: absolute; top: 10px; left: 50%; transform: translateX(-50%); z-index: 800;
                      background: rgba(255,255,255,0.92); padding: 4px 14px; border-radius: 5px;
                      box-shadow: 0 1px 5px rgba(0,0,0,0.35); text-align: center; pointer-events: none;
                      font: 12px/1.3 system-ui, sans-serif; max-width: 60%; }
          .cm-title h1 { margin: 0; font-size: 16px; font-weight: 600; }
          .cm-title .cm-built { color: #555; }
          .cm-title a { pointer-events: auto; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function(map) {
          var div = L.DomUtil.create("div", "cm-title", map.getContainer());
          div.innerHTML = {{ this.html|tojson }};
          // popups opened near the top pan clear of the title block
          L.Popup.mergeOptions({autoPanPaddingTopLeft: L.point(60, 90)});
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, title: str, *, built: dt.date | None = None, extra_html: str = "") -> None:
        """``extra_html`` is trusted markup built by corridormap (escaped links), shown on a line below."""
        super().__init__()
        self._name = "TitleBlock"
        day = (built or dt.datetime.now(dt.UTC).date()).isoformat()
        self.html = (f"<h1>{html.escape(title)}</h1><div class=\"cm-built\">Built {day} with corridormap "
                     f"{html.escape(__version__)} · positions approximate, see Data sources</div>")
        if extra_html:
            self.html += f'<div class="cm-extra">{extra_html}</div>'


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


class SearchControl(JSCSSMixin):
    """Search over feature names, offline: zooms to the feature, switches its layer on, opens its popup.

    ``records`` (:func:`search_records`) are the normal layers' names; the large layers named in
    ``big`` (``{layer name: title}``) are searched as the user types through
    ``corridormapBig.search`` over their own payload, and a large-layer result is shown with
    ``layer.focus``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(map) {
          var records = {{ this.records|tojson }};
          var groups = { {%- for key, var in this.groups.items() %}{{ key|tojson }}: {{ var }},{% endfor %} };
          var bigTitles = {{ this.big|tojson }};
          function bigRows(text) {  // matches from the large layers' own names, on the map or not
            var CM = window.corridormapBig;
            if (!CM) { return []; }
            var layers = Object.keys(bigTitles).map(function(n) { return CM.layers[n]; })
              .filter(function(l) { return l && l.data; });
            return CM.search(map, text, {{ this.big_limit }}, layers).map(function(r) {
              var ll = r.layer.anchor(r.feature);
              return {title: r.label, loc: [ll.lat, ll.lng], layer: r.layer.cm.name, feature: r.feature};
            });
          }
          function showBig(ll) {
            var group = groups[ll.layerKey], layer = window.corridormapBig.layers[ll.layerKey];
            if (group && !map.hasLayer(group)) { map.addLayer(group); }
            layer.focus(ll.feature);
          }
          function findLeaf(layer, fid) {
            var found = null;
            if (layer.feature && String(layer.feature.properties.id) === fid) { return layer; }
            if (layer.eachLayer) {
              layer.eachLayer(function(child) { found = found || findLeaf(child, fid); });
            }
            return found;
          }
          function openPopupAt(leaf, latlng) {
            var popup = leaf.getPopup && leaf.getPopup();
            if (!popup) { return; }
            var done = false;
            function open() {
              if (done) { return; }
              done = true;
              L.popup({maxWidth: 420, autoPanPaddingTopLeft: [60, 90]})
                .setLatLng(leaf.getLatLng ? leaf.getLatLng() : latlng)
                .setContent(popup.getContent()).openOn(map);
            }
            map.once("moveend", open);
            setTimeout(open, 700);
          }
          var control = new L.Control.Search({
            sourceData: function(text, callResponse) {
              callResponse(records.concat(bigRows(text)));
              return {abort: function() {}};
            },
            formatData: function(rows) {
              var out = {};
              rows.forEach(function(r) {
                var ll = L.latLng(r.loc[0], r.loc[1]), title = r.title, k = 1;
                if (r.feature !== undefined) {  // a large layer's name may repeat: keep every tip
                  ll.feature = r.feature;
                  while (out.hasOwnProperty(title)) {
                    k += 1;
                    title = r.title + " (" + bigTitles[r.layer] + (k > 2 ? " " + (k - 1) : "") + ")";
                  }
                }
                ll.layerKey = r.layer; ll.fid = r.id; out[title] = ll;
              });
              return out;
            },
            moveToLocation: function(ll, title, m) {  // a large-layer feature: zoom to its bounds
              if (ll.feature !== undefined) { showBig(ll); } else { m.setView(ll, {{ this.zoom }}); }
            },
            buildTip: function(text) {  // as text, never as HTML: names come from data files
              var li = L.DomUtil.create("li", ""); li.textContent = text; return li;
            },
            initial: false, firstTipSubmit: true, autoCollapse: false, collapsed: true,
            zoom: {{ this.zoom }}, position: "topleft", textPlaceholder: {{ this.placeholder|tojson }},
            marker: {icon: false, animate: true,
                     circle: {radius: 14, weight: 3, color: "#e0115f", fill: false}}
          });
          control.on("search:locationfound", function(e) {
            var group = groups[e.latlng.layerKey];
            if (!group || e.latlng.feature !== undefined) { return; }  // (moveToLocation showed it)
            if (!map.hasLayer(group)) { map.addLayer(group); }
            var leaf = findLeaf(group, String(e.latlng.fid));
            if (leaf) { openPopupAt(leaf, e.latlng); }
          });
          map.addControl(control);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )
    default_js = [("Leaflet.Search.js", f"{_SEARCH_CDN}/leaflet-search.min.js")]
    default_css = [("Leaflet.Search.css", f"{_SEARCH_CDN}/leaflet-search.min.css")]

    def __init__(self, records: list[dict[str, Any]], groups: Mapping[str, folium.FeatureGroup], *,
                 big: Mapping[str, str] | None = None,
                 placeholder: str = "Search nodes, stations, ports, zones…",
                 zoom: int = SEARCH_ZOOM, big_limit: int = SEARCH_BIG_LIMIT) -> None:
        super().__init__()
        self._name = "SearchControl"
        self.records = records
        self.groups = {name: group.get_name() for name, group in groups.items()}
        self.big = dict(big or {})
        self.placeholder = placeholder
        self.zoom = int(zoom)
        self.big_limit = int(big_limit)


class MousePosition(MacroElement):
    """Latitude and longitude under the pointer (a few lines of Leaflet, no plugin)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(map) {
          var ctl = L.control({position: "bottomleft"});
          ctl.onAdd = function() {
            var div = L.DomUtil.create("div", "cm-mouse-position leaflet-control-attribution");
            div.textContent = "–";
            map.on("mousemove", function(e) {
              div.textContent = e.latlng.lat.toFixed(4) + "° N, " + e.latlng.lng.toFixed(4) + "° E";
            });
            return div;
          };
          ctl.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MousePosition"


class VectorMiniMap(JSCSSMixin):
    """An overview map drawing the vector country outlines (no tiles, works offline)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(map) {
          var outline = L.geoJson({{ this.data|tojson }}, {interactive: false, style: function(f) {
            return f.properties.highlight
              ? {color: "#7d7361", weight: 1, fillColor: "#f6f2e6", fillOpacity: 1}
              : {color: "#b3aea3", weight: 0.5, fillColor: "#ebe9e4", fillOpacity: 1};
          }});
          var mini = new L.Control.MiniMap(outline, {toggleDisplay: true, position: "bottomright",
            zoomLevelFixed: 3, width: 160, height: 160});
          mini.addTo(map);
          mini._miniMap.getContainer().style.background = "#d6e6ef";
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )
    default_js = [("Control_MiniMap_js", f"{_MINIMAP_CDN}/Control.MiniMap.js")]
    default_css = [("Control_MiniMap_css", f"{_MINIMAP_CDN}/Control.MiniMap.css")]

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__()
        self._name = "VectorMiniMap"
        self.data = data


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
        rows.append({
            "layer": name,
            "title": spec.title,
            "source": str(prov.get("source") or (spec.source.name if spec.source else "not stated")),
            "licence": str(prov.get("licence", "not stated")),
            "as_of": _as_of(spec, layers.get(name)),
            "geometry_quality": str(prov.get("geometry_quality", "not stated")),
        })
    return rows


class DataSources(MacroElement):
    """A "Data sources" button (bottom left) opening a panel with every layer's provenance."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .cm-sources { background: rgba(255,255,255,0.95); border-radius: 5px;
                        box-shadow: 0 1px 5px rgba(0,0,0,0.4);
                        font: 12px/1.35 system-ui, sans-serif; max-width: 460px; }
          .cm-sources button { border: 0; background: none; padding: 5px 10px; font: inherit;
                               font-weight: 600;
                               cursor: pointer; }
          .cm-sources .cm-sources-body { display: none; max-height: 50vh; overflow-y: auto;
                                         padding: 0 10px 8px; }
          .cm-sources.open .cm-sources-body { display: block; }
          .cm-sources table { border-collapse: collapse; }
          .cm-sources th, .cm-sources td { text-align: left; vertical-align: top; padding: 2px 4px;
                                           border-top: 1px solid #e4e4e4; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function(map) {
          var ctl = L.control({position: "bottomleft"});
          ctl.onAdd = function() {
            var div = L.DomUtil.create("div", "cm-sources");
            div.innerHTML = {{ this.html|tojson }};
            div.querySelector("button").onclick = function() { div.classList.toggle("open"); };
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
          };
          ctl.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, rows: list[dict[str, str]]) -> None:
        super().__init__()
        self._name = "DataSources"
        esc = html.escape
        body = "".join(
            f'<tr data-layer="{esc(r["layer"], quote=True)}"><th>{esc(r["title"])}</th>'
            f'<td>{source_links(r["source"])}'
            f'<br>Licence: {esc(r["licence"])}<br>As of: {esc(r["as_of"])}'
            f' · Geometry: {esc(r["geometry_quality"])}'
            "</td></tr>"
            for r in rows
        )
        self.html = (f'<button type="button" aria-expanded="false">Data sources</button>'
                     f'<div class="cm-sources-body"><table>{body}</table></div>')


def cluster_layer(group: folium.FeatureGroup, *, disable_at_zoom: int = 9) -> MarkerCluster:
    """Move the point GeoJson parts of a layer's group into one cluster group inside it.

    Points cluster when zoomed out and are all drawn, in the layer's own pane, from
    ``disable_at_zoom`` on. Returns the cluster group.
    """
    cluster = MarkerCluster(control=False, options={
        "disableClusteringAtZoom": disable_at_zoom, "showCoverageOnHover": False,
        "spiderfyOnMaxZoom": False, "maxClusterRadius": 45,
    })
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


def heat_layer(gdf: gpd.GeoDataFrame, spec: LayerSpec, *, weight: str | None = None) -> HeatMap:
    """A heat map of a point layer (``gdf`` in EPSG:4326), off at start; optionally weighted by a column."""
    pts = gdf.geometry.representative_point()
    if weight and weight in gdf.columns:
        values = gdf[weight].fillna(0).astype(float)
    else:
        values = pd.Series(1.0, index=gdf.index)
    top = float(values.max()) or 1.0
    data = [[round(p.y, 5), round(p.x, 5), round(float(v) / top, 4)]
            for p, v in zip(pts, values, strict=True) if p is not None and not p.is_empty]
    name = html.escape(f"{spec.title} (heat map)")  # the layer control inserts names as HTML
    return HeatMap(data, name=name, show=False, radius=22, blur=16, min_opacity=0.3)


# folium.Map loads Bootstrap 5 (about 280 KB) though nothing on corridormap's map uses it, and its
# grid class ``.row`` restyles any element of that class (the legend's rows, for one).
UNUSED_MAP_ASSETS = frozenset({"bootstrap", "bootstrap_css"})


def drop_unused_assets(m: folium.Map) -> None:
    """Stop ``m`` from loading the folium defaults in :data:`UNUSED_MAP_ASSETS` (Bootstrap)."""
    m.default_js = [(n, u) for n, u in m.default_js if n not in UNUSED_MAP_ASSETS]
    m.default_css = [(n, u) for n, u in m.default_css if n not in UNUSED_MAP_ASSETS]


def add_controls(
    m: folium.Map,
    layers: Mapping[str, gpd.GeoDataFrame],
    specs: Mapping[str, LayerSpec],
    groups: Mapping[str, folium.FeatureGroup],
    *,
    title: str,
    built: dt.date | None = None,
    title_extra_html: str = "",
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
    title_extra_html : trusted, already-escaped markup for a line under the title (e.g. links).
    cluster_min_features : point layers with at least this many features cluster when zoomed out.

    Returns
    -------
    dict
        Extra overlays for the grouped layer control, by control group (the heat maps).
    """
    drop_unused_assets(m)
    TitleBlock(title, built=built, extra_html=title_extra_html).add_to(m)
    Fullscreen(position="topleft", title="Full screen", title_cancel="Leave full screen").add_to(m)
    MeasureControl(position="topleft", primary_length_unit="kilometers", secondary_length_unit="meters",
                   primary_area_unit="hectares", secondary_area_unit="sqkilometers",
                   units={"sqkilometers": {"factor": 1e-6, "display": "km²", "decimals": 1}}).add_to(m)
    searchable = {n: g for n, g in groups.items() if specs[n].search}
    # a large layer (as layer_group drew it) is searched in its own payload, not embedded again
    big = {n: specs[n].title for n, g in searchable.items() if big_layer_of(g) is not None}
    if searchable:
        records = search_records({n: layers[n] for n in searchable if n not in big}, specs)
        SearchControl(records, searchable, big=big).add_to(m)
    MousePosition().add_to(m)
    VectorMiniMap(outline_geojson()).add_to(m)
    DataSources(source_rows(layers, specs)).add_to(m)
    heat: list[folium.map.Layer] = []
    for name, gdf in layers.items():
        if specs[name].kind != "point" or gdf.empty:
            continue
        parts = groups[name]._children.values() if name in groups else ()
        if len(gdf) >= cluster_min_features and any(isinstance(c, folium.GeoJson) for c in parts):
            cluster_layer(groups[name])  # (a large layer draws on canvas tiles: nothing to cluster)
        if specs[name].style.get("heatmap", True) is False:  # [style] heatmap = false: not offered
            continue
        if len(gdf) > HEAT_MAX_FEATURES:
            log.info("no heat map for %s: %d points (more than %d)", name, len(gdf), HEAT_MAX_FEATURES)
            continue
        # the catalog may name a weight column ([style] heat_weight); capacity is the natural default
        weight = specs[name].style.get("heat_weight")
        if weight is None and "capacity_mw" in gdf.columns:
            weight = "capacity_mw"
        layer = heat_layer(gdf, specs[name], weight=weight)
        layer.add_to(m)
        heat.append(layer)
    log.info("controls added: %d searchable layers, %d heat maps", len(searchable), len(heat))
    return {HEAT_GROUP: heat} if heat else {}
