"""Shared fixtures: paths to the shipped data and to the third-party validation data beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# CI replays the same examples every run (a red run is reproducible); local runs explore new ones
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]

# run by Debian's /usr/bin/python3 (QGIS's bindings) from test_export_styles.py, not imported by pytest
collect_ignore = ["qgis_check.py"]
# ../shared/data beside the repository; CORRIDORMAP_SHARED_DATA points elsewhere (e.g. from a git worktree)
SHARED_DATA = Path(os.environ.get("CORRIDORMAP_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: real third-party datasets for validation (never read by the product)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} is missing: the tests need ../shared/data beside the repository")
    return SHARED_DATA
