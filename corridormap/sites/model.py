"""The site-suitability model: criteria, their normalisation functions and weights, read from TOML.

The default model is ``layers/rules/suitability.toml`` (documented there). A model is plain data:

>>> model = load_model(weights={"solar": 3.0, "port": 0.0})
>>> model.criterion("solar").weight, model.criterion("port").weight
(3.0, 0.0)
>>> float(normalise(model.criterion("freight_station"), np.array([5.0]))[0])
1.0
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import settings
from ..errors import CatalogError, DataSourceNotFoundError, Problem, raise_if_problems
from ..io._tomlfile import read_toml

__all__ = [
    "Criterion",
    "Exclusion",
    "Model",
    "FUNCTIONS",
    "RASTERS",
    "EXCLUSION_STATUSES",
    "default_model_path",
    "load_model",
    "normalise",
]

# function name -> the parameters it needs
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "linear_decay": ("full_until", "zero_at"),
    "linear_rise": ("zero_at", "full_at"),
    "logistic_decay": ("midpoint", "width"),
    "logistic_rise": ("midpoint", "width"),
}
# rasters a criterion may read (computed defaults, or the user's own passed as rasters={...})
RASTERS = ("solar_kwh_m2", "elevation_m", "slope_deg")
# what an exclusion layer marks its cells as (status of corridormap.sites.suitability.STATUS)
EXCLUSION_STATUSES = ("water", "built-up area", "coastal strip", "excluded")
# how an exclusion layer excludes: cells inside its polygons, outside them (e.g. the sea outside the
# land), or within buffer_km of their edge that is not the file's clipping box (a coastal strip)
EXCLUSION_MODES = ("inside", "outside", "edge")


@dataclass(frozen=True)
class Criterion:
    """One criterion: what is measured, how it is normalised to [0, 1], and its weight."""

    name: str
    weight: float
    function: str
    params: Mapping[str, float]
    layer: str | None = None
    raster: str | None = None
    description: str = ""
    label: str = ""
    unit: str = ""

    @property
    def title(self) -> str:
        """The readable name with its unit, e.g. ``Distance to a DFC freight station (km)``."""
        text = self.label or self.name.replace("_", " ")
        return f"{text} ({self.unit})" if self.unit else text

    @property
    def column(self) -> str:
        """Name of the raw-value column: ``distance_to_<name>_km`` or the raster's name."""
        return f"distance_to_{self.name}_km" if self.layer else str(self.raster)


@dataclass(frozen=True)
class Exclusion:
    """Cells a polygon layer rules out (see ``[[exclusions.layer]]`` in ``layers/rules/suitability.toml``).

    ``file`` is a vector file (relative paths: beside the model file, else under ``settings.data_dir``)
    or ``layer`` a loaded layer's name; ``mode`` is ``inside`` (cells in the polygons), ``outside``
    (cells outside them within the file's extent, e.g. the sea outside the land) or ``edge`` (cells
    within ``buffer_km`` of the polygons' edges, leaving out edges on the file's clipping box: a
    coastal strip from land polygons); ``inside`` polygons can be widened by ``buffer_km``.
    ``extent`` (west, south, east, north in the file's CRS) is the area the file covers, for
    ``outside`` and ``edge``; by default its features' bounds (a clipped file's clipping box).
    With ``population_column`` (points: places), each place of at least ``min_population`` becomes a
    disc of radius ``km_per_sqrt_million * sqrt(population / 1e6)`` km (a footprint that grows with
    the square root of the population, i.e. at constant density) instead of ``buffer_km``.
    """

    name: str
    status: str
    mode: str = "inside"
    file: str | None = None
    layer: str | None = None
    buffer_km: float = 0.0
    label: str = ""
    source: str = ""
    licence: str = ""
    extent: tuple[float, ...] | None = None
    population_column: str | None = None
    km_per_sqrt_million: float = 0.0
    min_population: float = 0.0


