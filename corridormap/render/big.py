"""The large-layer path: per-zoom simplified, quantised, compactly encoded geometry drawn on canvas tiles.

A layer of a million vertices written as GeoJSON text is ~44 MB of HTML that Leaflet must parse and
project at once. Here instead:

1. :func:`prepare` projects the layer to Web Mercator (EPSG:3857, whose metres map linearly onto
   screen pixels at every zoom), rounds coordinates to whole metres (~1 m) and simplifies it once per
   level in :data:`LEVEL_ZOOMS` with ``shapely.simplify(preserve_topology=True)`` at half a pixel of
   that zoom. Levels are cascaded (each from the finer one), so every level's vertices are a subset
   of the finer level's: each vertex is stored once, tagged with the coarsest level that keeps it.
2. :func:`encode` writes feature/ring/vertex counts, style codes, vertices (first differences for a
   ring's first steps, second differences after: the change of direction, small along smooth lines)
   and level tags as zigzag varints, deflates the bytes and base64-encodes them.
3. :class:`BigLayer` puts that text into the page as ``<script type="application/octet-stream">``
   without passing it through ``json`` or Jinja's lexer (folium's own cost at scale), with the
   popup table as compact columnar JSON (values escaped in Python, as in :mod:`.popup`).
4. In the browser, ``js/decode.js`` inflates and decodes the payload into typed arrays,
   ``js/grid_index.js`` indexes feature boxes, and ``js/big_layer.js`` (a ``L.GridLayer``) draws
   only the 256-px tiles on screen at the level for the zoom; clicks and hovers are hit-tested
   against the index (popups, tooltips), ``corridormapBig.search(map, text)`` finds features by name.

The layer sits inside the catalog layer's ``FeatureGroup`` (so the layer control toggles it) and in
its pane (so the draw order holds). :func:`corridormap.render.layers.layer_group` picks this path
above :data:`BIG_VERTICES` vertices, or when asked (``big=True``).
"""

from __future__ import annotations

import base64
import html
import json
import logging
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.template import Template

from ..catalog import LayerSpec
from ..crs import require_crs
from ..errors import CorridormapWarning, LayerValidationError
from .popup import format_value, source_links, tooltip_text
from .style import path_style

__all__ = [
    "BIG_VERTICES",
    "BIG_FEATURES",
    "is_big",
    "LEVEL_ZOOMS",
    "PAYLOAD_BUDGET_BYTES",
    "Prepared",
    "BigLayer",
    "big_layer",
    "prepare",
    "encode",
    "level_geometries",
    "tolerance_m",
    "vertex_count",
    "attribute_table",
    "style_table",
    "js_source",
]

log = logging.getLogger(__name__)

BIG_VERTICES = 20_000
BIG_FEATURES = 1_000
"""Layers with more vertices or features than these take the large-layer path when ``big="auto"``."""
LEVEL_ZOOMS = (4, 6, 8, 10, 12, 14)
"""Zooms with their own simplified level; above the last, full detail (quantised) is drawn."""
PIXEL_TOLERANCE = 0.5
"""Simplification tolerance, in screen pixels at the level's zoom."""
PAYLOAD_BUDGET_BYTES = 8_000_000
"""A large layer whose payload exceeds this logs and warns (:class:`CorridormapWarning`)."""

MERCATOR = "EPSG:3857"
WORLD_M = 2 * 20037508.342789244
JS_DIR = Path(__file__).resolve().parent / "js"
JS_FILES = ("decode.js", "grid_index.js", "big_layer.js")
_KINDS = {
    "Point": "point",
    "MultiPoint": "point",
    "LineString": "line",
    "MultiLineString": "line",
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
}


def tolerance_m(zoom: int, *, pixels: float = PIXEL_TOLERANCE) -> float:
    """Web Mercator metres covered by ``pixels`` screen pixels at ``zoom`` (256-px tiles).

    >>> round(tolerance_m(0, pixels=1.0))
    156543
    """
    return pixels * WORLD_M / (256 * 2**zoom)


