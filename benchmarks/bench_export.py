"""Benchmark: ``export_layers`` per format against a plain one-call write, on the same layer.

The layer: ``-n`` random points in the belt's bounding box with an id, a float, an int, a text and
a datetime column (EPSG:4326). The baseline for each format is the plain write GIS scripts use
(``pyogrio.write_dataframe``, or ``GeoDataFrame.to_parquet``) with no staging, no mapping, no
read-back and no manifest; corridormap's figure includes all of those. Printed: wall time (best of
``--repeat``), output bytes, and the ratio corridormap / plain.

    python benchmarks/bench_export.py                 # 200,000 points
    python benchmarks/bench_export.py -n 20000 --repeat 1
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from corridormap.errors import DataLossWarning
from corridormap.export.formats import FORMATS
from corridormap.export.write import export_layers

_PLAIN: dict[str, Callable[[gpd.GeoDataFrame, Path], None]] = {
    "gpkg": lambda g, p: pyogrio.write_dataframe(g, p, layer="pts", driver="GPKG"),
    "geojson": lambda g, p: pyogrio.write_dataframe(g, p, driver="GeoJSON"),
    "fgb": lambda g, p: pyogrio.write_dataframe(g, p, driver="FlatGeobuf"),
    "parquet": lambda g, p: g.to_parquet(p),
    "shp": lambda g, p: pyogrio.write_dataframe(
        g, p.with_suffix("").with_suffix(".shp"), driver="ESRI Shapefile"
    ),
    "kml": lambda g, p: pyogrio.write_dataframe(g, p, driver="LIBKML"),
    "csv": lambda g, p: pyogrio.write_dataframe(g, p, driver="CSV", layer_options={"GEOMETRY": "AS_XY"}),
}


def points(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    when = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s")
    return gpd.GeoDataFrame(
        {
            "id": np.arange(n),
            "value": rng.random(n),
            "count": rng.integers(0, 1000, n),
            "label": [f"site {i}" for i in range(n)],
            "when": when,
        },
        geometry=gpd.points_from_xy(rng.uniform(68, 80, n), rng.uniform(18, 30, n)),
        crs="EPSG:4326",
    )


def best_of(repeat: int, run: Callable[[Path], Path]) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(repeat):
        folder = Path(tempfile.mkdtemp(prefix="bench-export-"))
        try:
            start = time.perf_counter()
            out = run(folder)
            best = min(best, time.perf_counter() - start)
            size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p != out.parent)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return best, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    layer = points(args.n)
    print(f"{args.n:,} points, best of {args.repeat}")
    print(f"{'format':8} {'corridormap s':>14} {'plain s':>9} {'ratio':>6} {'bytes':>12}")
    for key, plain in _PLAIN.items():
        suffix = FORMATS[key].suffixes[0]

        def ours(folder: Path, key: str = key, suffix: str = suffix) -> Path:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataLossWarning)
                return export_layers({"pts": layer}, folder / f"pts{suffix}", driver=key)

        def theirs(folder: Path, plain: Callable[..., None] = plain, suffix: str = suffix) -> Path:
            plain(layer, folder / f"pts{suffix}")
            return folder / f"pts{suffix}"

        t_ours, size = best_of(args.repeat, ours)
        t_plain, _ = best_of(args.repeat, theirs)
        print(f"{key:8} {t_ours:14.2f} {t_plain:9.2f} {t_ours / t_plain:6.2f} {size:12,}")


if __name__ == "__main__":
    main()
