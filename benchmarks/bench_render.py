"""Benchmark of the map: ``python -m corridormap.bench render [--sizes 100k,1M,3M]``.

(``python benchmarks/bench_render.py ...`` runs the same.)

``render`` generates synthetic belt networks (correlated random-walk lines, points and polygons
across lat 18–30 N, lon 68–80 E, fixed seed) at each size, builds the map with corridormap and with
geopandas ``explore()`` on the same data, opens both in headless Chromium from ``file://`` with no
network (the pages' CDN scripts and stylesheets are pointed at the installed copies, written beside
them; tiles are refused), and prints HTML bytes, build time (wall and CPU, the faster of two builds
up to 1M vertices) and peak memory, first render (corridormap: the first paint, from the layers'
coarse parts), "ready" (every layer decoded, its fine part in a worker), a zoom-in step, a pan, the
browser's CPU seconds of the first render and of a zoom step (a figure the machine's load does not
stretch), the CPU seconds of the page's own thread (the renderer's main thread, where HTML is
parsed, scripts run and tiles are drawn: the work that holds up a paint; decoding workers, the
compositor and the browser process are left out) for both, and the JS heap, with the ratios
corridormap / explore(); at 10M vertices, the issue's targets met or not. Each map opens in a new
browser window that has finished its own start-up work first (:func:`wait_until_idle`), as a map
opened in a running browser does.

It needs the ``bench`` extra (mapclassify for ``explore()``, Playwright) and
Debian's Chromium (``/usr/bin/chromium``).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from corridormap.catalog.load import LayerSpec

__all__ = ["synthetic_belt", "synthetic_specs", "main"]

log = logging.getLogger(__name__)

STATUSES = ("operational", "under construction", "approved", "proposed")
_M_PER_DEG = 111_320.0


def _walks(rng: np.random.Generator, n_vertices: int) -> gpd.GeoDataFrame:
    """Correlated random walks (heading drifts by ~9° a step, 20–200 m steps): road- and rail-like."""
    counts = []
    total = 0
    while total < n_vertices:
        c = min(int(rng.integers(20, 181)), max(n_vertices - total, 2))
        counts.append(c)
        total += c
    counts_a = np.asarray(counts)
    n = len(counts_a)
    owner = np.repeat(np.arange(n), counts_a)
    first = np.cumsum(counts_a) - counts_a
    heading = rng.uniform(0, 2 * np.pi, n)[owner] + np.cumsum(rng.normal(0, 0.15, total))
    step = rng.uniform(20, 200, n)[owner]
    dx, dy = step * np.cos(heading), step * np.sin(heading)
    dx[first], dy[first] = 0.0, 0.0
    cx, cy = np.cumsum(dx), np.cumsum(dy)
    cx -= np.repeat(cx[first], counts_a)
    cy -= np.repeat(cy[first], counts_a)
    lat0 = rng.uniform(18.2, 29.8, n)[owner]
    lon0 = rng.uniform(68.2, 79.8, n)[owner]
    lat = lat0 + cy / _M_PER_DEG
    lon = lon0 + cx / (_M_PER_DEG * np.cos(np.radians(lat0)))
    lines = shapely.linestrings(np.column_stack([lon, lat]), indices=owner)
    return gpd.GeoDataFrame(
        _attributes(rng, n, "Line", {"network": ("rail", "motorway")}), geometry=lines, crs="EPSG:4326"
    )


def _polygons(rng: np.random.Generator, n_vertices: int) -> gpd.GeoDataFrame:
    counts = rng.integers(12, 61, max(n_vertices // 36, 1))
    rings = []
    for c, lon, lat, r in zip(
        counts,
        rng.uniform(68.5, 79.5, len(counts)),
        rng.uniform(18.5, 29.5, len(counts)),
        rng.uniform(200, 2000, len(counts)),
        strict=True,
    ):
        angle = np.sort(rng.uniform(0, 2 * np.pi, c))
        radius = r * rng.uniform(0.6, 1.0, c)
        x = lon + radius * np.cos(angle) / (_M_PER_DEG * np.cos(np.radians(lat)))
        y = lat + radius * np.sin(angle) / _M_PER_DEG
        rings.append(shapely.Polygon(np.column_stack([x, y])))
    return gpd.GeoDataFrame(
        _attributes(rng, len(rings), "Zone", {"use": ("industrial", "logistics")}),
        geometry=rings,
        crs="EPSG:4326",
    )


def _points(rng: np.random.Generator, n: int) -> gpd.GeoDataFrame:
    pts = shapely.points(rng.uniform(68, 80, max(n, 1)), rng.uniform(18, 30, max(n, 1)))
    return gpd.GeoDataFrame(
        _attributes(rng, len(pts), "Site", {"role": ("station", "depot")}), geometry=pts, crs="EPSG:4326"
    )


def _attributes(rng: np.random.Generator, n: int, noun: str, category: Mapping[str, Sequence[str]]) -> dict:
    ((column, values),) = category.items()
    return {
        "id": [f"{noun[0].lower()}{i}" for i in range(n)],
        "name": [f"{noun} {i}" for i in range(n)],
        "status": rng.choice(STATUSES, n),
        column: rng.choice(list(values), n),
        "length_km": np.round(rng.uniform(1, 40, n), 1),
    }


def synthetic_belt(n_vertices: int, *, seed: int = 0) -> dict[str, gpd.GeoDataFrame]:
    """Synthetic belt networks of about ``n_vertices`` vertices (EPSG:4326), the same for one seed.

    94 % of the vertices are in random-walk lines (``synth_lines``), 5 % in polygons
    (``synth_zones``), 1 % are points (``synth_sites``).

    >>> layers = synthetic_belt(10_000, seed=1)
    >>> sorted(layers), 9_000 < sum(int(shapely.get_num_coordinates(g.geometry.values).sum())
    ...                              for g in layers.values()) < 11_500
    (['synth_lines', 'synth_sites', 'synth_zones'], True)
    """
    rng = np.random.default_rng(seed)
    return {
        "synth_zones": _polygons(rng, int(n_vertices * 0.05)),
        "synth_lines": _walks(rng, int(n_vertices * 0.94)),
        "synth_sites": _points(rng, int(n_vertices * 0.01)),
    }


def synthetic_specs() -> dict[str, LayerSpec]:
    """Catalog entries for the synthetic layers: status styles and a category colour each."""
    status = {"under construction": {"dash": "8 6"}, "proposed": {"dash": "2 6"}}

    def spec(
        name: str, kind: str, geometry: str, order: int, column: str, colours: dict[str, str]
    ) -> LayerSpec:
        return LayerSpec(
            name=name,
            title=name.replace("_", " ").capitalize(),
            group="Synthetic",
            geometry=(geometry,),
            draw_order=order,
            path=Path(f"<{name}>"),
            popup=("name", "status", column, "length_km"),
            tooltip=("name",),
            search=False,  # explore() has no search index; compare like with like
            style={
                "kind": kind,
                "color": "#555",
                "weight": 2 if kind != "point" else 1,
                "radius": 4,
                "status": status,
                "categories": {"column": column, "colors": colours},
            },
        )

    return {
        "synth_zones": spec(
            "synth_zones", "polygon", "Polygon", 30, "use", {"industrial": "#8e44ad", "logistics": "#16a085"}
        ),
        "synth_lines": spec(
            "synth_lines", "line", "LineString", 60, "network", {"rail": "#c0392b", "motorway": "#1f5fa8"}
        ),
        "synth_sites": spec(
            "synth_sites", "point", "Point", 80, "role", {"station": "#d35400", "depot": "#2c3e50"}
        ),
    }


# ---------------------------------------------------------------------------------------------
# The browser side: Chromium through Playwright, every asset answered from local files

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-precise-memory-info",
]

FIND_MAP_JS = (
    "Object.keys(window).filter(k => k.startsWith('map_') && window[k] instanceof L.Map)"
    ".map(k => window[k])[0]"
)
# Both maps fit their bounds with an animated zoom right after loading; Leaflet ignores a zoom asked
# for during an animation, so each zoom and pan step first waits for the map to settle.
_SETTLE_JS = """
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const busy = (map) => map._animatingZoom || (map._panAnim && map._panAnim._inProgress);
  const settle = async (map) => { while (busy(map)) { await frames(); } };
