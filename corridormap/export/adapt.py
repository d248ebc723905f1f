"""Fit a layer to what an export format can hold, recording every change as a :class:`Loss`.

A format's :class:`Caps` say what it holds: NaN apart from null, infinities, 64-bit integers,
datetimes with their offsets, booleans, exact floats, empty text apart from null, long text, long
or reserved field names, mixed geometry types. :func:`fit` makes the explicit, collision-free
change for each thing the format cannot hold (rename, value to text, NaN to null, ...) and returns
the changes; the caller warns and writes them beside the output. The frame it returns is exactly
what reading the output back gives, so a round trip can be checked value by value.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import DataLossWarning

__all__ = ["Caps", "Loss", "fit", "as_text", "column_kind"]


@dataclass(frozen=True)
class Loss:
    """One declared change a format forced: which layer and column, how many values, why, how."""

    layer: str
    column: str | None
    count: int
    reason: str
    kind: str
    mapping: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The change as a JSON-ready dict (for ``PATH.fieldmap.json`` and the manifest)."""
        return {
            "layer": self.layer,
            "column": self.column,
            "count": self.count,
            "kind": self.kind,
            "reason": self.reason,
            "mapping": dict(self.mapping),
        }

    def warning_class(self) -> type[Warning]:
        return DataLossWarning

    def __str__(self) -> str:
        where = f"layer {self.layer!r}" + (f", column {self.column!r}" if self.column else "")
        noun = "feature(s)" if self.kind == "rename" or self.column is None else "value(s)"
        return f"{where}: {self.reason} ({self.count} {noun})"


@dataclass(frozen=True)
class Caps:
    """What a format can hold (``True``: as corridormap has it)."""

    label: str
    nan: bool = True  # NaN distinct from null
    infinity: bool = True
    negative_zero: bool = True  # -0.0 distinct from 0.0
    int_bits: int = 64  # 53: integers beyond +/-2**53 are written as text
    datetime_ms: bool = False  # datetimes hold milliseconds, not microseconds (GDAL's fields)
    datetime: str = "offset"  # "offset": per-value offsets; "zone": one per column; "instant": UTC; "text"
    booleans: bool = True
    floats: str = "exact"  # "exact"; "text": repr text; "fixed": text where fixed-point loses
    all_text: bool = False  # every attribute is text (KML)
    empty_text: bool = True  # '' distinct from null
    null_text: bool = True  # null text distinct from ''
    max_text_bytes: int | None = None
    text_replace: Mapping[str, str] = field(default_factory=dict)  # substrings the format cannot hold
    name_bytes: int | None = None
    case_insensitive_names: bool = False
    reserved: frozenset[str] = frozenset()  # lower-case names the format uses itself
    renames: Mapping[str, str] = field(default_factory=dict)  # lower-case name -> the format's name
    formula_guard: bool = False  # text a spreadsheet would run as a formula gets a leading "'"


Kind = str  # "float", "int", "bool", "datetime", "date", "text", "other"


def column_kind(series: pd.Series) -> Kind:
    """Classify a column by what it holds (object columns by their non-null values)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if not pd.api.types.is_object_dtype(dtype) and pd.api.types.is_string_dtype(dtype):
        return "text"
    values = [v for v in series.astype(object) if not _isnull(v, "other")]
    for kind, types in (
        ("datetime", dt.datetime),
        ("date", dt.date),
        ("bool", bool | np.bool_),
        ("text", str),
        ("int", int | np.integer),
        ("float", float | np.floating),
    ):
        if values and all(isinstance(v, types) for v in values):
            return kind
    if not values and pd.api.types.is_string_dtype(dtype):
        return "text"
    return "other"


def _isnull(value: Any, kind: Kind) -> bool:
    """Null, counting NaN as null only where the column is not a float column."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return kind != "float" and isinstance(value, float) and math.isnan(value)


