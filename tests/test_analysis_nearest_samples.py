"""The k = 1 search for many target segments (a KD-tree over samples along the segments, then
exact distances to the segments of the samples in reach): the same answers as sjoin_nearest."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

import corridormap.analysis.nearest as nearest
from corridormap.analysis.nearest import nearest_table

CRS = "EPSG:7755"


@pytest.fixture(params=["first", "retries", "fallback"])
def samples_path(request, monkeypatch):
    """Force the samples path; ``retries`` asks one sample first (most points ask again),
    ``fallback`` sends every point to the grid search it falls back on."""
    monkeypatch.setattr(nearest, "_DENSE_LIMIT", 0)
    if request.param == "retries":
        monkeypatch.setattr(nearest, "_FIRST_K", 1)
    if request.param == "fallback":
        monkeypatch.setattr(nearest, "_MOST_K", 2)
    return request.param


def _sjoin_first(xy, geoms, max_m=None):
    """sjoin_nearest with the documented tie rule: (point, target, distance), first target of ties."""
    points = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=CRS)
    joined = gpd.sjoin_nearest(
        points, gpd.GeoDataFrame(geometry=geoms, crs=CRS), max_distance=max_m, distance_col="d"
    )
    first = joined.groupby(level=0).agg(d=("d", "first"), target=("index_right", "min"))
    return first.index.to_numpy(), first["target"].to_numpy(), first["d"].to_numpy()


def _assert_same(xy, geoms, max_m=None):
    table = nearest_table(xy, geoms, max_distance_m=max_m)
    point, target, d = _sjoin_first(xy, geoms, max_m)
    np.testing.assert_array_equal(table["point"], point)
    np.testing.assert_array_equal(table["target"], target)
    np.testing.assert_allclose(table["distance_m"], d, rtol=1e-9, atol=1e-6)
    # the nearest location is on the target, at the reported distance
    near = shapely.points(table[["x", "y"]].to_numpy())
    np.testing.assert_allclose(shapely.distance(near, geoms[table["target"]]), 0.0, atol=1e-6)
    np.testing.assert_allclose(shapely.distance(near, shapely.points(xy[point])), d, rtol=1e-9, atol=1e-6)
    return table


def _ways(rng, n, vertices, extent, step=100.0):
    """Random-walk ways with ``step`` metres between vertices (OSM-like)."""
    heading = rng.uniform(0, 2 * np.pi, (n, 1)) + rng.normal(0, 0.2, (n, vertices)).cumsum(1)
    steps = step * np.stack([np.cos(heading), np.sin(heading)], -1)
    return shapely.linestrings(rng.uniform(0, extent, (n, 1, 2)) + steps.cumsum(1))


@pytest.mark.parametrize("max_m", [None, 300.0])
def test_random_ways_same_as_sjoin_nearest(samples_path, max_m):
    rng = np.random.default_rng(1)
    geoms = _ways(rng, 60, 40, 20_000.0)
    xy = rng.uniform(-5_000, 25_000, (1_500, 2))  # some far outside the ways
    table = _assert_same(xy, geoms, max_m)
    assert (len(table) < len(xy)) == (max_m is not None)


def test_long_segments_and_far_points(samples_path):
    # a few long segments (samples far apart) mixed with short ones, points up to 1000 km away
    rng = np.random.default_rng(2)
    long_lines = shapely.linestrings(rng.uniform(0, 200_000, (5, 3, 2)))
    short = _ways(rng, 20, 10, 200_000.0, step=20.0)
    geoms = np.r_[long_lines, short]
    xy = np.r_[rng.uniform(0, 200_000, (500, 2)), rng.uniform(-1e6, 1e6, (200, 2))]
    _assert_same(xy, geoms)


def test_points_on_segments_and_vertices_are_zero_metres(samples_path):
    rng = np.random.default_rng(3)
    geoms = _ways(rng, 30, 20, 10_000.0)
    coords = shapely.get_coordinates(geoms)
    mid = (coords[:-1] + coords[1:]) / 2  # on a segment (or between two ways: still checked)
    xy = np.r_[
        coords[::7],
        mid[::5],
        shapely.get_coordinates(shapely.line_interpolate_point(geoms, 0.37, normalized=True)),
    ]
    table = _assert_same(xy, geoms)
    assert (table["distance_m"].to_numpy()[: len(coords[::7])] == 0).all()


def test_exact_ties_go_to_the_first_target(samples_path):
    # unit segments on a 1 m lattice, each twice (copies shuffled in layer order), queried at lattice and
    # half-lattice points: distances are exact and most are tied between several features
    starts = np.stack(np.meshgrid(np.arange(30.0), np.arange(30.0)), -1).reshape(-1, 1, 2)
    lines = shapely.linestrings(np.concatenate([starts, starts + [1.0, 0.0]], 1))
    geoms = np.r_[lines, lines][np.random.default_rng(5).permutation(2 * len(lines))]
    xy = np.random.default_rng(6).integers(-4, 64, (600, 2)) / 2.0
    _assert_same(xy, geoms)


def test_the_centre_of_a_fine_ring_is_equally_near_every_vertex(samples_path):
    # a 720-vertex circle: from its centre every sample is as near as the nearest (the worst case for
    # the k asked), and a second feature at the same distance later in layer order
    angle = np.linspace(0, 2 * np.pi, 721)
    ring = np.column_stack([np.cos(angle), np.sin(angle)]) * 1_000.0
    geoms = np.array([shapely.linestrings(ring), shapely.points([1_000.0, 0.0])], dtype=object)
    xy = np.array([[0.0, 0.0], [0.5, 0.0], [2_000.0, 0.0], [1_000.0, 0.0]])
    _assert_same(xy, geoms)


def test_polygons_containing_points_are_zero_metres(samples_path):
    rng = np.random.default_rng(7)
    blobs = shapely.buffer(
        shapely.points(rng.uniform(0, 30_000, (25, 2))), rng.uniform(500, 4_000, 25), quad_segs=32
    )
    holed = shapely.difference(blobs[:5], shapely.buffer(shapely.centroid(blobs[:5]), 300))  # holes
    geoms = np.r_[shapely.multipolygons([blobs[5], blobs[6]]), holed, blobs[7:], _ways(rng, 10, 30, 30_000.0)]
    xy = np.r_[rng.uniform(0, 30_000, (1_500, 2)), shapely.get_coordinates(shapely.centroid(blobs[:5]))]
    table = _assert_same(xy, geoms)
    assert (table["distance_m"] == 0).sum() > 100


def test_mixed_points_lines_and_empty_geometries(samples_path):
    rng = np.random.default_rng(8)
    geoms = np.r_[
        shapely.points(rng.uniform(0, 10_000, (40, 2))),
        _ways(rng, 10, 15, 10_000.0),
        shapely.multilinestrings([shapely.linestrings(rng.uniform(0, 10_000, (2, 2)))] * 2),
    ]
    xy = rng.uniform(0, 10_000, (800, 2))
    table = _assert_same(xy, geoms)
    with_empty = np.r_[[shapely.from_wkt("LINESTRING EMPTY"), None], geoms]
    again = nearest_table(xy, with_empty)
    np.testing.assert_array_equal(again["target"], table["target"] + 2)


def test_a_segment_nearer_than_all_its_samples_is_found(samples_path):
    # a 2 km segment sampled every 40 cm: a point 1 m from it, 2 cm along from a sample (1.0002 m
    # away), and a second target at 1.0001 m: the segment's nearest sample is farther than the other
    # target, yet the segment is nearer
    geoms = np.array([shapely.linestrings([[-1_000.0, 0.0], [1_000.0, 0.0]]), shapely.points([0.02, 2.0001])])
    table = _assert_same(np.array([[0.02, 1.0]]), geoms)
    assert list(table["target"]) == [0]


def _brute_force_k(xy, geoms, k, max_m=np.inf):
    """(point, rank, target, distance) of every point's k nearest, ties to the lower target position."""
    dist = shapely.distance(shapely.points(xy)[:, None], geoms[None, :])
    order = np.lexsort((np.broadcast_to(np.arange(len(geoms)), dist.shape), dist), axis=1)[:, :k]
    d = np.take_along_axis(dist, order, 1)
    point, rank = np.nonzero(d <= max_m)
    return point, rank + 1, order[point, rank], d[point, rank]


