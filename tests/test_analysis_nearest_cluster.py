"""A dense cluster of targets seen from far away (every point's search ring holds all of it): the
answers equal a brute force on every path, and the grid search lists and measures its candidate
pairs a block at a time, so its memory does not grow with points x cluster segments."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

import corridormap.analysis.nearest as nearest
from corridormap.analysis.geodesic import geodesic_nearest
from corridormap.analysis.nearest import nearest_columns, nearest_table
from corridormap.crs import BELT_CRS

GEOD = Geod(ellps="WGS84")
DELHI = np.array(Transformer.from_crs("EPSG:4326", BELT_CRS, always_xy=True).transform(77.2, 28.6))


def _cluster(kind: str, n: int, seed: int, centre: Any = (0.0, 0.0)) -> np.ndarray:
    """``n`` short 3-vertex lines (segments of 5-30 m) or small quadrilaterals starting within a
    1 km square around ``centre``."""
    rng = np.random.default_rng(seed)
    start = np.asarray(centre) + rng.uniform(-500.0, 500.0, (n, 2))
    heading = rng.uniform(0.0, 2 * np.pi, n)
    length = rng.uniform(5.0, 30.0, n)[:, None]
    middle = start + length * np.column_stack([np.cos(heading), np.sin(heading)])
    turned = heading + rng.uniform(0.5, 2.0, n)
    end = middle + length * np.column_stack([np.cos(turned), np.sin(turned)])
    if kind == "lines":
        return shapely.linestrings(np.stack([start, middle, end], axis=1))
    back = start + (end - middle)  # a parallelogram
    return shapely.polygons(np.stack([start, middle, end, back, start], axis=1))


def _far_points(n: int, seed: int, centre: Any = (0.0, 0.0)) -> np.ndarray:
    """``n`` points up to 300 km around ``centre``, a tenth of them within 2 km."""
    rng = np.random.default_rng(seed)
    xy = np.asarray(centre) + rng.uniform(-300_000.0, 300_000.0, (n, 2))
    near = n // 10
    xy[:near] = np.asarray(centre) + rng.uniform(-2_000.0, 2_000.0, (near, 2))
    return xy


def _brute(xy: np.ndarray, geoms: np.ndarray, k: int, max_m: float | None) -> tuple[Any, Any, Any]:
    """Every point's k nearest features by shapely distance, ties to the lower position:
    (point, target, distance) in rank order."""
    d = shapely.distance(shapely.points(xy)[:, None], geoms[None, :])
    order = np.lexsort((np.broadcast_to(np.arange(len(geoms)), d.shape), d), axis=1)[:, :k]
    dk = np.take_along_axis(d, order, axis=1)
    keep = dk <= (np.inf if max_m is None else max_m)
    return np.nonzero(keep)[0], order[keep], dk[keep]


def _set_path(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """dense: the grid with every centre measured against every segment (few points x segments);
    tree: the grid through an STRtree (every point falls back from the samples to it); samples:
    the samples' KD-tree."""
    monkeypatch.setattr(nearest, "PAIRS_PER_BLOCK", 2_000)  # many blocks
    if path in ("tree", "samples"):
        monkeypatch.setattr(nearest, "_DENSE_LIMIT", 0)
    if path == "tree":
        monkeypatch.setattr(nearest, "_MOST_K", 0)  # no sample search: the grid for every point


@pytest.mark.parametrize("path", ["dense", "tree", "samples"])
@pytest.mark.parametrize("kind", ["lines", "polygons"])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("max_m", [None, 150_000.0])
def test_a_far_cluster_is_searched_exactly(monkeypatch, path, kind, k, max_m):
    geoms = _cluster(kind, 300, seed=1)
    xy = _far_points(150, seed=2)
    xy[:5] = shapely.get_coordinates(shapely.point_on_surface(geoms[:5]))  # on or inside features
    _set_path(monkeypatch, path)
    table = nearest_table(xy, geoms, k=k, max_distance_m=max_m)
    point, target, dist = _brute(xy, geoms, k, max_m)
    assert list(table["point"]) == list(point)
    assert list(table["target"]) == list(target)
    np.testing.assert_allclose(table["distance_m"], dist, rtol=0, atol=1e-6)
    if kind == "polygons":
        assert (dist == 0).sum() >= 1  # (some points inside a polygon)
    near = shapely.points(table[["x", "y"]].to_numpy())  # the nearest location lies on the feature
    assert (shapely.distance(near, geoms[table["target"].to_numpy()]) < 1e-6).all()


