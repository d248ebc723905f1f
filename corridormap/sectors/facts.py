"""The facts about a node that a brief and a comparison show, language-free.

:func:`node_facts` computes, for the requested nodes, the access card, chainage on the configured
lines, what lies within reach, the renewable capacity in reach, the site context (water, coast,
workforce), the sector fit, the gap flags, status and as-of, and every source. Each fact is a
:class:`Fact` with a key (translated by :mod:`corridormap.sectors.i18n`), a value, a kind that says
how to format it, and which direction is better (for :mod:`corridormap.sectors.compare`). Columns
the analysis may rename or drop are read when present and left out when not.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..crs import DISPLAY_CRS
from ..errors import LayerValidationError
from .criteria import criterion_values
from .fit import sector_fit
from .profiles import all_nodes, context, criteria_specs, load_profiles, node_layer_names

__all__ = ["Fact", "Section", "NodeFacts", "node_facts", "no_city", "RADII_KM", "REACH_LAYERS"]

log = logging.getLogger(__name__)

RADII_KM = (10.0, 25.0, 50.0)
REACH_LAYERS = ("industrial_nodes", "freight_stations", "ports_logistics", "renewable_zones")
# access-card prefix -> fact key (the access card's default targets, layers/rules/access.toml)
_ACCESS = {
    "freight_station": "nearest_freight_station",
    "dfc_line": "nearest_dfc_line",
    "expressway": "nearest_expressway",
    "port": "nearest_port_logistics",
    "renewable_zone": "nearest_renewable_zone",
}


@dataclass(frozen=True)
class Fact:
    """One row of a brief: ``key`` is a label key; ``kind`` says how ``value`` is formatted.

    kinds: text, translated (value is itself a label key), km, mw, ha, inr_crore, count, people,
    score (0-100), rank, date. ``better`` is "lower", "higher" or None (not comparable).
    """

    key: str
    value: Any
    kind: str = "text"
    better: str | None = None
    detail: str = ""  # source-language text shown beside the value (a feature name, a note)
    params: Mapping[str, Any] = field(default_factory=dict)  # label parameters, e.g. {"r": 10}


@dataclass(frozen=True)
class Section:
    key: str
    facts: tuple[Fact, ...]


@dataclass
class NodeFacts:
    """Everything a brief shows about one node."""

    node_id: str
    name: str
    lon: float
    lat: float
    sections: list[Section]
    sources: list[str]
    gap_flags: list[tuple[str, str]]  # (rule id, reason)
    gaps_checked: bool = True  # False when no gap rule judged the node (its layer, or outside the belt)
    gap_scope: str = ""  # which rules judged it, or why none did (analysis.gaps.node_gap_fields)

    def fact(self, key: str, **params: Any) -> Fact | None:
        """The first fact with this key (and these label parameters)."""
        for section in self.sections:
            for f in section.facts:
                if f.key == key and all(f.params.get(k) == v for k, v in params.items()):
                    return f
        return None


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(out) else out


def _identity(row: pd.Series) -> Section:
    keys = [("state", "text", None), ("node_type", "text", None), ("corridor", "text", None)]
    facts = [Fact(k, row.get(k), kind) for k, kind, _ in keys if row.get(k) is not None]
    facts += [
        Fact("status", f"status.{row.get('status')}", "translated"),
        Fact("status_detail", row.get("status_detail") or "", "text"),
        Fact("as_of", row.get("as_of"), "date"),
        Fact("area", _num(row.get("area_ha")), "ha", "higher"),
        Fact("investment", _num(row.get("investment_inr_crore")), "inr_crore", "higher"),
        Fact("jobs", _num(row.get("jobs")), "count", "higher"),
        Fact("declared_sectors", row.get("sectors") or "", "text"),
        Fact("geometry_quality", f"quality.{row.get('geometry_quality')}", "translated"),
        Fact("position_tolerance", _num(row.get("position_tolerance_km")), "km"),
    ]
    return Section("identity", tuple(facts))


def _access(card: pd.Series, values: pd.Series) -> Section:
    facts = []
    for prefix, key in _ACCESS.items():
        km = _num(card.get(f"{prefix}_km"))
        if f"{prefix}_km" in card.index:
            facts.append(Fact(key, km, "km", "lower", str(card.get(f"{prefix}_name") or "")))
    for criterion, key in (("port_km", "nearest_seaport"), ("airport_km", "nearest_airport")):
        if criterion in values.index:
            facts.append(Fact(key, _num(values[criterion]), "km", "lower", str(values[f"{criterion}_note"])))
    return Section("access", tuple(facts))


def _chainage_rows(layers: Mapping[str, gpd.GeoDataFrame], chosen: gpd.GeoDataFrame) -> pd.DataFrame:
    """Chainage of the chosen nodes on every configured line (``layers/rules/chainage.toml``)."""
    from ..analysis.corridor import chainage
    from ..analysis.outputs import chainage_line, chainage_lines

    frames = []
    for key, spec in chainage_lines().items():
        if spec["layer"] not in layers:
            continue
        line, _ = chainage_line(layers, key)
        done = chainage(chosen.to_crs(DISPLAY_CRS), line)
        frames.append(pd.DataFrame(done.drop(columns=done.geometry.name)).assign(line=spec["title"]))
    return pd.concat(frames) if frames else pd.DataFrame(columns=["id", "line"])


def _chainage(table: pd.DataFrame, node_id: str) -> Section:
    facts = []
    rows = table[table["id"] == node_id]
    for _, row in rows.iterrows():
        beyond = bool(row.get("beyond_end"))
        detail = f"{row['side']}, {row['offset_km']:.1f} km" + (" (beyond the line's end)" if beyond else "")
        params = {
            "line": row["line"],
            "side": str(row["side"]),
            "offset_km": _num(row["offset_km"]),
            "beyond_end": beyond,
        }
        facts.append(Fact("chainage_on", _num(row["chainage_km"]), "km", None, detail, params))
    return Section("chainage", tuple(facts))


def _reach(rings: pd.DataFrame, *, counted_in: str) -> Section:
    """Counts within each radius; the node itself is not counted among the nodes of its own layer."""
    facts = []
    for _, ring in rings.sort_values("radius_km").iterrows():
        r = float(ring["radius_km"])
        for layer in REACH_LAYERS:
            column = f"{layer}_count"
            if column in ring.index:
                count = int(ring[column]) - (1 if layer == counted_in else 0)  # not the node itself
                facts.append(Fact(f"reach.{layer}", max(count, 0), "count", "higher", params={"r": r}))
        mw = ring.get("renewable_zones_capacity_mw_sum")
        if mw is not None:
            facts.append(Fact("reach.renewable_mw", _num(mw), "mw", "higher", params={"r": r}))
    return Section("reach", tuple(facts))


def _renewables(row: pd.Series) -> Section:
    facts = []
    for column in row.index:
        if column.startswith("renewable_mw_within_"):
            r = float(column.removeprefix("renewable_mw_within_").removesuffix("km"))
            facts.append(Fact("renewable_mw_within", _num(row[column]), "mw", "higher", params={"r": r}))
            zones = row.get(f"renewable_zones_within_{column.removeprefix('renewable_mw_within_')}")
            if zones is not None:
                facts.append(Fact("renewable_zones_within", int(zones), "count", "higher", params={"r": r}))
    if "nearest_renewable_zone_km" in row.index:
        name = str(row.get("nearest_renewable_zone_name") or "")
        mw = _num(row.get("nearest_renewable_zone_mw"))
        detail = name + (f" ({mw:,.0f} MW)" if mw is not None else "")
        facts.append(
            Fact("nearest_renewable_zone", _num(row["nearest_renewable_zone_km"]), "km", "lower", detail)
        )
    return Section("renewables", tuple(facts))


def _context_section(values: pd.Series) -> Section:
    facts = []
    specs = criteria_specs()
    for criterion, kind, better in (
        ("water_km", "km", "lower"),
        ("coast_km", "km", "higher"),
        ("workforce_pop", "people", "higher"),
        ("solar_kwh_m2", "kwh", "higher"),
    ):
        if criterion in values.index:
            params: dict[str, Any] = {"r": specs[criterion].within_km} if specs[criterion].within_km else {}
            note = str(values[f"{criterion}_note"])
            value = _num(values[criterion])
            bound = _num(values.get(f"{criterion}_at_least"))
            if value is None and bound is not None:  # the clip hides the answer: a lower bound
                value, params = bound, {**params, "at_least": True}
            facts.append(Fact(f"context.{criterion}", value, kind, better, note, params))
    return Section("context", tuple(facts))


def _fit_section(fit: pd.DataFrame, node_id: str, count: int) -> Section:
    facts = []
    for _, row in fit[fit["node_id"] == node_id].iterrows():
        rank = None if pd.isna(row["rank"]) else int(row["rank"])
        low, high = row["rank_min"], row["rank_max"]
        stable = "" if pd.isna(low) else f"{int(low)}–{int(high)}"
        weighted = [
            c.removesuffix("_weight") for c in row.index if c.endswith("_weight") and pd.notna(row[c])
        ]
        points = {c: _num(row[f"{c}_contribution"]) for c in weighted}
        parts = sorted(((c, p) for c, p in points.items() if p is not None), key=lambda cp: -cp[1])
        missing = [c for c, p in points.items() if p is None]
        params = {
            "rank": rank,
            "of": count,
            "range": stable,
            "share": float(row["assessed_weight_share"]),
            "parts": tuple(parts),
            "missing": tuple(missing),
        }
        facts.append(
            Fact(f"sector.{row['sector']}", _num(row["fit"]), "score", "higher", str(row["why"]), params)
        )
    return Section("fit", tuple(facts))


def _sources(row: pd.Series, layers: Mapping[str, gpd.GeoDataFrame]) -> list[str]:
    out = [s.strip() for s in str(row.get("source") or "").split(" ; ") if s.strip()]
    out.append(
        "corridormap shipped layers: industrial_nodes, freight_stations, freight_rail, expressways, "
        "ports_logistics, renewable_zones (each feature's own sources in the GeoPackage)"
    )
    for spec in context().get("context", {}).values():
        out.append(f"{spec['source']}; {spec['licence']}; {spec['vintage']}")
    out.append("Sector profiles: layers/rules/sectors/*.toml (each weight's rationale and source)")
    return out


def node_facts(
    node_ids: Sequence[str],
    *,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    fit: pd.DataFrame | None = None,
) -> dict[str, NodeFacts]:
    """The facts of each requested node (an ``id`` of a node layer, see ``_context.toml``), in order.

    Raises :class:`~corridormap.errors.LayerValidationError` naming unknown ids and the known ones.
    """
    from ..analysis.access import access_card, default_targets
    from ..analysis.gaps import find_gaps, node_gap_fields, read_rules
    from ..analysis.reach import catchments, default_contents, green_power
    from ..catalog.load import load_layers

    layers = dict(layers) if layers is not None else load_layers()
    nodes = all_nodes(layers)
    known = nodes["id"].astype(str).tolist()
    unknown = [i for i in node_ids if i not in known]
    if unknown:
        raise LayerValidationError(
            f"unknown node id(s) {', '.join(map(repr, unknown))} in the node layers "
            f"({', '.join(node_layer_names())}). Fix: use one of {', '.join(known)}"
        )
    chosen = nodes[nodes["id"].isin(list(node_ids))].set_index("id", drop=False)
    chosen = chosen.loc[list(dict.fromkeys(node_ids))]
    card = access_card(chosen, default_targets(layers))
    if "renewable_zones" in layers:
        card = green_power(card, layers["renewable_zones"])
    values = criterion_values(chosen, layers)
    rings = catchments(chosen, default_contents(layers), radii_km=RADII_KM)
    chain = _chainage_rows(layers, chosen)
    gaps = find_gaps(layers)
    rules = read_rules()
    scope = pd.Series("not judged: no gap rule applies to it", index=chosen.index, dtype=object)
    for layer_name in {str(r.get("layer")) for r in rules} & set(chosen["layer"].astype(str)):
        mine = chosen[chosen["layer"].astype(str) == layer_name]
        fields = node_gap_fields(mine, gaps, layers, layer=layer_name, rules=rules)
        scope.loc[mine.index] = fields["gap_scope"]
    if fit is None:
        fit = sector_fit(nodes, layers, load_profiles())
    lonlat = chosen.to_crs(DISPLAY_CRS).geometry
    out: dict[str, NodeFacts] = {}
    for node_id in chosen.index:
        row, crow = chosen.loc[node_id], card.loc[node_id]
        node_gaps = gaps[gaps["id"] == node_id]
        out[node_id] = NodeFacts(
            node_id=node_id,
            name=str(row.get("name")),
            lon=float(lonlat.loc[node_id].x),
            lat=float(lonlat.loc[node_id].y),
            sections=[
                _identity(row),
                _access(crow, values.loc[node_id]),
                _chainage(chain, node_id),
                _reach(rings[rings["feature"] == node_id], counted_in=str(row["layer"])),
                _renewables(crow),
                _context_section(values.loc[node_id]),
                _fit_section(fit, node_id, int((fit["sector"] == fit["sector"].iloc[0]).sum())),
            ],
            sources=_sources(row, layers),
            gap_flags=list(zip(node_gaps["rule"].astype(str), node_gaps["reason"].astype(str), strict=True)),
            gaps_checked=str(scope.loc[node_id]).startswith("judged"),
            gap_scope=str(scope.loc[node_id]),
        )
    return out


def no_city(fact: Fact) -> bool:
    """A city population of 0 within r km means no Natural Earth populated place there, not 0 people."""
    return (
        fact.key == "context.workforce_pop"
        and fact.value == 0
        and "r" in fact.params
        and not fact.params.get("at_least")
    )
