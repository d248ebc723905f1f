"""Short summaries the analysis commands print: rows, a few headline figures, where the files are.

Each summary reads only the columns a table has (the analysis adds and renames columns), formats
numbers with their unit, and never prints ``nan`` or ``inf``: a missing figure is said in words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "access_summary",
    "chainage_summary",
    "gaps_summary",
    "sites_summary",
    "files_summary",
    "losses_summary",
]

_KM = re.compile(r"^(?P<prefix>.+?)_(?P<kind>network_|rail_)?km$")


def _finite(values: Any) -> pd.Series:
    series = pd.to_numeric(pd.Series(values), errors="coerce").astype(float)
    return series[series.map(math.isfinite)]


def _km(value: float) -> str:
    return f"{value:,.1f} km"


def _label(frame: pd.DataFrame, position: Any) -> str:
    for column in ("name", "id"):
        if column in frame.columns and pd.notna(frame.loc[position, column]):
            return str(frame.loc[position, column])
    return str(position)


def _distance_line(frame: pd.DataFrame, column: str, what: str, missing: str) -> str | None:
    values = _finite(frame[column])
    absent = len(frame) - len(values)
    if values.empty:
        return f"  {what}: {missing} for every row" if len(frame) else None
    far = values.idxmax()
    text = (
        f"  {what}: median {_km(values.median())}, nearest {_km(values.min())}, farthest "
        f"{_km(values.max())} ({_label(frame, far)})"
    )
    return text + (f"; {absent} {missing}" if absent else "")


def access_summary(card: pd.DataFrame) -> list[str]:
    """Rows, and per target the median / nearest / farthest distance (rank 1), in true km."""
    lines = [f"Access card: {len(card)} node(s), {len(card.columns)} columns"]
    shown: list[pd.Series] = []
    for column in card.columns:
        match = _KM.match(str(column))
        # a target's distance: <target>_km (rank 1) beside <target>_name; the same figure once
        if not match or f"{match.group('prefix')}_name" not in card.columns:
            continue
        if any(card[column].equals(other) for other in shown):
            continue
        shown.append(card[column])
        prefix, kind = match.group("prefix").replace("_", " "), match.group("kind")
        if kind == "network_":
            line = _distance_line(
                card, column, f"{prefix} along the network", "not connected in this network"
            )
        elif kind == "rail_":
            line = _distance_line(card, column, f"{prefix} by rail", "with no rail figure")
        else:
            line = _distance_line(card, column, prefix, "with none in reach")
        if line:
            lines.append(line)
    for column in [c for c in card.columns if str(c).startswith("renewable_mw_within_")]:
        values = _finite(card[column])
        if not values.empty:
            radius = str(column).removeprefix("renewable_mw_within_")
            lines.append(
                f"  renewable capacity within {radius.replace('km', ' km')}: median "
                f"{values.median():,.0f} MW; {(values <= 0).sum()} node(s) with none"
            )
    if "in_belt" in card.columns:
        inside = card["in_belt"].fillna(False).astype(bool).sum()
        lines.append(f"  in the corridor belt: {inside} of {len(card)}")
    return lines


def chainage_summary(table: pd.DataFrame) -> list[str]:
    """Rows, and per line the features placed, the chainage range and those beyond its ends."""
    lines = [f"Chainage: {len(table)} row(s)"]
    groups = table.groupby("line", sort=False) if "line" in table.columns else [("all", table)]
    for line, part in groups:
        text = f"  {line}: {len(part)} feature(s)"
        if "chainage_km" in part.columns:
            values = _finite(part["chainage_km"])
            if not values.empty:
                text += f", km {values.min():,.1f} to {values.max():,.1f}"
        if "beyond_end" in part.columns:
            beyond = int(part["beyond_end"].fillna(False).astype(bool).sum())
            text += f", {beyond} beyond an end" if beyond else ""
        if "side" in part.columns:
            sides = part["side"].value_counts()
            text += "; " + ", ".join(f"{n} {side}" for side, n in sides.items())
        lines.append(text)
    return lines


def gaps_summary(flagged: pd.DataFrame) -> list[str]:
    """Flags, distinct features flagged, and flags per rule."""
    key = "id" if "id" in flagged.columns else None
    features = flagged[key].nunique() if key else len(flagged)
    lines = [f"Gaps: {len(flagged)} flag(s) on {features} feature(s)"]
    if len(flagged) == 0:
        return [*lines, "  no feature breaks a rule"]
    if "rule" in flagged.columns:
        for rule, n in flagged["rule"].value_counts(sort=False).items():
            lines.append(f"  {rule}: {n}")
    return lines


def sites_summary(
    sites: pd.DataFrame, *, cells: int | None = None, separation_km: float | None = None
) -> list[str]:
    """Sites found, the score range, the best site and where it is."""
    scores = _finite(sites["score"]) if "score" in sites.columns else pd.Series(dtype=float)
    head = f"Sites: {len(sites)} candidate site(s)"
    if cells is not None:
        head += f" from {cells:,} scored cell(s)"
    if separation_km is not None:
        head += f", at least {separation_km:g} km apart"
    lines = [head]
    if scores.empty:
        return [*lines, "  no cell could be scored"]
    lines.append(f"  score (0 worst, 1 best): best {scores.max():.2f}, last {scores.min():.2f}")
    best = scores.idxmax()
    if getattr(sites, "crs", None) is not None:
        sites = sites.to_crs("EPSG:4326")  # type: ignore[attr-defined]
    geometry = sites.loc[best, "geometry"] if "geometry" in sites.columns else None
    if geometry is not None and hasattr(geometry, "x"):
        lines.append(f"  best site: lon {geometry.x:.3f}, lat {geometry.y:.3f}")
    return lines


def files_summary(paths: Iterable[Path]) -> list[str]:
    """``Wrote:`` and each file's absolute path."""
    return ["Wrote:", *(f"  {Path(p).resolve()}" for p in paths)]


