"""Geometry of the large-layer path: per-zoom simplification, quantisation and the byte encoding.

:func:`prepare` projects a layer to Web Mercator (EPSG:3857, whose metres map linearly onto screen
pixels at every zoom), rounds coordinates to whole metres (~1 m) and simplifies it once per level
in :data:`LEVEL_ZOOMS`, at half a pixel of that zoom, without letting a line gain a crossing or a
polygon ring collapse (see :func:`_simplify`). Levels are cascaded (each from the finer one), so
every level's vertices are a subset of the finer level's: each vertex is stored once, tagged with
the coarsest level that keeps it. :func:`encode` writes two parts (:class:`Encoded`): the vertices
of the coarsest levels (:data:`COARSE_LEVEL`), which the map paints first, then the others. A
vertex is written as the miss of "the last step again", turned into the frame of that step
(:func:`along_across`: the along component is small and shares a byte with the level tag), in
sections per step length (:data:`STEP_BUCKETS`) so that deflate's Huffman tables fit each;
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
    "COARSE_LEVEL",
    "STEP_BUCKETS",
    "Encoded",
    "along_across",
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

LEVEL_ZOOMS = (4, 6, 8, 10, 12)
"""Zooms with their own simplified level; above the last (from zoom 14), full detail (quantised) is
drawn. A z14 level would keep 61 % of a road network's vertices: its tag costs more bytes than the
few features in a z14 view cost to draw at full detail."""
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


COARSE_LEVEL = 1
"""Levels ``0..COARSE_LEVEL`` (zooms 4 and 6 by default: a map of the whole belt opens at
zoom 5 to 7) are written again on their own, first:
the map's first paint decodes only them (a few per cent of a network's vertices)."""
_CHUNK = 1 << 20  # vertices encoded at a time (bounds the temporaries at ten million vertices)


def _round(x: np.ndarray) -> np.ndarray:
    """``floor(x + 0.5)``: the rounding ``js/decode.js`` does (``Math.floor``), not numpy's half-even."""
    return np.floor(x + 0.5)


def _quarter_turns(ex: np.ndarray, ey: np.ndarray) -> np.ndarray:
    """Quarter turns (0-3) bringing the step (ex, ey) to within 45° of the +x axis."""
    return np.where(np.abs(ex) >= np.abs(ey), np.where(ex >= 0, 0, 2), np.where(ey > 0, 1, 3))


def _turn(q: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) turned clockwise by ``q`` quarter turns (exact on integers)."""
    cases = [q == 0, q == 1, q == 2]
    return np.select(cases, [x, y, -x], -y), np.select(cases, [y, -x, -y], x)


def along_across(r: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Integer residuals ``r`` (n, 2) in the frame of the steps ``e`` (n, 2): (along, across) per row.

    A line's next vertex is predicted by repeating its last step ``e``; the miss ``r`` is mostly
    across the line (it turns) and little along it (steps change length slowly), so in that frame
    the along component is small and codes in a few bits. The rotation is reversible on integers:
    quarter turns, then three lifting shears (``x += round(p*y)``, ``y += round(q*x)``,
    ``x += round(p*y)``, with p = (L - ex)/ey, q = -ey/L, L = hypot), each rounded with ``floor(v +
    0.5)``. ``js/decode.js`` undoes them with the same IEEE double operations in reverse order.

    >>> along_across(np.array([[3, 40], [0, 0]]), np.array([[100, 0], [0, 0]])).tolist()
    [[3, 40], [0, 0]]
    >>> along_across(np.array([[-40, 3]]), np.array([[0, 100]])).tolist()  # a step north: turned
    [[3, 40]]
    """
    q = _quarter_turns(e[:, 0], e[:, 1])
    ux, uy = _turn(q, e[:, 0], e[:, 1])
    a, b = (v.astype(np.float64) for v in _turn(q, r[:, 0], r[:, 1]))
    m = uy != 0
    fx, fy = ux[m].astype(np.float64), uy[m].astype(np.float64)
    length = np.sqrt(fx * fx + fy * fy)
    p, s = (length - fx) / fy, -fy / length
    u1 = a[m] + _round(p * b[m])
    w1 = b[m] + _round(s * u1)
    a[m] = u1 + _round(p * w1)
    b[m] = w1
    return np.column_stack([a, b]).astype(np.int64)


