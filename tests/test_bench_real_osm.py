"""The real-OSM benchmark's core on a tiny real extract, so it cannot rot.

The extract is pyogrio's test file ``tests/fixtures/sample.osm.pbf`` (pyogrio is a corridormap
dependency; OpenStreetMap data, (c) OpenStreetMap contributors, ODbL): 36 roads and 5 areas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from bench_real_osm import build_corridormap, layer_bytes, nearest_rows, read_real, run_checks, tiled

SAMPLE = Path(pyogrio.__file__).parent / "tests" / "fixtures" / "sample.osm.pbf"


@pytest.fixture(scope="module")
def layers() -> dict:
    assert SAMPLE.is_file(), f"{SAMPLE} is missing: pyogrio no longer ships its OSM test extract"
    read, _notes = read_real(SAMPLE)
    return read


def test_reads_real_ways_and_polygons_through_the_extract_path(layers: dict) -> None:
    ways, areas = layers["ways"], layers["areas"]
    assert str(ways.crs) == str(areas.crs) == "EPSG:4326"
    assert len(ways) == 36 and set(ways.geom_type) == {"LineString"}
    assert set(ways["kind"]) == {"road"} and ways["detail"].str.len().gt(0).all()  # highway=* values
    assert len(areas) == 5 and set(areas.geom_type) <= {"Polygon", "MultiPolygon"}
    assert sorted(areas["kind"]) == ["building", "building", "landuse", "landuse", "landuse"]
    assert int(shapely.get_num_coordinates(ways.geometry.values).sum()) == 194


def test_tiled_copies_are_turned_not_overlapping(layers: dict) -> None:
    four = tiled(layers, 2)
    assert len(four["ways"]) == 4 * len(layers["ways"])
    utm = layers["ways"].estimate_utm_crs()
    one = layers["ways"].to_crs(utm).length.to_numpy()
    copies = four["ways"].to_crs(utm).length.to_numpy().reshape(4, -1)
    np.testing.assert_allclose(copies, np.tile(one, (4, 1)), rtol=1e-6)  # real shapes, turned
    boxes = [
        shapely.box(*shapely.total_bounds(four["ways"].geometry.values[i * 36 : (i + 1) * 36]))
        for i in range(4)
    ]
    assert not shapely.equals(four["ways"].geometry.values[0], four["ways"].geometry.values[36])
    assert not any(boxes[i].intersects(boxes[j]) for i in range(4) for j in range(i + 1, 4))


def test_nearest_core_checks_every_method(layers: dict, tmp_path: Path) -> None:
    rows = nearest_rows(layers, [400], tmp_path, label="sample", fresh=False)
    assert [(r["layer"], r["method"], r["k"]) for r in rows[:5]] == [
        ("ways", "sjoin_nearest", 1),
        ("ways", "nearest_table", 1),
        ("ways", "access_card", 1),
        ("ways", "nearest_table", 3),
        ("ways", "access_card", 3),
    ]
    assert len(rows) == 10 and all(r["wall_s"] > 0 and r["peak_mib"] > 0 for r in rows)
    assert rows[1]["check"].startswith("same as sjoin_nearest") and rows[1]["speedup_wall"] > 0
    assert rows[3]["speedup_wall"] is None  # sjoin_nearest has no k = 3


def test_the_checks_catch_a_wrong_answer(layers: dict, tmp_path: Path) -> None:
    from bench_real_osm import METHODS, _save_case, run_method

    targets = np.asarray(layers["ways"].to_crs(32630).geometry.values, dtype=object)
    xy = shapely.get_coordinates(layers["ways"].to_crs(32630).geometry.values)[:50] + 7.0
    data = tmp_path / "case.npz"
    _save_case(data, xy, targets, "EPSG:32630")
    got = {(m, k): run_method(data, m, k)[1] for m, k in METHODS}
    assert run_checks(xy, targets, got, 20)["nearest_table", 1].startswith("same as sjoin_nearest")
    wrong = dict(got["nearest_table", 1], distance=got["nearest_table", 1]["distance"] + 0.01)
    with pytest.raises(AssertionError):
        run_checks(xy, targets, {**got, ("nearest_table", 1): wrong}, 20)
    far = dict(got["access_card", 3], distance=got["access_card", 3]["distance"] * 1.02)
    with pytest.raises(AssertionError, match="access km"):
        run_checks(xy, targets, {**got, ("access_card", 3): far}, 20)


def test_the_real_map_builds(layers: dict, tmp_path: Path) -> None:
    figures = build_corridormap(layers, tmp_path / "map.html")
    html = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert figures.html_bytes > 0 and "OSM ways" in html and "OSM areas" in html
    sizes = layer_bytes(layers, figures.html_bytes)
    assert 0 < sizes["layer_bytes"] < figures.html_bytes and sizes["layer_bytes_per_vertex"] > 1


def test_markdown_tables_of_a_run(layers: dict, tmp_path: Path) -> None:
    from bench_real_osm import markdown

    rows = nearest_rows({"ways": layers["ways"]}, [200], tmp_path, label="sample", fresh=False)
    text = markdown({"data": "sample", "nearest": rows})
    lines = text.splitlines()
    assert len(lines) == 3 and lines[2].startswith("| sample | 36 ways, 194 vertices | 200 |")
    assert lines[2].count("|") == lines[0].count("|")