"""
# First render: the layers' first painted frame (both maps then animate to their fitted bounds,
# with the layers drawn throughout; that animation is not counted). corridormap's large layers paint
# their coarse part first (the level the opening zoom draws), then decode the rest in workers:
# "ready" is when every layer has decoded everything (explore() has no such step: its first render).
_FIRST_RENDER_JS = """async () => {
  SETTLE
  if (window.corridormapBig) { await window.corridormapBig.whenDrawn(); }
  await frames();
  return performance.now();
}""".replace("SETTLE", _SETTLE_JS).replace("FIND_MAP", FIND_MAP_JS)
_READY_JS = """async () => {
  SETTLE
  if (window.corridormapBig) { await window.corridormapBig.whenReady(); }
  await frames();
  return performance.now();
}""".replace("SETTLE", _SETTLE_JS)
_STEP_JS = """async (step) => {
  SETTLE
  const map = FIND_MAP;
  await settle(map);
  await new Promise(r => setTimeout(r, 300));
  const z0 = map.getZoom(), c0 = map.getCenter();
  const t0 = performance.now();
  if (step === 'zoom') { map.setZoom(z0 + 1, {animate: false}); }
  else { map.panBy([300, 200], {animate: false}); }
  await frames();
  const moved = step === 'zoom' ? map.getZoom() === z0 + 1 : !map.getCenter().equals(c0);
  return moved ? performance.now() - t0 : NaN;
}""".replace("SETTLE", _SETTLE_JS).replace("FIND_MAP", FIND_MAP_JS)


_ASSET_CACHE: dict[str, bytes | None] = {}


def _local_asset(url: str) -> bytes | None:
    """The installed copy of a CDN asset (cached: stylesheets inline their fonts once), or None."""
    from corridormap.render.assets import asset_bytes

    if url not in _ASSET_CACHE:
        try:
            _ASSET_CACHE[url] = asset_bytes(url)
        except (OSError, ValueError, KeyError):
            _ASSET_CACHE[url] = None
    return _ASSET_CACHE[url]


def launch(playwright: Any) -> Any:
    """Debian's Chromium, headless, no network services."""
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(
            f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)"
        )
    # no network at all: every host name fails to resolve at once (tiles included), so no request
    # waits on a timeout and the pages' load events are not held up
    args = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND"]
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)


