"""Attribute checks of a user's layer: field names, hostile and huge strings, types, ids, times.

Values are never changed silently: renames and conversions are logged repairs; hostile text is
kept as text (the map renderer escapes it) and flagged; spreadsheet formulas are flagged so the CSV
export can neutralise them.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd

from ._geomchecks import Context

__all__ = ["fix_names", "check_fields", "check_ids", "parse_datetimes"]

RESERVED = ("fid", "geometry", "geom", "ogc_fid")
PG_NAME_MAX = 63
SHP_NAME_MAX = 10
EXCEL_CELL_MAX = 32767
JS_SAFE_INT = 2**53
# no \s in patterns run through pandas: it sends those to Python's re one value at a time, not to Arrow
_HOSTILE = re.compile(
    r"<[ \t\r\n]*(?:script|iframe|object|embed|svg|img|style)\b|javascript:|\bon\w+[ \t\r\n]*=", re.I
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORMULA = re.compile(r"[ \t]*[=+\-@]")
_NUMBER = re.compile(r"[ \t]*[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?[ \t]*")


def fix_names(columns: list[str], ctx: Context) -> list[str]:
    """New unique names: reserved names get ``_src``, case collisions a number (all logged)."""
    out: list[str] = []
    seen: set[str] = set()
    for name in columns:
        new = f"{name}_src" if name.lower() in RESERVED else name
        n = 2
        base = new
        while new.lower() in seen:
            new, n = f"{base}_{n}", n + 1
        seen.add(new.lower())
        if new != name:
            why = "reserved" if name.lower() in RESERVED else "collides by case with another field"
            ctx.report.repair_column(
                "field-name",
                name,
                f"field {name!r} renamed {new!r} ({why})",
                "rename the field in the source",
                reason=why,
                method="renamed",
                before=name,
                after=new,
            )
        out.append(new)
    _note_names(out, ctx)
    return out


def _note_names(names: list[str], ctx: Context) -> None:
    for name in names:
        if _HOSTILE.search(name) or _CONTROL.search(name):
            ctx.report.add(
                "warn",
                "hostile-text",
                "field name holds HTML, script or control characters (kept; escaped when drawn)",
                "rename the field",
                field=name,
            )
        if len(name) > PG_NAME_MAX:
            ctx.report.add(
                "warn",
                "field-name",
                f"field name is {len(name)} characters long (PostGIS keeps {PG_NAME_MAX})",
                "shorten it",
                field=name,
            )
        if not name.isascii():
            ctx.report.add(
                "info",
                "field-name",
                "field name is not ASCII (fine in GeoPackage, garbled in some shapefile tools)",
                "use ASCII if you export to shapefile",
                field=name,
            )
    short: dict[str, list[str]] = {}
    for name in names:
        short.setdefault(name[:SHP_NAME_MAX].lower(), []).append(name)
    for group in short.values():
        if len(group) > 1:
            ctx.report.add(
                "info",
                "field-name",
                f"fields {group} collide when truncated to {SHP_NAME_MAX} characters (shapefile export)",
                "rename them to differ in the first 10 characters, or export to GeoPackage",
            )


def check_fields(gdf: gpd.GeoDataFrame, ctx: Context) -> None:
    """Flag hostile, huge, control-character and formula strings; mixed types; big integers."""
    for name in gdf.columns:
        if name == gdf.geometry.name:
            continue
        col = gdf[name]
        if pd.api.types.is_integer_dtype(col.dtype):
            big = col.abs() > JS_SAFE_INT
            if big.fillna(False).any():
                ctx.report.add(
                    "warn",
                    "int64",
                    "integers beyond 2**53: kept exactly, but web maps show them rounded",
                    "store such codes as text",
                    features=_ids(big, ctx),
                    field=name,
                )
        elif col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            _check_strings(col, name, ctx)


def _ids(mask: pd.Series, ctx: Context) -> list[str]:
    return ctx.ids(np.asarray(mask.fillna(False), dtype=bool))


def _check_strings(col: pd.Series, name: str, ctx: Context) -> None:
    # in a string dtype every present value is text; an object column may mix types
    is_text = col.map(lambda v: isinstance(v, str)).astype(bool) if col.dtype == object else col.notna()
    if not is_text.any():
        return
    # Arrow strings run the regular expressions in C++ (RE2), far faster than Python's per value
    text = col.where(is_text).astype("string[pyarrow]")
    numeric = text.str.fullmatch(_NUMBER.pattern).fillna(False).astype(bool)
    tests = [
        (
            "hostile-text",
            _hostile(text),
            "HTML or script in text: stored as text and escaped when drawn on a map",
            "none needed; remove it if it is not meant to be there",
        ),
        (
            "control-chars",
            text.str.contains(_CONTROL.pattern).fillna(False).astype(bool),
            "control characters in text (kept)",
            "remove them in the source",
        ),
        (
            "formula",
            text.str.match(_FORMULA.pattern).fillna(False).astype(bool) & ~numeric,
            "text starts like a spreadsheet formula (=, +, -, @); flagged so CSV exports neutralise it",
            "none needed; prefix with ' in the source if it is meant as text",
        ),
        (
            "huge-text",
            text.str.len().gt(EXCEL_CELL_MAX).fillna(False).astype(bool),
            f"text longer than {EXCEL_CELL_MAX} characters (kept whole; spreadsheets cut it)",
            "shorten it or move it to a document",
        ),
    ]
    for check, hit, problem, fix in tests:
        if hit.any():
            ctx.report.add("warn", check, problem, fix, features=_ids(hit, ctx), field=name)
    share = numeric[is_text].mean()
    if 0.5 <= share < 1:
        ctx.report.add(
            "warn",
            "mixed-types",
            "column mixes numbers and text; kept as text",
            "make the column one type (the odd rows are listed)",
            features=_ids(is_text & ~numeric, ctx),
            field=name,
        )


def _hostile(text: pd.Series) -> pd.Series:
    """HTML/script look-alikes; the regular expression runs only on values holding < = or :."""
    hit = pd.Series(False, index=text.index)
    maybe = text.str.contains("[<=:]").fillna(False).astype(bool)
    if maybe.any():
        hit[maybe] = text[maybe].str.contains("(?i)" + _HOSTILE.pattern).fillna(False).astype(bool)
    return hit


def check_ids(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    """Duplicate values in the ``id`` column: refused, or with ``salvage`` suffixed (logged)."""
    name = next((c for c in gdf.columns if c.lower() == "id"), None)
    if name is None:
        return gdf
    ids = gdf[name]
    dup = ids.duplicated(keep=False) & ids.notna()
    if not dup.any():
        return gdf
    values = sorted(map(str, ids[dup].unique()))
    if not ctx.salvage:
        ctx.report.add(
            "warn",
            "duplicate-id",
            f"duplicate ids (kept; joins and look-ups by id are ambiguous): {', '.join(values[:20])}",
            "make ids unique, or pass --salvage to suffix duplicates (~2, ~3; logged)",
            features=_ids(dup, ctx),
            field=name,
        )
        return gdf
    out = gdf.copy()
    counter = ids.groupby(ids).cumcount() + 1
    again = ids.duplicated(keep="first") & ids.notna()
    out[name] = ids.astype(object)
    for pos in np.flatnonzero(again.to_numpy()):
        old = ids.iloc[pos]
        new = f"{old}~{counter.iloc[pos]}"
        out.iloc[pos, out.columns.get_loc(name)] = new
        ctx.report.repair(
            feature=ctx.labels[pos],
            check="duplicate-id",
            reason="duplicate id",
            method="suffixed (--salvage)",
            field=name,
            before=str(old),
            after=new,
        )
    ctx.report.add(
        "repair",
        "duplicate-id",
        f"duplicate ids suffixed: {', '.join(values[:20])}",
        "make ids unique in the source",
        field=name,
    )
    return out


def parse_datetimes(df: pd.DataFrame, names: list[str], ctx: Context) -> pd.DataFrame:
    """ISO date-time text to datetimes; mixed time zones to UTC (logged); naive kept naive."""
    out = df.copy()
    for name in names:
        raw = out[name]
        values = raw.dropna()
        if values.empty:
            continue
        zones = values.map(_offset)
        try:
            if zones.isna().all() or zones.nunique(dropna=False) == 1:
                out[name] = pd.to_datetime(raw, format="ISO8601")
            else:
                out[name] = pd.to_datetime(raw, format="ISO8601", utc=True)
                ctx.report.repair_column(
                    "time-zone",
                    name,
                    "date-times carry different time zones (those without one taken as UTC); all now UTC",
                    "use one time zone in the source",
                    reason="mixed offsets",
                    method="converted to UTC",
                )
        except (ValueError, TypeError):
            ctx.report.add(
                "warn",
                "datetime",
                "date-times could not be parsed; kept as text",
                "write them as ISO 8601",
                field=name,
            )
    return out


def _offset(value: str) -> str | None:
    m = re.search(r"(Z|[+-]\d\d:?\d\d)$", str(value).strip())
    return None if m is None else m.group(1).replace("Z", "+00:00")
