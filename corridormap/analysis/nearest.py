"""Exact, vectorised nearest-feature search in the belt's metric CRS.

:func:`nearest_table` gives the same answers as ``geopandas.sjoin_nearest`` (nearest feature and
planar distance; ties to the target first in layer order) several times faster for many query points:

* any targets: the features are cut into 2-vertex segments (a point is a zero-length one); a
  regular grid over the query points gives each occupied cell the few segments that can be nearest
  to any point in it (every segment within the nearest distance from the centre of the cell's
  points' bounding box plus the box's diagonal), and numpy measures exactly those: for k = 1 slot
  by slot over the cells' candidate lists, keeping each point's best so far, or pair by pair where
  few points share the slots (few segments: cells x segments up to 20 million, and cells of 64
  points or fewer). The pairs are listed and measured a block of cells (and a range of points) at
  a time, at most :data:`PAIRS_PER_BLOCK`: a cell of points kilometres apart far from a dense
  cluster lists the whole cluster, and memory stays bounded however many points there are;
* k = 1 and many segments (OpenStreetMap-sized layers) or crowded cells: a KD-tree over samples along the
  segments (every vertex, more along long segments) bounds each point's nearest distance, and
  numpy measures exactly the segments of the samples within that bound widened by half the
  sample spacing (see :func:`_nearest_segment`); 25x ``sjoin_nearest`` (CPU) at 1M points against 1M
  vertices (``benchmarks/bench_nearest_scale.py``);
* k > 1 and many segments: the same samples bound each point's k-th nearest feature (the k-th
  distinct feature among its nearest samples) and the segments within that bound are measured
  and ranked (see :func:`_ranked_by_samples`);
* k > 1 otherwise: as (point, segment) pairs over the grid cells' candidates, then ranked, with
  cells no wider than a quarter of the targets' spacing so that few pairs are measured, and each
  cell's k-th feature distance from an STRtree radius search that widens until k are in it;
* point targets with k > 1: a KD-tree (scipy), k + 1 neighbours deep so ties are seen; the rare
  ambiguous rows are redone by the exact general path.

:func:`query_points` gives the metric query coordinates of any layer. Distances a user reads are
geodesic: :mod:`corridormap.analysis.geodesic` measures them on the ellipsoid on top of this search.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

from ..crs import BELT_CRS, require_crs, to_metric
from ..errors import LayerValidationError

__all__ = ["Grid", "count_bounds", "nearest_table", "nearest_columns", "query_points", "require_finite"]

_COLUMNS = ["point", "rank", "target", "distance_m", "x", "y"]


# --- the grid over the query points ---------------------------------------------------------------
@dataclass(frozen=True)
class Grid:
    """A regular grid over query points: each point's cell and the occupied cells' centres."""

    xy: NDArray[np.float64]
    point_cell: NDArray[np.intp]
    centres: NDArray[np.float64]
    reach: float  # no point of a cell is farther than this from its centre

    @classmethod
    def over(
        cls,
        xy: NDArray[np.float64],
        *,
        points_per_cell: float = 16.0,
        max_size: float = 20_000.0,
        min_size: float = 200.0,
    ) -> Grid:
        """Square cells (``min_size`` - ``max_size``) holding ``points_per_cell`` points each if the
        points filled their bounding box; 16 measured fastest for the access card over the corridor
        belt."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        columns = [xy[:, 0], xy[:, 1]]  # a column at a time: much faster than axis=0 reductions
        low = np.array([c.min() for c in columns]) if len(xy) else np.zeros(2)
        span = np.array([c.max() for c in columns]) - low if len(xy) else np.zeros(2)
        wanted = np.sqrt(span.prod() / max(len(xy) / points_per_cell, 1.0))
        size = float(np.clip(wanted, min_size, max(max_size, min_size)))
        key = np.floor((xy - low) / size).astype(np.int64)
        ny = int(key[:, 1].max()) + 1 if len(xy) else 1
        flat = key[:, 0] * ny + key[:, 1]
        size_all = (int(key[:, 0].max()) + 1) * ny if len(xy) else 0
        if size_all <= 8 * len(xy) + 1_000_000:  # few enough cells: count instead of sorting
            occupied = np.bincount(flat, minlength=size_all) > 0
            cells = np.flatnonzero(occupied)
            point_cell = (np.cumsum(occupied) - 1)[flat]
        else:
            cells, point_cell = np.unique(flat, return_inverse=True)
        centres = low + (np.column_stack([cells // ny, cells % ny]) + 0.5) * size
        return cls(xy, point_cell.astype(np.intp).ravel(), centres, size * np.sqrt(0.5))


# --- segments of the targets ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Segments:
    ax: NDArray[np.float64]
    ay: NDArray[np.float64]
    dx: NDArray[np.float64]
    dy: NDArray[np.float64]
    inv_len2: NDArray[np.float64]  # 0 for zero-length segments (point targets)
    feature: NDArray[np.intp]
    all_points: bool  # every segment has zero length

    @classmethod
    def of(cls, geoms: NDArray[Any]) -> _Segments:
        """Every 2-vertex segment (points as zero-length ones) of ``geoms``, with its feature."""
        parts, feature = shapely.get_parts(geoms, return_index=True)
        polygonal = shapely.get_type_id(parts) == 3
        if polygonal.any():
            rings, ring_part = shapely.get_rings(parts[polygonal], return_index=True)
            feature = np.concatenate([feature[~polygonal], feature[polygonal][ring_part]])
            parts = np.concatenate([parts[~polygonal], rings])
        coords, owner = shapely.get_coordinates(parts, return_index=True)
        is_point = (shapely.get_type_id(parts) == 0)[owner]
        keep = np.r_[owner[1:] == owner[:-1], False] | is_point
        start = coords[keep]
        end = np.where(is_point[keep, None], start, np.roll(coords, -1, axis=0)[keep])
        owner_feature = feature[owner[keep]].astype(np.intp)
        if len(owner_feature) and (owner_feature[1:] < owner_feature[:-1]).any():  # polygons' rings
            by_feature = np.argsort(owner_feature, kind="stable")  # each feature's segments together
            start, end, owner_feature = start[by_feature], end[by_feature], owner_feature[by_feature]
        d = end - start
        length2 = (d * d).sum(axis=1)
        inv = np.divide(1.0, length2, out=np.zeros_like(length2), where=length2 > 0)
        return cls(start[:, 0], start[:, 1], d[:, 0], d[:, 1], inv, owner_feature, not inv.any())

    def boxes(self) -> NDArray[np.float64]:
        """Each segment's bounding box, as ``shapely.bounds`` gives it."""
        ex, ey = self.ax + self.dx, self.ay + self.dy
        return np.column_stack(
            [
                np.minimum(self.ax, ex),
                np.minimum(self.ay, ey),
                np.maximum(self.ax, ex),
                np.maximum(self.ay, ey),
            ]
        )

    def tree(self) -> shapely.STRtree:
        start = np.column_stack([self.ax, self.ay])
        return shapely.STRtree(
            shapely.linestrings(np.stack([start, start + np.column_stack([self.dx, self.dy])], 1))
        )


# --- the search -----------------------------------------------------------------------------------
Columns = dict[str, NDArray[Any]]


def _empty() -> Columns:
    return {c: np.empty(0, dtype=np.intp if i < 3 else float) for i, c in enumerate(_COLUMNS)}


def nearest_table(
    points_xy: NDArray[np.float64],
    targets: NDArray[Any],
    *,
    k: int = 1,
    max_distance_m: float | None = None,
    grid: Grid | None = None,
) -> pd.DataFrame:
    """Exact k nearest target features of each point, all in one metric CRS.

    Parameters
    ----------
    points_xy : ndarray of shape (n, 2)
        Query coordinates (metres).
    targets : ndarray of shapely geometries
        Target features in the same CRS: points, lines or polygons (inside a polygon is 0 m).
    k : int
        How many distinct target features per point.
    max_distance_m : float, optional
        Ignore targets farther than this (planar metres).
    grid : Grid, optional
        ``Grid.over(points_xy)``, to share between calls with the same points.

    Returns
    -------
    DataFrame
        Long format, one row per (point, rank), sorted: ``point`` and ``target`` are positions,
        ``rank`` starts at 1, ``distance_m`` is planar, ``x, y`` the nearest location on the target.
        Points with nothing in reach have no rows; ties go to the lower target position.

    Raises
    ------
    LayerValidationError
        A query point or a target feature with a NaN or infinite coordinate (named by position);
        missing and empty targets are skipped (they have no location).
    """
    return pd.DataFrame(nearest_columns(points_xy, targets, k=k, max_distance_m=max_distance_m, grid=grid))


def nearest_columns(
    points_xy: NDArray[np.float64],
    targets: NDArray[Any],
    *,
    k: int = 1,
    max_distance_m: float | None = None,
    grid: Grid | None = None,
    second: float | None = None,
    second_per_m: float | None = None,
    second_plus_m: float = 0.0,
) -> Columns:
    """:func:`nearest_table` as a dict of numpy arrays (no pandas on the way).

    ``second``: also a column ``second_m``, for each point a lower bound on the distance to the
    nearest feature other than the k found (the nearest other feature measured, or the radius
    within which every feature was measured, at least ``(1 + s)`` times the k-th distance ``d``
    with ``s = min(second, second_per_m * d)``, or ``second``, plus ``second_plus_m``; at most
    ``max_distance_m``). The
    geodesic re-rank uses it to find the few points that can have another feature within the
    scale factor's ring (see :func:`corridormap.analysis.geodesic.geodesic_nearest`).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if (
        (second is not None and not second >= 0)
        or (second_per_m is not None and not second_per_m >= 0)
        or not second_plus_m >= 0
    ):
        raise ValueError(
            f"second is a slack of 0 or more, got {second} (per metre {second_per_m}, plus {second_plus_m} m)"
        )
    xy = np.asarray(points_xy, dtype=float).reshape(-1, 2)
    raw = np.asarray(targets, dtype=object).ravel()
    valid = np.flatnonzero(~(shapely.is_missing(raw) | shapely.is_empty(raw)))
    geoms = raw[valid]
    bad_xy = np.flatnonzero(~np.isfinite(xy).all(axis=1))
    if len(bad_xy):
        raise LayerValidationError(
            f"nearest search: {len(bad_xy)} query point(s) have a NaN or infinite coordinate (position "
            f"{_listed(bad_xy)}). Fix: give them a real location or leave them out"
        )
    require_finite(geoms, "targets", valid)
    max_m = np.inf if max_distance_m is None else float(max_distance_m)
    if len(xy) == 0 or len(geoms) == 0:
        table = _empty()
        if second is not None:
            table["second_m"] = np.empty(0)
    elif k > 1 and (shapely.get_type_id(geoms) == 0).all():
        table = _nearest_points(xy, geoms, k=k + (second is not None), max_m=max_m)
        if second is not None:  # the (k+1)-th nearest, else nothing within max_m
            table = _split_next(table, np.full(len(xy), max_m), k)
    else:
        slack = None if second is None else (float(second), second_per_m, float(second_plus_m))
        table = _nearest_segments(grid or Grid.over(xy), geoms, k=k, max_m=max_m, slack=slack)
    table["target"] = valid[table["target"]]
    return table


def _listed(labels: Any, most: int = 5) -> str:
    shown = ", ".join(str(v) for v in list(labels)[:most])
    return shown + (" and more" if len(labels) > most else "")


def require_finite(geoms: NDArray[Any], what: str, labels: Any, *, noun: str = "") -> None:
    """Refuse target features with a NaN or infinite coordinate (they would measure as NaN or inf
    and drop out of the ranking, or be ranked with no distance), naming them by ``labels``."""
    coords = shapely.get_coordinates(geoms)
    if np.isfinite(coords).all():
        return
    _, owner = shapely.get_coordinates(geoms, return_index=True)
    bad = np.unique(owner[~np.isfinite(coords).all(axis=1)])
    named = _listed(np.asarray(labels)[bad])
    raise LayerValidationError(
        f"{what}: {len(bad)} feature(s) have a NaN or infinite coordinate ({noun}{named}). "
        "Fix: give them real coordinates or drop them"
    )


def _split_next(table: Columns, beyond: NDArray[np.float64], k: int) -> Columns:
    """Ranks 1-k of a table ranked k + 1 deep, with ``second_m``: the (k+1)-th distance, else
    ``beyond`` (per point)."""
    nxt = table["rank"] == k + 1
    second = beyond.copy()
    np.minimum.at(second, table["point"][nxt], table["distance_m"][nxt])
    top = ~nxt
    out = {c: v[top] for c, v in table.items()}
    out["second_m"] = second[out["point"]]
    return out


def _nearest_points(xy: NDArray[np.float64], geoms: NDArray[Any], *, k: int, max_m: float) -> Columns:
    """Point targets by KD-tree; a tie at the k-th place may hide a lower target: redo those rows."""
    from scipy.spatial import cKDTree

    coords = shapely.get_coordinates(geoms)
    kk = min(len(coords), k + 1)
    d, i = cKDTree(coords).query(xy, k=kk, distance_upper_bound=max_m * (1 + 1e-12))
    d, i = d.reshape(len(xy), kk), i.reshape(len(xy), kk)
    take = min(k, kk)
    ambiguous = np.isfinite(d[:, k]) & (d[:, k - 1] == d[:, k]) if kk > k else np.zeros(len(xy), bool)
    if take > 1:  # order ties inside the first k by target position
        tied = np.flatnonzero((d[:, 1:take] == d[:, : take - 1]).any(axis=1))  # not inf - inf
        order = np.lexsort((i[tied, :take], d[tied, :take]), axis=1)
        d[tied, :take] = np.take_along_axis(d[tied, :take], order, 1)
        i[tied, :take] = np.take_along_axis(i[tied, :take], order, 1)
    rows, ranks = np.nonzero(np.isfinite(d[:, :take]) & ~ambiguous[:, None])
    hit = i[rows, ranks]
    table = {
        "point": rows,
        "rank": ranks + 1,
        "target": hit,
        "distance_m": d[rows, ranks],
        "x": coords[hit, 0],
        "y": coords[hit, 1],
    }
    if ambiguous.any():
        redo = _nearest_segments(Grid.over(xy[ambiguous]), geoms, k=k, max_m=max_m)
        redo["point"] = np.flatnonzero(ambiguous)[redo["point"]]
        order = np.lexsort((np.r_[table["rank"], redo["rank"]], np.r_[table["point"], redo["point"]]))
        table = {c: np.r_[table[c], redo[c]][order] for c in _COLUMNS}
    return table


def _measure(x: Any, y: Any, segs: _Segments, s: Any) -> tuple[Any, Any]:
    """Squared distance from points ``x, y`` to segments ``s`` (arrays that broadcast), and the
    fraction (0-1) along each segment of the nearest location."""
    ex, ey = x - segs.ax[s], y - segs.ay[s]
    if segs.all_points:  # the nearest location is the start, whatever the point
        ex *= ex
        ey *= ey
        ex += ey
        return ex, np.zeros(ex.shape)
    dx, dy = segs.dx[s], segs.dy[s]
    t = ex * dx
    t += ey * dy
    t *= segs.inv_len2[s]
    np.clip(t, 0.0, 1.0, out=t)
    ex -= t * dx
    ey -= t * dy
    ex *= ex
    ey *= ey
    ex += ey
    return ex, t


_DENSE_LIMIT = 20_000_000  # cells x segments measured with numpy (in blocks); beyond, an STRtree
_CROWDED = 64  # points per grid cell beyond which k = 1 goes by samples (the sweep measures every
# point against all of its cell's candidates)


PAIRS_PER_BLOCK = 250_000  # candidate pairs the grid search lists and measures at once (~25 MB)


@dataclass(frozen=True)
class _Block:
    """The candidate pairs of a range of the grid's cells: every segment that can be among any of
    their points' k nearest (see :func:`_pair_blocks`)."""

    points: NDArray[np.intp]  # the block's points (positions in the whole grid), grouped by cell
    first: int  # where they start in the grid's points ordered by cell (:func:`_by_cell`)
    grid: Grid  # over those points alone: cells numbered from 0 within the block
    cell_i: NDArray[np.intp]  # pairs sorted by cell, then segment
    seg_i: NDArray[np.intp]
    cover: NDArray[np.float64]  # per cell: every segment this near any of its points is listed


def _pair_blocks(
    grid: Grid,
    segs: _Segments,
    geoms: NDArray[Any],
    *,
    k: int,
    max_m: float,
    slack: Slack = None,
    budget: int | None = None,
) -> Iterator[_Block]:
    """(cell, segment) candidate pairs, a range of cells at a time: per cell, every segment that
    can be among any of its points' k nearest, and how near its points every segment is listed.

    Each cell is measured from the centre c of its points' bounding box, ``r`` (half its
    diagonal) from each of them (a cell of one point: that point, 0 m). For a point p of the cell,
    d_k(p) <= d_k(c) + r, so a segment can only matter to p if
    d(c, segment) <= min(d_k(c) + r, max) + r. ``slack`` lists more: every segment within that
    widened (so within ``d_k(p)`` widened of each point), but not past d_(k+1)(c) + 2 r when the
    (k+1)-th feature is nearer (every segment within d_(k+1)(p) is then listed: ``second_m``
    exact, and a cluster seen from a point far away is not listed whole).

    A cell seen from far away can list a whole cluster of segments (its reach is wider than the
    cluster), so the pairs go in blocks of at most about ``budget`` (:data:`PAIRS_PER_BLOCK`;
    more only for a single cell, or a single row of the dense measure): the memory stays bounded
    whatever the number of points.
    """
    budget = PAIRS_PER_BLOCK if budget is None else budget
    per_cell = np.bincount(grid.point_cell, minlength=len(grid.centres))
    first_point = np.r_[0, np.cumsum(per_cell)]
    by_cell = _by_cell(grid)
    cells = _Cells.of(grid)
    if len(grid.centres) * len(segs.ax) <= _DENSE_LIMIT:
        ranges = _dense_pairs(cells, segs, k=k, max_m=max_m, slack=slack, budget=budget)
    else:
        ranges = _tree_pairs(cells, segs, geoms, k=k, max_m=max_m, slack=slack, budget=budget)
    for lo, hi, cell_i, seg_i, cover in ranges:
        points = by_cell[first_point[lo] : first_point[hi]]
        sub = Grid(grid.xy[points], grid.point_cell[points] - lo, grid.centres[lo:hi], grid.reach)
        yield _Block(points, int(first_point[lo]), sub, cell_i, seg_i, cover)


@dataclass(frozen=True)
class _Cells:
    """The grid's occupied cells as the bounding boxes of their points: each box's centre, and half
    its diagonal (no point of the cell is farther from the centre)."""

    centre: NDArray[np.float64]
    reach: NDArray[np.float64]

    @classmethod
    def of(cls, grid: Grid) -> _Cells:
        """The occupied cells of ``grid``."""
        low, high = np.full(grid.centres.shape, np.inf), np.full(grid.centres.shape, -np.inf)
        for i in (0, 1):
            np.minimum.at(low[:, i], grid.point_cell, grid.xy[:, i])
            np.maximum.at(high[:, i], grid.point_cell, grid.xy[:, i])
        return cls((low + high) / 2.0, np.hypot(high[:, 0] - low[:, 0], high[:, 1] - low[:, 1]) / 2.0)


def _by_cell(grid: Grid) -> NDArray[np.intp]:
    """The grid's points ordered by cell (stable; small ints: a radix sort up to 65,536 cells)."""
    return np.argsort(grid.point_cell.astype(np.min_scalar_type(len(grid.centres))), kind="stable")


_Pairs = tuple[int, int, NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]


def _radius(d_k: Any, reach: Any, max_m: float, slack: Slack, d_next: Any = None) -> Any:
    """Per cell, the radius around its centre within which a segment can matter (see
    :func:`_pair_blocks`; ``d_next``: the (k+1)-th feature's distance, with ``slack``)."""
    r = _grow(np.minimum(d_k + reach, max_m) + reach, slack)
    if d_next is not None:
        r = np.minimum(r, d_next + 2.0 * reach)
    return r * (1 + 1e-9) + 1e-6


def _dense_pairs(
    cells: _Cells, segs: _Segments, *, k: int, max_m: float, slack: Slack, budget: int
) -> Iterator[_Pairs]:
    """Candidate pairs from blocks of the centre-segment distances: (first cell, end cell, cell of
    each pair counted from the first, segment, each cell's cover)."""
    rows = max(1, 65_536 // max(len(segs.ax), 1))  # blocks that stay in cache
    starts = np.flatnonzero(np.r_[True, segs.feature[1:] != segs.feature[:-1]])
    pairs: list[Any] = []
    found: list[Any] = []
    covers: list[Any] = []
    lo, listed, n = 0, 0, len(cells.centre)
    for first in range(0, n, rows):
        c, reach = cells.centre[first : first + rows], cells.reach[first : first + rows]
        d2, _ = _measure(c[:, 0, None], c[:, 1, None], segs, slice(None))
        d_next = None
        if k == 1 and slack is None:
            d_k = np.sqrt(d2.min(axis=1))
        else:  # the k-th (and (k+1)-th) nearest feature: per-feature minimum, then partition
            per_feature = np.minimum.reduceat(d2, starts, axis=1)
            kk = min(k, per_feature.shape[1]) - 1
            d_k = np.sqrt(np.partition(per_feature, kk, axis=1)[:, kk])
            if slack is not None and per_feature.shape[1] > k:
                d_next = np.sqrt(np.partition(per_feature, k, axis=1)[:, k])
        radius = _radius(d_k, reach, max_m, slack, d_next)
        cell_i, seg_i = np.nonzero(d2 <= (radius * radius)[:, None])
        if pairs and listed + len(cell_i) > budget:  # the block so far, before it passes the budget
            yield lo, first, np.concatenate(pairs), np.concatenate(found), np.concatenate(covers)
            pairs, found, covers, lo, listed = [], [], [], first, 0
        pairs.append(cell_i + (first - lo))
        found.append(seg_i)
        covers.append(radius - reach)
        listed += len(cell_i)
    if pairs:
        yield lo, n, np.concatenate(pairs), np.concatenate(found), np.concatenate(covers)


def _tree_pairs(
    cells: _Cells, segs: _Segments, geoms: NDArray[Any], *, k: int, max_m: float, slack: Slack, budget: int
) -> Iterator[_Pairs]:
    """Candidate pairs through an STRtree (many segments), ranges of cells whose bound on their
    pairs (:func:`count_bounds`) stays within ``budget``: as :func:`_dense_pairs`."""
    tree = segs.tree()
    centres = shapely.points(cells.centre)
    if k == 1:
        found, dist = tree.query_nearest(centres, return_distance=True, all_matches=False)
        d_k = np.full(len(centres), np.inf)
        d_k[found[0]] = dist
    else:
        d_k = _kth_feature_distance(cells, geoms, k, max_m=max_m, budget=budget)
    radius = _radius(d_k, cells.reach, max_m, slack)
    bounds = count_bounds(cells.centre, radius, segs.boxes())
    for lo, hi in _ranges(bounds, budget):
        cell_i, seg_i = tree.query(centres[lo:hi], predicate="dwithin", distance=radius[lo:hi])
        order = np.lexsort((seg_i, cell_i))
        yield lo, hi, cell_i[order], seg_i[order], radius[lo:hi] - cells.reach[lo:hi]


def _ranges(weight: NDArray[Any], budget: float) -> list[tuple[int, int]]:
    """Consecutive ranges of items whose weights sum to less than ``budget`` (an item of
    ``budget`` or more alone)."""
    if len(weight) == 0:
        return []
    total = np.cumsum(weight, dtype=np.float64)
    cuts = np.flatnonzero(np.diff(np.floor(total / max(budget, 1)), prepend=0.0) > 0)
    edges = np.unique(np.r_[0, cuts, cuts + 1, len(weight)].clip(0, len(weight)))
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


_BOUND_CELLS = 512  # cells a side of the grids :func:`count_bounds` counts box centres in
_BOUND_CLASSES = 12  # size classes of boxes (half-sides doubling), one grid each


def count_bounds(
    xy: NDArray[np.float64], radius: NDArray[np.float64], box: NDArray[np.float64]
) -> NDArray[np.int64]:
    """For each point, at least the number of boxes (rows of ``shapely.bounds``) within ``radius``
    of it (an infinite radius counts every box).

    A box within ``r`` of a point has its centre within ``r + h`` of it along each axis (``h`` the
    box's larger half-side). The boxes go in size classes (``h`` doubling from class to class);
    each class counts its centres in a grid (a summed-area table: every cell the square of
    half-side ``r + h_max`` touches, counted whole).
    """
    if len(xy) == 0 or len(box) == 0:
        return np.zeros(len(xy), dtype=np.int64)
    cx, cy = (box[:, 0] + box[:, 2]) / 2.0, (box[:, 1] + box[:, 3]) / 2.0
    half = np.maximum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]) / 2.0
    x0, y0 = float(cx.min()), float(cy.min())
    span = max(float(cx.max()) - x0, float(cy.max()) - y0, 1.0)
    size = span / (_BOUND_CELLS - 1)
    gx = ((cx - x0) / size).astype(np.intp)
    gy = ((cy - y0) / size).astype(np.intp)
    base = max(float(half.min()), size)
    cls = np.clip(np.ceil(np.log2(np.maximum(half, base) / base)), 0, _BOUND_CLASSES - 1).astype(np.intp)
    out = np.zeros(len(xy), dtype=np.int64)
    for c in np.unique(cls):
        mine = cls == c
        counts = np.zeros((_BOUND_CELLS + 1, _BOUND_CELLS + 1), dtype=np.int64)
        np.add.at(counts, (gx[mine] + 1, gy[mine] + 1), 1)
        table = counts.cumsum(axis=0).cumsum(axis=1)  # table[i, j]: centres in cells below i and j
        reach = radius + float(half[mine].max())
        lo_x, hi_x = (
            np.clip(np.floor((xy[:, 0] + d - x0) / size) + e, 0, _BOUND_CELLS).astype(np.intp)
            for d, e in ((-reach, -1), (reach, 2))  # a cell more each side: rounding at the edges
        )
        lo_y, hi_y = (
            np.clip(np.floor((xy[:, 1] + d - y0) / size) + e, 0, _BOUND_CELLS).astype(np.intp)
            for d, e in ((-reach, -1), (reach, 2))
        )
        out += table[hi_x, hi_y] - table[lo_x, hi_y] - table[hi_x, lo_y] + table[lo_x, lo_y]
    return out


def _expand(grid: Grid, cell_i: NDArray[np.intp], seg_i: NDArray[np.intp], rows: Any = None) -> Any:
    """(cell, segment) pairs sorted by cell -> (point, segment) pairs grouped by point, for the
    points ``rows`` (all by default; ``point`` then counts from the first of them)."""
    counts = np.bincount(cell_i, minlength=len(grid.centres))
    offsets = np.r_[0, np.cumsum(counts)[:-1]]
    cell = grid.point_cell if rows is None else grid.point_cell[rows]
    per_point = counts[cell]
    pp = np.repeat(np.arange(len(cell)), per_point)
    within = np.arange(len(pp)) - np.repeat(np.cumsum(per_point) - per_point, per_point)
    return pp, seg_i[np.repeat(offsets[cell], per_point) + within]


def _point_ranges(block: _Block, budget: int) -> list[tuple[int, int]]:
    """Ranges of a block's points whose (point, segment) pairs stay within ``budget``."""
    counts = np.bincount(block.cell_i, minlength=len(block.grid.centres))
    return _ranges(counts[block.grid.point_cell], budget)


def _grid_nearest(
    grid: Grid, segs: _Segments, geoms: NDArray[Any], *, max_m: float, slack: Slack = None
) -> tuple[Any, ...]:
    """Each point's nearest segment over the grid's candidates: (distance, segment), inf where
    nothing is within ``max_m``, with ``slack`` a third array as :func:`_sweep` gives. A block of
    cells at a time (:func:`_pair_blocks`): slot by slot (:func:`_sweep`) where many points share
    the slots, else the points' pairs measured at once, a range of points at a time."""
    n = len(grid.xy)
    distance, segment, other = np.full(n, np.inf), np.zeros(n, dtype=np.intp), np.full(n, np.inf)
    tree: list[shapely.STRtree] = []  # the features' tree, built once if needed
    for b in _pair_blocks(grid, segs, geoms, k=1, max_m=max_m, slack=slack):
        counts = np.bincount(b.cell_i, minlength=len(b.grid.centres))
        pairs = int(counts[b.grid.point_cell].sum())
        if slack is None and pairs > _TREE_PAIRS * len(b.points):  # a dense cluster seen from near
            if not tree:
                tree.append(shapely.STRtree(geoms))
            distance[b.points], segment[b.points] = _nearest_by_tree(b.grid.xy, segs, tree[0], max_m=max_m)
            continue
        if pairs >= _SWEEP_SHARED * int(counts.max(initial=0)):
            found = _sweep(b.grid, segs, b.cell_i, b.seg_i, b.cover if slack is not None else None)
            distance[b.points], segment[b.points] = found[0], found[1]
            if slack is not None:
                other[b.points] = found[2]
            continue
        beyond = None if slack is None else _beyond_cells(b.grid, b.cover)
        for lo, hi in _point_ranges(b, PAIRS_PER_BLOCK):
            pp, ps = _expand(b.grid, b.cell_i, b.seg_i, np.arange(lo, hi))
            rows = b.points[lo:hi]
            found = _nearest_of_pairs(
                b.grid.xy[lo:hi], pp, ps, segs, None if beyond is None else beyond[lo:hi]
            )
            distance[rows], segment[rows] = found[0], found[1]
            if slack is not None:
                other[rows] = found[2]
    return (distance, segment) if slack is None else (distance, segment, other)


_SWEEP_SHARED = 256  # points a slot on average from which :func:`_sweep` beats measuring pairs at once
_TREE_PAIRS = 2048  # candidate segments a point on average beyond which the features' STRtree answers


def _nearest_by_tree(xy: Any, segs: _Segments, tree: shapely.STRtree, *, max_m: float) -> tuple[Any, Any]:
    """Each point's nearest segment (distance, segment) by the features' STRtree: its nearest
    feature (shapely's distance, as ``sjoin_nearest``; ties to the lower feature), then the
    nearest of that feature's own segments (ties to the lower). A point inside a polygon takes
    that polygon's nearest edge, as the grid does (:func:`_nearest_first` then makes it 0 m).
    For points whose cells list far more segments than they have points (a dense cluster of
    small features tens of km away): one tree query each instead of measuring the whole cluster."""
    n = len(xy)
    distance, segment = np.full(n, np.inf), np.zeros(n, dtype=np.intp)
    found = tree.query_nearest(
        shapely.points(xy), max_distance=max_m if np.isfinite(max_m) else None, all_matches=True
    )
    pi, fi = found[0], found[1]
    if not len(pi):
        return distance, segment
    order = np.lexsort((fi, pi))  # each point's matches, the lowest feature first
    pi, fi = pi[order], fi[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    pi, fi = pi[first], fi[first]
    lo = np.searchsorted(segs.feature, fi, "left")  # (segments are grouped by feature)
    size = np.searchsorted(segs.feature, fi, "right") - lo
    pp = np.repeat(pi, size)
    ps = np.repeat(lo - np.cumsum(np.r_[0, size[:-1]]), size) + np.arange(int(size.sum()))
    d, s = _nearest_of_pairs(xy, pp, ps, segs)
    distance[pi], segment[pi] = d[pi], s[pi]
    return distance, segment


def _nearest_of_pairs(xy: Any, pp: Any, ps: Any, segs: _Segments, beyond: Any = None) -> tuple[Any, ...]:
    """Each point's nearest among its candidate segments ``ps`` (pairs grouped by point ``pp``):
    (distance, segment), inf where it has none; ties to the lower segment. With ``beyond`` (per
    point: no segment not among its candidates is nearer), a third array as :func:`_sweep` gives:
    the nearest candidate of another feature, at most ``beyond``."""
    n = len(xy)
    distance, segment, other = np.full(n, np.inf), np.zeros(n, dtype=np.intp), np.full(n, np.inf)
    if len(pp):
        d = np.sqrt(_measure(xy[pp, 0], xy[pp, 1], segs, ps)[0])
        start = np.flatnonzero(np.r_[True, pp[1:] != pp[:-1]])
        size = np.diff(np.r_[start, len(pp)])
        owner = pp[start]
        best = np.minimum.reduceat(d, start)
        at_best = d == np.repeat(best, size)
        seg = np.minimum.reduceat(np.where(at_best, ps, len(segs.ax)), start)
        distance[owner], segment[owner] = best, seg
        if beyond is not None:
            another = segs.feature[ps] != np.repeat(segs.feature[seg], size)
            other[owner] = np.minimum.reduceat(np.where(another, d, np.inf), start)
    if beyond is None:
        return distance, segment
    return distance, segment, np.minimum(other, beyond)


def _grid_ranked(
    grid: Grid, segs: _Segments, geoms: NDArray[Any], *, k: int, max_m: float, slack: Slack = None
) -> Columns:
    """The k nearest features over the grid's candidate pairs (:func:`_ranked`), a block of cells
    and a range of points at a time (at most about :data:`PAIRS_PER_BLOCK` pairs measured at once)."""
    in_p, in_f = np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    polygonal = bool(_is_polygonal(geoms).any())
    if polygonal:  # points inside polygons (found once): by the points' position in cell order
        place = np.empty(len(grid.xy), dtype=np.intp)
        place[_by_cell(grid)] = np.arange(len(grid.xy))
        inside_p, inside_f = _inside(grid.xy, geoms)
        order = np.argsort(place[inside_p], kind="stable")
        in_p, in_f = place[inside_p][order], inside_f[order]
    parts = []
    for b in _pair_blocks(grid, segs, geoms, k=k, max_m=max_m, slack=slack):
        beyond = None if slack is None else _beyond_cells(b.grid, b.cover)
        for lo, hi in _point_ranges(b, PAIRS_PER_BLOCK):
            pp, ps = _expand(b.grid, b.cell_i, b.seg_i, np.arange(lo, hi))
            these = None
            if polygonal:
                at = np.searchsorted(in_p, [b.first + lo, b.first + hi])
                these = (in_p[at[0] : at[1]] - (b.first + lo), in_f[at[0] : at[1]])
            part = _ranked(
                b.grid.xy[lo:hi],
                pp,
                ps,
                segs,
                geoms,
                k=k,
                max_m=max_m,
                beyond=None if beyond is None else beyond[lo:hi],
                inside=these,
            )
            part["point"] = b.points[lo:hi][part["point"]]
            parts.append(part)
    columns = _COLUMNS + ([] if slack is None else ["second_m"])
    if not parts:
        return {c: np.empty(0, dtype=np.intp if i < 3 else float) for i, c in enumerate(columns)}
    table = {c: np.concatenate([p[c] for p in parts]) for c in columns}
    by_point = np.lexsort((table["rank"], table["point"]))
    return {c: v[by_point] for c, v in table.items()}


def _kth_feature_distance(
    cells: _Cells, geoms: NDArray[Any], k: int, *, max_m: float, budget: int
) -> NDArray[np.float64]:
    """Distance from each cell centre to its k-th nearest feature; inf where that is beyond
    ``max_m`` and the cell's reach.

    A search radius per centre, the nearest feature's distance plus a margin (a cell diagonal and a
    sixteenth of that distance), grows by doubling the margin until k features are within it; the
    k-th nearest of the features found is then the exact k-th, as every feature outside is farther.
    Features, not segments: a circle around a point far from a long line takes in much of it.
    The centres go in ranges whose bound on the features within their radius
    (:func:`count_bounds`) stays within ``budget``.
    """
    kk = min(k, len(geoms))
    tree, centres = shapely.STRtree(geoms), shapely.points(cells.centre)
    cap = max_m + cells.reach
    found, d_1 = tree.query_nearest(centres, return_distance=True, all_matches=False)
    nearest, margin, out = np.empty(len(centres)), np.empty(len(centres)), np.full(len(centres), np.inf)
    nearest[found[0]] = d_1
    margin[found[0]] = 2.0 * cells.reach[found[0]] + d_1 / 16.0 + 1.0
    if kk == 1:
        return nearest
    box = shapely.bounds(geoms)
    todo = np.arange(len(centres))
    while len(todo):
        radius = nearest[todo] + margin[todo]
        done = radius > cap[todo]  # beyond reach anyway, unless k are within it
        for lo, hi in _ranges(count_bounds(cells.centre[todo], radius, box), budget):
            ci, fi = tree.query(centres[todo[lo:hi]], predicate="dwithin", distance=radius[lo:hi])
            d = shapely.distance(centres[todo[lo:hi][ci]], geoms[fi])
            order = np.lexsort((d, ci))
            counts = np.bincount(ci, minlength=hi - lo)
            full = counts >= kk
            out[todo[lo:hi][full]] = d[order][(np.cumsum(counts) - counts)[full] + kk - 1]
            done[lo:hi] |= full
        todo = todo[~done]
        margin[todo] *= 2.0
    return out


# second_m's reach: (at most, per metre of distance, metres more)
Slack = tuple[float, float | None, float] | None


def _grow(r: Any, slack: Slack) -> Any:
    """Distances ``r`` widened by the slack of ``second_m`` (see :func:`nearest_columns`)."""
    if slack is None:
        return r
    cap, per_m, plus_m = slack
    return r * (1.0 + (cap if per_m is None else np.minimum(cap, per_m * r))) + plus_m


def _nearest_segments(
    grid: Grid, geoms: NDArray[Any], *, k: int, max_m: float, slack: Slack = None
) -> Columns:
    """Any targets: exact point-to-segment distances over the grid's candidate pairs (``slack``:
    ``second_m`` too, see :func:`nearest_columns`)."""
    segs = _Segments.of(geoms)
    if k > 1:  # every candidate pair is measured and ranked: keep them few where targets are dense
        grid = _finer(grid, segs)
    many = len(grid.centres) * len(segs.ax) > _DENSE_LIMIT
    crowded = len(grid.xy) > _CROWDED * len(grid.centres)  # cells at their smallest, many points each
    if k == 1 and (many or crowded):  # by samples
        found = _nearest_segment(grid, segs, geoms, max_m=max_m, slack=slack)
        return _nearest_first(grid, segs, geoms, found, max_m=max_m)
    if many or crowded:
        return _ranked_by_samples(grid, segs, geoms, k=k, max_m=max_m, slack=slack)
    if k == 1:  # a few segments: the cells' candidates
        found = _grid_nearest(grid, segs, geoms, max_m=max_m, slack=slack)
        return _nearest_first(grid, segs, geoms, found, max_m=max_m)
    return _grid_ranked(grid, segs, geoms, k=k, max_m=max_m, slack=slack)


def _beyond_cells(grid: Grid, cover: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per point, how near a segment not listed for its cell can be: its cell's ``cover`` (every
    segment that near any of its points is listed)."""
    return np.asarray(cover[grid.point_cell] * (1 - 1e-9) - 1e-6)


def _ranked(
    xy: Any,
    pp: Any,
    ps: Any,
    segs: _Segments,
    geoms: Any,
    *,
    k: int,
    max_m: float,
    beyond: Any = None,
    inside: tuple[Any, Any] | None = None,
) -> Columns:
    """The k nearest features of the points ``xy[pp]`` among candidate segments ``ps`` (pairs
    grouped by point), points inside polygons at 0 m (``inside``: those (point, feature) pairs when
    already found, as :func:`_inside` gives them); ``point`` indexes ``xy``. ``beyond`` (per
    point: no segment not among its candidates is nearer): also ``second_m``, the nearest feature
    after the k (see :func:`nearest_columns`)."""
    d2, t = _measure(xy[pp, 0], xy[pp, 1], segs, ps)
    d = np.sqrt(d2, out=d2)
    if _is_polygonal(geoms).any():
        d, t, pp, ps = _add_inside(*(inside if inside is not None else _inside(xy, geoms)), d, t, pp, ps)
    pf = np.where(ps >= 0, segs.feature[ps], -ps - 1)
    keep = d <= max_m
    if not keep.all():
        d, t, pp, ps, pf = d[keep], t[keep], pp[keep], ps[keep], pf[keep]
    if len(pp) == 0:
        return _empty() if beyond is None else {**_empty(), "second_m": np.empty(0)}
    chosen, rank = _rank(pp, pf, d, k + (beyond is not None))
    second = None
    if beyond is not None:
        second = np.minimum(beyond, max_m)
        nxt = rank == k + 1
        np.minimum.at(second, pp[chosen[nxt]], d[chosen[nxt]])
        chosen, rank = chosen[~nxt], rank[~nxt]
    c_seg, c_t = ps[chosen], t[chosen]
    on_seg = c_seg >= 0  # inside a polygon: the nearest location is the point itself
    seg = np.where(on_seg, c_seg, 0)
    qx = np.where(on_seg, segs.ax[seg] + c_t * segs.dx[seg], xy[pp[chosen], 0])
    qy = np.where(on_seg, segs.ay[seg] + c_t * segs.dy[seg], xy[pp[chosen], 1])
    table = {
        "point": pp[chosen],
        "rank": rank,
        "target": pf[chosen],
        "distance_m": d[chosen],
        "x": qx,
        "y": qy,
    }
    if second is not None:
        table["second_m"] = second[pp[chosen]]
    return table


def _finer(grid: Grid, segs: _Segments, *, segments_per_cell: float = 0.0625) -> Grid:
    """``grid``, or one over the same points with cells that would hold ``segments_per_cell`` target
    segments if these filled their bounding box (a quarter of their spacing wide: measured fastest
    for 20,000 random lines and 20,000-100,000 points in the belt, cells then hold a point or two),
    at least 1 m wide. Dense layers (buildings metres apart) take cells metres wide: the grid's
    usual 200 m floor listed hundreds of segments for every point at k > 1 (2,215 buildings, 5,000
    points: 10x the time, 360 MiB)."""
    area = max(float(np.ptp(segs.ax) * np.ptp(segs.ay)), 1.0)
    size = max(float(np.sqrt(area * segments_per_cell / len(segs.ax))), 1.0)
    return Grid.over(grid.xy, max_size=size, min_size=size) if grid.reach > size * np.sqrt(0.5) else grid


def _nearest_first(
    grid: Grid, segs: _Segments, geoms: NDArray[Any], found: tuple[Any, Any], *, max_m: float
) -> Columns:
    """k = 1 from each point's nearest segment ``found`` (distance, segment); inside a polygon is
    0 m, and a point inside or on polygons takes the lowest of them unless a lower feature is also
    0 m away. ``found`` may carry a third array, each point's lower bound on the distance to the
    nearest other feature: then the column ``second_m`` (0 where the point is inside two polygons)
    and ``apart_m``, the same bound not counting the polygons 0 m away that the one taken comes
    before in position order (the point is inside them: they rank after it at any measure)."""
    d, seg = found[0], found[1]
    second = found[2] if len(found) > 2 else None
    feature = segs.feature[seg]
    x, y = grid.xy[:, 0], grid.xy[:, 1]
    _, t = _measure(x, y, segs, seg)
    qx, qy = segs.ax[seg] + t * segs.dx[seg], segs.ay[seg] + t * segs.dy[seg]
    apart = None
    if _is_polygonal(geoms).any():
        inside_p, inside_f = _inside(grid.xy, geoms)
        lowest = np.full(len(d), np.iinfo(np.intp).max)
        np.minimum.at(lowest, inside_p, inside_f)
        take = (lowest < np.iinfo(np.intp).max) & ((d > 0) | (lowest < feature))
        if second is not None:  # the feature given up is another one now; another polygon around: 0
            np.minimum(second, d, out=second, where=take & (lowest != feature))
            apart = second.copy()  # the polygons around at 0 m come after the one taken: not them
            around = np.bincount(inside_p, minlength=len(d))
            second[(around > 1) | ((around == 1) & ~take & (lowest != feature))] = 0.0
        d[take], feature[take], qx[take], qy[take] = 0.0, lowest[take], x[take], y[take]
    point = np.flatnonzero(d <= max_m)
    table = {
        "point": point,
        "rank": np.ones(len(point), dtype=np.intp),
        "target": feature[point],
        "distance_m": d[point],
        "x": qx[point],
        "y": qy[point],
    }
    if second is not None:
        table["second_m"] = np.minimum(second[point], max_m)
        table["apart_m"] = np.minimum((second if apart is None else apart)[point], max_m)
    return table


@dataclass(frozen=True)
class _Samples:
    """Locations along the target segments: every vertex, and evenly spaced ones along segments
    longer than the mean (or than a 5,000th of the total length), so that no location of a
    segment is farther along it than ``half_gap`` from one of the segment's own samples (its
    vertices count as its own)."""

    xy: NDArray[np.float64]
    seg: NDArray[np.intp]  # the segment a sample lies on (a shared vertex: the one it starts)
    also: NDArray[np.intp]  # the segment that ends at a shared vertex; ``seg`` elsewhere
    half_gap: float

    @classmethod
    def of(cls, segs: _Segments) -> _Samples:
        length = np.hypot(segs.dx, segs.dy)
        total = float(length.sum())
        gap = total / max(len(length), _MIN_SAMPLES) if total > 0 else 1.0
        pieces = np.maximum(1, np.ceil(length / gap)).astype(np.intp)
        end_x, end_y = segs.ax + segs.dx, segs.ay + segs.dy
        joined = np.r_[(end_x[:-1] == segs.ax[1:]) & (end_y[:-1] == segs.ay[1:]), False]
        # start and inner samples; the end too where no segment starts there (a point is its start)
        count = pieces + (~joined & (length > 0))
        seg = np.repeat(np.arange(len(pieces)), count)
        j = np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count)
        t = j / pieces[seg]
        xy = np.column_stack([segs.ax[seg] + t * segs.dx[seg], segs.ay[seg] + t * segs.dy[seg]])
        prev_joined = np.r_[False, joined[:-1]]
        also = np.where((j == 0) & prev_joined[seg], seg - 1, seg)
        return cls(xy, seg, also, float((length / pieces).max()) / 2.0)


_MIN_SAMPLES = 5_000  # samples at least: layers of a few long segments are sampled finely
_FIRST_K = 4  # samples asked per point at first; 4 times more for the few points that need more
_MOST_K = 512  # beyond this the rare remaining points take the grid search
_BLOCK = 65_536  # points per block (bounds the temporaries)


def _nearest_segment(
    grid: Grid, segs: _Segments, geoms: NDArray[Any], *, max_m: float, slack: Slack = None
) -> tuple[Any, ...]:
    """Each point's nearest segment: (distance, segment), inf where nothing is within ``max_m``;
    ties go to the lower segment (so the lower feature). With ``slack``, a third array: a lower
    bound on the distance to the nearest other feature, exact within the nearest distance
    widened by ``slack`` (the samples measured reach that far: every segment within ``s``
    widened has a sample within ``r``).

    A KD-tree (scipy) over the segments' samples gives each point its nearest sample at distance
    ``s``, so its nearest segment is at most ``s`` away. The segment holding the nearest location
    (at ``d <= s``) has a sample at most ``half_gap`` along it from that location, so within
    ``sqrt(d^2 + half_gap^2) <= r = sqrt(s^2 + half_gap^2)`` of the point: the segments of the
    samples within ``r`` are measured exactly (numpy), which needs every such sample to be among the
    ``k`` asked, i.e. the k-th sample farther than ``r``; points where it is not are asked again
    with a larger ``k``. Points go in blocks along the grid's cells (nearby queries, bounded memory).
    """
    from scipy.spatial import cKDTree

    samples = _Samples.of(segs)
    tree = cKDTree(samples.xy, balanced_tree=False, compact_nodes=False)
    bound = np.hypot(max_m, samples.half_gap) * (1 + 1e-9) + 1e-6 if np.isfinite(max_m) else np.inf
    distance, segment = np.full(len(grid.xy), np.inf), np.zeros(len(grid.xy), dtype=np.intp)
    other = np.full(len(grid.xy), np.inf)
    order = np.argsort(grid.point_cell, kind="stable")
    left: list[NDArray[np.intp]] = []
    for first in range(0, len(order), _BLOCK):
        todo, k = order[first : first + _BLOCK], _FIRST_K
        while len(todo) and k <= _MOST_K:
            kk = min(k, len(samples.seg))
            d, i = tree.query(grid.xy[todo], k=kk, distance_upper_bound=bound)
            d, i = d.reshape(len(todo), kk), i.reshape(len(todo), kk)
            reach = np.hypot(_slack_reach(d, i, segs, samples, slack), samples.half_gap) * (1 + 1e-9) + 1e-6
            done = (d[:, -1] > reach) | ~np.isfinite(d[:, 0]) | (kk == len(samples.seg))
            rows = todo[done]
            found = _closest(grid.xy[rows], segs, samples, d[done], i[done], reach[done], slack is not None)
            distance[rows], segment[rows], other[rows] = found
            todo, k = todo[~done], 4 * k
        left.append(todo)
    rest = np.concatenate(left)
    if len(rest):  # many samples about as near as the nearest (a point at the centre of a ring...)
        sub = Grid.over(grid.xy[rest])
        found = _grid_nearest(sub, segs, geoms, max_m=max_m, slack=slack)
        distance[rest], segment[rest] = found[0], found[1]
        if slack is not None:
            other[rest] = found[2]
    return (distance, segment) if slack is None else (distance, segment, other)


def _slack_reach(d: Any, i: Any, segs: _Segments, samples: _Samples, slack: Slack) -> Any:
    """k = 1: how far from each point the samples measured must reach, before ``half_gap``: the
    nearest sample's distance ``s`` (the nearest segment is within it), with ``slack`` widened as
    far as the second distinct feature's nearest sample ``u`` when that is nearer (two features
    have a location within ``u``, so the nearest other feature than the nearest is within ``u``,
    and measuring every segment within ``u`` finds it: ``second_m`` is then exact). A cluster of
    features seen from far away lies inside the widened ring; the second feature does not take
    the whole cluster in."""
    if slack is None:
        return d[:, 0]
    found = np.isfinite(d)
    feature = np.where(found, segs.feature[samples.seg[np.where(found, i, 0)]], -1)
    return np.minimum(_grow(d[:, 0], slack), _first_distinct(d, feature, 2)[:, 1])


def _ranked_by_samples(
    grid: Grid, segs: _Segments, geoms: NDArray[Any], *, k: int, max_m: float, slack: Slack = None
) -> Columns:
    """k > 1 against many segments, by the samples' KD-tree (see :func:`_nearest_segment`).

    The nearest sample of each distinct feature among a point's nearest samples bounds that
    feature's distance, so the k-th smallest of those, ``u``, bounds the k-th nearest feature's
    distance. Every segment of a feature within ``u`` has a sample within
    ``sqrt(u^2 + half_gap^2)``: once the samples asked reach beyond that, the segments of the
    samples within it are measured and ranked exactly; points whose samples do not are asked again
    with more (then fall back to the grid search). Blocks of points bound the memory. ``slack``:
    the samples measured reach ``u`` widened, or only as far as the (k+1)-th distinct feature's
    nearest sample when that is nearer (the (k+1)-th nearest feature is then among those measured,
    so ``second_m`` is exact: a cluster seen from far away is not measured whole), and ``second_m``
    (see :func:`nearest_columns`).
    """
    from scipy.spatial import cKDTree

    samples = _Samples.of(segs)
    tree = cKDTree(samples.xy, balanced_tree=False, compact_nodes=False)
    n_samples = len(samples.seg)
    bound = np.hypot(max_m, samples.half_gap) * (1 + 1e-9) + 1e-6 if np.isfinite(max_m) else np.inf
    order = np.argsort(grid.point_cell, kind="stable")
    parts, left = [], []
    for first in range(0, len(order), _BLOCK // k):
        todo, asked = order[first : first + _BLOCK // k], _FIRST_K * k
        while len(todo) and asked <= _MOST_K * k:
            kk = min(asked, n_samples)
            d, i = tree.query(grid.xy[todo], k=kk, distance_upper_bound=bound)
            d, i = d.reshape(len(todo), kk), i.reshape(len(todo), kk)
            found = np.isfinite(d)
            feature = np.where(found, segs.feature[samples.seg[np.where(found, i, 0)]], -1)
            if slack is None:
                u = np.minimum(_kth_distinct(d, feature, k), max_m)
                reach = np.hypot(u, samples.half_gap) * (1 + 1e-9) + 1e-6
            else:  # as far as the slack, or the (k+1)-th feature when that is nearer (see above)
                u_k, u_next = _first_distinct(d, feature, k + 1).T[k - 1 :]
                u = np.minimum(u_k, max_m)
                reach = np.hypot(np.minimum(_grow(u, slack), u_next), samples.half_gap) * (1 + 1e-9) + 1e-6
            done = (d[:, -1] > reach) | ~found[:, -1] | (kk == n_samples)
            rows, near = todo[done], (d[done] <= reach[done, None]) & found[done]
            hit = np.where(near, i[done], 0)
            also = samples.also[hit]
            shared = near & (also != samples.seg[hit])  # vertices two segments share: both
            pp, col = np.nonzero(np.concatenate([near, shared], axis=1))  # pairs grouped by point
            ps = np.concatenate([samples.seg[hit], also], axis=1)[pp, col]
            beyond = None  # every sample within reach (and bound) was measured
            if slack is not None:
                r = np.minimum(reach[done], bound)
                beyond = np.sqrt(np.maximum(r * r - samples.half_gap**2, 0.0)) * (1 - 1e-9) - 1e-6
            part = _ranked(grid.xy[rows], pp, ps, segs, geoms, k=k, max_m=max_m, beyond=beyond)
            part["point"] = rows[part["point"]]
            parts.append(part)
            todo, asked = todo[~done], 4 * asked
        left.append(todo)
    rest = np.concatenate(left)
    if len(rest):  # many samples about as near as the k-th feature: the grid search
        sub = _finer(Grid.over(grid.xy[rest]), segs)
        part = _grid_ranked(sub, segs, geoms, k=k, max_m=max_m, slack=slack)
        part["point"] = rest[part["point"]]
        parts.append(part)
    columns = _COLUMNS + ([] if slack is None else ["second_m"])
    table = {c: np.concatenate([p[c] for p in parts]) for c in columns} if parts else _empty()
    if slack is not None and not parts:
        table["second_m"] = np.empty(0)
    by_point = np.lexsort((table["rank"], table["point"]))
    return {c: v[by_point] for c, v in table.items()}


def _kth_distinct(d: Any, feature: Any, k: int) -> Any:
    """Per row, the k-th smallest of the distinct features' smallest ``d`` (rows sorted by ``d``;
    feature -1 is no sample); inf where fewer than k features."""
    return _first_distinct(d, feature, k)[:, k - 1]


def _first_distinct(d: Any, feature: Any, k: int) -> Any:
    """Per row, the k smallest of the distinct features' smallest ``d`` (rows sorted by ``d``;
    feature -1 is no sample): shape (rows, k), inf past the features among the row's samples."""
    out = np.full((len(d), k), np.inf)
    if d.shape[1] == 0:
        return out
    rows = np.arange(len(d))
    col = np.zeros(len(d), dtype=np.intp)  # the first sample of the j-th distinct feature
    fresh = np.ones(d.shape, dtype=bool)  # samples of features not met yet
    for j in range(k):
        if j:
            fresh &= feature != feature[rows, col][:, None]
            col = fresh.argmax(axis=1)
        u = d[rows, col]
        u[~fresh[rows, col] | (feature[rows, col] < 0)] = np.inf  # fewer than j + 1 features here
        out[:, j] = u
    return out


