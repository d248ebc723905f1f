"""The export formats: driver, suffix, fixed CRS, what each holds, how to write and read one layer.

Each :class:`Format` pairs a GDAL driver (or pyarrow, for GeoParquet) with its :class:`Caps`; the
changes a format forces are made by :func:`corridormap.export.adapt.fit` and declared, never
silent. Geometry precision per format is stated in :data:`GEOMETRY_PRECISION`.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from ..crs import require_crs
from ..errors import CRSError, ExportError
from ..io._geomchecks import GEOMETRY_FAMILY
from ..io._readers import parquet_covering
from .adapt import Caps, Loss, column_kind, fit
from .csvfile import read_csv_layer, write_csv_layer
from .readback import read_layer_exact

__all__ = [
    "FORMATS",
    "Format",
    "Loss",
    "adapt_layer",
    "resolve_format",
    "target_crs",
    "write_geoparquet",
    "hilbert_order",
    "ROW_GROUP_ROWS",
]

Writer = Callable[[gpd.GeoDataFrame, Path, str], None]
Reader = Callable[[Path, str], gpd.GeoDataFrame]
Extra = Callable[[str, gpd.GeoDataFrame], list[Loss]]


def _no_extra(name: str, frame: gpd.GeoDataFrame) -> list[Loss]:
    return []


@dataclass(frozen=True)
class Format:
    """An export format: key, driver, suffixes, what it holds, and how to write and read a layer."""

    key: str
    driver: str
    suffixes: tuple[str, ...]
    caps: Caps
    write: Writer
    read: Reader
    precision: str
    fixed_crs: str | None = None
    sidecars: tuple[str, ...] = ()
    extra: Extra = field(default=_no_extra)

    def filename(self, layer: str) -> str:
        return f"{layer}{self.suffixes[0]}"

    def files(self, path: Path) -> list[Path]:
        """The output file and its sidecars (``x.csv`` -> ``x.csv``, ``x.csvt``, ``x.prj``)."""
        return [path] + [path.with_suffix(s) for s in self.sidecars]


def _is_null(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT


def _masked(values: list[Any], kind: str) -> Any:
    """A pandas masked array: nulls in the mask, NaN kept as a value (what pyogrio writes exactly)."""
    from pandas.arrays import BooleanArray, FloatingArray, IntegerArray

    mask = np.array([_is_null(v) for v in values], dtype=bool)

    def data(fill: Any, cast: Callable[[Any], Any]) -> list[Any]:
        return [fill if m else cast(v) for v, m in zip(values, mask, strict=True)]

    if kind == "float":
        return FloatingArray(np.array(data(np.nan, float), dtype="float64"), mask)
    if kind == "int":
        return IntegerArray(np.array(data(0, int), dtype="int64"), mask)
    return BooleanArray(np.array(data(False, bool), dtype=bool), mask)


def gdal_ready(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy whose number and boolean columns tell null from NaN the way pyogrio writes them."""
    out = frame.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        kind = column_kind(out[col])
        if kind in ("float", "int", "bool") and not isinstance(out[col].dtype, np.dtype):
            out[col] = pd.Series(_masked(out[col].astype(object).tolist(), kind), index=out.index)
        elif kind in ("float", "int", "bool") and out[col].dtype == object:
            out[col] = pd.Series(_masked(out[col].tolist(), kind), index=out.index)
    return out


def _gdal_writer(driver: str, **options: Any) -> Writer:
    def write(frame: gpd.GeoDataFrame, path: Path, layer: str) -> None:
        pyogrio.write_dataframe(
            gdal_ready(frame), path, layer=layer, driver=driver, nan_as_null=False, **options
        )

    return write


def _read_gdal(path: Path, layer: str) -> gpd.GeoDataFrame:
    return read_layer_exact(path, layer)


def _read_single(path: Path, layer: str) -> gpd.GeoDataFrame:
    return read_layer_exact(path)


# -- FlatGeobuf: a spatial index reorders rows and cannot hold null geometries ---------------------
def _fgb_indexed(frame: gpd.GeoDataFrame) -> bool:
    return not frame.geometry.isna().any() and len(frame) > 0


