"""Options shared by several verbs, and click types for the numeric ones.

A bad number stops at the command line, naming the option: ``--max-km -5``, ``--green-km nan``,
``--radii -10,25`` and ``--k 0`` are refused before any work starts, with click's ``Invalid value
for '--max-km': ...`` line and the allowed range.
"""

from __future__ import annotations

import math
from typing import Any

import click

__all__ = ["overwrite_option", "Number", "NumberList", "KM", "KM_LIST", "COUNT"]

overwrite_option = click.option(
    "--overwrite", is_flag=True, help="Replace outputs that exist (refused without it)."
)


def _describe(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'above' if low_open else 'at least'} {low:g}")
    if high is not None:
        parts.append(f"{'below' if high_open else 'at most'} {high:g}")
    return "a finite number " + " and ".join(parts) if parts else "a finite number"


class Number(click.ParamType):
    """A finite float within a range (click's ``FloatRange`` lets ``nan`` through)."""

    name = "number"

    def __init__(
        self,
        *,
        min: float | None = None,  # noqa: A002 - click's own spelling
        max: float | None = None,  # noqa: A002
        min_open: bool = False,
        max_open: bool = False,
    ) -> None:
        self.low, self.high, self.low_open, self.high_open = min, max, min_open, max_open

    @property
    def allowed(self) -> str:
        return _describe(self.low, self.high, self.low_open, self.high_open)

    def check(self, text: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            value = float(text)
        except (TypeError, ValueError):
            self.fail(f"{text!r} is not a number; use {self.allowed}", param, ctx)
        if not math.isfinite(value):
            self.fail(f"{text!r} is not a finite number; use {self.allowed}", param, ctx)
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if too_low or too_high:
            self.fail(f"{value:g} is out of range; use {self.allowed}", param, ctx)
        return value

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        return value if isinstance(value, float) and math.isfinite(value) else self.check(value, param, ctx)


class NumberList(Number):
    """Comma-separated finite numbers within a range (``10,25,50``); at least one."""

    name = "numbers"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, list):
            return value
        items = [item.strip() for item in str(value).split(",")]
        if not any(items):
            self.fail(
                f"{value!r} gives no number; use comma-separated values, each {self.allowed}", param, ctx
            )
        if "" in items:
            self.fail(f"{value!r} has an empty item; use comma-separated values such as 10,25,50", param, ctx)
        return [self.check(item, param, ctx) for item in items]


KM = Number(min=0, min_open=True)
KM_LIST = NumberList(min=0, min_open=True)
COUNT = click.IntRange(min=1)
