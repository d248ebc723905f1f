"""The catalog's ``[style]`` tables read as styles: one constant style per (status, category).

The map (:mod:`corridormap.render.style`, Leaflet options) and the QGIS styles written into exports
(:mod:`corridormap.export.styles`, QML and SLD) both draw a layer from :func:`path_style`, so they look
the same: the base style, each status's overrides (``[style.status.NAME]``), and a category colour
where the catalog colours by a column (``[style.categories]``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ..errors import CatalogError

__all__ = ["path_style", "categories", "check_style", "STATUS_ORDER", "DEFAULT_COLOR"]

DEFAULT_COLOR = "#3388ff"
STATUS_ORDER = ("operational", "under construction", "approved", "proposed")


_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_DASH = re.compile(r"\d+(?:\.\d+)?(?:[ ,]+\d+(?:\.\d+)?)*")
_KINDS = ("point", "line", "polygon")
# number options: (smallest, largest) allowed
_NUMBERS = {
    "weight": (0.0, 50.0),
    "radius": (0.0, 100.0),
    "opacity": (0.0, 1.0),
    "fill_opacity": (0.0, 1.0),
    "label_zoom": (0.0, 22.0),
}


def _is_colour(value: object) -> bool:
    """``#rgb``, ``#rrggbb`` or a CSS colour name (letters only), as the map and the QGIS styles take."""
    if not isinstance(value, str):
        return False
    if _HEX.fullmatch(value):
        return True
    if not value.isalpha():
        return False
    from matplotlib.colors import is_color_like  # CSS names; matplotlib is a default dependency

    return bool(is_color_like(value))


def check_style(style: Mapping[str, Any], where: str) -> None:
    """Refuse a ``[style]`` table the map or the QGIS styles could not draw as written.

    Colours must be ``#rrggbb``/``#rgb`` or a CSS colour name, ``dash`` a list of lengths
    (``"6 4"``), ``kind`` one of point/line/polygon and the number options finite and in range; the
    same for every ``[style.status.NAME]`` override and the ``[style.categories]`` colours.
    ``where`` names the catalog file in the message.

    Examples
    --------
    >>> check_style({"color": "#c00", "dash": "6 4"}, "x.toml")
    >>> check_style({"dash": "6 4); alert(1"}, "x.toml")
    Traceback (most recent call last):
    ...
    corridormap.errors.CatalogError: x.toml: [style] dash = '6 4); alert(1' is not a dash pattern. Fix: \
write lengths in pixels separated by spaces, e.g. "6 4" (or "" for a solid line)
    """
    tables: list[tuple[str, Mapping[str, Any]]] = [("[style]", style)]
    for status, over in (style.get("status") or {}).items():
        if not isinstance(over, Mapping):
            raise CatalogError(f"{where}: [style.status.{status}] is not a table. Fix: write options in it")
        tables.append((f"[style.status.{status}]", over))
    for table, opts in tables:
        _check_table(opts, f"{where}: {table}")
    for value, colour in (style.get("categories") or {}).get("colors", {}).items():
        if not _is_colour(colour):
            raise CatalogError(
                f"{where}: [style.categories.colors] {value!r} = {colour!r} is not a colour. Fix: write it "
                "as #rrggbb (or a CSS colour name)"
            )


def _check_table(opts: Mapping[str, Any], where: str) -> None:
    for key in ("color", "fill_color"):
        if key in opts and not _is_colour(opts[key]):
            raise CatalogError(
                f"{where} {key} = {opts[key]!r} is not a colour. Fix: write it as #rrggbb "
                "(or a CSS colour name such as 'teal')"
            )
    dash = opts.get("dash")
    if dash is not None and not (isinstance(dash, str) and (dash == "" or _DASH.fullmatch(dash))):
        raise CatalogError(
            f"{where} dash = {dash!r} is not a dash pattern. Fix: write lengths in pixels "
            'separated by spaces, e.g. "6 4" (or "" for a solid line)'
        )
    if "kind" in opts and opts["kind"] not in _KINDS:
        raise CatalogError(f"{where} kind = {opts['kind']!r}. Fix: use one of {', '.join(_KINDS)}")
    for key, (low, high) in _NUMBERS.items():
        if key not in opts:
            continue
        value = opts[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or not low <= value <= high:
            raise CatalogError(
                f"{where} {key} = {value!r} is out of range. Fix: use a number from {low:g} to {high:g}"
            )


def categories(style: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
    """The column a layer is coloured by and its value -> colour map (``(None, {})`` if none)."""
    cats = style.get("categories")
    if not cats:
        return None, {}
    return str(cats["column"]), {str(k): str(v) for k, v in cats.get("colors", {}).items()}


def path_style(
    style: Mapping[str, Any], *, status: str | None = None, color: str | None = None
) -> dict[str, Any]:
    """Leaflet path options for one status and category of a layer.

    Parameters
    ----------
    style : the layer's ``[style]`` table from the catalog.
    status : the features' status; its ``[style.status.NAME]`` overrides apply.
    color : category colour, replacing the base colour.

    Examples
    --------
    >>> s = {"color": "#c00", "weight": 3, "status": {"proposed": {"dash": "2 6"}}}
    >>> path_style(s, status="proposed")["dashArray"]
    '2 6'
    """
    merged: dict[str, Any] = {k: v for k, v in style.items() if k not in ("status", "categories")}
    if status is not None:
        merged.update(style.get("status", {}).get(status, {}))
    base = color or merged.get("color", DEFAULT_COLOR)
    kind = merged.get("kind", "line")
    out: dict[str, Any] = {
        "color": merged.get("color", base) if kind == "point" and color is None else base,
        "weight": merged.get("weight", 2),
        "opacity": merged.get("opacity", 1.0),
    }
    if color is not None and kind == "point":
        out["fillColor"] = color
    elif kind in ("point", "polygon"):
        out["fillColor"] = merged.get("fill_color", base)
    if kind in ("point", "polygon"):
        out["fill"] = True
        out["fillOpacity"] = merged.get("fill_opacity", 0.6)
    if merged.get("dash"):
        out["dashArray"] = merged["dash"]
    if kind == "point":
        out["radius"] = merged.get("radius", 6)
    return out
