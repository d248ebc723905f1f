"""Every notebook in ``notebooks/`` runs top to bottom, offline, with errors fatal; outputs are stripped."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
KERNEL = "corridormap-tests"


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> Path:
    """A Jupyter path whose kernel spec runs this interpreter (the venv's): no global set-up needed."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    return root


@pytest.fixture(scope="module")
def offline_env(tmp_path_factory) -> dict[str, str]:
    cache = tmp_path_factory.mktemp("notebook-cache")
    return {"CORRIDORMAP_OFFLINE": "1", "CORRIDORMAP_CACHE_DIR": str(cache)}


def test_there_are_notebooks() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert {
        "01_layers_and_map.ipynb",
        "02_node_access_chainage_catchments.ipynb",
        "03_site_suitability.ipynb",
    } <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_outputs_are_stripped_and_imports_are_corridormap_only(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip the outputs"
        for line in cell.source.splitlines():
            if line.startswith(("import ", "from ")):
                module = line.split()[1]
                assert module.split(".")[0] == "corridormap", f"{path.name}: imports {module}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, kernels: Path, offline_env: dict[str, str], monkeypatch) -> None:
    for key, value in {**offline_env, "JUPYTER_PATH": str(kernels)}.items():
        monkeypatch.setenv(key, value)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=300,
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    ran = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in ran)
    errors = [o for c in ran for o in c.outputs if o.get("output_type") == "error"]
    assert errors == []
    # the charts are drawn (static pictures, not only tables and the interactive map)
    pictures = [k for c in ran for o in c.outputs for k in o.get("data", {}) if k.startswith("image/")]
    assert sorted(pictures) == CHARTS[path.name], f"{path.name}: charts shown {pictures}"


# the static charts each notebook shows (corridormap.charts)
CHARTS = {
    "01_layers_and_map.ipynb": ["image/png"],  # features per layer by status
    "02_node_access_chainage_catchments.ipynb": ["image/png", "image/svg+xml"],  # access by node, strip
    "03_site_suitability.ipynb": ["image/png", "image/png"],  # score histogram, sites on a static map
}