def _closest(
    xy: Any, segs: _Segments, samples: _Samples, d: Any, i: Any, reach: Any, other: bool = False
) -> tuple[Any, Any, Any]:
    """The nearest of the segments through the samples ``i`` (at ``d``) within ``reach`` of each
    point: (distance, segment, with ``other`` a lower bound on the distance to the nearest other
    feature, else inf).

    Every sample within ``reach`` is among ``i``, so a segment not measured has all its samples
    beyond ``reach``, one of them within ``sqrt(d^2 + half_gap^2)`` of the point (``d`` the
    segment's distance): the segment is farther than ``sqrt(reach^2 - half_gap^2)``."""
    near = (d <= reach[:, None]) & np.isfinite(d)
    i = np.where(near, i, 0)
    cand = np.concatenate([samples.seg[i], samples.also[i]], axis=1)
    d2, _ = _measure(xy[:, 0, None], xy[:, 1, None], segs, cand)
    dist = np.sqrt(d2, out=d2)
    dist[~np.concatenate([near, near], axis=1)] = np.inf
    best = dist.min(axis=1)
    seg = np.where(dist == best[:, None], cand, len(segs.ax)).min(axis=1)
    seg = np.where(np.isfinite(best), seg, 0)
    if not other:
        return best, seg, np.full(len(best), np.inf)
    unmeasured = np.sqrt(np.maximum(reach * reach - samples.half_gap**2, 0.0)) * (1 - 1e-9) - 1e-6
    others = np.where(segs.feature[cand] != segs.feature[seg][:, None], dist, np.inf).min(axis=1)
    return best, seg, np.minimum(others, unmeasured)


