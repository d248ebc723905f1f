"""Benchmark: node x sector fit with ±20 % weight sensitivity, and one-page briefs (HTML, PDF).

Fit baseline: the ranks under every ±20 % weight change recomputed with the full per-criterion
table (:func:`corridormap.sectors.fit.fit_scores`, a pandas frame per perturbation), against the
vectorised path :func:`corridormap.sectors.fit.sector_fit` uses (scores normalised once per profile,
then one weighted sum per perturbation). The script checks both give the same ranks before printing.
Nodes are the shipped ones repeated with small offsets (``-n``) to see how the fit scales.

    python benchmarks/bench_sectors.py            # 43 shipped nodes x 10, briefs for 2 nodes
    python benchmarks/bench_sectors.py -n 1 --briefs 0
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

import corridormap
from corridormap.sectors import criterion_values, load_profiles
from corridormap.sectors.fit import SENSITIVITY_STEP, _ranks_under, fit_scores


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    wall, cpu, out = [], [], None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu), out


def _baseline(values: pd.DataFrame, profiles: dict[str, Any]) -> dict[tuple[str, str, float], pd.Series]:
    out = {}
    for profile in profiles.values():
        for w in profile.weightings:
            for factor in (1 - SENSITIVITY_STEP, 1 + SENSITIVITY_STEP):
                moved = profile.with_weights({w.criterion: w.weight * factor})
                out[(profile.id, w.criterion, factor)] = fit_scores(values, moved)["rank"]
    return out


def _vectorised(values: pd.DataFrame, profiles: dict[str, Any]) -> dict[tuple[str, str, float], pd.Series]:
    out = {}
    for profile in profiles.values():
        for (criterion, factor), ranks in _ranks_under(values, profile).items():
            out[(profile.id, criterion, factor)] = ranks
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10, help="copies of the shipped nodes (default 10)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--briefs", type=int, default=2, help="nodes to brief (0: skip)")
    args = parser.parse_args()

    layers = dict(corridormap.load_layers())
    shipped = layers["industrial_nodes"]
    rng = np.random.default_rng(0)
    copies = []
    for i in range(args.n):
        copy = shipped.copy()
        copy["id"] = copy["id"] + (f"_{i}" if i else "")
        copy.geometry = gpd.points_from_xy(
            copy.geometry.x + rng.normal(0, 0.05, len(copy)) * bool(i),
            copy.geometry.y + rng.normal(0, 0.05, len(copy)) * bool(i),
        )
        copies.append(copy)
    nodes = gpd.GeoDataFrame(pd.concat(copies, ignore_index=True), crs=shipped.crs)
    profiles = load_profiles()
    wall_v, cpu_v, values = _best(lambda: criterion_values(nodes, layers), 1)
    print(
        f"nodes: {len(nodes)}, sectors: {len(profiles)}; "
        f"criterion values: {wall_v:.2f} s wall, {cpu_v:.2f} s CPU"
    )

    wall_b, cpu_b, base = _best(lambda: _baseline(values, profiles), args.repeat)
    wall_f, cpu_f, fast = _best(lambda: _vectorised(values, profiles), args.repeat)
    assert base.keys() == fast.keys()
    for key in base:
        pd.testing.assert_series_equal(base[key], fast[key], check_names=False)
    print(
        f"±20 % ranks ({len(base)} perturbations): baseline {wall_b:.3f} s wall / {cpu_b:.3f} s CPU, "
        f"vectorised {wall_f:.3f} s / {cpu_f:.3f} s: {cpu_b / cpu_f:.1f}x less CPU (same ranks)"
    )

    if args.briefs:
        from corridormap.sectors.brief import briefs

        ids = list(shipped["id"][: args.briefs])
        for lang in ("en", "ja"):
            wall_h, cpu_h, done = _best(lambda lang=lang: briefs(ids, lang=lang, layers=layers), 1)
            wall_p, cpu_p, _ = _best(lambda done=done: [b.pdf() for b in done], 1)
            size = sum(len(b.html.encode()) for b in done) / len(done) / 1e3
            print(
                f"briefs {lang}: {len(ids)} nodes, HTML {wall_h:.2f} s wall ({size:.0f} kB each), "
                f"PDF {wall_p:.2f} s wall"
            )


if __name__ == "__main__":
    main()
