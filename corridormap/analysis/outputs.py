"""The analysis as it appears in the default build and the CLI, from the shipped layers.

:func:`add_analysis_layers` is the one "analysis as layers": each industrial node gets its access
card (geodesic km, rail km to ports along the freight corridor), green-power columns and gap flags
(shown in its popup), and the catchment rings and the gap-flagged features become layers of their
own. The build (through :func:`add_analysis`, which also writes the strip diagrams beside the
map), hence the map, and ``corridormap export --with-analysis`` all use it, so they hold the same
layers and columns. The other functions serve ``corridormap chainage`` and ``corridormap access``.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from ..catalog.load import load_catalog, read_spec
from ..crs import to_display, true_km
from ..errors import CatalogError
from .access import access_card, default_targets
from .corridor import chainage, main_line
from .gaps import find_gaps, gap_summary, node_gap_fields
from .network import graph_from_lines
from .port_rail import port_rail_columns
from .reach import catchments, default_contents, green_power
from .rules import read_rules_toml, rules_path
from .strip import strip_svg

__all__ = [
    "ANALYSIS_LAYERS",
    "strip_entries",
    "strip_links_html",
    "add_analysis_layers",
    "add_analysis",
    "default_network",
    "network_targets",
    "chainage_lines",
    "chainage_line",
    "chainage_table",
    "published_table",
    "strip_diagram",
]

log = logging.getLogger(__name__)

ANALYSIS_LAYERS = ("catchment_rings", "gap_flags")  # added beside industrial_nodes, which gains the card


def _rules_dir() -> Path:
    return rules_path("")


def default_network(layers: Mapping[str, gpd.GeoDataFrame]) -> nx.MultiDiGraph | None:
    """The freight-rail and expressway lines as one graph (speeds from ``layers/rules/network.toml``)."""
    frames = [
        layers[n].assign(kind=n)[["kind", layers[n].geometry.name]].to_crs("EPSG:4326")
        for n in ("freight_rail", "expressways")
        if n in layers and len(layers[n])
    ]
    if not frames:
        return None
    lines = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    return graph_from_lines(lines, snap_m=1000.0)


def network_targets() -> tuple[str, ...]:
    """Access-card prefixes that get a network distance (``layers/rules/network.toml`` [access])."""
    return tuple(read_rules_toml("network.toml")["access"]["network_targets"])


def chainage_lines() -> dict[str, dict[str, Any]]:
    """The lines of ``layers/rules/chainage.toml`` (key -> title, layer, where, exclude_ids, start)."""
    return dict(read_rules_toml("chainage.toml")["lines"])


def _chainage_layers() -> list[str]:
    return list(read_rules_toml("chainage.toml")["layers"])


def chainage_line(layers: Mapping[str, gpd.GeoDataFrame], key: str) -> tuple[shapely.LineString, float]:
    """One configured line (EPSG:7755) and its true length in km."""
    spec = chainage_lines().get(key)
    if spec is None:
        raise CatalogError(
            f"no line {key!r} in layers/rules/chainage.toml. Fix: use one of {', '.join(chainage_lines())}"
        )
    sections = layers[spec["layer"]]
    for column, allowed in dict(spec.get("where", {})).items():
        sections = sections[sections[column].isin(list(allowed))]
    if "id" in sections.columns:
        sections = sections[~sections["id"].isin(list(spec.get("exclude_ids", [])))]
    line = main_line(sections, start=spec.get("start", "north"))
    v = shapely.get_coordinates(line)
    mid = (v[1:] + v[:-1]) / 2
    return line, float(true_km(np.hypot(*(v[1:] - v[:-1]).T), mid[:, 0], mid[:, 1]).sum())


def chainage_table(layers: Mapping[str, gpd.GeoDataFrame], keys: list[str]) -> gpd.GeoDataFrame:
    """Long table: every feature of the configured layers on every chosen line (EPSG:4326)."""
    frames = []
    for key in keys:
        line, _ = chainage_line(layers, key)
        for name in _chainage_layers():
            if name not in layers or len(layers[name]) == 0:
                continue
            done = chainage(to_display(layers[name]), line)
            keep = [c for c in ("id", "name") if c in done.columns]
            quality = [c for c in ("geometry_quality", "position_tolerance_km") if c in done.columns]
            wanted = [*keep, "chainage_km", "side", "offset_km", "beyond_end", *quality, done.geometry.name]
            part = done[wanted]
            frames.append(part.assign(line=chainage_lines()[key]["title"], layer=name))
    columns = [
        "line",
        "layer",
        "id",
        "name",
        "chainage_km",
        "side",
        "offset_km",
        "beyond_end",
        "geometry_quality",
        "position_tolerance_km",
    ]
    if not frames:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs="EPSG:4326")
    table = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    return table[[c for c in columns if c in table.columns] + [table.geometry.name]]


_PUBLISHED = [
    "line",
    "id",
    "name",
    "published_km",
    "computed_km",
    "difference_km",
    "published_interval_km",
    "computed_interval_km",
    "interval_difference_km",
    "offset_km",
    "geometry_quality",
    "position_tolerance_km",
]


def published_table(layers: Mapping[str, gpd.GeoDataFrame], keys: list[str]) -> pd.DataFrame:
    """Published km against computed chainage, per line with a ``published_km`` source in
    ``layers/rules/chainage.toml``.

    One row per feature with a published km, in published order: ``published_km``, ``computed_km``
    (:func:`corridormap.analysis.corridor.chainage` along the configured main line, same origin),
    ``difference_km`` (computed - published), the interval from the previous row both ways and
    its difference, the feature's offset from the line, ``geometry_quality`` and
    ``position_tolerance_km``; then a ``(whole line)`` row with the published length (the line
    layer's ``published_length_column``) against the computed length. Lines without published
    km get one row saying so in ``name``.
    """
    frames = []
    for key in keys:
        spec = chainage_lines()[key]
        line, length = chainage_line(layers, key)
        source = dict(spec.get("published_km", {}))
        layer = layers.get(str(source.get("layer", "")))
        column = str(source.get("column", ""))
        if layer is None or column not in layer.columns or layer[column].notna().sum() == 0:
            frames.append(pd.DataFrame({"line": [spec["title"]], "name": ["(no published km in the data)"]}))
        else:
            done = chainage(layer[layer[column].notna()], line).sort_values(column, kind="stable")
            published = done[column].to_numpy(dtype=float)
            computed = done["chainage_km"].to_numpy(dtype=float)
            rows = pd.DataFrame(
                {
                    "line": spec["title"],
                    "id": done["id"].to_numpy() if "id" in done.columns else None,
                    "name": done["name"].to_numpy() if "name" in done.columns else done.index.astype(str),
                    "published_km": published,
                    "computed_km": computed,
                    "difference_km": computed - published,
                    "published_interval_km": np.r_[np.nan, np.diff(published)],
                    "computed_interval_km": np.r_[np.nan, np.diff(computed)],
                    "offset_km": done["offset_km"].to_numpy(dtype=float),
                    "geometry_quality": done.get("geometry_quality"),
                    "position_tolerance_km": done.get("position_tolerance_km"),
                }
            )
            rows["interval_difference_km"] = rows["computed_interval_km"] - rows["published_interval_km"]
            frames.append(rows)
        frames.append(_whole_line(layers, spec, length))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return table.reindex(columns=_PUBLISHED)


def _whole_line(
    layers: Mapping[str, gpd.GeoDataFrame], spec: Mapping[str, Any], length: float
) -> pd.DataFrame:
    """The ``(whole line)`` row: published length (if the data has one) against the computed one."""
    column = spec.get("published_length_column")
    sections = layers[spec["layer"]]
    for where, allowed in dict(spec.get("where", {})).items():
        sections = sections[sections[where].isin(list(allowed))]
    values = sections[column].dropna().unique() if column and column in sections.columns else []
    published = float(values[0]) if len(values) == 1 else np.nan
    note = spec.get("published_length_note")
    if len(values) != 1:
        name = "(whole line; no published length in the data)"
    else:
        name = f"(whole line; {note})" if note else "(whole line)"
    return pd.DataFrame(
        {
            "line": [spec["title"]],
            "name": [name],
            "published_km": [published],
            "computed_km": [length],
            "difference_km": [length - published],
        }
    )


def strip_diagram(
    layers: Mapping[str, gpd.GeoDataFrame],
    key: str,
    *,
    max_offset_km: float = 50.0,
    specs: Mapping[str, Any] | None = None,
) -> str:
    """The strip diagram SVG of one configured line with the chainage layers along it."""
    line, length = chainage_line(layers, key)
    specs = specs if specs is not None else load_catalog()
    frames, colors = {}, {}
    for name in _chainage_layers():
        if name in layers:
            spec = specs.get(name)
            title = spec.title if spec is not None else name
            frames[title] = chainage(layers[name], line)
            if spec is not None and spec.style.get("color"):
                colors[title] = str(spec.style["color"])  # the stroke: some fills are white
    line_spec = chainage_lines()[key]
    return strip_svg(
        frames,
        length_km=length,
        title=line_spec["title"],
        max_offset_km=max_offset_km,
        colors=colors,
        origin=str(line_spec.get("origin", "start")),
        end=str(line_spec.get("end", "end")),
        direction=str(line_spec.get("direction", "")),
        published_length_km=float(_whole_line(layers, line_spec, length)["published_km"].iloc[0]),
    )


def _node_card(layers: Mapping[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Industrial nodes with the access card (geodesic km), rail km to ports and terminals along the
    freight corridors (:mod:`corridormap.analysis.port_rail`) and green power.

    No distance along the shipped lines as a whole: they are not a road network (a node cannot
    reach a station along them), so such figures were mostly accidents."""
    card = access_card(layers["industrial_nodes"], default_targets(layers))
    rail, _ = port_rail_columns(layers["industrial_nodes"], layers)
    card = gpd.GeoDataFrame(pd.concat([card, rail], axis=1), geometry=card.geometry.name, crs=card.crs)
    if "renewable_zones" in layers:
        card = green_power(card, layers["renewable_zones"])
    for column in card.columns:  # plain strings for every exporter
        if isinstance(card[column].dtype, pd.CategoricalDtype):
            card[column] = card[column].astype(object)
    return card


def add_analysis_layers(
    layers: Mapping[str, gpd.GeoDataFrame], specs: Mapping[str, Any]
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, Any]]:
    """The analysis as layers: the one definition the build, the map and ``export --with-analysis`` use.

    ``industrial_nodes`` gains its access card: geodesic km to the nearest of each target, rail km
    along the freight corridor to the nearest seaport and inland terminal (``port_rail_*``,
    ``terminal_rail_*``), green power within reach, and its gap flags (``gap_flags``, ``gap_detail``,
    ``gap_scope``). Two layers are added, with their
    map entries from ``layers/rules/map/``: ``catchment_rings`` (what lies within each ring around
    each node) and ``gap_flags`` (features breaking a rule of ``layers/rules/gaps.toml``).

    Inputs are not mutated; without an ``industrial_nodes`` layer nothing is added (logged).
    """
    layers, specs = dict(layers), dict(specs)
    if "industrial_nodes" not in layers:
        log.info("no industrial_nodes layer: the analysis layers are left out")
        return layers, specs
    flags = find_gaps(layers)
    for line in gap_summary(flags):
        log.info("gap rule %s", line)
    card = _node_card(layers)
    fields = node_gap_fields(card, flags, layers)
    layers["industrial_nodes"] = gpd.GeoDataFrame(
        pd.concat([card, fields], axis=1), geometry=card.geometry.name, crs=card.crs
    )
    extra: dict[str, gpd.GeoDataFrame] = {
        "catchment_rings": catchments(layers["industrial_nodes"], default_contents(layers)),
        "gap_flags": flags,
    }
    for name, frame in extra.items():
        layers[name] = frame
        specs[name] = read_spec(_rules_dir() / "map" / f"{name}.toml")
    return layers, specs