@dataclass(frozen=True)
class Model:
    """A whole suitability model (see ``layers/rules/suitability.toml`` for every field)."""

    criteria: tuple[Criterion, ...]
    cell_km: float = 5.0
    top: int = 20
    min_separation_km: float = 20.0
    exclude_water: bool = True
    nodes_layer: str = "industrial_nodes"
    nodes_within_km: float = 5.0
    node_statuses: tuple[str, ...] = ("operational", "under construction")
    source: str = "layers/rules/suitability.toml"
    extra: Mapping[str, Any] = field(default_factory=dict)
    exclusions: tuple[Exclusion, ...] = ()

    def criterion(self, name: str) -> Criterion:
        """The criterion called ``name`` (``KeyError`` naming the known ones otherwise)."""
        for c in self.criteria:
            if c.name == name:
                return c
        raise KeyError(f"no criterion {name!r}; the model has {[c.name for c in self.criteria]}")

    @property
    def total_weight(self) -> float:
        """Sum of the weights (contributions are weight * score / total_weight)."""
        return float(sum(c.weight for c in self.criteria))


def default_model_path() -> Path:
    """The shipped default model, ``layers/rules/suitability.toml``."""
    return Path(settings.layers_dir) / "rules" / "suitability.toml"


def _good_weight(weight: Any) -> bool:
    """A weight is a finite number >= 0 (not a bool, NaN or infinity)."""
    return (
        isinstance(weight, int | float)
        and not isinstance(weight, bool)
        and math.isfinite(weight)
        and weight >= 0
    )


def _criterion(name: str, spec: Mapping[str, Any], where: str, problems: list[Problem]) -> Criterion | None:
    function = spec.get("function")
    if function not in FUNCTIONS:
        problems.append(
            Problem(
                where,
                f"unknown function {function!r}",
                f"use one of {sorted(FUNCTIONS)}",
                feature=name,
                field="function",
            )
        )
        return None
    params = {}
    for key in FUNCTIONS[function]:
        value = spec.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            problems.append(
                Problem(
                    where,
                    f"{function} needs a number {key!r}",
                    f"add {key} = <number>",
                    feature=name,
                    field=key,
                )
            )
        else:
            params[key] = float(value)
    if len(params) < len(FUNCTIONS[function]):
        return None
    layer, raster = spec.get("layer"), spec.get("raster")
    if (layer is None) == (raster is None):
        problems.append(
            Problem(
                where,
                "a criterion measures either a layer or a raster",
                "set exactly one of layer = ... or raster = ...",
                feature=name,
            )
        )
        return None
    if raster is not None and raster not in RASTERS:
        problems.append(
            Problem(
                where,
                f"unknown raster {raster!r}",
                f"use one of {list(RASTERS)}",
                feature=name,
                field="raster",
            )
        )
        return None
    weight = spec.get("weight", 1.0)
    if not _good_weight(weight):
        problems.append(
            Problem(
                where,
                f"weight must be a finite number >= 0, got {weight!r}",
                f"set weight = <number >= 0> for criterion {name!r} (0 leaves it out)",
                feature=name,
                field="weight",
            )
        )
        return None
    return Criterion(
        name,
        float(weight),
        str(function),
        params,
        layer,
        raster,
        str(spec.get("description", "")),
        str(spec.get("label", "")),
        str(spec.get("unit", "km" if layer is not None else "")),
    )


def _exclusions(raw: list[Any], where: str, problems: list[Problem]) -> list[Exclusion]:
    out = []
    for n, spec in enumerate(raw, start=1):
        name = str(spec.get("name", f"exclusion {n}")) if isinstance(spec, Mapping) else f"exclusion {n}"
        if not isinstance(spec, Mapping):
            problems.append(Problem(where, f"{name} is not a table", "write [[exclusions.layer]] tables"))
            continue
        buffer, extent = spec.get("buffer_km", 0.0), spec.get("extent")
        checks = [
            (spec.get("status") in EXCLUSION_STATUSES, "status", f"use one of {list(EXCLUSION_STATUSES)}"),
            (spec.get("mode", "inside") in EXCLUSION_MODES, "mode", f"use one of {list(EXCLUSION_MODES)}"),
            (("file" in spec) != ("layer" in spec), "file/layer", "give one of file = ... or layer = ..."),
            (isinstance(buffer, int | float) and buffer >= 0, "buffer_km", "give a number >= 0"),
            (extent is None or (isinstance(extent, list) and len(extent) == 4), "extent", "[w, s, e, n]"),
        ]
        bad = [(f, fix) for ok, f, fix in checks if not ok]
        for f, fix in bad:
            value = spec.get(f.split("/")[0])
            problems.append(
                Problem(where, f"exclusion {name!r}: bad {f} ({value!r})", fix, feature=name, field=f)
            )
        if bad:
            continue
        out.append(
            Exclusion(
                name=name,
                status=str(spec["status"]),
                mode=str(spec.get("mode", "inside")),
                file=None if spec.get("file") is None else str(spec["file"]),
                layer=None if spec.get("layer") is None else str(spec["layer"]),
                buffer_km=float(spec.get("buffer_km", 0.0)),
                label=str(spec.get("label", name)),
                source=str(spec.get("source", "")),
                licence=str(spec.get("licence", "")),
                extent=None if spec.get("extent") is None else tuple(float(v) for v in spec["extent"]),
                population_column=spec.get("population_column"),
                km_per_sqrt_million=float(spec.get("km_per_sqrt_million", 0.0)),
                min_population=float(spec.get("min_population", 0.0)),
            )
        )
    return out


