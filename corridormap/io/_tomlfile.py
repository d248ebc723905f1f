"""Read a TOML file that a user may have saved in another encoding: one typed error, not a traceback.

TOML files are UTF-8 by definition; a rules, weights or layer file saved as cp1252 (``café``) is
refused with :class:`~corridormap.errors.EncodingError` naming the file, the line and the byte.
Syntax errors stay ``tomllib.TOMLDecodeError`` for the caller to word.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..errors import EncodingError

__all__ = ["read_toml"]


def read_toml(path: str | Path) -> dict[str, Any]:
    """The TOML document at ``path``.

    Raises
    ------
    EncodingError
        The file is not UTF-8.
    tomllib.TOMLDecodeError
        The file is not valid TOML.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EncodingError(
            f"{path}: line {line} is not UTF-8 (byte 0x{data[exc.start]:02x}); TOML files must be UTF-8. "
            "Fix: re-save the file as UTF-8 (in most editors: Save As, encoding UTF-8)"
        ) from None
    return tomllib.loads(text)
