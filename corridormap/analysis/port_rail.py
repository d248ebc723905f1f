"""Rail km to ports and terminals along the freight corridors, from the shipped lines alone.

The shipped freight-rail and expressway lines are not a road network: a node reaches a station by
road, which the shipped data does not hold. What they can answer is the rail leg: from a node's
nearest freight station on a DFC main line, along that corridor's line, to each port or terminal on
the same corridor. The rail km is the chainage difference between the two along the corridor's main
line (:func:`corridormap.analysis.corridor.chainage`, true km); the legs at each end (node to station, port to
the line) are straight lines measured on the ellipsoid and reported as such.

Rules (``layers/rules/network.toml`` ``[port_rail]``): which corridors and which of their sections
count, how close a port or terminal must be to a corridor's line to be on it (a feeder or branch
line the data does not hold), which port statuses count, and the plausibility guard: a route longer
than ``max_ratio`` times the straight line between node and port is withheld (empty km) with the
reason "likely gap in the network".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..crs import geodesic_km, to_metric, true_km
from ..errors import LayerValidationError
from .corridor import chainage, main_line
from .geodesic import geodesic_nearest
from .nearest import query_points
from .rules import read_rules_toml

__all__ = ["port_rail_rules", "port_rail_table", "port_rail_card", "card_columns", "port_rail_columns"]

log = logging.getLogger(__name__)


def port_rail_rules() -> dict[str, Any]:
    """The ``[port_rail]`` table of ``layers/rules/network.toml``."""
    return dict(read_rules_toml("network.toml")["port_rail"])


def _lines(rail: gpd.GeoDataFrame, rules: Mapping[str, Any]) -> dict[str, shapely.LineString]:
    """Each configured corridor's main line (EPSG:7755), from its counted sections."""
    if "corridor" not in rail.columns:
        raise LayerValidationError(
            "freight rail layer has no 'corridor' column. Fix: pass the freight_rail layer, or a line "
            "layer whose 'corridor' column names each section's corridor"
        )
    out = {}
    for corridor, start in dict(rules["corridors"]).items():
        sections = rail[rail["corridor"] == corridor]
        for column, dropped in dict(rules.get("exclude_sections", {})).items():
            if column in sections.columns:
                sections = sections[~sections[column].isin(list(dropped))]
        if len(sections):
            out[str(corridor)] = main_line(sections, start=str(start))
    return out


def _caveat(rail: gpd.GeoDataFrame, corridor: str, line: shapely.LineString) -> str:
    """What the rail km along ``corridor``'s shipped line is worth: '' for a surveyed line, else
    "(schematic line, about N % shorter than the published route of X km)". The figure is not
    scaled: the shortfall is not spread evenly along the line."""
    sections = rail[rail["corridor"] == corridor]
    quality = set(sections["geometry_quality"].dropna()) if "geometry_quality" in sections.columns else set()
    if not quality or quality <= {"surveyed"}:
        return ""
    words = "schematic line" if "schematic" in quality else f"{'/'.join(sorted(quality))} line"
    published = (
        sections["corridor_length_km"].dropna().unique() if "corridor_length_km" in sections.columns else []
    )
    if len(published) == 1 and float(published[0]) > 0:
        v = shapely.get_coordinates(line)
        mid = (v[1:] + v[:-1]) / 2
        length = float(true_km(np.hypot(*(v[1:] - v[:-1]).T), mid[:, 0], mid[:, 1]).sum())
        share = (length - float(published[0])) / float(published[0]) * 100
        if abs(share) >= 0.5:
            side = "shorter" if share < 0 else "longer"
            words += (
                f", about {abs(share):.0f} % {side} than the published route of {float(published[0]):,.0f} km"
            )
    return f" ({words})"


def _on_line(frame: gpd.GeoDataFrame, line: shapely.LineString) -> pd.DataFrame:
    """Chainage (true km from the line's km 0) and offset (geodesic km) of each feature."""
    done = chainage(frame, line)
    xy = query_points(frame)
    foot = shapely.get_coordinates(shapely.get_point(shapely.shortest_line(shapely.points(xy), line), 1))
    return pd.DataFrame(
        {"chainage_km": done["chainage_km"].to_numpy(), "offset_km": geodesic_km(xy, foot)},
        index=frame.index,
    )


def _label(frame: gpd.GeoDataFrame) -> pd.Series:
    return (
        frame["name"].astype(str)
        if "name" in frame.columns
        else pd.Series(frame.index.astype(str), frame.index)
    )


def _kinds(ports: gpd.GeoDataFrame, rules: Mapping[str, Any]) -> pd.Series:
    """Each port's summary kind (``port_rail``, ``terminal_rail``...) from its ``facility_type``."""
    kind = pd.Series(None, index=ports.index, dtype=object)
    if "facility_type" in ports.columns:
        for name, types in dict(rules.get("kinds", {})).items():
            kind[ports["facility_type"].isin(list(types))] = name
    return kind


