"""``corridormap osm fetch | extract | graph``: OpenStreetMap layers and graphs, online or from an extract."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from .options import Number, overwrite_option

WHAT_HELP = "Comma-separated kinds: rail, motorway, trunk, industrial, power, ports."


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _network_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--mirror", default=None, help="Local folder or server that replaces every online source."
    )(f)
    f = click.option(
        "--cache-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Cache folder (default: settings.cache_dir).",
    )(f)
    f = click.option(
        "--offline", is_flag=True, help="Use only the cache or the mirror; never ask the network."
    )(f)
    return click.option(
        "--tile-deg",
        type=Number(min=0.01, max=10),
        default=1.0,
        show_default=True,
        help="Overpass tile size in degrees.",
    )(f)


@contextmanager
def _settings(cache_dir: Path | None, mirror: str | None, offline: bool) -> Iterator[None]:
    from .. import settings

    changes: dict[str, Any] = {"offline": True} if offline else {}
    if cache_dir is not None:
        changes["cache_dir"] = cache_dir
    if mirror is not None:
        changes["mirror"] = mirror
    with settings.override(**changes):
        yield


class _Bar:
    """A click progress bar per kind: tiles done, features so far."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, tile: Any, features: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=tile.total, label="tiles", file=sys.stderr)
            self.bar.__enter__()
        self.bar.label = f"tiles ({features:,} features so far)"
        self.bar.update(1)
        if tile.index == tile.total:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _write(layers: dict[str, Any], out: Path, overwrite: bool) -> None:
    from ..export.write import export_layers

    path = export_layers({f"osm_{k}": v for k, v in layers.items()}, out, overwrite=overwrite)
    for name, gdf in layers.items():
        click.echo(f"  osm_{name}: {len(gdf):,} features")
    click.echo(f"Wrote {path.resolve()}")


@click.group()
def osm() -> None:
    """OpenStreetMap alignments: fetch (Overpass, cached), read extracts, build graphs."""


@osm.command()
@click.option(
    "--area",
    default="belt",
    show_default=True,
    help="'belt', a bounding box W,S,E,N in degrees, or a place name.",
)
@click.option("--what", default="rail,motorway", show_default=True, help=WHAT_HELP)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("osm.gpkg"),
    show_default=True,
    help="Output file (GeoPackage: one layer per kind, osm_<kind>).",
)
@_network_options
@overwrite_option
def fetch(
    area: str,
    what: str,
    out: Path,
    tile_deg: float,
    offline: bool,
    cache_dir: Path | None,
    mirror: str | None,
    overwrite: bool,
) -> None:
    """Fetch OSM features for an area from Overpass, tile by tile; a second run is free."""
    from ..osm.features import fetch_layer, resolve_area

    with _settings(cache_dir, mirror, offline):
        polygon = resolve_area(area)
        layers = {}
        for kind in _split(what):
            click.echo(f"{kind}:", err=True)
            layers[kind] = fetch_layer(kind, area=polygon, tile_deg=tile_deg, progress=_Bar())
    _write(layers, out, overwrite)


@osm.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--area", default=None, help="Keep features touching 'belt', W,S,E,N or a place (default: all)."
)
@click.option("--what", default="rail,motorway", show_default=True, help=WHAT_HELP)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("osm.gpkg"),
    show_default=True,
    help="Output file (GeoPackage: one layer per kind, osm_<kind>).",
)
@overwrite_option
def extract(source: Path, area: str | None, what: str, out: Path, overwrite: bool) -> None:
    """Read OSM features from a local .osm, .osm.bz2 or .osm.pbf extract."""
    from ..errors import RepairWarning
    from ..osm.features import read_extract, resolve_area

    polygon = None if area is None else resolve_area(area)
    layers = {}
    for kind in _split(what):
        with warnings.catch_warnings():  # the count is printed below, once per kind
            warnings.simplefilter("ignore", RepairWarning)
            layers[kind] = read_extract(source, kind, area=polygon)
        if layers[kind].attrs.get("clip_repairs"):
            cut = layers[kind].attrs["clip_repairs"]
            click.echo(f"  osm_{kind}: cut at the extract's edge: {cut}", err=True)
    _write(layers, out, overwrite)


@osm.command()
@click.argument("source", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["road", "rail"]), default="road", show_default=True)
@click.option("--classes", default="motorway,trunk", show_default=True, help="Road kinds (road graphs only).")
@click.option(
    "--area", default=None, help="'belt', W,S,E,N or a place (default: belt online, all of an extract)."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="GraphML file (.graphml) or GeoPackage (.gpkg, layers nodes and edges).",
)
@_network_options
@overwrite_option
def graph(
    source: Path | None,
    kind: str,
    classes: str,
    area: str | None,
    out: Path,
    tile_deg: float,
    offline: bool,
    cache_dir: Path | None,
    mirror: str | None,
    overwrite: bool,
) -> None:
    """Build a road or rail graph (length, speed_kph, travel_time) from an extract or from Overpass."""
    from ..osm.graph import rail_graph, road_graph, save_graph

    where = area if area is not None or source is not None else "belt"
    with _settings(cache_dir, mirror, offline):
        if kind == "rail":
            g = rail_graph(source, area=where, tile_deg=tile_deg)
        else:
            g = road_graph(source, area=where, classes=_split(classes), tile_deg=tile_deg)
    path = save_graph(g, out, overwrite=overwrite)
    click.echo(f"{kind} graph: {len(g):,} nodes, {g.number_of_edges():,} edges")
    click.echo(f"Wrote {path.resolve()}")
