"""``corridormap build`` and ``corridormap layers``."""

from __future__ import annotations

from pathlib import Path

import click

from .options import overwrite_option


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: build/).",
)
@click.option(
    "--offline",
    is_flag=True,
    default=False,
    help="Write a single-file map that opens with no network (assets inlined, vector basemap).",
)
@overwrite_option
def build(out_dir: Path | None, overwrite: bool, offline: bool) -> None:
    """Build the corridor map, GeoPackage and manifest from the shipped data (no network).

    Run again without --overwrite, it keeps a complete earlier build and says so (exit 0); a folder
    holding only some of the outputs is refused (exit 2), naming them.
    """
    from .. import settings
    from ..build import CORE_NAMES, build_outputs
    from ..render.assets import size_report

    out = out_dir if out_dir is not None else settings.out_dir
    present = [out / name for name in CORE_NAMES if (out / name).exists()]
    if not overwrite and len(present) == len(CORE_NAMES):
        click.echo(f"The outputs exist in {out.resolve()}, nothing was rebuilt:")
        for path in present:
            click.echo(f"  {path.resolve()}")
        option = "" if out_dir is None else f" --out {out_dir}"
        click.echo(f"To rebuild them: corridormap build{option} --overwrite (or another --out folder)")
        return
    result = build_outputs(out, overwrite=overwrite, offline=offline)
    click.echo("Built:")
    for path in result.paths:
        click.echo(f"  {path.resolve()}")
    click.echo(f"Map size: {size_report(result.map.stat().st_size, offline=offline)}")
    if "gap_flags" in result.layers:
        from ..analysis.gaps import gap_summary

        click.echo("Gap rules (layers/rules/gaps.toml), features flagged:")
        for line in gap_summary(result.layers["gap_flags"]):
            click.echo(f"  {line}")


@click.command()
def layers() -> None:
    """List the layer catalog: name, group, geometry, features, source."""
    from ..catalog.load import load_catalog, load_layers

    specs = load_catalog()
    loaded = load_layers(catalog=specs)
    rows = [("name", "group", "geometry", "features", "source")]
    for name, spec in specs.items():
        source = spec.source.name if spec.source else f"derived from {', '.join(spec.depends_on)}"
        rows.append((name, spec.group, "/".join(spec.geometry), str(len(loaded[name])), source))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
