"""The one home of corridormap's exceptions and warnings.

Every exception derives from :class:`CorridormapError` *and* from the built-in a caller would
naturally catch (``ValueError``, ``FileNotFoundError``, ...), so ``except ValueError`` keeps working.
Messages name the file, the feature or row, the problem and the fix.

Validation collects every :class:`Problem` first and raises once (see :func:`raise_if_problems`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "CorridormapError",
    "LayerValidationError",
    "CatalogError",
    "DataSourceNotFoundError",
    "CRSError",
    "OutputExistsError",
    "ExportError",
    "NetworkError",
    "MissingDependencyError",
    "FileFormatError",
    "EncodingError",
    "OptionError",
    "ResourceError",
    "OutputWriteError",
    "CorridormapWarning",
    "DataLossWarning",
    "RepairWarning",
    "Problem",
    "raise_if_problems",
]


class CorridormapError(Exception):
    """Root of every error corridormap raises on purpose."""


class LayerValidationError(CorridormapError, ValueError):
    """A layer or file failed validation; ``problems`` lists every finding."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: list[Problem] = list(problems)


class CatalogError(CorridormapError, ValueError):
    """A layer catalog entry (``layers/*.toml``) is malformed or names something unknown."""


class DataSourceNotFoundError(CorridormapError, FileNotFoundError):
    """A file, folder or layer that was asked for does not exist."""


class CRSError(CorridormapError, ValueError):
    """A coordinate reference system is missing, wrong or unusable for the task."""


class OutputExistsError(CorridormapError, FileExistsError):
    """An output exists and overwriting it was not asked for."""


class ExportError(CorridormapError, RuntimeError):
    """Writing an output failed; nothing partial was left behind."""


class NetworkError(CorridormapError, ConnectionError):
    """An online source could not be reached or refused the request."""


class MissingDependencyError(CorridormapError, ImportError):
    """An optional dependency is not installed; the message says which extra installs it."""


class FileFormatError(CorridormapError, ValueError):
    """A file is empty, truncated, corrupt, mislabelled, incomplete or ambiguous (several layers)."""


class EncodingError(CorridormapError, UnicodeError):
    """A file's text is not in the encoding it declares (or UTF-8); pass the real one."""


class OptionError(CorridormapError, ValueError):
    """An option or argument is outside what it accepts; the message names it and the allowed range."""


class ResourceError(CorridormapError, MemoryError):
    """A task is larger than this machine can hold; refused before it starts, naming a smaller one."""


class OutputWriteError(ExportError, OSError):
    """The operating system refused to write an output (disk full, read-only, no permission); the
    previous output, if any, is unchanged."""


class CorridormapWarning(UserWarning):
    """Root of corridormap's warnings."""


class DataLossWarning(CorridormapWarning):
    """A format cannot hold a value or a name; an explicit mapping was applied and recorded."""


class RepairWarning(CorridormapWarning):
    """Input was repaired (geometry fixed, value coerced); the repair is counted and logged."""


@dataclass(frozen=True)
class Problem:
    """One finding of a validation: where it is, what is wrong, and how to fix it."""

    source: str
    problem: str
    fix: str
    feature: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.source
        if self.feature is not None:
            label = str(self.feature)
            where += f", {label}" if label.startswith("feature") else f", feature {label}"
        if self.field is not None:
            where += f", field {self.field!r}"
        return f"{where}: {self.problem}. Fix: {self.fix}"


def raise_if_problems(problems: Iterable[Problem], what: str) -> None:
    """Raise one :class:`LayerValidationError` listing every problem, or return if there are none."""
    found = list(problems)
    if not found:
        return
    lines = "\n".join(f"  - {p}" for p in found)
    noun = "problem" if len(found) == 1 else "problems"
    raise LayerValidationError(f"{what}: {len(found)} {noun}\n{lines}", found)


def require(module: str, extra: str | None = None) -> object:
    """Import a dependency or raise :class:`MissingDependencyError` saying how to install it.

    ``extra`` names the optional extra that provides ``module``; ``None`` means a default dependency
    (missing only from a broken install), imported lazily because it is slow to import.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        how = (
            f"pip install 'corridormap[{extra}]'"
            if extra
            else "pip install --force-reinstall corridormap (it is a default dependency)"
        )
        raise MissingDependencyError(f"{module} is needed for this; install it with: {how}") from exc
