"""Benchmark: ``corridormap.read_file`` (read + every check + repairs) against a plain read.

Layers: ``-n`` random points in the belt's bounding box (id, float, int, text columns) written as
GeoJSON, GeoPackage and CSV; and ``-n // 100`` small polygons of which one in ten is a bow-tie
(invalid, repaired by ``read_file``). The baseline is the one call a GIS script makes
(``pyogrio.read_dataframe``, or ``pandas.read_csv`` plus ``geopandas.points_from_xy``) with no
checks. Printed: wall time (best of ``--repeat``) and the ratio corridormap / plain.

    python benchmarks/bench_read_file.py            # 100,000 points
    python benchmarks/bench_read_file.py -n 10000 --repeat 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from corridormap.errors import CorridormapWarning
from corridormap.io.read import read_file


def _points(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    x, y = rng.uniform(72, 80, n), rng.uniform(18, 29, n)
    return gpd.GeoDataFrame(
        {
            "id": [f"P{i}" for i in range(n)],
            "mw": rng.uniform(0, 500, n),
            "year": rng.integers(1990, 2025, n),
            "name": [f"site {i}" for i in range(n)],
        },
        geometry=gpd.points_from_xy(x, y),
        crs="EPSG:4326",
    )


def _polygons(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    shapes = []
    for i, (x, y) in enumerate(zip(rng.uniform(72, 80, n), rng.uniform(18, 29, n), strict=True)):
        ring = (
            [(x, y), (x + 0.01, y + 0.01), (x + 0.01, y), (x, y + 0.01)]
            if i % 10 == 0
            else [(x, y), (x + 0.01, y), (x + 0.01, y + 0.01), (x, y + 0.01)]
        )
        shapes.append(shapely.Polygon(ring))
    return gpd.GeoDataFrame({"id": [f"A{i}" for i in range(n)]}, geometry=shapes, crs="EPSG:4326")


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _quiet_read(path: Path, **options: object) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorridormapWarning)
        return read_file(path, **options)  # type: ignore[arg-type]


def _plain_csv(path: Path) -> gpd.GeoDataFrame:
    df = pd.read_csv(path)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.longitude, df.latitude), crs="EPSG:4326")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    points, polygons = _points(args.n, rng), _polygons(max(args.n // 100, 10), rng)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        points.to_file(d / "p.geojson", driver="GeoJSON")
        points.to_file(d / "p.gpkg", driver="GPKG")
        pd.DataFrame(points.drop(columns="geometry")).assign(
            longitude=points.geometry.x, latitude=points.geometry.y
        ).to_csv(d / "p.csv", index=False)
        polygons.to_file(d / "a.gpkg", driver="GPKG")
        cases = [
            (f"GeoJSON, {args.n:,} points", d / "p.geojson", lambda: pyogrio.read_dataframe(d / "p.geojson")),
            (f"GeoPackage, {args.n:,} points", d / "p.gpkg", lambda: pyogrio.read_dataframe(d / "p.gpkg")),
            (f"CSV, {args.n:,} points", d / "p.csv", lambda: _plain_csv(d / "p.csv")),
            (
                f"GeoPackage, {len(polygons):,} polygons (10% invalid)",
                d / "a.gpkg",
                lambda: pyogrio.read_dataframe(d / "a.gpkg"),
            ),
        ]
        print(f"{'layer':<44} {'read_file':>10} {'plain':>9} {'ratio':>6}")
        for label, path, plain in cases:
            ours = _best(lambda p=path: _quiet_read(p), args.repeat)
            base = _best(plain, args.repeat)
            print(f"{label:<44} {ours:>9.3f}s {base:>8.3f}s {ours / base:>5.1f}x")


if __name__ == "__main__":
    main()
