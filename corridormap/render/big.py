"""The large-layer path: a layer of millions of vertices that opens fast and pans smoothly.

A layer written as GeoJSON text (folium, geopandas ``explore()``) is ~44 MB of HTML per million
vertices, which Leaflet parses and projects all at once. Here instead:

1. :mod:`.big_geometry` projects the layer to Web Mercator, quantises it to whole metres, tags each
   vertex with the coarsest per-zoom simplification level that keeps it, and encodes it in two
   deflated parts: the coarsest levels (what a map of the whole belt draws) and the rest, each
   vertex stored once, as the miss of "the last step again" in the frame of that step (about 1.4
   bytes a vertex on road-like lines).
2. :class:`BigLayer` puts that into the page as 7-bit text (:func:`.big_geometry.text7`: 1.17
   bytes a byte, base64 takes 1.33) in ``<script type="application/octet-stream">`` blocks, with
   the popup table as compact columnar JSON (values formatted and escaped in Python, as
   :mod:`.popup` does), deflated and written the same way, without passing the bulk through
   ``json`` templates or Jinja's lexer (folium's own cost at scale). The JavaScript is inlined once
   per page, so the offline single file keeps working.
3. In the browser, ``js/decode.js`` inflates and decodes the coarse part in a Web Worker made from
   a Blob URL of the same file (it works from ``file://`` and offline; where a page refuses workers
   it is decoded on the page). An inline call after the coarse block (``corridormapBig.early``,
   corridormap's own numbers and the block's id only) sends it as soon as the parser has read it,
   so it decodes while the page reads the fine part; the map paints once the map script has run.
   The same worker decodes the fine part once every layer has painted (read from the page only
   then), then the tiles whose zoom wants finer levels are drawn again. ``js/grid_index.js``
   indexes feature boxes (built in the worker with the data), and ``js/big_layer.js`` (a
   ``L.GridLayer``) draws only the 512-px canvas tiles on screen, at the level for the zoom, one
   constant style per status and category. Clicks and hovers are
   hit-tested against the index (popups, tooltips); ``corridormapBig.search(map, text)`` finds
   features by name and ``layer.focus(i)`` shows one.

The layer sits inside the catalog layer's ``FeatureGroup`` (so the layer control toggles it) and in
its pane (so the draw order holds). :func:`corridormap.render.layers.layer_group` takes this path
for layers over :data:`BIG_VERTICES` vertices or :data:`BIG_FEATURES` features, or when asked
(``big=True``). Each large layer logs its size and warns (:class:`~corridormap.errors.CorridormapWarning`)
above :data:`PAYLOAD_BUDGET_BYTES`.
"""

from __future__ import annotations

import html
import json
import logging
import warnings
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, Figure, MacroElement
from folium.template import Template

from ..catalog.load import LayerSpec
from ..errors import CorridormapWarning, LayerValidationError
from .big_geometry import (
    LEVEL_ZOOMS,
    MERCATOR,
    STEP_BUCKETS,
    Encoded,
    Prepared,
    encode,
    level_geometries,
    prepare,
    text7,
    tolerance_m,
    vertex_count,
)
from .page import JS_DIR, RawText, add_files
from .panes import pane_name
from .popup import format_value, label_of, source_links, tooltip_text
from .style import path_style, splits

__all__ = [
    "BIG_VERTICES",
    "BIG_FEATURES",
    "PAYLOAD_BUDGET_BYTES",
    "BigLayer",
    "big_layer",
    "is_big",
    "big_layer_of",
    "attribute_table",
    "style_table",
    "js_source",
    # re-exported from big_geometry
    "LEVEL_ZOOMS",
    "MERCATOR",
    "Encoded",
    "Prepared",
    "encode",
    "level_geometries",
    "prepare",
    "text7",
    "tolerance_m",
    "vertex_count",
]

log = logging.getLogger(__name__)

