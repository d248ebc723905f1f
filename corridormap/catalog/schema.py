"""Check a layer against its catalog entry: geometry, CRS, columns and types, every problem at once.

Used by :func:`corridormap.catalog.load.load_layers` on every layer, shipped or the user's. Values are cast
to the declared types (``int`` to nullable ``Int64``, ``bool`` to nullable ``boolean``); a value that
cannot be cast is a problem, never a silent change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..crs import BELT_CRS, DISPLAY_CRS
from ..errors import LayerValidationError, Problem

if TYPE_CHECKING:
    from .load import ColumnSpec, LayerSpec

__all__ = ["check_layer", "india_bounds", "MAX_LISTED"]

MAX_LISTED = 40  # problems spelled out in the message; the exception's .problems keeps them all


def india_bounds() -> tuple[float, float, float, float]:
    """India's extent (lon/lat) as EPSG:7755's area of use states it: (west, south, east, north)."""
    area = CRS.from_user_input(BELT_CRS).area_of_use
    assert area is not None
    return (area.west, area.south, area.east, area.north)


def _feature_labels(gdf: gpd.GeoDataFrame) -> pd.Series:
    if "id" in gdf.columns:
        return gdf["id"].astype(str).radd("id=")
    if "name" in gdf.columns:
        return pd.Series(
            [f"row {i} ({n!s})" for i, n in zip(range(len(gdf)), gdf["name"], strict=True)], index=gdf.index
        )
    return pd.Series([f"row {i}" for i in range(len(gdf))], index=gdf.index)


def _geometry_problems(
    gdf: gpd.GeoDataFrame, spec: LayerSpec, where: str, labels: pd.Series
) -> Iterator[Problem]:
    geoms = gdf.geometry.values
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for label in labels[missing]:
        yield Problem(
            where, "geometry is empty or missing", "give the feature a geometry or remove it", label
        )
    types = np.asarray(shapely.get_type_id(geoms))
    names = np.array(
        [
            "Point",
            "LineString",
            "LinearRing",
            "Polygon",
            "MultiPoint",
            "MultiLineString",
            "MultiPolygon",
            "GeometryCollection",
        ],
        dtype=object,
    )
    for label, tid in zip(labels[~missing], types[~missing], strict=True):
        if names[tid] not in spec.geometry:
            yield Problem(
                where,
                f"geometry is a {names[tid]}, the catalog expects {' or '.join(spec.geometry)}",
                f"convert it, or list {names[tid]} under 'geometry' in {spec.path.name}",
                label,
            )
    invalid = ~missing & ~shapely.is_valid(geoms)
    for label, geom in zip(labels[invalid], geoms[invalid], strict=True):
        yield Problem(
            where,
            f"invalid geometry ({shapely.is_valid_reason(geom)})",
            "repair it (e.g. shapely.make_valid, QGIS 'Fix geometries')",
            label,
        )
    west, south, east, north = india_bounds()
    bounds = shapely.bounds(geoms)
    outside = ~missing & (
        (bounds[:, 0] < west) | (bounds[:, 2] > east) | (bounds[:, 1] < south) | (bounds[:, 3] > north)
    )
    for label, b in zip(labels[outside], bounds[outside], strict=True):
        yield Problem(
            where,
            f"coordinates ({b[0]:.4f}, {b[1]:.4f})–({b[2]:.4f}, {b[3]:.4f}) lie outside India "
            f"(lon {west}–{east}, lat {south}–{north})",
            "check for swapped lon/lat or a wrong CRS",
            label,
        )


_TRUTH = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _cast_bool(series: pd.Series, present: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Booleans, and their usual spellings in files: true/false, yes/no, 1/0 (any case)."""

    def one(value: object) -> bool | None:
        if isinstance(value, bool | np.bool_):
            return bool(value)
        if isinstance(value, int | float | np.integer | np.floating) and value in (0, 1):
            return bool(value)
        return _TRUTH.get(str(value).strip().lower()) if isinstance(value, str) else None

    cast = series.map(one, na_action="ignore")
    bad = present & cast.isna()
    return cast.astype("boolean"), bad