@pytest.mark.parametrize("path", ["dense", "tree", "samples"])
@pytest.mark.parametrize("k", [1, 3])
def test_second_m_bounds_the_next_feature_of_a_far_cluster(monkeypatch, path, k):
    # the bound the geodesic re-rank trusts: never above the (k+1)-th feature's distance, and at
    # least it or the k-th distance widened by the slack
    geoms = _cluster("lines", 300, seed=3)
    xy = _far_points(150, seed=4)
    _set_path(monkeypatch, path)
    slack, plus = 0.01, 2e-3
    got = nearest_columns(xy, geoms, k=k, second=slack, second_plus_m=plus)
    d = np.sort(shapely.distance(shapely.points(xy)[:, None], geoms[None, :]), axis=1)
    last = got["rank"] == k
    assert list(got["point"][last]) == list(range(len(xy)))
    second, kth, nxt = got["second_m"][last], d[:, k - 1], d[:, k]
    assert (second <= nxt + 1e-6).all()
    assert (second >= np.minimum(nxt, kth * (1 + slack) + plus) - 1e-6).all()
    ring = nxt < kth * (1 + slack)  # the far points: the next feature within the slack's ring
    assert ring.sum() > 100
    np.testing.assert_allclose(second[ring], nxt[ring], rtol=0, atol=1e-6)


