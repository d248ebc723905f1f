"""``corridormap raster``: build the default rasters, inspect, sample, summarise, clip and derive slope.

A RASTER argument is a GeoTIFF/COG path or URL, or the name of a default raster (``solar_kwh_m2``,
``elevation_m``, ``land``), which is built over the belt on first use and cached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .options import Number, overwrite_option


def _open(source: str) -> Any:
    from ..raster import read_raster
    from ..sites.defaults import DEFAULT_RASTERS, default_raster

    return default_raster(source) if source in DEFAULT_RASTERS else read_raster(source)


def _features(layer: str | None, path: Path | None) -> Any:
    if (layer is None) == (path is None):
        raise click.UsageError("give exactly one of --layer NAME or --file PATH")
    if layer is not None:
        from ..catalog.load import read_layer

        return read_layer(layer)
    from ..io.read import read_file

    return read_file(path)  # type: ignore[arg-type]


def _emit(frame: Any, out: Path | None, overwrite: bool) -> None:
    if out is None:  # a missing value (a point off the raster, a zone with no cell) is said, not "NaN"
        missing = int(frame.isna().to_numpy().sum())
        click.echo(frame.astype(object).where(frame.notna(), "—").to_string())
        if missing:
            click.echo(f"— : no value ({missing}): outside the raster, or no cell with data")
        return
    if out.exists() and not overwrite:
        from ..errors import OutputExistsError

        raise OutputExistsError(f"{out} exists. Fix: pass --overwrite or another path")
    frame.to_csv(out)
    click.echo(f"wrote {out.resolve()}")


features_options = [
    click.option("--layer", default=None, help="A catalog layer, e.g. industrial_nodes."),
    click.option(
        "--file",
        "path",
        type=click.Path(exists=True, path_type=Path),
        default=None,
        help="Your own vector file instead of a layer.",
    ),
    click.option(
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Write a CSV here instead of printing.",
    ),
    overwrite_option,
]


def _with(options: list[Any]) -> Any:
    def wrap(f: Any) -> Any:
        for option in reversed(options):
            f = option(f)
        return f

    return wrap


@click.group()
def raster() -> None:
    """Rasters: computed defaults for the belt, and operations on any GeoTIFF or COG."""


@raster.command()
@click.option("--refresh", is_flag=True, help="Recompute even if the cache holds them.")
def build(refresh: bool) -> None:
    """Compute the default rasters over the belt (clear-sky potential, elevation, land) as cached COGs."""
    from ..raster import read_raster
    from ..sites.defaults import build_default_rasters

    for name, path in build_default_rasters(refresh=refresh).items():
        r = read_raster(path)
        click.echo(f"{name:<13} {r.shape[0]}x{r.shape[1]} {r.units:<12} {path}")


@raster.command()
@click.argument("source")
def info(source: str) -> None:
    """Size, CRS, bounds, value range and provenance tags of RASTER."""
    import numpy as np
    from pyproj import CRS

    r = _open(source)
    click.echo(f"name:   {r.name}\nshape:  {r.shape[0]} rows x {r.shape[1]} columns")
    click.echo(f"crs:    {CRS.from_user_input(r.crs).to_string()}\nbounds: {r.bounds}")
    if np.isfinite(r.data).any():
        click.echo(f"values: {np.nanmin(r.data):.6g} to {np.nanmax(r.data):.6g} {r.units}")
    for key, value in sorted(r.tags.items()):
        click.echo(f"tag {key}: {value}")


@raster.command()
@click.argument("source")
@_with(features_options)
def sample(source: str, layer: str | None, path: Path | None, out: Path | None, overwrite: bool) -> None:
    """The value of RASTER under each point of a layer or file."""
    from ..raster import sample_raster

    r = _open(source)
    points = sample_raster(r, _features(layer, path))
    columns = [c for c in ("id", "name") if c in points.columns] + [r.name]
    _emit(points[columns], out, overwrite)


@raster.command()
@click.argument("source")
@click.option("--above", type=Number(), default=None, help="Also report the share of cells above this value.")
@_with(features_options)
def zonal(
    source: str, above: float | None, layer: str | None, path: Path | None, out: Path | None, overwrite: bool
) -> None:
    """Count, mean, min, max (and share above a threshold) of RASTER over each polygon."""
    from ..raster import zonal_stats

    polygons = _features(layer, path)
    stats = zonal_stats(_open(source), polygons, above=above)
    names = polygons[[c for c in ("id", "name") if c in polygons.columns]]
    _emit(names.join(stats), out, overwrite)


@raster.command()
@click.argument("source")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--layer", default="corridor_belt", show_default=True, help="Polygon layer to clip to.")
@overwrite_option
def clip(source: str, out: Path, layer: str, overwrite: bool) -> None:
    """Clip RASTER to a polygon layer (default the belt) and write it as a COG."""
    from ..catalog.load import read_layer
    from ..raster import clip_raster, write_raster

    click.echo(write_raster(clip_raster(_open(source), read_layer(layer)), out, overwrite=overwrite))


@raster.command()
@click.argument("source")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@overwrite_option
def slope(source: str, out: Path, overwrite: bool) -> None:
    """Slope in degrees of an elevation RASTER, written as a COG."""
    from ..raster import slope as slope_of
    from ..raster import write_raster

    click.echo(write_raster(slope_of(_open(source)), out, overwrite=overwrite))
