"""Progress bars for long steps (scoring a grid, computing rasters, a build), off unless asked.

The library never prints by itself: :func:`track` and :func:`steps` show a tqdm bar on standard error
only while ``settings.progress`` is on (the CLI turns it on unless ``-q``; in a notebook,
``with corridormap.settings.override(progress=True): ...``) and standard error is a terminal.

>>> from corridormap import progress
>>> [n for n in progress.track(range(3), desc="counting")]  # off by default: the items, no bar
[0, 1, 2]
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

from . import settings

__all__ = ["track", "steps"]

T = TypeVar("T")


def _bar(total: int | None, desc: str, unit: str, stream: TextIO | None) -> Any:
    from tqdm import tqdm

    out = stream if stream is not None else sys.stderr
    # disable=None: tqdm stays silent when the stream is not a terminal (logs, pipes, CI)
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=out,
        leave=False,
        dynamic_ncols=True,
        disable=None if settings.progress else True,
    )


def track(
    items: Iterable[T], *, desc: str, total: int | None = None, unit: str = "it", stream: TextIO | None = None
) -> Iterator[T]:
    """Yield ``items``, advancing a progress bar (when ``settings.progress`` is on) after each."""
    if not settings.progress:
        yield from items
        return
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with _bar(total, desc, unit, stream) as bar:
        for item in items:
            yield item
            bar.update(1)


class _Steps:
    def __init__(self, bar: Any) -> None:
        self._bar = bar
        self.started = 0

    def step(self, name: str) -> None:
        """Mark the previous step done and show ``name`` as the one under way."""
        if self._bar is not None:
            if self.started:
                self._bar.update(1)
            self._bar.set_postfix_str(name, refresh=True)
        self.started += 1


@contextmanager
def steps(total: int, *, desc: str, stream: TextIO | None = None) -> Iterator[_Steps]:
    """A bar over ``total`` named steps: ``with steps(4, desc="build") as s: s.step("map") ...``."""
    if not settings.progress:
        yield _Steps(None)
        return
    with _bar(total, desc, "step", stream) as bar:
        done = _Steps(bar)
        yield done
        bar.update(max(0, total - max(done.started - 1, 0)))
