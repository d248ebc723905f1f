"""``corridormap export``: the catalog's layers, or your own files, to GIS formats or PostGIS."""

from __future__ import annotations

import signal
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from .options import overwrite_option

FORMAT_KEYS = ("gpkg", "geojson", "fgb", "parquet", "shp", "kml", "kmz", "csv")


def _crs(value: str | None) -> str | None:
    if value is None:
        return None
    if value.lower() in ("belt", "metric"):
        from ..crs import BELT_CRS

        return BELT_CRS
    return f"EPSG:{value}" if value.isdigit() else value


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """Turn SIGTERM into SystemExit for the export, so staged files are removed before exiting."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _names(values: tuple[str, ...]) -> list[str]:
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


@click.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMAT_KEYS),
    default="gpkg",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output file (gpkg, or one layer) or folder (one file per layer). Default: build/corridor.<format>.",
)
@click.option(
    "--to",
    "url",
    default=None,
    metavar="postgresql://USER@HOST:PORT/DB",
    help="Write into PostGIS instead of a file (password from PGPASSWORD or ~/.pgpass).",
)
@click.option("--schema", default="corridormap", show_default=True, help="PostGIS schema.")
@click.option(
    "--layers",
    "layer_names",
    multiple=True,
    metavar="NAME[,NAME...]",
    help="Only these layers (repeat or comma-separate).",
)
@click.option(
    "--crs",
    default=None,
    metavar="EPSG",
    help="Reproject: 4326, 7755, any EPSG code, or 'belt' for the belt's metric CRS.",
)
@click.option(
    "--with-analysis",
    is_flag=True,
    help="Add the analysis as the build does: the access card on industrial_nodes "
    "(km and network km), catchment_rings and gap_flags.",
)
@click.option(
    "--styles",
    type=click.Choice(["qml", "sld"]),
    default=None,
    help="Also write a QGIS style file (QML) or an OGC SLD beside each output, for layers with a "
    "catalog style. A GeoPackage always carries them in its layer_styles table.",
)
@overwrite_option
def export(
    files: tuple[Path, ...],
    fmt: str,
    out: Path | None,
    url: str | None,
    schema: str,
    layer_names: tuple[str, ...],
    crs: str | None,
    with_analysis: bool,
    styles: str | None,
    overwrite: bool,
) -> None:
    """Export layers to GeoPackage, GeoJSON, FlatGeobuf, GeoParquet, Shapefile, KML or CSV, or PostGIS.

    Without FILEs, the catalog's layers are exported; with FILEs, the layers of those files (a
    GeoPackage's every layer). Every export is atomic, verified and has a manifest (PATH.manifest.json,
    or export.manifest.json inside an output folder); what a format cannot hold is changed explicitly,
    summarised, and recorded field by field in the field map (PATH.fieldmap.json / export.fieldmap.json).
    """
    from ..errors import DataLossWarning
    from ..export.formats import resolve_format, target_crs
    from ..export.write import collect_layers

    if url is not None and styles is not None:
        raise click.UsageError("--styles writes style files beside file outputs; it does not apply to --to")
    if url is None:  # refuse a CRS the format cannot hold before loading anything
        target_crs(resolve_format(fmt), _crs(crs))
    with warnings.catch_warnings(record=True) as caught, _terminate_cleanly():
        warnings.simplefilter("always")
        layers, specs, inputs = collect_layers(files, names=_names(layer_names), with_analysis=with_analysis)
        if url is not None:
            from ..export.postgis import redact, write_postgis

            written = write_postgis(
                layers, url, schema=schema, overwrite=overwrite, crs=_crs(crs), specs=specs
            )
            target = f"{redact(url)} schema {schema}: tables {', '.join(written)}"
        else:
            target = _to_files(layers, specs, inputs, fmt, out, crs, overwrite, styles)
    declared = [w for w in caught if issubclass(w.category, DataLossWarning)]
    for w in caught:
        if url is not None or w not in declared:  # file exports: one summary below, details in the field map
            click.echo(f"warning: {w.message}", err=True)
    click.echo(f"Exported {len(layers)} layer(s) to {target}")
    if declared and url is None:
        _losses(Path(target), set(layers))


def _losses(target: Path, names: set[str]) -> None:
    import json

    from ..export.write import fieldmap_path
    from ._summary import losses_summary

    fieldmap = fieldmap_path(target)
    entries = json.loads(fieldmap.read_text(encoding="utf-8")).get("losses", [])
    for line in losses_summary([e for e in entries if e.get("layer") in names], fieldmap):
        click.echo(line, err=True)


def _to_files(
    layers: Any,
    specs: Any,
    inputs: Any,
    fmt: str,
    out: Path | None,
    crs: str | None,
    overwrite: bool,
    styles: str | None,
) -> str:
    from .. import settings
    from ..export.formats import resolve_format
    from ..export.write import export_layers

    path = out if out is not None else settings.out_dir / f"corridor{resolve_format(fmt).suffixes[0]}"
    if out is None and fmt != "gpkg" and len(layers) > 1:
        path = settings.out_dir / fmt
    written = export_layers(
        layers,
        path,
        driver=fmt,
        overwrite=overwrite,
        crs=_crs(crs),
        specs=specs,
        inputs=inputs,
        styles=styles,
    )
    return str(written.resolve())
