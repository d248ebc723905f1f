"""Basemaps: tile layers when the map may use the network, a vector basemap that needs none.

The vector basemap is drawn from installed data only (``basemap.toml`` says what and why): country
outlines from the Natural Earth 1:110m file that pyogrio's wheel installs, with India highlighted,
and corridormap's own list of approximate city points with labels. The corridor belt is one of the
map's layers, so it is not repeated here. No installed package carries Indian state boundaries, so
none are drawn. Online maps offer OpenStreetMap, a light basemap and satellite imagery (no API
key), plus the vector basemap; offline maps offer the vector basemap only.
"""

from __future__ import annotations

import functools
import html
import importlib.util
import logging
import tomllib
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
from branca.element import MacroElement
from folium.template import Template
from folium.utilities import JsCode
from shapely.geometry import Point, box

from ..errors import DataSourceNotFoundError

__all__ = ["VECTOR_NAME", "BASEMAP_PANE", "countries", "cities", "vector_basemap", "add_basemaps",
           "outline_geojson"]

log = logging.getLogger(__name__)

VECTOR_NAME = "Vector basemap (offline)"
BASEMAP_PANE = "cm-basemap"
SEA_COLOUR = "#d6e6ef"
MAX_ZOOM = 18
_CONFIG = Path(__file__).with_name("basemap.toml")


@functools.lru_cache(maxsize=1)
def _config() -> dict[str, Any]:
    return tomllib.loads(_CONFIG.read_text(encoding="utf-8"))


def _countries_file() -> Path:
    cfg = _config()["countries"]
    spec = importlib.util.find_spec(cfg["package"])
    if spec is None or not spec.submodule_search_locations:
        raise DataSourceNotFoundError(
            f"the vector basemap needs the {cfg['package']!r} package; reinstall corridormap")
    path = Path(list(spec.submodule_search_locations)[0]) / cfg["path"]
    if not path.is_file():
        raise DataSourceNotFoundError(
            f"the vector basemap's country outlines are missing at {path} (they ship in the "
            f"{cfg['package']} wheel); reinstall {cfg['package']} from a wheel"
        )
    return path


@functools.lru_cache(maxsize=1)
def _countries_cached() -> gpd.GeoDataFrame:
    cfg = _config()["countries"]
    frame = gpd.read_file(_countries_file(), bbox=tuple(cfg["bbox"]))
    frame = frame.to_crs("EPSG:4326") if frame.crs else frame.set_crs("EPSG:4326")
    clipped = gpd.clip(frame[["name", "iso_a3", "geometry"]], box(*cfg["bbox"]))
    clipped = clipped[~clipped.geometry.is_empty]
    clipped["highlight"] = clipped["iso_a3"] == cfg["highlight"]
    return clipped.sort_values("highlight").reset_index(drop=True)


def countries() -> gpd.GeoDataFrame:
    """Country outlines around India (EPSG:4326): ``name``, ``iso_a3``, ``highlight`` (India)."""
    return _countries_cached().copy()


def cities() -> gpd.GeoDataFrame:
    """corridormap's approximate city points (EPSG:4326): ``name``."""
    points = _config()["cities"]["points"]
    return gpd.GeoDataFrame(
        {"name": list(points)},
        geometry=[Point(lon, lat) for lat, lon in points.values()],
        crs="EPSG:4326",
    )


def outline_geojson(*, tolerance_deg: float = 0.05) -> dict[str, Any]:
    """Simplified country outlines as a GeoJSON mapping (for the minimap)."""
    frame = countries()
    frame["geometry"] = frame.geometry.simplify(tolerance_deg)
    return frame.__geo_interface__


_CITY_LABEL = JsCode(
    """function(feature, layer) {
        layer.bindTooltip(feature.properties.label,
            {permanent: true, direction: "right", offset: [3, 0], className: "cm-city-label"});
    }"""
)


def vector_basemap(*, show: bool = True) -> folium.FeatureGroup:
    """The vector basemap as one base layer: countries (India highlighted) and labelled cities."""
    group = folium.FeatureGroup(name=VECTOR_NAME, overlay=False, show=show)
    land = countries()
    folium.GeoJson(
        land,
        name="countries",
        style_function=lambda f: {
            "color": "#7d7361" if f["properties"]["highlight"] else "#b3aea3",
            "weight": 1.4 if f["properties"]["highlight"] else 0.8,
            "fillColor": "#f6f2e6" if f["properties"]["highlight"] else "#ebe9e4",
            "fillOpacity": 1.0,
        },
        pane=BASEMAP_PANE,
        interactive=False,
        control=False,
    ).add_to(group)
    towns = cities()
    towns["label"] = towns["name"].map(html.escape)
    dot = folium.CircleMarker(radius=2.5, color="#555", weight=1, fill=True, fill_color="#fff",
                              fill_opacity=1.0)
    dot.options.update(pane=BASEMAP_PANE, interactive=False)  # folium's path_options drops both
    folium.GeoJson(
        towns,
        name="cities",
        marker=dot,
        on_each_feature=_CITY_LABEL,
        pane=BASEMAP_PANE,
        control=False,
    ).add_to(group)
    return group


class _BasemapStyle(MacroElement):
    """Sea-coloured background under the vector basemap; small grey city labels."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .leaflet-tooltip.cm-city-label { background: transparent; border: 0; box-shadow: none;
              padding: 0 2px; color: #444; font: 11px/1.1 system-ui, sans-serif;
              text-shadow: 0 0 3px #fff, 0 0 3px #fff; }
          .leaflet-tooltip.cm-city-label::before { display: none; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function(map, vector) {
          var credit = {{ this.credit|tojson }}, shown = false;
          function paint() {
            var on = map.hasLayer(vector);
            map.getContainer().style.background = on ? {{ this.sea|tojson }} : "";
            if (map.attributionControl && on !== shown) {
              if (on) { map.attributionControl.addAttribution(credit); }
              else { map.attributionControl.removeAttribution(credit); }
              shown = on;
            }
          }
          map.on("baselayerchange", paint);
          map.whenReady(paint);
        })({{ this._parent.get_name() }}, {{ this.vector.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, vector: folium.FeatureGroup) -> None:
        super().__init__()
        self._name = "BasemapStyle"
        self.vector = vector
        self.sea = SEA_COLOUR
        cfg = _config()
        # folium does not pass a FeatureGroup's options to Leaflet, so the credit is added here
        self.credit = html.escape(f"{cfg['countries']['attribution']}; {cfg['cities']['attribution']}")


def add_basemaps(m: folium.Map, *, offline: bool) -> None:
    """Add the basemaps: online, the tile layers (OpenStreetMap first) and the vector basemap;
    offline, the vector basemap alone, so the map requests no tiles."""
    # with no tile layer Leaflet knows no zoom limit, which clustering needs
    m.options.setdefault("max_zoom", MAX_ZOOM)
    folium.map.CustomPane(BASEMAP_PANE, z_index=250, pointer_events=False).add_to(m)
    if not offline:
        for i, (name, provider) in enumerate(_config()["online"].items()):
            folium.TileLayer(provider, name=name, show=i == 0).add_to(m)
    vector = vector_basemap(show=offline)
    vector.add_to(m)
    _BasemapStyle(vector).add_to(m)
    log.debug("basemaps added (offline=%s)", offline)
