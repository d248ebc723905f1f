"""Open datasets users already know, loaded by one generic loader into the catalog's schema.

Each dataset is a TOML file in ``layers/datasets/``: where it is published (``url``), how to read it
(``format``: ``csv`` with ``x``/``y`` coordinate columns, or anything GDAL reads), which rows to
keep (``where``), how columns map (``columns``), and its provenance (``constants``: ``source``,
``licence``, ``as_of``, ``geometry_quality``, ``position_tolerance_km``). Shipped:

- ``gppd_renewables``: the solar and wind plants of the WRI Global Power Plant Database (India),
  with ``capacity_mw`` and ``technology``, beside the ``renewable_zones`` layer;
- ``datameet_stations``: datameet's Indian railway stations, with ``code``, ``zone``, ``state``.

Without ``path`` the file is downloaded once into ``settings.cache_dir/downloads`` (or taken from
``settings.mirror``) through :mod:`corridormap.osm._overpass`, the one door to the network.

A catalog entry loads a dataset as a layer with ``[derive] function =
"load_dataset"`` and ``params = { name = "gppd_renewables" }``.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import settings
from ..crs import to_display
from ..errors import CatalogError, DataSourceNotFoundError, LayerValidationError
from . import _overpass

__all__ = ["dataset_names", "dataset_spec", "load_dataset", "gppd_renewables", "railway_stations"]

log = logging.getLogger(__name__)

SCHEMA = (
    "id",
    "name",
    "state",
    "status",
    "status_detail",
    "as_of",
    "source",
    "licence",
    "geometry_quality",
    "position_tolerance_km",
)


def _folder() -> Path:
    return Path(settings.layers_dir) / "datasets"


def dataset_names() -> list[str]:
    """The datasets described in ``layers/datasets/*.toml``."""
    return sorted(p.stem for p in _folder().glob("*.toml"))


def dataset_spec(name: str) -> dict[str, Any]:
    """One dataset's description (the TOML file as a dict)."""
    path = _folder() / f"{name}.toml"
    if not path.is_file():
        raise CatalogError(
            f"unknown dataset {name!r}. Fix: use one of {', '.join(dataset_names())} or add {path}"
        )
    with path.open("rb") as fh:
        spec = tomllib.load(fh)
    missing = [k for k in ("url", "format", "id", "name") if k not in spec]
    if missing:
        raise CatalogError(f"{path}: missing {', '.join(missing)}. Fix: add them (see the module docs)")
    return spec


def _read(path: Path, spec: Mapping[str, Any]) -> gpd.GeoDataFrame:
    if spec["format"] == "csv":
        table = pd.read_csv(path, low_memory=False)
        x, y = spec.get("x", "longitude"), spec.get("y", "latitude")
        absent = [c for c in (x, y) if c not in table.columns]
        if absent:
            raise LayerValidationError(
                f"{path}: no column {', '.join(map(repr, absent))}. Fix: set x/y in "
                f"the dataset's TOML to the coordinate columns of this file"
            )
        return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table[x], table[y]), crs=spec.get("crs"))
    gdf = gpd.read_file(path)
    return gdf if gdf.crs is not None else gdf.set_crs(spec.get("crs", "EPSG:4326"))


def _keep(gdf: gpd.GeoDataFrame, spec: Mapping[str, Any], path: Path) -> gpd.GeoDataFrame:
    keep = np.ones(len(gdf), dtype=bool)
    for column, allowed in spec.get("where", {}).items():
        keep &= gdf[column].isin([allowed] if isinstance(allowed, str) else allowed).to_numpy()
    located = ~(gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy()
    if spec["format"] == "csv":
        located &= np.isfinite(gdf.geometry.x.to_numpy()) & np.isfinite(gdf.geometry.y.to_numpy())
    dropped = int((keep & ~located).sum())
    if dropped:
        log.warning("%s: %d selected rows have no coordinates and are left out", path.name, dropped)
    return gdf[keep & located]


def load_dataset(name: str, *, path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Load an open dataset into the catalog's schema, with provenance columns.

    Parameters
    ----------
    name : str
        A dataset of ``layers/datasets/`` (``gppd_renewables``, ``datameet_stations``).
    path : path, optional
        A local copy of the file; without it the published file is downloaded once and cached.

    Returns
    -------
    GeoDataFrame
        EPSG:4326: ``id``, ``name``, ``state``, ``status``, ``status_detail``, ``as_of``, ``source``,
        ``licence``, ``geometry_quality``, ``position_tolerance_km`` and the dataset's own columns.
        Rows without coordinates are left out (and counted in a log warning).
    """
    spec = dataset_spec(name)
    if path is None:
        path = _overpass.download(spec["url"], name=spec.get("file"))
    path = Path(path)
    if not path.is_file():
        raise DataSourceNotFoundError(
            f"{path} does not exist. Fix: check the path, or leave it out to download {spec['url']}"
        )
    raw = _keep(_read(path, spec), spec, path)
    data: dict[str, Any] = {
        "id": spec["id"].get("prefix", "") + raw[spec["id"]["column"]].astype(str),
        "name": raw[spec["name"]].astype(str),
        "state": None,
    }
    for out, column in spec.get("columns", {}).items():
        values = raw[column]
        if out in spec.get("lowercase", ()):
            values = values.str.lower()
        if out in spec.get("integers", ()):
            values = pd.to_numeric(values, errors="coerce").round().astype("Int64")
        data[out] = values
    data.update(spec.get("constants", {}))
    out = gpd.GeoDataFrame(data, geometry=raw.geometry, crs=raw.crs)
    ordered = [c for c in SCHEMA if c in out.columns]
    out = out[ordered + [c for c in out.columns if c not in ordered]]
    return to_display(out, name).reset_index(drop=True)


def gppd_renewables(path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Solar and wind plants of the WRI Global Power Plant Database (India), with ``capacity_mw``."""
    return load_dataset("gppd_renewables", path=path)


def railway_stations(path: str | Path | None = None) -> gpd.GeoDataFrame:
    """datameet's Indian railway stations, with ``code``, ``zone`` and ``state``."""
    return load_dataset("datameet_stations", path=path)