def _sweep(grid: Grid, segs: _Segments, cell_i: Any, seg_i: Any, cover: Any = None) -> tuple[Any, ...]:
    """Each point's nearest candidate segment: (distance, segment), inf where it has no candidate.
    With ``cover`` (per cell: every segment that near any of its points is a candidate), a third
    array: a lower bound on the distance to the nearest other feature (the nearest other
    candidate, or beyond the cover).

    Slot ``j`` of a point is its cell's ``j``-th candidate, in segment (so feature) order. With the
    points sorted by their cell's candidate count, the points that have a slot ``j`` are a prefix;
    only a strictly smaller distance replaces the best so far, so ties keep the lower segment and
    feature.
    """
    counts = np.bincount(cell_i, minlength=len(grid.centres))
    width = int(counts.max(initial=0))
    fewest_last = (width - counts).astype(np.min_scalar_type(width))  # small ints: a radix sort
    order = np.argsort(fewest_last[grid.point_cell], kind="stable")
    cell = grid.point_cell[order]
    first = (np.cumsum(counts) - counts)[cell]  # where each point's candidates start in seg_i
    x, y = grid.xy[order, 0], grid.xy[order, 1]
    at_least = np.cumsum(np.bincount(counts[cell], minlength=width + 1)[::-1])[::-1]
    best, arg = np.full(len(order), np.inf), np.zeros(len(order), dtype=np.intp)
    track = cover is not None
    other, best_f = np.full(len(order), np.inf), np.full(len(order), -1, dtype=np.intp)
    for j in range(width):
        n = at_least[j + 1]  # the points with more than j candidates
        s = seg_i[first[:n] + j]
        d = np.sqrt(_measure(x[:n], y[:n], segs, s)[0])
        better = d < best[:n]
        if track:  # another feature: the old best if beaten, else this one
            f = segs.feature[s]
            np.minimum(other[:n], np.where(better, best[:n], d), out=other[:n], where=f != best_f[:n])
            np.copyto(best_f[:n], f, where=better)
        np.copyto(best[:n], d, where=better)
        np.copyto(arg[:n], s, where=better)
    distance, segment = np.empty_like(best), np.empty_like(arg)
    distance[order], segment[order] = best, arg
    if not track:
        return distance, segment
    beyond = np.asarray(cover)[cell] * (1 - 1e-9) - 1e-6
    second = np.empty_like(best)
    second[order] = np.minimum(other, beyond)
    return distance, segment, second


