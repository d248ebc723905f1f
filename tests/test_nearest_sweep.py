"""The k = 1 search (a slot-by-slot sweep over the grid cells' candidates): ties, polygons, reach."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from corridormap.nearest import nearest_table


@pytest.mark.parametrize(
    "targets",
    [
        shapely.points([[0.0, 100.0], [0.0, -100.0]]),
        shapely.linestrings([[[-50.0, 100.0], [50.0, 100.0]], [[-50.0, -100.0], [50.0, -100.0]]]),
    ],
)
@pytest.mark.parametrize("flip", [False, True])
def test_an_exact_tie_goes_to_the_first_target(targets, flip):
    geoms = targets[::-1] if flip else targets
    table = nearest_table(np.array([[0.0, 0.0]]), geoms)
    assert list(table["target"]) == [0] and list(table["distance_m"]) == [100.0]


@pytest.mark.parametrize(
    "geoms",
    [
        [shapely.box(5, 0, 15, 10), shapely.box(0, 0, 10, 10)],
        [shapely.box(0, 0, 10, 10), shapely.box(5, 0, 15, 10)],
    ],
)
def test_overlapping_polygons_give_the_first_one_at_zero_metres(geoms):
    first_left = geoms[0].bounds[0] == 0
    xy = np.array([[7.0, 5.0], [2.0, 5.0], [5.0, 5.0], [10.0, 5.0], [20.0, 5.0]])
    table = nearest_table(xy, np.array(geoms, dtype=object))
    # (7,5) inside both; (2,5) inside the left box only, 3 m from the right one; (5,5) and (10,5)
    # on the edge of one box and inside the other; (20,5) 5 m east of the right box
    left, right = (0, 1) if first_left else (1, 0)
    assert list(table["target"]) == [0, left, 0, 0, right]
    assert list(table["distance_m"]) == [0.0, 0.0, 0.0, 0.0, 5.0]
    assert table[["x", "y"]].to_numpy()[[0, 1, 4]].tolist() == [[7.0, 5.0], [2.0, 5.0], [15.0, 5.0]]


def test_points_with_nothing_in_reach_have_no_row():
    xy = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 30.0]])
    table = nearest_table(xy, shapely.linestrings([[[0.0, 10.0], [0.0, 20.0]]]), max_distance_m=15.0)
    assert list(table["point"]) == [0, 2] and list(table["distance_m"]) == [10.0, 10.0]
    assert table[["x", "y"]].to_numpy().tolist() == [[0.0, 10.0], [0.0, 20.0]]


@pytest.mark.parametrize("kind", ["points", "lines", "polygons"])
def test_k1_agrees_with_rank_one_of_the_ranked_search(kind):
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 60_000, (500, 2))
    if kind == "points":
        geoms = shapely.points(rng.uniform(0, 60_000, (20, 2)))
    elif kind == "lines":
        geoms = shapely.linestrings(rng.uniform(0, 60_000, (8, 5, 2)))
    else:
        geoms = shapely.buffer(shapely.points(rng.uniform(0, 60_000, (8, 2))), 6_000)
    one = nearest_table(xy, geoms)
    ranked = nearest_table(xy, geoms, k=2)
    first = ranked[ranked["rank"] == 1].reset_index(drop=True)
    assert (one["point"] == np.arange(len(xy))).all()
    assert (one["target"] == first["target"]).all()
    np.testing.assert_allclose(one[["distance_m", "x", "y"]], first[["distance_m", "x", "y"]], atol=1e-6)
