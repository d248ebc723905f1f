"""``corridormap sectors`` outputs: ``sector_fit.csv``, ``sector_sensitivity.csv`` and the
``sector_fit`` GeoPackage layer, written atomically (nothing is replaced without ``overwrite``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .criteria import criterion_values
from .fit import fit_sensitivity, sector_fit
from .profiles import Profile, all_nodes, load_profiles

__all__ = ["FIT_CSV", "SENSITIVITY_CSV", "FIT_GPKG", "fit_table", "write_sector_outputs"]

log = logging.getLogger(__name__)

FIT_CSV = "sector_fit.csv"
SENSITIVITY_CSV = "sector_sensitivity.csv"
FIT_GPKG = "sector_fit.gpkg"


def fit_table(fit: gpd.GeoDataFrame) -> pd.DataFrame:
    """The fit without geometry (lon/lat columns instead), figures rounded for reading."""
    table = pd.DataFrame(fit.drop(columns=fit.geometry.name))
    table["lon"], table["lat"] = fit.geometry.x.round(5), fit.geometry.y.round(5)
    for column in table.columns:
        if column.endswith(("_value", "_contribution")) or column == "fit":
            table[column] = table[column].round(2)
        elif column.endswith("_score") or column == "assessed_weight_share":
            table[column] = table[column].round(4)
    return table


def write_sector_outputs(
    out_dir: str | Path,
    *,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    profiles: Mapping[str, Profile] | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Compute the node x sector fit and write its three outputs into ``out_dir``; return their paths."""
    from ..atomic import refuse_existing, replace_into, staging_dir
    from ..catalog.load import load_layers

    out = Path(out_dir)
    targets = [out / FIT_CSV, out / SENSITIVITY_CSV, out / FIT_GPKG]
    refuse_existing(targets, overwrite)
    layers = dict(layers) if layers is not None else load_layers()
    profiles = dict(profiles) if profiles is not None else load_profiles()
    nodes = all_nodes(layers)
    values = criterion_values(nodes, layers)
    fit = sector_fit(nodes, layers, profiles, values=values)
    ids = (
        nodes["id"].astype(str) if "id" in nodes.columns else pd.Series(nodes.index.astype(str), nodes.index)
    )
    sensitivity = fit_sensitivity(values, profiles, ids)
    out.mkdir(parents=True, exist_ok=True)
    with staging_dir(out / FIT_CSV) as stage:
        fit_table(fit).to_csv(stage / FIT_CSV, index=False)
        sensitivity.to_csv(stage / SENSITIVITY_CSV, index=False)
        fit.to_file(stage / FIT_GPKG, layer="sector_fit", driver="GPKG")
        for target in targets:
            replace_into(stage / target.name, target)
    log.info("sector fit: %d nodes x %d sectors -> %s", len(nodes), len(profiles), out)
    return targets