def as_text(value: Any) -> str:
    """Exact text for a value: ``repr`` for floats, ISO 8601 with offset for datetimes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.isoformat()
    return str(value)


def _values(series: pd.Series) -> list[Any]:
    values: list[Any] = series.astype(object).tolist()
    return values


def _text_column(values: list[Any], kind: Kind) -> pd.Series:
    return pd.Series([None if _isnull(v, kind) else as_text(v) for v in values], dtype=object)


Fitted = tuple[list[Any] | None, list[Loss], Kind]  # new values (None: unchanged), changes, new kind
ColumnFit = Callable[[str, str, list[Any], Kind, Caps], Fitted]


def _fit_floats(
    layer: str, col: str, values: list[Any], kind: Kind, caps: Caps, numpy_nan_is_null: bool = False
) -> Fitted:
    losses: list[Loss] = []
    if kind != "float":
        return None, losses, kind
    out = list(values)
    if numpy_nan_is_null:  # a plain numpy float column: NaN is pandas' missing value, i.e. null
        out = [None if isinstance(v, float) and math.isnan(v) else v for v in out]
    nans = sum(1 for v in out if isinstance(v, float) and math.isnan(v))
    infs = sum(1 for v in out if isinstance(v, float) and math.isinf(v))
    if nans and not caps.nan:
        out = [None if isinstance(v, float) and math.isnan(v) else v for v in out]
        losses.append(
            Loss(
                layer,
                col,
                nans,
                f"{caps.label} cannot tell NaN from null; NaN written as null",
                "nan_to_null",
                {"NaN": None},
            )
        )
    if infs and not caps.infinity:
        out = [None if isinstance(v, float) and math.isinf(v) else v for v in out]
        losses.append(
            Loss(
                layer,
                col,
                infs,
                f"{caps.label} cannot hold infinity; written as null",
                "infinity_to_null",
                {"inf": None, "-inf": None},
            )
        )
    negzero = sum(1 for v in out if isinstance(v, float) and v == 0 and math.copysign(1, v) < 0)
    if negzero and not caps.negative_zero:
        out = [0.0 if isinstance(v, float) and v == 0 else v for v in out]
        losses.append(
            Loss(layer, col, negzero, f"{caps.label} stores -0.0 as 0.0", "negative_zero", {"-0.0": 0.0})
        )
    needs_text = caps.floats == "text" or (
        caps.floats == "fixed" and not all(_fits_fixed(v) for v in out if isinstance(v, float))
    )
    if needs_text:
        count = sum(1 for v in out if not _isnull(v, "float"))
        losses.append(
            Loss(
                layer,
                col,
                count,
                f"{caps.label} cannot hold every float exactly; written as exact decimal text (Python repr)",
                "float_to_text",
                {"type": "float->text"},
            )
        )
        return [None if v is None else as_text(v) for v in out], losses, "text"
    return (out if losses or numpy_nan_is_null else None), losses, kind


def _fits_fixed(value: float) -> bool:
    """True when a Shapefile numeric field (24 wide, 15 decimals) holds ``value`` exactly."""
    if math.isnan(value) or math.isinf(value) or (value == 0 and math.copysign(1, value) < 0):
        return False
    text = f"{value:.15f}"
    return len(text) <= 24 and float(text) == value


def _fit_ints(layer: str, col: str, values: list[Any], kind: Kind, caps: Caps) -> Fitted:
    if kind != "int" or caps.int_bits >= 64:
        return None, [], kind
    limit = 2**caps.int_bits
    big = sum(1 for v in values if not _isnull(v, kind) and abs(int(v)) > limit)
    if not big:
        return None, [], kind
    loss = Loss(
        layer,
        col,
        big,
        f"{caps.label} readers take integers beyond +/-2**53 as doubles (inexact); "
        f"this column is written as exact decimal text",
        "int_to_text",
        {"type": "int64->text"},
    )
    return [None if _isnull(v, kind) else str(int(v)) for v in values], [loss], "text"


def _to_ms(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.replace(microsecond=value.microsecond // 1000 * 1000, nanosecond=0)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _fit_milliseconds(layer: str, col: str, values: list[Any], kind: Kind, caps: Caps) -> Fitted:
    if kind != "datetime" or not caps.datetime_ms:
        return None, [], kind
    finer = sum(
        1 for v in values if not _isnull(v, kind) and (v.microsecond % 1000 or getattr(v, "nanosecond", 0))
    )
    if not finer:
        return None, [], kind
    loss = Loss(
        layer,
        col,
        finer,
        f"{caps.label} (through GDAL) holds datetimes to the millisecond; finer parts truncated",
        "datetime_ms",
        {"precision": "ms"},
    )
    return [None if _isnull(v, kind) else _to_ms(v) for v in values], [loss], kind


def _fit_datetimes(layer: str, col: str, values: list[Any], kind: Kind, caps: Caps) -> Fitted:
    if kind != "datetime" or caps.datetime == "offset":
        return None, [], kind
    present = [v for v in values if not _isnull(v, kind)]
    if caps.datetime == "instant":
        aware = [v for v in present if v.utcoffset() is not None]
        moved = sum(1 for v in aware if v.utcoffset() != dt.timedelta(0))
        if not moved:
            return None, [], kind
        loss = Loss(
            layer,
            col,
            moved,
            f"{caps.label} keeps the instant of a datetime, not its offset; "
            f"written and read back in UTC (same instants)",
            "datetime_to_utc",
            {"offsets": sorted({str(v.utcoffset()) for v in aware})},
        )
        return (
            [
                None
                if _isnull(v, kind)
                else (pd.Timestamp(v).tz_convert("UTC") if v.utcoffset() is not None else v)
                for v in values
            ],
            [loss],
            kind,
        )
    if caps.datetime == "zone":
        offsets = {v.utcoffset() for v in present}
        if len(offsets) <= 1:
            return None, [], kind
        moved = sum(1 for v in present if v.utcoffset() != dt.timedelta(0))
        loss = Loss(
            layer,
            col,
            moved,
            f"{caps.label} holds one time zone per column; datetimes with "
            f"differing offsets written in UTC (same instants)",
            "datetime_to_utc",
            {"offsets": sorted(str(o) for o in offsets if o is not None)},
        )
        return [None if _isnull(v, kind) else pd.Timestamp(v).tz_convert("UTC") for v in values], [loss], kind
    loss = Loss(
        layer,
        col,
        len(present),
        f"{caps.label} has no datetime type with offsets; written as ISO 8601 text with offset",
        "datetime_to_text",
        {"type": "datetime->text"},
    )
    return [None if _isnull(v, kind) else as_text(v) for v in values], [loss], "text"


def _fit_all_text(layer: str, col: str, values: list[Any], kind: Kind, caps: Caps) -> Fitted:
    if not (caps.all_text or (kind == "bool" and not caps.booleans)) or kind == "text":
        return None, [], kind
    count = sum(1 for v in values if not _isnull(v, kind))
    loss = Loss(
        layer,
        col,
        count,
        f"{caps.label} holds attribute values as text; {kind} written as exact text",
        f"{kind}_to_text",
        {"type": f"{kind}->text"},
    )
    return [None if _isnull(v, kind) else as_text(v) for v in values], [loss], "text"


def _fit_text(layer: str, col: str, values: list[Any], kind: Kind, caps: Caps) -> Fitted:
    if kind != "text":
        return None, [], kind
    out, losses = list(values), []
    if not caps.empty_text and (n := sum(1 for v in out if v == "")):
        out = [None if v == "" else v for v in out]
        losses.append(
            Loss(
                layer,
                col,
                n,
                f"{caps.label} cannot tell empty text from null; '' written as null",
                "empty_to_null",
                {"": None},
            )
        )
    if not caps.null_text and (n := sum(1 for v in out if _isnull(v, kind))):
        out = ["" if _isnull(v, kind) else v for v in out]
        losses.append(
            Loss(
                layer,
                col,
                n,
                f"{caps.label} cannot tell null from empty text; null written as ''",
                "null_to_empty",
                {"null": ""},
            )
        )
    for bad, good in caps.text_replace.items():
        if n := sum(1 for v in out if isinstance(v, str) and bad in v):
            out = [v.replace(bad, good) if isinstance(v, str) else v for v in out]
            reason = f"{caps.label} cannot hold {bad!r} in text; written as {good!r}"
            losses.append(Loss(layer, col, n, reason, "text_replaced", {bad: good}))
    if caps.formula_guard and (n := sum(1 for v in out if _runs_as_formula(v))):
        out = ["'" + v if _runs_as_formula(v) else v for v in out]
        reason = (
            f"{caps.label} opens in spreadsheets, which would run text starting with = + - @ (or a "
            f'tab or carriage return) as a formula; such text written with a leading "\'"'
        )
        losses.append(Loss(layer, col, n, reason, "formula_guarded", {"prefix": "'"}))
    if caps.max_text_bytes:
        long = {
            i: v
            for i, v in enumerate(out)
            if isinstance(v, str) and len(v.encode("utf-8")) > caps.max_text_bytes
        }
        if long:
            limit = caps.max_text_bytes
            out = [
                _clip_utf8(v, limit - len(CUT_MARK.encode())) + CUT_MARK if i in long else v
                for i, v in enumerate(out)
            ]
            losses.append(
                Loss(
                    layer,
                    col,
                    len(long),
                    f"{caps.label} text fields hold at most {limit} bytes; longer values "
                    f"cut at a character boundary, ending in {CUT_MARK!r}; "
                    "the full text of each is in the field map (full_text)",
                    "truncated",
                    {
                        "max_bytes": limit,
                        "marker": CUT_MARK,
                        "full_text": [{"row": i, "text": v} for i, v in long.items()],
                    },
                )
            )
    return (out if losses else None), losses, kind


#: what ends a text value cut to fit a format's field size (the full text is in the field map)
CUT_MARK = "…"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _runs_as_formula(value: Any) -> bool:
    """Text a spreadsheet would take as a formula (OWASP's CSV-injection characters)."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def _clip_utf8(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


_COLUMN_FITS: tuple[ColumnFit, ...] = (
    _fit_floats,
    _fit_ints,
    _fit_milliseconds,
    _fit_datetimes,
    _fit_all_text,
    _fit_text,
)


def fit(name: str, frame: gpd.GeoDataFrame, caps: Caps) -> tuple[gpd.GeoDataFrame, list[Loss]]:
    """A copy of ``frame`` the format can hold exactly, and every change made (renames first)."""
    geometry = frame.geometry.name
    renamed, losses = _fit_names(name, [c for c in frame.columns if c != geometry], caps, len(frame))
    out = frame.rename(columns=renamed)
    for col in [c for c in out.columns if c != geometry]:
        kind = column_kind(out[col])
        if not _needs_work(out[col], kind, caps):
            continue
        changed = False
        current = _values(out[col])
        plain = isinstance(out[col].dtype, np.dtype) and out[col].dtype.kind == "f"
        for step in _COLUMN_FITS:
            if step is _fit_floats:
                new, found, kind = _fit_floats(name, str(col), current, kind, caps, plain)
            else:
                new, found, kind = step(name, str(col), current, kind, caps)
            losses.extend(found)
            if new is not None:
                current, changed = new, True
        if changed:
            out[col] = pd.Series(_typed(current, kind), index=out.index)
    return out, [_with_keys(loss, frame) for loss in losses]


def _with_keys(loss: Loss, frame: gpd.GeoDataFrame) -> Loss:
    """A truncation's full texts also name their feature by ``id``, where the layer has one."""
    if loss.kind != "truncated" or "id" not in frame.columns:
        return loss
    ids = frame["id"].tolist()
    full = [
        {
            "row": e["row"],
            "id": None if _isnull(ids[e["row"]], "other") else str(ids[e["row"]]),
            "text": e["text"],
        }
        for e in loss.mapping["full_text"]
    ]
    return replace(loss, mapping={**loss.mapping, "full_text": full})


def _needs_work(series: pd.Series, kind: Kind, caps: Caps) -> bool:
    """A vectorised first look: can this column be written as it is? (Object columns: look closer.)"""
    if pd.api.types.is_object_dtype(series.dtype) or kind == "other" or caps.all_text:
        return True
    if kind == "bool" and not caps.booleans:
        return True
    if kind == "float":
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        plain_nan = isinstance(series.dtype, np.dtype) and bool(np.isnan(values).any())
        return (
            plain_nan
            or caps.floats != "exact"
            or (not caps.nan and bool(np.isnan(values).any()))
            or (not caps.infinity and bool(np.isinf(values).any()))
            or (not caps.negative_zero and bool(((values == 0) & np.signbit(values)).any()))
        )
    if kind == "int":
        return caps.int_bits < 64 and bool(series.abs().gt(2**caps.int_bits).fillna(False).any())
    if kind == "datetime":  # a datetime64 column: one zone (or none) for the whole column
        parts = series.dt.microsecond % 1000 + series.dt.nanosecond
        finer = caps.datetime_ms and bool(parts.fillna(0).gt(0).any())
        tz = getattr(series.dtype, "tz", None)
        moved = caps.datetime == "instant" and tz is not None and str(tz) not in ("UTC", "utc")
        return finer or moved or caps.datetime == "text"
    if kind == "text":
        longest = int(series.str.len().max()) if series.notna().any() else 0
        return (
            (not caps.empty_text and bool(series.eq("").fillna(False).any()))
            or any(
                bool(series.str.contains(bad, regex=False).fillna(False).any()) for bad in caps.text_replace
            )
            or (not caps.null_text and bool(series.isna().any()))
            or (caps.formula_guard and bool(series.str.startswith(FORMULA_STARTS).fillna(False).any()))
            or (caps.max_text_bytes is not None and longest * 4 > caps.max_text_bytes)
        )
    return False


def _typed(values: list[Any], kind: Kind) -> Any:
    """Values as a column of their kind, keeping NaN apart from null (pyarrow-backed for numbers)."""
    import pyarrow as pa

    types = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}
    if kind in types:
        clean = [None if _isnull(v, kind) else v for v in values]
        return pd.arrays.ArrowExtensionArray(pa.array(clean, type=types[kind]))
    return np.array([None if _isnull(v, kind) else v for v in values], dtype=object)