def _write_fgb(frame: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    index = "YES" if _fgb_indexed(frame) else "NO"
    pyogrio.write_dataframe(
        gdal_ready(frame),
        path,
        layer=layer,
        driver="FlatGeobuf",
        nan_as_null=False,
        layer_options={"SPATIAL_INDEX": index},
    )


def _fgb_extra(name: str, frame: gpd.GeoDataFrame) -> list[Loss]:
    present = frame.geometry[~frame.geometry.isna()]
    losses = []
    if present.geom_type.nunique() > 1 and present.has_z.any():
        losses.append(
            Loss(
                name,
                None,
                int(present.has_z.sum()),
                "GDAL writes FlatGeobuf layers of mixed "
                "geometry types without Z; Z values dropped (export to gpkg or parquet to keep "
                "them)",
                "z_dropped",
                {"z": None},
            )
        )
    if _fgb_indexed(frame):
        return losses + [
            Loss(
                name,
                None,
                len(frame),
                "FlatGeobuf's spatial index stores features in index "
                "order, "
                "not input order; match rows by key",
                "row_order",
                {"order": "spatial index"},
            )
        ]
    nulls = int(frame.geometry.isna().sum())
    return losses + [
        Loss(
            name,
            None,
            nulls,
            "FlatGeobuf cannot index null geometries; written without a spatial index (input order kept)",
            "no_spatial_index",
            {"spatial_index": False},
        )
    ]


# -- GeoParquet 1.1 (pyarrow): a bbox covering column, rows in Hilbert order, row groups to skip --
#: rows per Parquet row group (GDAL's default): with rows in Hilbert order each group covers a compact
#: area, and its bbox column statistics let readers skip the groups outside a query window
ROW_GROUP_ROWS = 65_536
#: the covering column's name (GeoParquet 1.1 convention); a layer column of that name is renamed
BBOX_COLUMN = "bbox"


def hilbert_order(geometry: gpd.GeoSeries) -> np.ndarray:
    """Positions that put ``geometry`` in Hilbert-curve order of its bounding-box centres.

    Null and empty geometries go last; ties keep their input order, so the order is deterministic.
    """
    present = ~(geometry.isna() | geometry.is_empty).to_numpy()
    key = np.full(len(geometry), np.iinfo(np.uint64).max, dtype=np.uint64)
    if present.any():
        shapes = geometry[present]
        key[present] = shapes.hilbert_distance(total_bounds=shapes.total_bounds).to_numpy(dtype=np.uint64)
    return np.argsort(key, kind="stable")


def write_geoparquet(frame: gpd.GeoDataFrame, path: Path, *, row_group_rows: int = ROW_GROUP_ROWS) -> None:
    """Write GeoParquet 1.1: zstd, a ``bbox`` covering column, rows in Hilbert order, row groups.

    >>> import tempfile, pathlib, pyarrow.parquet as pq
    >>> from shapely.geometry import Point
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "points.parquet"
    >>> pts = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[Point(77, 28), Point(72, 19)], crs=4326)
    >>> write_geoparquet(pts, path)
    >>> import json; geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    >>> geo["version"], geo["columns"]["geometry"]["covering"]["bbox"]["xmin"]
    ('1.1.0', ['bbox', 'xmin'])
    """
    import pyarrow as pa

    frame = frame.iloc[hilbert_order(frame.geometry)]
    for col in frame.columns:  # pyarrow takes NaN in an object column of floats as null
        if (
            col != frame.geometry.name
            and pd.api.types.is_object_dtype(frame[col].dtype)
            and column_kind(frame[col]) == "float"
        ):
            values = [None if _is_null(v) else float(v) for v in frame[col].astype(object)]
            frame[col] = pd.arrays.ArrowExtensionArray(pa.array(values, type=pa.float64()))
    frame.to_parquet(
        path,
        index=False,
        compression="zstd",
        write_covering_bbox=True,
        schema_version="1.1.0",
        row_group_size=row_group_rows,
    )


def _write_parquet(frame: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    write_geoparquet(frame, path)


def _read_parquet(path: Path, layer: str) -> gpd.GeoDataFrame:
    """The layer's own columns (not the covering), exact: NaN apart from null."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    covering = parquet_covering(path)
    frame = gpd.read_parquet(path, columns=[c for c in table.column_names if c not in covering])
    geometry = frame.geometry.name
    attrs = table.drop_columns([geometry, *covering]).to_pandas(types_mapper=pd.ArrowDtype)
    attrs.index = frame.index
    return gpd.GeoDataFrame(attrs, geometry=frame.geometry, crs=frame.crs)


def _parquet_extra(name: str, frame: gpd.GeoDataFrame) -> list[Loss]:
    order = hilbert_order(frame.geometry)
    if (order == np.arange(len(frame))).all():
        return []
    return [
        Loss(
            name,
            None,
            len(frame),
            "GeoParquet rows are written in Hilbert-curve order of their "
            "bounding boxes, so readers can skip row groups; match rows by key",
            "row_order",
            {"order": "hilbert"},
        )
    ]


# -- Shapefile: one zip per layer, one .shp per geometry family, UTF-8 .cpg -----------------------


def _families(frame: gpd.GeoDataFrame) -> dict[str, pd.Index]:
    kinds = frame.geom_type.map(GEOMETRY_FAMILY)
    groups = {k: frame.index[kinds == k] for k in ("point", "line", "polygon") if (kinds == k).any()}
    if not groups:
        groups = {"point": frame.index[:0]}
    first = next(iter(groups))
    nulls = frame.index[kinds.isna()]
    groups[first] = groups[first].append(nulls).sort_values()
    return groups


def _write_shp(frame: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    groups = _families(frame)
    parts = path.parent / f"{path.name}.parts"
    parts.mkdir()
    names = []
    for family, index in groups.items():
        stem = layer if len(groups) == 1 else f"{layer}_{family}"
        pyogrio.write_dataframe(
            gdal_ready(frame.loc[index]),
            parts / f"{stem}.shp",
            layer=stem,
            driver="ESRI Shapefile",
            encoding="UTF-8",
        )
        names += sorted(p.name for p in parts.glob(f"{stem}.*"))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n in names:  # fixed timestamps: the same layer gives the same zip
            info = zipfile.ZipInfo(n, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, (parts / n).read_bytes())


def _read_shp(path: Path, layer: str) -> gpd.GeoDataFrame:
    frames = [read_layer_exact(f"/vsizip/{path}", str(n)) for n in pyogrio.list_layers(path)[:, 0]]
    frames = [f for f in frames if len(f)] or frames[:1]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)


def _shp_extra(name: str, frame: gpd.GeoDataFrame) -> list[Loss]:
    groups = _families(frame)
    losses = []
    if len(groups) > 1:
        losses.append(
            Loss(
                name,
                None,
                len(frame),
                f"a Shapefile holds one geometry type; split into "
                f"{', '.join(f'{name}_{g}.shp' for g in groups)} inside the zip",
                "split",
                {g: f"{name}_{g}.shp" for g in groups},
            )
        )
    polys = int(frame.geom_type.isin(["Polygon", "MultiPolygon"]).sum())
    if polys:
        losses.append(
            Loss(
                name,
                None,
                polys,
                "Shapefile rings follow its own orientation rule and polygons "
                "may read back as MultiPolygons (same shapes)",
                "ring_orientation",
                {},
            )
        )
    return losses


# -- KML / KMZ (LIBKML) ----------------------------------------------------------------------------
def _write_kml(frame: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    pyogrio.write_dataframe(gdal_ready(frame), path, layer=layer, driver="LIBKML")


def _geojson_extra(name: str, frame: gpd.GeoDataFrame) -> list[Loss]:
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if len(frame) or not columns:
        return []
    return [
        Loss(
            name,
            None,
            0,
            f"an empty GeoJSON layer keeps no column list; {len(columns)} column(s) "
            f"are listed only in the manifest",
            "empty_schema",
            {"columns": [str(c) for c in columns]},
        )
    ]


def _kml_extra(name: str, frame: gpd.GeoDataFrame) -> list[Loss]:
    flat = int((~frame.geometry.isna() & ~frame.geometry.has_z).sum())
    if flat:
        return [
            Loss(
                name,
                None,
                flat,
                "KML coordinates carry an altitude; 2D geometries read back with altitude 0",
                "z_added",
                {"z": 0},
            )
        ]
    return []


# -- the registry -----------------------------------------------------------------------------------
# LIBKML puts a column named id into the Placemark's XML id attribute unescaped: keep it an attribute
_KML_RESERVED = frozenset(
    {
        "id",
        "timestamp",
        "begin",
        "end",
        "altitudemode",
        "tessellate",
        "extrude",
        "visibility",
        "draworder",
        "icon",
        "snippet",
    }
)

FORMATS: dict[str, Format] = {
    "gpkg": Format(
        "gpkg",
        "GPKG",
        (".gpkg",),
        Caps(
            "GeoPackage",
            nan=False,
            negative_zero=False,
            datetime_ms=True,
            case_insensitive_names=True,
            reserved=frozenset({"fid", "geom"}),
        ),
        _gdal_writer("GPKG"),
        _read_gdal,
        "exact (IEEE doubles)",
    ),
    "geojson": Format(
        "geojson",
        "GeoJSON",
        (".geojson", ".json"),
        Caps("GeoJSON", nan=False, infinity=False, int_bits=53, datetime_ms=True),
        _gdal_writer("GeoJSON", layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"}),
        _read_single,
        "7 decimal places of a degree (RFC 7946, about 1 cm)",
        fixed_crs="EPSG:4326",
        extra=_geojson_extra,
    ),
    "fgb": Format(
        "fgb",
        "FlatGeobuf",
        (".fgb",),
        Caps("FlatGeobuf", datetime_ms=True),
        _write_fgb,
        _read_single,
        "exact (IEEE doubles)",
        extra=_fgb_extra,
    ),
    "parquet": Format(
        "parquet",
        "GeoParquet",
        (".parquet", ".geoparquet"),
        Caps("GeoParquet", datetime="zone", reserved=frozenset({BBOX_COLUMN})),
        _write_parquet,
        _read_parquet,
        "exact (WKB doubles)",
        extra=_parquet_extra,
    ),
    "shp": Format(
        "shp",
        "ESRI Shapefile",
        (".shp.zip", ".zip"),
        Caps(
            "Shapefile",
            nan=False,
            int_bits=53,
            datetime="text",
            floats="fixed",
            empty_text=False,
            max_text_bytes=254,
            name_bytes=10,
            case_insensitive_names=True,
        ),
        _write_shp,
        _read_shp,
        "exact (IEEE doubles)",
        extra=_shp_extra,
    ),
    "kml": Format(
        "kml",
        "LIBKML",
        (".kml",),
        Caps(
            "KML",
            all_text=True,
            empty_text=False,
            reserved=_KML_RESERVED,
            text_replace={"]]>": "]] >"},  # LIBKML writes text in CDATA sections
            case_insensitive_names=True,
            renames={"name": "Name"},
        ),
        _write_kml,
        _read_single,
        "15 significant digits",
        fixed_crs="EPSG:4326",
        extra=_kml_extra,
    ),
    "csv": Format(
        "csv",
        "CSV",
        (".csv",),
        Caps(
            "CSV",
            null_text=False,
            datetime_ms=True,
            booleans=True,
            case_insensitive_names=True,
            formula_guard=True,
            reserved=frozenset({"wkt", "x", "y", "z", "lon", "lat"}),
        ),
        write_csv_layer,
        read_csv_layer,
        "exact (shortest round-trip decimal)",
        sidecars=(".csvt", ".prj"),
    ),
}
FORMATS["kmz"] = Format(
    "kmz",
    "LIBKML",
    (".kmz",),
    FORMATS["kml"].caps,
    _write_kml,
    _read_single,
    FORMATS["kml"].precision,
    fixed_crs="EPSG:4326",
    extra=_kml_extra,
)

_ALIASES = {
    "gpkg": "gpkg",
    "geopackage": "gpkg",
    "geojson": "geojson",
    "json": "geojson",
    "flatgeobuf": "fgb",
    "geoparquet": "parquet",
    "esri shapefile": "shp",
    "shapefile": "shp",
    "libkml": "kml",
}


def resolve_format(name: str) -> Format:
    """The :class:`Format` for a key (``gpkg``) or a driver name (``GPKG``, ``ESRI Shapefile``)."""
    key = name.lower().lstrip(".")
    key = _ALIASES.get(key, key)
    if key not in FORMATS:
        raise ExportError(f"unknown export format {name!r}. Fix: use one of {', '.join(FORMATS)}")
    return FORMATS[key]


def target_crs(fmt: Format, crs: object) -> CRS | None:
    """The CRS to export in: ``crs`` if given (refused where the format is fixed), else each layer's."""
    if crs is None:
        return CRS.from_user_input(fmt.fixed_crs) if fmt.fixed_crs else None
    try:
        wanted = CRS.from_user_input(crs)
    except Exception as exc:
        raise CRSError(f"{crs!r} is not a CRS pyproj knows. Fix: give an EPSG code, e.g. EPSG:7755") from exc
    if fmt.fixed_crs and not wanted.equals(CRS.from_user_input(fmt.fixed_crs)):
        raise CRSError(
            f"{fmt.key} holds only {fmt.fixed_crs}, not {crs}. Fix: drop --crs, or use gpkg, fgb, "
            f"parquet, shp or csv for other CRSs"
        )
    return wanted


def adapt_layer(
    name: str, gdf: gpd.GeoDataFrame, fmt: Format, crs: CRS | None
) -> tuple[gpd.GeoDataFrame, list[Loss]]:
    """A copy of ``gdf`` that ``fmt`` holds exactly, reprojected to ``crs``, and the changes made."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise ExportError(
            f"layer {name!r} is a {type(gdf).__name__}, not a GeoDataFrame. Fix: pass "
            f"GeoDataFrames, or give tables a geometry column"
        )
    source_crs = require_crs(gdf, f"layer {name!r}")
    frame = gdf.reset_index(drop=True)
    if crs is not None and not source_crs.equals(crs):
        frame = frame.to_crs(crs)
    fitted, losses = fit(name, frame, fmt.caps)
    return fitted, losses + fmt.extra(name, fitted)


def kinds(frame: gpd.GeoDataFrame) -> Mapping[str, str]:
    """Each attribute column's kind (``int``, ``float``, ``text``, ...), for CSV types and reports."""
    return {str(c): column_kind(frame[c]) for c in frame.columns if c != frame.geometry.name}
