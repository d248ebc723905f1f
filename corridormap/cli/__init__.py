"""The ``corridormap`` command: one thin command per verb over the library.

Commands are registered by name in :data:`COMMANDS` and imported on first use, so ``corridormap
--help`` starts fast and a verb loads only the libraries it needs. Errors that corridormap raises on
purpose, and the operating system's refusals (disk full, read-only, no permission), print as one
message and exit with code 2; they print a traceback only with ``-v``. Any other exception is a bug
and keeps its traceback.
"""

from __future__ import annotations

import errno
import importlib
import logging
import sys
import traceback
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
        except (CorridormapError, OSError) as exc:
            if ctx.params.get("verbose"):  # -v: the traceback too, so a real bug stays visible
                traceback.print_exc(file=sys.stderr)
            raise UserInputError(one_line(exc)) from exc


class UserInputError(click.ClickException):
    """A refusal of the user's input or environment: one message, exit code 2, no traceback."""

    exit_code = 2


def one_line(exc: BaseException) -> str:
    """What went wrong and what to do, from a corridormap error or an operating-system error."""
    if isinstance(exc, CorridormapError) or not isinstance(exc, OSError):
        return str(exc)
    where = f"{exc.filename}: " if exc.filename else ""
    reason = exc.strerror or str(exc)
    fix = {
        errno.ENOSPC: "free space on that disk, or write elsewhere (--out)",
        errno.EROFS: "write to a folder that is not read-only (--out)",
        errno.EACCES: "write to a folder you may write to (--out), or fix its permissions",
        errno.EPERM: "write to a folder you may write to (--out), or fix its permissions",
        errno.ENOENT: "check the path",
    }.get(exc.errno or 0, "check the path and the disk")
    return f"{where}{reason}. Fix: {fix}"


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.version_option(package_name="corridormap")
def cli(verbose: int, quiet: bool) -> None:
    """Maps, layers and analysis of the Delhi–Mumbai Industrial Corridor."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="corridormap")


overwrite_option = click.option(
    "--overwrite", is_flag=True, help="Replace outputs that exist (refused without it)."
)
