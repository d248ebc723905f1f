"""The default install runs every documented command; only heavy or server-side parts are extras.

The commands run in a fresh interpreter in which the modules of the optional extras (Dask
distributed, the PostgreSQL client, the benchmark browser and plotting) cannot be imported, as after
``pip install .`` alone.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
OSM_XML = ROOT / "tests" / "fixtures" / "osm" / "rewari.osm"

# top-level modules provided only by the optional extras (and not by any default dependency)
OPTIONAL_MODULES = ["dask", "distributed", "psycopg", "sqlalchemy", "playwright", "mapclassify"]

# the README's documented commands that need no network, server or cluster (paths relative to a tmp cwd)
COMMANDS = [
    ["build"],
    ["build"],  # again: keeps the outputs, exit 0
    ["layers"],
    ["access"],
    ["access", "--k", "3", "--max-km", "200", "--out", "build/mine"],
    ["chainage"],
    ["catchments", "--radii", "10,25,50"],
    ["gaps"],
    ["raster", "build"],
    ["raster", "info", "solar_kwh_m2"],
    ["raster", "sample", "elevation_m", "--layer", "industrial_nodes"],
    ["raster", "zonal", "solar_kwh_m2", "--layer", "corridor_belt", "--above", "2300"],
    ["sites", "--cell-km", "10", "--top", "5", "--map", "--offline"],
    ["export", "--format", "parquet", "--out", "parquet/"],
    ["export", "--format", "shp", "--out", "shp/", "--layers", "industrial_nodes,freight_rail"],
    ["osm", "extract", "rewari.osm.pbf", "--what", "rail", "--out", "rail.gpkg"],
    ["validate", "rail.gpkg"],
]

RUNNER = r"""
import importlib.abc, json, sys

BLOCKED = set(json.loads(sys.argv[1]))


class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (optional extra, not installed)")
        return None


sys.meta_path.insert(0, Block())
from corridormap.cli import cli

codes = []
for args in json.loads(sys.argv[2]):
    print("$ corridormap " + " ".join(args), flush=True)
    try:
        cli.main(args=args, prog_name="corridormap", standalone_mode=False)
        codes.append(0)
    except SystemExit as exc:
        codes.append(exc.code or 0)
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}", flush=True)
        codes.append(1)
print("CODES " + json.dumps(codes))
"""


def _modules_of(requirements: list[str]) -> set[str]:
    names = {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}
    return names


def test_default_dependencies_cover_documented_commands() -> None:
    default = _modules_of(PYPROJECT["project"]["dependencies"])
    for dist in ("pvlib", "h5py", "global-land-mask", "osmium", "rasterio", "osmnx", "tqdm", "matplotlib"):
        assert dist in default, f"{dist} is needed by a documented command and must be a default dependency"
    extras = PYPROJECT["project"]["optional-dependencies"]
    for heavy in ("dask", "postgis", "bench"):
        assert heavy in extras and not _modules_of(extras[heavy]) & default
    assert "playwright" in _modules_of(extras["test"]) and "jsonschema" in _modules_of(extras["test"])


def test_readme_names_every_extra_with_what_it_enables() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Installing", 1)[1].split("\n## ", 1)[0]
    for extra in PYPROJECT["project"]["optional-dependencies"]:
        line = next((ln for ln in section.splitlines() if f"`{extra}`" in ln), None)
        assert line is not None, f"README's Installing section does not name the extra {extra!r}"
        assert len(line.split(f"`{extra}`", 1)[1].strip(" |")) > 10, f"say what {extra!r} enables"


@pytest.mark.slow
def test_documented_commands_run_without_optional_extras(tmp_path: Path) -> None:
    import osmium

    with osmium.SimpleWriter(str(tmp_path / "rewari.osm.pbf")) as writer:
        for obj in osmium.FileProcessor(str(OSM_XML)):
            writer.add(obj)
    env = {
        "CORRIDORMAP_CACHE_DIR": str(tmp_path / "cache"),
        "CORRIDORMAP_OFFLINE": "1",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(OPTIONAL_MODULES), json.dumps(COMMANDS)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    codes_line = [ln for ln in done.stdout.splitlines() if ln.startswith("CODES ")]
    assert codes_line, output
    codes = json.loads(codes_line[0][6:])
    failed = [" ".join(c) for c, code in zip(COMMANDS, codes, strict=True) if code != 0]
    assert not failed, f"failed without the optional extras: {failed}\n{output[-4000:]}"
    assert "pip install" not in output, output[-4000:]
    assert "outputs exist" in output and (tmp_path / "build" / "sites" / "sites.html").is_file()
