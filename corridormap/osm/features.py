"""OpenStreetMap in the catalog's schemas: fetched tile by tile from Overpass, or read from an extract.

``fetch_layer("rail", area="belt")`` asks Overpass (through :mod:`corridormap.osm._overpass`: cache,
mirror, retries, resume) for the railway lines in the corridor belt; ``read_extract("india.osm.pbf",
"rail", area=...)`` reads the same from a local ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` file. Both
return a GeoDataFrame in EPSG:4326 with the columns of the catalog layer the features sit beside;
the parsing and normalising they share is :mod:`corridormap.io.osm_extract` (the offline half,
which the users'-files loader also reads extracts with). Areas ("belt", "W,S,E,N", a place name, a
geometry) are resolved here.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from ..catalog.load import read_layer
from ..crs import DISPLAY_CRS, to_display, to_metric
from ..errors import OptionError
from ..io import osm_extract
from ..io._crschecks import INDIA_LAT, INDIA_LON
from ..io.osm_extract import _combine, _file_date, _raw_features, _spec
from . import _overpass

__all__ = ["fetch_layer", "fetch_layers", "read_extract", "resolve_area"]

log = logging.getLogger(__name__)

# more Overpass tiles than this for one kind is a mistake (a box around the world), not a request
MAX_TILES = 1_000
AreaLike = Any  # "belt", "W,S,E,N", a place name, a (w, s, e, n) tuple, a shapely geometry or a GeoDataFrame
Progress = Callable[["_overpass.TileResult", int], None]


# ---- areas --------------------------------------------------------------------------------------

_BBOX = re.compile(r"^\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*$")
# numbers and commas only: meant as a box, never a place name to look up
_NUMBERS = re.compile(r"^[\s\d.,+-]+$")


def _belt() -> shapely.Geometry:
    return to_display(read_layer("corridor_belt"), "corridor belt").geometry.union_all()


def _bbox(values: Sequence[Any], given: object) -> shapely.Geometry:
    """A W,S,E,N box in degrees that can exist and touches India; else :class:`OptionError`."""
    try:
        w, s, e, n = (float(v) for v in values)
    except ValueError:
        raise OptionError(f"area {given!r}: not four numbers. Fix: give W,S,E,N in degrees") from None
    problems = []
    if not all(map(math.isfinite, (w, s, e, n))):
        problems.append("every value must be a finite number")
    elif not (-180 <= w < e <= 180):
        problems.append("west must be less than east, both within -180..180")
    elif not (-90 <= s < n <= 90):
        problems.append("south must be less than north, both within -90..90")
    elif e < INDIA_LON[0] or w > INDIA_LON[1] or n < INDIA_LAT[0] or s > INDIA_LAT[1]:
        problems.append(f"it does not touch India (lon {INDIA_LON}, lat {INDIA_LAT})")
    if problems:
        raise OptionError(
            f"area {given!r} (W,S,E,N): {problems[0]}. Fix: give W,S,E,N in degrees, e.g. 72.5,21.5,73.5,22.5"
        )
    return shapely.box(w, s, e, n)


def _area_geometry(area: AreaLike) -> shapely.Geometry:
    if isinstance(area, gpd.GeoSeries | gpd.GeoDataFrame):
        return to_display(gpd.GeoDataFrame(geometry=area.geometry), "area").geometry.union_all()
    if isinstance(area, shapely.Geometry):
        return area
    if isinstance(area, tuple | list) and len(area) == 4:
        return _bbox(area, area)
    if isinstance(area, str):
        if area == "belt":
            return _belt()
        match = _BBOX.match(area)
        if match:
            return _bbox(match.groups(), area)
        if _NUMBERS.match(area):
            raise OptionError(
                f"area {area!r}: a box needs four numbers W,S,E,N in degrees. Fix: e.g. 72,20,74,22"
            )
        return shapely.geometry.shape(_overpass.geocode(area))
    raise TypeError(
        f"area must be 'belt', 'W,S,E,N', a place name, a bbox tuple, a shapely geometry or a "
        f"GeoDataFrame, not {type(area).__name__}"
    )


def resolve_area(area: AreaLike, *, around_km: float = 1.0) -> shapely.Geometry:
    """An area as one lon/lat (multi)polygon.

    ``area`` is "belt", "W,S,E,N", a place name, a (w, s, e, n) tuple, a shapely geometry (lon/lat)
    or a GeoDataFrame/GeoSeries (any CRS). A point or a line (a place that Nominatim knows as a
    point, a route) becomes the area within ``around_km`` of it, buffered in EPSG:7755.
    """
    geom = _area_geometry(area)
    if geom.is_empty:
        raise ValueError(f"the area {area!r} is empty. Fix: give an area that covers part of India")
    if shapely.get_dimensions(geom) < 2:
        metric = to_metric(gpd.GeoDataFrame(geometry=[geom], crs=DISPLAY_CRS), "area")
        geom = to_display(metric.buffer(around_km * 1000.0).to_frame("geometry"), "area").geometry.iloc[0]
    return geom


# ---- public entry points ------------------------------------------------------------------------


def fetch_layer(
    what: str, *, area: AreaLike = "belt", tile_deg: float = 1.0, progress: Progress | None = None
) -> gpd.GeoDataFrame:
    """Fetch one kind of OSM feature for an area from Overpass, tile by tile, through the cache.

    Parameters
    ----------
    what : str
        A kind from ``layers/osm/features.toml``: ``rail``, ``motorway``, ``trunk``, ``industrial``,
        ``power`` (solar and wind plants and generators) or ``ports``.
    area : str, tuple, shapely geometry or GeoDataFrame
        ``"belt"`` (the catalog's corridor belt), ``"W,S,E,N"`` or a ``(w, s, e, n)`` tuple in degrees,
        a place name (looked up with Nominatim) or a geometry/frame (lon/lat unless the frame says).
    tile_deg : float
        Tile size in degrees; smaller tiles make more but lighter Overpass queries.
    progress : callable, optional
        Called after each tile with the :class:`~corridormap.osm._overpass.TileResult` and the number of
        features found so far.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, one row per OSM feature touching the area, in the schema of ``spec.layer``.
    """
    spec = _spec(what)
    polygon = resolve_area(area)
    tiles = _overpass.tile_bounds(polygon, tile_deg=tile_deg)
    if len(tiles) > MAX_TILES:
        w, s, e, n = polygon.bounds
        raise OptionError(
            f"the area ({w:.2f},{s:.2f},{e:.2f},{n:.2f}) needs {len(tiles):,} Overpass tiles of "
            f"{tile_deg:g} degrees, more than {MAX_TILES:,} (the belt needs 66 at 1 degree); nothing was "
            "asked. Fix: a smaller area (--area belt, a place, or a tighter W,S,E,N), or larger tiles "
            "(--tile-deg)"
        )
    parts: list[gpd.GeoDataFrame] = []
    seen: set[tuple[str, int]] = set()
    for tile in _overpass.fetch_tiles(spec.match, spec.elements, tiles, label=what):
        part = _raw_features(tile.path, spec, polygon).assign(_as_of=_file_date(tile.path))
        parts.append(part)
        seen.update(part.index)
        log.info(
            "%s: tile %d/%d%s, %d features so far",
            what,
            tile.index,
            tile.total,
            " (cached)" if tile.from_cache else "",
            len(seen),
        )
        if progress is not None:
            progress(tile, len(seen))
    return _combine(parts, spec)


def fetch_layers(
    whats: Iterable[str] = ("rail", "motorway"),
    *,
    area: AreaLike = "belt",
    tile_deg: float = 1.0,
    progress: Progress | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """:func:`fetch_layer` for several kinds; the area is resolved once."""
    polygon = resolve_area(area)
    return {w: fetch_layer(w, area=polygon, tile_deg=tile_deg, progress=progress) for w in whats}


def read_extract(path: str | Path, what: str, *, area: AreaLike | None = None) -> gpd.GeoDataFrame:
    """Read one kind of OSM feature from a local extract (``.osm``, ``.osm.bz2``, ``.osm.pbf``).

    Same output as :func:`fetch_layer`; ``area`` keeps only the features that touch it (all when None);
    ``as_of`` is the extract file's modification date.

    Examples
    --------
    ``rail = read_extract("india-latest.osm.pbf", "rail", area="belt")`` reads the railway lines
    of a Geofabrik extract that touch the corridor belt.
    """
    polygon = None if area is None else resolve_area(area)
    return osm_extract.read_extract(path, what, area=polygon)