def vertex_count(gdf: gpd.GeoDataFrame) -> int:
    """Total number of vertices of the layer's geometries."""
    return int(shapely.get_num_coordinates(gdf.geometry.values).sum())


def is_big(gdf: gpd.GeoDataFrame) -> bool:
    """Whether ``big="auto"`` sends this layer down the large-layer path."""
    return len(gdf) > BIG_FEATURES or vertex_count(gdf) > BIG_VERTICES


@dataclass(frozen=True)
class Prepared:
    """A layer ready to encode: flat arrays in feature -> ring -> vertex order.

    Attributes
    ----------
    kind : "point", "line" or "polygon".
    rows : positions (in the input frame) of the features kept (empty geometries are dropped).
    ring_offsets : ``feature i`` owns rings ``ring_offsets[i]:ring_offsets[i+1]`` (a point, a line
        part or a polygon ring; multi-polygons' rings are drawn with the even-odd rule).
    vertex_offsets : ``ring j`` owns vertices ``vertex_offsets[j]:vertex_offsets[j+1]`` (polygon
        rings without their closing vertex).
    xy : (n, 2) int64 Web Mercator metres.
    tags : coarsest level keeping each vertex (0 = ``zooms[0]``; ``len(zooms)`` = full detail only).
    zooms : the levels' zooms.
    """

    kind: str
    rows: np.ndarray
    ring_offsets: np.ndarray
    vertex_offsets: np.ndarray
    xy: np.ndarray
    tags: np.ndarray
    zooms: tuple[int, ...]

    @property
    def n_features(self) -> int:
        return len(self.ring_offsets) - 1


_TYPE_KIND = {0: "point", 4: "point", 1: "line", 5: "line", 3: "polygon", 6: "polygon"}


def _layer_kind(geoms: np.ndarray, what: str) -> str:
    """The one geometry family of a layer, or an error naming the layer and the fix."""
    ids = set(np.unique(shapely.get_type_id(geoms)).tolist())
    kinds = {_TYPE_KIND.get(i, "other") for i in ids}
    if len(kinds) != 1 or "other" in kinds:
        raise LayerValidationError(
            f"layer {what!r}: mixed or unsupported geometry types (type ids {sorted(ids)}) for the "
            "large-layer renderer. Fix: split the layer into points, lines and polygons"
        )
    return kinds.pop()


def _structure(
    kind: str, geom_type: Any, offsets: tuple[np.ndarray, ...], n_coords: int, n_features: int
) -> tuple[np.ndarray, np.ndarray]:
    """(ring_offsets, vertex_offsets) of shapely's ragged arrays, flattened to feature -> ring."""
    name = shapely.GeometryType(geom_type).name
    if name == "POINT":
        return np.arange(n_features + 1), np.arange(n_coords + 1)
    if name == "MULTIPOINT":
        return offsets[0], np.arange(n_coords + 1)
    if name == "LINESTRING":
        return np.arange(n_features + 1), offsets[0]
    if name in ("MULTILINESTRING", "POLYGON"):
        return offsets[1], offsets[0]
    return offsets[1][offsets[2]], offsets[0]  # MULTIPOLYGON: rings per polygon per feature


def _simplify(geoms: np.ndarray, tolerance: float, kind: str) -> np.ndarray:
    """Topology-preserving simplification, fast where it can be.

    Polygons go through GEOS's topology-preserving simplifier. Lines go through Douglas-Peucker
    (ten times faster), and any line that comes out self-intersecting is redone with the
    topology-preserving simplifier, so no line gains a crossing the finer level did not have.
    """
    if kind == "polygon":
        return shapely.simplify(geoms, tolerance, preserve_topology=True)
    out = shapely.simplify(geoms, tolerance, preserve_topology=False)
    crossed = ~shapely.is_simple(out)
    if crossed.any():
        out[crossed] = shapely.simplify(geoms[crossed], tolerance, preserve_topology=True)
    return out


