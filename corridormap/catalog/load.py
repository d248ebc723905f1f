"""The layer catalog: one TOML file per layer in ``layers/``, read into :class:`LayerSpec` objects.

A catalog entry says where a layer comes from (a file in ``data/``, a user file, or a function that
derives it from other layers), what it must look like (geometry type, columns and their types) and
how it is drawn (style per status, popup and tooltip fields, group, draw order). Adding a layer is
adding a file; no Python changes.

Loading validates each layer against its entry and reports every problem at once, naming the file,
the feature and the fix (:class:`~corridormap.errors.LayerValidationError`).
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from .. import settings
from ..errors import CatalogError, DataSourceNotFoundError
from ..io._tomlfile import read_toml
from ..io.read import ReadOptions, finish_read, load_file
from .derive import resolve_derive
from .schema import check_layer
from .style import check_style

__all__ = [
    "ColumnSpec",
    "LayerSpec",
    "GROUPS",
    "STATUSES",
    "load_catalog",
    "read_spec",
    "load_layers",
    "read_layer",
]

log = logging.getLogger(__name__)

GROUPS = (
    "Industrial nodes",
    "Freight rail",
    "Expressways",
    "Renewable energy",
    "Ports and logistics",
    "Analysis",
    "Context",
)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")
STATUSES = ("operational", "under construction", "approved", "proposed")
_TYPES = ("str", "int", "float", "bool", "date")
_GEOMETRIES = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
)


@dataclass(frozen=True)
class ColumnSpec:
    """One attribute column: its type, whether it must be present and non-null, and its label."""

    name: str
    type: str = "str"
    required: bool = False
    unique: bool = False
    allowed: tuple[str, ...] | None = None
    label: str | None = None
    unit: str | None = None
    format: str | None = None

    @property
    def title(self) -> str:
        """Label for popups and legends, with the unit: ``"Area (ha)"``."""
        text = self.label or self.name.replace("_", " ").capitalize()
        return f"{text} ({self.unit})" if self.unit else text


@dataclass(frozen=True)
class LayerSpec:
    """A catalog entry, read from ``layers/NAME.toml``.

    Attributes
    ----------
    name : str
        Layer name (GeoPackage layer name, key of :func:`load_layers`).
    title, description, group : str
        Display name, one-line description, layer-control group.
    geometry : tuple of str
        Accepted geometry types (``"Point"`` also accepts ``"MultiPoint"`` etc. only if listed).
    draw_order : int
        Higher draws on top. Polygons sit under lines, lines under points.
    source : Path or None
        File the layer is read from; a relative path resolves beside the TOML file if such a file
        exists there, else in ``settings.data_dir``.
    derive : dict or None
        ``{"function": "name", "from": [layers], "params": {...}}`` for computed layers; the name is
        one of :func:`corridormap.derive.derive_names`.
    columns : dict of ColumnSpec
    style : dict
        Base style (``kind``, ``color``, ``weight``, ``radius``...) and per-status overrides under
        ``style["status"]``.
    popup, tooltip : tuple of str
        Column names shown in the popup table / the hover tooltip.
    provenance : dict
        ``source``, ``licence``, ``as_of``, ``geometry_quality`` of the layer as a whole.
    visible : bool
        Drawn when the map opens (``false``: in the layer control, switched off at start).
    big : bool or "auto"
        Draw through the large-layer path (simplified per zoom, encoded, canvas tiles): always,
        never, or above a size threshold (``"auto"``).
    path : Path
        The TOML file.
    """

    name: str
    title: str
    group: str
    geometry: tuple[str, ...]
    draw_order: int
    path: Path
    description: str = ""
    source: Path | None = None
    derive: Mapping[str, Any] | None = None
    columns: Mapping[str, ColumnSpec] = field(default_factory=dict)
    style: Mapping[str, Any] = field(default_factory=dict)
    popup: tuple[str, ...] = ()
    tooltip: tuple[str, ...] = ("name",)
    search: bool = False
    visible: bool = True
    big: bool | str = "auto"
    provenance: Mapping[str, str] = field(default_factory=dict)
    read: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``"point"``, ``"line"`` or ``"polygon"``: the renderer's builder for this layer."""
        first = self.geometry[0]
        return "point" if "Point" in first else "line" if "Line" in first else "polygon"

    @property
    def depends_on(self) -> tuple[str, ...]:
        if not self.derive:
            return ()
        value = self.derive.get("from", ())
        return (value,) if isinstance(value, str) else tuple(value)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return read_toml(path)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML ({exc}). Fix: correct the syntax at that line") from exc