def _rank(pp: Any, pf: Any, d: Any, k: int) -> tuple[Any, Any]:
    """Each point's k nearest distinct features, ties to the lower feature position: (pairs, ranks)."""
    key = pp.astype(np.int64) * (int(pf.max(initial=0)) + 1) + pf  # (point, feature) in that order
    order = np.argsort(key, kind="stable")
    sorted_key, sorted_d = key[order], d[order]
    start = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    least = np.repeat(np.minimum.reduceat(sorted_d, start), np.diff(np.r_[start, len(order)]))
    at_least = np.flatnonzero(sorted_d == least)  # the first of them per (point, feature)
    group = sorted_key[at_least]
    best = order[at_least[np.r_[True, group[1:] != group[:-1]]]]
    order = best[np.lexsort((pf[best], d[best], pp[best]))]
    p_sorted = pp[order]
    group_start = np.maximum.accumulate(
        np.where(np.r_[True, p_sorted[1:] != p_sorted[:-1]], np.arange(len(order)), 0)
    )
    rank = np.arange(len(order)) - group_start + 1
    return order[rank <= k], rank[rank <= k]


def _is_polygonal(geoms: NDArray[Any]) -> NDArray[np.bool_]:
    return np.isin(shapely.get_type_id(geoms), (3, 6))