def _level_tags(
    geom_type: Any, xy: np.ndarray, offsets: tuple[np.ndarray, ...], zooms: Sequence[int], kind: str
) -> np.ndarray:
    """Coarsest level keeping each vertex: the vertex index rides through simplification as Z."""
    n = len(xy)
    tags = np.full(n, len(zooms), dtype=np.uint8)
    xyz = np.column_stack([xy.astype(np.float64), np.arange(n, dtype=np.float64)])
    current = shapely.from_ragged_array(geom_type, xyz, offsets)
    for level in range(len(zooms) - 1, -1, -1):
        current = _simplify(current, tolerance_m(zooms[level]), kind)
        kept = shapely.get_coordinates(current, include_z=True)[:, 2].astype(np.int64)
        tags[kept] = level
    return tags


def prepare(gdf: gpd.GeoDataFrame, *, zooms: Sequence[int] = LEVEL_ZOOMS, what: str = "layer") -> Prepared:
    """Project, quantise to whole Web Mercator metres and tag vertices by simplification level.

    Parameters
    ----------
    gdf : the layer, in any CRS; it is not modified.
    zooms : zooms that get their own level (tolerance: half a pixel at that zoom).
    what : layer name for error messages.

    Returns
    -------
    Prepared

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> line = LineString([(0, 0), (1000, 3), (2000, 0)])
    >>> p = prepare(gpd.GeoDataFrame(geometry=[line], crs="EPSG:3857"), zooms=(10, 18))
    >>> p.xy.tolist(), p.tags.tolist()   # the middle vertex is 3 m off: dropped at z10, kept at z18
    ([[0, 0], [1000, 3], [2000, 0]], [0, 1, 0])
    """
    require_crs(gdf, what)
    geoms = np.asarray(gdf.geometry.to_crs(MERCATOR).values, dtype=object)
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    rows = np.flatnonzero(keep)
    geoms = geoms[keep]
    if len(geoms) == 0:
        zero = np.zeros(1, dtype=np.int64)
        return Prepared(
            "point", rows, zero, zero, np.zeros((0, 2), np.int64), np.zeros(0, np.uint8), tuple(zooms)
        )
    kind = _layer_kind(geoms, what)
    geom_type, coords, offsets = shapely.to_ragged_array(geoms)
    xy = np.rint(coords[:, :2]).astype(np.int64)
    if kind == "point":
        tags = np.zeros(len(xy), dtype=np.uint8)
    else:
        tags = _level_tags(geom_type, xy, offsets, zooms, kind)
    ring_offsets, vertex_offsets = _structure(kind, geom_type, offsets, len(xy), len(geoms))
    if kind == "polygon":  # drop each ring's closing vertex: the canvas closes paths itself
        keep_v = np.ones(len(xy), dtype=bool)
        keep_v[vertex_offsets[1:] - 1] = False
        xy, tags = xy[keep_v], tags[keep_v]
        vertex_offsets = vertex_offsets - np.arange(len(vertex_offsets))
    return Prepared(
        kind,
        rows,
        np.asarray(ring_offsets, np.int64),
        np.asarray(vertex_offsets, np.int64),
        xy,
        tags,
        tuple(zooms),
    )


