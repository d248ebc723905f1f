"""``corridormap sites``: score a grid over the belt and list the best candidate sites."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._summary import files_summary, sites_summary
from .options import COUNT, KM, overwrite_option

# with --scheduler, grids above this many cells are streamed: suitability.tif block by block, then the sites
STREAM_CELLS = 25_000_000


@click.command()
@click.option("--cell-km", type=KM, default=None, help="Cell size in km, above 0 (default: the model's, 5).")
@click.option(
    "--weights",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A suitability model TOML (default: layers/rules/suitability.toml).",
)
@click.option(
    "--top", type=COUNT, default=None, help="How many candidate sites, 1 or more (default: the model's, 20)."
)
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
@click.option(
    "--stream",
    is_flag=True,
    help="With --scheduler: write suitability.tif block by block and the top sites, never holding "
    f"the grid (automatic above {STREAM_CELLS:,} cells; no --map, --grid or sensitivity.csv).",
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
    stream: bool,
    overwrite: bool,
) -> None:
    """Site suitability: score the belt on a grid and write the top candidate sites."""
    from ..catalog.load import load_layers
    from ..sites.suitability import suitability

    outputs = ["suitability.tif", "sites.geojson", "sites.csv", "sensitivity.csv"]
    outputs += ["sites.html"] if with_map else []
    outputs += ["suitability_grid.gpkg"] if with_grid else []
    existing = [name for name in outputs if (out_dir / name).exists()]
    if existing and not overwrite:
        from ..errors import OutputExistsError

        raise OutputExistsError(
            f"{out_dir}: {', '.join(existing)} exist. Fix: pass --overwrite or another --out"
        )
    if stream and (with_map or with_grid or scheduler is None):
        raise click.UsageError(
            "--stream needs --scheduler and writes only suitability.tif and the sites (no --map, --grid)"
        )
    layers = load_layers()
    if scheduler is not None and _streamed(
        layers, cell_km, weights, top, scheduler, out_dir, stream, overwrite
    ):
        return
    result = suitability(layers, cell_km=cell_km, weights=weights, top=top, client=scheduler)
    paths = result.write(out_dir, overwrite=True, grid=with_grid)
    paths["table"] = out_dir / "sites.csv"
    table = _table(result.sites, paths["table"])
    from ..sites.sensitivity import weight_sensitivity

    paths["sensitivity"] = out_dir / "sensitivity.csv"
    sensitivity = weight_sensitivity(result)
    sensitivity.to_csv(paths["sensitivity"], index=False)
    if with_map:
        from ..render import build_map
        from ..render.assets import map_html
        from ..render.raster_overlay import add_suitability

        m = build_map(layers, offline=offline)
        add_suitability(m, result)
        paths["map"] = out_dir / "sites.html"
        paths["map"].write_text(map_html(m, offline=offline), encoding="utf-8")
    scored = int((result.grid["status"] == "scored").sum()) if "status" in result.grid.columns else None
    moved = ["Weight sensitivity (each weight ±20 %, the others fixed): top sites kept"]
    moved += [
        f"  {row.label} {row.change}: {row.top_kept}/{row.top_n} kept "
        f"({row.top_kept_or_adjacent} with adjacent cells), best site "
        f"{'unchanged' if row.best_unchanged else f'now cell {row.best_site}'}"
        for row in sensitivity.itertuples()
    ]
    _report(table, result.model, paths, result.sites, scored, moved)


def _table(sites: Any, path: Path) -> Any:
    """Write the sites as CSV (no geometry; the cell's id, row and column, and the cell centre's
    lon/lat in EPSG:4326) and return that table."""
    shown = sites.to_crs("EPSG:4326")
    table = shown.drop(columns="geometry")
    table.insert(1, "lon", shown.geometry.x.round(5).to_numpy())
    table.insert(2, "lat", shown.geometry.y.round(5).to_numpy())
    table.to_csv(path)
    return table


def _report(
    table: Any,
    model: Any,
    paths: dict[str, Path],
    sites: Any,
    cells: int | None = None,
    more: list[str] | None = None,
) -> None:
    """Print the sites' main columns, a summary, any more lines, and the files written."""
    shown = ["rank", "score", *[c.column for c in model.criteria]]
    click.echo(table[shown].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    lines = sites_summary(sites, cells=cells, separation_km=model.min_separation_km)
    for line in [*lines, *(more or []), *files_summary(paths.values())]:
        click.echo(line)


def _streamed(
    layers: dict,
    cell_km: float | None,
    weights: Path | None,
    top: int | None,
    scheduler: str,
    out_dir: Path,
    stream: bool,
    overwrite: bool,
) -> bool:
    """Stream the score to suitability.tif on Dask, picking the top sites on the way, if asked or the
    grid is large; False if not done."""
    from ..sites.suitability import _dask_client, stream_suitability, suitability_array

    _, grid, model = suitability_array(layers, cell_km=cell_km, weights=weights)  # lazy: just the grid
    if not stream and grid.nrows * grid.ncols <= STREAM_CELLS:
        return False
    click.echo(
        f"{grid.nrows:,} x {grid.ncols:,} cells: streaming the score and the top sites (no grid or map)"
    )
    paths = {"score": out_dir / "suitability.tif", "sites": out_dir / "sites.geojson"}
    with _dask_client(scheduler) as client:
        _, sites, _ = stream_suitability(
            layers,
            paths["score"],
            cell_km=cell_km,
            weights=model,
            top=top,
            client=client,
            overwrite=overwrite,
        )
    paths["sites"].unlink(missing_ok=True)
    sites.to_crs("EPSG:4326").to_file(paths["sites"], driver="GeoJSON")
    paths["table"] = out_dir / "sites.csv"
    _report(_table(sites, paths["table"]), model, paths, sites)
    return True
