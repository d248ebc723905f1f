"""Site suitability: a grid over the belt scored by weighted, documented criteria.

For example, ``result = suitability(layers, cell_km=5, weights={"solar": 3})`` scores the belt at
5 km with solar potential weighted 3, and ``result.sites`` lists the top candidates with every
criterion's value and contribution (``notebooks/03_site_suitability.ipynb`` runs it).

The grid is in EPSG:7755 and aligned on multiples of the cell size; a cell belongs to the area when its
centre does. For every cell, each criterion's raw value comes from a vectorised nearest-neighbour
query (a KD-tree over the layer's points, or over its lines' vertices densified every half cell, so a
line distance is at most a quarter cell too long), converted to true km with the projection's scale
factor (:func:`corridormap.crs.true_km`), or from a raster sampled at the cell centre. Cells are
``cell_km`` wide in EPSG:7755's planar metres (1.4-2 % wider on the ground over the belt). The
model (normalisation functions, weights, exclusions) is :mod:`corridormap.sites.model`.

The grid is scored block by block by one function, :func:`_block`; the single-machine path runs it over
row bands, the Dask path (:func:`suitability_array`) maps it over the chunks of a dask array on any
``dask.distributed`` cluster, so both give the same scores.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from pyproj import Transformer

from ..atomic import refuse_existing, replace_into, staging_dir
from ..crs import BELT_CRS, require_crs, to_metric, true_km
from ..errors import LayerValidationError, OptionError, ResourceError, require
from ..progress import track
from ..raster import Raster, sample_values, slope, write_raster
from .model import Exclusion, Model, load_model, normalise
from .tiff import TopCells, write_suitability_tiff

__all__ = [
    "STATUS",
    "Grid",
    "SuitabilityResult",
    "suitability",
    "suitability_array",
    "top_sites",
    "write_suitability_tiff",
    "stream_suitability",
]

log = logging.getLogger(__name__)

STATUS = {
    0: "outside",
    1: "scored",
    2: "water",
    3: "built-up node",
    4: "no data",
    5: "built-up area",
    6: "coastal strip",
    7: "excluded",
}
_STATUS_CODE = {v: k for k, v in STATUS.items()}
_BAND_ROWS = 256


@dataclass(frozen=True)
class Grid:
    """A regular grid in EPSG:7755: top-left corner, square cell size in metres, rows and columns."""

    left: float
    top: float
    cell_m: float
    nrows: int
    ncols: int

    @property
    def transform(self) -> Affine:
        """Affine transform of the grid (as for a raster)."""
        return Affine(self.cell_m, 0.0, self.left, 0.0, -self.cell_m, self.top)

    def centres(self, r0: int, r1: int, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
        """x and y of the centres of rows ``r0:r1`` and columns ``c0:c1`` (2-D arrays)."""
        xs = self.left + (np.arange(c0, c1) + 0.5) * self.cell_m
        ys = self.top - (np.arange(r0, r1) + 0.5) * self.cell_m
        return np.meshgrid(xs, ys)


def make_grid(area: shapely.Geometry, cell_m: float) -> Grid:
    """The grid of ``cell_m`` cells aligned on multiples of ``cell_m`` that covers ``area``'s bounds."""
    w, s, e, n = area.bounds
    left, top = math.floor(w / cell_m) * cell_m, math.ceil(n / cell_m) * cell_m
    ncols = max(1, math.ceil((e - left) / cell_m))
    nrows = max(1, math.ceil((top - s) / cell_m))
    return Grid(left, top, float(cell_m), nrows, ncols)


@dataclass(frozen=True)
class _Context:
    """Everything :func:`_block` needs; small and picklable, so it travels to Dask workers."""

    grid: Grid
    area: shapely.Geometry
    model: Model
    targets: Mapping[str, np.ndarray]
    rasters: Mapping[str, Raster]
    nodes: np.ndarray
    # (status code, mode, geometry, coverage): see Exclusion; coverage bounds an "outside" exclusion
    exclusions: tuple[tuple[int, str, shapely.Geometry, shapely.Geometry | None], ...] = ()


