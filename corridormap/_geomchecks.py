"""Geometry checks and repairs of a user's layer: parsing, CRS, validity, dimensions, location.

Each check takes the frame and a :class:`Context` and returns a new frame; every change is a
:class:`~corridormap._report.Repair` in the report, every refusal a finding that names the
features and the fix. Features a check refuses are dropped only with ``salvage=True`` (logged).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from ._report import ValidationReport
from .crs import BELT_CRS

__all__ = ["Context", "parse_wkb", "check_crs", "check_geometry", "check_location"]

# longitude/latitude window that holds India with a margin; beyond it a layer is "far from India"
INDIA_LON = (60.0, 100.0)
INDIA_LAT = (0.0, 40.0)
SLIVER_M2 = 1.0
_FAMILY = {
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
    bad = np.array([w is not None and g is None for w, g in zip(wkb, geoms, strict=True)], dtype=bool)
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
    nan_points = np.array([_nan_point(w) for w in wkb], dtype=bool)
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


def _bounds_box(geoms: gpd.GeoSeries) -> np.ndarray:
    return np.asarray(geoms.bounds.to_numpy(), dtype=float)


def check_crs(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    """Coordinates finite; CRS present, plausible (not metres labelled as degrees), axes in order."""
    rep = ctx.report
    coords_ok = _finite_mask(gdf, ctx)
    gdf = ctx.refuse_or_drop(
        gdf,
        ~coords_ok,
        "non-finite",
        "coordinates are NaN or Infinity",
        "give these features real coordinates",
    )
    if ctx.crs is not None:
        if gdf.crs is not None and not CRS.from_user_input(gdf.crs).equals(CRS.from_user_input(ctx.crs)):
            rep.add(
                "warn",
                "crs-override",
                f"declared CRS {CRS.from_user_input(gdf.crs).to_string()} replaced by {ctx.crs} as asked",
                "none: you chose it with --crs",
            )
        gdf = gdf.set_crs(ctx.crs, allow_override=True)
    elif gdf.crs is None:
        return _missing_crs(gdf, ctx)
    crs = CRS.from_user_input(gdf.crs)
    if crs.is_geographic:
        gdf = _check_degrees(gdf, ctx)
    rep.crs = crs.to_string()
    return gdf


def _finite_mask(gdf: gpd.GeoDataFrame, ctx: Context) -> np.ndarray:
    geoms = gdf.geometry.values
    coords, index = shapely.get_coordinates(geoms, include_z=False, return_index=True)
    bad = np.zeros(len(gdf), dtype=bool)
    if len(coords):
        bad[np.unique(index[~np.isfinite(coords).all(axis=1)])] = True
    if ctx.nonfinite:
        bad |= np.array([lab in ctx.nonfinite for lab in ctx.labels], dtype=bool)
    return ~bad


def _missing_crs(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    box = gdf.total_bounds
    looks_degrees = bool(
        np.isfinite(box).all() and abs(box[[0, 2]]).max() <= 180 and abs(box[[1, 3]]).max() <= 90
    )
    if ctx.degrees_assumed and looks_degrees:
        ctx.report.add(
            "info",
            "crs-assumed",
            "no CRS declared; longitude/latitude columns read as EPSG:4326",
            "pass --crs if the coordinates are in another system",
        )
        ctx.report.crs = "EPSG:4326"
        return _check_degrees(gdf.set_crs("EPSG:4326"), ctx)
    hint = (
        "the coordinates look like longitude/latitude: --crs EPSG:4326"
        if looks_degrees
        else "the coordinates look projected (metres?): pass the real one, e.g. --crs EPSG:32643 "
        "(UTM 43N) or --crs EPSG:7755"
    )
    ctx.report.add(
        "refuse",
        "crs-missing",
        "no coordinate reference system is declared",
        f"add a .prj / CRS to the file or pass it; {hint}",
    )
    return gdf


def _check_degrees(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    """Geographic CRS: catch projected numbers, swapped axes, out-of-range coordinates."""
    b = _bounds_box(gdf.geometry)
    present = ~np.isnan(b).any(axis=1)
    out = present & ((np.abs(b[:, [0, 2]]) > 180).any(axis=1) | (np.abs(b[:, [1, 3]]) > 90).any(axis=1))
    if present.any() and out[present].mean() > 0.5:
        ctx.report.add(
            "refuse",
            "crs-wrong",
            "coordinates are far beyond ±180/±90: projected numbers (metres?) labelled as degrees",
            "pass the CRS the numbers are really "
            "in, e.g. --crs EPSG:32643 (UTM 43N), EPSG:24378 or EPSG:7755",
        )
        return gdf
    gdf = ctx.refuse_or_drop(
        gdf, out, "out-of-range", "longitude beyond ±180 or latitude beyond ±90", "correct these coordinates"
    )
    return _check_swapped(gdf, ctx)


def _check_swapped(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    b = _bounds_box(gdf.geometry)
    b = b[~np.isnan(b).any(axis=1)]
    if not len(b):
        return gdf
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    in_india = _inside(cx, cy).mean()
    swapped = _inside(cy, cx).mean()
    if ctx.swap_xy:
        geoms = shapely.transform(gdf.geometry.values, lambda c: c[:, ::-1])
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
        ctx.report.add(
            "repair",
            "swap-xy",
            f"x and y swapped on all {len(gdf)} features as asked",
            "none: you chose it with --swap-xy",
        )
        for label in ctx.labels:
            ctx.report.repair(
                feature=label,
                check="swap-xy",
                reason="axes swapped in the source",
                method="x and y exchanged (--swap-xy)",
            )
    elif swapped > 0.5 and in_india < 0.5:
        ctx.report.add(
            "refuse",
            "swapped-axes",
            "coordinates look like (latitude, longitude): they fall in India only with x and y exchanged",
            "pass --swap-xy (swap_xy=True)",
        )
    return gdf


def _inside(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon >= INDIA_LON[0]) & (lon <= INDIA_LON[1]) & (lat >= INDIA_LAT[0]) & (lat <= INDIA_LAT[1])


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
    families = {_FAMILY.get(t, "collection") for t in gdf.geometry.geom_type.dropna()}
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


def _drop_z(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    has_z = np.asarray(shapely.has_z(gdf.geometry.values), dtype=bool)
    if not has_z.any():
        return gdf
    ids = ctx.ids(has_z)
    ctx.report.add(
        "repair",
        "3d",
        f"{len(ids)} feature(s) have Z (height) values; dropped to 2D",
        "none needed: maps and analysis are 2D",
        features=ids,
    )
    for label in ids:
        ctx.report.repair(feature=label, check="3d", reason="3D coordinates", method="force_2d")
    return _set(gdf, shapely.force_2d(gdf.geometry.values))


def _flatten_collections(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    geoms = gdf.geometry.values.copy()
    changed, mixed = [], []
    for i, g in enumerate(geoms):
        if g is None or g.geom_type != "GeometryCollection" or g.is_empty:
            continue
        parts = _leaves(g)
        fams = {_FAMILY[p.geom_type] for p in parts}
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
    idx = np.flatnonzero(invalid)
    before = np.asarray(geoms[idx], dtype=object)
    after = shapely.make_valid(before, method="structure", keep_collapsed=False)
    after = np.array([_keep_family(b, a) for b, a in zip(before, after, strict=True)], dtype=object)
    a0, a1 = _areas_m2(before, gdf.crs), _areas_m2(after, gdf.crs)
    for k, i in enumerate(idx):
        reason = shapely.is_valid_reason(before[k])
        ctx.report.repair(
            feature=ctx.labels[i],
            check="invalid-geometry",
            reason=reason,
            method="make_valid (structure)",
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


def _keep_family(before: shapely.Geometry, after: shapely.Geometry) -> shapely.Geometry:
    """make_valid may return a collection; keep the parts of the input's kind."""
    fam = _FAMILY.get(before.geom_type)
    if after.geom_type != "GeometryCollection" or fam is None:
        return after
    parts = [p for p in _singles(_leaves(after)) if _FAMILY.get(p.geom_type) == fam]
    return _MULTI[fam](parts) if parts else after


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


def check_location(gdf: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    """Warn about features far from India and about features crossing the antimeridian."""
    if gdf.crs is None or ctx.report.refused or gdf.empty:
        return gdf
    lonlat = (
        gdf.geometry.to_crs("EPSG:4326") if not CRS.from_user_input(gdf.crs).is_geographic else gdf.geometry
    )
    b = _bounds_box(lonlat)
    present = ~np.isnan(b).any(axis=1)
    far = present & ~_inside((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)
    if far.any():
        scope = "the whole layer lies" if far[present].all() else f"{int(far.sum())} feature(s) lie"
        ctx.report.add(
            "warn",
            "far-from-india",
            f"{scope} far outside India (lon {INDIA_LON}, lat {INDIA_LAT})",
            "check the CRS (--crs) and axis order (--swap-xy), or remove features that do not belong",
            features=ctx.ids(far),
        )
    wide = present & ((b[:, 2] - b[:, 0]) > 180)
    if wide.any():
        ctx.report.add(
            "warn",
            "antimeridian",
            "feature(s) span more than 180 degrees of longitude: "
            "they cross the antimeridian or wrap the wrong way",
            "split them at ±180",
            features=ctx.ids(wide),
        )
    return gdf
