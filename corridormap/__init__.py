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
    "load_layers": "catalog",
    "read_layer": "catalog",
    "load_catalog": "catalog",
    "LayerSpec": "catalog",
    "register_derive": "derive",
    "derive_names": "derive",
    "build_map": "render",
    "build_outputs": "build",
    "to_metric": "crs",
    "to_display": "crs",
    "BELT_CRS": "crs",
    # analysis
    "corridor_belt": "corridor",
    "chainage": "corridor",
    "membership": "corridor",
    "access_card": "access",
    "catchments": "reach",
    "green_power": "reach",
    "find_gaps": "gaps",
    # users' files
    "read_file": "io",
    "validate_file": "validate",
    # exports
    "export_layers": "export",
    # rasters and sites
    "suitability": "sites",
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
