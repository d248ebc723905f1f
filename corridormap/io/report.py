"""The validation report: every finding and every repair made while loading a user's file.

A :class:`ValidationReport` is what ``corridormap validate`` prints and what
:func:`corridormap.read_file` consults before handing a frame back: a file with any finding of
severity ``"refuse"`` is refused as a whole (never a partial output), repairs are counted, logged
and written beside the outputs with :meth:`ValidationReport.write_log`.
"""

from __future__ import annotations

import csv
import json
import logging
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import DataLossWarning, Problem, RepairWarning, raise_if_problems

__all__ = ["Finding", "Repair", "ValidationReport", "Severity"]

log = logging.getLogger("corridormap.validate")

Severity = Literal["refuse", "repair", "warn", "info"]
_ORDER: dict[str, int] = {"refuse": 0, "repair": 1, "warn": 2, "info": 3}
_SHOWN_IDS = 20


@dataclass(frozen=True)
class Finding:
    """One thing found in a file: how serious, where, what, and how to fix it."""

    severity: Severity
    check: str
    problem: str
    fix: str
    features: tuple[str, ...] = ()
    field: str | None = None

    def where(self) -> str:
        """Feature ids (the first few) and field, for a one-line message."""
        parts = []
        if self.features:
            shown = ", ".join(self.features[:_SHOWN_IDS])
            more = len(self.features) - _SHOWN_IDS
            noun = "feature" if len(self.features) == 1 else "features"
            parts.append(f"{noun} {shown}" + (f" (+{more} more)" if more > 0 else ""))
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Repair:
    """One logged change to one feature or value (never made silently)."""

    feature: str
    check: str
    reason: str
    method: str
    field: str | None = None
    area_before_m2: float | None = None
    area_after_m2: float | None = None
    before: str | None = None
    after: str | None = None


@dataclass
class ValidationReport:
    """What validating (and loading) one file found.

    Attributes
    ----------
    source : str
        The file (and layer) that was read.
    findings : list of Finding
        Every problem, repair, warning and note, in the order found.
    repairs : list of Repair
        One record per changed feature or value: id, reason, method, area before and after.
    """

    source: str
    format: str | None = None
    layer: str | None = None
    n_features: int = 0
    geometry_types: dict[str, int] = field(default_factory=dict)
    crs: str | None = None
    bounds: tuple[float, float, float, float] | None = None
    findings: list[Finding] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)

    def add(
        self,
        severity: Severity,
        check: str,
        problem: str,
        fix: str,
        *,
        features: list[str] | tuple[str, ...] = (),
        field: str | None = None,
    ) -> None:
        """Record a finding (and log it)."""
        finding = Finding(severity, check, problem, fix, tuple(features), field)
        self.findings.append(finding)
        log.log(
            logging.DEBUG if severity == "info" else logging.INFO,
            "%s: [%s] %s",
            self.source,
            severity,
            problem,
        )

    def repair(self, **record: Any) -> None:
        """Record one repair of one feature or value."""
        self.repairs.append(Repair(**record))

    def repair_column(
        self, check: str, field: str, problem: str, fix: str, *, reason: str, method: str, **values: str
    ) -> None:
        """A repair of a whole column (or its name): one finding plus one repair record."""
        self.add("repair", check, problem, fix, field=field)
        self.repair(feature="*", check=check, reason=reason, method=method, field=field, **values)

    @property
    def refused(self) -> bool:
        """True when the file cannot be loaded as it is."""
        return any(f.severity == "refuse" for f in self.findings)

    def problems(self, severity: Severity = "refuse") -> list[Problem]:
        """Findings of one severity as :class:`corridormap.errors.Problem` objects."""
        return [
            Problem(self.source, f.problem, f.fix, f.where() or None, None)
            for f in self.findings
            if f.severity == severity
        ]

    def raise_if_refused(self) -> None:
        """Raise one :class:`~corridormap.errors.LayerValidationError` listing every refusal."""
        raise_if_problems(self.problems("refuse"), f"{self.source} was refused")

    def emit_warnings(self) -> None:
        """One :class:`RepairWarning` for repairs, one :class:`DataLossWarning` for dropped features."""
        dropped = [r for r in self.repairs if r.method.startswith("dropped")]
        kept = len(self.repairs) - len(dropped)
        if kept:
            counts = Counter(r.check for r in self.repairs if not r.method.startswith("dropped"))
            what = ", ".join(f"{n} {c}" for c, n in sorted(counts.items()))
            warnings.warn(
                f"{self.source}: {kept} repair(s) made ({what}); see the report or its repairs log",
                RepairWarning,
                stacklevel=3,
            )
        if dropped:
            ids = ", ".join(r.feature for r in dropped[:_SHOWN_IDS])
            why = Counter(r.method.removeprefix("dropped").strip(" :()") or "dropped" for r in dropped)
            reasons = ", ".join(f"{n} {m}" for m, n in sorted(why.items()))
            warnings.warn(
                f"{self.source}: {len(dropped)} feature(s) left out ({reasons}): {ids}",
                DataLossWarning,
                stacklevel=3,
            )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of the whole report."""
        data = asdict(self)
        data["refused"] = self.refused
        return data

    def to_text(self) -> str:
        """The report as a human reads it in a terminal."""
        warned = any(f.severity == "warn" for f in self.findings)
        status = (
            "REFUSED"
            if self.refused
            else "loaded with repairs"
            if self.repairs
            else "loaded with warnings"
            if warned
            else "ok"
        )
        types = ", ".join(f"{k} {v}" for k, v in sorted(self.geometry_types.items())) or "none"
        bounds = "none" if self.bounds is None else ", ".join(f"{b:.6g}" for b in self.bounds)
        lines = [
            f"{self.source}: {status}",
            f"  format {self.format or '?'}" + (f", layer {self.layer!r}" if self.layer else ""),
            f"  {self.n_features} features; geometry types: {types}",
            f"  CRS: {self.crs or 'none'}; bounds: {bounds}",
        ]
        for f in sorted(self.findings, key=lambda f: _ORDER[f.severity]):
            where = f.where()
            lines.append(f"  [{f.severity}] {f.problem}" + (f" ({where})" if where else ""))
            if f.severity != "info":
                lines.append(f"      fix: {f.fix}")
        if self.repairs:
            lines.append(f"  {len(self.repairs)} repair record(s); write them with --log-dir")
        return "\n".join(lines)

    def write_log(self, folder: Path | str) -> list[Path]:
        """Write ``<name>.repairs.csv`` and ``<name>.validation.json`` into ``folder``; return the paths."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        stem = Path(self.source.split(" (")[0]).name or "source"
        repairs_path = out / f"{stem}.repairs.csv"
        columns = list(Repair.__dataclass_fields__)
        tmp = repairs_path.with_suffix(".csv.part")
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            for r in self.repairs:
                writer.writerow(asdict(r))
        tmp.replace(repairs_path)
        json_path = out / f"{stem}.validation.json"
        json_path.write_text(json.dumps(self.to_dict(), indent=2, default=str), encoding="utf-8")
        return [repairs_path, json_path]
