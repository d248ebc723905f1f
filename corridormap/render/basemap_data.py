"""The offline basemap's data: prepared once from public-domain / CC0 files, read at build time.

:func:`prepare_basemap` turns the third-party files (Natural Earth 1:10m land, lakes, rivers and
populated places; the datameet 2019 state polygons) into the small files shipped in
``data/basemap/`` (clipped, repaired, simplified to about 300 m, coordinates rounded); the build
reads them with :func:`basemap_layers` and simplifies once more for the zoomed-out level. Sources
and licences are in ``render/basemap.toml`` and ``data/README.md``.

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
from shapely.geometry import box

from .. import settings
from ..errors import DataSourceNotFoundError

__all__ = ["BASEMAP_FILES", "FINE_TOLERANCE_DEG", "prepare_basemap", "basemap_layers", "simplified"]

log = logging.getLogger(__name__)

FINE_TOLERANCE_DEG = 0.003  # about 300 m: the shipped detail of Natural Earth (zoom 7 and in)
STATE_TOLERANCE_DEG = 0.005  # about 500 m: state boundaries (the source is already simplified)
MIN_PART_DEG2 = 0.002  # state polygon parts smaller than this (about 20 km²: slivers, islets) are left out
STATE_EXTENT = (66.0, 6.0, 90.0, 34.0)  # west, south, east, north: the states drawn in detail
DECIMALS = 3  # about 100 m
BASEMAP_FILES = {
    "land": "land_ne10m.geojson",
    "lakes": "lakes_ne10m.geojson",
    "rivers": "rivers_ne10m.geojson",
    "states": "states_datameet2019.geojson",
    "cities": "cities_ne10m.geojson",
}
_SOURCES = {
    "land": "natural_earth_belt/ne_10m_land_belt.geojson",
    "lakes": "natural_earth_belt/ne_10m_lakes_belt.geojson",
    "rivers": "natural_earth_belt/ne_10m_rivers_lake_centerlines_belt.geojson",
    "states": "india_states_2019.geojson",
    "cities": "natural_earth_belt/ne_10m_populated_places_belt.geojson",
}
MIN_CITY_POPULATION = 300_000


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


def prepare_basemap(src: str | Path, out: str | Path) -> dict[str, Path]:
    """Write the basemap files of :data:`BASEMAP_FILES` into ``out`` from the sources in ``src``.

    States: the invalid polygons (Rajasthan and Telangana in the 2019 file) are repaired with
    ``make_valid`` (polygonal parts kept), every repair logged.
    """
    src, out = Path(src), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames: dict[str, gpd.GeoDataFrame] = {}
    frames["land"] = _read(src, "land")[["geometry"]]
    lakes = _read(src, "lakes")
    frames["lakes"] = lakes[["name", "geometry"]]
    rivers = _read(src, "rivers")
    frames["rivers"] = rivers[["name", "scalerank", "geometry"]]
    states = _read(src, "states")
    bad = ~states.geometry.is_valid
    for name in states.loc[bad, "st_name"]:
        log.info("basemap: state polygon %s is invalid; repaired with make_valid", name)
    fixed = shapely.make_valid(np.asarray(states.geometry.values))
    polygonal = [
        shapely.union_all([g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")])
        for geom in fixed
    ]
    # outer rings of the parts that matter (the dissolve left slivers and pin-holes), clipped
    cleaned = []
    for geom in polygonal:
        parts = [p for p in shapely.get_parts(geom) if p.area >= MIN_PART_DEG2]
        cleaned.append(
            shapely.clip_by_rect(
                shapely.MultiPolygon([shapely.Polygon(p.exterior) for p in parts]), *STATE_EXTENT
            )
        )
    states = states.set_geometry(cleaned, crs=states.crs)
    states = states[~states.geometry.is_empty]
    frames["states"] = states[["st_name", "geometry"]].rename(columns={"st_name": "name"})
    places = _read(src, "cities")
    keep = places[(places["POP_MAX"] >= MIN_CITY_POPULATION) & places.intersects(box(66, 16, 82, 33))]
    frames["cities"] = gpd.GeoDataFrame(
        {
            "name": keep["NAME"].to_numpy(),
            "country": keep["ADM0NAME"].to_numpy(),
            "scalerank": keep["SCALERANK"].to_numpy(),
            "pop_max": keep["POP_MAX"].to_numpy(),
        },
        geometry=keep.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    written = {}
    for key, frame in frames.items():
        if key == "cities":
            done = frame
        else:
            done = simplified(frame, STATE_TOLERANCE_DEG if key == "states" else FINE_TOLERANCE_DEG)
        if key == "cities":
            done = done.set_geometry(
                shapely.transform(np.asarray(done.geometry.values), lambda xy: np.round(xy, 4))
            )
        path = out / BASEMAP_FILES[key]
        path.unlink(missing_ok=True)
        done.to_file(path, driver="GeoJSON", COORDINATE_PRECISION=4, RFC7946="YES")
        written[key] = path
        log.info("basemap: %s -> %s (%d features)", key, path, len(done))
    return written


@functools.lru_cache(maxsize=2)
def _layers(data_dir: Path) -> dict[str, gpd.GeoDataFrame]:
    frames = {}
    for key, name in BASEMAP_FILES.items():
        path = data_dir / "basemap" / name
        if not path.is_file():
            raise DataSourceNotFoundError(
                f"the offline basemap file {path} is missing. Fix: reinstall corridormap, or run "
                "python -m corridormap.render.basemap_data SHARED_DATA_DIR data/basemap"
            )
        frames[key] = gpd.read_file(path)
    return frames


def basemap_layers() -> dict[str, gpd.GeoDataFrame]:
    """The shipped basemap layers (EPSG:4326), keyed as :data:`BASEMAP_FILES` (copies)."""
    return {k: v.copy() for k, v in _layers(Path(settings.data_dir)).items()}


if __name__ == "__main__":  # pragma: no cover (a maintenance command)
    logging.basicConfig(level=logging.INFO)
    for key, path in prepare_basemap(sys.argv[1], sys.argv[2]).items():
        print(key, path, path.stat().st_size)
