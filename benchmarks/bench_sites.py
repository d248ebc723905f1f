"""Suitability over the whole belt: time and peak memory at 5 km and 1 km cells, single machine and Dask.

    python benchmarks/bench_sites.py            # 5 km, 1 km, and 1 km on a 2-worker LocalCluster
    python benchmarks/bench_sites.py --quick    # 5 km only

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
from corridormap.sites import suitability
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


def run_case(cell_km: float, mode: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CASE, str(cell_km), mode], check=True, capture_output=True, text=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 5 km case")
    args = parser.parse_args()

    # in a child too: a process's peak memory survives fork and exec, so this one must stay small
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "from corridormap.raster_defaults import build_default_rasters as b; b()"],
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