@pytest.mark.parametrize("many", [False, True])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("max_km", [None, 250.0])
def test_the_geodesic_nearest_of_a_far_cluster_is_geods(monkeypatch, many, k, max_km):
    # the access card's search: 200 lines by Delhi, points up to 300 km around
    geoms = _cluster("lines", 200, seed=5, centre=DELHI)
    xy = _far_points(80, seed=6, centre=DELHI)
    monkeypatch.setattr(nearest, "PAIRS_PER_BLOCK", 2_000)
    if many:
        monkeypatch.setattr(nearest, "_DENSE_LIMIT", 0)
    table = geodesic_nearest(xy, geoms, k=k, max_distance_km=max_km)
    ends = shapely.get_coordinates(shapely.shortest_line(shapely.points(xy)[:, None], geoms[None, :]))
    ends = ends.reshape(len(xy), len(geoms), 2, 2)[:, :, 1]
    to_ll = Transformer.from_crs(BELT_CRS, "EPSG:4326", always_xy=True)
    lon1, lat1 = to_ll.transform(np.repeat(xy[:, 0], len(geoms)), np.repeat(xy[:, 1], len(geoms)))
    lon2, lat2 = to_ll.transform(ends[..., 0].ravel(), ends[..., 1].ravel())
    km = np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2]).reshape(len(xy), len(geoms)) / 1000.0
    best = np.sort(km, axis=1)[:, :k]
    within = best <= (np.inf if max_km is None else max_km)
    assert list(table["point"]) == list(np.nonzero(within)[0])
    np.testing.assert_allclose(table["km"], best[within], rtol=0, atol=2e-6)
    named = km[table["point"], table["target"]]
    np.testing.assert_allclose(named, table["km"], rtol=0, atol=2e-6)  # the feature named is that far


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("path", ["dense", "tree"])
def test_the_grid_search_lists_and_measures_a_block_of_pairs_at_a_time(monkeypatch, k, path):
    # 200 pairs of points 3 km apart spread 300 km around a cluster of 1,000 lines (2,000
    # segments), over the grid's 20 km cells: each cell's points are kilometres apart, so its ring
    # holds the whole cluster, about 400,000 (cell, segment) pairs in all. At most a block of them
    # is listed at once (a cell alone may pass it; in the dense path a row of centres), and at most
    # a block of (point, segment) pairs is measured at once (a point alone may pass it).
    budget = 5_000
    geoms = _cluster("lines", 1_000, seed=7)
    far = _far_points(220, seed=8)[20:]
    xy = np.r_[far, far + [3_000.0, 0.0]]
    monkeypatch.setattr(nearest, "PAIRS_PER_BLOCK", budget)
    if path == "tree":
        monkeypatch.setattr(nearest, "_DENSE_LIMIT", 0)
    listed: list[tuple[int, int]] = []
    measured: list[tuple[int, int]] = []
    blocks, nearest_of_pairs, ranked = nearest._pair_blocks, nearest._nearest_of_pairs, nearest._ranked

    def listing(grid, *args, **kwargs):
        for b in blocks(grid, *args, **kwargs):
            listed.append((len(b.cell_i), len(b.grid.centres)))
            yield b

    def measuring(original):
        def measure(xy_, pp, *args, **kwargs):
            measured.append((len(pp), len(np.unique(pp))))
            return original(xy_, pp, *args, **kwargs)

        return measure

    monkeypatch.setattr(nearest, "_pair_blocks", listing)
    monkeypatch.setattr(nearest, "_nearest_of_pairs", measuring(nearest_of_pairs))
    monkeypatch.setattr(nearest, "_ranked", measuring(ranked))
    grid, segs = nearest.Grid.over(xy), nearest._Segments.of(geoms)
    if k == 1:
        distance, segment = nearest._grid_nearest(grid, segs, geoms, max_m=np.inf)
        point, target = np.arange(len(xy)), segs.feature[segment]
    else:
        table = nearest._grid_ranked(grid, segs, geoms, k=k, max_m=np.inf)
        point, target, distance = table["point"], table["target"], table["distance_m"]
    segments = len(segs.ax)
    row = max(1, 65_536 // segments) * segments if path == "dense" else 0  # a row of the dense measure
    assert sum(pairs for pairs, _ in listed) >= 150 * segments  # (the premise: rings hold the cluster)
    assert len(listed) >= (5 if path == "dense" else 50)
    assert all(pairs <= max(budget, row) or cells == 1 for pairs, cells in listed)
    assert len(measured) >= 20 and all(pairs <= budget or points == 1 for pairs, points in measured)
    want_point, want_target, want_distance = _brute(xy, geoms, k, None)
    assert list(point) == list(want_point) and list(target) == list(want_target)
    np.testing.assert_allclose(distance, want_distance, rtol=0, atol=1e-6)


def test_count_bounds_count_every_segment_box_within_reach():
    # the STRtree path cuts its cells into blocks by these bounds: one below the true count would
    # let a block's pairs pass the budget
    rng = np.random.default_rng(9)
    segs = nearest._Segments.of(
        np.r_[_cluster("lines", 500, seed=10), _cluster("lines", 200, seed=11, centre=(40_000.0, 0.0))]
    )
    centres = rng.uniform(-50_000.0, 90_000.0, (500, 2))
    radius = np.exp(rng.uniform(np.log(10.0), np.log(100_000.0), len(centres)))
    bounds = nearest.count_bounds(centres, radius, segs.boxes())
    i, _ = segs.tree().query(shapely.points(centres), predicate="dwithin", distance=radius)
    assert (bounds >= np.bincount(i, minlength=len(centres))).all()
    assert (nearest.count_bounds(centres[:3], np.full(3, np.inf), segs.boxes()) == len(segs.ax)).all()


@pytest.mark.parametrize("k", [1, 3])
def test_with_slack_far_points_stay_on_the_samples(monkeypatch, k):
    # the geodesic re-rank's slack (1 %) widens a far point's ring over the whole cluster: the
    # samples measured reach only the (k+1)-th feature, so no point falls back to the grid search
    # (which lists every cluster segment for every cell)
    geoms = _cluster("lines", 1_000, seed=12)
    xy = _far_points(400, seed=13)[40:]  # the far ones
    monkeypatch.setattr(nearest, "_DENSE_LIMIT", 0)
    fallen: list[int] = []
    for name in ("_grid_nearest", "_grid_ranked"):
        original = getattr(nearest, name)

        def counting(grid, *args, _original=original, **kwargs):
            fallen.append(len(grid.xy))
            return _original(grid, *args, **kwargs)

        monkeypatch.setattr(nearest, name, counting)
    got = nearest_columns(xy, geoms, k=k, second=0.01)
    assert fallen == []
    d = np.sort(shapely.distance(shapely.points(xy)[:, None], geoms[None, :]), axis=1)
    np.testing.assert_allclose(got["distance_m"].reshape(-1, k), d[:, :k], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["second_m"][got["rank"] == k], d[:, k], rtol=0, atol=1e-6)


@pytest.mark.parametrize("kind", ["lines", "polygons"])
@pytest.mark.parametrize("max_m", [None, 40_000.0])
def test_points_tens_of_km_from_a_cluster_go_by_the_features_tree(
    monkeypatch: pytest.MonkeyPatch, kind: str, max_m: float | None
) -> None:
    # points 10-60 km from a dense cluster: each grid cell of a few spread points lists the whole
    # cluster, so its points take the features' STRtree (one query each) instead of measuring every
    # pair; the answers stay the brute force's (ties to the lower position), insides included
    geoms = _cluster(kind, 6_000, seed=11)
    geoms[::499] = None
    rng = np.random.default_rng(12)
    side = rng.choice([-1.0, 1.0], 300)
    xy = np.column_stack(
        [side * rng.uniform(10_000.0, 60_000.0, 300), rng.uniform(-400_000.0, 400_000.0, 300)]
    )
    inside = shapely.get_coordinates(shapely.centroid(geoms[1:40:3]))  # some points on the features
    xy = np.vstack([xy, inside])
    calls = []
    original = nearest._nearest_by_tree
    monkeypatch.setattr(
        nearest, "_nearest_by_tree", lambda *a, **kw: calls.append(len(a[0])) or original(*a, **kw)
    )
    monkeypatch.setattr(
        nearest, "_DENSE_LIMIT", 10**12
    )  # the grid path (its samples path is for larger layers)
    monkeypatch.setattr(nearest, "_CROWDED", 10**9)
    table = nearest_columns(xy, geoms, k=1, max_distance_m=max_m)
    if max_m is None:
        assert sum(calls) > 200  # the far points went by the tree
    present = np.flatnonzero(~shapely.is_missing(geoms))
    point, target, distance = _brute(xy, geoms[present], 1, max_m)
    np.testing.assert_array_equal(table["point"], point)
    np.testing.assert_array_equal(table["target"], present[target])
    np.testing.assert_allclose(table["distance_m"], distance, atol=1e-6)