def level_geometries(prepared: Prepared, level: int) -> gpd.GeoSeries:
    """The prepared geometry at ``level`` (``len(zooms)`` = full detail), EPSG:3857, one per feature.

    This is what the browser draws at that level (polygons as their closed rings); tests compare
    the decoded payload with it.
    """
    keep = prepared.tags <= level
    out = []
    ro, vo, xy = prepared.ring_offsets, prepared.vertex_offsets, prepared.xy.astype(np.float64)
    for f in range(prepared.n_features):
        rings = [xy[vo[r] : vo[r + 1]][keep[vo[r] : vo[r + 1]]] for r in range(ro[f], ro[f + 1])]
        if prepared.kind == "point":
            out.append(
                shapely.multipoints(np.concatenate(rings)) if len(rings) > 1 else shapely.points(rings[0][0])
            )
        elif prepared.kind == "line":
            parts = [shapely.linestrings(r) for r in rings]
            out.append(parts[0] if len(parts) == 1 else shapely.multilinestrings(parts))
        else:  # polygon rings as closed outlines (the canvas fills them with the even-odd rule)
            closed = [shapely.linestrings(np.vstack([r, r[:1]])) for r in rings]
            out.append(shapely.multilinestrings(closed))
    return gpd.GeoSeries(out, crs=MERCATOR)


