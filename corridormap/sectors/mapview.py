"""The build's hook for the map's "Sector fit" view: the fit of the shipped profiles, as map data."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import folium
import geopandas as gpd

from .fit import sector_fit
from .profiles import all_nodes, criteria_specs, load_profiles

__all__ = ["add_to_map"]

log = logging.getLogger(__name__)


def add_to_map(m: folium.Map, layers: Mapping[str, gpd.GeoDataFrame]) -> None:
    """Compute the fit of every node (all node layers) for the shipped profiles and add the view to ``m``."""
    from ..render.sector_fit import add_sector_fit_view, sector_fit_payload

    fit = sector_fit(all_nodes(layers), layers, load_profiles())
    labels = {name: spec.label for name, spec in criteria_specs().items()}
    add_sector_fit_view(m, sector_fit_payload(fit, labels))
    log.info("sector fit view: %d nodes x %d sectors", fit["node_id"].nunique(), fit["sector"].nunique())
