"""Sector profiles: which criteria matter to an industry, with what weight, why, and on whose word.

A profile is a TOML file in ``layers/rules/sectors/`` (``_context.toml`` beside them lists the
criteria the project can compute). Users copy a profile and edit it, like the suitability model::

    [sector]
    id = "semiconductors"
    title = "Semiconductors (fabs, ATMP/OSAT)"
    matches = ["semiconductors", "electronics"]   # node `sectors` values that count as its own

    [criteria.water_km]                            # a criterion named in _context.toml
    weight = 3.0
    function = "linear_decay"                      # the suitability model's functions
    full_until = 10.0
    zero_at = 80.0
    rationale = "why this weight"
    source = "URL ; URL"                           # or "corridormap judgement (...)"

Every problem in a file (unknown criterion, missing rationale, bad parameters) is collected and
raised once, naming the file, the key and the allowed names.

>>> profiles = load_profiles()
>>> sorted(profiles)[:3]
['automobiles', 'electronics_assembly', 'ev_batteries']
>>> profiles["semiconductors"].weights()["water_km"]
3.0
"""

from __future__ import annotations

import functools
import math
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import settings
from ..errors import CatalogError, DataSourceNotFoundError, Problem, raise_if_problems
from ..sites.model import FUNCTIONS

__all__ = [
    "node_layer_names",
    "all_nodes",
    "CriterionSpec",
    "Weighting",
    "Profile",
    "profiles_dir",
    "context",
    "criteria_specs",
    "load_profile",
    "load_profiles",
]

_REQUIRED = ("weight", "function", "rationale", "source")


@dataclass(frozen=True)
class CriterionSpec:
    """A criterion the project can compute (``[criteria.NAME]`` of ``_context.toml``)."""

    name: str
    label: str
    measure: str  # nearest_km | sum_within | raster | declared_sector
    unit: str
    layer: str | None = None
    context: str | None = None
    where: Mapping[str, list[Any]] = field(default_factory=dict)
    column: str | None = None
    within_km: float | None = None
    raster: str | None = None


@dataclass(frozen=True)
class Weighting:
    """One criterion as a profile weights it."""

    criterion: str
    weight: float
    function: str
    params: Mapping[str, float]
    rationale: str
    source: str


@dataclass(frozen=True)
class Profile:
    """A sector profile: identity, the node sectors that count as its own, and its weightings."""

    id: str
    title: str
    matches: tuple[str, ...]
    description: str
    weightings: tuple[Weighting, ...]
    path: str

    def weights(self) -> dict[str, float]:
        """Criterion name -> weight."""
        return {w.criterion: w.weight for w in self.weightings}

    def with_weights(self, weights: Mapping[str, float]) -> Profile:
        """A copy with some weights replaced (names must be weighted by this profile)."""
        from dataclasses import replace

        unknown = sorted(set(weights) - set(self.weights()))
        if unknown:
            raise CatalogError(
                f"profile {self.id!r} ({self.path}) has no criterion {', '.join(unknown)}. "
                f"Fix: use one of {', '.join(self.weights())}"
            )
        bad = {k: v for k, v in weights.items() if not _number(v) or v < 0}
        if bad:
            raise CatalogError(
                f"profile {self.id!r}: weight(s) {bad} are not finite numbers >= 0. "
                "Fix: give each a number >= 0"
            )
        if not any({**self.weights(), **weights}.values()):
            raise CatalogError(f"profile {self.id!r}: all weights would be 0. Fix: keep one weight positive")
        return replace(
            self,
            weightings=tuple(
                replace(w, weight=float(weights.get(w.criterion, w.weight))) for w in self.weightings
            ),
        )


def profiles_dir() -> Path:
    """``<settings.layers_dir>/rules/sectors``."""
    return Path(settings.layers_dir) / "rules" / "sectors"


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise DataSourceNotFoundError(f"{path}: no such sector profile. Fix: check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML ({exc}). Fix: correct the syntax") from None


@functools.cache
def _read_cached(path: Path, mtime_ns: int) -> dict[str, Any]:
    return _read(path)


def context() -> dict[str, Any]:
    """``_context.toml``: the extent of the context files, the context layers and the criteria."""
    path = profiles_dir() / "_context.toml"
    if not path.is_file():
        raise DataSourceNotFoundError(f"{path} is missing. Fix: restore it from the repository")
    return _read_cached(path, path.stat().st_mtime_ns)


def criteria_specs() -> dict[str, CriterionSpec]:
    """The criteria a profile may weight, by name."""
    out = {}
    for name, raw in context().get("criteria", {}).items():
        out[name] = CriterionSpec(
            name=name,
            label=str(raw["label"]),
            measure=str(raw["measure"]),
            unit=str(raw.get("unit", "")),
            layer=raw.get("layer"),
            context=raw.get("context"),
            where=dict(raw.get("where", {})),
            column=raw.get("column"),
            within_km=raw.get("within_km"),
            raster=raw.get("raster"),
        )
    return out