def _varints(values: np.ndarray) -> np.ndarray:
    """Unsigned LEB128 varints of non-negative integers, vectorised (one pass per byte position)."""
    v = np.asarray(values, dtype=np.uint64)
    nbytes = np.ones(len(v), dtype=np.int64)
    rest = v >> np.uint64(7)
    while rest.any():
        nbytes += rest > 0
        rest >>= np.uint64(7)
    starts = np.cumsum(nbytes) - nbytes
    out = np.empty(int(nbytes.sum()), dtype=np.uint8)
    sel = np.arange(len(v))
    shift = 0
    while len(sel):
        low = ((v[sel] >> np.uint64(shift)) & np.uint64(0x7F)).astype(np.uint8)
        more = nbytes[sel] > shift // 7 + 1
        out[starts[sel] + shift // 7] = low | (more.astype(np.uint8) << 7)
        sel = sel[more]
        shift += 7
    return out


def _zigzag(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.int64)
    return ((v << 1) ^ (v >> 63)).astype(np.uint64)


def _residuals(xy: np.ndarray, vertex_offsets: np.ndarray) -> np.ndarray:
    """Per ring: first vertex minus the previous ring's first, then one step, then change of step."""
    n = len(xy)
    if n == 0:
        return np.zeros((0, 2), dtype=np.int64)
    starts = vertex_offsets[:-1][np.diff(vertex_offsets) > 0]
    first = np.zeros(n, dtype=bool)
    first[starts] = True
    step = np.diff(xy, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    step[starts] = xy[starts] - np.vstack([np.zeros((1, 2), np.int64), xy[starts[:-1]]])
    second = np.zeros(n, dtype=bool)
    second[1:] = first[:-1] & ~first[1:]
    out = step.copy()
    later = np.flatnonzero(~first & ~second)
    out[later] = step[later] - step[later - 1]
    return out


def encode(prepared: Prepared, style_codes: np.ndarray, *, deflate: bool = True) -> bytes:
    """The layer's geometry as bytes: varint counts, style codes, vertex residuals, level tags.

    Layout (every number an unsigned LEB128 varint; signed ones zigzag-coded): rings per feature,
    vertices per ring, style code per feature, then ``x, y`` per vertex (see :func:`_residuals`),
    then the level tag per vertex. ``deflate`` compresses the whole with zlib.
    """
    counts = np.concatenate(
        [
            np.diff(prepared.ring_offsets),
            np.diff(prepared.vertex_offsets),
            np.asarray(style_codes, dtype=np.int64),
        ]
    ).astype(np.uint64)
    coords = _zigzag(_residuals(prepared.xy, prepared.vertex_offsets).reshape(-1))
    raw = np.concatenate([_varints(counts), _varints(coords), prepared.tags.astype(np.uint8)]).tobytes()
    return zlib.compress(raw, 6) if deflate else raw


def style_table(gdf: pd.DataFrame, spec: LayerSpec) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Per-feature style codes and the styles they index, in the normal path's stacking order.

    The split by status and category is the one :func:`.layers.layer_group` draws with, so both
    paths give a feature the same constant style; code order is draw order (later on top).
    """
    from .layers import _splits  # the normal path's split, shared so both paths agree

    column = (spec.style.get("categories") or {}).get("column")
    light = pd.DataFrame({k: gdf[k].to_numpy() for k in ("status", column) if k and k in gdf.columns})
    light["_pos"] = np.arange(len(gdf))
    codes = np.zeros(len(gdf), dtype=np.int64)
    styles: list[dict[str, Any]] = []
    for status, colour, part in _splits(light, spec):
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
    :func:`.popup.popup_html`, whose formatting (units, thousands separators, source links) and
    escaping this reuses.
    """
    fields = [f for f in (spec.popup or [c for c in gdf.columns if c != gdf.geometry.name])]
    labels, columns = [], []
    for name in fields:
        col = spec.columns.get(name)
        labels.append(html.escape(col.title if col else name.replace("_", " ").capitalize()))
        values = gdf[name] if name in gdf.columns else pd.Series([None] * len(gdf), dtype=object)
        columns.append(_column_texts(values, _formatter(name, col)))
    tip_fields = [f for f in spec.tooltip if f in gdf.columns]
    records = gdf[tip_fields].to_dict("records") if tip_fields else [{}] * len(gdf)
    tooltips = [tooltip_text(r, tip_fields) for r in records]
    names = (
        _column_texts(gdf["name"], lambda v: html.escape(str(v)))
        if "name" in gdf.columns
        else [""] * len(gdf)
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


class _Raw(Element):
    """Text placed into the page as it is: never compiled as a Jinja template nor JSON-encoded."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "RawText"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class BigLayer(MacroElement):
    """A large layer on the map: its JavaScript once per page, its payload, and the canvas layer.

    Add it to a ``folium.FeatureGroup`` (the layer control toggles the group). The payload goes
    into the page body as two ``<script>`` data blocks (base64 geometry, attribute JSON) when the
    figure renders, bypassing Jinja and ``json`` for the bulk of the bytes.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = corridormapBig.layer({{ this.options|tojson }})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, geometry: bytes, attributes: Mapping[str, Any], options: Mapping[str, Any]) -> None:
        super().__init__()
        self._name = "BigLayer"
        self.geometry_text = base64.b64encode(geometry).decode("ascii")
        text = json.dumps(attributes, ensure_ascii=False, separators=(",", ":"))
        self.attributes_text = text.replace("</", "<\\/")
        name = self.get_name()
        self.options = {**options, "payload": f"{name}_geometry", "attributes": f"{name}_attributes"}

    @property
    def size_bytes(self) -> int:
        """Bytes this layer adds to the page (payload and attributes, UTF-8)."""
        return len(self.geometry_text) + len(self.attributes_text.encode("utf-8"))

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise TypeError("a BigLayer renders only inside a map (add its FeatureGroup to a folium.Map)")
        figure.header.add_child(_Raw(f"<script>\n{js_source()}\n</script>"), name="corridormap_big_js")
        name = self.get_name()
        blocks = (
            f'<script type="application/octet-stream" id="{name}_geometry">{self.geometry_text}</script>\n'
            f'<script type="application/json" id="{name}_attributes">{self.attributes_text}</script>'
        )
        figure.html.add_child(_Raw(blocks), name=f"{name}_data")
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
    deflate : zlib-compress the geometry (the browser inflates it natively).
    budget_bytes : warn (and log) when the layer adds more than this to the page.

    Returns
    -------
    BigLayer, to add to the layer's ``folium.FeatureGroup``.
    """
    from .layers import pane_name

    prepared = prepare(gdf, zooms=zooms, what=spec.name)
    kept = gdf.iloc[prepared.rows]
    codes, styles = style_table(kept, spec)
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
    layer = BigLayer(encode(prepared, codes, deflate=deflate), attribute_table(kept, spec), options)
    _check_budget(spec.name, layer, budget_bytes)
    return layer
