"""``corridormap validate PATH...``: a report per file; non-zero exit when any file is refused."""

from __future__ import annotations

import json
from pathlib import Path

import click


def _encoding(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A text encoding Python knows, else the option is refused naming common ones."""
    import codecs

    if value is None:
        return None
    try:
        codecs.lookup(value)
    except LookupError:
        raise click.BadParameter(
            f"unknown encoding {value!r}; use one such as utf-8, cp1252, latin-1, utf-16", ctx, param
        ) from None
    return value


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--crs", default=None, help="CRS of files that declare none or a wrong one (EPSG:32643).")
@click.option(
    "--encoding", default=None, callback=_encoding, help="Text encoding when not UTF-8 (cp1252, latin-1)."
)
@click.option("--layer", default=None, help="Layer of a multi-layer source (GeoPackage, KML, zip).")
@click.option("--swap-xy", is_flag=True, help="Exchange x and y (files written as lat, lon).")
@click.option("--salvage", is_flag=True, help="Drop (or for ids suffix) refused features; logged.")
@click.option(
    "--no-repair", "repair", flag_value=False, default=True, help="Report invalid geometries, do not repair."
)
@click.option("--x", "x", default=None, help="CSV column of longitudes / x.")
@click.option("--y", "y", default=None, help="CSV column of latitudes / y.")
@click.option("--wkt", default=None, help="CSV column of WKT geometries.")
@click.option(
    "--decimal", type=click.Choice([",", "."]), default=None, help="Decimal separator of CSV coordinates."
)
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write <file>.repairs.csv and <file>.validation.json here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
def validate(paths: tuple[Path, ...], log_dir: Path | None, as_json: bool, **options: object) -> None:
    """Check users' files (vector or raster) and print what was found, repaired or refused."""
    from ..validate import validate_file

    reports = [validate_file(path, **options) for path in paths]  # type: ignore[arg-type]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2, default=str))
    else:
        click.echo("\n\n".join(r.to_text() for r in reports))
    if log_dir is not None:
        for report in reports:
            report.write_log(log_dir)
    refused = [r.source for r in reports if r.refused]
    if refused:
        raise click.ClickException(f"{len(refused)} of {len(reports)} file(s) refused: {', '.join(refused)}")
