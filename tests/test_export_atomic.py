"""Safe writing: a failing, interrupted or killed export leaves the previous output byte-identical."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point

from corridormap.atomic import STAGING_PREFIX
from corridormap.errors import ExportError
from corridormap.export import formats as export_formats
from corridormap.export.write import export_layers, manifest_path


def _layers(n: int = 2) -> dict[str, gpd.GeoDataFrame]:
    frame = gpd.GeoDataFrame(
        {"id": [f"p{i}" for i in range(n)]},
        geometry=[Point(77 + i / 10, 28) for i in range(n)],
        crs="EPSG:4326",
    )
    return {"first": frame, "second": frame.iloc[:1]}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("key", ["gpkg", "geojson", "csv", "shp"])
def test_injected_writer_failure_changes_nothing(tmp_path, monkeypatch, key):
    out = tmp_path / ("corridor.gpkg" if key == "gpkg" else key)
    export_layers(_layers(), out, driver=key)
    before = _snapshot(tmp_path)
    calls = []

    def failing(write):
        def wrapper(frame, path, *args, **kwargs):
            calls.append(path)
            if len(calls) == 2:  # the second layer: the first is already written in staging
                Path(path).write_bytes(b"half a file")
                raise OSError("No space left on device")
            return write(frame, path, *args, **kwargs)

        return wrapper

    if key == "gpkg":
        monkeypatch.setattr(pyogrio, "write_dataframe", failing(pyogrio.write_dataframe))
    else:
        fmt = export_formats.FORMATS[key]
        monkeypatch.setitem(export_formats.FORMATS, key, dataclasses.replace(fmt, write=failing(fmt.write)))
    with pytest.raises(OSError, match="No space"):
        export_layers(_layers(3), out, driver=key, overwrite=True)
    assert _snapshot(tmp_path) == before  # previous files byte-identical, nothing added


def test_failed_verification_changes_nothing(tmp_path, monkeypatch):
    out = tmp_path / "corridor.gpkg"
    export_layers(_layers(), out)
    before = _snapshot(tmp_path)
    fmt = export_formats.FORMATS["gpkg"]
    monkeypatch.setitem(
        export_formats.FORMATS,
        "gpkg",
        dataclasses.replace(fmt, read=lambda p, layer: fmt.read(p, layer).iloc[:0]),
    )
    with pytest.raises(ExportError, match="0 features read back"):
        export_layers(_layers(4), out, overwrite=True)
    assert _snapshot(tmp_path) == before


_BIG_EXPORT = textwrap.dedent("""
    import sys
    import numpy as np, geopandas as gpd
    from corridormap.export.write import export_layers
    n = 250_000
    rng = np.random.default_rng(0)
    big = gpd.GeoDataFrame({"id": np.arange(n), "v": rng.random(n)},
                           geometry=gpd.points_from_xy(rng.random(n) + 72, rng.random(n) + 20), crs=4326)
    print("ready", flush=True)
    export_layers({"big": big}, sys.argv[1], overwrite=True)
""")


def _nonempty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:  # the writer moved it meanwhile
        return False


def _start_and_wait_for_staging(target: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", _BIG_EXPORT, str(target)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(_nonempty(p) for p in target.parent.glob(f"{STAGING_PREFIX}*/*")):
            return proc
        if proc.poll() is not None:
            pytest.fail(f"the export finished (exit {proc.returncode}) before it could be interrupted")
        time.sleep(0.005)
    proc.kill()
    pytest.fail("the export never started writing")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["interrupt", "kill"])
def test_killed_export_leaves_previous_file(tmp_path, sig):
    target = tmp_path / "corridor.gpkg"
    export_layers(_layers(), target)
    before = _snapshot(tmp_path)
    proc = _start_and_wait_for_staging(target)
    os.kill(proc.pid, sig)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(STAGING_PREFIX)]
    if sig == signal.SIGINT:  # Python unwinds: the staging folder is removed at once
        assert leftovers == []
    else:  # nothing runs after SIGKILL: the hidden staging folder is swept by the next write there
        assert len(leftovers) == 1
        export_layers(_layers(), tmp_path / "other.gpkg")
        assert not any(p.name.startswith(STAGING_PREFIX) for p in tmp_path.iterdir())
        (tmp_path / "other.gpkg").unlink()
        manifest_path(tmp_path / "other.gpkg").unlink()
    assert _snapshot(tmp_path) == before