STEP_BUCKETS = (32, 64, 128)
"""Edges (metres, the larger of the last step's |dx| and |dy|) of the contexts a vertex's symbol and
across component are written in: a long step turns by more metres, so each context gets its own
deflate section and Huffman table (2.6 % smaller on road-like lines than one section)."""
N_SECTIONS = 4 + 2 * (len(STEP_BUCKETS) + 1)


def _sequence_streams(
    xy: np.ndarray, vertex_offsets: np.ndarray, tags: np.ndarray, emit: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """The sections of a sequence of rings: symbols and numbers, in vertex order.

    A ring's first vertex is written as its offset from the previous ring's first vertex, its second
    as one step (both "heads", zigzag varints), and each later vertex as the miss of "the last step
    again" (:func:`along_across`): the along component, zigzagged, shares a symbol byte with the
    vertex's level tag (``16 * tag + min(zz, 15)``; the rest goes to the escape section when it is 15
    or more), the across component is a zigzag varint. Heads' symbols are ``16 * tag``. Vertices
    not emitted get symbol 0 (the fine part's mark for "the next coarse vertex") and no numbers.
    A later vertex's symbol and across component go to the sections of its step's context
    (:data:`STEP_BUCKETS`). Returns (symbol sections: heads then each context; head, escape
    sections; across sections).
    """
    n = len(xy)
    counts = np.diff(vertex_offsets)
    pos = np.arange(n) - np.repeat(vertex_offsets[:-1], counts)
    sym = np.zeros(n, dtype=np.uint8)
    context = np.zeros(n, dtype=np.uint8)  # 0 = head, 1 + bucket otherwise
    firsts = vertex_offsets[:-1][counts > 0]
    heads = np.flatnonzero((pos <= 1) & emit)
    ref = np.zeros((len(heads), 2), dtype=np.int64)
    second = pos[heads] == 1
    ref[second] = xy[heads[second] - 1]
    k = np.searchsorted(firsts, heads[~second])  # which ring's first vertex: from the one before
    ref[~second] = np.where((k > 0)[:, None], xy[firsts[np.maximum(k - 1, 0)]], 0)
    head = _zigzag((xy[heads] - ref).reshape(-1))
    sym[heads] = tags[heads] * 16
    body = np.flatnonzero(pos >= 2)
    edges = np.asarray(STEP_BUCKETS)
    across: list[list[np.ndarray]] = [[] for _ in range(len(edges) + 1)]
    escapes = []
    for i in range(0, len(body), _CHUNK):
        v = body[i : i + _CHUNK]
        step = xy[v - 1] - xy[v - 2]
        bucket = np.searchsorted(edges, np.abs(step).max(axis=1), side="right")
        context[v] = 1 + bucket
        out = emit[v]
        v, step, bucket = v[out], step[out], bucket[out]
        ab = along_across(xy[v] - xy[v - 1] - step, step)
        za = _zigzag(ab[:, 0])
        sym[v] = tags[v] * 16 + np.minimum(za, 15).astype(np.uint8)
        escapes.append(za[za >= 15] - np.uint64(15))
        zb = _zigzag(ab[:, 1])
        for b in range(len(edges) + 1):
            across[b].append(zb[bucket == b])
    symbols = [sym[context == c] for c in range(len(edges) + 2)]
    return (
        symbols,
        [head, np.concatenate(escapes) if escapes else np.zeros(0, np.uint64)],
        [np.concatenate(a) if a else np.zeros(0, np.uint64) for a in across],
    )


def _part(
    counts: np.ndarray, streams: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]
) -> list[bytes]:
    """One part: its sections' byte lengths (varints), then the sections: counts, head symbols,
    heads, escapes, then each context's symbols, then each context's across components."""
    symbols, (head, escapes), across = streams
    sections = [
        _varints(np.asarray(counts, dtype=np.uint64)).tobytes(),
        symbols[0].tobytes(),
        _varints_chunked(head).tobytes(),
        _varints_chunked(escapes).tobytes(),
        *(s.tobytes() for s in symbols[1:]),
        *(_varints_chunked(a).tobytes() for a in across),
    ]
    header = _varints(np.array([len(sections), *map(len, sections)], dtype=np.uint64)).tobytes()
    return [header, *sections]


def _deflate(sections: list[bytes]) -> bytes:
    """zlib of the sections: deflate (level 6) or, when smaller, Huffman coding alone with each
    section in blocks of its own (4 % smaller on road-like lines, whose numbers have few repeats).
    Both are plain zlib streams to the browser's ``DecompressionStream``."""
    plain = zlib.compress(b"".join(sections), 6)
    huffman = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_HUFFMAN_ONLY)
    coded = [huffman.compress(s) + huffman.flush(zlib.Z_BLOCK) for s in sections]
    coded.append(huffman.flush())
    return min(plain, b"".join(coded), key=len)