def _number(value: Any) -> bool:
    """A finite int or float (TOML allows ``nan`` and ``inf``, which no weight or bound can be)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# function -> (the parameter that must be smaller, the larger one): a reversed pair would turn a
# decay into a rise (or divide by zero) without a word
_ORDERED = {"linear_decay": ("full_until", "zero_at"), "linear_rise": ("zero_at", "full_at")}


def _weighting(name: str, raw: Any, where: str, problems: list[Problem]) -> Weighting | None:
    if not isinstance(raw, Mapping):
        problems.append(
            Problem(
                where,
                f"[criteria.{name}] is not a table",
                "write it as a TOML table",
                field=f"criteria.{name}",
            )
        )
        return None
    before = len(problems)
    for key in _REQUIRED:
        if key not in raw or raw[key] in ("", None):
            problems.append(
                Problem(
                    where,
                    f"criterion {name!r} has no {key!r}",
                    f"add {key} = ... (rationale and source are required for every weight)",
                    field=f"criteria.{name}.{key}",
                )
            )
    weight: Any = raw.get("weight")
    if "weight" in raw and (not _number(weight) or weight < 0):
        problems.append(
            Problem(
                where,
                f"weight must be a number >= 0, got {weight!r}",
                "fix the weight",
                field=f"criteria.{name}.weight",
            )
        )
    function = raw.get("function")
    if "function" in raw and function not in FUNCTIONS:
        problems.append(
            Problem(
                where,
                f"unknown function {function!r}",
                f"use one of {sorted(FUNCTIONS)}",
                field=f"criteria.{name}.function",
            )
        )
    params = {}
    for key in FUNCTIONS.get(str(function), ()):
        if not _number(raw.get(key)):
            problems.append(
                Problem(
                    where,
                    f"{function} needs a number {key!r}",
                    f"add {key} = <number>",
                    field=f"criteria.{name}.{key}",
                )
            )
        else:
            params[key] = float(raw[key])
    low, high = _ORDERED.get(str(function), ("", ""))
    if low in params and high in params and not params[low] < params[high]:
        problems.append(
            Problem(
                where,
                f"{function} needs {low} < {high}, got {low} = {params[low]:g}, {high} = {params[high]:g}",
                f"swap them or use the opposite function (a {function} cannot run backwards)",
                field=f"criteria.{name}.{low}",
            )
        )
    if "width" in params and not params["width"] > 0:
        problems.append(
            Problem(
                where,
                f"{function} needs width > 0, got {params['width']:g}",
                "give a positive width",
                field=f"criteria.{name}.width",
            )
        )
    if len(problems) > before:
        return None
    return Weighting(name, float(weight), str(function), params, str(raw["rationale"]), str(raw["source"]))


def load_profile(path: str | os.PathLike[str]) -> Profile:
    """Read and check one profile file (every problem reported at once)."""
    source = Path(path)
    raw = _read(source)
    where = str(source)
    allowed = criteria_specs()
    problems: list[Problem] = []
    head = raw.get("sector")
    if not isinstance(head, Mapping) or not head.get("id") or not head.get("title"):
        problems.append(
            Problem(
                where,
                "no [sector] table with id and title",
                'add [sector] with id = "...", title = "...", matches = [...]',
                field="sector",
            )
        )
        head = {}
    criteria = raw.get("criteria")
    if not isinstance(criteria, Mapping) or not criteria:
        problems.append(
            Problem(where, "no [criteria.*] tables", "add at least one weighted criterion", field="criteria")
        )
        criteria = {}
    weightings = []
    for name, spec in criteria.items():
        if name not in allowed:
            problems.append(
                Problem(
                    where,
                    f"unknown criterion {name!r}",
                    f"use one of {', '.join(allowed)} (listed in {profiles_dir() / '_context.toml'})",
                    field=f"criteria.{name}",
                )
            )
            continue
        done = _weighting(name, spec, where, problems)
        if done is not None:
            weightings.append(done)
    if weightings and not problems and sum(w.weight for w in weightings) <= 0:
        problems.append(Problem(where, "all weights are 0", "give at least one criterion a positive weight"))
    raise_if_problems(problems, f"sector profile {where}")
    return Profile(
        id=str(head["id"]),
        title=str(head["title"]),
        matches=tuple(str(m) for m in head.get("matches", ())),
        description=str(head.get("description", "")),
        weightings=tuple(weightings),
        path=where,
    )


def load_profiles(paths: Iterable[str | os.PathLike[str]] | None = None) -> dict[str, Profile]:
    """Every profile (default: the shipped ``layers/rules/sectors/*.toml``), keyed by sector id."""
    files = (
        [Path(p) for p in paths]
        if paths is not None
        else sorted(p for p in profiles_dir().glob("*.toml") if not p.name.startswith("_"))
    )
    out: dict[str, Profile] = {}
    for file in files:
        profile = load_profile(file)
        if profile.id in out:
            raise CatalogError(
                f"{file}: sector id {profile.id!r} is also used by {out[profile.id].path}. "
                f"Fix: give each profile its own id"
            )
        out[profile.id] = profile
    if not out:
        raise DataSourceNotFoundError(
            f"no sector profiles in {profiles_dir()}. Fix: restore them from the "
            f"repository or pass profile files"
        )
    return out


def node_layer_names() -> list[str]:
    """The node layers sector fit, briefs and comparisons cover (``_context.toml`` ``node_layers``)."""
    return [str(n) for n in context().get("node_layers", ["industrial_nodes"])]


def all_nodes(layers: Mapping[str, Any]) -> Any:
    """The configured node layers present in ``layers``, stacked (EPSG:4326) with a ``layer`` column."""
    import geopandas as gpd
    import pandas as pd

    frames = [layers[n].to_crs("EPSG:4326").assign(layer=n) for n in node_layer_names() if n in layers]
    if not frames:
        raise DataSourceNotFoundError(
            f"none of the node layers {', '.join(node_layer_names())} is loaded. Fix: load the catalog "
            f"(corridormap.load_layers()) or pass an industrial_nodes layer"
        )
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
