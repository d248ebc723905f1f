"""Geometry checks and repairs of a user's layer: parsing, validity, dimensions, collections.

Each check takes the frame and a :class:`Context` and returns a new frame; every change is a
:class:`~corridormap.io.report.Repair` in the report, every refusal a finding that names the
features and the fix. Features a check refuses are dropped only with ``salvage=True`` (logged).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..crs import BELT_CRS
from .report import ValidationReport

__all__ = ["Context", "parse_wkb", "check_geometry", "GEOMETRY_FAMILY"]

SLIVER_M2 = 1.0
# each geometry type's family: what one layer of a single-family format (a Shapefile) may hold
GEOMETRY_FAMILY = {
    "Point": "point",
    "MultiPoint": "point",
    "LineString": "line",
    "MultiLineString": "line",
    "LinearRing": "line",
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
}
_MULTI = {"point": shapely.MultiPoint, "line": shapely.MultiLineString, "polygon": shapely.MultiPolygon}


@dataclass
class Context:
    """What the checks need: the report, a label per row, and the user's opt-ins."""

    report: ValidationReport
    labels: list[str]
    salvage: bool = False
    repair: bool = True
    swap_xy: bool = False
    crs: str | None = None
    degrees_assumed: bool = False
    nonfinite: set[str] = field(default_factory=set)

    def ids(self, mask: np.ndarray) -> list[str]:
        return [self.labels[i] for i in np.flatnonzero(mask)]

    def refuse_or_drop(
        self, gdf: gpd.GeoDataFrame, mask: np.ndarray, check: str, problem: str, fix: str
    ) -> gpd.GeoDataFrame:
        """Refuse the file for the masked features, or with ``salvage`` drop them (logged)."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return gdf
        ids = self.ids(mask)
        if not self.salvage:
            self.report.add(
                "refuse", check, problem, fix + "; or pass --salvage to drop them (logged)", features=ids
            )
            return gdf
        self.report.add("repair", check, f"{problem}: {len(ids)} dropped (--salvage)", fix, features=ids)
        for label in ids:
            self.report.repair(feature=label, check=check, reason=problem, method="dropped (--salvage)")
        keep = ~mask
        self.labels = [lab for lab, k in zip(self.labels, keep, strict=True) if k]
        return gdf[keep]


def parse_wkb(wkb: np.ndarray, ctx: Context) -> np.ndarray:
    """WKB to shapely geometries; unclosed rings are closed (logged), unreadable ones refused."""
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    bad = ~pd.isna(wkb) & shapely.is_missing(geoms)
    for i in np.flatnonzero(bad):
        fixed = shapely.from_wkb(wkb[i], on_invalid="fix")
        if fixed is not None:
            geoms[i] = fixed
            ctx.report.repair(
                feature=ctx.labels[i],
                check="unclosed-ring",
                reason="a ring does not end where it starts",
                method="ring closed",
            )
            bad[i] = False
    closed = [r for r in ctx.report.repairs if r.check == "unclosed-ring"]
    if closed:
        ctx.report.add(
            "repair",
            "unclosed-ring",
            f"{len(closed)} feature(s) had unclosed rings; closed",
            "close every ring (last point = first point) in the source",
            features=[r.feature for r in closed],
        )
    if bad.any():
        ctx.report.add(
            "refuse",
            "unreadable-geometry",
            "geometry cannot be read",
            "repair or remove these features in a GIS",
            features=ctx.ids(bad),
        )
    # GEOS reads a point with a NaN coordinate as empty: look at the bytes of empty points only
    empty_points = (shapely.get_type_id(geoms) == 0) & shapely.is_empty(geoms)
    nan_points = np.zeros(len(wkb), dtype=bool)
    for i in np.flatnonzero(empty_points):
        nan_points[i] = _nan_point(wkb[i])
    geoms[nan_points] = None
    ctx.nonfinite.update(ctx.ids(nan_points))
    return np.asarray(geoms, dtype=object)


def _nan_point(wkb: object) -> bool:
    """A WKB point with some (not all) coordinates NaN/inf, which GEOS would read as empty."""
    if not isinstance(wkb, bytes | bytearray) or len(wkb) < 21:
        return False
    order = "<" if wkb[0] == 1 else ">"
    kind = int(np.frombuffer(wkb[1:5], dtype=f"{order}u4")[0])
    if kind % 1000 != 1 and kind & 0xFF != 1:
        return False
    coords = np.frombuffer(wkb[5 : 5 + 8 * ((len(wkb) - 5) // 8)], dtype=f"{order}f8")
    finite = np.isfinite(coords)
    return bool(not finite.all() and finite.any()) or bool(np.isinf(coords).any())


def check_geometry(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    """Null/empty, 3D, collections, invalid polygons, slivers, mixed types."""
    geoms = gdf.geometry.values
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        if ctx.salvage:
            gdf = ctx.refuse_or_drop(
                gdf, missing, "empty-geometry", "null or empty geometry", "give these features a geometry"
            )
        else:
            ctx.report.add(
                "warn",
                "empty-geometry",
                f"{int(missing.sum())} feature(s) have a null or "
                "empty geometry; kept, but they cannot be drawn or joined",
                "give them a geometry, or pass --salvage to drop them (logged)",
                features=ctx.ids(missing),
            )
    gdf = _drop_z(gdf, ctx)
    gdf = _flatten_collections(gdf, ctx)
    gdf = _repair_invalid(gdf, ctx)
    gdf = _remove_slivers(gdf, ctx)
    families = {GEOMETRY_FAMILY.get(t, "collection") for t in gdf.geometry.geom_type.dropna()}
    if len(families) > 1:
        ctx.report.add(
            "warn",
            "mixed-types",
            f"geometry kinds are mixed ({', '.join(sorted(families))})",
            "split the layer by geometry kind (one catalog layer per kind)",
        )
    return gdf


def _set(gdf: gpd.GeoDataFrame, geoms: np.ndarray) -> gpd.GeoDataFrame:
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))


def _drop_dimension(
    gdf: gpd.GeoDataFrame, ctx: Context, mask: np.ndarray, check: str, what: str, fix: str, method: str
) -> gpd.GeoDataFrame:
    """Make the masked geometries 2D (force_2d), with one finding naming them and a repair each."""
    if not mask.any():
        return gdf
    ids = ctx.ids(mask)
    ctx.report.add("repair", check, f"{len(ids)} feature(s) have {what}; dropped to 2D", fix, features=ids)
    for label in ids:
        ctx.report.repair(feature=label, check=check, reason=what, method=method)
    geoms = gdf.geometry.values.copy()
    geoms[mask] = shapely.force_2d(geoms[mask])
    return _set(gdf, np.asarray(geoms, dtype=object))


def _drop_z(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    """Heights (Z) and measures (M) are dropped: maps and analysis are 2D."""
    if hasattr(shapely, "has_m"):  # (shapely < 2.1 reads no M at all; GDAL's warning is the note)
        has_m = np.asarray(shapely.has_m(gdf.geometry.values), dtype=bool)
        if has_m.any():  # the precise finding replaces the reader's note
            ctx.report.findings = [f for f in ctx.report.findings if f.check != "m-values"]
        gdf = _drop_dimension(  # (a height on those goes too: ZM -> XY)
            gdf,
            ctx,
            has_m,
            "m-values",
            "measure (M) values",
            "none needed for maps and distances; keep the source file where the M values matter",
            "M dropped",
        )
    has_z = np.asarray(shapely.has_z(gdf.geometry.values), dtype=bool)
    return _drop_dimension(
        gdf, ctx, has_z, "3d", "Z (height) values", "none needed: maps and analysis are 2D", "force_2d"
    )


def _flatten_collections(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    geoms = gdf.geometry.values.copy()
    changed, mixed = [], []
    collections = (shapely.get_type_id(geoms) == 7) & ~shapely.is_empty(geoms)
    for i in np.flatnonzero(collections):
        g = geoms[i]
        parts = _leaves(g)
        fams = {GEOMETRY_FAMILY[p.geom_type] for p in parts}
        if len(fams) == 1:
            geoms[i] = _MULTI[fams.pop()](_singles(parts))
            changed.append(ctx.labels[i])
            ctx.report.repair(
                feature=ctx.labels[i],
                check="collection",
                reason="geometry collection of one kind",
                method="flattened to a multi-geometry",
            )
        else:
            mixed.append(ctx.labels[i])
    if changed:
        ctx.report.add(
            "repair",
            "collection",
            f"{len(changed)} (nested) geometry collection(s) of one kind flattened to multi-geometries",
            "none needed",
            features=changed,
        )
    if mixed:
        ctx.report.add(
            "warn",
            "collection",
            f"{len(mixed)} geometry collection(s) mix points, lines and polygons; kept as they are",
            "split them into one feature per kind",
            features=mixed,
        )
    return _set(gdf, geoms) if changed else gdf


def _leaves(g: shapely.Geometry) -> list[shapely.Geometry]:
    if g.geom_type == "GeometryCollection":
        return [leaf for part in g.geoms for leaf in _leaves(part) if not leaf.is_empty]
    return [g]


def _singles(parts: list[shapely.Geometry]) -> list[shapely.Geometry]:
    return [s for p in parts for s in (p.geoms if p.geom_type.startswith("Multi") else [p])]


def _areas_m2(geoms: np.ndarray, crs: object) -> np.ndarray:
    series = gpd.GeoSeries(geoms, crs=crs)
    if crs is not None and CRS.from_user_input(crs).is_geographic:
        series = series.to_crs(BELT_CRS)
    return np.asarray(series.area, dtype=float)


def _repair_invalid(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    geoms = gdf.geometry.values
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    invalid = present & ~shapely.is_valid(geoms)
    if not invalid.any():
        return gdf
    if not ctx.repair:
        ctx.report.add(
            "warn",
            "invalid-geometry",
            f"{int(invalid.sum())} invalid geometr(y/ies) kept as they are (repair=False)",
            "repair them in a GIS, or load with repair=True to fix them (logged)",
            features=ctx.ids(invalid),
        )
        return gdf
    idx = np.flatnonzero(invalid)
    before = np.asarray(geoms[idx], dtype=object)
    after = np.array([_make_valid(b) for b in before], dtype=object)
    a0, a1 = _areas_m2(before, gdf.crs), _areas_m2(after, gdf.crs)
    for k, i in enumerate(idx):
        reason = shapely.is_valid_reason(before[k])
        ctx.report.repair(
            feature=ctx.labels[i],
            check="invalid-geometry",
            reason=reason,
            method="make_valid",
            area_before_m2=round(float(a0[k]), 3),
            area_after_m2=round(float(a1[k]), 3),
        )
    ctx.report.add(
        "repair",
        "invalid-geometry",
        f"{len(idx)} invalid geometr(y/ies) repaired "
        "(self-intersections, holes outside shells, collapsed rings)",
        "check the repaired shapes; areas before/after are in the repairs log",
        features=ctx.ids(invalid),
    )
    new = geoms.copy()
    new[idx] = after
    return _set(gdf, new)


def _make_valid(g: shapely.Geometry) -> shapely.Geometry:
    """GEOS ``structure`` repair, falling back to ``linework`` then a zero buffer if still invalid."""
    fixed = _keep_family(g, shapely.make_valid(g, method="structure", keep_collapsed=False))
    if not fixed.is_valid:
        fixed = _keep_family(g, shapely.make_valid(g, method="linework"))
    if not fixed.is_valid:
        fixed = fixed.buffer(0)
    return fixed


def _keep_family(before: shapely.Geometry, after: shapely.Geometry) -> shapely.Geometry:
    """make_valid may return a collection; keep the parts of the input's kind."""
    fam = GEOMETRY_FAMILY.get(before.geom_type)
    if after.geom_type != "GeometryCollection" or fam is None:
        return after
    parts = [p for p in _singles(_leaves(after)) if GEOMETRY_FAMILY.get(p.geom_type) == fam]
    if not parts:
        return after
    if fam == "polygon":  # parts of a collection may share edges: dissolve them into a valid shape
        return shapely.union_all(parts)
    return _MULTI[fam](parts)


