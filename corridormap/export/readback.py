"""Read a written layer back exactly, as the exports verify what they wrote.

Kept apart from :mod:`corridormap.export.formats` so that the format readers (CSV among them) and
the writers' checks share one reader without importing each other.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

__all__ = ["read_layer_exact"]


def read_layer_exact(path: Path | str, layer: str | None = None, **open_options: str) -> gpd.GeoDataFrame:
    """Read a layer keeping what pandas would blur: NaN apart from null, datetime offsets as text."""
    with warnings.catch_warnings():
        # GDAL reads back the offsets it wrote to GeoPackage and says they are non-conformant
        warnings.filterwarnings("ignore", message="Non-conformant content", category=RuntimeWarning)
        _, table = pyogrio.read_arrow(
            path, layer=layer, read_geometry=False, datetime_as_string=True, **open_options
        )
        shapes = pyogrio.read_dataframe(path, layer=layer, columns=[], read_geometry=True, **open_options)
    attrs = table.to_pandas(types_mapper=pd.ArrowDtype)
    attrs.index = shapes.index
    return gpd.GeoDataFrame(attrs, geometry=shapes.geometry, crs=shapes.crs)
