"""Benchmark: nearest_table at OpenStreetMap scale against geopandas.sjoin_nearest, answers checked equal.

Synthetic OSM-like targets in the belt's metric CRS (EPSG:7755), fixed seed:

* ``lines``: ``--features`` (10,000) random-walk ways with about 100 m between vertices and
  ``--vertices`` (1,000,000) vertices in all (rail, motorway and trunk ways of the belt);
* ``zones``: ``--features / 10`` polygons (renewable-energy zones at OSM detail: noisy rings with
  about 100 m between vertices, ``--vertices / 2`` vertices in all); points inside are 0 m away.
* ``cluster``: ``--cluster`` (20,000) short lines (2 segments of 5-30 m each) packed within a
  1 km square at the belt's centre, seen from far away: every point's search ring holds the whole
  cluster (the case where the candidate pairs used to grow as points x cluster segments).

Query points are uniform in the belt polygon, one case per ``--points`` size (100,000 and
1,000,000 by default; the cluster cases are meant for a few thousand: ``--points 200 2000 8000``).
Each (method, case) runs in its own fresh Python process, which reports
wall time, CPU time, and its peak resident memory (VmHWM: the whole process, data included, and
the part reached during the call). Methods: ``sjoin_nearest`` (the baseline, in the same run),
``nearest_table`` (this checkout) and, with ``--before REV``, ``nearest_table`` as it was at git
revision REV. For k = 3 geopandas has no equivalent: ``nearest_table(k=3)`` is timed, its answers
checked against a brute force over every feature (shapely distances, ties to the lower position)
on a sample of the points, and compared with ``--before`` when given.

``cluster`` times ``nearest_table`` against ``sjoin_nearest`` (answers checked for every point),
``cluster-k3`` ``nearest_table(k=3)`` (a brute force on ``--sample`` points) and ``cluster-access``
the access card as ``lines-access`` does, all against the cluster.

``lines-access`` times the access card (``corridormap.analysis.access.access_card``: geodesic km,
ranked by them) against the same ways, with two baselines: ``sjoin_nearest`` alone (planar metres,
not what a card reports) and ``sjoin+Geod``, the fair "true km" baseline: sjoin_nearest, then the
nearest location on each joined feature (``shapely.shortest_line``) and ``pyproj.Geod.inv`` from the
point to it. Checked: every card km is at most sjoin+Geod's (within 1 mm) and equal where the two
name the same feature, and on a sample of points the card's feature and km equal a brute force
(Geod.inv to the nearest location of every feature within 3% of the planar nearest distance, more
than the scale factor varies over the belt).

Answers are equal when every point has the same nearest feature and the same planar distance
(within 1e-6 m). sjoin_nearest returns every feature tied at the nearest distance; the documented
tie rule keeps the first in layer order. A point whose feature differs counts as a tie only if its
distance to both features (shapely) is the same within 1e-6 m; the number of such ties is printed.

    python benchmarks/bench_nearest_scale.py                      # 100k and 1M points, all cases
    python benchmarks/bench_nearest_scale.py --points 100000 --cases lines --before b8422b2
    python benchmarks/bench_nearest_scale.py --points 100000 1000000 --cases lines-access
    python benchmarks/bench_nearest_scale.py --json > figures.json
    python benchmarks/bench_nearest_scale.py --points 200 2000 8000 --cases cluster cluster-k3 cluster-access

Real data (``--real FILE ...``, then only those cases): an OSM extract (``.osm``, ``.osm.bz2``,
``.osm.pbf``) is read with the project's own extract path (``corridormap.osm.read_extract``, the
kinds of ``--what``), any other file with ``corridormap.io.read.read_file``; the features are measured in
EPSG:7755 when they lie in the belt's state range, otherwise in their UTM zone, against points
uniform in their bounding box (widened by a tenth).

    python benchmarks/bench_nearest_scale.py --real Helsinki.osm.pbf data/india_states_2019.geojson
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely

HERE = Path(__file__).resolve().parent
SEED = 20260603
STEP_M = 100.0


# --- synthetic data ---------------------------------------------------------------------------------
def belt_shape() -> Any:
    import corridormap
    from corridormap.crs import to_metric

    return shapely.union_all(to_metric(corridormap.load_layers()["corridor_belt"]).geometry.values)


def belt_points(shape: Any, n: int, seed: int) -> np.ndarray:
    """``n`` uniform random points inside ``shape`` (n, 2)."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = shape.bounds
    found: list[np.ndarray] = []
    while sum(len(f) for f in found) < n:
        xy = np.column_stack([rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)])
        found.append(xy[shapely.contains_xy(shape, xy[:, 0], xy[:, 1])])
    return np.concatenate(found)[:n]