def _remove_slivers(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    """Drop polygon parts and holes smaller than SLIVER_M2 (logged with areas).

    Ring areas are measured in the metric CRS; the rings kept are the original ones, untouched.
    """
    if gdf.crs is None:
        return gdf
    geoms = gdf.geometry.values
    polys = np.isin(np.asarray(gdf.geometry.geom_type, dtype=object), ["Polygon", "MultiPolygon"])
    if not polys.any():
        return gdf
    metric = gpd.GeoSeries(geoms, crs=gdf.crs).to_crs(BELT_CRS).values
    new, hit = geoms.copy(), []
    for i in np.flatnonzero(polys):
        cleaned = _clean_polygon(geoms[i], metric[i])
        if cleaned is None:
            continue
        new[i] = cleaned
        hit.append(ctx.labels[i])
        after = _areas_m2(np.array([cleaned], dtype=object), gdf.crs)[0]
        ctx.report.repair(
            feature=ctx.labels[i],
            check="sliver",
            reason=f"ring(s) under {SLIVER_M2} m2",
            method="sliver rings removed",
            area_before_m2=round(metric[i].area, 3),
            area_after_m2=round(float(after), 3),
        )
    if hit:
        ctx.report.add(
            "repair",
            "sliver",
            f"sliver rings (< {SLIVER_M2} m2) removed from {len(hit)} feature(s)",
            "none needed; the repairs log lists areas",
            features=hit,
        )
    return _set(gdf, new) if hit else gdf


def _parts(g: shapely.Geometry) -> list[shapely.Geometry]:
    return list(g.geoms) if g.geom_type == "MultiPolygon" else [g]


def _clean_polygon(g: shapely.Geometry, metric: shapely.Geometry) -> shapely.Geometry | None:
    """``g`` without the parts or holes whose metric area is a sliver, or None when there are none."""
    kept, changed = [], False
    for part, mpart in zip(_parts(g), _parts(metric), strict=True):
        if shapely.Polygon(mpart.exterior).area < SLIVER_M2:
            changed = True
            continue
        holes = [
            h
            for h, mh in zip(part.interiors, mpart.interiors, strict=True)
            if shapely.Polygon(mh).area >= SLIVER_M2
        ]
        changed |= len(holes) != len(part.interiors)
        kept.append(shapely.Polygon(part.exterior, holes))
    if not changed or not kept:
        return None
    return kept[0] if len(kept) == 1 and g.geom_type == "Polygon" else shapely.MultiPolygon(kept)