def _station_positions(
    stations: gpd.GeoDataFrame, lines: Mapping[str, shapely.LineString], on_km: float
) -> pd.DataFrame:
    """Chainage, offset and corridor of the stations lying on their corridor's main line."""
    frames = [
        _on_line(stations[stations["corridor"] == c], line).assign(corridor=c)
        for c, line in lines.items()
        if "corridor" in stations.columns and (stations["corridor"] == c).any()
    ]
    if not frames:
        return pd.DataFrame(columns=["chainage_km", "offset_km", "corridor"])
    positions = pd.concat(frames)
    return positions[positions["offset_km"] <= on_km]


_TABLE = [
    "node",
    "node_name",
    "station",
    "corridor",
    "port",
    "kind",
    "station_chainage_km",
    "port_chainage_km",
    "rail_km",
    "access_km",
    "port_leg_km",
    "total_km",
    "straight_km",
    "via",
    "note",
]


def port_rail_table(
    nodes: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    rail: gpd.GeoDataFrame,
    ports: gpd.GeoDataFrame,
    *,
    rules: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Every (node, port) pair on the corridor of the node's nearest main-line freight station.

    Returns
    -------
    DataFrame
        One row per pair: ``node`` (index label), ``node_name``, ``station``, ``corridor``,
        ``port``, ``kind`` (``port_rail`` / ``terminal_rail``), ``station_chainage_km``,
        ``port_chainage_km``, ``rail_km`` (chainage difference), ``access_km`` (node to station,
        straight), ``port_leg_km`` (port to the line, straight), ``total_km``, ``straight_km``
        (node to port), ``via`` (what the figure is along) and ``note`` (empty, or why ``rail_km``
        and ``total_km`` are withheld: then they are NaN). A node with no usable station, or whose
        corridor serves no port, has one row with ``port`` empty and the reason in ``note``.
    """
    rules = dict(port_rail_rules() if rules is None else rules)
    lines = _lines(rail, rules)
    caveats = {corridor: _caveat(rail, corridor, line) for corridor, line in lines.items()}
    positions = _station_positions(stations, lines, float(rules["station_on_line_km"]))
    main = stations.loc[positions.index]
    statuses = list(rules.get("port_statuses", []))
    counted = ports[ports["status"].isin(statuses)] if statuses and "status" in ports.columns else ports
    kinds = _kinds(counted, rules)
    counted = counted[kinds.notna()]
    nodes_xy = query_points(nodes)
    ports_xy = query_points(counted, "ports") if len(counted) else np.empty((0, 2))
    served_km = float(rules["served_within_km"])
    served = {}
    for corridor, line in lines.items():
        pos = _on_line(counted, line) if len(counted) else pd.DataFrame(columns=["chainage_km", "offset_km"])
        served[corridor] = pos[pos["offset_km"] <= served_km]
    nearest = (
        geodesic_nearest(nodes_xy, to_metric(main).geometry.values)
        if len(main)
        else {"point": np.empty(0, np.intp), "target": np.empty(0, np.intp), "km": np.empty(0)}
    )
    rows: list[dict[str, Any]] = []
    names, st_names, port_names = _label(nodes), _label(main), _label(counted)
    for p, t, access in zip(nearest["point"], nearest["target"], nearest["km"], strict=True):
        label = main.index[t]
        base = {
            "node": nodes.index[p],
            "node_name": names.iloc[p],
            "station": st_names.iloc[t],
            "corridor": positions.loc[label, "corridor"],
            "station_chainage_km": float(positions.loc[label, "chainage_km"]),
            "access_km": float(access),
            "caveat": caveats[positions.loc[label, "corridor"]],
        }
        on = served[base["corridor"]]
        note = _pair_problem(base, on, rules)
        if note:
            rows.append({**base, "port": None, "note": note})
            continue
        direct = geodesic_km(
            np.repeat(nodes_xy[p : p + 1], len(on), axis=0), ports_xy[counted.index.get_indexer(on.index)]
        )
        for (port, pos), straight in zip(on.iterrows(), direct, strict=True):
            rows.append(_pair(base, port_names.loc[port], kinds.loc[port], pos, float(straight), rules))
    rows += [
        {
            "node": nodes.index[i],
            "node_name": names.iloc[i],
            "port": None,
            "note": "not connected in this network: no freight station on a DFC main line in the data",
        }
        for i in sorted(set(range(len(nodes))) - set(nearest["point"].tolist()))
    ]
    return pd.DataFrame(rows, columns=_TABLE)


def _pair_problem(base: Mapping[str, Any], served: pd.DataFrame, rules: Mapping[str, Any]) -> str:
    """Why a node has no route at all ('' when it has one)."""
    limit = float(rules["max_access_km"])
    if base["access_km"] > limit:
        return (
            f"not connected in this network: the nearest main-line freight station ({base['station']}) "
            f"is {base['access_km']:,.0f} km away in a straight line, more than {limit:g} km"
        )
    if served.empty:
        return (
            "not connected in this network: no port or terminal within "
            f"{float(rules['served_within_km']):g} km of the {base['corridor']} line in the data"
        )
    return ""


def _pair(
    base: Mapping[str, Any], port: str, kind: str, pos: pd.Series, straight: float, rules: Mapping[str, Any]
) -> dict[str, Any]:
    """One (node, port) row: rail km along the line, legs, total, and the guard."""
    rail_km = abs(float(pos["chainage_km"]) - base["station_chainage_km"])
    leg = float(pos["offset_km"])
    total = base["access_km"] + rail_km + leg
    start = dict(rules["corridors"])[base["corridor"]]
    approx = "≈ " if base["caveat"] else ""
    via = (
        f"{approx}{rail_km:,.0f} km along the {base['corridor']}{base['caveat']}; main line, shipped data "
        f"(km from its {start} end): {base['station']} "
        f"km {base['station_chainage_km']:,.1f} to km {float(pos['chainage_km']):,.1f}; straight legs: "
        f"node to station {base['access_km']:,.1f} km, port to line {leg:,.1f} km"
    )
    ratio = float(rules["max_ratio"])
    note = ""
    if total > ratio * straight:
        note = (
            f"likely gap in the network: {total:,.0f} km by this route against {straight:,.0f} km "
            f"straight (more than {ratio:g} times)"
        )
    return {
        **base,
        "port": port,
        "kind": kind,
        "port_chainage_km": float(pos["chainage_km"]),
        "rail_km": np.nan if note else rail_km,
        "port_leg_km": leg,
        "total_km": np.nan if note else total,
        "straight_km": straight,
        "via": via,
        "note": note,
    }


def card_columns(prefix: str) -> list[str]:
    """The node card's columns for one kind: ``{prefix}_name``, ``_km``, ``_access_km``,
    ``_total_km``, ``_via``, ``_note``."""
    return [f"{prefix}_{c}" for c in ("name", "km", "access_km", "total_km", "via", "note")]


def port_rail_card(nodes: gpd.GeoDataFrame, table: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Per node (aligned on ``nodes.index``), for the ports of one kind (``prefix``): the one nearest
    by this route (least ``total_km`` among pairs not withheld). Where there is none, the km are
    empty and ``{prefix}_note`` says why (every km figure is a number or empty, never inf/NaN text)."""
    name, km, access, total, via, note = card_columns(prefix)
    out = pd.DataFrame(
        {name: None, km: np.nan, access: np.nan, total: np.nan, via: None, note: None}, index=nodes.index
    )
    for node, pairs in table.groupby("node", sort=False):
        mine = pairs[pairs["kind"] == prefix]
        ok = mine[mine["total_km"].notna()]
        if len(ok):
            best = ok.loc[ok["total_km"].idxmin()]
            out.loc[node, [name, via]] = [best["port"], best["via"]]
            out.loc[node, [km, access, total]] = [best["rail_km"], best["access_km"], best["total_km"]]
        elif len(mine):
            out.loc[node, note] = "; ".join(f"{r.port}: {r.note}" for r in mine.itertuples())
        elif pairs["port"].isna().all():
            out.loc[node, note] = str(pairs["note"].iloc[0])
        else:
            out.loc[node, note] = (
                f"not connected in this network: no {prefix.replace('_rail', '')} on the "
                f"{pairs['corridor'].iloc[0]} line in the data"
            )
    return out


def port_rail_columns(
    nodes: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame], *, rules: Mapping[str, Any] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The node card's ``port_rail_*`` and ``terminal_rail_*`` columns (aligned on ``nodes.index``)
    and the long table, from the shipped layers (``freight_stations``, ``freight_rail``,
    ``ports_logistics``); empty frames when one is missing."""
    rules = dict(port_rail_rules() if rules is None else rules)
    needed = ("freight_stations", "freight_rail", "ports_logistics")
    if any(n not in layers or len(layers[n]) == 0 for n in needed):
        log.info("port rail km left out: needs %s", ", ".join(needed))
        return pd.DataFrame(index=nodes.index), pd.DataFrame(columns=_TABLE)
    table = port_rail_table(
        nodes, layers["freight_stations"], layers["freight_rail"], layers["ports_logistics"], rules=rules
    )
    cards = [port_rail_card(nodes, table, str(kind)) for kind in dict(rules.get("kinds", {}))]
    return pd.concat(cards, axis=1) if cards else pd.DataFrame(index=nodes.index), table