def _cases_k():
    rng = np.random.default_rng(21)
    ways = _ways(rng, 40, 30, 15_000.0)
    starts = np.stack(np.meshgrid(np.arange(12.0), np.arange(12.0)), -1).reshape(-1, 1, 2)
    lattice = shapely.linestrings(np.concatenate([starts, starts + [1.0, 0.0]], 1))
    lattice = np.r_[lattice, lattice][rng.permutation(2 * len(lattice))]
    blobs = shapely.buffer(shapely.points(rng.uniform(0, 15_000, (12, 2))), rng.uniform(500, 3_000, 12))
    angle = np.linspace(0, 2 * np.pi, 361)
    ring = shapely.linestrings(np.column_stack([np.cos(angle), np.sin(angle)]) * 1_000.0)
    return {
        "ways": (ways, rng.uniform(-3_000, 18_000, (500, 2))),
        "ties": (lattice, rng.integers(-4, 28, (300, 2)) / 2.0),
        "polygons": (np.r_[blobs, ways[:10]], rng.uniform(0, 15_000, (500, 2))),
        "ring": (np.array([ring, shapely.points([1_000.0, 0.0]), ways[0]], dtype=object), np.zeros((3, 2))),
    }


@pytest.mark.parametrize("case", ["ways", "ties", "polygons", "ring"])
@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("max_m", [np.inf, 800.0])
def test_k_nearest_equal_brute_force(samples_path, case, k, max_m):
    geoms, xy = _cases_k()[case]
    table = nearest_table(xy, geoms, k=k, max_distance_m=max_m)
    point, rank, target, d = _brute_force_k(xy, geoms, k, max_m)
    np.testing.assert_array_equal(table["point"], point)
    np.testing.assert_array_equal(table["rank"], rank)
    np.testing.assert_array_equal(table["target"], target)
    np.testing.assert_allclose(table["distance_m"], d, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("path", ["sweep", "first", "retries", "fallback"])
@pytest.mark.parametrize("case", ["ways", "ties", "polygons", "ring", "points"])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize(
    ("slack", "per_m", "max_m"),
    [
        (0.0, None, np.inf),
        (0.01, None, np.inf),
        (0.5, None, np.inf),
        (0.01, None, 800.0),
        (0.5, 2e-4, np.inf),
    ],
)
def test_second_is_a_lower_bound_on_the_nearest_feature_after_the_k(
    monkeypatch, path, case, k, slack, per_m, max_m
):
    # what the geodesic re-rank relies on: no feature but the k found is nearer than second_m, and
    # every feature within (1 + slack) x the k-th distance is measured exactly
    if path != "sweep":
        monkeypatch.setattr(nearest, "_DENSE_LIMIT", 0)
        monkeypatch.setattr(nearest, "_FIRST_K", 1 if path == "retries" else nearest._FIRST_K)
        monkeypatch.setattr(nearest, "_MOST_K", 2 if path == "fallback" else nearest._MOST_K)
    if case == "points":
        geoms = shapely.points(np.random.default_rng(4).uniform(0, 15_000, (60, 2)))
        xy = _cases_k()["ways"][1]
    else:
        geoms, xy = _cases_k()[case]
    table = nearest.nearest_columns(xy, geoms, k=k, second=slack, second_per_m=per_m, max_distance_m=max_m)
    plain = nearest.nearest_columns(xy, geoms, k=k, max_distance_m=max_m)
    for c in plain:  # the same answers
        np.testing.assert_array_equal(table[c], plain[c])
    dist = shapely.distance(shapely.points(xy)[:, None], geoms[None, :])
    p, t = table["point"], table["target"]
    others = dist.copy()
    others[p, t] = np.inf
    true_next = others[p].min(axis=1)
    assert len(p) and not np.isnan(table["second_m"]).any()
    assert (table["second_m"] <= true_next + 1e-6).all()
    last = table["rank"] == np.bincount(p, minlength=len(xy))[p]  # each point's k-th (or last) row
    assert (table["second_m"][last] >= table["distance_m"][last] - 1e-6).all()
    d = table["distance_m"]
    s = slack if per_m is None else np.minimum(slack, per_m * d)  # 0.5 from 2.5 km on
    close = last & (true_next <= (1 + s) * d) & (true_next <= max_m)
    np.testing.assert_allclose(table["second_m"][close], true_next[close], rtol=1e-9, atol=1e-6)
    if "apart_m" in table:  # k = 1: the same bound, but not counting the polygons around the point
        # that come after the feature taken (0 m, higher positions)
        after = (dist[p] == 0) & (np.arange(len(geoms))[None, :] > t[:, None])
        apart_next = np.where(after, np.inf, others[p]).min(axis=1)
        assert (table["apart_m"] <= apart_next + 1e-6).all()
        assert (table["apart_m"] >= table["second_m"]).all()


def test_second_is_a_slack_and_empty_layers_have_the_column():
    with pytest.raises(ValueError, match="second"):
        nearest.nearest_columns(np.zeros((1, 2)), shapely.points([[1.0, 1.0]]), second=-1.0)
    for k in (1, 2):
        empty = nearest.nearest_columns(np.zeros((3, 2)), np.array([None], dtype=object), k=k, second=0.01)
        assert len(empty["second_m"]) == len(empty["point"]) == 0