def _fit_names(layer: str, columns: list[Any], caps: Caps, rows: int) -> tuple[dict[Any, str], list[Loss]]:
    """Collision-free renames for names the format cannot hold (too long, reserved, not text)."""

    def key(n: str) -> str:
        return n.lower() if caps.case_insensitive_names else n

    taken: set[str] = set()
    wanted: dict[Any, str] = {}
    for col in columns:
        text = str(col)
        if text.lower() in caps.renames:
            text = caps.renames[text.lower()]
        elif text.lower() in caps.reserved:
            text = f"{text}_attr"
        if caps.name_bytes:
            text = _clip_utf8(text, caps.name_bytes)
        wanted[col] = text
    renames: dict[Any, str] = {}
    for col in columns:  # names that need no change are kept first
        if wanted[col] == col:
            if key(col) in taken:
                wanted[col] = f"{col}_1"  # a case-insensitive twin of an earlier column
            else:
                taken.add(key(col))
    for col in columns:  # then each changed name gets a free, numbered variant
        if wanted[col] == col:
            continue
        text, n = _clip_utf8(wanted[col], caps.name_bytes) if caps.name_bytes else wanted[col], 1
        while key(text) in taken:
            suffix = f"_{n}"
            base = _clip_utf8(wanted[col], caps.name_bytes - len(suffix)) if caps.name_bytes else wanted[col]
            text, n = base + suffix, n + 1
        taken.add(key(text))
        renames[col] = text
    losses = [
        Loss(
            layer,
            str(old),
            rows,
            f"{caps.label} cannot hold this field name; renamed to {new!r}",
            "rename",
            {str(old): new},
        )
        for old, new in renames.items()
    ]
    return renames, losses
