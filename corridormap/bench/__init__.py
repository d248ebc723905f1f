"""Benchmarks: ``python -m corridormap.bench NAME [ARGS]`` runs ``benchmarks/bench_NAME.py``.

The benchmark scripts live in one place, the ``benchmarks/`` folder of a source checkout (they are
development tools, not part of the installed library); this launcher finds that folder beside the
package and runs a script as if it were called directly, so ``python -m corridormap.bench render
--sizes 100k,1M`` and ``python benchmarks/bench_render.py --sizes 100k,1M`` are the same command.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["BENCHMARKS_DIR", "available", "main"]

BENCHMARKS_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


def available() -> list[str]:
    """The benchmark names of ``benchmarks/bench_*.py`` (empty outside a source checkout)."""
    return sorted(p.stem.removeprefix("bench_") for p in BENCHMARKS_DIR.glob("bench_*.py"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``benchmarks/bench_NAME.py`` with the remaining arguments; 2 for an unknown name."""
    args = list(sys.argv[1:] if argv is None else argv)
    names = available()
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.split("\n\n")[0])
        print("benchmarks:", ", ".join(names) if names else f"none found (no {BENCHMARKS_DIR})")
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in names:
        where = "one of " + ", ".join(names) if names else f"a source checkout with {BENCHMARKS_DIR}"
        print(f"unknown benchmark {name!r}. Fix: use {where}", file=sys.stderr)
        return 2
    script = BENCHMARKS_DIR / f"bench_{name}.py"
    old_argv, old_path = sys.argv, list(sys.path)
    sys.argv = [str(script), *rest]
    sys.path.insert(0, str(BENCHMARKS_DIR))  # scripts share helpers (bench_nearest_k uses bench_access)
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv, sys.path[:] = old_argv, old_path
    return 0
