"""The ``corridormap`` command: one thin command per verb over the library.

Commands are registered by name in :data:`COMMANDS` and imported on first use, so ``corridormap
--help`` starts fast and a verb loads only the libraries it needs. Errors that corridormap raises on
purpose print as one message and exit non-zero; they never print a traceback.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import click

from ..errors import CorridormapError

# verb -> "module:function" under corridormap.cli (one line per verb; rooms add their own)
COMMANDS: dict[str, str] = {
    "build": "build:build",
    "layers": "build:layers",
    "validate": "validate:validate",
    "export": "export:export",
    "osm": "osm:osm",
    "raster": "raster:raster",
    "sites": "sites:sites",
    "access": "analysis:access",
    "chainage": "analysis:chainage",
    "catchments": "analysis:catchments",
    "gaps": "analysis:gaps",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CorridormapError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors: no progress bars, no log output.")
@click.version_option(package_name="corridormap")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Maps, layers and analysis of the Delhi–Mumbai Industrial Corridor."""
    from .. import settings

    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # progress bars of long steps on a terminal's standard error, unless -q
    ctx.with_resource(settings.override(progress=not quiet))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="corridormap")


overwrite_option = click.option(
    "--overwrite", is_flag=True, help="Replace outputs that exist (refused without it)."
)
