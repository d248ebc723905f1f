"""Benchmark: the access card for many random points in the corridor belt against every target layer.

Baselines: ``geopandas.sjoin_nearest`` once per target layer, in the same metric CRS (EPSG:7755):
planar metres, not what the card reports; and ``sjoin+Geod``, the fair "true km" baseline:
sjoin_nearest, then the nearest location on each joined feature (``shapely.shortest_line``) and
``pyproj.Geod.inv`` from the point to it (the planar nearest's geodesic km, without the card's
geodesic re-rank). All start from the same inputs (points already in EPSG:7755, the shipped layers
as loaded) and the script checks they give the same answers (nearest feature, planar distance) before printing
figures: wall and CPU time (best of ``--repeat``; CPU time is the steadier figure on a shared
machine), peak Python-heap memory (tracemalloc, separate run) and the speed-ups against both.

    python benchmarks/bench_access.py            # 100,000 points
    python benchmarks/bench_access.py -n 20000 --repeat 1
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Geod, Transformer

import corridormap
from corridormap.analysis.access import access_card, default_targets
from corridormap.analysis.nearest import nearest_table
from corridormap.crs import geodesic_km, to_metric

GEOD = Geod(ellps="WGS84")


def random_belt_points(belt: gpd.GeoDataFrame, n: int, seed: int) -> gpd.GeoDataFrame:
    """``n`` uniform random points inside the belt polygon, in EPSG:7755."""
    shape = shapely.union_all(to_metric(belt).geometry.values)
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = shape.bounds
    found: list[np.ndarray] = []
    while sum(len(f) for f in found) < n:
        xy = np.column_stack([rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)])
        found.append(xy[shapely.contains_xy(shape, xy[:, 0], xy[:, 1])])
    xy = np.concatenate(found)[:n]
    return gpd.GeoDataFrame({"name": np.arange(n).astype(str)}, geometry=shapely.points(xy), crs="EPSG:7755")


def baseline(points: gpd.GeoDataFrame, targets: dict[str, Any]) -> dict[str, gpd.GeoDataFrame]:
    """sjoin_nearest once per target layer, in the points' metric CRS."""
    out = {}
    for prefix, (layer, _label) in targets.items():
        out[prefix] = gpd.sjoin_nearest(points, layer.to_crs(points.crs), distance_col="distance_m")
    return out


def baseline_geod(points: gpd.GeoDataFrame, targets: dict[str, Any]) -> dict[str, np.ndarray]:
    """sjoin_nearest per target layer, then Geod.inv (WGS 84) from each point to its nearest
    location on the joined feature (first of ties): geodesic km per point."""
    xy = shapely.get_coordinates(points.geometry.values)
    to_ll = Transformer.from_crs(points.crs, "EPSG:4326", always_xy=True)
    lon1, lat1 = to_ll.transform(xy[:, 0], xy[:, 1])
    out = {}
    for prefix, joined in baseline(points, targets).items():
        first = joined.groupby(level=0)["index_right"].min()  # points: a RangeIndex, so positions
        at, layer = first.index.to_numpy(), targets[prefix][0].to_crs(points.crs)
        near = layer.geometry.loc[first.to_numpy()].values
        ends = shapely.get_coordinates(shapely.shortest_line(points.geometry.values[at], near))
        lon2, lat2 = to_ll.transform(ends[1::2, 0], ends[1::2, 1])
        out[prefix] = np.asarray(GEOD.inv(lon1[at], lat1[at], lon2, lat2)[2]) / 1000.0
    return out


def best_time(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best wall time and best CPU time of this process (the machine may be shared) over ``repeat`` runs."""
    wall, cpu, result = np.inf, np.inf, None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu, result


def peak_mib(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def check_same(
    points: gpd.GeoDataFrame,
    targets: dict[str, Any],
    joined: dict[str, gpd.GeoDataFrame],
    card: gpd.GeoDataFrame,
) -> dict[str, int]:
    """nearest_table: the same nearest feature (ties: the first in layer order) and planar distance as
    sjoin_nearest. The card ranks by geodesic km: where its name differs from the planar nearest, its
    km must be no more than the geodesic km to the planar nearest's location. Returns those counts."""
    xy = shapely.get_coordinates(points.geometry.values)
    differ = {}
    for prefix, (layer, label) in targets.items():
        first = joined[prefix].groupby(level=0).agg(d=("distance_m", "first"), right=("index_right", "min"))
        table = nearest_table(xy, to_metric(layer).geometry.values)
        np.testing.assert_allclose(table["distance_m"], first["d"], rtol=1e-9, atol=1e-6)
        assert (layer.index.to_numpy()[table["target"]] == first["right"].to_numpy()).all(), prefix
        names = layer.loc[first["right"].to_numpy(), label].to_numpy()
        other = card[f"{prefix}_name"].to_numpy() != names
        planar_km = geodesic_km(xy[other], table[["x", "y"]].to_numpy()[other])
        assert (card[f"{prefix}_km"].to_numpy()[other] <= planar_km + 1e-6).all(), prefix
        differ[prefix] = int(other.sum())
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--points", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    layers = corridormap.load_layers()
    targets = default_targets(layers)
    points = random_belt_points(layers["corridor_belt"], args.points, args.seed)
    sizes = ", ".join(f"{p}: {len(t[0])}" for p, t in targets.items())
    print(f"{len(points):,} random points in the belt; targets ({sizes})")

    t_base, c_base, joined = best_time(lambda: baseline(points, targets), args.repeat)
    t_geod, c_geod, true_km = best_time(lambda: baseline_geod(points, targets), args.repeat)
    t_card, c_card, card = best_time(lambda: access_card(points, targets), args.repeat)
    differ = check_same(points, targets, joined, card)
    nearer = {}
    for prefix, km in true_km.items():  # the card's km: never more than the planar nearest's
        mine = card[f"{prefix}_km"].to_numpy()
        assert (mine <= km + 1e-6).all(), prefix
        nearer[prefix] = int((mine < km - 1e-6).sum())
    print("nearest_table: same answers as sjoin_nearest (nearest feature and planar distance, every layer)")
    print(
        "access_card rank 1 differs from the planar nearest (geodesically nearer, checked): "
        + ", ".join(f"{p} {n}" for p, n in differ.items())
    )
    print(
        "sjoin+Geod: the card's km never more; less (a geodesically nearer feature) for "
        + ", ".join(f"{p} {n}" for p, n in nearer.items())
    )
    m_base = peak_mib(lambda: baseline(points, targets))
    m_geod = peak_mib(lambda: baseline_geod(points, targets))
    m_card = peak_mib(lambda: access_card(points, targets))
    print(
        f"baseline sjoin_nearest x{len(targets)} (planar m): wall {t_base:6.3f} s  cpu {c_base:6.3f} s  "
        f"peak {m_base:6.1f} MiB"
    )
    print(
        f"baseline sjoin+Geod x{len(targets)} (true km):     wall {t_geod:6.3f} s  cpu {c_geod:6.3f} s  "
        f"peak {m_geod:6.1f} MiB"
    )
    print(
        f"access_card (geodesic km):          wall {t_card:6.3f} s  cpu {c_card:6.3f} s  "
        f"peak {m_card:6.1f} MiB"
    )
    print(
        f"speed-up vs sjoin_nearest: wall {t_base / t_card:.1f}x  cpu {c_base / c_card:.1f}x   "
        f"vs sjoin+Geod: wall {t_geod / t_card:.1f}x  cpu {c_geod / c_card:.1f}x   "
        f"memory ratio (vs sjoin_nearest): {m_card / m_base:.2f}"
    )


if __name__ == "__main__":
    main()
