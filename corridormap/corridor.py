"""The corridor as a line: the influence belt around the Western DFC and positions along it.

Every computation happens in the belt's metric CRS (:data:`corridormap.crs.BELT_CRS`); results come
back in the CRS of the input.
"""

from __future__ import annotations

import geopandas as gpd
import shapely

from .crs import BELT_CRS, require_crs, to_metric
from .errors import LayerValidationError

__all__ = ["corridor_belt", "corridor_line"]


def corridor_line(lines: gpd.GeoDataFrame, *, corridor: str = "Western DFC") -> shapely.Geometry:
    """Merge the sections of one corridor into a single line geometry in the belt CRS.

    Parameters
    ----------
    lines : GeoDataFrame
        Line features with a ``corridor`` column (e.g. the ``freight_rail`` layer).
    corridor : str
        Value of the ``corridor`` column to select.
    """
    require_crs(lines, "corridor lines")
    if "corridor" not in lines.columns:
        raise LayerValidationError(
            "corridor lines have no 'corridor' column. Fix: pass the freight_rail layer, or a line "
            "layer whose 'corridor' column names each section's corridor"
        )
    chosen = lines[lines["corridor"] == corridor]
    if chosen.empty:
        found = ", ".join(sorted(map(str, lines["corridor"].dropna().unique()))) or "none"
        raise LayerValidationError(
            f"no section of corridor {corridor!r} in the line layer (corridors found: {found}). "
            f"Fix: choose one of those with corridor=..."
        )
    merged = shapely.line_merge(shapely.union_all(to_metric(chosen).geometry.values))
    return merged


def chosen_as_of(lines: gpd.GeoDataFrame, corridor: str) -> list[str]:
    """The ``as_of`` dates of one corridor's sections (empty when the layer has none)."""
    if "as_of" not in lines.columns or "corridor" not in lines.columns:
        return []
    return [str(v) for v in lines.loc[lines["corridor"] == corridor, "as_of"].dropna()]


def _latest_as_of(dates: list[str]) -> str | None:
    return max(dates) if dates else None


def corridor_belt(
    lines: gpd.GeoDataFrame, *, corridor: str = "Western DFC", buffer_km: float = 150.0
) -> gpd.GeoDataFrame:
    """The corridor's influence belt: every point within ``buffer_km`` of the corridor's line.

    The buffer is computed in EPSG:7755 (metres) and returned in the input's CRS, as one polygon
    with ``name``, ``corridor``, ``buffer_km``, ``area_km2`` and provenance columns.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> line = gpd.GeoDataFrame({"corridor": ["Western DFC"]},
    ...     geometry=[shapely.LineString([(72.9, 19.0), (77.5, 28.5)])], crs="EPSG:4326")
    >>> belt = corridor_belt(line, buffer_km=10)
    >>> row = belt.iloc[0]
    >>> print(f"{row.length_km:.0f} km long, {row.area_km2:,.0f} km2")
    1130 km long, 22,923 km2
    """
    if buffer_km <= 0:
        raise ValueError(f"buffer_km must be positive, got {buffer_km}")
    crs = require_crs(lines, "corridor lines")
    line = corridor_line(lines, corridor=corridor)
    belt = shapely.buffer(line, buffer_km * 1000.0, quad_segs=16)
    out = gpd.GeoDataFrame(
        {
            "name": [f"{corridor} influence belt ({buffer_km:g} km)"],
            "corridor": [corridor],
            "buffer_km": [float(buffer_km)],
            "length_km": [float(line.length) / 1000.0],
            "area_km2": [float(belt.area) / 1e6],
            "status": ["computed"],
            "as_of": [_latest_as_of(chosen_as_of(lines, corridor))],
            "source": [f"computed by corridormap: {buffer_km:g} km either side of the {corridor} line"],
            "geometry_quality": ["schematic"],
        },
        geometry=[belt],
        crs=BELT_CRS,
    )
    return out.to_crs(crs)
