"""Benchmark: the k nearest of many target lines (k >= 2) for many random points in the corridor belt.

Synthetic targets: ``--lines`` random 4-vertex lines (about 2 km steps) starting at random points
of the belt, and ``--points`` random query points, all in EPSG:7755. The script times
``nearest_table(points, lines, k=K)`` and checks it against a brute-force reference on a sample
of the points (every point-line distance by shapely; the k smallest, ties to the lower line
position) before printing figures. ``--before REV`` also times ``corridormap/nearest.py`` as it was
at git revision REV (checked the same way) and prints the speed-up.

    python benchmarks/bench_nearest_k.py                   # 20,000 lines x 20,000 points, k = 2
    python benchmarks/bench_nearest_k.py --k 3 --points 100000
    python benchmarks/bench_nearest_k.py --before a43fdac  # and the search before cells followed targets
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from bench_access import best_time, random_belt_points

import corridormap
from corridormap.analysis.nearest import nearest_table


def random_lines(belt, n: int, seed: int) -> np.ndarray:
    """``n`` random 4-vertex lines (steps of about 2 km) starting inside the belt, in EPSG:7755."""
    start = shapely.get_coordinates(random_belt_points(belt, n, seed).geometry.values)
    steps = np.random.default_rng(seed + 1).normal(0.0, 2_000.0, (n, 3, 2))
    return shapely.linestrings(
        np.concatenate([start[:, None], start[:, None] + steps.cumsum(axis=1)], axis=1)
    )


def brute_force(xy: np.ndarray, lines: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(targets, distances) of shape (len(xy), k): every distance measured, ties to the lower position."""
    d = shapely.distance(shapely.points(xy)[:, None], lines[None, :])
    order = np.lexsort((np.broadcast_to(np.arange(len(lines)), d.shape), d), axis=1)[:, :k]
    return order, np.take_along_axis(d, order, axis=1)


def nearest_at(rev: str) -> Callable[..., Any]:
    """``nearest_table`` from ``corridormap/analysis/nearest.py`` (``corridormap/nearest.py`` before
    the analysis room) as it was at git revision ``rev``."""
    root = Path(__file__).resolve().parent.parent
    for where in ("corridormap/analysis/nearest.py", "corridormap/nearest.py"):
        shown = subprocess.run(["git", "show", f"{rev}:{where}"], cwd=root, capture_output=True, text=True)
        if shown.returncode == 0:
            break
    shown.check_returncode()
    path = Path(tempfile.mkdtemp()) / "nearest_before.py"
    path.write_text(re.sub(r"from \.+(\w)", r"from corridormap.\1", shown.stdout))  # relative imports
    spec = importlib.util.spec_from_file_location("corridormap._nearest_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.nearest_table


def check(table: Any, xy: np.ndarray, lines: np.ndarray, k: int, sample: np.ndarray) -> None:
    want_t, want_d = brute_force(xy[sample], lines, k)
    got = table.set_index(["point", "rank"]).loc[[(p, r) for p in sample for r in range(1, k + 1)]]
    assert (got["target"].to_numpy().reshape(-1, k) == want_t).all()
    np.testing.assert_allclose(got["distance_m"].to_numpy().reshape(-1, k), want_d, rtol=1e-9, atol=1e-6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("-n", "--points", type=int, default=20_000)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--check", type=int, default=300, help="points checked by brute force")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--before", metavar="REV", help="also time nearest.py at this git revision")
    args = parser.parse_args()

    belt = corridormap.load_layers()["corridor_belt"]
    lines = random_lines(belt, args.lines, args.seed)
    xy = shapely.get_coordinates(random_belt_points(belt, args.points, args.seed + 7).geometry.values)
    print(f"{len(xy):,} random points, {len(lines):,} random lines in the belt, k = {args.k}")

    sample = np.random.default_rng(args.seed).choice(len(xy), min(args.check, len(xy)), replace=False)
    runs = {"now": nearest_table} | ({f"at {args.before}": nearest_at(args.before)} if args.before else {})
    figures = {}
    for label, search in runs.items():
        wall, cpu, table = best_time(functools.partial(search, xy, lines, k=args.k), args.repeat)
        check(table, xy, lines, args.k, sample)
        figures[label] = wall, cpu
        print(
            f"nearest_table k={args.k} ({label}): wall {wall:7.3f} s  cpu {cpu:7.3f} s  ({len(table):,} rows)"
        )
    print(f"same answers as brute force on {len(sample)} points: yes (targets, ranks and planar distances)")
    if args.before:
        (w_now, c_now), (w_then, c_then) = figures.values()
        print(f"speed-up over {args.before}: wall {w_then / w_now:.1f}x  cpu {c_then / c_now:.1f}x")


if __name__ == "__main__":
    main()
