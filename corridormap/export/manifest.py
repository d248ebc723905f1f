"""The manifest written beside every export: what is in it, where it came from, what changed.

A manifest is plain JSON (``PATH.manifest.json``): per layer the feature count, CRS, bounds,
geometry types, columns, and provenance (source, licence, as-of, geometry quality); the corridormap
and GDAL versions; hashes of the input files and of the outputs; and every declared loss or rename
the format forced. It holds no clock time, so the same export gives the same manifest.

>>> import geopandas as gpd
>>> from shapely.geometry import Point
>>> nodes = gpd.GeoDataFrame({"id": [1]}, geometry=[Point(77.2, 28.6)], crs="EPSG:4326")
>>> m = build_manifest({"nodes": nodes})
>>> m["layers"]["nodes"]["features"], m["layers"]["nodes"]["crs"]
(1, 'EPSG:4326')
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd

from .. import __version__
from ..atomic import write_json_atomic

__all__ = ["build_manifest", "crs_name", "file_sha256", "spec_meta", "write_json_atomic"]

PROVENANCE_KEYS = ("source", "licence", "as_of", "geometry_quality")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def crs_name(crs: object) -> str | None:
    """``'EPSG:4326'`` where the CRS has an authority code, else its WKT; ``None`` for no CRS."""
    if crs is None:
        return None
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    auth = c.to_authority(min_confidence=90)
    return f"{auth[0]}:{auth[1]}" if auth else c.to_wkt()


def spec_meta(spec: Any) -> dict[str, Any]:
    """Title, description, group and provenance of a ``LayerSpec`` or a plain dict (``None``: empty)."""
    if spec is None:
        return {}
    get = spec.get if isinstance(spec, Mapping) else lambda k, d=None: getattr(spec, k, d)
    meta: dict[str, Any] = {k: get(k) for k in ("title", "description", "group") if get(k) is not None}
    provenance = get("provenance") or {}
    for key in PROVENANCE_KEYS:
        value = provenance.get(key) if isinstance(provenance, Mapping) else None
        value = get(key) if value is None else value
        if value is not None:
            meta[key] = str(value)
    return meta


def _bounds(gdf: gpd.GeoDataFrame) -> list[float] | None:
    if gdf.empty or gdf.geometry.isna().all():
        return None
    values = [float(v) for v in gdf.total_bounds]
    return None if any(math.isnan(v) for v in values) else values


def _column_values(gdf: gpd.GeoDataFrame, column: str) -> list[str]:
    if column not in gdf.columns:
        return []
    return sorted({str(v) for v in gdf[column].dropna().unique()})


def _layer_entry(gdf: gpd.GeoDataFrame, spec: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "features": len(gdf),
        "crs": crs_name(gdf.crs) if isinstance(gdf, gpd.GeoDataFrame) else None,
        "bounds": _bounds(gdf) if isinstance(gdf, gpd.GeoDataFrame) else None,
        "geometry_types": (
            sorted(gdf.geom_type.dropna().unique().tolist()) if isinstance(gdf, gpd.GeoDataFrame) else []
        ),
        "columns": [
            str(c) for c in gdf.columns if not (isinstance(gdf, gpd.GeoDataFrame) and c == gdf.geometry.name)
        ],
    }
    meta = spec_meta(spec)
    # features carry their own source/licence; list them when the spec does not say
    for key in ("source", "licence"):
        if key not in meta and (found := _column_values(gdf, key)):
            meta[key] = "; ".join(found)
    entry.update(meta)
    return entry


def build_manifest(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    specs: Mapping[str, Any] | None = None,
    outputs: Iterable[str | os.PathLike[str]] | None = None,
    inputs: Iterable[str | os.PathLike[str]] | None = None,
    losses: Iterable[Mapping[str, Any]] | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Describe ``layers`` (and the files written from them) as a JSON-ready dict.

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame
        The layers as exported (after any reprojection), by name.
    specs : mapping of str to LayerSpec or dict, optional
        Catalog entries by layer name; layers without one (users' files) are described from
        their own ``source``/``licence`` columns where present.
    outputs, inputs : iterable of path, optional
        Files written and files read; each is listed with its SHA-256.
    losses : iterable of dict, optional
        Declared losses and renames (see :mod:`corridormap.export`).
    options : mapping, optional
        The export options (format, CRS, ...), recorded as given. Never pass secrets here.

    Returns
    -------
    dict
        ``corridormap_version``, ``gdal_version``, ``layers``, ``outputs``, ``inputs``, ``losses``
        and ``options``.
    """
    import pyogrio

    specs = specs or {}
    return {
        "corridormap_version": __version__,
        "gdal_version": pyogrio.__gdal_version_string__,
        "layers": {name: _layer_entry(gdf, specs.get(name)) for name, gdf in layers.items()},
        "outputs": _hashed(outputs),
        "inputs": _hashed(inputs),
        "losses": [dict(loss) for loss in (losses or [])],
        "options": dict(options or {}),
    }


def _hashed(paths: Iterable[str | os.PathLike[str]] | None) -> list[dict[str, str]]:
    listed = []
    for p in paths or []:
        path = Path(p)
        entry = {"path": path.name if path.is_file() else str(path)}
        if path.is_file():
            entry["sha256"] = file_sha256(path)
        listed.append(entry)
    return listed
