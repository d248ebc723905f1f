"""Validating users' files: one report per file, for vectors and rasters alike.

:func:`validate_file` never raises for a user's mistake: whatever stops a file (missing, empty,
corrupt, wrong encoding, a layer to choose, a refused feature) becomes a finding of severity
``"refuse"`` in the returned :class:`ValidationReport`, which ``corridormap validate`` prints. The
checks themselves live beside the reader (:mod:`corridormap.io._geomchecks`,
:mod:`corridormap.io._fieldchecks`); rasters are checked here with rasterio.

Examples
--------
``report = corridormap.validate_file("plots.gpkg", layer="plots")`` then ``print(report.to_text())``
prints what ``corridormap validate plots.gpkg --layer plots`` prints.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .catalog.load import read_layer
from .errors import CorridormapError
from .io.read import ReadOptions, detect_format, load_file
from .io.report import Finding, Repair, ValidationReport

__all__ = ["validate_file", "validate_raster", "ValidationReport", "Finding", "Repair"]

# lon/lat window around the corridor, used only when the catalog's belt cannot be loaded
_FALLBACK_BELT = (68.0, 17.0, 82.0, 31.0)
_SAMPLE = 1024


def validate_file(
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
) -> ValidationReport:
    """Check one file (vector or raster) and return its report; ``report.refused`` says if it loads.

    Options are those of :func:`corridormap.read_file`.
    """
    path = Path(path)
    fmt: str | None = None
    try:
        fmt, _ = detect_format(path)
        if fmt == "raster":
            return validate_raster(path, crs=crs)
        options = ReadOptions(layer, crs, encoding, swap_xy, salvage, x, y, wkt, decimal, repair)
        _, report = load_file(path, options)
        return report
    except CorridormapError as exc:
        report = ValidationReport(str(path), format=fmt)
        problem, _, fix = str(exc).partition(" Fix: ")
        report.add("refuse", type(exc).__name__, problem.removeprefix(f"{path}: "), fix or "see the message")
        return report


def validate_raster(path: str | Path, *, crs: str | None = None) -> ValidationReport:
    """Check a raster: readable, has a CRS (or ``crs=``), holds data, overlaps the corridor."""
    import rasterio
    import rasterio.warp
    from rasterio.errors import RasterioIOError

    path = Path(path)
    report = ValidationReport(str(path), format="raster")
    try:
        with rasterio.open(path) as src:
            report.n_features = src.count
            src_crs = src.crs or (rasterio.crs.CRS.from_user_input(crs) if crs else None)
            data = src.read(1, masked=True, out_shape=(min(src.height, _SAMPLE), min(src.width, _SAMPLE)))
            bounds = tuple(src.bounds)
    except RasterioIOError as exc:
        report.add(
            "refuse", "unreadable", f"cannot be read as a raster ({exc})", "export it again as GeoTIFF"
        )
        return report
    if src_crs is None:
        report.add(
            "refuse",
            "crs-missing",
            "the raster has no CRS",
            "pass --crs, or assign one with gdal_edit.py -a_srs EPSG:4326",
        )
    else:
        report.crs = src_crs.to_string()
        box = rasterio.warp.transform_bounds(src_crs, "EPSG:4326", *bounds)
        report.bounds = tuple(float(b) for b in box)  # type: ignore[assignment]
        if not _overlaps(box, _belt_bounds()):
            report.add(
                "refuse",
                "outside-belt",
                f"the raster covers lon {box[0]:.2f}..{box[2]:.2f}, lat "
                f"{box[1]:.2f}..{box[3]:.2f}, nowhere near the corridor",
                "check its CRS (--crs) or use a raster that covers the corridor",
            )
    values = np.ma.masked_invalid(data)
    if values.count() == 0:
        report.add(
            "refuse",
            "all-nodata",
            "every cell is nodata (or NaN)",
            "check the nodata value (gdal_edit.py -a_nodata) or export the raster again",
        )
    return report


@functools.cache
def _belt_bounds() -> tuple[float, ...]:
    """Longitude/latitude bounds of the catalog's corridor belt (a fixed window if it cannot load)."""
    try:
        return tuple(float(v) for v in read_layer("corridor_belt").to_crs("EPSG:4326").total_bounds)
    except CorridormapError:
        return _FALLBACK_BELT


def _overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
