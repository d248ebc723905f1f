"""Geometry of the large-layer path: per-zoom simplification, quantisation and the byte encoding.

:func:`prepare` projects a layer to Web Mercator (EPSG:3857, whose metres map linearly onto screen
pixels at every zoom), rounds coordinates to whole metres (~1 m) and simplifies it once per level
in :data:`LEVEL_ZOOMS`, at half a pixel of that zoom, without letting a line gain a crossing or a
polygon ring collapse (see :func:`_simplify`). Levels are cascaded (each from the finer one), so
every level's vertices are a subset of the finer level's: each vertex is stored once, tagged with
the coarsest level that keeps it. :func:`encode` writes it all as zigzag varints, deflated;
``js/decode.js`` reads it back in the browser, and the tests hold an independent decoder.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from ..crs import require_crs
from ..errors import LayerValidationError

__all__ = [
    "LEVEL_ZOOMS",
    "PIXEL_TOLERANCE",
    "MERCATOR",
    "Prepared",
    "prepare",
    "encode",
    "level_geometries",
    "text7",
    "tolerance_m",
    "vertex_count",
]

LEVEL_ZOOMS = (4, 6, 8, 10, 12, 14)
"""Zooms with their own simplified level; above the last, full detail (quantised) is drawn."""
PIXEL_TOLERANCE = 0.5
"""Simplification tolerance, in screen pixels at the level's zoom."""
MERCATOR = "EPSG:3857"
WORLD_M = 2 * 20037508.342789244


def tolerance_m(zoom: int, *, pixels: float = PIXEL_TOLERANCE) -> float:
    """Web Mercator metres covered by ``pixels`` screen pixels at ``zoom`` (256-px tiles).

    >>> round(tolerance_m(0, pixels=1.0))
    156543
    """
    return pixels * WORLD_M / (256 * 2**zoom)


def vertex_count(gdf: gpd.GeoDataFrame) -> int:
    """Total number of vertices of the layer's geometries."""
    return int(shapely.get_num_coordinates(gdf.geometry.values).sum())


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
    del xyz  # GEOS holds its own copy (at 10M vertices, each of these is 240 MB)
    for level in range(len(zooms) - 1, -1, -1):
        current = _simplify(current, tolerance_m(zooms[level]), kind)
        tags[shapely.get_coordinates(current, include_z=True)[:, 2].astype(np.int64)] = level
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
    if not (np.isfinite(coords[:, :2]).all() and (np.abs(coords[:, 1]) <= WORLD_M / 2).all()):
        raise LayerValidationError(
            f"layer {what!r}: coordinates beyond the web map's range (latitude past ±85°, or not finite). "
            "Fix: clip the layer to the area of interest before drawing it"
        )
    xy = np.rint(coords[:, :2]).astype(np.int64)
    n_features = len(geoms)
    del coords, geoms  # the projected copies are not needed any more (memory at 10M vertices)
    if kind == "point":
        tags = np.zeros(len(xy), dtype=np.uint8)
    else:
        tags = _level_tags(geom_type, xy, offsets, zooms, kind)
    ring_offsets, vertex_offsets = _structure(kind, geom_type, offsets, len(xy), n_features)
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
    """Per ring: first vertex minus the previous ring's first, then one step, then change of step.

    In int32 (Web Mercator metres stay within ±2.1e7, their second differences within ±8.1e7):
    half the memory of int64 at ten million vertices."""
    n = len(xy)
    if n == 0:
        return np.zeros((0, 2), dtype=np.int32)
    xy = xy.astype(np.int32)
    starts = vertex_offsets[:-1][np.diff(vertex_offsets) > 0]
    first = np.zeros(n, dtype=bool)
    first[starts] = True
    out = np.empty_like(xy)
    out[0] = xy[0]
    np.subtract(xy[1:], xy[:-1], out=out[1:])  # steps
    later = np.flatnonzero(~first)
    later = later[later >= 2]
    later = later[~first[later - 1]]  # neither a ring's first nor its second vertex
    out[later] -= xy[later - 1] - xy[later - 2]  # change of step
    out[starts[1:]] = xy[starts[1:]] - xy[starts[:-1]]
    out[starts[0]] = xy[starts[0]]
    return out


_CHUNK = 1 << 18  # numbers encoded at a time (bounds the varint temporaries)


def _varints_chunked(values: np.ndarray, *, signed: bool) -> np.ndarray:
    """:func:`_varints` (of :func:`_zigzag` values when ``signed``), a chunk at a time."""
    parts = [
        _varints(_zigzag(values[i : i + _CHUNK]) if signed else values[i : i + _CHUNK])
        for i in range(0, len(values), _CHUNK)
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)


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
    coords = _varints_chunked(_residuals(prepared.xy, prepared.vertex_offsets).reshape(-1), signed=True)
    raw = np.concatenate([_varints(counts), coords, prepared.tags.astype(np.uint8)]).tobytes()
    return zlib.compress(raw, 6) if deflate else raw  # level 6: 4.5 % smaller than 1, +0.1 s per 1M vertices


TEXT7_ESCAPED = (0, 13, 34, 39, 60)
"""7-bit values :func:`text7` writes as two-byte characters: NUL and CR (the HTML parser replaces
them), ``"``, ``'`` and ``<`` (so no ``</script``, ``<!--`` nor attribute can appear in the text)."""


def text7(data: bytes) -> str:
    """Bytes as text for a ``<script>`` data block, 7 bits a character (base64 takes 6).

    The bits of ``data`` (most significant first, zero-padded) are cut into 7-bit values, each
    written as the character of that code point, or, for the values in :data:`TEXT7_ESCAPED`, as
    U+0100 plus the value (two bytes of UTF-8). A reader masks each character's code with 127 and
    keeps the first ``len(data)`` whole bytes of the bits: ``floor(7 * characters / 8)``. Deflated
    (near-random) data takes about 1.19 bytes of UTF-8 a byte, against base64's 1.33.

    >>> text7(bytes(7)) == chr(0x100) * 8  # 56 zero bits: eight NULs, each escaped
    True
    >>> round(len(text7(bytes(range(256)) * 100).encode("utf-8")) / 25_600, 3)
    1.188
    """
    step = 7 << 20  # whole 7-byte blocks a chunk: the chunks' texts join into the whole's
    if len(data) > step:
        return "".join(text7(data[i : i + step]) for i in range(0, len(data), step))
    raw = np.frombuffer(data, dtype=np.uint8)
    n_values = -(-8 * len(raw) // 7)
    padded = np.zeros(-(-len(raw) // 7) * 7, dtype=np.uint64)
    padded[: len(raw)] = raw
    blocks = padded.reshape(-1, 7)  # 7 bytes = 56 bits = 8 values
    word = np.zeros(len(blocks), dtype=np.uint64)
    for j in range(7):
        word = (word << np.uint64(8)) | blocks[:, j]
    shifts = np.arange(49, -1, -7, dtype=np.uint64)
    values = ((word[:, None] >> shifts) & np.uint64(127)).astype(np.uint16).reshape(-1)[:n_values]
    escaped = np.isin(values, TEXT7_ESCAPED)
    values[escaped] += 0x100
    return values.astype("<u2").tobytes().decode("utf-16-le")
