"""OpenStreetMap extracts in the catalog's schemas: the offline half of :mod:`corridormap.osm`.

``read_extract("india.osm.pbf", "rail", area=polygon)`` reads the railway lines of a local ``.osm``,
``.osm.bz2`` or ``.osm.pbf`` file into a GeoDataFrame in EPSG:4326 with the columns of the catalog
layer the features sit beside (``freight_rail``, ``expressways``, ``industrial_nodes``,
``renewable_zones``, ``ports_logistics``) plus OSM's own (``osm_id``, usage, gauge, ...). What is
asked for and how tags become columns is data: ``layers/osm/features.toml``. Fetching from Overpass
and resolving areas such as "belt" or a place name live in :mod:`corridormap.osm.features`, which
uses the same parsing and normalising; the users'-files loader reads extracts through this module.

Provenance: ``source`` is "OpenStreetMap contributors, ODbL"; ``as_of`` is the day the answer was
fetched (or the extract file was written); ``geometry_quality`` is "approximate", because OSM
positions are traced by volunteers from imagery and GPS and no surveyor stands behind them, even
though tracks and carriageways are usually within tens of metres (``position_tolerance_km``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import tempfile
import tomllib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import settings
from ..crs import DISPLAY_CRS, to_metric
from ..errors import CatalogError, DataSourceNotFoundError, RepairWarning, require
from ._osmxml import repair_clipped

__all__ = [
    "OSM_SOURCE",
    "FeatureSpec",
    "feature_specs",
    "read_extract",
    "parse_capacity_mw",
    "normalise",
    "read_config",
    "pbf_to_xml",
]

log = logging.getLogger(__name__)

OSM_SOURCE = "OpenStreetMap contributors, ODbL"
LIFECYCLE = {"construction": "under construction", "proposed": "proposed", "planned": "proposed"}
# more Overpass tiles than this for one kind is a mistake (a box around the world), not a request
MAX_TILES = 1_000
XML_SUFFIXES = (".osm", ".xml", ".osm.bz2", ".xml.bz2", ".osm.gz")


@dataclass(frozen=True)
class FeatureSpec:
    """One entry of ``layers/osm/features.toml``: what to ask OSM for and how to shape it."""

    what: str
    layer: str
    elements: tuple[str, ...]
    geometry: str
    match: tuple[Mapping[str, Any], ...]
    status_keys: tuple[str, ...] = ()
    position_tolerance_km: float = 0.1
    columns: Mapping[str, str | list[str]] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    corridor: Mapping[str, list[str]] = field(default_factory=dict)
    min_area_km2: float = 0.0
    integers: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """Every tag key the rules test, in order."""
        return tuple(dict.fromkeys(k for rule in self.match for k in rule))

    def operational_rules(self) -> tuple[Mapping[str, Any], ...]:
        """The rules for what exists today (no construction / proposed lifecycle value)."""

        def lifecycle(rule: Mapping[str, Any]) -> bool:
            return any(isinstance(rule.get(k), str) and rule[k] in LIFECYCLE for k in self.status_keys)

        return tuple(r for r in self.match if not lifecycle(r))


def _config_path(name: str) -> Path:
    return Path(settings.layers_dir) / "osm" / name


@lru_cache(maxsize=8)
def _read_config(path: Path, mtime_ns: int) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def read_config(name: str) -> dict[str, Any]:
    """A TOML file of ``layers/osm/`` (``features.toml``, ``speeds.toml``) as a dict."""
    path = _config_path(name)
    if not path.is_file():
        raise DataSourceNotFoundError(
            f"{path} is missing. Fix: reinstall corridormap or point "
            f"settings.layers_dir at a catalog folder that has osm/{name}"
        )
    return _read_config(path, path.stat().st_mtime_ns)


def feature_specs() -> dict[str, FeatureSpec]:
    """Every kind of OSM feature corridormap knows, by name (``rail``, ``motorway``, ...)."""
    out = {}
    for what, raw in read_config("features.toml").items():
        raw = dict(raw)
        raw["elements"] = tuple(raw.get("elements", ("way",)))
        raw["match"] = tuple(raw["match"])
        raw["status_keys"] = tuple(raw.get("status_keys", ()))
        raw["integers"] = tuple(raw.get("integers", ()))
        out[what] = FeatureSpec(what=what, **raw)
    return out


def _spec(what: str) -> FeatureSpec:
    specs = feature_specs()
    if what not in specs:
        raise CatalogError(
            f"unknown OSM feature kind {what!r}. Fix: use one of {', '.join(specs)} "
            f"or add an entry to {_config_path('features.toml')}"
        )
    return specs[what]


# ---- osmnx, in a scope that leaves its global settings as they were -------------------------------


@contextmanager
def _osmnx(**values: Any) -> Iterator[Any]:
    import osmnx as ox

    old = {k: getattr(ox.settings, k) for k in values}
    try:
        for k, v in values.items():
            setattr(ox.settings, k, v)
        yield ox
    finally:
        for k, v in old.items():
            setattr(ox.settings, k, v)


def _raw_features(path: Path, spec: FeatureSpec, area: shapely.Geometry | None) -> gpd.GeoDataFrame:
    """Every feature of one OSM XML file that matches the spec's rules, as osmnx shapes them."""
    from osmnx._errors import InsufficientResponseError

    with _osmnx(default_crs=DISPLAY_CRS) as ox:
        try:
            raw = ox.features_from_xml(path, polygon=area, tags={k: True for k in spec.keys})
        except InsufficientResponseError:
            return gpd.GeoDataFrame(geometry=[], crs=DISPLAY_CRS)
    elements = raw.index.get_level_values("element")
    keep = np.isin(elements, spec.elements) & _matches(raw, spec.match)
    return raw[keep]