@dataclass
class Figures:
    """One map's measurements."""

    html_bytes: int
    build_s: float
    build_cpu_s: float = float("nan")
    first_render_s: float = float("nan")
    ready_s: float = float("nan")  # every layer decoded (the fine levels, the popup table)
    first_render_cpu_s: float = float("nan")  # browser CPU (all its processes) up to the first render
    zoom_cpu_s: float = float("nan")  # browser CPU of a zoom step (median of three)
    first_render_main_s: float = float("nan")  # the page's main thread's CPU up to the first render
    zoom_main_s: float = float("nan")  # the page's main thread's CPU in a zoom step (median of three)
    zoom_s: float = float("nan")
    pan_s: float = float("nan")
    heap_mb: float = float("nan")
    build_peak_mb: float = float("nan")  # the process's peak resident memory while building
    idle_wait_s: float = float("nan")  # the wait for the browser's own start-up work (not timed)
    vertices: int = 0

    @property
    def bytes_per_vertex(self) -> float:
        """Bytes of the whole HTML file (the page itself included) per vertex of the map's layers."""
        return self.html_bytes / self.vertices if self.vertices else float("nan")


def browser_ticks() -> dict[int, int]:
    """Clock ticks (user + system, with those of reaped children) used so far by each of this
    process's descendants (Playwright's driver and the Chromium it started); empty where ``/proc``
    is missing."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return {}
    parents, ticks = {}, {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        parents[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = sum(int(f) for f in fields[11:15])
    mine = {os.getpid()}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                grew = True
    return {pid: ticks[pid] for pid in mine if pid != os.getpid()}


def browser_cpu_since(before: Mapping[int, int]) -> float:
    """CPU seconds the browser's processes used since ``before`` (:func:`browser_ticks`): a figure
    the machine's load does not stretch, unlike wall-clock time. A process that ended in between
    counts for nothing (never negative); NaN where ``/proc`` is missing."""
    after = browser_ticks()
    if not after:
        return float("nan")
    grown = (t - before.get(pid, 0) for pid, t in after.items())
    return sum(g for g in grown if g > 0) / os.sysconf("SC_CLK_TCK")


def _renderer_pids() -> list[int]:
    """The renderer processes among this process's descendants that can host a page: not the
    browser's own "top chrome" WebUI renderers (Chromium starts one with each new window, for its
    omnibox popup; it is no page's work, and a second of its CPU used to be counted here)."""
    out = []
    for pid in browser_ticks():
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes()  # (Chromium joins its arguments)
        except OSError:
            continue  # the process ended meanwhile
        if b"--type=renderer" in args and b"--top-chrome-webui" not in args:
            out.append(pid)
    return out


