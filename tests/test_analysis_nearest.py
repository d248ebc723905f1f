"""The k = 1 search (a slot-by-slot sweep over the grid cells' candidates): ties, polygons, reach."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from corridormap.analysis.nearest import nearest_table


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


def _brute_force(xy, geoms, k, max_m=np.inf):
    """(point, rank, target, distance) of every point's k nearest, ties to the lower target position."""
    dist = shapely.distance(shapely.points(xy)[:, None], geoms[None, :])
    order = np.lexsort((np.broadcast_to(np.arange(len(geoms)), dist.shape), dist), axis=1)[:, :k]
    d = np.take_along_axis(dist, order, 1)
    point, rank = np.nonzero(d <= max_m)
    return point, rank + 1, order[point, rank], d[point, rank]


def _many_lines(rng, n, extent):
    """``n`` 4-vertex lines a few hundred metres long: far denser than the query points."""
    start = rng.uniform(0, extent, (n, 1, 2))
    return shapely.linestrings(np.concatenate([start, start + rng.normal(0, 300.0, (n, 3, 2)).cumsum(1)], 1))


@pytest.mark.parametrize("path", ["dense", "strtree"])
@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("max_m", [np.inf, 700.0])
def test_k_nearest_of_many_lines_equal_brute_force(monkeypatch, path, k, max_m):
    import corridormap.analysis.nearest as nearest

    if path == "strtree":
        monkeypatch.setattr(nearest, "_DENSE_LIMIT", 0)
    rng = np.random.default_rng(11)
    geoms = _many_lines(rng, 300, 20_000.0)
    xy = rng.uniform(-2_000, 22_000, (400, 2))
    table = nearest_table(xy, geoms, k=k, max_distance_m=max_m)
    point, rank, target, d = _brute_force(xy, geoms, k, max_m)
    assert len(table) == len(point) > 0
    np.testing.assert_array_equal(table["point"], point)
    np.testing.assert_array_equal(table["rank"], rank)
    np.testing.assert_array_equal(table["target"], target)
    np.testing.assert_allclose(table["distance_m"], d, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("path", ["dense", "strtree"])
@pytest.mark.parametrize("k", [2, 3])
def test_k_nearest_ties_go_to_the_first_target(monkeypatch, path, k):
    import corridormap.analysis.nearest as nearest

    if path == "strtree":
        monkeypatch.setattr(nearest, "_DENSE_LIMIT", 0)
    # unit-length horizontal lines on a 1 m lattice, twice over (the copy comes later in layer order),
    # queried at lattice and half-lattice points: every distance is exact and most are tied
    starts = np.stack(np.meshgrid(np.arange(20.0), np.arange(20.0)), -1).reshape(-1, 1, 2)
    lines = shapely.linestrings(np.concatenate([starts, starts + [1.0, 0.0]], 1))
    geoms = np.r_[lines, lines][np.random.default_rng(5).permutation(2 * len(lines))]
    xy = np.random.default_rng(6).integers(0, 40, (300, 2)) / 2.0
    table = nearest_table(xy, geoms, k=k)
    point, rank, target, d = _brute_force(xy, geoms, k)
    np.testing.assert_array_equal(table["target"], target)
    np.testing.assert_array_equal(table["distance_m"], d)
    assert (table["point"] == point).all() and (table["rank"] == rank).all()


def test_k3_among_many_small_buildings_measures_few_segments_per_point(monkeypatch):
    # 10 m squares 20 m apart over 2 km (a town's buildings), 2,000 points: exact against brute
    # force, and the candidate segments measured per point stay few (cells of 200 m listed every
    # segment within a couple of hundred metres: 2,450 per point)
    import corridormap.analysis.nearest as nearest

    rng = np.random.default_rng(16)
    grid = np.meshgrid(np.arange(0.0, 2_000.0, 20.0), np.arange(0.0, 2_000.0, 20.0))
    corners = np.stack(grid, -1).reshape(-1, 2)
    squares = shapely.box(corners[:, 0], corners[:, 1], corners[:, 0] + 10.0, corners[:, 1] + 10.0)
    xy = rng.uniform(0.0, 2_000.0, (2_000, 2))
    measured: list[int] = []
    original = nearest._ranked

    def counting(xy_, pp, *args, **kwargs):
        measured.append(len(pp))
        return original(xy_, pp, *args, **kwargs)

    monkeypatch.setattr(nearest, "_ranked", counting)
    table = nearest_table(xy, squares, k=3)
    assert sum(measured) < 50 * len(xy)  # about 12
    d = shapely.distance(shapely.points(xy[:200])[:, None], squares[None, :])
    got = table[table["point"] < 200]
    np.testing.assert_allclose(got["distance_m"].to_numpy(), np.sort(d, axis=1)[:, :3].ravel(), atol=1e-9)
    expected = np.lexsort((np.arange(len(squares))[None, :].repeat(200, 0), d), axis=1)[:, :3]
    assert list(got["target"]) == list(expected.ravel())


def _with_nan_target() -> np.ndarray:
    with np.errstate(invalid="ignore"):  # shapely warns when it builds a NaN coordinate
        bad = shapely.linestrings([[0.0, 50.0], [np.nan, 60.0]])
    return np.array([shapely.Point(10.0, 0.0), bad, shapely.Point(np.inf, 0.0)], dtype=object)


@pytest.mark.parametrize("k", [1, 2])
def test_non_finite_target_coordinates_are_refused_by_position(k):
    # before: k = 1 reported distance inf for the good target; k = 2 named the NaN line as the
    # second nearest with distance NaN
    from corridormap.errors import LayerValidationError

    with pytest.raises(LayerValidationError, match=r"targets: 2 feature\(s\).*NaN or infinite.*1, 2.*Fix"):
        nearest_table(np.array([[0.0, 0.0]]), _with_nan_target(), k=k)


def test_non_finite_query_points_are_refused():
    from corridormap.errors import LayerValidationError

    with pytest.raises(LayerValidationError, match=r"1 query point\(s\).*NaN or infinite.*position 1"):
        nearest_table(np.array([[0.0, 0.0], [np.nan, 1.0]]), np.array([shapely.Point(1.0, 1.0)]))
