"""The default build: every catalog layer into a single-file map, a GeoPackage and a manifest.

``build_outputs()`` is what ``corridormap build`` runs. Nothing is written until every output is
known to be writable (existing files are refused without ``overwrite=True``); each file is written
beside its target and moved into place, so an interrupted build leaves no half-written output.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from . import settings
from .analysis.outputs import add_analysis, strip_entries
from .atomic import refuse_existing, write_bytes_atomic, write_json_atomic
from .catalog.load import LayerSpec, load_catalog, load_layers
from .export.manifest import build_manifest
from .export.write import export_layers
from .progress import steps
from .render import build_map
from .render.assets import map_html

__all__ = [
    "BuildResult",
    "build_outputs",
    "MAP_NAME",
    "GPKG_NAME",
    "MANIFEST_NAME",
    "LOGS_NAME",
    "CORE_NAMES",
]

log = logging.getLogger(__name__)

MAP_NAME = "corridor.html"
GPKG_NAME = "corridor.gpkg"
MANIFEST_NAME = "manifest.json"
LOGS_NAME = "read-logs"  # per source file: <file>.validation.json (and .repairs.csv when repaired)
CORE_NAMES = (MAP_NAME, GPKG_NAME, MANIFEST_NAME)  # what every build writes


@dataclass
class BuildResult:
    """Where the build wrote its outputs, and what it built them from."""

    map: Path
    gpkg: Path
    manifest: Path
    extra: list[Path] = field(default_factory=list)
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict, repr=False)

    @property
    def paths(self) -> list[Path]:
        return [self.map, self.gpkg, self.manifest, *self.extra]


def analysis_layers(
    layers: dict[str, gpd.GeoDataFrame], specs: dict[str, LayerSpec], out_dir: Path
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, LayerSpec], dict[str, bytes]]:
    """HOOK for the analysis room: add analysis results to the default build.

    Returns the layers and specs to draw and export (possibly with extra layers, or extra columns on
    existing ones) and extra files to write beside the map (name -> content). Inputs are not mutated.
    """
    return add_analysis(layers, specs, out_dir)


def build_outputs(
    out_dir: str | Path | None = None,
    *,
    overwrite: bool = False,
    catalog: Mapping[str, LayerSpec] | None = None,
    offline: bool = False,
    cdn: bool = False,
) -> BuildResult:
    """Build the corridor map, GeoPackage and manifest into ``out_dir`` (default ``build/``).

    Every source file's read report (checks, repairs, coercions) is written to ``read-logs/`` beside
    the outputs; the strip diagrams of the analysis go beside the map.

    Parameters
    ----------
    out_dir : output folder (created if missing); default ``settings.out_dir``.
    overwrite : replace existing outputs; without it an existing output raises
        :class:`~corridormap.errors.OutputExistsError` before anything is written.
    catalog : catalog to build from (default: the shipped one plus ``settings.extra_layers_dirs``).
    offline : write a map for air-gapped use: no tile basemaps, no network request at all. By default
        the map is one self-contained file too (every script, stylesheet and icon inlined, the
        planning basemap and the strip diagrams inside) that also offers online tile basemaps,
        loaded when the network is there and skipped when not.
    cdn : write a lighter page that loads Leaflet and its plugins from their CDNs (needs the network;
        opened without it, the page shows a notice saying so and what to do).
    """
    if offline and cdn:
        raise ValueError("a map cannot be both offline and CDN-linked: choose offline or cdn")
    out = Path(out_dir) if out_dir is not None else settings.out_dir
    refuse_existing([out / name for name in CORE_NAMES], overwrite)
    with steps(5, desc="build") as progress:
        progress.step("reading the layers")
        result = _build(out, overwrite, catalog, offline, progress, cdn=cdn)
    log.info("built %s", ", ".join(map(str, result.paths)))
    return result


def _build(
    out: Path,
    overwrite: bool,
    catalog: Mapping[str, LayerSpec] | None,
    offline: bool,
    progress: Any,
    *,
    cdn: bool = False,
) -> BuildResult:
    specs = dict(catalog) if catalog is not None else load_catalog()
    with settings.override(repair_log_dir=out / LOGS_NAME):
        layers = load_layers(catalog=specs)
    progress.step("analysis")
    layers, specs, extra_files = analysis_layers(layers, specs, out)
    result = BuildResult(
        out / MAP_NAME, out / GPKG_NAME, out / MANIFEST_NAME, [out / name for name in extra_files], layers
    )
    refuse_existing(result.paths, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    progress.step("map")
    m = build_map(layers, specs, offline=offline, strips=strip_entries(extra_files))
    if "industrial_nodes" in layers:  # the "Sector fit" view (corridormap.sectors, render/sector_fit.py)
        from .sectors.mapview import add_to_map

        add_to_map(m, layers)
    page = map_html(m, offline=offline, cdn=cdn)
    write_bytes_atomic(page.encode("utf-8"), result.map, overwrite=overwrite)
    for name, content in extra_files.items():
        write_bytes_atomic(content, out / name, overwrite=overwrite)
    progress.step("GeoPackage")
    export_layers(layers, result.gpkg, overwrite=overwrite, specs=specs, manifest=False)
    progress.step("manifest")
    sources = sorted({str(s.source) for s in specs.values() if s.source is not None})
    manifest = build_manifest(
        layers,
        specs=specs,
        outputs=[result.map, result.gpkg, *result.extra],
        inputs=sources,
        options={"command": "build", "offline": offline, "cdn": cdn},
    )
    write_json_atomic(manifest, result.manifest, overwrite=overwrite)
    return result
