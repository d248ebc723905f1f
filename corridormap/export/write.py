"""Export layers for GIS staff: every format they use, nothing lost silently, nothing half-written.

:func:`export_layers` writes a ``{name: GeoDataFrame}`` mapping to GeoPackage, GeoJSON, FlatGeobuf,
GeoParquet, Shapefile, KML/KMZ or CSV. Every export

- is staged beside the target and moved into place (see :mod:`corridormap.atomic`), so a failing or
  killed export leaves the previous output byte-identical;
- refuses to replace an existing file, or an existing layer of a GeoPackage, unless
  ``overwrite=True``; other layers of a GeoPackage are never touched;
- re-opens what it wrote and checks feature counts, keys and CRS before reporting success;
- writes ``PATH.manifest.json`` beside the output (see :mod:`corridormap.export.manifest`);
- applies, records and warns about (:class:`~corridormap.errors.DataLossWarning`) every change a
  format forces (see :mod:`corridormap.export.formats`).

>>> import tempfile, pathlib, geopandas as gpd
>>> from shapely.geometry import Point
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> nodes = gpd.GeoDataFrame({"id": [1]}, geometry=[Point(77.2, 28.6)], crs="EPSG:4326")
>>> export_layers({"nodes": nodes}, tmp / "corridor.gpkg").name
'corridor.gpkg'
>>> sorted(p.name for p in tmp.iterdir())
['corridor.gpkg', 'corridor.gpkg.manifest.json']
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio

from ..analysis.outputs import add_analysis_layers
from ..atomic import refuse_existing, replace_into, staging_dir, write_bytes_atomic, write_json_atomic
from ..catalog.load import load_catalog, load_layers
from ..errors import (
    CorridormapError,
    DataSourceNotFoundError,
    ExportError,
    OutputExistsError,
    OutputWriteError,
)
from ..io import read as io
from ..io._gdalpath import gdal_name, gdal_path
from .adapt import Loss
from .formats import FORMATS, Format, adapt_layer, gdal_ready, resolve_format, target_crs
from .manifest import build_manifest, spec_meta
from .styles import STYLES_TABLE, style_sidecars, write_layer_styles

__all__ = ["export_layers", "collect_layers", "manifest_path", "fieldmap_path", "FORMATS", "read_back"]

log = logging.getLogger(__name__)

#: GeoPackage timestamps are pinned so the same input gives byte-identical files.
FIXED_DATE = "2000-01-01T00:00:00.000Z"


def manifest_path(path: str | os.PathLike[str]) -> Path:
    """Where the manifest of an export to ``path`` is written: ``PATH.manifest.json`` beside a file,
    ``export.manifest.json`` inside a folder (one file per layer), so it travels with the folder."""
    p = Path(path)
    return p / "export.manifest.json" if p.is_dir() else p.with_name(p.name + ".manifest.json")


def fieldmap_path(path: str | os.PathLike[str]) -> Path:
    """Where the declared changes of an export to ``path`` are written (renames, cut text with its
    full text, ...): ``PATH.fieldmap.json`` beside a file, ``export.fieldmap.json`` inside a folder."""
    p = Path(path)
    return p / "export.fieldmap.json" if p.is_dir() else p.with_name(p.name + ".fieldmap.json")


@contextmanager
def gdal_config(**options: str | None) -> Iterator[None]:
    """Set GDAL configuration options for a block, restoring the previous values after."""
    before = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(before)


def export_layers(
    layers: Mapping[str, gpd.GeoDataFrame],
    path: str | os.PathLike[str],
    *,
    driver: str = "GPKG",
    overwrite: bool = False,
    crs: object = None,
    specs: Mapping[str, Any] | None = None,
    layers_meta: Mapping[str, Any] | None = None,
    inputs: Sequence[str | os.PathLike[str]] | None = None,
    manifest: bool = True,
    styles: str | None = None,
) -> Path:
    """Write ``layers`` to ``path`` in one format, atomically, verified, with a manifest.

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame
        Layers by name (the names become layer, file or table names). Inputs are never changed.
    path : path
        A file for GeoPackage (all layers in one file) and for single-layer exports to other
        formats; otherwise a folder that receives one file per layer.
    driver : str, default "GPKG"
        A format key (``gpkg``, ``geojson``, ``fgb``, ``parquet``, ``shp``, ``kml``, ``kmz``,
        ``csv``) or its GDAL driver name.
    overwrite : bool, default False
        Replace existing outputs (and existing layers of a GeoPackage). Without it an existing
        output raises :class:`~corridormap.errors.OutputExistsError` and nothing is written.
    crs : CRS-like, optional
        Reproject every layer to this CRS (any EPSG code); refused with
        :class:`~corridormap.errors.CRSError` where the format cannot hold it.
    specs, layers_meta : mapping of str to LayerSpec or dict, optional
        Titles, descriptions and provenance by layer name (for layer descriptions and the manifest).
    inputs : list of path, optional
        Files the layers were read from; their hashes go into the manifest.
    manifest : bool, default True
        Write ``PATH.manifest.json`` (and ``PATH.fieldmap.json`` when a loss was declared).
    styles : {"qml", "sld"}, optional
        Also write a QGIS style file beside each output, for the layers with a catalog style
        (``specs``). A GeoPackage always gets them in its ``layer_styles`` table (QML and SLD, the
        default style of each styled layer; see :mod:`corridormap.export_styles`).

    Returns
    -------
    Path
        The output path.

    Raises
    ------
    OutputExistsError
        An output (or GeoPackage layer) exists and ``overwrite`` is False; nothing was written.
    CRSError
        A layer has no CRS, or ``crs`` is unknown or one the format cannot hold.
    ExportError
        What was written could not be read back, or its counts, keys or CRS differ; the previous
        output is left in place.

    Warns
    -----
    DataLossWarning
        Once per change the format forces (column, count, reason); all are in ``PATH.fieldmap.json``.
    """
    fmt = resolve_format(driver)
    target = Path(path)
    meta = {**(layers_meta or {}), **(specs or {})}
    frames, losses = _prepare(layers, fmt, crs)
    outputs = _targets(fmt, target, list(frames))
    renames = _renames(losses)
    sidecars = style_sidecars(frames, meta, outputs, styles, renames=renames) if styles else {}
    refuse_existing(list(sidecars), overwrite)
    existed = target.exists()
    try:
        with gdal_config(OGR_CURRENT_DATE=FIXED_DATE):
            if fmt.key == "gpkg":
                _write_gpkg(frames, target, overwrite=overwrite, meta=meta, renames=renames)
            else:
                _write_files(frames, fmt, target, outputs, overwrite=overwrite)
        for sidecar, text in sidecars.items():
            write_bytes_atomic(text.encode("utf-8"), sidecar, overwrite=overwrite)
        _write_records(
            frames,
            target,
            outputs,
            fmt,
            losses,
            meta,
            inputs,
            crs,
            manifest=manifest,
            extra_files=list(sidecars),
        )
    except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        if isinstance(exc, CorridormapError):
            raise
        raise write_failed(target, exc, existed=existed) from exc
    log.info("exported %d layer(s) to %s (%s)", len(frames), target, fmt.key)
    return target


def _prepare(
    layers: Mapping[str, gpd.GeoDataFrame], fmt: Format, crs: object
) -> tuple[dict[str, gpd.GeoDataFrame], list[Loss]]:
    if not layers:
        raise ExportError("no layers to export. Fix: pass at least one layer (check --layers)")
    frames: dict[str, gpd.GeoDataFrame] = {}
    losses: list[Loss] = []
    out_crs = target_crs(fmt, crs)
    for name, gdf in layers.items():
        frame, found = adapt_layer(name, gdf, fmt, out_crs)
        frames[name] = frame
        losses.extend(found)
    for loss in losses:
        warnings.warn(str(loss), loss.warning_class(), stacklevel=3)
    return frames, losses


def _renames(losses: list[Loss]) -> dict[str, dict[str, str]]:
    """Per layer, the column renames a format forced (old name -> new name)."""
    renames: dict[str, dict[str, str]] = {}
    for loss in losses:
        if loss.kind == "rename":
            renames.setdefault(loss.layer, {}).update({str(k): str(v) for k, v in loss.mapping.items()})
    return renames


def _targets(fmt: Format, target: Path, names: list[str]) -> dict[str, Path]:
    """Where each layer goes: one file, or one file per layer in the folder ``target``."""
    if fmt.key == "gpkg" or (len(names) == 1 and target.suffix.lower() in fmt.suffixes):
        return {name: target for name in names}
    return {name: target / fmt.filename(name) for name in names}


def _write_gpkg(
    frames: dict[str, gpd.GeoDataFrame],
    target: Path,
    *,
    overwrite: bool,
    meta: Mapping[str, Any],
    renames: Mapping[str, Mapping[str, str]],
) -> None:
    if STYLES_TABLE in frames:
        raise ExportError(
            f"{STYLES_TABLE!r} is the GeoPackage table of QGIS styles, not a layer name. Fix: "
            f"rename the layer"
        )
    present: list[str] = []
    if target.exists():
        try:
            with gdal_path(target) as readable:
                present = [str(n) for n in pyogrio.list_layers(readable)[:, 0] if n != STYLES_TABLE]
        except Exception as exc:
            raise OutputExistsError(
                f"{target} exists and is not a GeoPackage GDAL can open ({exc}); nothing was written. "
                f"Fix: choose another output path or remove the file"
            ) from exc
    clash = sorted(set(frames) & set(present))
    if clash and not overwrite:
        raise OutputExistsError(
            f"{target} already has layer(s) {', '.join(clash)}; nothing was written. Fix: pass "
            f"overwrite=True (--overwrite) to replace those layers (others are kept), or choose "
            f"another output path"
        )
    with staging_dir(target) as stage:
        staged = stage / gdal_name(target.name)
        if present:
            shutil.copy2(target, staged)
        for name, frame in frames.items():
            about = spec_meta(meta.get(name))
            options = {"IDENTIFIER": about.get("title"), "DESCRIPTION": about.get("description")}
            pyogrio.write_dataframe(
                gdal_ready(frame),
                staged,
                layer=name,
                driver="GPKG",
                nan_as_null=False,
                layer_options={k: str(v) for k, v in options.items() if v} or None,
            )
        styled = write_layer_styles(staged, frames, meta, update_time=FIXED_DATE, renames=renames)
        log.info("%s: QGIS styles for %d layer(s) in %s", target, styled, STYLES_TABLE)
        verify_written(staged, frames, layer_names=True)
        os.replace(staged, target)


def _write_files(
    frames: dict[str, gpd.GeoDataFrame],
    fmt: Format,
    target: Path,
    outputs: dict[str, Path],
    *,
    overwrite: bool,
) -> None:
    single = all(p == target for p in outputs.values())
    if not single and target.exists() and not target.is_dir():
        raise OutputExistsError(
            f"{target} is a file, but {fmt.key} writes one file per layer into a folder. Fix: give a "
            f"folder path, or export one layer with --layers"
        )
    finals = [f for p in outputs.values() for f in fmt.files(p)]
    refuse_existing(finals, overwrite)
    with staging_dir(finals[0]) as stage:
        staged = {name: stage / gdal_name(p.name) for name, p in outputs.items()}
        for name, frame in frames.items():
            fmt.write(frame, staged[name], name)
        for name, frame in frames.items():
            verify_written(staged[name], {name: frame}, fmt=fmt)
        for name in frames:
            for staged_file, final in zip(fmt.files(staged[name]), fmt.files(outputs[name]), strict=True):
                if staged_file.exists():
                    replace_into(staged_file, final)


_WRITE_FIXES = {
    errno.ENOSPC: "free space on that disk, or write elsewhere",
    errno.EDQUOT: "free space in your quota, or write elsewhere",
    errno.EFBIG: "write elsewhere, or split the export (--layers)",
    errno.EROFS: "write to a folder that is not read-only",
    errno.EACCES: "write to a folder you may write to, or fix its permissions",
    errno.EPERM: "write to a folder you may write to, or fix its permissions",
}
_WRITE_WORDS = (
    ("No space left", errno.ENOSPC),
    ("Read-only", errno.EROFS),
    ("Permission denied", errno.EACCES),
    ("File too large", errno.EFBIG),
)


def write_failed(target: Path, exc: BaseException, *, existed: bool) -> OutputWriteError:
    """A one-line :class:`OutputWriteError` for an operating-system refusal while writing ``target``."""
    code = getattr(exc, "errno", None) or next((c for w, c in _WRITE_WORDS if w in str(exc)), None)
    reason = os.strerror(code) if code else str(exc)
    kept = f"the previous {target.name} is unchanged" if existed else "nothing was written"
    fix = _WRITE_FIXES.get(code or 0, "check the disk and the folder, then run it again")
    error = OutputWriteError(f"{target}: writing failed ({reason}); {kept}. Fix: {fix} (--out)")
    error.errno = code
    return error


def read_back(path: str | os.PathLike[str], layer: str, *, driver: str = "GPKG") -> gpd.GeoDataFrame:
    """Read one exported layer back exactly as written: NaN apart from null, offsets kept as text.

    Columns the format adds by itself (KML's ``timestamp``, ``tessellate``, ...) are included; the
    values of the layer's own columns are what :func:`export_layers` wrote (see its fieldmap).
    """
    return resolve_format(driver).read(Path(path), layer)


def verify_written(
    path: Path,
    frames: Mapping[str, gpd.GeoDataFrame],
    *,
    fmt: Format | None = None,
    layer_names: bool = False,
) -> None:
    """Re-open ``path`` and check each layer's feature count, keys and CRS; raise ExportError."""
    from pyproj import CRS

    for name, expected in frames.items():
        try:
            got = (fmt or FORMATS["gpkg"]).read(path, name)
        except Exception as exc:
            raise ExportError(
                f"{path}: layer {name!r} could not be read back ({exc}); nothing was "
                f"written. Fix: report this with the input that caused it"
            ) from exc
        problems = []
        if len(got) != len(expected):
            problems.append(f"{len(got)} features read back, {len(expected)} written")
        key = "id" if "id" in expected.columns and "id" in got.columns else None
        if key and not problems and sorted(map(str, got[key])) != sorted(map(str, expected[key])):
            problems.append(f"the values of key column {key!r} differ")
        if expected.crs is not None and (got.crs is None or not CRS(got.crs).equals(CRS(expected.crs))):
            problems.append(f"CRS read back is {got.crs}, written {expected.crs}")
        if problems:
            raise ExportError(
                f"{path}: layer {name!r} failed verification: {'; '.join(problems)}; the "
                f"previous output was left in place. Fix: report this with the input"
            )


def _write_records(
    frames: dict[str, gpd.GeoDataFrame],
    target: Path,
    outputs: dict[str, Path],
    fmt: Format,
    losses: list[Loss],
    meta: Mapping[str, Any],
    inputs: Sequence[Any] | None,
    crs: object,
    *,
    manifest: bool,
    extra_files: Sequence[Path] = (),
) -> None:
    """Write (or update, keeping other layers' entries) the fieldmap and the manifest."""
    declared = _kept(fieldmap_path(target), "losses", frames) + [loss.as_dict() for loss in losses]
    if declared:
        write_json_atomic({"losses": declared}, fieldmap_path(target))
    elif fieldmap_path(target).exists():
        fieldmap_path(target).unlink()
    if not manifest:
        return
    files = sorted({f for p in outputs.values() for f in fmt.files(p) if f.exists()} | set(extra_files))
    record = build_manifest(
        frames,
        specs=meta,
        outputs=files,
        inputs=inputs,
        losses=declared,
        options={
            "format": fmt.key,
            "crs": None if crs is None else str(crs),
            "geometry_precision": fmt.precision,
        },
    )
    previous = _read_json(manifest_path(target))
    if previous.get("options", {}).get("format") == fmt.key:  # layers kept from earlier exports
        kept = {k: v for k, v in previous.get("layers", {}).items() if k not in frames}
        record["layers"] = dict(sorted({**kept, **record["layers"]}.items()))
    write_json_atomic(record, manifest_path(target))


def _read_json(path: Path) -> dict[str, Any]:
    import json

    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _kept(path: Path, key: str, frames: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Entries of an earlier record for layers this export did not rewrite."""
    return [e for e in _read_json(path).get(key, []) if isinstance(e, dict) and e.get("layer") not in frames]


def collect_layers(
    files: Sequence[str | os.PathLike[str]] = (),
    *,
    names: Sequence[str] = (),
    with_analysis: bool = False,
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, Any], list[Path]]:
    """The layers an export command works on: the catalog's, or every layer of the given files.

    Returns ``(layers, specs, inputs)``: layers by name, catalog specs (empty for files), and the
    input files (hashed into the manifest). ``names`` keeps only those layers (unknown names are
    refused, listing the known ones); ``with_analysis`` adds the analysis as the build does
    (:func:`corridormap.analysis.outputs.add_analysis_layers`): the access card on
    ``industrial_nodes``, ``catchment_rings`` and ``gap_flags``.
    """
    inputs = [Path(f) for f in files]
    specs: dict[str, Any] = {}
    if inputs:
        layers = _read_user_files(inputs)
    else:
        specs = dict(load_catalog())
        layers = dict(load_layers(catalog=specs))
        inputs = sorted({Path(s.source) for s in specs.values() if getattr(s, "source", None)})
    if with_analysis:
        if "industrial_nodes" not in layers:
            raise DataSourceNotFoundError(
                f"--with-analysis adds the analysis of industrial_nodes, which is not among the layers "
                f"({', '.join(sorted(layers))}). Fix: export the catalog (no files), or give a file "
                f"whose layer is named industrial_nodes"
            )
        layers, specs = add_analysis_layers(layers, specs)
    if names:
        unknown = [n for n in names if n not in layers]
        if unknown:
            raise DataSourceNotFoundError(
                f"no layer named {', '.join(unknown)}. Fix: choose from {', '.join(sorted(layers))}"
            )
        layers = {n: layers[n] for n in names}
    return layers, specs, inputs


def _read_user_files(paths: Sequence[Path]) -> dict[str, gpd.GeoDataFrame]:
    """Every layer of every file, by layer name (a one-layer file is named after the file)."""
    layers: dict[str, gpd.GeoDataFrame] = {}
    for path in paths:
        found = io.list_layers(path) if path.suffix.lower() in (".gpkg", ".kml", ".kmz") else []
        if len(found) > 1:
            read = {name: io.read_file(path, layer=name) for name, _ in found}
        else:
            read = {path.name.split(".")[0]: io.read_file(path)}
        for name, gdf in read.items():
            if name in layers:
                raise ExportError(
                    f"{path}: layer name {name!r} is already taken by another input. Fix: "
                    f"rename one of the files"
                )
            layers[name] = gdf
    return layers