def add_analysis(
    layers: dict[str, gpd.GeoDataFrame], specs: dict[str, Any], out_dir: Path
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, Any], dict[str, bytes]]:
    """The build hook's work: :func:`add_analysis_layers`, plus the strip diagram files.

    Inputs are not mutated; a missing input layer leaves its part out (logged).
    """
    if "industrial_nodes" not in layers:
        log.info("no industrial_nodes layer: analysis left out of the build")
        return layers, specs, {}
    layers, specs = add_analysis_layers(layers, specs)
    files: dict[str, bytes] = {}
    for key, spec in chainage_lines().items():
        if spec["layer"] in layers:
            files[f"strip_{key}.svg"] = strip_diagram(layers, key, specs=specs).encode("utf-8")
    log.info("analysis added: node access cards, %s, %s", ", ".join(ANALYSIS_LAYERS), ", ".join(files))
    return layers, specs, files


def strip_entries(files: Mapping[str, bytes]) -> list[dict[str, str]]:
    """The strip diagrams among the build's extra files, for the map's title block:
    ``{"title", "file", "svg"}`` each (the SVG text goes inside the map; no link to a file)."""
    lines = chainage_lines()
    out = []
    for name, content in files.items():
        key = name.removeprefix("strip_").removesuffix(".svg")
        if name.startswith("strip_") and name.endswith(".svg") and key in lines:
            out.append({"title": str(lines[key]["title"]), "file": name, "svg": content.decode("utf-8")})
    return out


def strip_links_html(files: Mapping[str, bytes] | list[str]) -> str:
    """HTML links to the strip diagrams among the build's extra files, for the map's title block.

    ``<span class="cm-strips">Strip diagrams: <a href="strip_wdfc.svg" ...>Western DFC</a> · ...``;
    empty when there are none. Names and titles are escaped.
    """
    lines = chainage_lines()
    links = []
    for name in files:
        key = name.removeprefix("strip_").removesuffix(".svg")
        if name.startswith("strip_") and name.endswith(".svg") and key in lines:
            href, label = html.escape(name, quote=True), html.escape(str(lines[key]["title"]))
            links.append(f'<a href="{href}" target="_blank" rel="noopener">{label}</a>')
    return f'<span class="cm-strips">Strip diagrams: {" · ".join(links)}</span>' if links else ""
