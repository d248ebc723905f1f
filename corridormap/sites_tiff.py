"""Stream a lazy (dask) suitability score into a tiled, compressed GeoTIFF, block by block.

For grids too big for one machine's memory (all of India at 100 m is ~330 million cells), the score
from :func:`corridormap.sites.suitability_array` is never materialised: its blocks are computed a
batch at a time (on the ``dask.distributed`` cluster of ``client``, or with Dask's threaded scheduler)
and each block is written into its window of the file by this process, the only one that touches it,
so no lock or shared file system is needed. While one batch is written the next is computing, and at
most two batches are held here, so the client's memory stays bounded whatever the grid's size.

The file is built in a staging folder beside ``path`` and moved into place only when complete
(:mod:`corridormap.atomic`): a failing compute leaves nothing, and an existing file is kept unless
``overwrite``. With ``cog`` (the default) the tiled GeoTIFF is then copied into a Cloud-Optimized
GeoTIFF with overviews by GDAL, which also streams (a second pass over the file, not over the grid).
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

from .atomic import refuse_existing, replace_into, staging_dir

__all__ = ["write_suitability_tiff"]

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


def _stream(array: Any, dst: Any, dtype: str, client: Any, batch_blocks: int) -> int:
    """Compute the blocks a batch at a time and write each into its window; return blocks written."""
    import dask

    written = 0
    pending: tuple[list[Any], list[Any]] | None = None
    for batch in _batches(array, batch_blocks):
        windows = [w for w, _ in batch]
        if client is None:
            if pending is not None:
                written += _write(dst, *pending, dtype)
            pending = (windows, list(dask.compute(*[d for _, d in batch])))
            continue
        futures = client.compute([d for _, d in batch])  # runs while the previous batch is written
        if pending is not None:
            written += _write(dst, *pending, dtype)
        pending = (windows, futures)
    if pending is not None:
        written += _write(dst, *pending, dtype)
    return written


def _write(dst: Any, windows: list[Any], blocks: list[Any], dtype: str) -> int:
    for window, block in zip(windows, blocks, strict=True):
        data = block.result() if hasattr(block, "result") else block
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
            count = _stream(array, dst, dtype, client, batch_blocks)
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
