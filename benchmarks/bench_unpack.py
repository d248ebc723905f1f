"""Benchmark of a packed page's unpacking in Chromium: ``python -m corridormap.bench unpack [--runs 7]``.

(``python benchmarks/bench_unpack.py ...`` runs the same.)

Builds the default map (``corridormap build``'s ``corridor.html``, or ``--map PATH``), opens it
``--runs`` times in headless Chromium from ``file://`` with every network request refused, and
prints, per page load, the milliseconds spent in ``corridormapPack.text`` (the packed blocks read:
7-bit text to bytes, inflate, and the check of each block; of it, in ``corridormapPack.crc32`` where
the page has it) and in ``corridormapPack.unpack`` (the same plus putting each element in place,
which runs the unpacked scripts: Leaflet and the rest), as median and fastest of the runs. It also
times three checksums over the plain bytes of all the page's blocks (CRC-32 a byte a step, CRC-32
four bytes a step as ``pack.js`` computes it, and Adler-32), each in ``--runs`` fresh pages: the
first pass (cold code, as when a page loads) and the median of 21 passes after it, to weigh their
cost against the unpacking.

It needs Playwright (the ``bench`` extra) and Debian's Chromium (``/usr/bin/chromium``).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: the sibling benchmarks

from bench_render import CHROMIUM  # noqa: E402
from bench_render import CHROMIUM_ARGS as _RENDER_ARGS  # noqa: E402

__all__ = ["main"]

CHROMIUM_ARGS = [*_RENDER_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND"]  # no network at all

# Installed before the page runs: corridormapPack.text and .unpack are wrapped as pack.js defines them.
_TIMER_JS = """(() => {
  const times = (window.__unpackTimes = {text: 0, unpack: 0, crc32: 0, blocks: 0});
  const P = (window.corridormapPack = {});
  const timed = (name, count) => {
    let fn;
    Object.defineProperty(P, name, {
      configurable: true,
      get: () => fn,
      set: (f) => {
        fn = function () {
          const t0 = performance.now();
          try { return f.apply(this, arguments); }
          finally { times[name] += performance.now() - t0; if (count) times.blocks++; }
        };
      },
    });
  };
  timed("text", true);
  timed("unpack", false);
  timed("crc32", false);
})();"""

_CHECKSUMS_JS = """([blocks, which]) => {
  const P = window.corridormapPack;
  const plain = blocks.map(([text, size]) => P.inflateRaw(P.text7Bytes(text), new Uint8Array(size)));
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  const crc32 = (bytes) => {
    let crc = -1;
    for (let i = 0, n = bytes.length; i < n; i++) crc = table[(crc ^ bytes[i]) & 255] ^ (crc >>> 8);
    return (crc ^ -1) >>> 0;
  };
  const adler32 = (bytes) => {
    let a = 1, b = 0, i = 0;
    const n = bytes.length;
    while (i < n) {
      const end = Math.min(i + 3800, n);
      for (; i < end; i++) { a += bytes[i]; b += a; }
      a %= 65521; b %= 65521;
    }
    return ((b << 16) | a) >>> 0;
  };
  const T = [table, new Int32Array(256), new Int32Array(256), new Int32Array(256)];
  for (let n = 0; n < 256; n++) {
    let c = table[n];
    for (let t = 1; t < 4; t++) { c = table[c & 255] ^ (c >>> 8); T[t][n] = c; }
  }
  const [t0, t1, t2, t3] = T;
  const crc32x4 = (bytes) => {  // four bytes a step, as pack.js
    let crc = -1, i = 0;
    const n = bytes.length, end4 = n - (n & 3);
    for (; i < end4; i += 4) {
      crc ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
      crc = t3[crc & 255] ^ t2[(crc >>> 8) & 255] ^ t1[(crc >>> 16) & 255] ^ t0[crc >>> 24];
    }
    for (; i < n; i++) crc = t0[(crc ^ bytes[i]) & 255] ^ (crc >>> 8);
    return (crc ^ -1) >>> 0;
  };
  const fn = {crc32, crc32x4, adler32}[which];
  const runs = [];
  let sink = 0;
  for (let r = 0; r < 22; r++) {
    const t0 = performance.now();
    for (const bytes of plain) sink ^= fn(bytes);
    runs.push(performance.now() - t0);
  }
  const first = runs.shift();  // the first pass (cold code, as in a page load), then warm passes
  runs.sort((x, y) => x - y);
  for (const bytes of plain) {
    if (crc32x4(bytes) !== crc32(bytes)) throw new Error("the two CRC-32s differ");
  }
  return {bytes: plain.reduce((s, b) => s + b.length, 0), first, warm: runs[10], sink};
}"""

_PACKED = re.compile(
    r'<script type="text/x-corridormap-packed"[^>]* data-bytes="(\d+)"[^>]*>([^<]*)</script>'
)


def _default_map() -> Path:
    import corridormap

    folder = Path(tempfile.mkdtemp(prefix="bench-unpack-"))
    return corridormap.build_outputs(folder / "out").map


def _load_once(browser: Any, path: Path) -> dict[str, float]:
    page = browser.new_page()
    try:
        page.add_init_script(_TIMER_JS)
        page.route("http://**/*", lambda route: route.abort())
        page.route("https://**/*", lambda route: route.abort())
        page.goto(path.as_uri(), wait_until="load")
        times: dict[str, float] = page.evaluate("() => window.__unpackTimes")
        return times
    finally:
        page.close()


def _checksums(browser: Any, path: Path, runs: int) -> dict[str, Any]:
    """Each checksum over the page's blocks in ``runs`` fresh pages (alternating): first and warm ms."""
    text = path.read_text(encoding="utf-8")
    blocks = [[m.group(2), int(m.group(1))] for m in _PACKED.finditer(text)]
    out: dict[str, Any] = {"blocks": len(blocks), "crc32": [], "crc32x4": [], "adler32": []}
    for i in range(3 * runs):
        which = ("crc32", "crc32x4", "adler32")[i % 3]
        page = browser.new_page()
        try:
            page.route("http://**/*", lambda route: route.abort())
            page.route("https://**/*", lambda route: route.abort())
            page.goto(path.as_uri(), wait_until="load")
            result = page.evaluate(_CHECKSUMS_JS, [blocks, which])
            out["bytes"] = result["bytes"]
            out[which].append((result["first"], result["warm"]))
        finally:
            page.close()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m corridormap.bench unpack", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--map", type=Path, help="a built map (default: build the default map)")
    parser.add_argument("--runs", type=int, default=7, help="page loads (default %(default)s)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
        return 2
    from playwright.sync_api import sync_playwright

    path = args.map or _default_map()
    load_before = os.getloadavg()[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            runs = [_load_once(browser, path) for _ in range(args.runs)]
            sums = _checksums(browser, path, args.runs)
        finally:
            browser.close()
    load_after = os.getloadavg()[0]
    print(f"map: {path} ({path.stat().st_size:,} bytes), {runs[0]['blocks']:.0f} packed blocks")
    steps = (
        ("text", "read blocks (text7, inflate, check)"),
        ("crc32", "of which the CRC-32 check (0: a page without it)"),
        ("unpack", "unpack (and run)"),
    )
    for key, what in steps:
        values = [r[key] for r in runs]
        print(
            f"{what}: median {statistics.median(values):.1f} ms, fastest {min(values):.1f} ms "
            f"({args.runs} loads: {', '.join(f'{v:.1f}' for v in values)})"
        )
    for which, name in (("crc32", "CRC-32"), ("crc32x4", "CRC-32 by 4"), ("adler32", "Adler-32")):
        first = [f for f, _ in sums[which]]
        warm = [w for _, w in sums[which]]
        print(
            f"{name} over all {sums['blocks']} blocks' {sums['bytes']:,} plain bytes: first (cold) pass "
            f"median {statistics.median(first):.1f} ms, fastest {min(first):.1f} ms; warm (median of 21 "
            f"passes) {statistics.median(warm):.2f} ms ({args.runs} pages)"
        )
    print(f"load average (1 min) before/after: {load_before:.1f} / {load_after:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
