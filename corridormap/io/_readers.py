"""How each kind of source is read into attributes plus geometries, before any check.

pyogrio reads GeoJSON, GeoPackage, Shapefile, FlatGeobuf and KML (through Arrow when the text is
UTF-8, so 64-bit integers stay exact); pyarrow reads GeoParquet; :mod:`corridormap.osm` reads OSM
extracts. Failures become typed errors that name the file and the fix.
"""

from __future__ import annotations

import codecs
import json
import math
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pyogrio.errors
import pyproj.exceptions
import shapely
import shapely.errors

from ..errors import CorridormapError, DataSourceNotFoundError, EncodingError, FileFormatError
from ._gdalpath import gdal_path
from ._shapefile import resolve_shapefile
from .osm_extract import feature_specs, read_extract
from .report import ValidationReport

__all__ = ["ReadOptions", "Raw", "read_vector", "list_layers"]


@dataclass(frozen=True)
class ReadOptions:
    """The user's explicit opt-ins where guessing would be unsafe."""

    layer: str | None = None
    crs: str | None = None
    encoding: str | None = None
    swap_xy: bool = False
    salvage: bool = False
    x: str | None = None
    y: str | None = None
    wkt: str | None = None
    decimal: str | None = None
    repair: bool = True


@dataclass
class Raw:
    attrs: pd.DataFrame
    wkb: np.ndarray | None = None
    geoms: np.ndarray | None = None
    crs: object = None
    datetimes: list[str] = field(default_factory=list)
    json_fields: list[str] = field(default_factory=list)
    nonfinite_rows: list[int] = field(default_factory=list)
    fids: np.ndarray | None = None


def list_layers(path: str | Path) -> list[tuple[str, str | None]]:
    """``(name, geometry type)`` of every layer in a multi-layer source (GeoPackage, KML, ...).

    A GeoPackage's ``layer_styles`` table (QGIS styles, no geometry) is style metadata, not a layer.
    """
    try:
        with _quiet_gdal():  # a mislabelled file is reported by load_file itself
            found = pyogrio.list_layers(str(path))
        return [
            (str(n), None if t is None else str(t))
            for n, t in found
            if not (str(n) == "layer_styles" and t is None)
        ]
    except pyogrio.errors.DataSourceError as exc:
        raise FileFormatError(f"{path}: cannot be opened ({exc}). Fix: check the file is complete") from exc


def _choose_layer(path: Path, target: str, layer: str | None) -> str | None:
    layers = list_layers(target)
    names = [n for n, _ in layers]
    if layer is not None:
        if layer not in names:
            raise DataSourceNotFoundError(
                f"{path}: no layer {layer!r}; layers are: {', '.join(names)}. Fix: --layer one of those"
            )
        return layer
    if len(names) > 1:
        listing = ", ".join(f"{n} ({t or 'no geometry'})" for n, t in layers)
        raise FileFormatError(
            f"{path}: holds {len(names)} layers: {listing}. Fix: choose one with --layer NAME (layer=...)"
        )
    return names[0] if names else None


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


