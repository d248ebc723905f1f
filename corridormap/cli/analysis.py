"""``corridormap access | chainage | catchments | gaps``: the corridor analysis, as CSV and GeoPackage.

Inputs default to the shipped layers; ``--nodes FILE`` and friends replace one with a user file of
the same geometry type. Outputs go to ``--out`` (default ``build/analysis``); existing outputs are
refused without ``--overwrite``. Outputs are written through :mod:`corridormap.atomic`: every file
of a command is built in a staging folder and moved into place only when all are written, so an
interrupted run (even with ``--overwrite``) leaves the previous outputs as they were.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from ..atomic import replace_into, staging_dir
from ._summary import access_summary, chainage_summary, files_summary, gaps_summary
from .options import KM, KM_LIST, overwrite_option

# option -> (shipped layer it replaces, geometry types a replacement may have)
_INPUTS = {
    "nodes": ("industrial_nodes", ("Point", "MultiPoint", "Polygon", "MultiPolygon")),
    "stations": ("freight_stations", ("Point",)),
    "rail": ("freight_rail", ("LineString", "MultiLineString")),
    "expressways": ("expressways", ("LineString", "MultiLineString")),
    "ports": ("ports_logistics", ("Point", "MultiPoint", "Polygon", "MultiPolygon")),
    "zones": ("renewable_zones", ("Point", "MultiPoint", "Polygon", "MultiPolygon")),
}


def _input_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option, (layer, _) in reversed(_INPUTS.items()):
        command = click.option(
            f"--{option}",
            type=click.Path(exists=True, path_type=Path),
            default=None,
            help=f"A file to use instead of the shipped {layer} layer.",
        )(command)
    command = click.option(
        "--out",
        "out_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("build/analysis"),
        show_default=True,
        help="Folder for the outputs.",
    )(command)
    return overwrite_option(command)


def _layers(files: dict[str, Path | None]) -> dict[str, Any]:
    """The shipped layers, with any given user files in their place (geometry type checked)."""
    from ..catalog.load import load_layers
    from ..errors import LayerValidationError
    from ..io.read import read_file

    layers = dict(load_layers())
    for option, path in files.items():
        if path is None:
            continue
        layer, kinds = _INPUTS[option]
        frame = read_file(path)
        wrong = sorted(set(frame.geom_type.dropna()) - set(kinds))
        if wrong:
            raise LayerValidationError(
                f"{path}: --{option} needs {' or '.join(kinds)} features, found {', '.join(wrong)}. "
                f"Fix: give a file of the right geometry type"
            )
        layers[layer] = frame
    return layers


def _refuse_existing(out_dir: Path, names: list[str], overwrite: bool) -> list[Path]:
    """The output paths, refused before any work if one exists and ``overwrite`` is not given."""
    from ..errors import OutputExistsError

    paths = [out_dir / name for name in names]
    existing = [p.name for p in paths if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{out_dir}: {', '.join(existing)} exist(s). Fix: pass --overwrite or another --out"
        )
    return paths


def _publish(writers: Mapping[Path, Callable[[Path], None]]) -> None:
    """Write each output (target -> writer of a path) into a staging folder beside the targets, then
    move every one over its target: a failure on the way leaves the previous outputs untouched."""
    targets = list(writers)
    with staging_dir(targets[0]) as stage:
        for target, write in writers.items():
            write(stage / target.name)
        for target in targets:
            replace_into(stage / target.name, target)


def _write_text(text: str, path: Path) -> None:
    path.write_text(text, encoding="utf-8")


def _write(frame: Any, csv: Path, gpkg: Path, layer: str, *, more: Mapping[Path, str] | None = None) -> None:
    """A layer as CSV (no geometry; points get lon/lat columns) and as a GeoPackage layer (EPSG:4326),
    plus any text files in ``more``, all published at once (:func:`_publish`)."""
    import pandas as pd

    from ..crs import to_display

    shown = to_display(frame)
    for column in shown.columns:  # plain strings for the writers
        if isinstance(shown[column].dtype, pd.CategoricalDtype):
            shown[column] = shown[column].astype(object)
    table = pd.DataFrame(shown.drop(columns=shown.geometry.name))
    if len(shown) and (shown.geom_type == "Point").all():
        table["lon"], table["lat"] = shown.geometry.x.round(6), shown.geometry.y.round(6)
    writers: dict[Path, Callable[[Path], None]] = {
        csv: lambda path: table.to_csv(path, index=False),
        gpkg: lambda path: shown.to_file(path, layer=layer, driver="GPKG"),
    }
    for target, text in (more or {}).items():
        writers[target] = functools.partial(_write_text, text)
    _publish(writers)


# Each rank adds two columns per target layer: k=400 exceeds the GeoPackage column limit (a FieldError from
# pyogrio after the work is done) and k=100,000 runs for minutes building half a million columns.
MAX_K = 50


def _files(**kwargs: Any) -> dict[str, Path | None]:
    return {k: kwargs.get(k) for k in _INPUTS}


def _done(paths: list[Path], summary: list[str] | None = None) -> None:
    """The summary (rows, headline figures), then where the files are."""
    for line in [*(summary or []), *files_summary(paths)]:
        click.echo(line)


@click.command()
@click.option(
    "--k",
    "k",
    type=click.IntRange(min=1, max=MAX_K),
    default=1,
    show_default=True,
    help=f"Nearest features per target layer, 1 to {MAX_K} (two columns per rank and target layer).",
)
@click.option("--max-km", type=KM, default=None, help="Ignore targets farther than this (km, above 0).")
@click.option(
    "--network/--no-network",
    default=False,
    show_default=True,
    help="Also distances along the shipped freight-rail + expressway lines joined where they meet. "
    "They are not a road network: most figures are withheld as likely gaps. Prefer --graph.",
)
@click.option(
    "--green-km",
    type=KM,
    default=100.0,
    show_default=True,
    help="Radius for the renewable capacity in reach (green-power pairing).",
)
@click.option(
    "--graph",
    "graph_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A GraphML road/rail graph (osmnx-shaped, e.g. from corridormap osm) for distances along it "
    "(edge lengths on the ellipsoid).",
)
@click.option(
    "--states",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="A polygon file of states: adds each node's state_from_layer.",
)
@click.option(
    "--state-column", default="name", show_default=True, help="Column of --states naming the state."
)
@_input_options
def access(
    k: int,
    max_km: float | None,
    network: bool,
    green_km: float,
    graph_file: Path | None,
    states: Path | None,
    state_column: str,
    out_dir: Path,
    overwrite: bool,
    **files: Path | None,
) -> None:
    """Access card: each node's nearest station, DFC line, expressway, port and renewable zone (geodesic
    km), rail km to the seaport and inland terminal along the freight corridor (port_rail_*,
    terminal_rail_*; every pair in port_rail.csv), renewable MW in reach, and whether it lies in the
    corridor belt (and in which state, with --states)."""
    import pandas as pd

    from ..analysis import outputs as ao
    from ..analysis.access import access_card, default_targets
    from ..analysis.port_rail import port_rail_columns
    from ..analysis.reach import green_power

    layers = _layers(_files(**files))
    far = _far_nodes(layers["industrial_nodes"], files.get("nodes"))
    names = ["access.csv", "access.gpkg", "port_rail.csv"]
    csv, gpkg, pairs_csv = _refuse_existing(out_dir, names, overwrite)
    graph, name = None, None
    if graph_file is not None:
        from ..analysis.network import read_graphml

        graph, name = read_graphml(graph_file), f"graph {graph_file.name}"
    elif network:
        graph, name = ao.default_network(layers), "shipped DFC and expressway lines joined where they meet"
    card = access_card(
        layers["industrial_nodes"],
        default_targets(layers),
        k=k,
        max_distance_km=max_km,
        network=graph,
        network_targets=ao.network_targets(),
        network_name=name,
    )
    rail, pairs = port_rail_columns(layers["industrial_nodes"], layers)
    card = type(card)(pd.concat([card, rail], axis=1), geometry=card.geometry.name, crs=card.crs)
    card = green_power(card, layers["renewable_zones"], within_km=green_km)
    if "corridor_belt" in layers:
        from ..analysis.corridor import membership
        from ..io.read import read_file

        state_layer = read_file(states) if states is not None else None
        card = membership(card, layers["corridor_belt"], states=state_layer, state_column=state_column)
    card["outside_india"] = far.reindex(card.index).fillna(False).astype(bool)
    _write(card, csv, gpkg, "access_card", more={pairs_csv: pairs.to_csv(index=False)})
    _done([csv, gpkg, pairs_csv], access_summary(card))


def _far_nodes(nodes: Any, path: Path | None) -> Any:
    """Which nodes lie far outside India (a (0, 0) point, swapped axes); warned about, naming them."""
    from ..io._crschecks import INDIA_LAT, INDIA_LON, outside_india

    far = outside_india(nodes)
    if far.any():
        rows = [
            f"#{i}" + (f" ({nodes['name'].iloc[i]})" if "name" in nodes.columns else "")
            for i in map(int, far.to_numpy().nonzero()[0])
        ]
        shown = ", ".join(rows[:10]) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")
        click.echo(
            f"warning: {path or 'the nodes'}: {len(rows)} node(s) lie far outside India (lon {INDIA_LON}, "
            f"lat {INDIA_LAT}): {shown}. Their distances mean nothing for the corridor; they are marked "
            "outside_india in the outputs. Fix: correct their coordinates (lon/lat order, --crs)",
            err=True,
        )
    return far


@click.command()
@click.option(
    "--line", "line_keys", multiple=True, help="Line key(s) of layers/rules/chainage.toml (default: all)."
)
@click.option(
    "--max-offset-km",
    type=KM,
    default=50.0,
    show_default=True,
    help="Strip diagram: leave out features farther than this from the line.",
)
@_input_options
def chainage(
    line_keys: tuple[str, ...], max_offset_km: float, out_dir: Path, overwrite: bool, **files: Path | None
) -> None:
    """Chainage: km along the Western DFC / Delhi–Mumbai Expressway, side and offset, published km
    against computed km (chainage_published.csv), plus strip SVGs."""
    from ..analysis import outputs as ao

    layers = _layers(_files(**files))
    keys = list(line_keys) or list(ao.chainage_lines())
    names = ["chainage.csv", "chainage.gpkg", "chainage_published.csv"]
    names += [f"strip_{key}.svg" for key in keys]
    csv, gpkg, published, *svgs = _refuse_existing(out_dir, names, overwrite)
    table = ao.chainage_table(layers, keys)
    strips = {
        svg: ao.strip_diagram(layers, key, max_offset_km=max_offset_km)
        for key, svg in zip(keys, svgs, strict=True)
    }
    strips[published] = ao.published_table(layers, keys).round(3).to_csv(index=False)
    _write(table, csv, gpkg, "chainage", more=strips)
    _done([csv, gpkg, published, *svgs], chainage_summary(table))


@click.command()
@click.option(
    "--layer",
    "layer_name",
    default="industrial_nodes",
    show_default=True,
    help="Layer whose features get rings.",
)
@click.option(
    "--features",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="A file of any geometry type to draw rings around (instead of --layer).",
)
@click.option(
    "--radii", type=KM_LIST, default=None, help="Radii in km above 0, comma-separated (default 10,25,50)."
)
@_input_options
def catchments(
    layer_name: str,
    features: Path | None,
    radii: list[float] | None,
    out_dir: Path,
    overwrite: bool,
    **files: Path | None,
) -> None:
    """Catchments: rings around a layer's features with counts of nodes, ports, stations and renewable MW."""
    from ..analysis.reach import catchments as rings_of
    from ..analysis.reach import default_contents
    from ..errors import DataSourceNotFoundError
    from ..io.read import read_file

    layers = _layers(_files(**files))
    if features is None and layer_name not in layers:
        raise DataSourceNotFoundError(f"no layer {layer_name!r}. Fix: use one of {', '.join(sorted(layers))}")
    centres = read_file(features) if features is not None else layers[layer_name]
    csv, gpkg = _refuse_existing(out_dir, ["catchments.csv", "catchments.gpkg"], overwrite)
    rings = rings_of(centres, default_contents(layers), radii_km=radii)
    _write(rings, csv, gpkg, "catchments")
    _done([csv, gpkg])


@click.command()
@click.argument("rules", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_input_options
def gaps(rules: Path | None, out_dir: Path, overwrite: bool, **files: Path | None) -> None:
    """Gap rules: flag features that break the rules of RULES.toml (default: the shipped rules)."""
    from ..analysis.gaps import find_gaps

    layers = _layers(_files(**files))
    csv, gpkg = _refuse_existing(out_dir, ["gaps.csv", "gaps.gpkg"], overwrite)
    flagged = find_gaps(layers, rules)
    _write(flagged, csv, gpkg, "gaps")
    _done([csv, gpkg], gaps_summary(flagged))
