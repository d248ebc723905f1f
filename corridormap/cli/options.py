"""Options shared by several verbs."""

from __future__ import annotations

import click

__all__ = ["overwrite_option"]

overwrite_option = click.option(
    "--overwrite", is_flag=True, help="Replace outputs that exist (refused without it)."
)