def _cast(series: pd.Series, col: ColumnSpec) -> tuple[pd.Series, pd.Series]:
    """Cast to the declared type; return (cast series, mask of values that could not be cast)."""
    present = series.notna()
    if col.type == "str":
        return series.astype(object).where(present, None), pd.Series(False, index=series.index)
    if col.type in ("int", "float"):
        numbers = pd.to_numeric(series, errors="coerce")
        bad = present & numbers.isna()
        if col.type == "int":
            bad |= present & numbers.notna() & (numbers % 1 != 0)
            return numbers.where(~bad).astype("Int64"), bad
        return numbers.astype("float64"), bad
    if col.type == "bool":
        return _cast_bool(series, present)
    # date: ISO text (portable to every format), checked to parse. Readers such as GDAL turn ISO
    # dates into timestamps on the way in: those go back to their ISO text, the date alone at midnight.
    if pd.api.types.is_datetime64_any_dtype(series):
        iso = [
            None if pd.isna(v) else v.date().isoformat() if v == v.normalize() else v.isoformat()
            for v in series
        ]
        return pd.Series(iso, index=series.index, dtype=object), pd.Series(False, index=series.index)
    text = series.astype(object).where(present, None)
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    return text, present & parsed.isna()


def _column_problems(
    gdf: gpd.GeoDataFrame, spec: LayerSpec, where: str, labels: pd.Series
) -> Iterator[Problem]:
    for col in spec.columns.values():
        if col.name not in gdf.columns:
            if col.required:
                yield Problem(
                    where,
                    f"required column {col.name!r} is missing",
                    f"add it ({col.type}), or mark it required = false in {spec.path.name}",
                )
            continue
        cast, bad = _cast(gdf[col.name], col)
        for label, value in zip(labels[bad], gdf[col.name][bad], strict=True):
            yield Problem(
                where,
                f"value {value!r} is not a valid {col.type}",
                f"correct the value or change the column type in {spec.path.name}",
                label,
                col.name,
            )
        if col.required:
            for label in labels[gdf[col.name].isna()]:
                yield Problem(where, "required value is empty", "fill it in", label, col.name)
        if col.allowed is not None:
            wrong = cast.notna() & ~cast.isin(col.allowed)
            for label, value in zip(labels[wrong], cast[wrong], strict=True):
                yield Problem(
                    where,
                    f"value {value!r} is not one of {', '.join(col.allowed)}",
                    "use one of the allowed values",
                    label,
                    col.name,
                )
        if col.unique:
            dup = cast.notna() & cast.duplicated(keep=False)
            for label, value in zip(labels[dup], cast[dup], strict=True):
                yield Problem(
                    where,
                    f"value {value!r} is not unique",
                    "give each feature its own value",
                    label,
                    col.name,
                )


def check_layer(gdf: gpd.GeoDataFrame, spec: LayerSpec, *, where: str | None = None) -> gpd.GeoDataFrame:
    """Validate ``gdf`` against ``spec``; return a copy in EPSG:4326 with columns cast to their types.

    Raises
    ------
    LayerValidationError
        Listing every problem found (file, feature, field, problem, fix).
    """
    where = where or str(spec.path)
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise LayerValidationError(f"{where}: expected a GeoDataFrame, got {type(gdf).__name__}")
    problems: list[Problem] = []
    if gdf.crs is None:
        problems.append(Problem(where, "the layer has no CRS", "declare it in the file, e.g. EPSG:4326"))
        out = gdf.copy()
    else:
        out = gdf.to_crs(DISPLAY_CRS)
    labels = _feature_labels(out)
    problems += list(_geometry_problems(out, spec, where, labels))
    problems += list(_column_problems(out, spec, where, labels))
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems[:MAX_LISTED])
        more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise LayerValidationError(
            f"layer {spec.name!r} ({where}): {len(problems)} problem(s)\n{listed}{more}", problems
        )
    for col in spec.columns.values():
        if col.name in out.columns:
            out[col.name] = _cast(out[col.name], col)[0]
    return out
