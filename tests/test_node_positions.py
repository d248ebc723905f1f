"""Each node checked against the best public description of its position (``data/node_position_checks.csv``).

Every node has a row. A row is ``within`` (the node lies within its stated ``position_tolerance_km`` of
the reference place), ``distance`` (a published distance from the reference, e.g. "26 km east of Dighi
Port", holds within the tolerance) or ``none`` (not checked: the note says why, e.g. the place is in no
dataset).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Geod

from corridormap.catalog.sources import classify_url, load_source_hosts

DATA = Path(__file__).resolve().parents[1] / "data"
GEOD = Geod(ellps="WGS84")
CHECKS = pd.read_csv(DATA / "node_position_checks.csv")


@pytest.fixture(scope="module")
def nodes() -> dict[str, gpd.GeoDataFrame]:
    return {n: gpd.read_file(DATA / f"{n}.geojson").set_index("id") for n in set(CHECKS["layer"])}


CHECKED = CHECKS[CHECKS["check"] != "none"]


def test_every_node_has_a_row(nodes: dict[str, gpd.GeoDataFrame]) -> None:
    assert set(CHECKS["layer"]) == {"industrial_nodes", "nicdc_national_nodes"}
    listed = {(layer, i) for layer, i in zip(CHECKS["layer"], CHECKS["id"], strict=True)}
    assert listed == {(layer, i) for layer, gdf in nodes.items() for i in gdf.index}
    unchecked = CHECKS[CHECKS["check"] == "none"]
    assert unchecked["note"].str.startswith("not checked: ").all()
    assert len(CHECKED) >= 42, "a floor that may only rise: every node but Supa is checked"
    assert not CHECKED["coordinate_source"].str.contains("memory").any(), "references come from sources"


@pytest.mark.parametrize("row", CHECKED.to_dict("records"), ids=list(CHECKED["id"]))
def test_node_within_its_stated_tolerance_of_the_reference(
    nodes: dict[str, gpd.GeoDataFrame], row: dict
) -> None:
    node = nodes[row["layer"]].loc[row["id"]]
    assert row["tolerance_km"] == node["position_tolerance_km"], "the check uses the node's stated tolerance"
    km = GEOD.inv(node.geometry.x, node.geometry.y, row["reference_lon"], row["reference_lat"])[2] / 1000.0
    if row["check"] == "within":
        assert km <= row["tolerance_km"], f"{row['id']}: {km:.1f} km from {row['reference']}"
    else:
        assert row["check"] == "distance"
        assert abs(km - row["stated_km"]) <= row["tolerance_km"], (
            f"{row['id']}: {km:.1f} km, published {row['stated_km']}"
        )


def test_checks_cite_allowed_sources() -> None:
    hosts = load_source_hosts()
    kinds = {u: classify_url(u, hosts)[0] for u in CHECKS["description_source"]}
    assert all(k in ("official", "news", "reference") for k in kinds.values()), kinds
    assert CHECKS["id"].is_unique
