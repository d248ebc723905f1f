"""``corridormap sites``: score a grid over the belt and list the best candidate sites."""

from __future__ import annotations

from pathlib import Path

import click

from . import overwrite_option


@click.command()
@click.option("--cell-km", type=float, default=None, help="Cell size in km (default: the model's, 5).")
@click.option(
    "--weights",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A suitability model TOML (default: layers/rules/suitability.toml).",
)
@click.option("--top", type=int, default=None, help="How many candidate sites (default: the model's, 20).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/sites"),
    show_default=True,
    help="Folder for suitability.tif, sites.geojson and sites.csv.",
)
@click.option(
    "--map", "with_map", is_flag=True, help="Also write sites.html: the corridor map with the score."
)
@click.option(
    "--grid", "with_grid", is_flag=True, help="Also write every scored cell: suitability_grid.gpkg."
)
@click.option(
    "--offline", is_flag=True, help="With --map: a map that opens with no network (vector basemap)."
)
@click.option(
    "--scheduler",
    default=None,
    help="Score on Dask: a dask.distributed scheduler address, or 'local' for a local cluster.",
)
@overwrite_option
def sites(
    cell_km: float | None,
    weights: Path | None,
    top: int | None,
    out_dir: Path,
    with_map: bool,
    with_grid: bool,
    offline: bool,
    scheduler: str | None,
    overwrite: bool,
) -> None:
    """Site suitability: score the belt on a grid and write the top candidate sites."""
    from ..catalog import load_layers
    from ..sites import suitability

    outputs = ["suitability.tif", "sites.geojson", "sites.csv"] + (["sites.html"] if with_map else [])
    outputs += ["suitability_grid.gpkg"] if with_grid else []
    existing = [name for name in outputs if (out_dir / name).exists()]
    if existing and not overwrite:
        from ..errors import OutputExistsError

        raise OutputExistsError(
            f"{out_dir}: {', '.join(existing)} exist. Fix: pass --overwrite or another --out"
        )
    layers = load_layers()
    result = suitability(layers, cell_km=cell_km, weights=weights, top=top, client=scheduler)
    paths = result.write(out_dir, overwrite=True, grid=with_grid)
    table = result.sites.drop(columns="geometry")
    table.to_csv(out_dir / "sites.csv")
    paths["table"] = out_dir / "sites.csv"
    if with_map:
        from ..render import build_map
        from ..render.assets import map_html
        from ..render.raster_overlay import add_suitability

        m = build_map(layers, offline=offline)
        add_suitability(m, result)
        paths["map"] = out_dir / "sites.html"
        paths["map"].write_text(map_html(m, offline=offline), encoding="utf-8")
    shown = ["rank", "score", *[c.column for c in result.model.criteria]]
    click.echo(table[shown].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    for path in paths.values():
        click.echo(f"wrote {path.resolve()}")