def vertex_counts(rng: np.random.Generator, features: int, vertices: int, low: int) -> np.ndarray:
    """Per-feature vertex counts (skewed like OSM ways: many short, a few long) summing to ``vertices``."""
    weights = rng.lognormal(0.0, 1.0, features)
    counts = np.maximum(low, np.floor(weights / weights.sum() * vertices)).astype(np.int64)
    counts[np.argmax(counts)] += vertices - counts.sum()
    return counts


def osm_lines(shape: Any, features: int, vertices: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random-walk ways (heading persistence, steps of ~100 m) starting in the belt: (coords, counts)."""
    rng = np.random.default_rng(seed)
    counts = vertex_counts(rng, features, vertices, 2)
    start = belt_points(shape, features, seed + 1)
    owner = np.repeat(np.arange(features), counts)
    heading = rng.uniform(0, 2 * np.pi, features)[owner] + np.cumsum(rng.normal(0.0, 0.12, vertices))
    first = np.r_[0, np.cumsum(counts)[:-1]]
    heading -= np.repeat(heading[first] - rng.uniform(0, 2 * np.pi, features), counts)
    step = rng.uniform(0.5, 1.5, vertices) * STEP_M
    dx, dy = step * np.cos(heading), step * np.sin(heading)
    dx[first], dy[first] = 0.0, 0.0
    x = np.cumsum(dx) - np.repeat(np.cumsum(dx)[first], counts) + start[owner, 0]
    y = np.cumsum(dy) - np.repeat(np.cumsum(dy)[first], counts) + start[owner, 1]
    return np.column_stack([x, y]), counts


def osm_zones(shape: Any, features: int, vertices: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noisy star-shaped rings (~100 m between vertices) centred in the belt: (closed coords, counts)."""
    rng = np.random.default_rng(seed)
    counts = vertex_counts(rng, features, vertices, 8)
    centre = belt_points(shape, features, seed + 1)
    owner = np.repeat(np.arange(features), counts)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    within = np.arange(len(owner)) - np.repeat(first, counts)
    angle = 2 * np.pi * within / counts[owner]
    radius = counts[owner] * STEP_M / (2 * np.pi) * rng.uniform(0.85, 1.15, len(owner))
    xy = centre[owner] + radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    closed = np.insert(xy, np.r_[first[1:], len(xy)], xy[first], axis=0)  # repeat each ring's start
    return closed, counts + 1


def cluster_lines(shape: Any, features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Short 3-vertex lines (segments of 5-30 m, turning a little) starting within a 1 km square at
    the centre of ``shape``: (coords, counts)."""
    rng = np.random.default_rng(seed)
    centre = np.asarray(shape.centroid.coords[0])
    start = centre + rng.uniform(-500.0, 500.0, (features, 2))
    heading = rng.uniform(0.0, 2 * np.pi, features)
    length = rng.uniform(5.0, 30.0, features)[:, None]
    middle = start + length * np.column_stack([np.cos(heading), np.sin(heading)])
    heading = heading + rng.normal(0.0, 0.5, features)
    end = middle + length * np.column_stack([np.cos(heading), np.sin(heading)])
    return np.stack([start, middle, end], axis=1).reshape(-1, 2), np.full(features, 3)


def real_targets(path: Path, what: str) -> tuple[np.ndarray, str]:
    """Geometries of a real file, in a metric CRS: (ragged coords as a WKB object array, CRS)."""
    import geopandas as gpd

    from corridormap.osm import read_extract

    if path.name.lower().endswith((".osm", ".osm.bz2", ".osm.pbf", ".pbf")):
        parts = [read_extract(path, w) for w in what.split(",")]
        gdf = gpd.GeoDataFrame(pd_concat([p for p in parts if len(p)]), crs=parts[0].crs)
    else:
        from corridormap.io.read import read_file

        gdf = read_file(path)
    minx, miny, maxx, maxy = gdf.to_crs("EPSG:4326").total_bounds
    crs = "EPSG:7755" if minx >= 60 and maxx <= 100 and miny >= 0 and maxy <= 40 else gdf.estimate_utm_crs()
    return np.asarray(gdf.to_crs(crs).geometry.values, dtype=object), str(crs)


def pd_concat(frames: list[Any]) -> Any:
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def box_points(geoms: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` uniform random points in the bounding box of ``geoms``, widened by a tenth."""
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    wx, wy = (maxx - minx) * 0.05, (maxy - miny) * 0.05
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(minx - wx, maxx + wx, n), rng.uniform(miny - wy, maxy + wy, n)])


