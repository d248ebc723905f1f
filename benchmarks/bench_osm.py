"""Benchmark: OSM extracts to catalog layers and graphs, and the tiled fetch of the whole belt.

A synthetic extract (a grid of railway and motorway ways with real tags, plus untagged noise ways) is
written as ``.osm`` and ``.osm.pbf``. Figures, best of ``--repeat``:

- ``read_extract`` (XML and PBF) against the baseline ``osmnx.features_from_xml`` alone (no
  normalising): the ratio is the price of the catalog schema;
- ``road_graph`` / ``rail_graph`` against the baseline ``osmnx.graph_from_xml`` on the whole file;
- ``fetch_layer("rail", area="belt")`` with Overpass replaced by a stub at the HTTP seam: the cold run
  (every tile answered) and the second run (every tile from the cache; no request).

    python benchmarks/bench_osm.py            # 60 x 60 grid
    python benchmarks/bench_osm.py --grid 30 --repeat 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import osmnx as ox

from corridormap import osm, settings
from corridormap.osm import _overpass

EMPTY = b'<?xml version="1.0"?><osm version="0.6"></osm>'


def synthetic_extract(folder: Path, grid: int) -> Path:
    """A ``grid`` x ``grid`` lattice near Rewari: rows are motorways, columns railways, plus noise ways."""
    step = 0.002
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="bench">']
    for i in range(grid):
        for j in range(grid):
            lat, lon = 28.0 + i * step, 76.0 + j * step
            lines.append(f'<node id="{i * grid + j + 1}" lat="{lat:.6f}" lon="{lon:.6f}"/>')
    way = 1
    for i in range(grid):
        refs = "".join(f'<nd ref="{i * grid + j + 1}"/>' for j in range(grid))
        lines.append(f'<way id="{way}">{refs}<tag k="highway" v="motorway"/><tag k="ref" v="NE{i}"/></way>')
        way += 1
    for j in range(grid):
        refs = "".join(f'<nd ref="{i * grid + j + 1}"/>' for i in range(grid))
        lines.append(
            f'<way id="{way}">{refs}<tag k="railway" v="rail"/><tag k="usage" v="main"/>'
            f'<tag k="gauge" v="1676"/></way>'
        )
        way += 1
    for i in range(0, grid - 1, 2):
        lines.append(
            f'<way id="{way}"><nd ref="{i * grid + 1}"/><nd ref="{(i + 1) * grid + 2}"/>'
            f'<tag k="highway" v="residential"/></way>'
        )
        way += 1
    lines.append("</osm>")
    path = folder / "bench.osm"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def to_pbf(xml: Path) -> Path:
    import osmium

    pbf = xml.with_suffix(".osm.pbf")
    with osmium.SimpleWriter(str(pbf), overwrite=True) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    return pbf


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def row(label: str, seconds: float, baseline: float | None = None, note: str = "") -> None:
    ratio = f"{seconds / baseline:6.2f}x baseline" if baseline else " " * 17
    print(f"{label:<42} {seconds * 1000:9.1f} ms  {ratio}  {note}")


def bench_extracts(folder: Path, grid: int, repeat: int) -> None:
    xml = synthetic_extract(folder, grid)
    pbf = to_pbf(xml)
    print(
        f"synthetic extract: {grid * grid:,} nodes, {2 * grid:,} tagged ways; "
        f"{xml.stat().st_size / 1e6:.1f} MB XML, {pbf.stat().st_size / 1e6:.2f} MB PBF"
    )
    base, raw = best(lambda: ox.features_from_xml(xml, tags={"railway": True}), repeat)
    row("baseline osmnx.features_from_xml (rail)", base, note=f"{len(raw):,} features")
    t, gdf = best(lambda: osm.read_extract(xml, "rail"), repeat)
    row("read_extract(.osm, 'rail')", t, base, f"{len(gdf):,} rows")
    t, gdf = best(lambda: osm.read_extract(pbf, "rail"), repeat)
    row("read_extract(.osm.pbf, 'rail')", t, base, f"{len(gdf):,} rows")
    base, g = best(lambda: ox.graph_from_xml(xml, retain_all=True), repeat)
    row("baseline osmnx.graph_from_xml (all ways)", base, note=f"{g.number_of_edges():,} edges")
    t, g = best(lambda: osm.road_graph(xml, area=None, classes=("motorway",)), repeat)
    row("road_graph(.osm) + speeds + travel times", t, base, f"{g.number_of_edges():,} edges")
    t, g = best(lambda: osm.rail_graph(pbf, area=None), repeat)
    row("rail_graph(.osm.pbf) + speeds + times", t, base, f"{g.number_of_edges():,} edges")


def bench_belt_fetch(folder: Path) -> None:
    calls = []
    real = _overpass._send

    def stub(method: str, url: str, *, data: bytes | None, timeout_s: float) -> bytes:
        calls.append(url)
        return EMPTY

    _overpass._send = stub
    try:
        with settings.override(cache_dir=folder / "cache", mirror=None, offline=False):
            belt = osm.resolve_area("belt")
            t_cold, _ = best(lambda: osm.fetch_layer("rail", area=belt), 1)
            cold = len(calls)
            t_warm, _ = best(lambda: osm.fetch_layer("rail", area=belt), 1)
    finally:
        _overpass._send = real
    row("fetch_layer('rail', belt), cold (stub)", t_cold, note=f"{cold} requests")
    row("fetch_layer('rail', belt), cached", t_warm, t_cold, f"{len(calls) - cold} requests")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_extracts(Path(tmp), args.grid, args.repeat)
        bench_belt_fetch(Path(tmp))


if __name__ == "__main__":
    main()