# what each kind of declared change is, in a few words (else the first entry's reason)
_CHANGES = {
    "rename": "field names changed",
    "truncated": "text cut to the format's field size (full text in the field map)",
    "split": "layers split by geometry type",
    "ring_orientation": "polygon rings reoriented",
    "row_order": "rows in spatial order (match rows by key)",
    "nan_to_null": "NaN written as null",
    "infinity_to_null": "infinity written as null",
    "float_to_text": "numbers written as exact text",
    "int_to_text": "large integers written as text",
    "datetime_ms": "times cut to the millisecond",
    "datetime_to_text": "datetimes written as text",
    "empty_to_null": "empty text written as null",
    "null_to_empty": "null text written as ''",
    "formula_guarded": "text that would run as a spreadsheet formula prefixed with '",
}


def losses_summary(entries: Iterable[dict[str, Any]], fieldmap: Path) -> list[str]:
    """One summary of an export's declared changes (from its field map), instead of one line per field."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_kind.setdefault(str(entry.get("kind")), []).append(entry)
    if not by_kind:
        return []
    total = sum(len(v) for v in by_kind.values())
    lines = [f"{total} declared change(s); every one, field by field, in {fieldmap}:"]
    for kind, found in by_kind.items():
        layers = len({e.get("layer") for e in found})
        fields = len({(e.get("layer"), e.get("column")) for e in found if e.get("column")})
        what = _CHANGES.get(kind, str(found[0].get("reason", kind)))
        where = f"{fields} field(s) in {layers} layer(s)" if fields else f"{layers} layer(s)"
        values = sum(int(e.get("count") or 0) for e in found)
        unit = "value(s)" if fields else "feature(s)"
        lines.append(f"  {what}: {where}, {values:,} {unit}" if kind != "rename" else f"  {what}: {where}")
    return lines