@contextmanager
def _quiet_gdal() -> Iterator[None]:
    """Silence GDAL warnings that the checks report themselves (unclosed rings, mislabelled files)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Non closed ring", RuntimeWarning)
        warnings.filterwarnings("ignore", ".*non conformant file extension", RuntimeWarning)
        # GeoJSON integers beyond 64 bits: _keep_big_integers keeps them as text and reports them
        warnings.filterwarnings("ignore", "Integer values probably ranging out of 64bit", RuntimeWarning)
        yield


def _ogr(path: Path, target: str, layer: str | None, encoding: str | None, *, fids: bool = False) -> Raw:
    """Read through GDAL: Arrow for UTF-8 (exact 64-bit integers), the raw reader otherwise."""
    fid_values = None
    try:
        if encoding is None or _is_utf8(encoding):  # GDAL reads UTF-8 (and .cpg UTF-8) itself
            with _quiet_gdal():
                meta, table = pyogrio.read_arrow(
                    target, layer=layer, encoding=encoding, datetime_as_string=True, return_fids=fids
                )
            if fids:  # the first column
                fid_values = table.column(0).to_numpy()
                table = table.remove_column(0)
            table.validate(full=True)  # invalid UTF-8 in text columns raises here, not later
            geom_col = meta.get("geometry_name") or "wkb_geometry"
            wkb = table[geom_col].to_numpy(zero_copy_only=False) if geom_col in table.column_names else None
            keep = [i for i, c in enumerate(table.column_names) if c != geom_col]  # names may repeat
            attrs = table.select(keep).to_pandas(types_mapper=_types_mapper)
        else:
            with _quiet_gdal():
                meta, fid_values, wkb, values = pyogrio.raw.read(
                    target, layer=layer, encoding=encoding, datetime_as_string=True, return_fids=fids
                )
            attrs = pd.DataFrame(dict(enumerate(values))).set_axis(list(meta["fields"]), axis=1)
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"{path}: text is not UTF-8 ({exc.reason} at byte {exc.start}). Fix: pass the "
            "file's encoding, e.g. --encoding cp1252, or re-save it as UTF-8"
        ) from exc
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        pyogrio.errors.GeometryError,
        pyogrio.errors.CRSError,
        OSError,  # GDAL's I/O failures on truncated files (FlatGeobuf, ...)
        IndexError,  # pyogrio on a source GDAL opens but finds no layer in
    ) as exc:
        raise FileFormatError(
            f"{path}: cannot be read ({exc}). Fix: the file is truncated, corrupt or "
            "not what its name says; export it again"
        ) from exc
    except pa.ArrowInvalid as exc:  # text columns holding bytes that are not UTF-8
        raise EncodingError(
            f"{path}: text is not UTF-8 ({exc}). Fix: pass the file's encoding, e.g. "
            "--encoding cp1252, or re-save it as UTF-8"
        ) from exc
    kinds = dict(zip(meta["fields"], meta["ogr_types"], strict=True))
    subtypes = dict(zip(meta["fields"], meta["ogr_subtypes"], strict=True))
    return Raw(
        attrs,
        wkb=np.asarray(wkb, dtype=object) if wkb is not None else None,
        crs=meta["crs"],
        datetimes=[n for n, k in kinds.items() if k in ("OFTDateTime", "OFTDate")],
        json_fields=[n for n, s in subtypes.items() if s == "OFSTJSON"],
        fids=fid_values,
    )


def _types_mapper(dtype: object) -> object:
    ints = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int32Dtype(), pa.int16(): pd.Int16Dtype()}
    return ints.get(dtype)  # type: ignore[call-overload]


def parquet_covering(path: Path) -> set[str]:
    """Columns a GeoParquet 1.1 file declares as a covering (e.g. ``bbox``): derived, not attributes."""
    geo = json.loads((pq.read_schema(path).metadata or {}).get(b"geo", b"{}"))
    return {
        names[0]
        for meta in geo.get("columns", {}).values()
        for names in meta.get("covering", {}).get("bbox", {}).values()
    }


def _read_parquet(path: Path, opts: ReadOptions, report: ValidationReport) -> Raw:
    try:
        covering = parquet_covering(path)
        gdf = gpd.read_parquet(path, columns=[c for c in pq.read_schema(path).names if c not in covering])
    except pyproj.exceptions.CRSError as exc:
        return _read_parquet_without_crs(path, opts, report, exc)
    except (ValueError, OSError, shapely.errors.ShapelyError) as exc:
        raise FileFormatError(
            f"{path}: cannot be read as GeoParquet ({exc}). Fix: write it with "
            "GeoParquet metadata (geopandas to_parquet)"
        ) from exc
    geom = gdf.geometry.name
    return Raw(
        pd.DataFrame(gdf.drop(columns=[geom])),
        geoms=np.asarray(gdf.geometry.values, dtype=object),
        crs=gdf.crs,
    )


def _read_parquet_without_crs(path: Path, opts: ReadOptions, report: ValidationReport, exc: Exception) -> Raw:
    """A GeoParquet whose metadata names a CRS PROJ cannot read: the geometries, with no CRS (the
    user's ``--crs`` is then the CRS; without it the file is refused, saying so)."""
    table = pq.read_table(path)
    geo = json.loads((table.schema.metadata or {}).get(b"geo", b"{}"))
    column = geo.get("primary_column", "geometry")
    declared = geo.get("columns", {}).get(column, {}).get("crs")
    if str(geo.get("columns", {}).get(column, {}).get("encoding", "WKB")).upper() != "WKB":
        raise FileFormatError(
            f"{path}: the GeoParquet metadata declares a CRS PROJ cannot read ({declared!r}). Fix: write "
            "the file again with a valid CRS (geopandas: gdf.set_crs(...).to_parquet(...))"
        ) from exc
    problem = f"the GeoParquet metadata declares a CRS that PROJ cannot read ({str(declared)[:80]!r})"
    if opts.crs is None:  # (refused below for having no CRS, with the same fix)
        report.add("warn", "crs-unreadable", problem, "pass the file's real CRS with --crs (e.g. EPSG:4326)")
    else:
        report.add("info", "crs-unreadable", f"{problem}; read as {opts.crs} (--crs)", "none needed")
    return Raw(
        table.drop_columns([column, *parquet_covering(path)]).to_pandas(types_mapper=_types_mapper),
        geoms=np.asarray(shapely.from_wkb(table[column].to_numpy(zero_copy_only=False)), dtype=object),
        crs=None,
    )


def _read_osm(path: Path, opts: ReadOptions) -> Raw:
    kinds = list(feature_specs())
    if opts.layer is None:
        raise FileFormatError(
            f"{path}: an OSM extract holds many kinds of features ({', '.join(kinds)}). "
            "Fix: choose one with --layer KIND (layer=...)"
        )
    if opts.layer not in kinds:
        raise DataSourceNotFoundError(
            f"{path}: no OSM feature kind {opts.layer!r}; kinds are: {', '.join(kinds)}. "
            "Fix: --layer one of those"
        )
    gdf = read_extract(path, opts.layer)
    geom = gdf.geometry.name
    return Raw(
        pd.DataFrame(gdf.drop(columns=[geom])),
        geoms=np.asarray(gdf.geometry.values, dtype=object),
        crs=gdf.crs,
    )


@contextmanager
def _measures_dropped(report: ValidationReport) -> Iterator[None]:
    """GDAL's "Measured (M) geometry types are not supported" becomes one finding in the report."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        yield
    dropped = [w for w in seen if "Measured (M) geometry" in str(w.message)]
    for w in seen:
        if w not in dropped:  # every other warning goes on as it came
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    if dropped:
        report.add(
            "warn",
            "m-values",
            "the geometries carry measure (M) values, which were dropped (x and y are kept)",
            "none needed for maps and distances; keep the source file where the M values matter",
        )


def read_vector(path: Path, fmt: str, opts: ReadOptions, report: ValidationReport) -> Raw:
    with _measures_dropped(report), gdal_path(path) as target:
        try:
            return _read_vector(Path(target), fmt, opts, report)
        except CorridormapError as exc:
            if target == str(path):
                raise
            raise type(exc)(str(exc).replace(target, str(path))) from exc  # name the user's file


def _read_vector(path: Path, fmt: str, opts: ReadOptions, report: ValidationReport) -> Raw:
    if fmt == "geoparquet":
        return _read_parquet(path, opts, report)
    if fmt == "osm":
        return _read_osm(path, opts)
    encoding = opts.encoding
    if fmt == "shapefile" or (fmt == "zip" and path.suffix.lower() != ".kmz"):
        shp = resolve_shapefile(
            path, layer=opts.layer, encoding=opts.encoding, salvage=opts.salvage, report=report
        )
        with pyogrio_config(SHAPE_RESTORE_SHX="YES" if shp.restore_shx else None):
            if not shp.cut_tails:
                return _ogr(path, shp.target, None, shp.encoding)
            with tempfile.TemporaryDirectory(prefix="corridormap-") as tmp:
                raw = _ogr(path, shp.write_fixed(Path(tmp)), None, shp.encoding)
            _mark_cut_tails(raw, shp.cut_tails, report)
            return raw
    with _named_right(path, fmt) as target:
        # GeoJSON and FlatGeobuf hold one layer; opening them to list it would parse a GeoJSON twice
        single = fmt in ("geojson", "flatgeobuf") and opts.layer is None
        layer = None if single else _choose_layer(path, target, opts.layer)
        report.layer = layer if fmt in ("gpkg", "kml", "kmz") else None
        raw = _ogr(path, target, layer, encoding, fids=fmt == "geojson")
        if fmt == "geojson":
            raw.nonfinite_rows = _geojson_nonfinite(path)
            _keep_feature_ids(raw, report)
            _keep_big_integers(path, raw, report)
    return raw


_SUFFIXES = {
    "geojson": (".geojson", ".json"),
    "gpkg": (".gpkg",),
    "flatgeobuf": (".fgb",),
    "kml": (".kml",),
    "kmz": (".kmz",),
}


@contextmanager
def _named_right(path: Path, fmt: str) -> Iterator[str]:
    """The path GDAL should open: a mislabelled file is seen through a link with the right suffix
    (GDAL picks some drivers by suffix and would read GeoJSON named ``.csv`` as CSV)."""
    suffixes = _SUFFIXES.get(fmt, ())
    if not suffixes or path.suffix.lower() in suffixes:
        yield str(path)
        return
    with tempfile.TemporaryDirectory(prefix="corridormap-") as tmp:
        link = Path(tmp) / f"{path.stem}{suffixes[0]}"
        link.symlink_to(path.resolve())
        yield str(link)


def _mark_cut_tails(raw: Raw, cuts: tuple[tuple[int, str], ...], report: ValidationReport) -> None:
    """Values whose last character a byte-limited writer cut end in U+FFFD; one finding per field."""
    by_field: dict[str, list[int]] = {}
    for row, name in cuts:
        by_field.setdefault(name, []).append(row)
    for name, rows in by_field.items():
        column = next((c for c in raw.attrs.columns if str(c).lower() == name.lower()), None)
        if column is None:
            continue
        values = raw.attrs[column].astype(object)
        for row in rows:
            values.iloc[row] = f"{values.iloc[row] or ''}\ufffd"
            report.repair(
                feature=f"#{row}",
                check="utf8-cut",
                reason="text cut inside a UTF-8 character",
                method="broken last character replaced by U+FFFD",
                field=str(column),
            )
        raw.attrs[column] = values
        report.add(
            "repair",
            "utf8-cut",
            f"{len(rows)} value(s) end in a character cut in the middle by a 254-byte field limit; "
            "the broken tail is replaced by \ufffd (the rest of the text is intact)",
            "none needed; write the data as GeoPackage to keep long text whole",
            features=[f"#{row}" for row in rows],
            field=str(column),
        )


def _keep_feature_ids(raw: Raw, report: ValidationReport) -> None:
    """GeoJSON's feature-level integer ids become GDAL's FIDs: keep them as a column, not lose them."""
    if raw.fids is None:
        return
    fids = np.asarray(raw.fids, dtype="int64")
    if len(fids) != len(raw.attrs) or np.array_equal(fids, np.arange(len(fids))):
        return
    name = "feature_id" if any(str(c).lower() == "id" for c in raw.attrs.columns) else "id"
    raw.attrs.insert(0, name, pd.array(fids, dtype="Int64"))
    report.add("info", "feature-id", f"feature-level ids kept as column {name!r}", "none needed")


def _geojson_nonfinite(path: Path) -> list[int]:
    """Features whose coordinates hold NaN or Infinity (GDAL reads them as empty points)."""
    data = path.read_bytes()
    if b"NaN" not in data and b"Infinity" not in data:  # plain byte search: fast on big files
        return []
    try:
        features = json.loads(data.decode("utf-8", "replace")).get("features", [])
    except (ValueError, AttributeError):
        return []
    return [i for i, f in enumerate(features) if not _finite((f or {}).get("geometry"))]


_INT64 = (-(2**63), 2**63 - 1)
_LONG_NUMBER = re.compile(rb"\d{19,}")  # 2**63 has 19 digits: nothing shorter can overflow


def _keep_big_integers(path: Path, raw: Raw, report: ValidationReport) -> None:
    """GeoJSON integers beyond 64 bits (GDAL reads them as rounded floats) are kept as exact text."""
    data = path.read_bytes()
    if not _LONG_NUMBER.search(data):  # plain byte search: fast on big files
        return
    try:
        features = json.loads(data.decode("utf-8", "replace")).get("features", [])
    except (ValueError, AttributeError):
        return
    if len(features) != len(raw.attrs):
        return
    rows: dict[str, list[int]] = {}
    for i, feature in enumerate(features):
        for key, value in ((feature or {}).get("properties") or {}).items():
            if isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]:
                rows.setdefault(str(key), []).append(i)
    for key, found in rows.items():
        if key not in raw.attrs.columns:
            continue
        values = [((f or {}).get("properties") or {}).get(key) for f in features]
        raw.attrs[key] = pd.Series(
            [None if v is None else str(v) for v in values], index=raw.attrs.index, dtype=object
        )
        report.add(
            "repair",
            "big-integers",
            f"{len(found)} integer(s) beyond the 64-bit range; the column is kept as text, digit for digit",
            "none needed; a number type cannot hold them exactly (store such codes as text)",
            features=[f"#{i}" for i in found],
            field=key,
        )
        report.repair(
            feature="*",
            check="big-integers",
            reason="integers beyond 64 bits",
            method="kept as text",
            field=key,
        )


def _finite(obj: object) -> bool:
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(_finite(v) for k, v in obj.items() if k in ("coordinates", "geometries"))
    if isinstance(obj, list):
        return all(_finite(v) for v in obj)
    return True


class pyogrio_config:  # noqa: N801 - reads like the context manager it is
    """Set GDAL config options for one read, restoring them after."""

    def __init__(self, **options: str | None) -> None:
        self.options = {k: v for k, v in options.items() if v is not None}

    def __enter__(self) -> None:
        if self.options:
            pyogrio.set_gdal_config_options(self.options)

    def __exit__(self, *exc: object) -> None:
        if self.options:
            pyogrio.set_gdal_config_options({k: None for k in self.options})