BIG_VERTICES = 20_000
BIG_FEATURES = 1_000
"""Layers with more vertices or features than these take the large-layer path when ``big="auto"``."""
PAYLOAD_BUDGET_BYTES = 8_000_000
"""A large layer adding more than this to the page logs a warning and warns (:class:`CorridormapWarning`)."""

JS_FILES = ("decode.js", "grid_index.js", "big_layer.js")


def is_big(gdf: gpd.GeoDataFrame) -> bool:
    """Whether ``big="auto"`` sends this layer down the large-layer path."""
    return len(gdf) > BIG_FEATURES or vertex_count(gdf) > BIG_VERTICES


def big_layer_of(group: Element) -> BigLayer | None:
    """The :class:`BigLayer` a layer's group draws with, or None when it took the normal path.

    This is what :func:`.layers.layer_group` actually did, for controls that treat the two paths
    differently (search reads a large layer's names from its own payload).
    """
    return next((c for c in group._children.values() if isinstance(c, BigLayer)), None)


def style_table(gdf: pd.DataFrame, spec: LayerSpec) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Per-feature style codes and the styles they index, in the normal path's stacking order.

    The split by status and category is the one :func:`.layers.layer_group` draws with, so both
    paths give a feature the same constant style; code order is draw order (later on top).
    """
    column = (spec.style.get("categories") or {}).get("column")
    light = pd.DataFrame({k: gdf[k].to_numpy() for k in ("status", column) if k and k in gdf.columns})
    light["_pos"] = np.arange(len(gdf))
    codes = np.zeros(len(gdf), dtype=np.int64)
    styles: list[dict[str, Any]] = []
    # the normal path's split, shared so both paths agree
    for status, colour, part in splits(light, spec):
        codes[part["_pos"].to_numpy()] = len(styles)
        styles.append(path_style(spec.style, status=status, color=colour))
    if not styles:
        styles.append(path_style(spec.style))
    return codes, styles


def _formatter(name: str, col: Any) -> Any:
    if name == "source":
        return source_links
    return lambda value: format_value(value, col)


def _is_blank(value: Any) -> bool:
    try:
        return bool(pd.isna(value)) or value == ""
    except (TypeError, ValueError):
        return False


def _compact(texts: Sequence[str]) -> dict[str, Any]:
    """A column of strings as ``{"v": values}`` or, when values repeat, ``{"d": distinct, "c": codes}``."""
    codes, distinct = pd.factorize(pd.Series(list(texts), dtype=object))
    if len(distinct) * 2 <= len(texts):
        return {"d": [str(d) for d in distinct], "c": codes.tolist()}
    return {"v": [str(t) for t in texts]}


def _escaped_strings(values: pd.Series, suffix: str = "") -> list[str]:
    """``html.escape`` of a column of strings in one vectorised pass ("" for blanks)."""
    blank = values.isna() | (values.astype(object) == "")
    texts = values.astype(object).where(~blank, "").astype(str)
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;")):
        texts = texts.str.replace(char, entity, regex=False)
    if suffix:
        texts = texts.where(blank, texts + suffix)
    return texts.tolist()


def _plain_strings(values: pd.Series, col: Any = None) -> bool:
    """Whether ``format_value`` would only escape these values (strings, no number format or bool)."""
    return pd.api.types.is_string_dtype(values) and (col is None or col.type == "str")


def _column_texts(values: pd.Series, fmt: Any) -> list[str]:
    """Escaped display text of each value ("" for blanks), formatting each distinct value once."""
    cache: dict[Any, str] = {}
    out = []
    for value in values.tolist():
        try:
            text = cache.get(value)
            if text is None:
                text = cache[value] = "" if _is_blank(value) else fmt(value)
        except TypeError:  # unhashable values (lists): format each
            text = "" if _is_blank(value) else fmt(value)
        out.append(text)
    return out


def attribute_table(gdf: gpd.GeoDataFrame, spec: LayerSpec) -> dict[str, Any]:
    """Popup rows, tooltips and names of the layer as compact columnar JSON, every value escaped.

    The browser assembles a popup as ``<table class="cm-popup"><caption>title</caption>`` plus one
    ``<tr><th>label</th><td>value</td></tr>`` per non-empty value: the same HTML as
    :func:`.popup.popup_table_html`, whose formatting (units, thousands separators, source links) and
    escaping this reuses.
    """
    fields = [f for f in (spec.popup or [c for c in gdf.columns if c != gdf.geometry.name])]
    labels, columns = [], []
    for name in fields:
        col = spec.columns.get(name)
        labels.append(label_of(name, col))  # the unit is shown once, with the value
        values = gdf[name] if name in gdf.columns else pd.Series([None] * len(gdf), dtype=object)
        if name != "source" and _plain_strings(values, col):
            unit = f" {html.escape(col.unit)}" if col is not None and col.unit else ""
            columns.append(_escaped_strings(values, unit))
        else:
            columns.append(_column_texts(values, _formatter(name, col)))
    tip_fields = [f for f in spec.tooltip if f in gdf.columns]
    if len(tip_fields) == 1 and _plain_strings(gdf[tip_fields[0]]):
        tooltips = _escaped_strings(gdf[tip_fields[0]])
    else:
        records = gdf[tip_fields].to_dict("records") if tip_fields else [{}] * len(gdf)
        tooltips = [tooltip_text(r, tip_fields) for r in records]
    names = (
        _escaped_strings(gdf["name"])
        if "name" in gdf.columns and _plain_strings(gdf["name"])
        else (
            _column_texts(gdf["name"], lambda v: html.escape(str(v)))
            if "name" in gdf.columns
            else [""] * len(gdf)
        )
    )
    table: dict[str, Any] = {
        "title": html.escape(spec.title),
        "labels": labels,
        "columns": [_compact(c) for c in columns],
    }
    table["tooltip"] = _shared(tooltips, columns)
    table["names"] = _shared(names, columns)
    return table


def _shared(texts: list[str], columns: list[list[str]]) -> Any:
    """The index of a popup column with exactly these texts (sent once), else the texts themselves."""
    for i, column in enumerate(columns):
        if column == texts:
            return i
    return _compact(texts)


def js_source() -> str:
    """The large-layer JavaScript (decoder, grid index, canvas layer), concatenated."""
    return "\n".join((JS_DIR / name).read_text(encoding="utf-8") for name in JS_FILES)


class BigLayer(MacroElement):
    """A large layer on the map: its JavaScript once per page, its payload, and the canvas layer.

    Add it to a ``folium.FeatureGroup`` (the layer control toggles the group). The payload goes
    into the page body as three ``<script>`` data blocks (the coarse and fine geometry parts and
    the deflated attribute JSON, all as :func:`.big_geometry.text7` text) when the figure renders,
    bypassing Jinja and ``json`` for the bulk of the bytes.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = corridormapBig.layer({{ this.options|tojson }})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        geometry: Encoded,
        attributes: Mapping[str, Any],
        options: Mapping[str, Any],
        *,
        rows: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self._name = "BigLayer"
        # positions in the input frame of the features drawn, in feature order (heat map weights follow)
        self.rows = np.arange(options["counts"]["features"]) if rows is None else np.asarray(rows)
        self.coarse_text = text7(geometry.coarse)
        self.fine_text = text7(geometry.fine)
        text = json.dumps(attributes, ensure_ascii=False, separators=(",", ":"))
        self.attributes_text = text7(zlib.compress(text.encode("utf-8"), 6))
        name = self.get_name()
        self.options = {
            **options,
            "split": geometry.split,
            "steps": list(STEP_BUCKETS),
            "payload": {part: f"{name}_{part}" for part in ("coarse", "fine", "attributes")},
        }

    @property
    def size_bytes(self) -> int:
        """Bytes this layer adds to the page (geometry parts and attributes, UTF-8)."""
        return sum(len(t.encode("utf-8")) for t in (self.coarse_text, self.fine_text, self.attributes_text))

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # MacroElement renders into the figure
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise TypeError("a BigLayer renders only inside a map (add its FeatureGroup to a folium.Map)")
        add_files(figure, js=JS_FILES)  # the page's one way to ship corridormap's own JS files
        name = self.get_name()
        blocks = [
            f'<script type="application/octet-stream" id="{name}_{part}">{text}</script>'
            for part, text in (
                ("coarse", self.coarse_text),
                ("fine", self.fine_text),
                ("attributes", self.attributes_text),
            )
        ]
        # the coarse part goes to the decoding worker as soon as the parser has read it, while the
        # page still reads the fine part (js/big_layer.js, CM.early): only corridormap's own
        # numbers and the block's id, no text from the layer
        o = self.options
        early = {
            "id": o["payload"]["coarse"],
            "counts": {k: int(v) for k, v in o["counts"].items()},
            "steps": [int(v) for v in o["steps"]],
            "deflate": bool(o["deflate"]),
            "split": int(o["split"]),
            "levels": len(o["zooms"]),
        }
        call = json.dumps(early, separators=(",", ":"))
        # (a no-op where big_layer.js did not run, e.g. a --cdn map without Leaflet: decode.js and
        # grid_index.js make window.corridormapBig before it)
        guard = "window.corridormapBig && corridormapBig.early"
        blocks.insert(1, f"<script>{guard} && corridormapBig.early({call});</script>")
        figure.html.add_child(RawText("\n".join(blocks)), name=f"{name}_data")
        super().render(**kwargs)