def geometries(kind: str, coords: np.ndarray, counts: np.ndarray) -> np.ndarray:
    index = np.repeat(np.arange(len(counts)), counts)
    if kind == "zones":
        return shapely.polygons(shapely.linearrings(coords, indices=index))
    return shapely.linestrings(coords, indices=index)


# --- one measurement in a fresh process -------------------------------------------------------------
def _status_kib(field: str = "VmHWM") -> int:
    """A memory figure of this process from /proc (VmHWM: peak resident, VmRSS: resident now)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _load_nearest(before: str | None) -> Any:
    """``nearest_table`` of this checkout, or of ``corridormap/nearest.py`` at git revision ``before``."""
    if not before:
        from corridormap.analysis.nearest import nearest_table

        return nearest_table
    import importlib.util

    for where in ("corridormap/analysis/nearest.py", "corridormap/nearest.py"):  # after / before #12
        shown = subprocess.run(["git", "show", f"{before}:{where}"], capture_output=True, text=True, cwd=HERE)
        if shown.returncode == 0:
            break
    shown.check_returncode()
    source = re.sub(r"from \.+(\w)", r"from corridormap.\1", shown.stdout)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location("nearest_before", f.name)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["nearest_before"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.nearest_table


def worker(data: Path, method: str, k: int, before: str | None, out: Path) -> None:
    """Time one method on the saved case; write figures (JSON) and answers (npz)."""
    import geopandas as gpd

    z = np.load(data, allow_pickle=False)
    xy, targets = z["xy"], load_targets(z)
    crs = str(z["crs"])
    if method in ("sjoin_nearest", "sjoin+Geod", "access_card"):
        points = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=crs)
        layer = gpd.GeoDataFrame({"name": np.arange(len(targets))}, geometry=targets, crs=crs)
    else:
        nearest_table = _load_nearest(before if method == "before" else None)
    reset = _reset_peak()
    resident = _status_kib("VmRSS")
    start, start_cpu = time.perf_counter(), time.process_time()
    if method == "sjoin_nearest":
        joined = gpd.sjoin_nearest(points, layer, distance_col="distance_m")
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        first = joined.groupby(level=0).agg(d=("distance_m", "first"), t=("index_right", "min"))
        point, target, dist = first.index.to_numpy(), first["t"].to_numpy(), first["d"].to_numpy()
        rank = np.ones(len(point), dtype=np.int64)
    elif method == "sjoin+Geod":
        joined = gpd.sjoin_nearest(points, layer, distance_col="distance_m")
        first = joined.groupby(level=0).agg(t=("index_right", "min"))
        point, target = first.index.to_numpy(), first["t"].to_numpy()
        dist = geod_m(xy[point], targets[target])
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        rank = np.ones(len(point), dtype=np.int64)
    elif method == "access_card":
        from corridormap.analysis.access import access_card

        card = access_card(points, {"t": (layer, "name")})
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        point = np.flatnonzero(card["t_km"].notna().to_numpy())
        target = card["t_name"].to_numpy()[point].astype(np.int64)
        dist, rank = card["t_km"].to_numpy()[point] * 1000.0, np.ones(len(point), dtype=np.int64)
    else:
        table = nearest_table(xy, targets, k=k)
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        point, rank = table["point"].to_numpy(), table["rank"].to_numpy()
        target, dist = table["target"].to_numpy(), table["distance_m"].to_numpy()
    np.savez(out.with_suffix(".npz"), point=point, rank=rank, target=target, distance=dist)
    figures = {"wall_s": wall, "cpu_s": cpu, "peak_mib": _status_kib() / 1024}
    figures["call_peak_mib"] = (_status_kib() - resident) / 1024 if reset else None  # above the inputs
    out.with_suffix(".json").write_text(json.dumps(figures))


def measure(data: Path, method: str, k: int, before: str | None, tmp: Path) -> tuple[dict[str, Any], Any]:
    out = tmp / f"{method}-{k}"
    cmd = [sys.executable, __file__, "--worker", str(data), method, str(k), before or "", str(out)]
    subprocess.run(cmd, check=True)
    return json.loads(out.with_suffix(".json").read_text()), np.load(out.with_suffix(".npz"))


def geod_m(xy: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """Geodesic metres (pyproj.Geod.inv, WGS 84) from EPSG:7755 points to their nearest location on
    ``geoms`` (row by row, found by ``shapely.shortest_line``)."""
    from pyproj import Geod, Transformer

    ends = shapely.get_coordinates(shapely.shortest_line(shapely.points(xy), geoms)).reshape(-1, 2, 2)[:, 1]
    to_ll = Transformer.from_crs("EPSG:7755", "EPSG:4326", always_xy=True)
    lon1, lat1 = to_ll.transform(xy[:, 0], xy[:, 1])
    lon2, lat2 = to_ll.transform(ends[:, 0], ends[:, 1])
    return np.asarray(Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2])


# --- checks -----------------------------------------------------------------------------------------
def check_access(xy: np.ndarray, targets: np.ndarray, base: Any, got: Any, sample: int, seed: int) -> int:
    """The access card against sjoin+Geod (every point) and a brute force (``sample`` points);
    returns how many points the card names a geodesically nearer feature than the planar nearest."""
    assert (got["point"] == base["point"]).all() and len(got["point"]) == len(xy)
    assert (got["distance"] <= base["distance"] + 1e-3).all(), "a card km beyond the planar nearest's"
    same = got["target"] == base["target"]
    np.testing.assert_allclose(got["distance"][same], base["distance"][same], rtol=0, atol=1e-3)
    rows = np.random.default_rng(seed).choice(len(xy), size=min(sample, len(xy)), replace=False)
    d1 = shapely.distance(shapely.points(xy[rows]), targets[base["target"][rows]])
    p, t = shapely.STRtree(targets).query(shapely.points(xy[rows]), predicate="dwithin", distance=d1 * 1.03)
    km = geod_m(xy[rows][p], targets[t])
    for i, r in enumerate(rows):
        mine = p == i
        least = km[mine].min()
        assert abs(least - got["distance"][r]) <= 1e-3, f"point {r}: the card's km is not the least"
        named = km[mine][t[mine] == got["target"][r]]
        assert len(named) and abs(named[0] - least) <= 1e-3, f"point {r}: the card names another feature"
    return int((~same).sum())


def check_k1(xy: np.ndarray, targets: np.ndarray, base: Any, got: Any) -> int:
    """Same nearest feature and distance as sjoin_nearest for every point; returns the tie count."""
    assert len(got["point"]) == len(base["point"]) == len(xy), "every point has a nearest feature"
    assert (got["point"] == base["point"]).all()
    np.testing.assert_allclose(got["distance"], base["distance"], rtol=0, atol=1e-6)
    differ = np.flatnonzero(got["target"] != base["target"])
    if len(differ):
        p = shapely.points(xy[differ])
        d_got = shapely.distance(p, targets[got["target"][differ]])
        d_base = shapely.distance(p, targets[base["target"][differ]])
        assert np.allclose(d_got, d_base, rtol=0, atol=1e-6), "a different feature, not a tie"
    return len(differ)


def check_k(xy: np.ndarray, targets: np.ndarray, got: Any, k: int, sample: int, seed: int) -> int:
    """k nearest against a brute force over every feature on ``sample`` points; returns the tie count."""
    rows = np.random.default_rng(seed).choice(len(xy), size=min(sample, len(xy)), replace=False)
    ties = 0
    by_point = np.searchsorted(got["point"], rows)
    for r, at in zip(rows, by_point, strict=True):
        d = shapely.distance(shapely.Point(xy[r]), targets)
        order = np.lexsort((np.arange(len(targets)), d))[:k]
        mine = got["target"][at : at + k]
        assert (got["point"][at : at + k] == r).all() and (
            got["rank"][at : at + k] == np.arange(1, k + 1)
        ).all()
        np.testing.assert_allclose(got["distance"][at : at + k], d[order], rtol=0, atol=1e-6)
        if (mine != order).any():
            assert np.allclose(d[mine], d[order], rtol=0, atol=1e-6), f"point {r}: not a tie"
            ties += 1
    return ties


def load_targets(z: Any) -> np.ndarray:
    if str(z["kind"]) == "wkb":  # one buffer of WKB and each geometry's length
        buffer, ends = z["wkb"].tobytes(), np.cumsum(z["wkb_len"])
        return shapely.from_wkb([buffer[e - n : e] for e, n in zip(ends, z["wkb_len"], strict=True)])
    return geometries(str(z["kind"]), z["coords"], z["counts"])


# --- the run ----------------------------------------------------------------------------------------
def cases(args: argparse.Namespace, tmp: Path) -> Any:
    """(case, points, k, data file, targets) for each case and size."""
    if args.real:
        for i, path in enumerate(args.real):
            geoms, crs = real_targets(Path(path), args.what)
            for n in args.points:
                data = tmp / f"real{i}-{n}.npz"
                xy = box_points(geoms, n, SEED + n)
                wkb = shapely.to_wkb(geoms)
                np.savez(
                    data,
                    xy=xy,
                    wkb=np.frombuffer(b"".join(wkb), dtype=np.uint8),
                    wkb_len=np.array([len(w) for w in wkb]),
                    kind="wkb",
                    crs=crs,
                )
                yield f"real:{Path(path).name}", n, 1, data, geoms
        return
    shape = belt_shape()
    sources = {c.split("-")[0] for c in args.cases}
    made = {
        "lines": osm_lines(shape, args.features, args.vertices, SEED) if sources & {"lines"} else None,
        "zones": osm_zones(shape, max(args.features // 10, 1), args.vertices // 2, SEED + 7)
        if "zones" in sources
        else None,
        "cluster": cluster_lines(shape, args.cluster, SEED + 11) if "cluster" in sources else None,
    }
    for n in args.points:
        xy = belt_points(shape, n, SEED + n)
        for case in args.cases:
            source = case.split("-")[0]
            kind = "zones" if source == "zones" else "lines"
            coords, counts = made[source]
            data = tmp / f"{case}-{n}.npz"
            np.savez(data, xy=xy, coords=coords, counts=counts, kind=kind, crs="EPSG:7755")
            k = 3 if case.endswith("-k3") else 1
            yield case, n, k, data, geometries(kind, coords, counts)


def run(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for case, n, k, data, targets in cases(args, tmp):
        xy = np.load(data)["xy"]
        if case.endswith("-access"):
            methods = ["sjoin_nearest", "sjoin+Geod", "access_card"]
        else:
            before = ["before"] if args.before else []
            methods = (["sjoin_nearest"] if k == 1 else []) + ["nearest_table"] + before
        figures = {m: measure(data, m, k, args.before, tmp) for m in methods}
        ties = {}
        for m in methods:
            if m == "sjoin+Geod":
                continue
            if m == "access_card":
                base = figures["sjoin+Geod"][1]
                ties[m] = check_access(xy, targets, base, figures[m][1], args.sample, SEED)
            elif k == 1 and m != "sjoin_nearest":
                ties[m] = check_k1(xy, targets, figures["sjoin_nearest"][1], figures[m][1])
            elif k > 1:
                ties[m] = check_k(xy, targets, figures[m][1], k, args.sample, SEED)
        reference = "sjoin_nearest" if k == 1 else ("before" if args.before else None)
        for m in methods:
            f = figures[m][0]
            ratio = figures[reference][0]["wall_s"] / f["wall_s"] if reference else None
            cpu_ratio = figures[reference][0]["cpu_s"] / f["cpu_s"] if reference else None
            geod = figures.get("sjoin+Geod", [None])[0] if m == "access_card" else None
            label = f"nearest_table@{args.before}" if m == "before" else m
            rows.append(
                {
                    "case": case,
                    "points": n,
                    "features": len(targets),
                    "vertices": int(shapely.get_num_coordinates(targets).sum()),
                    "k": k,
                    "method": label,
                    **f,
                    "speedup_wall": ratio,
                    "speedup_cpu": cpu_ratio,
                    "speedup_wall_vs_sjoin_geod": geod["wall_s"] / f["wall_s"] if geod else None,
                    "speedup_cpu_vs_sjoin_geod": geod["cpu_s"] / f["cpu_s"] if geod else None,
                    "versus": reference if m != reference else None,
                    "checked": (
                        "all points" if k == 1 and m != "access_card" else f"{min(args.sample, n)} points"
                    )
                    if m in ties
                    else "",
                    "ties": ties.get(m),
                }
            )
            if not args.json:
                print_row(rows[-1])
    return rows


def _times(ratio: float) -> str:
    """A speed-up as "12.3x", or "1/28x" when the method is slower (never "0.0x")."""
    if not ratio > 0:
        return "-"
    return (
        f"{ratio:.1f}x" if ratio >= 0.95 else f"1/{1 / ratio:.0f}x" if ratio < 0.1 else f"1/{1 / ratio:.1f}x"
    )


def print_row(r: dict[str, Any]) -> None:
    ratio = f"{_times(r['speedup_wall']):>6} / {_times(r['speedup_cpu']):>6}" if r["versus"] else " " * 17
    call = f"{r['call_peak_mib']:7.0f}" if r["call_peak_mib"] is not None else "      -"
    check = f"same answers ({r['checked']}, {r['ties']} ties)" if r["checked"] else ""
    if r["speedup_wall_vs_sjoin_geod"] is not None:
        check = (
            f"vs sjoin+Geod {_times(r['speedup_wall_vs_sjoin_geod'])} / "
            f"{_times(r['speedup_cpu_vs_sjoin_geod'])}; "
            f"exact ({r['checked']} by brute force; {r['ties']} points geodesically nearer another feature)"
        )
    print(
        f"{r['case']:14} {r['points']:>9,} {r['vertices']:>9,} {r['k']:>2}  {r['method']:22} "
        f"{r['wall_s']:8.2f} {r['cpu_s']:8.2f} {r['peak_mib']:8.0f} {call}  {ratio}  {check}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--features", type=int, default=10_000)
    parser.add_argument("--vertices", type=int, default=1_000_000)
    parser.add_argument("--cluster", type=int, default=20_000, help="lines in the cluster cases")
    parser.add_argument(
        "--cases",
        nargs="+",
        default=["lines", "lines-k3", "zones", "lines-access"],
        choices=["lines", "lines-k3", "zones", "lines-access", "cluster", "cluster-k3", "cluster-access"],
    )
    parser.add_argument("--before", help="also time nearest.py at this git revision")
    parser.add_argument("--sample", type=int, default=200, help="points checked by brute force for k = 3")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--real", nargs="+", metavar="FILE", help="real targets instead: OSM extracts, vector files"
    )
    parser.add_argument("--what", default="rail,motorway,trunk", help="OSM kinds read from an extract")
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _, _, data, method, k, before, out = sys.argv
        worker(Path(data), method, int(k), before or None, Path(out))
        return
    args = parser.parse_args()
    if not args.json:
        print(
            "case              points  vertices  k  method                  wall s    cpu s  peak MiB"
            "  call MiB  speed-up wall/cpu"
        )
    with tempfile.TemporaryDirectory() as tmp:
        rows = run(args, Path(tmp))
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