def _nearest_km(targets: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """True km from each point to the nearest target (planar metres corrected by the scale factor)."""
    from scipy.spatial import cKDTree

    if xs.size == 0:
        return np.empty(0)
    dist, idx = cKDTree(targets).query(np.column_stack([xs, ys]))
    near = targets[np.asarray(idx)]
    return true_km(np.asarray(dist), (xs + near[:, 0]) / 2.0, (ys + near[:, 1]) / 2.0)


def _sample_in(raster: Raster, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    if raster.crs == BELT_CRS:
        return sample_values(raster, xs, ys)
    tx, ty = Transformer.from_crs(BELT_CRS, raster.crs, always_xy=True).transform(xs, ys)
    return sample_values(raster, np.asarray(tx), np.asarray(ty))


def _values_at(ctx: _Context, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw values (one row per criterion), status codes and scores at cell centres inside the area."""
    model = ctx.model
    values = np.full((len(model.criteria), xs.size), np.nan)
    for i, c in enumerate(model.criteria):
        if c.layer is not None:
            values[i] = _nearest_km(ctx.targets[c.name], xs, ys)
        else:
            values[i] = _sample_in(ctx.rasters[str(c.raster)], xs, ys)
    status = np.ones(xs.size)
    if model.exclude_water:
        status[~(_sample_in(ctx.rasters["land"], xs, ys) >= 0.5)] = 2
    for code, mode, geom, coverage in ctx.exclusions:
        hit = shapely.contains_xy(geom, xs, ys)
        if mode == "outside":
            hit = ~hit & shapely.contains_xy(coverage, xs, ys)
        status[hit & (status == 1)] = code
    if len(ctx.nodes) and model.nodes_within_km > 0:
        near = _nearest_km(ctx.nodes, xs, ys) <= model.nodes_within_km
        status[near & (status == 1)] = 3
    weighted = np.array([c.weight > 0 for c in model.criteria], dtype=bool)
    missing = np.isnan(values[weighted]).any(axis=0)
    status[missing & (status == 1)] = 4
    score = _score(values, model).sum(axis=0)
    score[status != 1] = np.nan
    return values, status, score


def _block(ctx: _Context, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """Raw values of every criterion, the status code and the score for one block of the grid.

    Returns a float array of shape ``(len(ctx.model.criteria) + 2, r1 - r0, c1 - c0)``.
    """
    gx, gy = ctx.grid.centres(r0, r1, c0, c1)
    inside = shapely.contains_xy(ctx.area, gx, gy)
    values, status, score = _values_at(ctx, gx[inside], gy[inside])
    out = np.full((len(ctx.model.criteria) + 2, r1 - r0, c1 - c0), np.nan)
    out[:-2, inside] = values
    out[-2] = 0.0
    out[-2, inside] = status
    out[-1, inside] = score
    return out


def _score(values: np.ndarray, model: Model) -> np.ndarray:
    """Contributions (weight * normalised score / total weight) of each criterion; rows as criteria."""
    total = model.total_weight
    return np.stack([c.weight * normalise(c, v) / total for c, v in zip(model.criteria, values, strict=True)])


def _vertices(layer: gpd.GeoDataFrame, spacing_m: float, what: str) -> np.ndarray:
    """Coordinates of a layer's points and of its lines densified every ``spacing_m`` (metric CRS)."""
    geoms = np.asarray(to_metric(layer, what).geometry.values)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if geoms.size == 0:
        raise LayerValidationError(
            f"{what} has no features, so distances to it cannot be measured. Fix: pass the layer with "
            f"features, or set that criterion's weight to 0 and remove it from the weights file"
        )
    return np.asarray(shapely.get_coordinates(shapely.segmentize(geoms, spacing_m)))


def _context(
    layers: Mapping[str, gpd.GeoDataFrame],
    area: gpd.GeoDataFrame,
    model: Model,
    cell_m: float,
    rasters: Mapping[str, Raster],
) -> _Context:
    area_geom = _area_geometry(area)
    targets = {}
    for c in model.criteria:
        if c.layer is None:
            continue
        if c.layer not in layers:
            raise LayerValidationError(
                f"criterion {c.name!r} measures the distance to layer {c.layer!r}, which was not given. "
                f"Fix: include it in layers, or change the criterion in {model.source}"
            )
        targets[c.name] = _vertices(layers[c.layer], cell_m / 2.0, f"layer {c.layer!r}")
    nodes = np.empty((0, 2))
    if model.nodes_within_km > 0 and model.nodes_layer in layers:
        node_layer = layers[model.nodes_layer]
        if "status" in node_layer.columns:
            node_layer = node_layer[node_layer["status"].isin(model.node_statuses)]
        if len(node_layer):
            nodes = _vertices(node_layer, cell_m / 2.0, f"layer {model.nodes_layer!r}")
    grid = make_grid(area_geom, cell_m)
    shapely.prepare(area_geom)
    exclusions = tuple(_exclusion_shape(e, model, layers, area_geom, cell_m) for e in model.exclusions)
    return _Context(grid, area_geom, model, targets, dict(rasters), nodes, exclusions)


def _exclusion_frame(exclusion: Exclusion, model: Model, layers: Mapping[str, gpd.GeoDataFrame]) -> Any:
    """The exclusion's polygons as loaded (a file beside the model or under settings.data_dir, or a layer)."""
    from .. import settings
    from ..errors import DataSourceNotFoundError

    if exclusion.layer is not None:
        if exclusion.layer not in layers:
            raise LayerValidationError(
                f"exclusion {exclusion.name!r} names layer {exclusion.layer!r}, which was not given. "
                f"Fix: include it in layers, or change [[exclusions.layer]] in {model.source}"
            )
        return layers[exclusion.layer]
    path = Path(str(exclusion.file))
    if not path.is_absolute():
        beside = Path(model.source).parent / path
        path = beside if beside.exists() else Path(settings.data_dir) / path
    if not path.is_file():
        raise DataSourceNotFoundError(
            f"exclusion {exclusion.name!r}: {path} does not exist. Fix: correct file = ... in "
            f"{model.source} (relative paths: beside it, else under the data folder)"
        )
    return gpd.read_file(path)


def _exclusion_shape(
    exclusion: Exclusion,
    model: Model,
    layers: Mapping[str, gpd.GeoDataFrame],
    area: shapely.Geometry,
    cell_m: float,
) -> tuple[int, str, shapely.Geometry, shapely.Geometry | None]:
    """(status code, mode, prepared EPSG:7755 geometry, coverage) of one exclusion layer."""
    from ..crs import scale_factor

    frame = _exclusion_frame(exclusion, model, layers)
    require_crs(frame, f"exclusion {exclusion.name!r}")
    centre = shapely.centroid(area)
    k = float(scale_factor(np.array([centre.x]), np.array([centre.y]))[0])  # planar m per true m
    if exclusion.population_column is not None:
        return _population_discs(exclusion, frame, area, cell_m, k)
    polys = shapely.union_all(np.asarray(frame.geometry.values))
    bounds = exclusion.extent if exclusion.extent is not None else tuple(frame.total_bounds)
    extent = shapely.box(*bounds) if len(frame) else shapely.Polygon()
    if exclusion.mode == "edge":  # the polygons' edges, less those on the file's clipping box
        polys = shapely.difference(shapely.boundary(polys), shapely.buffer(shapely.boundary(extent), 1e-6))
    to_belt = gpd.GeoSeries([polys, shapely.segmentize(extent, 0.1)], crs=frame.crs).to_crs(BELT_CRS)
    geom, coverage = to_belt.iloc[0], to_belt.iloc[1]
    width = exclusion.buffer_km * 1000.0
    if width > 0 or exclusion.mode == "edge":
        geom = shapely.buffer(geom, max(width, 1.0) * k)
    geom = shapely.intersection(geom, shapely.buffer(shapely.envelope(area), 2 * cell_m))
    shapely.prepare(geom)
    shapely.prepare(coverage)
    return _STATUS_CODE[exclusion.status], exclusion.mode, geom, coverage


def _population_discs(
    exclusion: Exclusion, frame: gpd.GeoDataFrame, area: shapely.Geometry, cell_m: float, k: float
) -> tuple[int, str, shapely.Geometry, shapely.Geometry | None]:
    """Places of at least ``min_population`` as discs growing with the square root of the population."""
    column = str(exclusion.population_column)
    if column not in frame.columns:
        raise LayerValidationError(
            f"exclusion {exclusion.name!r}: no column {column!r} (columns: "
            f"{', '.join(map(str, frame.columns))}). Fix: name the population column in population_column"
        )
    population = pd.to_numeric(frame[column], errors="coerce")
    big = frame[population >= exclusion.min_population]
    radius_m = exclusion.km_per_sqrt_million * np.sqrt(population[big.index].to_numpy() / 1e6) * 1000.0 * k
    points = np.asarray(to_metric(big, f"exclusion {exclusion.name!r}").geometry.values)
    geom = shapely.union_all(shapely.buffer(points, radius_m)) if len(points) else shapely.Polygon()
    geom = shapely.intersection(geom, shapely.buffer(shapely.envelope(area), 2 * cell_m))
    shapely.prepare(geom)
    return _STATUS_CODE[exclusion.status], "inside", geom, None


def _rasters_for(
    model: Model, area: gpd.GeoDataFrame, given: Mapping[str, Raster] | None
) -> dict[str, Raster]:
    """The rasters the model reads: the user's, else the computed defaults; slope from elevation."""
    needed = {str(c.raster) for c in model.criteria if c.raster}
    if model.exclude_water:
        needed.add("land")
    if "slope_deg" in needed and not (given and "slope_deg" in given):
        needed.add("elevation_m")
    out = dict(given or {})
    missing = sorted(needed - set(out) - {"slope_deg"})
    if missing:
        from .defaults import default_raster

        for name in missing:
            out[name] = default_raster(name, area)
    if "slope_deg" in needed and "slope_deg" not in out:
        out["slope_deg"] = slope(out["elevation_m"])
    return out


@dataclass(frozen=True)
class SuitabilityResult:
    """What :func:`suitability` returns.

    Attributes
    ----------
    grid : GeoDataFrame
        One square per cell whose centre is in the area (EPSG:7755), indexed by ``cell_id``, with
        ``row``, ``col``, ``status`` (scored / water / built-up node / no data), ``score`` and, for each
        criterion, its raw value column, ``<name>_score`` (0-1) and ``<name>_contribution``.
    sites : GeoDataFrame
        The top cells as points, ``rank`` 1 first, at least ``min_separation_km`` apart, with every
        column of ``grid``.
    score : Raster
        The score as a raster (``NaN`` outside the area and where excluded), for GeoTIFF and maps.
    model : Model
        The model used, weights included.
    """

    grid: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    score: Raster
    model: Model

    def write(
        self, out_dir: str | os.PathLike[str], *, overwrite: bool = False, grid: bool = False
    ) -> dict[str, Path]:
        """Write ``suitability.tif`` (COG), ``sites.geojson`` and, with ``grid``, the scored cells as
        ``suitability_grid.gpkg`` into ``out_dir``; return their paths."""
        from ..errors import OutputExistsError

        out = Path(out_dir)
        paths = {"score": out / "suitability.tif", "sites": out / "sites.geojson"}
        if grid:
            paths["grid"] = out / "suitability_grid.gpkg"
        existing = [str(p) for p in paths.values() if p.exists()]
        if existing and not overwrite:
            raise OutputExistsError(f"{', '.join(existing)} exist(s). Fix: pass overwrite=True (--overwrite)")
        write_raster(self.score, paths["score"], overwrite=True)
        frames = {"sites": self.sites.to_crs("EPSG:4326")}
        if grid:
            frames["grid"] = self.grid.astype({"status": str})
        for key, frame in frames.items():
            paths[key].unlink(missing_ok=True)
            frame.to_file(paths[key], driver="GPKG" if key == "grid" else "GeoJSON")
        return paths


def _frames(stack: np.ndarray, grid: Grid, model: Model) -> gpd.GeoDataFrame:
    status = stack[-2]
    rows, cols = np.nonzero(status > 0)
    return _cell_frame(
        grid, model, rows, cols, stack[:-2, rows, cols], status[rows, cols], stack[-1, rows, cols]
    )


def cells_frame(ctx: _Context, rows: np.ndarray, cols: np.ndarray) -> gpd.GeoDataFrame:
    """The grid frame's rows (as in :attr:`SuitabilityResult.grid`) for just these cells inside the area,
    scored by the same code as the whole grid (e.g. the sites found while streaming the score)."""
    grid = ctx.grid
    rows, cols = np.asarray(rows, dtype="int64"), np.asarray(cols, dtype="int64")
    xs = grid.left + (cols + 0.5) * grid.cell_m
    ys = grid.top - (rows + 0.5) * grid.cell_m
    values, status, score = _values_at(ctx, xs, ys)
    return _cell_frame(grid, ctx.model, rows, cols, values, status, score)


def _cell_frame(
    grid: Grid,
    model: Model,
    rows: np.ndarray,
    cols: np.ndarray,
    values: np.ndarray,
    status: np.ndarray,
    score: np.ndarray,
) -> gpd.GeoDataFrame:
    x0 = grid.left + cols * grid.cell_m
    y1 = grid.top - rows * grid.cell_m
    contributions = _score(values, model)
    data: dict[str, Any] = {"row": rows, "col": cols}
    data["status"] = pd.Categorical.from_codes(status.astype(int), categories=list(STATUS.values()))
    data["score"] = score
    for i, c in enumerate(model.criteria):
        data[c.column] = values[i]
        data[f"{c.name}_score"] = normalise(c, values[i])
        data[f"{c.name}_contribution"] = contributions[i]
    index = pd.Index(rows * grid.ncols + cols, name="cell_id")
    boxes = shapely.box(x0, y1 - grid.cell_m, x0 + grid.cell_m, y1)
    return gpd.GeoDataFrame(data, geometry=boxes, crs=BELT_CRS, index=index)


def top_sites(grid_frame: gpd.GeoDataFrame, *, top: int, min_separation_km: float) -> gpd.GeoDataFrame:
    """The ``top`` best-scored cells, greedily, each at least ``min_separation_km`` from those before.

    Returns points at the cell centres with a ``rank`` column (1 = best) and every column of the grid.
    """
    scored = grid_frame[grid_frame["score"].notna()]
    centres = shapely.centroid(np.asarray(scored.geometry.values))
    xy = np.column_stack([shapely.get_x(centres), shapely.get_y(centres)])
    # best first; scores equal to 9 decimals go by cell order (north-west first), so ties are stable
    order = np.lexsort((np.arange(len(scored)), -np.round(scored["score"].to_numpy(), 9)))
    free = np.ones(len(scored), dtype=bool)
    picked: list[int] = []
    limit = (min_separation_km * 1000.0) ** 2
    while len(picked) < top:
        candidates = order[free[order]]
        if candidates.size == 0:
            break
        best = int(candidates[0])
        picked.append(best)
        free &= ((xy - xy[best]) ** 2).sum(axis=1) >= limit
        free[best] = False
    sites = scored.iloc[picked].copy()
    sites.insert(0, "rank", np.arange(1, len(picked) + 1))
    sites = sites.set_geometry(shapely.points(xy[picked]))
    return sites


def _prepare(
    layers: Mapping[str, gpd.GeoDataFrame] | None,
    area: gpd.GeoDataFrame | None,
    weights: str | os.PathLike[str] | Mapping[str, float] | Model | None,
    cell_km: float | None,
    rasters: Mapping[str, Raster] | None,
    *,
    in_memory: bool = False,
) -> _Context:
    if isinstance(weights, Model):
        model = weights
    elif isinstance(weights, Mapping):
        model = load_model(weights=weights)
    else:
        model = load_model(weights)
    if layers is None:
        from ..catalog.load import load_layers

        layers = load_layers()
    if area is None and "corridor_belt" in layers:
        area = layers["corridor_belt"]
    elif area is None:
        from ..analysis.corridor import corridor_belt

        area = corridor_belt(layers["freight_rail"])
    require_crs(area, "suitability area")
    cell_km = float(cell_km if cell_km is not None else model.cell_km)
    if not math.isfinite(cell_km) or cell_km <= 0:
        raise OptionError(f"cell_km must be a finite number above 0, got {cell_km}. Fix: e.g. cell_km=5")
    if in_memory:  # before anything is computed at that cell size (vertices, rasters)
        require_grid_fits(make_grid(_area_geometry(area), cell_km * 1000.0))
    return _context(layers, area, model, cell_km * 1000.0, _rasters_for(model, area, rasters))


# memory to score one cell in this process: ~275 B measured (tracemalloc peak, 2.5 km vs 5 km grids
# over the shipped belt: the bands, the cell table and the points), rounded up
BYTES_PER_CELL = 400
# share of the memory available that one in-process scoring may plan to use
MEMORY_SHARE = 0.5


def available_memory_bytes() -> int:
    """Memory available to a new task on this machine (``MemAvailable``; else physical memory)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def require_grid_fits(grid: Grid, *, available_bytes: int | None = None) -> None:
    """Refuse, before any work, a grid too large to score in this process on this machine.

    Raises
    ------
    ResourceError
        Naming the grid's size, the memory it needs and has, the coarsest cell that fits, and the
        streamed alternative.
    """
    available = available_memory_bytes() if available_bytes is None else available_bytes
    cells = grid.nrows * grid.ncols
    need = cells * BYTES_PER_CELL
    budget = available * MEMORY_SHARE
    if need <= budget:
        return
    fits_km = math.ceil(grid.cell_m / 1000.0 * math.sqrt(need / budget) * 100) / 100
    raise ResourceError(
        f"a {grid.cell_m / 1000.0:g} km grid over the area is {grid.nrows:,} x {grid.ncols:,} = "
        f"{cells:,} cells, about {_size(need)} of memory to score in this process; this machine has "
        f"{_size(available)} available. Fix: a coarser cell (--cell-km {fits_km:g} or more fits here), "
        "or score it block by block on Dask (--scheduler local --stream), which writes "
        "suitability.tif and the top sites without holding the grid"
    )


def _size(n_bytes: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:,.1f} {unit}"
    return f"{n_bytes / 1e3:,.0f} kB"


def _area_geometry(area: gpd.GeoDataFrame) -> shapely.Geometry:
    return shapely.union_all(np.asarray(to_metric(area, "suitability area").geometry.values))


def suitability(
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    *,
    area: gpd.GeoDataFrame | None = None,
    cell_km: float | None = None,
    weights: str | os.PathLike[str] | Mapping[str, float] | Model | None = None,
    top: int | None = None,
    min_separation_km: float | None = None,
    rasters: Mapping[str, Raster] | None = None,
    client: Any = None,
) -> SuitabilityResult:
    """Score a grid over the belt (or ``area``) and pick the top candidate sites.

    Parameters
    ----------
    layers : dict of GeoDataFrame, optional
        The layers the criteria name (default: :func:`corridormap.load_layers`).
    area : GeoDataFrame, optional
        Polygon(s) to grid (default: ``layers["corridor_belt"]``, else the Western DFC influence belt
        computed from ``layers["freight_rail"]``).
    cell_km : float, optional
        Cell size (default: the model's ``[grid] cell_km``, 5 km).
    weights : path, dict, or Model, optional
        A weights TOML file, or ``{criterion: weight}`` changes to the shipped model, or a model.
    top, min_separation_km : optional
        How many sites, and how far apart at least (default: the model's ``[sites]`` table).
    rasters : dict of Raster, optional
        Your own rasters by name (``solar_kwh_m2``, ``elevation_m``, ``slope_deg``, ``land``), e.g. a
        Global Solar Atlas GHI read with :func:`corridormap.raster.read_raster`; the others are the
        computed defaults (:mod:`corridormap.sites.defaults`).
    client : dask.distributed.Client, str, optional
        Score on a Dask cluster instead of in this process (same scores): a ``Client``, a scheduler
        address (``"tcp://host:8786"``), or ``"local"`` for a local (threaded) cluster for this call.

    Raises
    ------
    ResourceError
        Scoring in this process (no ``client``) would need more than half the memory this machine
        has available (:func:`require_grid_fits`); refused at once, naming a cell size that fits.
    """
    ctx = _prepare(layers, area, weights, cell_km, rasters, in_memory=client is None)
    grid = ctx.grid
    log.info("scoring %d x %d cells of %.0f m", grid.nrows, grid.ncols, grid.cell_m)
    if client is None:
        rows = range(0, grid.nrows, _BAND_ROWS)
        bands = [
            _block(ctx, r, min(r + _BAND_ROWS, grid.nrows), 0, grid.ncols)
            for r in track(rows, desc=f"scoring {grid.nrows:,} x {grid.ncols:,} cells", unit="band")
        ]
        stack = np.concatenate(bands, axis=1)
    else:
        with _dask_client(client) as dask_client:
            stack = dask_client.compute(_dask_stack(ctx, client=dask_client)).result()
    frame = _frames(stack, grid, ctx.model)
    sites = top_sites(
        frame,
        top=top if top is not None else ctx.model.top,
        min_separation_km=min_separation_km if min_separation_km is not None else ctx.model.min_separation_km,
    )
    tags = {
        "description": "site suitability score, 0 (worst) to 1 (best)",
        "units": "1",
        "source": f"corridormap suitability model {ctx.model.source}",
    }
    score = Raster(stack[-1], grid.transform, BELT_CRS, name="suitability", tags=tags)
    return SuitabilityResult(frame, sites, score, ctx.model)


@contextlib.contextmanager
def _dask_client(client: Any) -> Iterator[Any]:
    """The client given, or one connected to an address, or to a local cluster (closed afterwards)."""
    if not isinstance(client, str):
        yield client
        return
    distributed: Any = require("distributed", "dask")
    if client == "local":
        # threads in this process, on a free port: nothing to spawn; point at a real cluster for more
        local = distributed.LocalCluster(processes=False, dashboard_address=":0")
        with local as cluster, distributed.Client(cluster) as c:
            yield c
    else:
        with distributed.Client(client) as c:
            yield c


def _run_block(block: np.ndarray, ctx: _Context, block_info: dict[Any, Any] | None = None) -> np.ndarray:
    (r0, r1), (c0, c1) = block_info[0]["array-location"]  # type: ignore[index]
    return _block(ctx, r0, r1, c0, c1)


def _dask_stack(ctx: _Context, chunk_cells: int = 512, client: Any = None) -> Any:
    da: Any = require("dask.array", "dask")
    dask: Any = require("dask", "dask")
    grid = ctx.grid
    base = da.zeros((grid.nrows, grid.ncols), chunks=chunk_cells, dtype="float64")
    depth = len(ctx.model.criteria) + 2
    # the context (layers' vertices, rasters) is one node of the graph, shipped once per worker; with a
    # client it is sent to the workers now, so graphs (e.g. a batch of blocks at a time) carry only its key
    shared = (
        client.scatter(ctx, broadcast=True, hash=True) if client is not None else dask.delayed(ctx, pure=True)
    )
    return da.map_blocks(
        _run_block, base, shared, new_axis=0, chunks=((depth,), *base.chunks), dtype="float64"
    )


def suitability_array(
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    *,
    area: gpd.GeoDataFrame | None = None,
    cell_km: float | None = None,
    weights: str | os.PathLike[str] | Mapping[str, float] | Model | None = None,
    rasters: Mapping[str, Raster] | None = None,
    chunk_cells: int = 512,
    client: Any = None,
) -> tuple[Any, Grid, Model]:
    """The suitability stack as a lazy dask array, for grids too big for one machine.

    Band ``i`` is criterion ``i``'s raw value, band ``-2`` the status code (:data:`STATUS`), band
    ``-1`` the score. Nothing is computed until you ask (``.compute()``, ``dask.array.to_zarr``, or a
    window at a time); run it on the cluster of your ``dask.distributed.Client``. To write the score
    to a GeoTIFF block by block without holding it: :func:`write_suitability_tiff` with ``stack[-1]``.
    With ``client`` (a ``dask.distributed.Client``) the context (layers' vertices, rasters) is sent to
    its workers once, so computing the array a few blocks at a time does not resend it.
    """
    ctx = _prepare(layers, area, weights, cell_km, rasters)
    return _dask_stack(ctx, chunk_cells, client), ctx.grid, ctx.model


def stream_suitability(
    layers: Mapping[str, Any] | None,
    path: str | os.PathLike[str],
    *,
    area: Any = None,
    cell_km: float | None = None,
    weights: Any = None,
    rasters: Mapping[str, Any] | None = None,
    top: int | None = None,
    min_separation_km: float | None = None,
    client: Any = None,
    chunk_cells: int = 512,
    overwrite: bool = False,
    cog: bool = True,
) -> tuple[Path, Any, Any]:
    """Stream the suitability score to the GeoTIFF ``path`` and find the top sites on the way.

    The arguments are :func:`corridormap.sites.suitability`'s (``client``: a
    ``dask.distributed.Client``, or ``None`` for Dask's threaded scheduler). Returns the file, the
    sites (as ``suitability(...).sites``: the same cells, ranks and scores, every criterion's value and
    contribution, computed for those cells only) and the grid, never holding the grid's scores.
    """
    ctx = _prepare(layers, area, weights, cell_km, rasters)
    grid, model = ctx.grid, ctx.model
    top = model.top if top is None else top
    separation = model.min_separation_km if min_separation_km is None else min_separation_km
    score = _dask_stack(ctx, chunk_cells, client)[-1]
    cells = TopCells(top=top, min_separation_km=separation, transform=grid.transform, shape=score.shape)
    tags = {"source": f"corridormap suitability model {model.source}", "cell_m": f"{grid.cell_m:g}"}
    target = Path(path)
    refuse_existing([target], overwrite)
    # the score stays staged until the sites are settled too: a failure leaves no score without sites
    with staging_dir(target) as stage:
        staged = write_suitability_tiff(
            score,
            stage / target.name,
            transform=grid.transform,
            crs=BELT_CRS,
            overwrite=True,
            client=client,
            tags=tags,
            cog=cog,
            sites=cells,
        )
        rows, cols = cells.resolve(score, client=client)
        sites = top_sites(cells_frame(ctx, rows, cols), top=top, min_separation_km=separation)
        replace_into(staged, target)
    return target, sites, grid
