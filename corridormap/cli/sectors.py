"""``corridormap sectors | brief | compare``: sector fit, one-page site briefs, nodes side by side."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .options import overwrite_option

_LANG = click.option(
    "--lang",
    type=click.Choice(["en", "ja"]),
    default="en",
    show_default=True,
    help="Language of the labels (node names keep their official spelling).",
)


def _out(default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--out",
        "out_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(default),
        show_default=True,
        help="Folder for the outputs.",
    )


def _echo(paths: list[Path]) -> None:
    for path in paths:
        click.echo(str(path))


@click.command()
@click.option(
    "--profiles",
    "profile_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Sector profile TOML file(s) instead of the shipped ones (repeatable).",
)
@_out("build/sectors")
@overwrite_option
def sectors(profile_files: tuple[Path, ...], out_dir: Path, overwrite: bool) -> None:
    """Node x sector fit: sector_fit.csv, sector_sensitivity.csv (±20 % weights), sector_fit.gpkg."""
    from ..sectors.outputs import write_sector_outputs
    from ..sectors.profiles import load_profiles

    profiles = load_profiles(profile_files) if profile_files else None
    _echo(write_sector_outputs(out_dir, profiles=profiles, overwrite=overwrite))


@click.command()
@click.argument("node_ids", nargs=-1, required=True)
@_LANG
@click.option("--pdf", is_flag=True, help="Also write briefs.<lang>.pdf, one A4 page per node.")
@_out("build/briefs")
@overwrite_option
def brief(node_ids: tuple[str, ...], lang: str, pdf: bool, out_dir: Path, overwrite: bool) -> None:
    """One-page site brief per node (ids of the industrial_nodes layer): HTML, and PDF with --pdf."""
    from ..sectors.brief import write_briefs

    _echo(write_briefs(list(node_ids), out_dir, lang=lang, pdf=pdf, overwrite=overwrite))


@click.command()
@click.argument("node_ids", nargs=-1, required=True)
@_LANG
@_out("build/compare")
@overwrite_option
def compare(node_ids: tuple[str, ...], lang: str, out_dir: Path, overwrite: bool) -> None:
    """2 to 4 nodes side by side (compare.<lang>.csv and .html), the best value of each row marked."""
    from ..sectors.compare import write_compare

    _echo(write_compare(list(node_ids), out_dir, lang=lang, overwrite=overwrite))
