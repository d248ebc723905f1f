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
    help="For air-gapped use: no tile basemaps, the map makes no network request at all.",
)
@click.option(
    "--cdn",
    is_flag=True,
    default=False,
    help=(
        "A lighter map that loads Leaflet and its plugins from CDNs (needs the network to open; "
        "without it the page shows a notice saying so)."
    ),
)
@overwrite_option
def build(out_dir: Path | None, overwrite: bool, offline: bool, cdn: bool) -> None:
    """Build the corridor map, GeoPackage and manifest from the shipped data (no network).

    The map is one self-contained HTML file (scripts, basemap and strip diagrams inside) that opens
    anywhere, and uses online tile basemaps when the network is there. Run again without --overwrite,
    it keeps a complete earlier build and says so (exit 0); a folder holding only some of the outputs
    is refused (exit 2), naming them.
    """
    from .. import settings
    from ..build import CORE_NAMES, build_outputs
    from ..render.assets import size_report

    if offline and cdn:
        raise click.UsageError("--offline and --cdn exclude each other: choose one")
    out = out_dir if out_dir is not None else settings.out_dir
    present = [out / name for name in CORE_NAMES if (out / name).exists()]
    if not overwrite and len(present) == len(CORE_NAMES):
        click.echo(f"The outputs exist in {out.resolve()}, nothing was rebuilt:")
        for path in present:
            click.echo(f"  {path.resolve()}")
        option = "" if out_dir is None else f" --out {out_dir}"
        click.echo(f"To rebuild them: corridormap build{option} --overwrite (or another --out folder)")
        return
    result = build_outputs(out, overwrite=overwrite, offline=offline, cdn=cdn)
    click.echo("Built:")
    for path in result.paths:
        click.echo(f"  {path.resolve()}")
    click.echo(f"Map size: {size_report(result.map.stat().st_size, offline=offline, cdn=cdn)}")
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
