"""The package's layout: every module imports alone, and no import cycle hides anywhere inside.

The import graph is read from the source with ``ast``, counting imports inside functions too (an
import moved into a function to dodge a cycle is still a cycle) and skipping ``if TYPE_CHECKING:``
blocks. ``from . import sibling`` is an arrow to the sibling; importing ``a.b.c`` also runs
``a/b/__init__``, so it is an arrow to ``a.b`` too (unless the importer lives inside ``a.b``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import corridormap

PACKAGE = Path(corridormap.__file__).parent
MAX_TOP_LEVEL_MODULES = 12


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module and package under ``root`` (no vendored files)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        if "_vendor" in rel.parts:
            continue
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, outside ``if TYPE_CHECKING:`` bodies."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (see the module docstring)."""
    mods = modules(root)
    top = root.name
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        here = name.split(".") if is_pkg else name.split(".")[:-1]
        targets: set[str] = set()
        for node in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
                continue
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in mods else base)
        for target in targets:
            if target != top and not target.startswith(top + "."):
                continue
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                step = ".".join(parts[:i])
                ancestor_of_importer = name == step or name.startswith(step + ".")
                if step in mods and step != name and (i == len(parts) or not ancestor_of_importer):
                    graph[name].add(step)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_in_the_package() -> None:
    graph = import_graph(PACKAGE)
    assert len(graph) > 40
    assert cycles(graph) == []


def test_no_room_imports_a_room_above_it() -> None:
    """Rooms (the subpackages and top-level modules) form no cycle either: every arrow points down."""
    rooms: dict[str, set[str]] = {}
    for module, targets in import_graph(PACKAGE).items():
        room = module.split(".")[1] if "." in module else module
        for target in targets:
            other = target.split(".")[1] if "." in target else target
            if other != room:
                rooms.setdefault(room, set()).add(other)
    rooms.pop("corridormap", None)  # the package's own __init__ (its public names load lazily)
    assert cycles(rooms) == []
    assert "catalog" not in rooms["io"] and "export" not in rooms["analysis"]


def test_the_cycle_check_sees_function_level_and_package_cycles(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "room").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n    return g\n")  # hidden in a function
    (pkg / "b.py").write_text("from . import a\n\ndef g():\n    return a\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import f\n")
    (pkg / "room" / "__init__.py").write_text("from .inner import x\n")  # a room's front door ...
    (pkg / "room" / "inner.py").write_text("from ..d import y\nx = 1\n")
    (pkg / "d.py").write_text("from .room.inner import x\ny = 2\n")  # ... entered from below: a cycle
    found = cycles(import_graph(pkg))
    assert ["pkg.a", "pkg.b"] in found
    assert ["pkg.d", "pkg.room", "pkg.room.inner"] in found
    assert not any("pkg.c" in comp for comp in found)


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    """Each module in its own interpreter (forked from one that has loaded only third-party libraries)."""
    names = [m for m in modules(PACKAGE) if not m.endswith("__main__")]
    script = textwrap.dedent(
        """
        import importlib, os, sys, traceback
        for lib in ("numpy", "pandas", "shapely", "pyproj", "geopandas", "pyogrio", "networkx",
                    "folium", "click", "rasterio"):
            try:
                importlib.import_module(lib)
            except ImportError:
                pass
        assert not any(m == "corridormap" or m.startswith("corridormap.") for m in sys.modules)
        failed = []
        for name in sys.argv[1:]:
            pid = os.fork()
            if pid == 0:
                try:
                    importlib.import_module(name)
                except BaseException:
                    traceback.print_exc()
                    os._exit(1)
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            if status != 0:
                failed.append(name)
        print("FAILED:", " ".join(failed))
        sys.exit(1 if failed else 0)
        """
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script, *names], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    assert "FAILED: \n" in done.stdout


def _names_own_module(call: ast.Call) -> bool:
    """True for ``import_module`` of one of the package's modules: relative, absolute, or built from
    ``__name__``/``__package__``."""
    if len(call.args) > 1 or any(k.arg == "package" for k in call.keywords):
        return True  # a relative import
    arg = call.args[0]
    literal = [arg.value] if isinstance(arg, ast.Constant) else []
    if isinstance(arg, ast.JoinedStr):
        literal = [v.value for v in arg.values if isinstance(v, ast.Constant)]
    if literal and str(literal[0]).startswith((".", "corridormap")):
        return True
    return any(isinstance(n, ast.Name) and n.id in ("__name__", "__package__") for n in ast.walk(arg))


def test_no_importlib_door_or_module_getattr_shim() -> None:
    """Own modules are imported by import statements; the only lazy door is the public API's."""
    doors, shims = [], []
    for name, path in modules(PACKAGE).items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            is_call = isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module")
            if is_call and node.args and _names_own_module(node):
                doors.append(name)
        shims += [name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "__getattr__"]
    assert doors == ["corridormap"]  # corridormap.__getattr__: each public name loads on first use
    # the public API's lazy names, and settings.cache_dir (the value in force): no shim for a moved name
    assert sorted(shims) == ["corridormap", "corridormap.settings"]


def test_at_most_twelve_modules_at_the_top() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


@pytest.mark.parametrize("name", ["nearest_table", "default_targets", "export_layers", "suitability"])
def test_names_the_readme_uses_are_public(name: str) -> None:
    assert name in corridormap.__all__
    assert callable(getattr(corridormap, name))
