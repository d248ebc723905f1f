"""CSV export: exact decimal text, a ``.csvt`` of column types, and the CRS stated in a ``.prj``.

Point layers are written as ``lon``, ``lat`` columns (``x``, ``y`` in a projected CRS; and ``z``),
other layers as a ``WKT`` column at full precision. Floats are written as their shortest exact
decimal (Python ``repr``), datetimes as ISO 8601 with their offsets, booleans as 1/0, so GDAL (and
QGIS) read back the same values with the types from the ``.csvt``. CSV cannot tell a null text
from an empty one (declared by the caller).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS

from .adapt import as_text, column_kind
from .readback import read_layer_exact

__all__ = ["write_csv_layer", "read_csv_layer", "CSVT_TYPES"]

#: corridormap column kind -> GDAL ``.csvt`` type
CSVT_TYPES = {
    "int": "Integer64",
    "float": "Real",
    "bool": "Integer(Boolean)",
    "datetime": "DateTime",
    "date": "Date",
    "text": "String",
    "other": "String",
}

_OPEN_OPTIONS = {
    "X_POSSIBLE_NAMES": "lon,x",
    "Y_POSSIBLE_NAMES": "lat,y",
    "Z_POSSIBLE_NAMES": "z",
    "GEOM_POSSIBLE_NAMES": "WKT",
    "KEEP_GEOM_COLUMNS": "NO",
}


def _cell(value: Any, kind: str) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and math.isnan(value) and kind != "float":
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return as_text(value)


def _geometry_columns(frame: gpd.GeoDataFrame) -> tuple[list[str], list[list[str]]]:
    geoms = frame.geometry
    present = geoms[~geoms.isna()]
    if len(present) and (present.geom_type == "Point").all():
        has_z = bool(present.has_z.any())
        geographic = frame.crs is not None and CRS.from_user_input(frame.crs).is_geographic
        names = (["lon", "lat"] if geographic else ["x", "y"]) + (["z"] if has_z else [])
        rows = []
        for g in geoms:
            if g is None or g.is_empty:
                rows.append([""] * len(names))
            else:
                rows.append([repr(g.x), repr(g.y)] + ([repr(g.z) if g.has_z else ""] if has_z else []))
        return names, rows
    wkt = shapely.to_wkt(geoms.values, rounding_precision=-1)
    return ["WKT"], [[w or ""] for w in wkt]


def write_csv_layer(frame: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    """Write one layer as ``path`` (CSV), ``path.csvt`` (types) and ``path.prj`` (CRS)."""
    col_kinds = {str(c): column_kind(frame[c]) for c in frame.columns if c != frame.geometry.name}
    geo_names, geo_rows = _geometry_columns(frame)
    attrs = [c for c in frame.columns if c != frame.geometry.name]
    values = [frame[c].astype(object).tolist() for c in attrs]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\r\n")
        out.writerow(geo_names + [str(c) for c in attrs])
        for i, geo in enumerate(geo_rows):
            cells = [_cell(col[i], col_kinds[str(c)]) for c, col in zip(attrs, values, strict=True)]
            out.writerow(geo + cells)
    geo_types = ["WKT"] if geo_names == ["WKT"] else ["Real"] * len(geo_names)
    types = geo_types + [CSVT_TYPES[col_kinds[str(c)]] for c in attrs]
    path.with_suffix(".csvt").write_text(",".join(f'"{t}"' for t in types) + "\r\n", encoding="ascii")
    if frame.crs is not None:
        path.with_suffix(".prj").write_text(CRS.from_user_input(frame.crs).to_wkt(), encoding="utf-8")


def read_csv_layer(path: Path, layer: str) -> gpd.GeoDataFrame:
    """Read a CSV written by :func:`write_csv_layer` back through GDAL, with its CRS."""
    frame = read_layer_exact(path, None, **_OPEN_OPTIONS)
    prj = path.with_suffix(".prj")
    if prj.exists():
        frame = frame.set_crs(CRS.from_wkt(prj.read_text(encoding="utf-8")), allow_override=True)
    return frame