def _matches(frame: pd.DataFrame, rules: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """True for rows whose tags satisfy all tests of any rule."""
    hit = np.zeros(len(frame), dtype=bool)
    for rule in rules:
        ok = np.ones(len(frame), dtype=bool)
        for key, value in rule.items():
            if key not in frame.columns:
                ok[:] = False
                break
            column = frame[key]
            allowed = [value] if isinstance(value, str) else value
            ok &= column.notna().to_numpy() if value is True else column.isin(allowed).to_numpy()
        hit |= ok
    return hit


# ---- normalising to the catalog schema ----------------------------------------------------------


def _first_present(raw: pd.DataFrame, tags: str | list[str]) -> pd.Series:
    out = pd.Series(None, index=raw.index, dtype=object)
    for tag in [tags] if isinstance(tags, str) else tags:
        if tag in raw.columns:
            out = out.where(out.notna(), raw[tag])
    return pd.Series(
        [v if isinstance(v, str | list) or pd.notna(v) else None for v in out], index=raw.index, dtype=object
    )


def _status(raw: pd.DataFrame, spec: FeatureSpec) -> tuple[pd.Series, pd.Series]:
    status = pd.Series("operational", index=raw.index, dtype=object)
    detail = pd.Series("", index=raw.index, dtype=object)
    for key in spec.status_keys:
        if key not in raw.columns:
            continue
        values = raw[key]
        for value, label in LIFECYCLE.items():
            status = status.mask(values == value, label)
        detail = detail + values.map(lambda v, k=key: f"OSM {k}={v}" if isinstance(v, str) else "")
    for value in ("construction", "proposed"):
        if value in raw.columns:
            detail = detail + raw[value].map(lambda v, k=value: f"; {k}={v}" if isinstance(v, str) else "")
    return status, detail


_POWER = re.compile(r"^\s*([\d.]+)\s*(gw|mw|kw|w|mwp|kwp)\s*$", re.IGNORECASE)
_UNIT_MW = {"gw": 1000.0, "mw": 1.0, "mwp": 1.0, "kw": 1e-3, "kwp": 1e-3, "w": 1e-6}


def parse_capacity_mw(value: object) -> float:
    """An OSM power output ("50 MW", "2.1 MW", "500 kW") in megawatts; NaN when absent or unitless."""
    match = _POWER.match(value) if isinstance(value, str) else None
    return float(match.group(1)) * _UNIT_MW[match.group(2).lower()] if match else float("nan")


def _corridor(raw: pd.DataFrame, patterns: Mapping[str, list[str]]) -> pd.Series:
    text = _first_present(raw, ["operator"]).fillna("") + " " + _first_present(raw, ["name"]).fillna("")
    out = pd.Series(None, index=raw.index, dtype=object)
    for corridor, regexes in patterns.items():
        hit = text.str.contains("|".join(regexes), case=False, regex=True)
        out = out.mask(out.isna() & hit, corridor)
    return out


def normalise(raw: gpd.GeoDataFrame, spec: FeatureSpec, *, as_of: pd.Series | str) -> gpd.GeoDataFrame:
    """OSM features (as osmnx returns them) in the schema of the catalog layer ``spec.layer``."""
    elements = raw.index.get_level_values("element").astype(str)
    numbers = raw.index.get_level_values("id").astype(str)
    osm_id = [f"{e}/{n}" for e, n in zip(elements, numbers, strict=True)]
    name = _first_present(raw, ["name:en", "name", "ref"])
    unnamed = pd.Series([f"unnamed {spec.what} ({i})" for i in osm_id], index=raw.index)
    name = name.where(name.notna(), unnamed)
    status, detail = _status(raw, spec)
    data: dict[str, Any] = {
        "id": [f"osm-{e}-{n}" for e, n in zip(elements, numbers, strict=True)],
        "name": name.to_numpy(),
        "state": None,
        "status": status.to_numpy(),
        "status_detail": detail.str.strip("; ").to_numpy(),
        "as_of": as_of.to_numpy() if isinstance(as_of, pd.Series) else as_of,
        "source": OSM_SOURCE,
        "geometry_quality": "approximate",
        "position_tolerance_km": float(spec.position_tolerance_km),
        "osm_id": osm_id,
    }
    for column, tags in spec.columns.items():
        values = _first_present(raw, tags)
        if column in spec.integers:
            values = pd.to_numeric(values, errors="coerce").astype("Float64").round().astype("Int64")
        data[column] = values.array
    data.update(spec.constants)
    if spec.corridor:
        data["corridor"] = _corridor(raw, spec.corridor).to_numpy()
    if "output" in data:
        data["capacity_mw"] = [parse_capacity_mw(v) for v in data["output"]]
    out = gpd.GeoDataFrame(data, geometry=raw.geometry.to_numpy(), crs=raw.crs).reset_index(drop=True)
    return _shape_geometry(out, spec)


def _shape_geometry(out: gpd.GeoDataFrame, spec: FeatureSpec) -> gpd.GeoDataFrame:
    kinds = out.geometry.geom_type
    if spec.geometry == "line":
        return out[kinds.isin(["LineString", "MultiLineString"])].reset_index(drop=True)
    area_km2 = to_metric(out, "OSM features").geometry.area.to_numpy() / 1e6
    out = out.assign(area_km2=np.where(kinds.isin(["Polygon", "MultiPolygon"]), area_km2, np.nan))
    if spec.min_area_km2 > 0:
        out = out[~(out["area_km2"] < spec.min_area_km2)]
    return out.set_geometry(out.geometry.representative_point()).reset_index(drop=True)


def _empty(spec: FeatureSpec) -> gpd.GeoDataFrame:
    raw = gpd.GeoDataFrame({k: [] for k in spec.keys}, geometry=[], crs=DISPLAY_CRS)
    raw.index = pd.MultiIndex.from_arrays([[], []], names=["element", "id"])
    return normalise(raw, spec, as_of="")


def _combine(parts: list[gpd.GeoDataFrame], spec: FeatureSpec) -> gpd.GeoDataFrame:
    """One frame from per-tile parts: a way that crosses tiles comes back once."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty(spec)
    raw = pd.concat(parts)
    raw = raw[~raw.index.duplicated(keep="first")]
    as_of = raw.pop("_as_of")
    return normalise(gpd.GeoDataFrame(raw, geometry="geometry", crs=DISPLAY_CRS), spec, as_of=as_of)


def _file_date(path: Path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date().isoformat()


def _xml_of(path: Path, keys: Sequence[str], workdir: Path, *, relations: bool = True) -> Path:
    """An OSM XML file with the data of ``path``: the file itself, or a filtered copy of a PBF."""
    name = path.name.lower()
    if name.endswith(".pbf"):
        return pbf_to_xml(path, keys, workdir / (path.stem + ".osm"), relations=relations)
    if name.endswith(XML_SUFFIXES):
        return path
    raise DataSourceNotFoundError(f"{path}: not an OSM extract. Fix: pass a .osm, .osm.bz2 or .osm.pbf file")


def pbf_to_xml(path: Path, keys: Sequence[str], dest: Path, *, relations: bool = True) -> Path:
    """Write the objects of a PBF that carry any of ``keys``, with the nodes/ways they use, as OSM XML.

    ``relations=False`` leaves relations out (for kinds read from ways only: a relation cut by the
    extract's edge, with members missing, would otherwise stop osmnx from reading the file)."""
    osmium: Any = require("osmium")
    with osmium.BackReferenceWriter(str(dest), ref_src=str(path), overwrite=True) as writer:
        for obj in osmium.FileProcessor(str(path)).with_filter(osmium.filter.KeyFilter(*keys)):
            if relations or not obj.is_relation():
                writer.add(obj)
    return dest


def read_extract(path: str | Path, what: str, *, area: shapely.Geometry | None = None) -> gpd.GeoDataFrame:
    """Read one kind of OSM feature from a local extract (``.osm``, ``.osm.bz2``, ``.osm.pbf``).

    Same output as :func:`corridormap.osm.fetch_layer`; ``area`` (a lon/lat geometry) keeps only the
    features that touch it (all when None); ``as_of`` is the extract file's modification date.
    :func:`corridormap.osm.read_extract` takes the areas users name ("belt", "W,S,E,N", a place).
    Ways and relations cut at the extract's edge keep the nodes and members the file has (a
    :class:`~corridormap.errors.RepairWarning` counts them; :mod:`corridormap.io._osmxml`); a
    truncated file raises :class:`~corridormap.errors.FileFormatError`.
    """
    path = Path(path)
    if not path.is_file():
        raise DataSourceNotFoundError(
            f"OSM extract {path} does not exist. Fix: check the path, or download "
            f"one (e.g. from download.geofabrik.de, asia/india)"
        )
    spec = _spec(what)
    with tempfile.TemporaryDirectory(prefix="corridormap-osm-") as tmp:
        # a regional extract keeps ways and relations cut at its edge without their far nodes
        xml, repairs = repair_clipped(
            _xml_of(path, spec.keys, Path(tmp), relations="relation" in spec.elements),
            Path(tmp) / "repaired.osm",
        )
        raw = _raw_features(xml, spec, area)
    if repairs.any:
        warnings.warn(f"{path}: {repairs}", RepairWarning, stacklevel=2)
    out = _combine([raw.assign(_as_of=_file_date(path))], spec)
    out.attrs["clip_repairs"] = str(repairs) if repairs.any else ""
    return out
