"""Basemaps: the offline planning basemap beneath, tile basemaps over it when the network allows.

The planning basemap (``basemap.toml`` says what, from where and under which licence) is drawn from
files shipped in ``data/basemap/``: Natural Earth 1:10m land, lakes, rivers and cities, and the
datameet 2019 state boundaries with their names, at two levels of detail (coarser when zoomed out);
neighbouring countries come from the Natural Earth 1:110m file the pyogrio wheel installs. It lies
beneath Leaflet's tile pane: a tile basemap (OpenStreetMap, a light map, satellite imagery, no API
key) covers it once its tiles load, and where they cannot load (no network) it stays in view, with
no error shown. Offline maps (``offline=True``) have no tile layer at all and make no request.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import tomllib
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import shapely
from shapely.geometry import box

from ..errors import DataSourceNotFoundError
from .basemap_data import basemap_layers, simplified
from .page import Component

__all__ = [
    "VECTOR_NAME",
    "VECTOR_KEY",
    "countries",
    "cities",
    "add_basemaps",
    "outline_geojson",
    "basemap_data",
    "basemap_sources",
    "encode_line",
    "encoded",
    "BOUNDARY_NOTE",
]

log = logging.getLogger(__name__)

VECTOR_NAME = "Planning basemap only (offline)"
VECTOR_KEY = "planning"
MAX_ZOOM = 18
BOUNDARY_NOTE = (
    "State and country boundaries are approximate and not authoritative (Natural Earth, datameet "
    "2019); they do not depict India's external boundary as the Survey of India does."
)
_CONFIG = Path(__file__).with_name("basemap.toml")


@functools.lru_cache(maxsize=1)
def _config() -> dict[str, Any]:
    return tomllib.loads(_CONFIG.read_text(encoding="utf-8"))


def _countries_file() -> Path:
    cfg = _config()["countries"]
    spec = importlib.util.find_spec(cfg["package"])
    if spec is None or not spec.submodule_search_locations:
        raise DataSourceNotFoundError(
            f"the vector basemap needs the {cfg['package']!r} package; reinstall corridormap"
        )
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
    """The basemap's cities (Natural Earth 1:10m populated places of 300,000 people or more),
    EPSG:4326: ``name`` (in today's official use, ``basemap.toml`` [cities.names]), ``country``,
    ``major`` (labelled at every zoom)."""
    frame = basemap_layers()["cities"]
    cfg = _config()
    renames = cfg["cities"]["names"]
    frame["name"] = frame["name"].map(lambda n: renames.get(n, n))
    frame["major"] = frame["pop_max"] >= cfg["display"]["major_city_population"]
    return frame[["name", "country", "major", "geometry"]]


def outline_geojson(*, tolerance_deg: float = 0.05) -> dict[str, Any]:
    """Simplified country outlines as a GeoJSON mapping (for the minimap)."""
    frame = countries()
    frame["geometry"] = frame.geometry.simplify(tolerance_deg)
    return simplified(frame, tolerance_deg, 2).__geo_interface__  # type: ignore[no-any-return]


ENCODE_DECIMALS = 3  # about 100 m: the planning basemap's coordinates in the page


def encode_line(coords: Any, decimals: int = ENCODE_DECIMALS) -> str:
    """One ring or line as an encoded polyline (Google's algorithm, lat before lon), ``decimals``
    digits kept: about 3-4 characters a vertex instead of about 16 in GeoJSON.

    >>> encode_line([(72.5, 23.0), (72.6, 23.1)], 3)
    'o|k@grlCgEgE'
    >>> encode_line([(-120.2, 38.5), (-120.95, 40.7), (-126.453, 43.252)], 5)  # Google's example
    '_p~iF~ps|U_ulLnnqC_mqNvxq`@'
    """
    scale = 10**decimals
    out: list[str] = []
    prev = (0, 0)
    for x, y in coords:
        cur = (round(y * scale), round(x * scale))
        for delta in (cur[0] - prev[0], cur[1] - prev[1]):
            value = ~(delta << 1) if delta < 0 else delta << 1
            while value >= 0x20:
                out.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            out.append(chr(value + 63))
        prev = cur
    return "".join(out)


def encoded(frame: gpd.GeoDataFrame) -> list[list[list[str]]]:
    """Each feature as parts, each part as rings (polygons: exterior then holes; lines: one), encoded."""
    features = []
    for geom in frame.geometry:
        parts = []
        for part in shapely.get_parts(geom):
            if part.is_empty:
                continue
            if part.geom_type == "Polygon":
                parts.append(
                    [encode_line(part.exterior.coords)] + [encode_line(r.coords) for r in part.interiors]
                )
            else:
                parts.append([encode_line(part.coords)])
        if parts:
            features.append(parts)
    return features


def _geojson(frame: gpd.GeoDataFrame, columns: tuple[str, ...] = ()) -> dict[str, Any]:
    keep = [c for c in columns if c in frame.columns]
    out: dict[str, Any] = frame[[*keep, frame.geometry.name]].__geo_interface__
    out.pop("bbox", None)
    for feature in out["features"]:
        feature.pop("bbox", None)
        feature.pop("id", None)
    return out


@functools.lru_cache(maxsize=1)
def basemap_data() -> dict[str, Any]:
    """Everything the planning basemap draws, as JSON-ready data (``render/js/basemap.js``)."""
    cfg = _config()
    display = cfg["display"]
    layers = basemap_layers()
    fine = {k: layers[k] for k in ("land", "lakes", "rivers", "states")}
    coarse = {k: simplified(v, display["coarse_tolerance_deg"], 2) for k, v in fine.items()}

    def level(frames: dict[str, gpd.GeoDataFrame], lo: int, hi: int) -> dict[str, Any]:
        return {"minZoom": lo, "maxZoom": hi, **{k: encoded(v) for k, v in frames.items()}}

    states = layers["states"]
    labels = gpd.GeoDataFrame({"name": states["name"]}, geometry=states.geometry.representative_point())
    town = cities()
    world = countries()
    world["geometry"] = world.geometry.simplify(0.02)
    return {
        "style": display["style"],
        "decimals": ENCODE_DECIMALS,
        "countries": _geojson(simplified(world, 0.02, 2), ("highlight",)),
        "levels": [level(coarse, 0, display["fine_zoom"] - 1), level(fine, display["fine_zoom"], MAX_ZOOM)],
        "stateLabels": [
            [round(p.y, 3), round(p.x, 3), str(n)]
            for p, n in zip(labels.geometry, labels["name"], strict=True)
        ],
        "cities": [
            [round(g.y, 4), round(g.x, 4), str(n), bool(mj)]
            for g, n, mj in zip(town.geometry, town["name"], town["major"], strict=True)
        ],
        "stateLabelZoom": display["state_label_zoom"],
        "minorCityZoom": display["minor_city_zoom"],
        "credit": display["credit"],
    }


def basemap_sources() -> list[dict[str, str]]:
    """Rows for the Data sources panel: the basemap's sources and licences."""
    cfg = _config()
    return [
        {
            "layer": f"basemap_{key}",
            "title": title,
            "source": cfg[key]["source"],
            "licence": cfg[key]["licence"],
            "as_of": "2019" if key == "states" else "Natural Earth 5.1",
            "geometry_quality": "approximate",
        }
        for key, title in (
            ("detail", "Basemap: land, water, cities"),
            ("states", "Basemap: state boundaries"),
            ("countries", "Basemap: neighbouring countries"),
        )
    ]


def add_basemaps(
    m: folium.Map, *, offline: bool
) -> tuple[list[tuple[str, str, folium.TileLayer | None]], str]:
    """Add the planning basemap and (unless ``offline``) the tile basemaps over it.

    Returns the basemap choices for the layer panel, ``(key, title, tile layer or None)``, and the
    key chosen at start (the first tile basemap online, the planning basemap offline). Tile layers
    are not on the map at start: the panel adds the chosen one.
    """
    # with no tile layer Leaflet knows no zoom limit, which clustering needs
    m.options.setdefault("max_zoom", MAX_ZOOM)
    Component("basemap", basemap_data(), js=("basemap.js",)).add_to(m)
    choices: list[tuple[str, str, folium.TileLayer | None]] = []
    if not offline:
        for i, (name, provider) in enumerate(_config()["online"].items()):
            tiles = folium.TileLayer(provider, name=name, overlay=False, control=False, show=False)
            tiles.add_to(m)
            choices.append((f"tiles{i}", name, tiles))
    choices.append((VECTOR_KEY, VECTOR_NAME if choices else "Planning basemap (offline)", None))
    log.debug("basemaps added (offline=%s)", offline)
    return choices, choices[0][0]
