"""Stream a lazy (dask) suitability score into a tiled, compressed GeoTIFF, block by block.

For grids too big for one machine's memory (all of India at 100 m is ~330 million cells), the score
from :func:`corridormap.sites.suitability.suitability_array` is never materialised: its blocks are computed a
batch at a time (on the ``dask.distributed`` cluster of ``client``, or with Dask's threaded scheduler)
and each block is written into its window of the file by this process, the only one that touches it,
so no lock or shared file system is needed. While one batch is written the next is computing, and at
most two batches are held here, so the client's memory stays bounded whatever the grid's size.

The file is built in a staging folder beside ``path`` and moved into place only when complete
(:mod:`corridormap.atomic`): a failing compute leaves nothing, and an existing file is kept unless
``overwrite``. With ``cog`` (the default) the tiled GeoTIFF is then copied into a Cloud-Optimized
GeoTIFF with overviews by GDAL, which also streams (a second pass over the file, not over the grid).

The top sites come along without the grid (:class:`TopCells`, :func:`stream_suitability`): each block,
as it is written, keeps its first ``top`` cells of the greedy pick of
:func:`corridormap.sites.suitability.top_sites`
run inside the block (best first, ties by cell id, each at least ``min_separation_km`` from those
before); the same greedy over these few candidates then gives the global top sites. That is exact
unless a cell that suppressed others in its block is itself suppressed across a block edge: every
block whose suppressing cells rank before the last site yet are not sites is recomputed (a block's
score again, from the cluster) and picked again with the sites outside it in their place, until no
block is left; so the sites always equal the eager :func:`corridormap.sites.suitability`'s.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
import rasterio.windows
from affine import Affine
from pyproj import CRS

from ..atomic import refuse_existing, replace_into, staging_dir

__all__ = ["TopCells", "write_suitability_tiff"]

log = logging.getLogger(__name__)

_TAGS = {
    "description": "site suitability score, 0 (worst) to 1 (best)",
    "units": "1",
    "source": "corridormap suitability model",
}


def _windows(array: Any) -> Iterator[tuple[rasterio.windows.Window, Any]]:
    """Each block of a 2-D dask array as (window in the raster, delayed block), row by row."""
    rows = [0, *accumulate(array.chunks[0])]
    cols = [0, *accumulate(array.chunks[1])]
    blocks = array.to_delayed()
    for i in range(len(rows) - 1):
        for j in range(len(cols) - 1):
            window = rasterio.windows.Window(cols[j], rows[i], cols[j + 1] - cols[j], rows[i + 1] - rows[i])
            yield window, blocks[i, j]


def _batches(array: Any, size: int) -> Iterator[list[tuple[rasterio.windows.Window, Any]]]:
    batch: list[tuple[rasterio.windows.Window, Any]] = []
    for item in _windows(array):
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _stream(array: Any, dst: Any, dtype: str, client: Any, batch_blocks: int, sites: Any = None) -> int:
    """Compute the blocks a batch at a time and write each into its window; return blocks written."""
    import dask

    written = 0
    pending: tuple[list[Any], list[Any]] | None = None
    for batch in _batches(array, batch_blocks):
        windows = [w for w, _ in batch]
        if client is None:
            if pending is not None:
                written += _write(dst, *pending, dtype, sites)
            pending = (windows, list(dask.compute(*[d for _, d in batch])))
            continue
        futures = client.compute([d for _, d in batch])  # runs while the previous batch is written
        if pending is not None:
            written += _write(dst, *pending, dtype, sites)
        pending = (windows, futures)
    if pending is not None:
        written += _write(dst, *pending, dtype, sites)
    return written


def _write(dst: Any, windows: list[Any], blocks: list[Any], dtype: str, sites: Any = None) -> int:
    for window, block in zip(windows, blocks, strict=True):
        data = block.result() if hasattr(block, "result") else block
        if sites is not None:
            sites.add(window, np.asarray(data, dtype="float64"))  # the score itself, before any cast
        dst.write(np.asarray(data, dtype=dtype), 1, window=window)
    return len(windows)


def write_suitability_tiff(
    array: Any,
    path: str | os.PathLike[str],
    *,
    transform: Affine,
    crs: str,
    overwrite: bool = False,
    client: Any = None,
    tags: Mapping[str, str] | None = None,
    name: str = "suitability",
    dtype: str = "float32",
    cog: bool = True,
    batch_blocks: int | None = None,
    cache_mb: int = 256,
    sites: TopCells | None = None,
) -> Path:
    """Write a lazy 2-D score (e.g. ``suitability_array(...)[0][-1]``) to a GeoTIFF without holding it.

    Parameters
    ----------
    array : dask.array.Array
        The 2-D score, ``NaN`` where there is none; its chunks are the units of work (a numpy array
        works too: ``dask.array.from_array`` it first).
    path : str or path
        The GeoTIFF to write.
    transform, crs
        Georeferencing of the array's top-left cell (``Grid.transform``, ``BELT_CRS``).
    overwrite : bool
        Replace an existing ``path``; otherwise :class:`~corridormap.errors.OutputExistsError`.
    client : dask.distributed.Client, optional
        Compute the blocks on its cluster; by default Dask's threaded scheduler in this process.
    tags : dict, optional
        Provenance tags added to (and overriding) the defaults: ``description``, ``units``, ``source``.
    name : str
        The band description.
    dtype : str
        The file's data type (``float32``, as the other score rasters; ``float64`` to keep every bit).
    cog : bool
        Finish as a Cloud-Optimized GeoTIFF with overviews (one more pass over the file); otherwise a
        tiled (512 x 512), deflate-compressed GeoTIFF.
    batch_blocks : int, optional
        Blocks computed per batch (default: twice the cluster's threads, at least 4); the client holds
        at most two batches.
    cache_mb : int
        GDAL's block cache while writing (its default, 5 % of the machine's memory, would hold that
        much of the file in this process).
    sites : TopCells, optional
        Collects each block's best cells as it is written; then ``sites.resolve(array, client=client)``
        gives the top sites' rows and columns.
    """
    if array.ndim != 2:
        raise ValueError(f"write_suitability_tiff: the array must be 2-D (rows, columns), got {array.shape}")
    target = Path(path)
    refuse_existing([target], overwrite)
    if batch_blocks is None:
        threads = sum(client.nthreads().values()) if client is not None else (os.cpu_count() or 1)
        batch_blocks = max(4, 2 * threads)
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": int(array.shape[1]),
        "height": int(array.shape[0]),
        "count": 1,
        "dtype": dtype,
        "crs": CRS.from_user_input(crs).to_wkt(),
        "transform": transform,
        "nodata": np.nan,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
        "predictor": 3,
        "bigtiff": "IF_SAFER",
    }
    with rasterio.Env(GDAL_CACHEMAX=int(cache_mb)), staging_dir(target) as stage:
        tiled = stage / f"tiled-{target.name}"
        with rasterio.open(tiled, "w", **profile) as dst:
            count = _stream(array, dst, dtype, client, batch_blocks, sites)
            dst.update_tags(**{**_TAGS, **{str(k): str(v) for k, v in (tags or {}).items()}})
            dst.set_band_description(1, name)
        final = tiled
        if cog:
            final = stage / target.name
            rasterio.shutil.copy(
                tiled,
                final,
                driver="COG",
                compress="deflate",
                predictor="YES",
                bigtiff="IF_SAFER",
                num_threads="ALL_CPUS",
            )
        replace_into(final, target)
    log.info("wrote %s (%d x %d, %d blocks)", target, array.shape[0], array.shape[1], count)
    return target


_CHUNK = 2048  # cells of a best-first list whose centres are computed at a time


def _centres(ids: np.ndarray, transform: Affine, ncols: int) -> np.ndarray:
    """Cell centres as :func:`.suitability.top_sites` takes them: centroids of the cells' boxes."""
    import shapely

    rows, cols = np.divmod(np.asarray(ids, dtype="int64"), ncols)
    cell, left, top = transform.a, transform.c, transform.f
    x0, y1 = left + cols * cell, top - rows * cell
    return np.asarray(shapely.get_coordinates(shapely.centroid(shapely.box(x0, y1 - cell, x0 + cell, y1))))


