"""Install-time vendoring of the npm packages that offline maps inline (a hatchling build hook).

``pip install .`` and ``pip install -e .`` run this hook. It reads the ``[npm]`` table of
``corridormap/render/assets.toml`` and, for each ``NAME@VERSION`` not already vendored, fetches the
package tarball (``npm pack``; with no ``npm`` on the machine, the same tarball straight from the npm
registry), checks it against the pinned sha512 integrity, and keeps the listed files (plus the
package's licence and package.json) under ``corridormap/_vendor/npm/NAME@VERSION/``. That folder
is git-ignored and goes into the wheel; nothing is fetched when a map is viewed. A failure stops
the install with a message naming the package: an offline map could not be built without it.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ASSETS_TOML = Path("corridormap", "render", "assets.toml")
VENDOR = Path("corridormap", "_vendor")
STAMP = ".vendored.json"
# kept from every package: its licence file, and package.json (which states the licence where the
# package has no licence file)
LICENCE_PATTERNS = ("licen[cs]e*", "copying*", "package.json")


def _split(spec: str) -> tuple[str, str]:
    name, _, version = spec.rpartition("@")
    return name, version


def _fetch_tarball(spec: str, tmp: Path) -> bytes:
    """The package tarball: ``npm pack`` if npm is installed, else a direct registry download."""
    npm = shutil.which("npm")
    if npm:
        done = subprocess.run(
            [npm, "pack", spec, "--pack-destination", str(tmp), "--json", "--silent"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            filename = json.loads(done.stdout)[0]["filename"]
            return (tmp / filename).read_bytes()
        raise RuntimeError(f"`npm pack {spec}` failed: {done.stderr.strip()[-400:]}")
    name, version = _split(spec)
    default = "https://registry.npmjs.org"
    registry = os.environ.get("npm_config_registry", default).rstrip("/")  # noqa: SIM112 (npm's name)
    url = f"{registry}/{name}/-/{name.rpartition('/')[2]}-{version}.tgz"
    with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 (fixed https registry)
        return bytes(response.read())


def _check_integrity(spec: str, blob: bytes, integrity: str) -> None:
    algo, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algo, blob).digest()).decode()
    if actual != expected:
        raise RuntimeError(
            f"npm package {spec}: tarball integrity {algo}-{actual} does not match the "
            f"pinned {integrity} in {ASSETS_TOML}"
        )


def _keep(member: str, patterns: list[str]) -> bool:
    top_level = "/" not in member
    if top_level and any(fnmatch.fnmatch(member.lower(), p) for p in LICENCE_PATTERNS):
        return True
    return any(fnmatch.fnmatch(member, p) for p in patterns)


def _unpack(spec: str, blob: bytes, patterns: list[str], dest: Path) -> list[str]:
    kept: list[str] = []
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for member in tar.getmembers():
            rel = member.name.split("/", 1)[1] if "/" in member.name else member.name
            if not member.isfile() or ".." in Path(rel).parts or not _keep(rel, patterns):
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())
            kept.append(rel)
    missing = [p for p in patterns if not any(fnmatch.fnmatch(k, p) for k in kept)]
    if missing:
        raise RuntimeError(f"npm package {spec} has no file matching {missing} (see {ASSETS_TOML})")
    return kept


def vendor_npm(root: Path) -> list[Path]:
    """Vendor every npm package listed in assets.toml under ``root``; return the package folders."""
    table: dict[str, Any] = tomllib.loads((root / ASSETS_TOML).read_text(encoding="utf-8")).get("npm", {})
    folders = []
    for spec, entry in table.items():
        dest = root / VENDOR / "npm" / spec
        folders.append(dest)
        wanted = {"files": entry["files"], "integrity": entry["integrity"], "keep": list(LICENCE_PATTERNS)}
        stamp = dest / STAMP
        if stamp.is_file() and json.loads(stamp.read_text(encoding="utf-8")) == wanted:
            continue
        with tempfile.TemporaryDirectory(prefix="corridormap-npm-") as tmp:
            try:
                blob = _fetch_tarball(spec, Path(tmp))
            except Exception as exc:  # noqa: BLE001 - re-raised with the package named
                raise RuntimeError(
                    f"corridormap could not vendor npm package {spec} for offline maps: {exc}. "
                    "Install npm (apt-get install npm) or allow access to the npm registry, then reinstall."
                ) from exc
            _check_integrity(spec, blob, entry["integrity"])
            staging = dest.with_name(dest.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            _unpack(spec, blob, list(entry["files"]), staging)
            (staging / STAMP).write_text(json.dumps(wanted), encoding="utf-8")
            shutil.rmtree(dest, ignore_errors=True)
            staging.rename(dest)
    return folders


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Vendor the npm assets before a wheel (or an editable wheel) is built."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        vendor_npm(root)
        if version != "editable":
            # git-ignored, so not picked up by the file selection: include it explicitly
            build_data["force_include"][str(root / VENDOR)] = str(VENDOR).replace(os.sep, "/")
