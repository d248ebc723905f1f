"""Static charts for notebooks: what they draw matches the data, missing values are said, not drawn."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import corridormap
from corridormap import settings
from corridormap.analysis import charts


@pytest.fixture(scope="module")
def layers():
    return corridormap.load_layers()


def test_access_distances_draws_each_target_per_node_and_counts_missing() -> None:
    card = pd.DataFrame(
        {
            "name": ["A", "B", "C"],
            "port_name": ["P", "Q", None],
            "port_km": [30.0, 10.0, np.nan],
            "port_network_km": [40.0, 12.0, np.nan],  # not a straight-line target
            "station_name": ["S", "T", "U"],
            "station_km": [1.0, 2.0, 3.0],
            "position_tolerance_km": [5.0, 5.0, 5.0],  # no position_tolerance_name: not a target
        }
    )
    assert charts.target_columns(card) == ["port_km", "station_km"]
    fig = corridormap.access_chart(card, highlight=["A"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["B", "A", "C"]  # by the first target
    bold = [t.get_text() for t in ax.get_yticklabels() if t.get_fontweight() == "bold"]
    assert bold == ["A"]
    points = {c.get_label(): c.get_offsets() for c in ax.collections}
    assert sorted(points) == ["port", "station"] and len(points["port"]) == 2 and len(points["station"]) == 3
    assert sorted(points["port"][:, 0].tolist()) == [10.0, 30.0]
    assert "1 distance(s) with nothing in reach not drawn" in ax.get_title()


def test_strip_is_the_builds_svg(layers) -> None:
    svg = corridormap.strip_chart(layers, "wdfc")
    root = ET.fromstring(svg._repr_svg_())
    assert root.tag.endswith("svg") and "Western DFC" in str(svg)


@pytest.mark.slow
def test_score_histogram_and_sites_map(layers, tmp_path) -> None:
    with settings.override(cache_dir=tmp_path, offline=True):
        result = corridormap.suitability(layers, cell_km=20, top=5)
    hist = corridormap.score_chart(result)
    ax = hist.axes[0]
    bars = sum(p.get_height() for p in ax.patches)
    assert bars == int((result.grid["status"] == "scored").sum())
    assert len(ax.lines) == 5  # one mark per top site
    fig = corridormap.sites_chart(result, layers)
    stars = [c for c in fig.axes[0].collections if len(c.get_offsets()) == 5]
    assert stars, "the five sites are drawn"
    labels = sorted(t.get_text() for t in fig.axes[0].texts)
    assert labels == ["1", "2", "3", "4", "5"]
    fig.savefig(tmp_path / "sites.png")


def test_access_distances_refuses_a_table_without_targets() -> None:
    frame = gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.Point(0, 0)], crs=4326)
    with pytest.raises(ValueError, match="columns="):
        corridormap.access_chart(frame)


def test_status_by_layer_stacks_every_feature(layers) -> None:
    fig = corridormap.status_chart(layers)
    ax = fig.axes[0]
    with_status = {n: f for n, f in layers.items() if "status" in f.columns}
    assert sum(p.get_width() for p in ax.patches) == sum(len(f) for f in with_status.values())
    assert [t.get_text() for t in ax.get_yticklabels()] == list(with_status)
    assert fig._repr_png_().startswith(b"\x89PNG"), "a notebook shows it as a picture"