def _best_first(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The eager path's order: best score first, scores equal to 9 decimals by cell id (north-west first)."""
    return np.lexsort((ids, -np.round(scores, 9)))


def _greedy(ids: np.ndarray, forced: np.ndarray, n: int, limit: float, xy_of: Any) -> list[int]:
    """Positions picked from best-first ``ids``: each free of earlier picks (squared distance below
    ``limit``), at most ``n``; ``forced`` cells are picks made elsewhere: they suppress, do not count."""
    picks: list[int] = []
    taken = np.empty((0, 2))
    for start in range(0, ids.size, _CHUNK):
        if len(picks) >= n:
            break
        xy = xy_of(ids[start : start + _CHUNK])
        free = np.ones(len(xy), dtype=bool)
        for point in taken:
            free &= ((xy - point) ** 2).sum(axis=1) >= limit
        free |= forced[start : start + _CHUNK]
        pos = 0
        while len(picks) < n:
            ahead = np.flatnonzero(free[pos:])
            if ahead.size == 0:
                break
            j = pos + int(ahead[0])
            if not forced[start + j]:
                picks.append(start + j)
            taken = np.vstack([taken, xy[j]])
            free &= ((xy - xy[j]) ** 2).sum(axis=1) >= limit
            free |= forced[start : start + _CHUNK]
            free[: j + 1] = False
            pos = j + 1
    return picks


class TopCells:
    """The best cells of a score streamed block by block, as :func:`.suitability.top_sites` picks.

    Feed it with ``write_suitability_tiff(..., sites=cells)``, then :meth:`resolve`. It holds a few
    candidates per block (at most ``top``), never the grid.
    """

    def __init__(self, *, top: int, min_separation_km: float, transform: Affine, shape: tuple[int, int]):
        self.top = int(top)
        self.limit = (float(min_separation_km) * 1000.0) ** 2
        self.transform, self.ncols = transform, int(shape[1])
        self.scores: dict[int, float] = {}  # candidate cell id -> score
        self.runs: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}  # block -> (picks, forced)

    def _xy(self, ids: np.ndarray) -> np.ndarray:
        return _centres(ids, self.transform, self.ncols)

    def _pick(
        self, key: tuple[int, int], block: np.ndarray, offset: tuple[int, int], forced: np.ndarray
    ) -> None:
        """The block's greedy picks (``forced``: cells picked outside it, which suppress but don't count)."""
        r, c = np.nonzero(~np.isnan(block))
        ids = (r + offset[0]) * self.ncols + (c + offset[1])
        scores = block[r, c]
        outside = np.asarray([self.scores[i] for i in forced], dtype="float64")
        ids, scores = np.concatenate([ids, forced]), np.concatenate([scores, outside])
        is_forced = np.arange(ids.size) >= ids.size - forced.size
        order = _best_first(ids, scores)
        picked = order[_greedy(ids[order], is_forced[order], self.top, self.limit, self._xy)]
        self.scores.update(zip(ids[picked].tolist(), scores[picked].tolist(), strict=True))
        self.runs[key] = (ids[picked], forced)

    def add(self, window: Any, block: np.ndarray) -> None:
        """Keep a block's candidates (its score, ``NaN`` where none; ``window`` where it lies)."""
        key = (int(window.row_off), int(window.col_off))
        self._pick(key, np.asarray(block, dtype="float64"), key, np.empty(0, dtype="int64"))

    def _global(self) -> tuple[np.ndarray, dict[int, int]]:
        """The greedy over every candidate: the picks, and each candidate's rank (0 = best)."""
        ids = np.fromiter(self.scores, dtype="int64", count=len(self.scores))
        scores = np.array([self.scores[i] for i in ids.tolist()], dtype="float64")
        ranked = ids[_best_first(ids, scores)]
        picks = ranked[_greedy(ranked, np.zeros(ids.size, dtype=bool), self.top, self.limit, self._xy)]
        return picks, {int(i): k for k, i in enumerate(ranked.tolist())}

    def _unsettled(self, picks: np.ndarray, rank: dict[int, int]) -> list[tuple[int, int]]:
        """Blocks whose suppressing cells (their picks, the outside picks they used) rank before the
        last site yet are not sites: only there may a cell hidden in the block belong to the top."""
        chosen = set(picks.tolist())
        last = rank[int(picks[-1])] if len(picks) == self.top else len(rank)
        out = []
        for key, (own, forced) in self.runs.items():
            cells = np.concatenate([own, forced]).tolist()
            if any(rank[i] <= last and i not in chosen for i in cells):
                out.append(key)
        return out

    def _near(self, picks: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
        """The picks outside rows ``r0:r1``, columns ``c0:c1`` close enough to suppress a cell inside."""
        r, c = np.divmod(picks, self.ncols)
        outside = (r < rows[0]) | (r >= rows[1]) | (c < cols[0]) | (c >= cols[1])
        dr = np.maximum(np.maximum(rows[0] - r, r - (rows[1] - 1)), 0)
        dc = np.maximum(np.maximum(cols[0] - c, c - (cols[1] - 1)), 0)
        # one cell of slack: cell counts times the cell size against centroids' float distances
        gap = np.maximum(np.hypot(dr, dc) - 1.0, 0.0) * abs(self.transform.a)
        return picks[outside & (gap**2 < self.limit)]

    def resolve(
        self, array: Any, *, client: Any = None, max_rounds: int = 50
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows and columns of the top cells, best first (the same as the eager ``top_sites``).

        ``array`` is the lazy score that was streamed: blocks where a pick was suppressed across an
        edge are computed again (on ``client``'s cluster if given) and picked with the outside sites.
        """
        import dask

        if self.top <= 0 or not self.scores:
            return np.empty(0, dtype="int64"), np.empty(0, dtype="int64")
        rows = np.array([0, *accumulate(array.chunks[0])])
        cols = np.array([0, *accumulate(array.chunks[1])])
        for _ in range(max_rounds):
            picks, rank = self._global()
            unsettled = self._unsettled(picks, rank)
            if not unsettled:
                return np.divmod(picks, self.ncols)
            log.info(
                "top sites: %d block(s) picked again, a pick there was suppressed across an edge",
                len(unsettled),
            )
            for r0, c0 in unsettled:
                i, j = int(np.searchsorted(rows, r0)), int(np.searchsorted(cols, c0))
                lazy = array.blocks[i, j]
                block = client.compute(lazy).result() if client is not None else dask.compute(lazy)[0]
                near = self._near(picks, (r0, rows[i + 1]), (c0, cols[j + 1]))
                self._pick((r0, c0), np.asarray(block, dtype="float64"), (r0, c0), near)
        raise RuntimeError(f"top sites: not settled after {max_rounds} rounds of re-picking blocks")
