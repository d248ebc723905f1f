"""Suitability over the whole belt: time and peak memory at 5 km and 1 km cells, single machine and Dask.

    python benchmarks/bench_sites.py            # 5 km, 1 km, and 1 km on a 2-worker LocalCluster
    python benchmarks/bench_sites.py --quick    # 5 km only
    python benchmarks/bench_sites.py --tiff     # stream lazy grids to GeoTIFF: client peak memory

Each case runs in a fresh Python process so its peak resident memory is its own. The default rasters
are built (and cached) first; their build time is printed separately. Targets on a 2-core machine:
1 km under 60 s and under 4 GB. Ratios compare with the 5 km single-machine run (the baseline).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

CASE = r"""
import json, resource, sys, time
import corridormap
from corridormap.sites.suitability import suitability
cell_km, dask = float(sys.argv[1]), sys.argv[2] == "dask"
layers = corridormap.load_layers()
client = None
if dask:
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster)
t = time.perf_counter()
result = suitability(layers, cell_km=cell_km, client=client)
seconds = time.perf_counter() - t
if client is not None:
    client.close(); cluster.close()
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"cells": int(result.score.data.size), "in_belt": len(result.grid),
                  "seconds": seconds, "peak_mb": rss_mb, "best": float(result.sites["score"].iloc[0])}))
"""


# a lazy grid streamed to a GeoTIFF by write_suitability_tiff on a 2-process LocalCluster; the client's
# peak RSS is this process's own (the workers are other processes). "synthetic": a cheap smooth score
# over N x N cells; "model": the real model over the belt at the given cell size.
TIFF_CASE = r"""
import json, math, os, resource, sys, tempfile, time
import numpy as np, dask.array as da
from distributed import Client, LocalCluster
from corridormap.crs import BELT_CRS
from corridormap.sites.suitability import suitability_array, write_suitability_tiff
from rasterio.transform import from_origin
kind, size = sys.argv[1], float(sys.argv[2])

def synthetic(block, block_info=None):
    (r0, r1), (c0, c1) = block_info[0]["array-location"]
    y, x = np.mgrid[r0:r1, c0:c1].astype("float64")
    score = 0.5 + 0.5 * np.sin(x / 900.0) * np.cos(y / 700.0)
    score[(x - size / 2) ** 2 + (y - size / 2) ** 2 > (size / 2) ** 2] = np.nan
    return score

with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
        Client(cluster) as client:
    t = time.perf_counter()
    if kind == "synthetic":
        n = int(size)
        score = da.zeros((n, n), chunks=2048, dtype="float64").map_blocks(synthetic, dtype="float64")
        transform = from_origin(4_000_000, 4_000_000 + n * 100, 100, 100)
    else:
        import corridormap
        stack, grid, _ = suitability_array(corridormap.load_layers(), cell_km=size, client=client)
        score, transform = stack[-1], grid.transform
    with tempfile.TemporaryDirectory() as folder:
        path = write_suitability_tiff(score, os.path.join(folder, "s.tif"), transform=transform,
                                      crs=BELT_CRS, client=client)
        mb = os.path.getsize(path) / 2**20
    seconds = time.perf_counter() - t
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"cells": int(score.size), "seconds": seconds, "peak_mb": rss_mb, "file_mb": mb,
                  "eager_mb": score.size * 8 / 2**20}))
"""


def run_case(cell_km: float, mode: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CASE, str(cell_km), mode], check=True, capture_output=True, text=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def tiff_cases(cases: list[tuple[str, float]]) -> None:
    """Stream lazy grids to GeoTIFF; the client's peak RSS against the grid's size as float64."""
    heads = ["seconds", "Mcell/s", "file MB", "peak MB", "grid MB"]
    print(f"{'tiff case':<22}{'cells':>14}" + "".join(f"{h:>9}" for h in heads))
    for kind, size in cases:
        out = subprocess.run(
            [sys.executable, "-c", TIFF_CASE, kind, str(size)], check=True, capture_output=True, text=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        label = f"{kind} {size:g}" + (" km" if kind == "model" else " cells²")
        print(
            f"{label:<22}{r['cells']:>14,}{r['seconds']:>9.1f}{r['cells'] / r['seconds'] / 1e6:>9.1f}"
            f"{r['file_mb']:>9,.0f}{r['peak_mb']:>9,.0f}{r['eager_mb']:>9,.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 5 km case")
    parser.add_argument("--tiff", action="store_true", help="only the streamed GeoTIFF cases")
    parser.add_argument("--tiff-cells", type=int, default=20_000, help="side of the synthetic grid")
    args = parser.parse_args()
    if args.tiff:
        tiff_cases([("synthetic", 2_000), ("synthetic", args.tiff_cells), ("model", 0.25)])
        return

    # in a child too: a process's peak memory survives fork and exec, so this one must stay small
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "from corridormap.sites.defaults import build_default_rasters as b; b()"],
        check=True,
    )
    print(f"default rasters (cached after the first run): {time.perf_counter() - t:.1f} s")
    cases = [(5.0, "single")] if args.quick else [(5.0, "single"), (1.0, "single"), (1.0, "dask")]
    base: dict[str, float] | None = None
    print(
        f"{'case':<16}{'grid cells':>12}{'in belt':>10}{'seconds':>9}{'peak MB':>9}{'s/Mcell':>9}"
        f"{'x time':>8}{'x memory':>9}"
    )
    for cell_km, mode in cases:
        r = run_case(cell_km, mode)
        base = base or r
        per_mcell = r["seconds"] / r["cells"] * 1e6
        print(
            f"{f'{cell_km:g} km {mode}':<16}{r['cells']:>12,}{r['in_belt']:>10,}{r['seconds']:>9.1f}"
            f"{r['peak_mb']:>9,.0f}{per_mcell:>9.1f}{r['seconds'] / base['seconds']:>8.1f}"
            f"{r['peak_mb'] / base['peak_mb']:>9.1f}"
        )
        if cell_km == 1.0 and mode == "single":
            ok = r["seconds"] < 60 and r["peak_mb"] < 4096
            print(f"  1 km target (< 60 s, < 4096 MB): {'met' if ok else 'NOT met'}")
    print(f"this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB peak")


if __name__ == "__main__":
    main()
