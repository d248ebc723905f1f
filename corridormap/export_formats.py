"""The export formats, what each can hold, and the explicit mapping applied where it cannot.

Each :class:`Format` knows its GDAL driver, file suffix, the CRS it is fixed to (if any), how to
write one layer and how to read it back. :func:`adapt_layer` turns a layer into what the format
can hold and returns every change as a :class:`Loss` (column, count, reason, mapping), which the
export warns about and records beside the output. Nothing is changed silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
from pyproj import CRS

from .crs import require_crs
from .errors import CRSError, DataLossWarning, ExportError

__all__ = ["FORMATS", "Format", "Loss", "adapt_layer", "resolve_format", "target_crs"]


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
        return {"layer": self.layer, "column": self.column, "count": self.count, "kind": self.kind,
                "reason": self.reason, "mapping": dict(self.mapping)}

    def warning_class(self) -> type[Warning]:
        return DataLossWarning

    def __str__(self) -> str:
        where = f"layer {self.layer!r}" + (f", column {self.column!r}" if self.column else "")
        return f"{where}: {self.count} value(s): {self.reason}"


Writer = Callable[[gpd.GeoDataFrame, Path, str], None]
Reader = Callable[[Path, str], gpd.GeoDataFrame]
Adapter = Callable[[str, gpd.GeoDataFrame], tuple[gpd.GeoDataFrame, list[Loss]]]


@dataclass(frozen=True)
class Format:
    """An export format: key, GDAL driver, suffixes, fixed CRS, writer, reader and adapter."""

    key: str
    driver: str
    suffixes: tuple[str, ...]
    write: Writer
    reader: Reader | None = None
    adapt: Adapter | None = None
    fixed_crs: str | None = None

    def filename(self, layer: str) -> str:
        return f"{layer}{self.suffixes[0]}"


def _write_gdal(driver: str, **options: Any) -> Writer:
    def write(frame: gpd.GeoDataFrame, path: Path, layer: str) -> None:
        pyogrio.write_dataframe(frame, path, layer=layer, driver=driver, **options)

    return write


FORMATS: dict[str, Format] = {
    "gpkg": Format("gpkg", "GPKG", (".gpkg",), _write_gdal("GPKG", nan_as_null=False)),
}

_ALIASES = {f.driver.lower(): key for key, f in FORMATS.items()}


def resolve_format(name: str) -> Format:
    """The :class:`Format` for a key (``gpkg``) or a GDAL driver name (``GPKG``)."""
    key = name.lower().lstrip(".")
    key = _ALIASES.get(key, key)
    if key not in FORMATS:
        raise ExportError(f"unknown export format {name!r}. Fix: use one of {', '.join(FORMATS)}")
    return FORMATS[key]


def target_crs(fmt: Format, crs: object, layers: Mapping[str, gpd.GeoDataFrame]) -> CRS | None:
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
    """A copy of ``gdf`` that ``fmt`` can hold, reprojected to ``crs``, and the changes made."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise ExportError(f"layer {name!r} is a {type(gdf).__name__}, not a GeoDataFrame. Fix: pass "
                          f"GeoDataFrames (tables go through export_tables)")
    source_crs = require_crs(gdf, f"layer {name!r}")
    frame = gdf.reset_index(drop=True)
    if crs is not None and not source_crs.equals(crs):
        frame = frame.to_crs(crs)
    if fmt.adapt is None:
        return frame, []
    return fmt.adapt(name, frame)