def _inside(xy: NDArray[np.float64], geoms: NDArray[Any]) -> tuple[Any, Any]:
    """(point, feature) pairs of the points inside or on a polygonal target."""
    polygonal = np.flatnonzero(_is_polygonal(geoms))
    # the points in the tree and the polygons as queries: GEOS prepares each query geometry, so
    # a polygon's edges are indexed once instead of walked for every point (10x for OSM detail)
    inside_t, inside_p = shapely.STRtree(shapely.points(xy)).query(geoms[polygonal], predicate="intersects")
    order = np.lexsort((inside_t, inside_p))
    return inside_p[order], polygonal[inside_t[order]]


def _add_inside(inside_p: Any, inside_f: Any, d: Any, t: Any, pp: Any, ps: Any) -> Any:
    """Points inside a polygonal target are 0 m from it (the pairs ``inside_p, inside_f`` of
    :func:`_inside`): pairs with segment ``-feature - 1``."""
    order = np.argsort(np.r_[pp, inside_p], kind="stable")  # keep pairs grouped by point
    return (
        np.r_[d, np.zeros(len(inside_p))][order],
        np.r_[t, np.zeros(len(inside_p))][order],
        np.r_[pp, inside_p][order],
        np.r_[ps, -inside_f - 1][order],
    )


