"""The registry of functions a catalog entry may derive a layer with (``[derive] function = "..."``).

A layer TOML names a function plainly (``function = "corridor_belt"``); only names in this registry
are accepted, so a shared layer folder cannot run arbitrary code (``"os:system"`` is refused). The
registry holds corridormap's own derive functions, the functions a Python user registers in code
(:func:`register_derive`, also usable as a decorator), and those installed packages declare in the
entry-point group ``corridormap.derive``::

    [project.entry-points."corridormap.derive"]
    my_buffers = "mypackage.layers:my_buffers"

Old spellings of corridormap's own functions (``"corridormap.analysis.corridor:corridor_belt"``) still work,
with a :class:`DeprecationWarning` naming the new name.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TypeVar, cast, overload

import corridormap

from ..errors import CatalogError

__all__ = ["ENTRY_POINT_GROUP", "register_derive", "derive_names", "resolve_derive"]

ENTRY_POINT_GROUP = "corridormap.derive"

F = TypeVar("F", bound=Callable[..., Any])

# corridormap's own derive functions, by the public name they load through (corridormap.<name>)
_OWN = ("corridor_belt", "area_footprints", "load_dataset", "read_extract", "catchments", "find_gaps")
# the spellings catalogs used before the registry (before and after the package's restructure)
_OLD_SPELLINGS: dict[str, str] = {
    "corridormap.analysis.corridor:corridor_belt": "corridor_belt",
    "corridormap.analysis.footprints:area_footprints": "area_footprints",
    "corridormap.osm.datasets:load_dataset": "load_dataset",
    "corridormap.osm.features:read_extract": "read_extract",
    "corridormap.analysis.reach:catchments": "catchments",
    "corridormap.analysis.gaps:find_gaps": "find_gaps",
    "corridormap.corridor:corridor_belt": "corridor_belt",
    "corridormap.footprints:area_footprints": "area_footprints",
    "corridormap.datasets:load_dataset": "load_dataset",
    "corridormap.osm:read_extract": "read_extract",
    "corridormap.reach:catchments": "catchments",
    "corridormap.gaps:find_gaps": "find_gaps",
}

_registered: dict[str, Callable[..., Any]] = {}


@overload
def register_derive(name: str, func: F) -> F: ...


@overload
def register_derive(name: str, func: None = None) -> Callable[[F], F]: ...


def register_derive(name: str, func: F | None = None) -> F | Callable[[F], F]:
    """Allow catalog entries to derive layers with ``func`` under ``name``.

    ``func`` takes the layers named in ``[derive] from`` (GeoDataFrames, in order) and the entry's
    ``params`` as keywords, and returns a GeoDataFrame. Registering a name again replaces the
    earlier function (handy when a notebook cell runs twice); corridormap's own names cannot be
    replaced.

    Examples
    --------
    >>> import corridormap
    >>> @corridormap.register_derive("first_feature")
    ... def first_feature(layer):
    ...     return layer.head(1)
    >>> "first_feature" in corridormap.derive_names()
    True
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"derive function name {name!r}: use a Python identifier (letters, digits, _)")
    if name in _OWN:
        raise ValueError(f"{name!r} is one of corridormap's own derive functions: choose another name")

    def add(function: F) -> F:
        if not callable(function):
            raise TypeError(f"register_derive({name!r}, ...) needs a callable, not {type(function).__name__}")
        _registered[name] = function
        return function

    return add(func) if func is not None else add


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def derive_names() -> list[str]:
    """Every name a catalog entry may give as ``[derive] function``, sorted."""
    return sorted({*_OWN, *_registered, *_entry_points()})


def resolve_derive(function: str, *, where: str | Path) -> Callable[..., Any]:
    """The registered function called ``function``; ``where`` (the catalog file) names the culprit.

    Raises
    ------
    CatalogError
        ``function`` is not a registered name (nor an old spelling of one), naming the allowed names.
    """
    name = str(function)
    if name in _OLD_SPELLINGS:
        new = _OLD_SPELLINGS[name]
        warnings.warn(
            f"{where}: derive.function {name!r} is an old spelling; write function = {new!r}",
            DeprecationWarning,
            stacklevel=3,
        )
        name = new
    if name in _OWN:
        found: Callable[..., Any] = getattr(corridormap, name)  # the public API's lazy door
        return found
    if name in _registered:
        return _registered[name]
    eps = _entry_points()
    if name in eps:
        try:
            loaded = eps[name].load()
        except Exception as exc:  # a broken plugin package: name it, not a traceback from inside it
            raise CatalogError(
                f"{where}: derive.function {name!r} comes from the {ENTRY_POINT_GROUP!r} entry point "
                f"{eps[name].value!r}, which failed to load ({type(exc).__name__}: {exc}). Fix: repair or "
                "reinstall the package that declares it, or remove the entry from the catalog"
            ) from exc
        if not callable(loaded):
            raise CatalogError(
                f"{where}: derive.function {name!r} (entry point {eps[name].value!r}) is not a function. "
                "Fix: point the entry point at a function taking the input layers"
            )
        return cast(Callable[..., Any], loaded)
    raise CatalogError(
        f"{where}: derive.function {name!r} is not a registered derive function; a catalog entry can "
        f"only name one of: {', '.join(derive_names())}. Fix: use one of those, or register your own "
        f"in Python (corridormap.register_derive) or through the {ENTRY_POINT_GROUP!r} entry point"
    )