def _read(path: Path) -> dict[str, Any]:
    try:
        return read_toml(path)
    except FileNotFoundError:
        raise DataSourceNotFoundError(f"{path}: no such weights file. Fix: check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML ({exc}). Fix: correct the syntax") from None


def load_model(
    path: str | os.PathLike[str] | None = None, *, weights: Mapping[str, float] | None = None
) -> Model:
    """Read a suitability model from TOML (default: the shipped one), then apply ``weights`` overrides.

    Every problem in the file is collected and raised at once as a
    :class:`~corridormap.errors.LayerValidationError`.
    """
    source = Path(path) if path is not None else default_model_path()
    raw = _read(source)
    where = str(source)
    problems: list[Problem] = []
    criteria = []
    for name, spec in dict(raw.get("criteria", {})).items():
        c = _criterion(name, spec, where, problems)
        if c is not None:
            criteria.append(c)
    if not raw.get("criteria"):
        problems.append(Problem(where, "no [criteria.*] tables", "add at least one criterion"))
    for name, weight in (weights or {}).items():
        if name not in {c.name for c in criteria}:
            problems.append(
                Problem(
                    "weights",
                    f"no criterion {name!r} in the model",
                    f"use one of {[c.name for c in criteria]}",
                    feature=name,
                )
            )
        elif not _good_weight(weight):
            problems.append(
                Problem(
                    "weights",
                    f"weight must be a finite number >= 0, got {weight!r}",
                    f"pass a number >= 0 for {name!r} (0 leaves it out)",
                    feature=name,
                )
            )
    if criteria and not problems and sum((weights or {}).get(c.name, c.weight) for c in criteria) <= 0:
        problems.append(Problem(where, "all weights are 0", "give at least one criterion a positive weight"))
    exclusions = _exclusions(list(dict(raw.get("exclusions", {})).get("layer", [])), where, problems)
    raise_if_problems(problems, f"suitability model {where}")
    criteria = [replace(c, weight=float((weights or {}).get(c.name, c.weight))) for c in criteria]
    grid, sites, excl = raw.get("grid", {}), raw.get("sites", {}), raw.get("exclusions", {})
    return Model(
        criteria=tuple(criteria),
        cell_km=float(grid.get("cell_km", 5.0)),
        top=int(sites.get("top", 20)),
        min_separation_km=float(sites.get("min_separation_km", 20.0)),
        exclude_water=bool(excl.get("water", True)),
        nodes_layer=str(excl.get("industrial_nodes_layer", "industrial_nodes")),
        nodes_within_km=float(excl.get("industrial_nodes_within_km", 5.0)),
        node_statuses=tuple(excl.get("industrial_node_statuses", ("operational", "under construction"))),
        source=where,
        exclusions=tuple(exclusions),
    )


def normalise(criterion: Criterion, values: np.ndarray) -> np.ndarray:
    """The criterion's score in [0, 1] for raw ``values`` (``NaN`` stays ``NaN``)."""
    p = criterion.params
    v = np.asarray(values, dtype="float64")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if criterion.function == "linear_decay":
            out = (p["zero_at"] - v) / (p["zero_at"] - p["full_until"])
        elif criterion.function == "linear_rise":
            out = (v - p["zero_at"]) / (p["full_at"] - p["zero_at"])
        elif criterion.function == "logistic_decay":
            out = 1.0 / (1.0 + np.exp((v - p["midpoint"]) / p["width"]))
        else:
            out = 1.0 / (1.0 + np.exp((p["midpoint"] - v) / p["width"]))
    return np.clip(out, 0.0, 1.0)
