"""Reading the files users bring: any common vector format, checked and repaired with a report.

:func:`read_file` is the loader every command uses. It recognises the format by content (not only by
the name), reads it with pyogrio (GeoJSON, GeoPackage, Shapefile as folder/``.shp``/``.zip``,
FlatGeobuf, KML/KMZ), pyarrow (GeoParquet) or pandas (CSV with coordinates), hands OSM extracts to
:mod:`corridormap.osm`, then runs every check of :mod:`corridormap.validate`. A file with any
refusal raises one typed error listing every problem; repairs raise a
:class:`~corridormap.errors.RepairWarning` and are written to a log when ``log_dir`` is given.

Examples
--------
``corridormap.read_file("plots.csv", x="lon_dms", y="lat_dms")`` reads a CSV whose coordinates are
in degrees-minutes-seconds columns ``lon_dms`` and ``lat_dms``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import settings
from ..errors import DataSourceNotFoundError, EncodingError, FileFormatError, OptionError
from . import _csvcoords as csvc
from ._crschecks import check_crs, check_location
from ._fieldchecks import check_fields, check_ids, fix_names, parse_datetimes
from ._geomchecks import Context, check_geometry, parse_wkb
from ._readers import ReadOptions, list_layers, read_vector
from .report import ValidationReport

__all__ = ["read_file", "load_file", "ReadOptions", "detect_format", "list_layers"]

log = logging.getLogger(__name__)

_BY_SUFFIX = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".shp": "shapefile",
    ".zip": "zip",
    ".fgb": "flatgeobuf",
    ".parquet": "geoparquet",
    ".geoparquet": "geoparquet",
    ".kml": "kml",
    ".kmz": "kmz",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".osm": "osm",
    ".pbf": "osm",
    ".tif": "raster",
    ".tiff": "raster",
}
_MAGIC = [
    (b"SQLite format 3\x00", "gpkg"),
    (b"PK\x03\x04", "zip"),
    (b"fgb\x03", "flatgeobuf"),
    (b"PAR1", "geoparquet"),
    (b"\x00\x00\x27\x0a", "shapefile"),
    (b"II*\x00", "raster"),
    (b"MM\x00*", "raster"),
]


def read_file(
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
    encoding: str | None = None,
    swap_xy: bool = False,
    salvage: bool = False,
    x: str | None = None,
    y: str | None = None,
    wkt: str | None = None,
    decimal: str | None = None,
    repair: bool = True,
    log_dir: str | Path | None = None,
) -> gpd.GeoDataFrame:
    """Read a user's vector file, check it, repair what is safe, refuse what is not.

    Parameters
    ----------
    path : str or Path
        GeoJSON, GeoPackage, Shapefile (folder, ``.shp`` or ``.zip``), FlatGeobuf, GeoParquet, KML/KMZ,
        CSV with coordinates, or an OSM extract (``.osm``/``.pbf``).
    layer : str, optional
        Layer to read from a multi-layer source (required when there are several).
    crs : str, optional
        CRS of the coordinates when the file has none or a wrong one (``"EPSG:32643"``).
    encoding : str, optional
        Text encoding when the file is not UTF-8 or its ``.cpg`` is missing or wrong.
    swap_xy : bool
        Exchange x and y (files written as latitude, longitude).
    salvage : bool
        Drop (or, for ids, suffix) the features that would otherwise refuse the file; logged.
    x, y, wkt : str, optional
        CSV columns holding the coordinates or WKT (found by name when not given).
    decimal : str, optional
        Decimal separator of CSV coordinates (a comma is detected when unambiguous).
    repair : bool
        Repair invalid geometries (logged); with False they are kept as they are and reported.
    log_dir : str or Path, optional
        Folder (default ``settings.repair_log_dir``, if set) to write ``<file>.repairs.csv`` and
        ``<file>.validation.json`` into.

    Returns
    -------
    GeoDataFrame
        In the file's own CRS, with a fresh RangeIndex.

    Raises
    ------
    LayerValidationError
        The file has problems that refuse it; ``.problems`` lists each one.
    FileFormatError, EncodingError, DataSourceNotFoundError
        The file cannot be read at all; the message names the fix.
    """
    opts = ReadOptions(layer, crs, encoding, swap_xy, salvage, x, y, wkt, decimal, repair)
    return finish_read(*load_file(path, opts), log_dir=log_dir)


def finish_read(
    frame: gpd.GeoDataFrame | None, report: ValidationReport, *, log_dir: str | Path | None = None
) -> gpd.GeoDataFrame:
    """Write the report's log (``log_dir``, default ``settings.repair_log_dir``), then raise if the
    file was refused or warn about what was repaired; return the frame. Callers that cache
    :func:`load_file` results call this on every use, so each use is logged and warned about."""
    log_dir = log_dir if log_dir is not None else settings.repair_log_dir
    if log_dir is not None:
        report.write_log(Path(log_dir))
    report.raise_if_refused()
    report.emit_warnings()
    assert frame is not None
    return frame.copy()


def detect_format(path: Path) -> tuple[str, str | None]:
    """``(format by content, format by name)``; raises for missing, empty or unreadable paths."""
    if not path.exists():
        raise DataSourceNotFoundError(f"{path}: no such file or folder. Fix: check the path")
    by_name = _BY_SUFFIX.get(path.suffix.lower())
    if path.is_dir():
        if any(p.suffix.lower() == ".shp" for p in path.iterdir()):
            return "shapefile", by_name
        raise FileFormatError(
            f"{path}: is a folder, not a file, and holds no shapefile. Fix: pass a file inside it"
        )
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head:
        raise FileFormatError(f"{path}: the file is empty (0 bytes). Fix: export it again")
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            if fmt == "zip" and by_name == "kmz":
                return "kmz", by_name
            return fmt, by_name
    if b"OSMHeader" in head[:64]:
        return "osm", by_name
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text[:1] in (b"{", b"["):
        return "geojson", by_name
    if text[:1] == b"<":
        return ("osm" if b"<osm" in text else "kml" if b"<kml" in text else "xml"), by_name
    if b"\x00" in head:
        return "binary", by_name
    return "csv", by_name


def _labels(attrs: pd.DataFrame) -> list[str]:
    name = next((c for c in attrs.columns if str(c).lower() == "id"), None)
    if name is None:
        return [f"#{i}" for i in range(len(attrs))]
    return [f"#{i} (id {v})" for i, v in enumerate(attrs[name].tolist())]


def load_file(
    path: str | Path, opts: ReadOptions | None = None
) -> tuple[gpd.GeoDataFrame | None, ValidationReport]:
    """Read, check and repair one file; return the frame (``None`` when refused) and the report.

    Errors that stop reading altogether (missing file, unknown format, wrong encoding, a layer to
    choose) are raised as typed exceptions; everything else is a finding in the report.
    """
    opts = opts or ReadOptions()
    path = Path(path)
    _check_options(path, opts)
    report = ValidationReport(str(path))
    fmt, by_name = detect_format(path)
    report.format = fmt
    _check_label(path, fmt, by_name, report)
    if fmt in ("raster", "binary", "xml"):
        what = (
            "a raster (use corridormap.validate.validate_raster)"
            if fmt == "raster"
            else "not a vector format"
        )
        raise FileFormatError(
            f"{path}: is {what}. Fix: pass GeoJSON, GeoPackage, Shapefile, FlatGeobuf, "
            "GeoParquet, KML, CSV with coordinates or an OSM extract"
        )
    reader = _csv if fmt == "csv" else _vector
    ctx, attrs, geoms, crs = reader(path, fmt, opts, report)
    gdf = gpd.GeoDataFrame(
        attrs.reset_index(drop=True), geometry=gpd.GeoSeries(geoms, crs=crs if crs else None)
    )
    gdf = _check(gdf, ctx)
    _summarise(gdf, report)
    return (None if report.refused else gdf.reset_index(drop=True)), report


def _check_options(path: Path, opts: ReadOptions) -> None:
    """Refuse read options no file could satisfy (an encoding Python does not know, a decimal mark)."""
    import codecs

    if opts.encoding is not None:
        try:
            codecs.lookup(opts.encoding)
        except LookupError:
            raise EncodingError(
                f"{path}: unknown encoding {opts.encoding!r}. Fix: give one such as utf-8, cp1252, "
                "latin-1 or utf-16 (--encoding)"
            ) from None
    if opts.decimal not in (None, ",", "."):
        raise OptionError(
            f"{path}: decimal {opts.decimal!r} is not ',' or '.'. Fix: --decimal , or --decimal ."
        )


def _vector(
    path: Path, fmt: str, opts: ReadOptions, report: ValidationReport
) -> tuple[Context, pd.DataFrame, np.ndarray, object]:
    raw = read_vector(path, fmt, opts, report)
    attrs = raw.attrs
    ctx = Context(
        report, _labels(attrs), salvage=opts.salvage, swap_xy=opts.swap_xy, crs=opts.crs, repair=opts.repair
    )
    ctx.nonfinite.update(ctx.labels[i] for i in raw.nonfinite_rows if i < len(ctx.labels))
    if raw.geoms is not None:
        geoms = raw.geoms
    elif raw.wkb is not None:
        geoms = parse_wkb(raw.wkb, ctx)
    else:  # an attribute table without geometry
        geoms = np.full(len(attrs), None, dtype=object)
    for name in raw.json_fields:
        report.add(
            "warn",
            "mixed-types",
            "values of several types (numbers, text, lists); kept as text",
            "make the property one type in every feature",
            field=name,
        )
    attrs = parse_datetimes(attrs, [n for n in raw.datetimes if n in attrs.columns], ctx)
    attrs = attrs.set_axis(fix_names([str(c) for c in attrs.columns], ctx), axis=1)
    return ctx, attrs, geoms, raw.crs


def _check_label(path: Path, fmt: str, by_name: str | None, report: ValidationReport) -> None:
    same = {("zip", "shapefile"), ("shapefile", "shapefile"), ("kmz", "kmz")}
    if by_name is None or by_name == fmt or (fmt, by_name) in same or (by_name == "kmz" and fmt == "zip"):
        return
    if fmt == "csv" and by_name != "csv":
        return  # plain text under another name: let the reader say what is wrong
    report.add(
        "warn",
        "mislabelled",
        f"named like {by_name} but the content is {fmt}; read as {fmt}",
        f"rename the file with the extension of a {fmt} file",
    )


def _csv(
    path: Path, fmt: str, opts: ReadOptions, report: ValidationReport
) -> tuple[Context, pd.DataFrame, np.ndarray, object]:
    df, renamed = csvc.read_csv_text(path, opts.encoding)
    for old, new in renamed:
        why = "a column has no name" if not old.strip() else "spaces around a column name"
        report.repair_column(
            "field-name",
            new,
            f"{why}; called {new!r}",
            "name the column in the source",
            reason=why,
            method="renamed",
            before=old,
            after=new,
        )
    ctx = Context(
        report,
        [f"line {i + 2}" for i in range(len(df))],
        salvage=opts.salvage,
        swap_xy=opts.swap_xy,
        crs=opts.crs,
        repair=opts.repair,
    )
    df = df.set_axis(fix_names([str(c) for c in df.columns], ctx), axis=1)  # before any column look-up
    built = csvc.csv_geometry(df, ctx, path=path, x=opts.x, y=opts.y, wkt=opts.wkt, decimal=opts.decimal)
    ctx.degrees_assumed = built.degrees_assumed
    built = _leave_out_rows_without_coordinates(built, ctx)
    attrs = csvc.infer_types(built.attrs, decimal=built.decimal)
    numeric = [str(c) for c in attrs.columns if attrs[c].dtype != built.attrs[c].dtype]
    if numeric:
        report.add("info", "csv-types", f"columns read as numbers: {', '.join(numeric)}", "none needed")
    return ctx, attrs, built.geoms, built.crs


def _leave_out_rows_without_coordinates(built: csvc.CsvGeometry, ctx: Context) -> csvc.CsvGeometry:
    """Rows whose coordinates are blank, NA, null, - or (0, 0) are left out of the layer and
    reported by line number (and in the repair log); a file where no row has any is refused."""
    absent = built.no_coordinates
    if absent is None or not absent.any():
        return built
    ids = ctx.ids(absent)
    what = "no usable coordinates (blank, NA, null, - or 0, 0)"
    if absent.all():
        ctx.report.add(
            "refuse",
            "no-coordinates",
            f"no row has usable coordinates: every row has {what}",
            "fill in the coordinates, or name the right columns with --x/--y or --wkt",
            features=ids[:20],
        )
        return built
    ctx.report.add(
        "repair",
        "no-coordinates",
        f"{len(ids)} row(s) have {what}; left out of the layer",
        "fill in their coordinates to include them",
        features=ids,
    )
    for label in ids:
        ctx.report.repair(
            feature=label, check="no-coordinates", reason=what, method="dropped: no coordinates"
        )
    keep = ~absent
    ctx.labels = [label for label, k in zip(ctx.labels, keep, strict=True) if k]
    return csvc.CsvGeometry(
        built.geoms[keep],
        built.attrs[keep].reset_index(drop=True),
        built.degrees_assumed,
        built.decimal,
        built.crs,
        None,
    )


def _check(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    gdf = check_crs(gdf, ctx)
    if gdf.crs is not None and not ctx.report.refused:
        gdf = check_geometry(gdf, ctx)
        gdf = check_location(gdf, ctx)
    gdf = check_ids(gdf, ctx)
    check_fields(gdf, ctx)
    return gdf


def _summarise(gdf: gpd.GeoDataFrame, report: ValidationReport) -> None:
    report.n_features = len(gdf)
    if gdf.empty and not report.refused:
        report.add("warn", "no-features", "the file holds no features", "check you exported the right layer")
    report.geometry_types = {str(k): int(v) for k, v in gdf.geometry.geom_type.value_counts().items()}
    if gdf.crs is not None and report.crs is None:
        report.crs = gdf.crs.to_string()
    present = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if len(present):
        b = present.total_bounds
        if np.isfinite(b).all():
            report.bounds = (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
