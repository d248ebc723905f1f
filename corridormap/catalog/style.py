"""The catalog's ``[style]`` tables read as styles: one constant style per (status, category).

The map (:mod:`corridormap.render.style`, Leaflet options) and the QGIS styles written into exports
(:mod:`corridormap.export.styles`, QML and SLD) both draw a layer from :func:`path_style`, so they look
the same: the base style, each status's overrides (``[style.status.NAME]``), and a category colour
where the catalog colours by a column (``[style.categories]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["path_style", "categories", "STATUS_ORDER", "DEFAULT_COLOR"]

DEFAULT_COLOR = "#3388ff"
STATUS_ORDER = ("operational", "under construction", "approved", "proposed")


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
