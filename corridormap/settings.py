"""One typed settings object with a scoped override, in the manner of rasterio's ``Env``.

>>> from corridormap import settings
>>> with settings.override(offline=True):
...     settings.offline
True

Values come from (later wins): the defaults below, ``CORRIDORMAP_*`` environment variables read at
first use, and :func:`override` scopes. Overrides are context-local, so tests and notebooks never
leak state into each other.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

__all__ = ["Settings", "override", "current"]

_PACKAGE = Path(__file__).resolve().parent


def _shipped(packaged: str, checkout: str) -> Path:
    """A folder shipped in the wheel (``corridormap/_data``) or, in a checkout, at the repo root."""
    inside = _PACKAGE / packaged
    return inside if inside.is_dir() else _PACKAGE.parent / checkout


@dataclass(frozen=True)
class Settings:
    """corridormap's settings.

    Attributes
    ----------
    data_dir : Path
        Folder of the shipped source data (``data/``).
    layers_dir : Path
        Folder of the layer catalog (``layers/*.toml``).
    extra_layers_dirs : tuple of Path
        More catalog folders whose entries are added to (or replace) the shipped ones.
    cache_dir : Path
        Cache for online sources (Overpass responses, downloads, computed rasters).
    out_dir : Path
        Default output folder of ``corridormap build``.
    offline : bool
        Refuse every network request (online sources raise :class:`~corridormap.errors.NetworkError`).
    mirror : str or None
        A local folder or internal server that replaces every online source's base address.
    overpass_url : str
        Overpass API endpoint used by :mod:`corridormap.osm`.
    nominatim_url : str
        Nominatim base address for place names (``corridormap osm fetch --area PLACE``).
    timeout_s : float
        Network timeout per request, seconds.
    repair_log_dir : Path or None
        Where :func:`corridormap.read_file` writes each file's repairs log when not given ``log_dir``
        (a build points it at its output folder).
    progress : bool
        Show progress bars of long steps on standard error, when it is a terminal
        (:mod:`corridormap.progress`; the CLI turns them on unless ``-q``; off by default in Python).
    """

    data_dir: Path = _shipped("_data", "data")
    layers_dir: Path = _shipped("_layers", "layers")
    extra_layers_dirs: tuple[Path, ...] = ()
    cache_dir: Path = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "corridormap"
    out_dir: Path = Path("build")
    offline: bool = False
    mirror: str | None = None
    overpass_url: str = "https://overpass-api.de/api/interpreter"
    nominatim_url: str = "https://nominatim.openstreetmap.org"
    timeout_s: float = 180.0
    repair_log_dir: Path | None = None
    progress: bool = False


_ENV_PREFIX = "CORRIDORMAP_"


def _coerce(name: str, raw: str) -> Any:
    kind = Settings.__dataclass_fields__[name].type
    if "bool" in str(kind):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if "float" in str(kind):
        return float(raw)
    if "tuple" in str(kind):
        return tuple(Path(p) for p in raw.split(os.pathsep) if p)
    if "Path" in str(kind):
        return Path(raw)
    return raw


def _from_environment() -> Settings:
    values = {}
    for f in fields(Settings):
        raw = os.environ.get(_ENV_PREFIX + f.name.upper())
        if raw is not None:
            values[f.name] = _coerce(f.name, raw)
    return Settings(**values)


_current: ContextVar[Settings | None] = ContextVar("corridormap_settings", default=None)


def current() -> Settings:
    """The settings in force in this context."""
    value = _current.get()
    if value is None:
        value = _from_environment()
        _current.set(value)
    return value


@contextmanager
def override(**changes: Any) -> Iterator[Settings]:
    """Change settings inside a ``with`` block only; unknown names raise ``TypeError``."""
    unknown = set(changes) - {f.name for f in fields(Settings)}
    if unknown:
        raise TypeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    for key in ("data_dir", "layers_dir", "cache_dir", "out_dir"):
        if key in changes and changes[key] is not None:
            changes[key] = Path(changes[key])
    if "extra_layers_dirs" in changes:
        changes["extra_layers_dirs"] = tuple(Path(p) for p in changes["extra_layers_dirs"])
    token = _current.set(replace(current(), **changes))
    try:
        yield _current.get()  # type: ignore[misc]
    finally:
        _current.reset(token)


def __getattr__(name: str) -> Any:
    """``settings.cache_dir`` reads the value in force."""
    if name in Settings.__dataclass_fields__:
        return getattr(current(), name)
    raise AttributeError(f"module 'corridormap.settings' has no attribute {name!r}")