def wait_until_idle(*, window_s: float = 0.25, most_cpu_s: float = 0.02, give_up_s: float = 15.0) -> float:
    """Wait until the browser's processes use at most ``most_cpu_s`` of CPU in ``window_s`` (or
    ``give_up_s`` has passed); returns the seconds waited.

    A new Playwright context is a new browser window, and Chromium starts its own work with one (the
    omnibox popup's WebUI renderer: 0.3-2 s of CPU, traced). A planner opens the map in a browser
    that is already up; on two cores that start-up work would otherwise compete with the map's first
    render. Both maps wait alike."""
    start = time.perf_counter()
    while time.perf_counter() - start < give_up_s:
        before = browser_ticks()
        time.sleep(window_s)
        used = browser_cpu_since(before)
        if math.isnan(used) or used <= most_cpu_s:  # (NaN: no /proc to read, nothing to wait for)
            return time.perf_counter() - start
    log.warning(
        "the browser was still busy after %.0f s: the map opens anyway (its figures may stretch)", give_up_s
    )
    return time.perf_counter() - start


def main_thread_ticks() -> dict[int, int]:
    """Clock ticks (user + system) used so far by each renderer's main thread (the thread whose id
    is the process's: HTML parsing, scripts, layout and canvas drawing run there); empty where
    ``/proc`` is missing."""
    ticks = {}
    for pid in _renderer_pids():
        try:
            fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


def main_thread_cpu_since(before: Mapping[int, int]) -> float:
    """CPU seconds the renderers' main threads used since ``before`` (:func:`main_thread_ticks`);
    NaN where ``/proc`` is missing."""
    after = main_thread_ticks()
    if not after:
        return float("nan")
    grown = (t - before.get(pid, 0) for pid, t in after.items())
    return sum(g for g in grown if g > 0) / os.sysconf("SC_CLK_TCK")


