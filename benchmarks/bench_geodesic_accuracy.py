"""Accuracy of reported distances against pyproj.Geod (WGS 84), by distance band.

For random point pairs across the DMIC belt and beyond (68.5-81 E, 17-31 N) the script compares with
``Geod.inv``:

* ``reported, point target``: what the access card reports now
  (:func:`corridormap.analysis.geodesic.geodesic_nearest`, nearest location found in EPSG:7755,
  distance measured on the ellipsoid);
* ``reported, line target``: the same to a 40 km line through the far point, against the least Geod
  distance to that line (bounded minimisation along it);
* ``planar / scale factor``: the former method (:func:`corridormap.crs.true_km`: planar EPSG:7755 metres
  divided by the scale factor at the midpoint), for comparison.

It prints the max and 99th-percentile relative error per band (0-50, 50-300, 300-600, 600-1500 km),
then the k-nearest order: for random sets of one point and 8 point targets across the same box, how
often the first k (k = 1..4) ranked by planar EPSG:7755 distance (the former ranking) and by the
reported geodesic km differ from the order of ``Geod.inv``.

    python benchmarks/bench_geodesic_accuracy.py            # 2,000 pairs per band
    python benchmarks/bench_geodesic_accuracy.py -n 500
"""

from __future__ import annotations

import argparse

import numpy as np
import shapely
from pyproj import Geod, Transformer

from corridormap.analysis.geodesic import geodesic_nearest
from corridormap.crs import BELT_CRS, true_km

GEOD = Geod(ellps="WGS84")
TO_BELT = Transformer.from_crs("EPSG:4326", BELT_CRS, always_xy=True)
TO_LL = Transformer.from_crs(BELT_CRS, "EPSG:4326", always_xy=True)
BANDS = [(0, 50), (50, 300), (300, 600), (600, 1500)]


def pairs_in_band(rng: np.random.Generator, low: float, high: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pairs of lon/lat points, both in the box, ``low``-``high`` km apart on the ellipsoid."""
    a_all, b_all = [], []
    while sum(len(a) for a in a_all) < n:
        lon, lat = rng.uniform(68.5, 81.0, 4 * n), rng.uniform(17.0, 31.0, 4 * n)
        az, dist = rng.uniform(0, 360, 4 * n), rng.uniform(max(low, 0.5), high, 4 * n) * 1000.0
        lon2, lat2, _ = GEOD.fwd(lon, lat, az, dist)
        ok = (lon2 > 68.5) & (lon2 < 81.0) & (lat2 > 17.0) & (lat2 < 31.0)
        a_all.append(np.column_stack([lon, lat])[ok])
        b_all.append(np.column_stack([lon2, lat2])[ok])
    return np.concatenate(a_all)[:n], np.concatenate(b_all)[:n]


def belt(ll: np.ndarray) -> np.ndarray:
    return np.column_stack(TO_BELT.transform(ll[:, 0], ll[:, 1]))


def errors(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    ref = np.asarray(GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2]) / 1000.0
    pa, pb = belt(a), belt(b)
    out: dict[str, list[float]] = {"reported, point target": [], "reported, line target": []}
    for i in range(len(a)):
        table = geodesic_nearest(pa[i : i + 1], shapely.points(pb[i : i + 1]))
        out["reported, point target"].append(abs(table["km"][0] - ref[i]) / ref[i])
        angle = rng.uniform(0, np.pi)
        half = 20_000.0 * np.array([np.cos(angle), np.sin(angle)])
        line = np.array([pb[i] - half, pb[i] + half])
        line_ref = least_geod_km(a[i], line)
        km = geodesic_nearest(pa[i : i + 1], np.array([shapely.linestrings(line)]))["km"][0]
        out["reported, line target"].append(abs(km - line_ref) / line_ref if line_ref > 0.5 else 0.0)
    planar = true_km(np.hypot(*(pa - pb).T), *((pa + pb) / 2).T)
    return {**{k: np.array(v) for k, v in out.items()}, "planar / scale factor": np.abs(planar - ref) / ref}


def least_geod_km(p: np.ndarray, line: np.ndarray) -> float:
    """The least Geod distance (km) from lon/lat ``p`` to a straight EPSG:7755 segment ``line``
    (bounded scalar minimisation along it, to 1e-10 of its length; the distance is unimodal)."""
    from scipy.optimize import minimize_scalar

    def km(t: float) -> float:
        x, y = line[0] + t * (line[1] - line[0])
        lon, lat = TO_LL.transform(x, y)
        return float(GEOD.inv(p[0], p[1], lon, lat)[2]) / 1000.0

    best = minimize_scalar(km, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-10})
    return min(float(best.fun), km(0.0), km(1.0))


def order_mismatches(rng: np.random.Generator, sets: int, targets: int = 8) -> dict[int, tuple[int, int]]:
    """k -> (sets whose planar top-k order differs from Geod's, sets whose reported order does)."""
    out = {k: [0, 0] for k in range(1, 5)}
    for _ in range(sets):
        ll = np.column_stack([rng.uniform(68.5, 81.0, targets + 1), rng.uniform(17.0, 31.0, targets + 1)])
        p, t = ll[:1], ll[1:]
        ref = np.asarray(GEOD.inv(np.full(targets, p[0, 0]), np.full(targets, p[0, 1]), t[:, 0], t[:, 1])[2])
        truth = np.argsort(ref, kind="stable")
        planar = np.argsort(np.hypot(*(belt(t) - belt(p)).T), kind="stable")
        table = geodesic_nearest(belt(p), shapely.points(belt(t)), k=4)
        for k in out:
            out[k][0] += int(not np.array_equal(planar[:k], truth[:k]))
            out[k][1] += int(not np.array_equal(table["target"][:k], truth[:k]))
    return {k: (a, b) for k, (a, b) in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="pairs per band")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--sets", type=int, default=10_000, help="random sets for the k-nearest order")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"relative error against pyproj.Geod (WGS 84), {args.n} random pairs per band, seed {args.seed}")
    print(f"{'band (km)':<12}{'method':<26}{'max':>12}{'p99':>12}")
    for low, high in BANDS:
        a, b = pairs_in_band(rng, low, high, args.n)
        for method, err in errors(a, b, rng).items():
            print(f"{f'{low}-{high}':<12}{method:<26}{err.max():>11.5%}{np.percentile(err, 99):>11.5%}")
    print(f"k-nearest order against Geod.inv, {args.sets:,} random sets of 1 point and 8 targets:")
    for k, (planar, reported) in order_mismatches(rng, args.sets).items():
        print(f"  k={k}: planar ranking differs in {planar} sets, reported (geodesic) ranking in {reported}")


if __name__ == "__main__":
    main()
