"""The ``corridormap`` command: one thin command per verb over the library.

Each verb is a module here whose command is registered by name in :data:`COMMANDS`; a verb module
imports only click at the top and the library inside its command, so ``corridormap --help`` starts
fast and a verb loads only the libraries it needs. Shared options are in :mod:`.options`. Errors that
corridormap raises on purpose, and the operating system's refusals (disk full, read-only, no
permission), print as one message and exit with code 2; they print a traceback only with ``-v``. Any
other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import logging
import sys
import traceback
from typing import Any

import click

from .. import settings
from ..errors import CorridormapError
from . import analysis, build, export, osm, raster, sectors, sites, validate
from .options import overwrite_option

__all__ = ["COMMANDS", "cli", "main", "overwrite_option"]

# verb -> its command (one line per verb; rooms add their own)
COMMANDS: dict[str, click.Command] = {
    "build": build.build,
    "layers": build.layers,
    "validate": validate.validate,
    "export": export.export,
    "osm": osm.osm,
    "raster": raster.raster,
    "sites": sites.sites,
    "access": analysis.access,
    "chainage": analysis.chainage,
    "catchments": analysis.catchments,
    "gaps": analysis.gaps,
    "sectors": sectors.sectors,
    "brief": sectors.brief,
    "compare": sectors.compare,
}


class _Group(click.Group):
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


@click.group(cls=_Group, commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors: no progress bars, no log output.")
@click.version_option(package_name="corridormap")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Maps, layers and analysis of the Delhi–Mumbai Industrial Corridor."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # progress bars of long steps on a terminal's standard error, unless -q
    ctx.with_resource(settings.override(progress=not quiet))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="corridormap")
