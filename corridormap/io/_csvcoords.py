"""CSV files with coordinates: columns by name or by choice, decimal commas, DMS, a WKT column.

Every cell is read as text first, so nothing is coerced behind the user's back: a column becomes
numeric only when every value is a number (codes with leading zeros stay text), coordinates written
with a decimal comma or in degrees-minutes-seconds are converted and counted, and rows whose
coordinates cannot be read are named by line number.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from ..errors import EncodingError, FileFormatError
from ._geomchecks import Context

__all__ = ["CsvGeometry", "read_csv_text", "csv_geometry", "parse_coordinate", "infer_types"]

LON_NAMES = ("longitude", "lon", "lng", "long", "x", "easting")
LAT_NAMES = ("latitude", "lat", "y", "northing")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape")
_DMS = re.compile(
    r"""^\s*(?P<h1>[NSEWnew])?\s*(?P<d>\d+(?:[.,]\d+)?)\s*(?:°|º|d|deg|\s)\s*
    (?:(?P<m>\d+(?:[.,]\d+)?)\s*(?:'|′|m|min|\s)?\s*)?
    (?:(?P<s>\d+(?:[.,]\d+)?)\s*(?:"|″|''|s|sec)?\s*)?(?P<h2>[NSEWnew])?\s*$""",
    re.X,
)
# cells that say "no value": the row has no coordinates (left out and reported), not bad ones
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "--", "?"})
_LEADING_ZERO = re.compile(r"[ \t]*[-+]?0[0-9]")  # no \s: pandas would not hand it to Arrow
_MAX_DIGITS = 15


def read_csv_text(path: Path, encoding: str | None) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Every cell as text (empty cells as missing); refuse bytes that are not the encoding.

    Column names are taken as written (duplicates included, for the name checks to rename and log);
    blank ones are named ``column_N`` and spaces around names trimmed. Returns the frame and the
    ``(as written, as named)`` pairs of every header that was changed.
    """
    data = path.read_bytes()
    enc = encoding or "utf-8-sig"
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EncodingError(
            f"{path}: line {line} is not {enc} (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}). Fix: pass the file's encoding, e.g. --encoding cp1252, or "
            "re-save it as UTF-8"
        ) from exc
    except LookupError as exc:
        raise EncodingError(f"{path}: unknown encoding {enc!r}. Fix: use utf-8, cp1252, latin-1") from exc
    if not text.strip():
        raise FileFormatError(f"{path}: the CSV file has no rows. Fix: check you exported the right file")
    try:
        sep = csv.Sniffer().sniff(text[:20000], delimiters=",;\t|").delimiter
    except csv.Error:
        sep = ","
    try:
        raw = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            header=None,
            keep_default_na=False,
            na_values=[""],
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise FileFormatError(
            f"{path}: cannot be read as CSV ({exc}). Fix: check the quoting and "
            "that every row has the same number of fields"
        ) from exc
    header = ["" if pd.isna(v) else str(v) for v in raw.iloc[0]]
    named = [h.strip() or f"column_{i + 1}" for i, h in enumerate(header)]
    df = raw.iloc[1:].reset_index(drop=True).set_axis(named, axis=1)
    return df, [(h, n) for h, n in zip(header, named, strict=True) if h != n]


@dataclass
class CsvGeometry:
    """Geometries of a CSV, the attribute columns left, and whether lon/lat names were used."""

    geoms: np.ndarray
    attrs: pd.DataFrame
    degrees_assumed: bool
    decimal: str | None = None
    crs: str | None = None
    no_coordinates: np.ndarray | None = None  # rows with blank/NA/null/-/(0, 0) coordinates


def _missing(col: pd.Series) -> np.ndarray:
    """Cells that say "no value" (blank, NA, null, -, ...)."""
    return col.fillna("").astype(str).str.strip().str.lower().isin(MISSING_MARKERS).to_numpy()


def _pick(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.lower().strip(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def csv_geometry(
    df: pd.DataFrame,
    ctx: Context,
    *,
    path: Path,
    x: str | None,
    y: str | None,
    wkt: str | None,
    decimal: str | None,
) -> CsvGeometry:
    """Build point (x/y) or WKT geometries, refusing (or with salvage, leaving empty) bad rows."""
    cols = list(df.columns)
    for given in (x, y, wkt):
        if given is not None and given not in cols:
            raise FileFormatError(f"{path}: no column {given!r}; columns are {cols}. Fix: name one of those")
    if wkt is None and (x is None or y is None):
        xs, ys = x or _pick(cols, LON_NAMES), y or _pick(cols, LAT_NAMES)
        if xs is None or ys is None:
            wkt = _pick(cols, WKT_NAMES)
            if wkt is None:
                raise FileFormatError(
                    f"{path}: no coordinate columns found among {cols}. Fix: name them "
                    "with x=/y= (--x/--y) or a WKT column with wkt= (--wkt)"
                )
        x, y = xs, ys
    if wkt is not None:
        absent = _missing(df[wkt])
        text, crs = _strip_srid(df[wkt].where(~absent), ctx, wkt)
        geoms = _wkt_geoms(text, ctx, wkt)
        return CsvGeometry(geoms, df.drop(columns=[wkt]), False, decimal, crs, absent)
    assert x is not None and y is not None
    xv, decimal = _coordinates(df[x], ctx, x, decimal, "EW")
    yv, decimal = _coordinates(df[y], ctx, y, decimal, "NS")
    geoms = shapely.points(xv, yv)
    bad = np.isnan(xv) | np.isnan(yv)
    geoms[bad] = None
    degrees = x.lower() in LON_NAMES[:4] and y.lower() in LAT_NAMES[:2]
    absent = _missing(df[x]) | _missing(df[y]) | ((xv == 0) & (yv == 0))
    frame = df.drop(columns=[x, y])
    return CsvGeometry(np.asarray(geoms, dtype=object), frame, degrees, decimal, None, absent)


def _strip_srid(col: pd.Series, ctx: Context, name: str) -> tuple[pd.Series, str | None]:
    """EWKT (``SRID=4326;POINT (...)``): the SRID becomes the CRS when every row agrees."""
    srid = col.str.extract(r"^\s*SRID=(\d+)\s*;", expand=False)
    if srid.dropna().empty:
        return col, None
    codes = set(srid.dropna())
    if len(codes) > 1 or srid[col.notna()].isna().any():
        ctx.report.add(
            "refuse",
            "crs-mixed",
            f"the WKT rows declare different SRIDs ({', '.join(sorted(codes))}) or none",
            "reproject them to one CRS before loading",
            field=name,
        )
    crs = f"EPSG:{min(codes)}"
    ctx.report.add("info", "crs-from-ewkt", f"CRS {crs} taken from the EWKT SRID", "none needed", field=name)
    return col.str.replace(r"^\s*SRID=\d+\s*;", "", regex=True), crs


def _wkt_geoms(col: pd.Series, ctx: Context, name: str) -> np.ndarray:
    geoms = shapely.from_wkt(col.to_numpy(dtype=object, na_value=None), on_invalid="ignore")
    bad = col.notna().to_numpy() & shapely.is_missing(geoms)
    if bad.any():
        _bad_rows(ctx, bad, name, "WKT text cannot be read", "write valid WKT, e.g. POINT (77.2 28.6)")
    return np.asarray(geoms, dtype=object)


def _bad_rows(ctx: Context, bad: np.ndarray, name: str, problem: str, fix: str) -> None:
    ids = ctx.ids(bad)
    if ctx.salvage:
        ctx.report.add(
            "warn",
            "bad-coordinates",
            f"{problem}; the rows are dropped (--salvage)",
            fix,
            features=ids,
            field=name,
        )
    else:
        ctx.report.add(
            "refuse", "bad-coordinates", problem, fix + "; or pass --salvage", features=ids, field=name
        )


def _coordinates(
    col: pd.Series, ctx: Context, name: str, decimal: str | None, hemis: str
) -> tuple[np.ndarray, str | None]:
    text = col.fillna("").astype(str).str.strip()
    text = text.where(~text.str.lower().isin(MISSING_MARKERS), "")  # no value: not a bad value
    if decimal is None and _all_decimal_comma(text):
        decimal = ","
        ctx.report.repair_column(
            "decimal-comma",
            name,
            "coordinates written with a decimal comma; read as decimals",
            "none needed (or pass decimal=',' / --decimal ,)",
            reason="decimal comma",
            method="comma read as decimal point",
        )
    plain = (
        text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False) if decimal == "," else text
    )
    values = pd.to_numeric(
        plain.where(plain.str.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")), errors="coerce"
    ).to_numpy(dtype=float, copy=True)
    dms = 0
    for i in np.flatnonzero(np.isnan(values) & (text != "").to_numpy()):  # DMS and oddities, one by one
        values[i], was_dms = parse_coordinate(text.iloc[i], decimal=decimal, hemispheres=hemis)
        dms += was_dms
    if dms:
        ctx.report.repair_column(
            "dms",
            name,
            f"{dms} coordinate(s) in degrees-minutes-seconds converted to decimal degrees",
            "none needed",
            reason=f"{dms} DMS values",
            method="converted to decimal degrees",
        )
    bad = np.isnan(values) & (text != "").to_numpy()
    if bad.any():
        _bad_rows(
            ctx,
            bad,
            name,
            "coordinates cannot be read as numbers or DMS",
            "correct these cells (e.g. 28.61 or 28°36'36\"N)",
        )
    return values, decimal


def _all_decimal_comma(text: pd.Series) -> bool:
    filled = text[text != ""]
    return bool(len(filled)) and bool(filled.str.fullmatch(r"[-+]?\d+,\d+").all())


def parse_coordinate(
    raw: str, *, decimal: str | None = None, hemispheres: str = "NSEW"
) -> tuple[float, bool]:
    """One coordinate cell to a float; returns ``(value, was_dms)``, ``nan`` when unreadable.

    >>> parse_coordinate("28°36'36\\"N")
    (28.61, True)
    >>> parse_coordinate("72,5", decimal=",")
    (72.5, False)
    """
    s = raw.strip()
    if decimal == ",":
        s = s.replace(".", "").replace(",", ".") if re.fullmatch(r"[-+]?[\d.]+,\d+", s) else s
    try:
        return float(s), False
    except ValueError:
        pass
    m = _DMS.match(s.replace("−", "-"))
    if m is None:
        return float("nan"), False
    hemi = (m["h1"] or m["h2"] or "").upper()
    if hemi and hemi not in hemispheres:
        return float("nan"), False
    num = [float((m[k] or "0").replace(",", ".")) for k in ("d", "m", "s")]
    if num[1] >= 60 or num[2] >= 60:
        return float("nan"), False
    value = num[0] + num[1] / 60 + num[2] / 3600
    return round(-value if hemi in ("S", "W") else value, 10), True


def infer_types(df: pd.DataFrame, *, decimal: str | None = None) -> pd.DataFrame:
    """Columns whose every value is a number become numbers; codes with leading zeros stay text.

    With ``decimal=","`` a column written entirely with decimal commas (``12,5``) is numeric too.
    """
    out = df.copy()
    for name in out.columns:
        col = out[name]
        if decimal == "," and col.dropna().str.fullmatch(r"[-+]?\d+(?:,\d+)?").all():
            col = col.str.replace(",", ".", regex=False)
            out[name] = col
        values = col.dropna()
        if values.empty or values.str.match(_LEADING_ZERO.pattern).any():
            continue
        if values.str.len().max() > _MAX_DIGITS:  # long codes would lose digits as numbers: keep text
            continue
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.isna().any():
            continue
        whole = np.isfinite(numbers.to_numpy(dtype=float)).all() and (numbers == numbers.round()).all()
        if whole and not values.str.contains(r"[.eE]").any():  # "inf" is a float, never an integer
            out[name] = pd.to_numeric(col).astype("Int64")
        else:
            out[name] = pd.to_numeric(col).astype(float)
    return out
