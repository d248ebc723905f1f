"""The analysis rule files, ``layers/rules/*.toml`` (not layers: the catalog does not scan them)."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any

from .. import settings
from ..errors import CatalogError, DataSourceNotFoundError
from ..io._tomlfile import read_toml

__all__ = ["read_rules_toml", "rules_path"]


def rules_path(name: str) -> Path:
    """``<settings.layers_dir>/rules/<name>``, following the settings in force."""
    return Path(settings.layers_dir) / "rules" / name


def read_rules_toml(name: str) -> dict[str, Any]:
    """A rule file's contents (cached per file and modification time, so settings overrides and
    edits are seen)."""
    path = rules_path(name)
    if not path.is_file():
        raise DataSourceNotFoundError(f"rule file {path} is missing. Fix: restore it from the repository")
    return _read(path, path.stat().st_mtime_ns)


@functools.cache
def _read(path: Path, mtime_ns: int) -> dict[str, Any]:
    try:
        return read_toml(path)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML ({exc}). Fix: correct the syntax") from exc
