"""Paths GDAL can open: a file name holding ``;`` is cut there by pyogrio (it parses paths as URIs).

:func:`gdal_path` yields the path itself, or, when the file name holds ``;``, a path through a
private folder of links to the file and its same-named siblings (a shapefile's ``.dbf``, ``.prj``)
under names without it. :func:`gdal_name` is a file name to stage an output under.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["gdal_path", "gdal_name"]


def gdal_name(name: str) -> str:
    """``name`` with the characters GDAL's path parsing cuts at replaced."""
    return name.replace(";", "_")


@contextmanager
def gdal_path(path: str | Path) -> Iterator[str]:
    """A path to ``path`` that GDAL opens as the same file (see the module docs)."""
    path = Path(path)
    if ";" not in path.name:
        yield str(path)
        return
    with tempfile.TemporaryDirectory(prefix="corridormap-") as tmp:
        stem = path.name.split(".")[0]
        siblings = (
            [p for p in path.parent.iterdir() if p.name.split(".")[0] == stem] if path.is_file() else []
        )
        for sibling in {*siblings, path}:
            (Path(tmp) / gdal_name(sibling.name)).symlink_to(sibling.resolve())
        yield str(Path(tmp) / gdal_name(path.name))
