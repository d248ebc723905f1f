"""A layer built to break exporters: extreme integers, exact floats, NaN and null, offsets, scripts."""

from __future__ import annotations

import datetime as dt
import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
from shapely.geometry import LineString, Point, Polygon

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
NPT = dt.timezone(dt.timedelta(hours=5, minutes=45))
NEG = dt.timezone(dt.timedelta(hours=-3, minutes=-30))

HINDI = "दिल्ली–मुंबई औद्योगिक गलियारा"
JAPANESE = "デリー・ムンバイ産業大動脈"
CAFE_NFC = unicodedata.normalize("NFC", "Café Dholera")
CAFE_NFD = unicodedata.normalize("NFD", "Café Dholera")
MEGA = "अ" * (1_048_576 // 3) + "x"  # a 1 MB string (Devanagari is three bytes in UTF-8)


def hostile_layer(*, n: int = 6) -> gpd.GeoDataFrame:
    """Six features; every column is a trap for some format."""
    assert n == 6
    frame = pd.DataFrame(
        {
            "id": [f"h{i}" for i in range(n)],
            "big_int": np.array(
                [2**53 + 1, -(2**63), 2**63 - 1, 0, -1, 9_007_199_254_740_993], dtype="int64"
            ),
            "small_int": pd.array([1, None, -7, 2**31 - 1, -(2**31), 0], dtype="Int64"),
            "exact_float": np.array([0.1, 1 / 3, -0.0, 5e-324, 1.7976931348623157e308, np.pi]),
            "nan_or_null": pd.arrays.ArrowExtensionArray(pa.array([1.5, np.nan, None, np.inf, -np.inf, 2.0])),
            "flag": pd.array([True, False, None, True, False, True], dtype="boolean"),
            "when": [
                dt.datetime(2024, 3, 1, 9, 30, 15, 123456, tzinfo=IST),
                dt.datetime(2025, 1, 31, 23, 59, 59, tzinfo=NPT),
                None,
                dt.datetime(1999, 12, 31, 0, 0, tzinfo=dt.UTC),
                dt.datetime(2024, 2, 29, 12, 0, tzinfo=NEG),
                dt.datetime(2030, 6, 15, 6, 45, tzinfo=IST),
            ],
            "day": [
                dt.date(2024, 2, 29),
                None,
                dt.date(1970, 1, 1),
                dt.date(2047, 8, 15),
                dt.date(1, 1, 1),
                dt.date(9999, 12, 31),
            ],
            "text": [HINDI, JAPANESE, CAFE_NFC, CAFE_NFD, None, ""],
            "big_text": [MEGA, "short", None, "", "x" * 300, "ज" * 100],
            "a_very_long_field_name_one": ["a", "b", "c", "d", "e", "f"],
            "a_very_long_field_name_two": [1, 2, 3, 4, 5, 6],
            "select": ["reserved", "sql", "word", "as", "a", "name"],
            "fid": ["GeoPackage", "and", "PostGIS", "use", "this", "name"],
            "geom": ["so", "is", "this", "one", None, "!"],
            "Name": ["kml", "name", "field", None, "x", "y"],
        }
    )
    geoms = [
        Point(77.2090, 28.6139, 216.0),
        LineString([(72.8777, 19.0760, 14.0), (73.8567, 18.5204, 560.0)]),
        Polygon([(72.1, 22.2, 0.0), (72.3, 22.2, 0.0), (72.3, 22.4, 0.0), (72.1, 22.2, 0.0)]),
        Point(75.7873, 26.9124, 431.0),
        None,
        Point(72.5714, 23.0225, 53.0),
    ]
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")


def canon(value: object, *, float_column: bool = True) -> tuple:
    """A comparable form of one value: exact float bits, NaN apart from null, datetimes with offsets."""
    import math
    import struct

    if value is None or value is pd.NA or value is pd.NaT:
        return ("null",)
    if isinstance(value, bool | np.bool_):
        return ("bool", bool(value))
    if isinstance(value, int | np.integer):
        return ("int", int(value))
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return ("nan",) if float_column else ("null",)
        return ("float", struct.pack(">d", float(value)))
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in "T ":
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return ("str", value)
    if isinstance(value, dt.datetime):
        return ("datetime", value.astimezone(dt.UTC).isoformat(), value.utcoffset())
    return ("str", str(value))


def canon_column(frame: pd.DataFrame, column: str, key: str = "id") -> dict[str, tuple]:
    """``{key: canon(value)}`` for one column."""
    is_float = pd.api.types.is_float_dtype(frame[column].dtype)
    return {
        str(k): canon(v, float_column=is_float)
        for k, v in zip(frame[key].astype(object), frame[column].astype(object), strict=True)
    }