def _columns(path: Path, raw: Mapping[str, Any]) -> dict[str, ColumnSpec]:
    out = {}
    for name, value in raw.items():
        entry = {"type": value} if isinstance(value, str) else dict(value)
        if entry.get("type", "str") not in _TYPES:
            raise CatalogError(
                f"{path}: column {name!r} has type {entry.get('type')!r}. Fix: use one of {', '.join(_TYPES)}"
            )
        unknown = set(entry) - {"type", "required", "unique", "allowed", "label", "unit", "format"}
        if unknown:
            raise CatalogError(f"{path}: column {name!r} has unknown key(s) {sorted(unknown)}")
        if entry.get("allowed") is not None:
            entry["allowed"] = tuple(entry["allowed"])
        out[name] = ColumnSpec(name=name, **entry)
    return out


def _big_option(path: Path, value: Any) -> bool | str:
    if value in (True, False, "auto"):
        return value  # type: ignore[no-any-return]
    raise CatalogError(f'{path}: big = {value!r}. Fix: use true, false or "auto"')


def read_spec(path: str | Path) -> LayerSpec:
    """Read one catalog file; ``extends = "_common.toml"`` merges a shared base first."""
    path = Path(path)
    raw = _read_toml(path)
    if "extends" in raw:
        base = path.parent / str(raw.pop("extends"))
        if not base.is_file():
            raise CatalogError(
                f"{path}: extends {base.name!r}, but {base} does not exist. "
                f"Fix: copy {base.name} beside it (the shipped one is in layers/) or remove 'extends'"
            )
        raw = _merge(_read_toml(base), raw)
    missing = [k for k in ("name", "group", "geometry") if k not in raw]
    if missing:
        raise CatalogError(
            f"{path}: missing key(s) {', '.join(missing)}. Fix: add them (see layers/README.md)"
        )
    if not isinstance(raw["name"], str) or not _NAME.fullmatch(raw["name"]):
        raise CatalogError(
            f"{path}: name {raw['name']!r} is not a layer name. Fix: use letters, digits and underscores "
            "(it names the layer's table, files and map elements; the title is free text)"
        )
    if ("source" in raw) == ("derive" in raw):
        raise CatalogError(f"{path}: give exactly one of 'source' (a file) or 'derive' (a function)")
    geometry = (raw["geometry"],) if isinstance(raw["geometry"], str) else tuple(raw["geometry"])
    bad = [g for g in geometry if g not in _GEOMETRIES]
    if bad:
        raise CatalogError(f"{path}: unknown geometry type(s) {bad}. Fix: use {', '.join(_GEOMETRIES)}")
    if "read" in raw:  # options for the users'-files loader; unknown ones are a typo
        unknown = sorted(set(raw["read"]) - set(ReadOptions.__dataclass_fields__))
        if unknown:
            raise CatalogError(
                f"{path}: unknown [read] option(s) {unknown}. Fix: use "
                f"{', '.join(ReadOptions.__dataclass_fields__)}"
            )
    check_style(raw.get("style", {}), str(path))
    source = None
    if "source" in raw:
        source = Path(raw["source"]).expanduser()
        if not source.is_absolute():
            # beside the catalog file (a user's layer folder), else in the shipped data folder
            beside = path.parent / source
            source = beside if beside.exists() else settings.data_dir / source
    return LayerSpec(
        name=raw["name"],
        title=raw.get("title", raw["name"].replace("_", " ").capitalize()),
        group=raw["group"],
        geometry=geometry,
        draw_order=int(raw.get("draw_order", 50)),
        path=path,
        description=raw.get("description", ""),
        source=source,
        derive=raw.get("derive"),
        columns=_columns(path, raw.get("columns", {})),
        style=raw.get("style", {}),
        popup=tuple(raw.get("popup", ())),
        tooltip=tuple(raw.get("tooltip", ("name",))),
        search=bool(raw.get("search", False)),
        visible=bool(raw.get("visible", True)),
        big=_big_option(path, raw.get("big", "auto")),
        provenance=dict(raw.get("provenance", {})),
        read=dict(raw.get("read", {})),
    )


