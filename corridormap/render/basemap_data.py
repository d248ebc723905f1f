"""The offline basemap's data: prepared once from public-domain / CC0 files, read at build time.

:func:`prepare_basemap` turns the third-party files (Natural Earth 1:10m land; the datameet 2019
state polygons) into the small files shipped in ``data/basemap/`` (clipped, repaired, simplified,
coordinates rounded). Rivers, lakes and cities come from the project's Natural Earth context files
(``data/ne_water_belt.geojson``, ``data/ne_places_belt.geojson``). :func:`basemap_layers` reads them
all; the map simplifies once more for the zoomed-out level. Sources and licences are in
``render/basemap.toml`` and ``data/README.md``.

Run again after a source changes::

    python -m corridormap.render.basemap_data ../shared/data data/basemap
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from .. import settings
from ..errors import DataSourceNotFoundError

__all__ = [
    "BASEMAP_FILES",
    "CONTEXT_FILES",
    "FINE_TOLERANCE_DEG",
    "MIN_CITY_POPULATION",
    "prepare_basemap",
    "basemap_layers",
    "simplified",
]

log = logging.getLogger(__name__)

FINE_TOLERANCE_DEG = 0.003  # about 300 m: the detail of Natural Earth from zoom 7
STATE_TOLERANCE_DEG = 0.005  # about 500 m: state boundaries (the source is already simplified)
MIN_PART_DEG2 = 0.002  # state polygon parts smaller than this (about 20 km²: slivers, islets) are left out
STATE_EXTENT = (66.0, 6.0, 90.0, 34.0)  # west, south, east, north: the states drawn
DECIMALS = 3  # about 100 m
MIN_CITY_POPULATION = 300_000
BASEMAP_FILES = {  # in data/basemap/, made by prepare_basemap
    "land": "land_ne10m.geojson",
    "states": "states_datameet2019.geojson",
}
# the project's Natural Earth context files (in data/, shipped for the sectors) serve the basemap too
CONTEXT_FILES = {"water": "ne_water_belt.geojson", "places": "ne_places_belt.geojson"}
_SOURCES = {
    "land": "natural_earth_belt/ne_10m_land_belt.geojson",
    "states": "india_states_2019.geojson",
}


def simplified(gdf: gpd.GeoDataFrame, tolerance_deg: float, decimals: int = DECIMALS) -> gpd.GeoDataFrame:
    """A copy simplified (topology kept per feature) and rounded; empty results dropped."""
    out = gdf.copy()
    geoms = shapely.simplify(np.asarray(out.geometry.values), tolerance_deg, preserve_topology=True)
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, decimals))
    out = out.set_geometry(list(geoms), crs=gdf.crs)
    return out[~out.geometry.is_empty & out.geometry.notna()]


def _read(src: Path, key: str) -> gpd.GeoDataFrame:
    path = src / _SOURCES[key]
    if not path.is_file():
        raise DataSourceNotFoundError(
            f"basemap source {path} is missing. Fix: pass the folder holding {_SOURCES[key]}"
        )
    frame = gpd.read_file(path)
    return frame.to_crs("EPSG:4326") if frame.crs else frame.set_crs("EPSG:4326")


def _states(states: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Repaired (``make_valid``, polygonal parts kept, every repair logged), the outer rings of the
    parts that matter (the dissolve left slivers and pin-holes), clipped to :data:`STATE_EXTENT`."""
    for name in states.loc[~states.geometry.is_valid, "st_name"]:
        log.info("basemap: state polygon %s is invalid; repaired with make_valid", name)
    cleaned = []
    for geom in shapely.make_valid(np.asarray(states.geometry.values)):
        polygonal = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        parts = [p for p in shapely.get_parts(polygonal) if p.area >= MIN_PART_DEG2]
        rings = shapely.MultiPolygon([shapely.Polygon(p.exterior) for p in parts])
        cleaned.append(shapely.clip_by_rect(rings, *STATE_EXTENT))
    out = gpd.GeoDataFrame({"name": states["st_name"].to_numpy()}, geometry=cleaned, crs=states.crs)
    return out[~out.geometry.is_empty]


def prepare_basemap(src: str | Path, out: str | Path) -> dict[str, Path]:
    """Write the basemap files of :data:`BASEMAP_FILES` into ``out`` from the sources in ``src``."""
    src, out = Path(src), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames = {
        "land": simplified(_read(src, "land")[["geometry"]], FINE_TOLERANCE_DEG),
        "states": simplified(_states(_read(src, "states")), STATE_TOLERANCE_DEG),
    }
    written = {}
    for key, frame in frames.items():
        path = out / BASEMAP_FILES[key]
        path.unlink(missing_ok=True)
        frame.to_file(path, driver="GeoJSON", COORDINATE_PRECISION=4, RFC7946="YES")
        written[key] = path
        log.info("basemap: %s -> %s (%d features)", key, path, len(frame))
    return written


@functools.lru_cache(maxsize=2)
def _layers(data_dir: Path) -> dict[str, gpd.GeoDataFrame]:
    files = {
        **{k: Path("basemap") / n for k, n in BASEMAP_FILES.items()},
        **{k: Path(n) for k, n in CONTEXT_FILES.items()},
    }
    frames = {}
    for key, name in files.items():
        path = data_dir / name
        if not path.is_file():
            raise DataSourceNotFoundError(
                f"the offline basemap file {path} is missing. Fix: reinstall corridormap, or run "
                "python -m corridormap.render.basemap_data SHARED_DATA_DIR data/basemap"
            )
        frames[key] = gpd.read_file(path)
    water = frames.pop("water")
    lake = water["water_kind"].isin(["lake", "reservoir"])
    frames["lakes"] = simplified(water.loc[lake, ["name", "geometry"]], FINE_TOLERANCE_DEG)
    frames["rivers"] = simplified(water.loc[~lake, ["name", "geometry"]], FINE_TOLERANCE_DEG)
    places = frames.pop("places")
    frames["cities"] = places.loc[
        places["pop_max"] >= MIN_CITY_POPULATION, ["name", "country", "pop_max", "geometry"]
    ].reset_index(drop=True)
    return frames


def basemap_layers() -> dict[str, gpd.GeoDataFrame]:
    """The basemap's layers (EPSG:4326, copies): ``land`` and ``states`` (``data/basemap/``),
    ``lakes`` and ``rivers`` (``data/ne_water_belt.geojson``), ``cities`` (``data/ne_places_belt.geojson``,
    population at least :data:`MIN_CITY_POPULATION`)."""
    return {k: v.copy() for k, v in _layers(Path(settings.data_dir)).items()}


if __name__ == "__main__":  # pragma: no cover (a maintenance command)
    logging.basicConfig(level=logging.INFO)
    for key, path in prepare_basemap(sys.argv[1], sys.argv[2]).items():
        print(key, path, path.stat().st_size)