# --- metric query points, as the analysis modules use them (geodesic km: analysis.geodesic) -------
def query_points(gdf: gpd.GeoDataFrame, what: str = "nodes") -> NDArray[np.float64]:
    """Metric (EPSG:7755) coordinates of each feature: the point itself, else a representative point."""
    crs = require_crs(gdf, what)
    if len(gdf) and (shapely.get_type_id(gdf.geometry.values) == 0).all():  # points: move coordinates only
        xy = shapely.get_coordinates(gdf.geometry.values)
        if not crs.equals(BELT_CRS) and len(xy):
            xy = np.column_stack(_to_belt(crs.to_wkt()).transform(xy[:, 0], xy[:, 1]))
    else:
        metric = to_metric(gdf, what).geometry
        xy = shapely.get_coordinates(metric.representative_point().values if len(metric) else metric.values)
    if len(xy) != len(gdf):
        raise LayerValidationError(
            f"{what}: {len(gdf) - len(xy)} feature(s) have empty or missing geometry. Fix: drop them "
            f"(gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]) or give them a location"
        )
    bad = np.flatnonzero(~np.isfinite(xy).all(axis=1))
    if len(bad):
        rows = gdf.iloc[bad[:5]]
        named = [
            f"row {i!r}" + (f" (id {v!r})" if "id" in gdf.columns else "")
            for i, v in zip(rows.index, rows["id"] if "id" in gdf.columns else rows.index, strict=True)
        ]
        raise LayerValidationError(
            f"{what}: {len(bad)} feature(s) have a coordinate that is NaN or infinite: {', '.join(named)}"
            f"{' and more' if len(bad) > 5 else ''}. Fix: give them a real location or drop them"
        )
    return xy


@functools.cache
def _to_belt(crs_wkt: str) -> Transformer:
    return Transformer.from_crs(crs_wkt, BELT_CRS, always_xy=True)