def _varints_chunked(values: np.ndarray) -> np.ndarray:
    """:func:`_varints`, a chunk at a time (bounds the temporaries)."""
    parts = [_varints(values[i : i + _CHUNK]) for i in range(0, len(values), _CHUNK)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)


@dataclass(frozen=True)
class Encoded:
    """A layer's geometry as two byte strings: the coarse levels alone, then what the rest adds.

    Attributes
    ----------
    coarse : the vertices of levels ``0..split`` (tags included), with rings, vertices per ring
        and style codes: enough to draw every zoom up to ``zooms[split] + 1``.
    fine : vertices per ring at full detail, then each vertex in order: a coarse one as a mark (its
        coordinates are in ``coarse``), a finer one with its tag and coordinates.
    split : the coarse part's finest level.
    coarse_vertices : vertices in the coarse part.
    """

    coarse: bytes
    fine: bytes
    split: int
    coarse_vertices: int


def encode(
    prepared: Prepared, style_codes: np.ndarray, *, deflate: bool = True, split: int = COARSE_LEVEL
) -> Encoded:
    """The layer's geometry as bytes: a coarse part to draw first and a fine part (see :class:`Encoded`).

    Each part is five sections, their byte lengths first (varints): counts (varints: the coarse
    part's rings per feature, its vertices per ring and the style code per feature; the fine part's
    vertices per ring), one symbol byte per vertex (level tag and the along component of its
    coordinates, see :func:`_sequence_streams`), ring heads (zigzag varints), across components
    (zigzag varints) and escaped along components (varints). Every vertex is stored once: a coarse
    vertex in the coarse part (against the coarse vertices before it), a finer one in the fine part
    (against the vertices before it at full detail). ``deflate`` compresses each part with zlib.
    """
    tags = prepared.tags.astype(np.uint8)
    if len(prepared.zooms) > 15:
        raise ValueError("at most 15 zoom levels (a level tag and 4 bits share a byte)")
    split = min(split, len(prepared.zooms))
    coarse = tags <= split
    c_offsets = np.concatenate([[0], np.cumsum(coarse)])[prepared.vertex_offsets]
    c_xy, c_tags = prepared.xy[coarse], tags[coarse]
    c_counts = np.concatenate(
        [np.diff(prepared.ring_offsets), np.diff(c_offsets), np.asarray(style_codes, dtype=np.int64)]
    )
    a = _part(c_counts, _sequence_streams(c_xy, c_offsets, c_tags, np.ones(len(c_xy), dtype=bool)))
    del c_xy
    f_counts = np.diff(prepared.vertex_offsets)
    b = _part(f_counts, _sequence_streams(prepared.xy, prepared.vertex_offsets, tags, ~coarse))
    if deflate:
        return Encoded(_deflate(a), _deflate(b), split, int(coarse.sum()))
    return Encoded(b"".join(a), b"".join(b), split, int(coarse.sum()))


TEXT7_ESCAPED = (0, 13, 60)
"""7-bit values :func:`text7` writes as two-byte characters: NUL and CR (the HTML parser replaces
them) and ``<`` (so no ``</script`` nor ``<!--`` can appear in the text). Inside a ``<script>``
data block nothing else is special: quotes and ``&`` are plain text there."""


def text7(data: bytes) -> str:
    """Bytes as text for a ``<script>`` data block, 7 bits a character (base64 takes 6).

    The bits of ``data`` (most significant first, zero-padded) are cut into 7-bit values, each
    written as the character of that code point, or, for the values in :data:`TEXT7_ESCAPED`, as
    U+0080 plus the value (two bytes of UTF-8; within Latin-1, so the browser keeps the text in
    one byte a character, not two). A reader masks each character's code with 127 and
    keeps the first ``len(data)`` whole bytes of the bits: ``floor(7 * characters / 8)``. Deflated
    (near-random) data takes about 1.17 bytes of UTF-8 a byte, against base64's 1.33.

    >>> text7(bytes(7)) == chr(0x80) * 8  # 56 zero bits: eight NULs, each escaped
    True
    >>> round(len(text7(bytes(range(256)) * 100).encode("utf-8")) / 25_600, 3)
    1.17
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
    values[escaped] += 0x80
    return values.astype("<u2").tobytes().decode("utf-16-le")
