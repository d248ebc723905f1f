"""corridormap: the Delhi–Mumbai Industrial Corridor as GeoPandas layers, spatial joins and Folium maps.

The public API is a short curated list; each name is imported from the module that owns it on first
use, so ``import corridormap`` stays light and heavy libraries load only when their room is entered.

>>> import corridormap
>>> layers = corridormap.load_layers()
>>> len(layers["industrial_nodes"]) >= 26, layers["corridor_belt"].crs.to_string()
(True, 'EPSG:4326')
>>> m = corridormap.build_map(layers)
>>> type(m).__name__
'Map'
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from . import errors, settings
from .errors import CorridormapError

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

# public name -> module that owns it (one line per name; rooms add their own)
_API: dict[str, str] = {
    # foundation
    "load_layers": "catalog.load",
    "read_layer": "catalog.load",
    "load_catalog": "catalog.load",
    "LayerSpec": "catalog.load",
    "register_derive": "catalog.derive",
    "derive_names": "catalog.derive",
    "build_map": "render",
    "build_outputs": "build",
    "to_metric": "crs",
    "to_display": "crs",
    "BELT_CRS": "crs",
    "true_km": "crs",
    # analysis
    "nearest_table": "analysis.nearest",
    "corridor_belt": "analysis.corridor",
    "area_footprints": "analysis.footprints",
    "chainage": "analysis.corridor",
    "membership": "analysis.corridor",
    "access_card": "analysis.access",
    "default_targets": "analysis.access",
    "catchments": "analysis.reach",
    "default_contents": "analysis.reach",
    "green_power": "analysis.reach",
    "find_gaps": "analysis.gaps",
    # charts for notebooks (matplotlib figures; the strip as SVG)
    "status_chart": "analysis.charts",
    "access_chart": "analysis.charts",
    "strip_chart": "analysis.charts",
    "score_chart": "analysis.charts",
    "sites_chart": "analysis.charts",
    # users' files
    "read_file": "io.read",
    "validate_file": "validate",
    # OpenStreetMap and open datasets
    "fetch_layer": "osm.features",
    "read_extract": "osm.features",
    "load_dataset": "osm.datasets",
    # exports
    "export_layers": "export.write",
    "read_back": "export.write",
    "write_postgis": "export.postgis",
    # rasters and sites
    "read_raster": "raster",
    "default_raster": "sites.defaults",
    "add_suitability": "render.raster_overlay",
    "suitability": "sites.suitability",
    "load_model": "sites.model",
    # sectors and briefs
    "sector_fit": "sectors.fit",
    "load_profiles": "sectors.profiles",
    "brief": "sectors.brief",
    "compare_nodes": "sectors.compare",
}

__all__ = ["CorridormapError", "errors", "settings", "__version__", *sorted(_API)]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'corridormap' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