def load_catalog(dirs: Iterable[str | Path] | None = None) -> dict[str, LayerSpec]:
    """Read every ``*.toml`` layer entry (files starting with ``_`` are shared bases, not layers).

    Parameters
    ----------
    dirs : folders to read, later ones replacing earlier entries of the same name. Default: the
        shipped ``layers/`` then ``settings.extra_layers_dirs``.

    Returns
    -------
    dict of LayerSpec, in draw order (bottom first).
    """
    folders = (
        [Path(d) for d in dirs] if dirs is not None else [settings.layers_dir, *settings.extra_layers_dirs]
    )
    specs: dict[str, LayerSpec] = {}
    for folder in folders:
        if not folder.is_dir():
            raise DataSourceNotFoundError(f"layer catalog folder {folder} does not exist")
        for path in sorted(folder.glob("*.toml")):
            if path.name.startswith("_"):
                continue
            spec = read_spec(path)
            specs[spec.name] = spec
    return dict(sorted(specs.items(), key=lambda kv: (kv[1].draw_order, kv[0])))


@functools.lru_cache(maxsize=64)
def _load_cached(path: Path, mtime_ns: int, options: tuple[tuple[str, Any], ...] = ()) -> tuple[Any, Any]:
    """The users'-files loader's (frame, report) for a source file, read once per file version.

    ``options`` are the entry's ``[read]`` table (layer, crs, encoding, swap_xy, salvage, x, y, wkt,
    decimal, repair). Invalid geometries are left to the schema check (refused with every other
    problem) unless the entry opts in with ``repair = true``.
    """
    return load_file(path, ReadOptions(**{"repair": False, **dict(options)}))


def _read_source(spec: LayerSpec) -> gpd.GeoDataFrame:
    assert spec.source is not None
    if not spec.source.exists():
        raise DataSourceNotFoundError(
            f"{spec.path}: source {spec.source} does not exist. Fix: correct 'source' or add the file"
        )
    options = tuple(sorted(spec.read.items()))
    # every load writes its read log (settings.repair_log_dir) and warns again, even when cached
    return finish_read(*_load_cached(spec.source, spec.source.stat().st_mtime_ns, options))


def _load_one(spec: LayerSpec, loaded: Mapping[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    if spec.derive is None:
        gdf = _read_source(spec)
        where = str(spec.source)
    else:
        # only a registered name (corridormap's own, or registered by a Python user): never any callable
        function = resolve_derive(str(spec.derive.get("function", "")), where=spec.path)
        inputs = [loaded[name] for name in spec.depends_on]
        params = dict(spec.derive.get("params", {}))
        try:
            inspect.signature(function).bind(*inputs, **params)
        except TypeError as exc:
            raise CatalogError(
                f"{spec.path}: [derive] function {spec.derive.get('function')!r} does not accept "
                f"these inputs or params ({exc}; from = {list(spec.depends_on)}, params = "
                f"{sorted(params)}). Fix: give the params the function takes (see layers/README.md)"
            ) from None
        gdf = function(*inputs, **params)
        where = f"{spec.path} (derived)"
    return check_layer(gdf, spec, where=where)


def load_layers(
    names: Iterable[str] | None = None, *, catalog: Mapping[str, LayerSpec] | None = None
) -> dict[str, gpd.GeoDataFrame]:
    """Load the catalog's layers as validated GeoDataFrames in EPSG:4326, keyed by name.

    Parameters
    ----------
    names : layers to load (default all); layers they are derived from load too.
    catalog : a catalog from :func:`load_catalog` (default: the shipped one plus extra folders).

    Examples
    --------
    >>> layers = load_layers(["industrial_nodes", "corridor_belt"])
    >>> sorted(layers)
    ['corridor_belt', 'freight_rail', 'industrial_nodes']
    >>> layers["corridor_belt"].crs.to_string()
    'EPSG:4326'
    """
    specs = dict(catalog) if catalog is not None else load_catalog()
    wanted = list(specs) if names is None else list(names)
    unknown = [n for n in wanted if n not in specs]
    if unknown:
        raise CatalogError(
            f"unknown layer(s) {', '.join(unknown)}. Fix: choose from {', '.join(specs)} "
            f"(see `corridormap layers`)"
        )
    order: list[str] = []

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            raise CatalogError(f"layers derive from each other in a cycle: {' -> '.join((*trail, name))}")
        if name in order:
            return
        if name not in specs:
            raise CatalogError(f"{specs[trail[-1]].path}: derives from unknown layer {name!r}")
        for dep in specs[name].depends_on:
            visit(dep, (*trail, name))
        order.append(name)

    for name in wanted:
        visit(name, ())
    loaded: dict[str, gpd.GeoDataFrame] = {}
    for name in order:
        loaded[name] = _load_one(specs[name], loaded)
    return {name: loaded[name] for name in specs if name in loaded}


def read_layer(name: str, *, catalog: Mapping[str, LayerSpec] | None = None) -> gpd.GeoDataFrame:
    """Load one layer of the catalog (see :func:`load_layers`)."""
    return load_layers([name], catalog=catalog)[name]