def _check_budget(name: str, layer: BigLayer, budget_bytes: int) -> None:
    size = layer.size_bytes
    log.info(
        "large layer %s: %d features, %d vertices, %.2f MB in the page (budget %.1f MB)",
        name,
        layer.options["counts"]["features"],
        layer.options["counts"]["vertices"],
        size / 1e6,
        budget_bytes / 1e6,
    )
    if size > budget_bytes:
        message = (
            f"large layer {name!r} adds {size / 1e6:.1f} MB to the map, over the budget of "
            f"{budget_bytes / 1e6:.1f} MB. Fix: show fewer popup fields, split the layer, or clip "
            f"it to the area of interest"
        )
        log.warning(message)
        warnings.warn(message, CorridormapWarning, stacklevel=3)


def big_layer(
    gdf: gpd.GeoDataFrame,
    spec: LayerSpec,
    *,
    zooms: Sequence[int] = LEVEL_ZOOMS,
    deflate: bool = True,
    budget_bytes: int = PAYLOAD_BUDGET_BYTES,
) -> BigLayer:
    """Build the large-layer element for one catalog layer.

    Parameters
    ----------
    gdf : the layer, in any CRS (not modified); empty geometries are left out.
    spec : its catalog entry (style, popup and tooltip fields, title, pane).
    zooms : zooms with their own simplified level.
    deflate : zlib-compress the geometry parts (the browser inflates them natively).
    budget_bytes : warn (and log) when the layer adds more than this to the page.

    Returns
    -------
    BigLayer, to add to the layer's ``folium.FeatureGroup``.
    """
    prepared = prepare(gdf, zooms=zooms, what=spec.name)
    kept = gdf.iloc[prepared.rows]
    codes, styles = style_table(kept, spec)
    if len(styles) > 255:
        raise LayerValidationError(
            f"layer {spec.name!r}: {len(styles)} styles (status x category); the large-layer renderer "
            "draws at most 255. Fix: colour by a column with fewer categories"
        )
    options = {
        "name": spec.name,
        "kind": prepared.kind,
        "pane": pane_name(spec),
        "zooms": list(prepared.zooms),
        "styles": styles,
        "deflate": deflate,
        "counts": {
            "features": prepared.n_features,
            "rings": len(prepared.vertex_offsets) - 1,
            "vertices": len(prepared.xy),
        },
    }
    layer = BigLayer(
        encode(prepared, codes, deflate=deflate), attribute_table(kept, spec), options, rows=prepared.rows
    )
    _check_budget(spec.name, layer, budget_bytes)
    return layer
