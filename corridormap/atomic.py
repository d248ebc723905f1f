"""Atomic writing: build an output beside its target, then move it into place in one step.

Every output is first written into a hidden staging folder in the target's own folder (so the final
:func:`os.replace` is an atomic rename on the same file system). A failing writer removes its
staging folder; a killed process leaves one behind, which the next write into that folder removes
(the staging name carries the writer's process id, and only folders of dead processes are swept).
Until the rename, the previous output is untouched, byte for byte.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import OutputExistsError

__all__ = [
    "STAGING_PREFIX",
    "staging_dir",
    "sweep_stale",
    "refuse_existing",
    "write_bytes_atomic",
    "write_json_atomic",
    "replace_into",
]

log = logging.getLogger(__name__)

STAGING_PREFIX = ".corridormap-staging-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's live process
        return True
    return True


def sweep_stale(folder: Path) -> list[Path]:
    """Remove staging folders in ``folder`` left by killed writers; return what was removed."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        if not entry.name.startswith(STAGING_PREFIX):
            continue
        pid_text = entry.name[len(STAGING_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit() or not _pid_alive(int(pid_text)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
            log.info("removed %s left by an interrupted export", entry)
    return removed


@contextmanager
def staging_dir(target: Path) -> Iterator[Path]:
    """A private folder beside ``target`` that is removed on exit, whatever happens."""
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    sweep_stale(folder)
    stage = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=folder))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def refuse_existing(paths: list[Path], overwrite: bool) -> None:
    """Raise :class:`OutputExistsError` naming every existing path unless ``overwrite``."""
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        names = ", ".join(str(p) for p in existing)
        raise OutputExistsError(
            f"{names} {'already exist' if len(existing) > 1 else 'already exists'}; nothing was written. "
            f"Fix: pass overwrite=True (--overwrite) to replace {'them' if len(existing) > 1 else 'it'}, "
            "or choose another output path"
        )


def replace_into(staged: Path, target: Path) -> None:
    """Move a finished file or folder from staging onto ``target`` (files atomically)."""
    if staged.is_dir():
        if target.is_dir():
            # a folder cannot be swapped atomically: rename the old one aside first
            aside = target.with_name(f"{STAGING_PREFIX}{os.getpid()}-old-{target.name}")
            os.replace(target, aside)
            os.replace(staged, target)
            shutil.rmtree(aside, ignore_errors=True)
            return
        if target.exists():
            target.unlink()
    os.replace(staged, target)


def write_bytes_atomic(data: bytes, path: str | os.PathLike[str], *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file beside it, then rename)."""
    target = Path(path)
    refuse_existing([target], overwrite)
    with staging_dir(target) as stage:
        staged = stage / target.name
        with open(staged, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(staged, target)
    return target


def write_json_atomic(data: Any, path: str | os.PathLike[str], *, overwrite: bool = True) -> Path:
    """Write ``data`` as indented, key-sorted UTF-8 JSON to ``path`` atomically."""
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    return write_bytes_atomic(text.encode("utf-8"), path, overwrite=overwrite)
