"""Live calls to Overpass and Nominatim: marked ``network``, deselected by default (``-m network``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corridormap import osm, settings

pytestmark = pytest.mark.network


@pytest.fixture(autouse=True)
def cache(tmp_path: Path):  # type: ignore[no-untyped-def]
    with settings.override(cache_dir=tmp_path, offline=False, mirror=None):
        yield tmp_path


def test_live_rail_around_rewari_then_cached(cache: Path) -> None:
    area = (76.55, 28.15, 76.70, 28.25)  # Rewari junction: Western DFC and Indian Railways lines
    rail = osm.fetch_layer("rail", area=area, tile_deg=0.25)
    assert len(rail) > 0 and (rail["railway"].isin(["rail", "construction", "proposed"])).all()
    assert set(rail["source"]) == {"OpenStreetMap contributors, ODbL"}
    again = osm.fetch_layer("rail", area=area, tile_deg=0.25)
    assert sorted(again["id"]) == sorted(rail["id"])


def test_live_place_and_road_graph() -> None:
    area = osm.resolve_area("Manesar, Haryana")
    assert area.intersects(osm.resolve_area((76.8, 28.3, 77.0, 28.4)))
    graph = osm.road_graph(area=(76.85, 28.30, 77.00, 28.40), tile_deg=0.25)
    assert graph.number_of_edges() > 0
    assert all(d["travel_time"] > 0 for *_, d in graph.edges(data=True))
