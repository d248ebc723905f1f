"""Joining an attribute table to a layer by key, without multiplying, losing or mismatching rows.

Real tables are joined on keys with duplicates (which would silently multiply features), padding
(``" 27 "`` vs ``"27"``) or no match at all. :func:`join_attributes` refuses the first, repairs the
second with a logged record, and reports the third by key on both sides.

Examples
--------
>>> import geopandas as gpd, pandas as pd, shapely
>>> plots = gpd.GeoDataFrame({"code": ["A1", "B2"]}, geometry=[shapely.Point(77, 28)] * 2, crs=4326)
>>> owners = pd.DataFrame({"code": [" A1", "C3"], "owner": ["state", "private"]})
>>> joined = join_attributes(plots, owners, on="code", warn=False)
>>> joined["owner"].tolist()
['state', nan]
"""

from __future__ import annotations

import logging
import warnings

import geopandas as gpd
import pandas as pd

from ..errors import LayerValidationError, Problem, RepairWarning, raise_if_problems
from .report import ValidationReport

__all__ = ["join_attributes"]

log = logging.getLogger(__name__)


def _keys(series: pd.Series) -> pd.Series:
    """Keys as trimmed text (numbers written 27 and 27.0 agree); missing stays missing."""

    def one(v: object) -> object:
        if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
            return None
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return str(v).strip()

    return series.map(one).astype(object)


def join_attributes(
    gdf: gpd.GeoDataFrame,
    table: pd.DataFrame,
    *,
    on: str,
    table_on: str | None = None,
    report: ValidationReport | None = None,
    warn: bool = True,
) -> gpd.GeoDataFrame:
    """Left-join ``table`` onto ``gdf`` by key; a new frame on ``gdf``'s index, input untouched.

    Parameters
    ----------
    gdf : GeoDataFrame
        The layer; every row is kept exactly once.
    table : DataFrame
        Attributes to add; its keys must be unique (duplicates are refused).
    on, table_on : str
        Key column of ``gdf`` and of ``table`` (default: the same name).
    report : ValidationReport, optional
        Report to add findings and repairs to (one is made otherwise).
    warn : bool
        Emit a :class:`RepairWarning` when keys were trimmed to match.

    Raises
    ------
    LayerValidationError
        A key column is missing, or the table holds a key more than once.
    """
    table_on = table_on or on
    rep = report or ValidationReport("attribute join")
    missing = [
        Problem(rep.source, f"no column {c!r}", f"choose one of {list(cols)}", field=c)
        for c, cols in ((on, gdf.columns), (table_on, table.columns))
        if c not in cols
    ]
    raise_if_problems(missing, "attribute join")
    left, right = _keys(gdf[on]), _keys(table[table_on])
    dup = right[right.duplicated(keep=False) & right.notna()]
    if len(dup):
        values = sorted(set(dup))
        raise LayerValidationError(
            f"attribute join: the table holds key(s) {values[:20]} more than once in {table_on!r}; "
            f"joining would multiply features. Fix: make the table's keys unique (aggregate first)",
            [Problem(rep.source, f"duplicate key {v!r}", "make keys unique", field=table_on) for v in values],
        )
    _note_padding(gdf[on], table[table_on], rep, on, table_on)
    extra = table.drop(columns=[table_on])
    clash = [c for c in extra.columns if c in gdf.columns]
    if clash:
        extra = extra.rename(columns={c: f"{c}_table" for c in clash})
        rep.add(
            "repair",
            "join-columns",
            f"table columns {clash} exist in the layer; added with suffix _table",
            "rename them before joining",
        )
    lookup = extra.set_axis(right.to_numpy(), axis=0)
    lookup = lookup[lookup.index.notna()]
    joined = lookup.reindex(left.to_numpy())
    joined.index = gdf.index
    out = gdf.copy()
    for c in joined.columns:
        out[c] = joined[c]
    _note_unmatched(left, right, rep, on)
    if warn and any(f.severity == "repair" for f in rep.findings):
        warnings.warn(
            f"{rep.source}: keys or columns adjusted to join; see the report", RepairWarning, stacklevel=2
        )
    return out


def _note_padding(
    raw_left: pd.Series, raw_right: pd.Series, rep: ValidationReport, on: str, table_on: str
) -> None:
    for raw, name in ((raw_left, on), (raw_right, table_on)):
        padded = [str(v) for v in raw.dropna() if str(v) != str(v).strip()]
        if padded:
            rep.add(
                "repair",
                "join-padding",
                f"{len(padded)} key(s) have leading/trailing spaces; trimmed to match",
                "trim the keys in the source",
                field=name,
            )
            for value in padded:
                rep.repair(
                    feature="*",
                    check="join-padding",
                    reason="padded key",
                    method="trimmed",
                    field=name,
                    before=value,
                    after=value.strip(),
                )


def _note_unmatched(left: pd.Series, right: pd.Series, rep: ValidationReport, on: str) -> None:
    lset, rset = set(left.dropna()), set(right.dropna())
    no_match = sorted(lset - rset)
    unused = sorted(rset - lset)
    if no_match:
        zeros = {k.lstrip("0") for k in rset}
        hint = (
            " (some match if leading zeros are ignored: check key formats)"
            if any(k.lstrip("0") in zeros for k in no_match)
            else ""
        )
        rep.add(
            "warn",
            "join-no-match",
            f"{len(no_match)} layer key(s) have no row in the table: "
            f"{no_match[:20]}{hint}; their new columns are empty",
            "add them to the table",
            field=on,
        )
    if unused:
        rep.add(
            "warn",
            "join-unused",
            f"{len(unused)} table key(s) match no feature: {unused[:20]}",
            "check the keys; these rows were not joined",
            field=on,
        )
    if left.isna().any():
        rep.add(
            "warn",
            "join-no-match",
            f"{int(left.isna().sum())} feature(s) have no key",
            "fill the keys",
            field=on,
        )