def measure_page(browser: Any, path: Path, figures: Figures) -> Figures:
    """Open ``path`` from file:// and time first render, all decoded, a zoom-in step and a pan (each
    the median of three); read the JS heap."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("about:blank")
    figures.idle_wait_s = wait_until_idle()
    cpu0, main0 = browser_ticks(), main_thread_ticks()
    page.goto(path.resolve().as_uri(), wait_until="domcontentloaded", timeout=300_000)
    figures.first_render_s = page.evaluate(_FIRST_RENDER_JS) / 1000
    figures.first_render_cpu_s = browser_cpu_since(cpu0)
    figures.first_render_main_s = main_thread_cpu_since(main0)
    figures.ready_s = page.evaluate(_READY_JS) / 1000  # zoom and pan are timed once it is ready
    zooms, zoom_cpus, zoom_mains = [], [], []
    for _ in range(3):
        cpu0, main0 = browser_ticks(), main_thread_ticks()
        zooms.append(page.evaluate(_STEP_JS, "zoom"))
        zoom_cpus.append(browser_cpu_since(cpu0))
        zoom_mains.append(main_thread_cpu_since(main0))
    figures.zoom_cpu_s = float(np.median(zoom_cpus))
    figures.zoom_main_s = float(np.median(zoom_mains))
    pans = [page.evaluate(_STEP_JS, "pan") for _ in range(3)]
    figures.zoom_s, figures.pan_s = float(np.median(zooms)) / 1000, float(np.median(pans)) / 1000
    cdp = context.new_cdp_session(page)
    cdp.send("HeapProfiler.collectGarbage")
    usage = cdp.send("Runtime.getHeapUsage")
    figures.heap_mb = (usage["usedSize"] + usage.get("backingStorageSize", 0)) / 1e6
    context.close()
    if errors:
        log.warning("%s: page errors: %s", path.name, "; ".join(errors[:3]))
    return figures


_ASSET_REF = re.compile(r"""(?P<attr>\b(?:src|href)=)(?P<q>["'])(?P<url>https?://[^"']+)(?P=q)""")


def localise_assets(html: str, folder: Path) -> str:
    """Point the page's CDN scripts and stylesheets at installed copies written beside it.

    The browser then reads them from ``file://`` as fast as the page itself (answering each through
    Playwright's request interception costs both maps alike, up to a second per page). Tiles keep
    their addresses and fail at once (:func:`launch` resolves no host name).
    """
    import hashlib

    (folder / "assets").mkdir(parents=True, exist_ok=True)

    def swap(match: re.Match[str]) -> str:
        url = match.group("url")
        body = _local_asset(url)
        if body is None:
            return match.group(0)
        suffix = ".css" if url.split("?")[0].endswith(".css") else ".js"
        name = f"assets/{hashlib.sha1(url.encode()).hexdigest()[:16]}{suffix}"
        if not (folder / name).exists():
            (folder / name).write_bytes(body)
        return f"{match.group('attr')}{match.group('q')}{name}{match.group('q')}"

    return _ASSET_REF.sub(swap, html)


def _peak_rss_mb(*, reset: bool = False) -> float:
    """This process's peak resident memory (Linux VmHWM, MB); ``reset`` starts a new peak first."""
    status = Path("/proc/self/status")
    if not status.exists():
        return float("nan")
    if reset:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            return float("nan")
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


def _timed(make_html: Callable[[], str], repeats: int) -> tuple[str, float, float, float]:
    """The page, the fastest wall-clock and CPU seconds of ``repeats`` builds, and the process's
    peak resident memory (MB) during the first build (inputs included)."""
    walls, cpus, html, peak = [], [], "", float("nan")
    for i in range(repeats):
        html = ""  # the previous page is not held while the next one is built
        _peak_rss_mb(reset=True)
        t0, c0 = time.perf_counter(), time.process_time()
        html = make_html()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        if i == 0:
            peak = _peak_rss_mb()
    return html, min(walls), min(cpus), peak


def build_corridormap(layers: Mapping[str, gpd.GeoDataFrame], path: Path, *, repeats: int = 1) -> Figures:
    from corridormap.render import build_map

    def make() -> str:
        return build_map(layers, synthetic_specs(), title="Synthetic belt").get_root().render()

    html, wall, cpu, peak = _timed(make, repeats)
    path.write_text(localise_assets(html, path.parent), encoding="utf-8")
    return Figures(len(html.encode("utf-8")), wall, cpu, build_peak_mb=peak)


def build_explore(layers: Mapping[str, gpd.GeoDataFrame], path: Path, *, repeats: int = 1) -> Figures:
    def make() -> str:
        m = None
        for gdf in layers.values():
            m = gdf.explore(m=m) if m is not None else gdf.explore()
        return m.get_root().render()  # type: ignore[union-attr]

    html, wall, cpu, peak = _timed(make, repeats)
    path.write_text(localise_assets(html, path.parent), encoding="utf-8")
    return Figures(len(html.encode("utf-8")), wall, cpu, build_peak_mb=peak)


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def _parse_size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * factor)


COLUMNS = (
    ("HTML MB", "html_bytes", 1e-6),
    ("build s", "build_s", 1),
    ("build CPU s", "build_cpu_s", 1),
    ("first render s", "first_render_s", 1),
    ("ready s", "ready_s", 1),
    ("zoom s", "zoom_s", 1),
    ("1st render CPU", "first_render_cpu_s", 1),
    ("zoom CPU s", "zoom_cpu_s", 1),
    ("1st main CPU", "first_render_main_s", 1),
    ("zoom main CPU", "zoom_main_s", 1),
    ("pan s", "pan_s", 1),
    ("JS heap MB", "heap_mb", 1),
    ("build peak MB", "build_peak_mb", 1),
    ("B/vertex", "bytes_per_vertex", 1),
)

TARGETS_10M = {"first_render_s": 2.0, "zoom_s": 0.25, "build_peak_mb": 1500.0, "html_bytes": 20e6}
"""Issue #16's targets for the 10M-vertex map (first render, zoom step, build peak, file size)."""


def _cell(value: float) -> str:
    return "-" if not np.isfinite(value) else f"{value:.3f}"


def _ratio(c: float, e: float) -> str:
    if not (np.isfinite(c) and np.isfinite(e)) or c <= 0 or e <= 0:
        return "-"
    return f"1/{e / c:.1f}" if c <= e else f"{c / e:.1f}x"


def table(rows: Sequence[tuple[str, str, Figures]]) -> str:
    """A plain-text table of the figures, with corridormap / explore() ratio rows and, at 10M
    vertices, the issue's targets ("-" where a figure was not measured)."""
    head = f"{'vertices':>9} {'map':<12}" + "".join(f"{name:>15}" for name, _, _ in COLUMNS)
    lines = [head, "-" * len(head)]
    by_size: dict[str, dict[str, Figures]] = {}
    for size, who, fig in rows:
        by_size.setdefault(size, {})[who] = fig
        cells = "".join(f"{_cell(getattr(fig, a) * s):>15}" for _, a, s in COLUMNS)
        lines.append(f"{size:>9} {who:<12}{cells}")
    for size, pair in by_size.items():
        if "corridormap" in pair and "explore" in pair:
            c, e = pair["corridormap"], pair["explore"]
            cells = "".join(f"{_ratio(getattr(c, a), getattr(e, a)):>15}" for _, a, _ in COLUMNS)
            lines.append(f"{size:>9} {'ratio':<12}{cells}")
        if size == "10M" and "corridormap" in pair:
            met = _targets(pair["corridormap"])
            lines.append(
                "10M targets: " + ", ".join(f"{k} {'met' if ok else 'NOT met'}" for k, ok in met.items())
            )
    return "\n".join(lines)


def _targets(fig: Figures) -> dict[str, bool]:
    return {f"{k} <= {v:g}": bool(getattr(fig, k) <= v) for k, v in TARGETS_10M.items()}


def as_json(rows: Sequence[tuple[str, str, Figures]]) -> list[dict[str, Any]]:
    """The rows as JSON-ready records (unmeasured figures are null), with ratios to explore()."""
    import dataclasses

    def clean(d: dict[str, Any]) -> dict[str, Any]:
        return {k: (v if not isinstance(v, float) or np.isfinite(v) else None) for k, v in d.items()}

    pairs = {(size, who): fig for size, who, fig in rows}
    out = []
    for size, who, fig in rows:
        record = {"size": size, "map": who, **clean(dataclasses.asdict(fig))}
        record["bytes_per_vertex"] = clean({"b": fig.bytes_per_vertex})["b"]
        explore = pairs.get((size, "explore"))
        if who == "corridormap" and explore is not None:
            record["ratio_to_explore"] = clean(
                {
                    a: getattr(fig, a) / getattr(explore, a) if getattr(explore, a) else float("nan")
                    for _, a, _ in COLUMNS
                }
            )
        if who == "corridormap" and size == "10M":
            record["targets_10m"] = _targets(fig)
        out.append(record)
    return out


def vertex_count(gdf: gpd.GeoDataFrame) -> int:
    return int(shapely.get_num_coordinates(gdf.geometry.values).sum())


def bench_render(
    sizes: Sequence[int],
    out_dir: Path,
    *,
    seed: int = 0,
    explore: bool = True,
    report: Callable[[str], None] = print,
) -> list[tuple[str, str, Figures]]:
    """Build and measure both maps at each size; returns (size, map, figures) rows."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, Figures]] = []
    with sync_playwright() as pw:
        browser = launch(pw)
        for n in sizes:
            layers = synthetic_belt(n, seed=seed)
            builders: list[tuple[str, Callable[..., Figures]]] = [("corridormap", build_corridormap)]
            if explore:
                builders.append(("explore", build_explore))
            for who, build in builders:
                path = out_dir / f"{who}_{_label(n)}.html"
                repeats = 2 if n <= 1_000_000 else 1  # the fastest of two builds, for both maps alike
                figures = measure_page(browser, path, build(layers, path, repeats=repeats))
                figures.vertices = sum(vertex_count(g) for g in layers.values())
                rows.append((_label(n), who, figures))
                report(f"{_label(n)} {who}: {figures}")
        browser.close()
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m corridormap.bench render", description=__doc__.split("\n\n")[0]
    )
    render = parser  # large-layer map vs geopandas explore()
    render.add_argument(
        "--sizes", default="100k,1M,3M", help="vertex counts, comma-separated (default %(default)s)"
    )
    render.add_argument(
        "--out", default="build/bench", help="folder for the HTML files (default %(default)s)"
    )
    render.add_argument("--seed", type=int, default=0)
    render.add_argument("--no-explore", action="store_true", help="measure corridormap only")
    render.add_argument("--json", action="store_true", help="print the figures as JSON (progress to stderr)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sizes = [_parse_size(s) for s in args.sizes.split(",") if s.strip()]
    load_before = os.getloadavg()[0]
    report = (lambda text: print(text, file=sys.stderr)) if args.json else print
    rows = bench_render(sizes, Path(args.out), seed=args.seed, explore=not args.no_explore, report=report)
    load_after = os.getloadavg()[0]
    load = (
        f"load average (1 min) before/after: {load_before:.1f} / {load_after:.1f} on {os.cpu_count()} CPUs"
        " (wall-clock figures stretch under load; build CPU s does not)"
    )
    if args.json:
        print(json.dumps({"rows": as_json(rows), "load_average": [load_before, load_after]}, indent=1))
    else:
        print(table(rows))
        print(load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
