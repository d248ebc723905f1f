"""Reported distances are geodesic: within 0.01 % of pyproj.Geod anywhere in the belt, k-nearest ranked
by the reported km (property tests; derandomized in CI by the conftest profile)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer

from corridormap.analysis.access import access_card
from corridormap.analysis.geodesic import geodesic_m, geodesic_nearest
from corridormap.crs import BELT_CRS, geodesic_km, scale_bounds

GEOD = Geod(ellps="WGS84")
TO_BELT = Transformer.from_crs("EPSG:4326", BELT_CRS, always_xy=True)
# the DMIC belt and beyond: pairs up to ~1,900 km apart
LON = st.floats(68.5, 81.0, allow_nan=False)
LAT = st.floats(17.0, 31.0, allow_nan=False)
LONLAT = st.tuples(LON, LAT)
REL = 1e-4  # 0.01 %


def _belt(points: list[tuple[float, float]]) -> np.ndarray:
    lon, lat = np.array(points, dtype=float).T
    return np.column_stack(TO_BELT.transform(lon, lat))


def _geod_km(a: tuple[float, float], b: np.ndarray) -> np.ndarray:
    lon, lat = b.T
    return np.asarray(GEOD.inv(np.full(len(b), a[0]), np.full(len(b), a[1]), lon, lat)[2]) / 1000.0


@settings(max_examples=80, deadline=None)
@given(
    st.lists(LONLAT, min_size=1, max_size=6),
    st.lists(LONLAT, min_size=2, max_size=10, unique=True),
    st.integers(1, 4),
)
def test_point_targets_are_geod_distances_in_geod_order(points, targets, k):
    table = geodesic_nearest(_belt(points), shapely.points(_belt(targets)), k=k)
    t_ll = np.array(targets)
    for i, p in enumerate(points):
        ref = _geod_km(p, t_ll)
        mine = table["point"] == i
        assert list(table["rank"][mine]) == list(range(1, min(k, len(targets)) + 1))
        got_km, got_t = table["km"][mine], table["target"][mine]
        np.testing.assert_allclose(got_km, np.sort(ref)[: len(got_km)], rtol=1e-9, atol=2e-6)
        np.testing.assert_allclose(ref[got_t], got_km, rtol=1e-9, atol=2e-6)  # the named feature is that far
        assert (np.diff(got_km) >= 0).all()  # ranked by the reported distance


def _least_geod_km(p: tuple[float, float], line_xy: np.ndarray) -> float:
    """Reference: the least Geod distance from p to the straight EPSG:7755 segment (bounded scalar
    minimisation along it; the distance is unimodal along a segment this short)."""
    from scipy.optimize import minimize_scalar

    to_ll = Transformer.from_crs(BELT_CRS, "EPSG:4326", always_xy=True)

    def km(t: float) -> float:
        lon, lat = to_ll.transform(*(line_xy[0] + t * (line_xy[1] - line_xy[0])))
        return float(GEOD.inv(p[0], p[1], lon, lat)[2]) / 1000.0

    best = minimize_scalar(km, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-10})
    return min(float(best.fun), km(0.0), km(1.0))


@settings(max_examples=60, deadline=None)
@given(
    LONLAT,
    st.lists(st.tuples(LONLAT, st.floats(0, 2 * np.pi), st.floats(1_000, 40_000)), min_size=1, max_size=4),
)
def test_line_targets_within_a_hundredth_of_a_percent_of_geod(point, lines):
    geoms, refs = [], []
    for start, angle, length_m in lines:
        a = _belt([start])[0]
        xy = np.array([a, a + length_m * np.array([np.cos(angle), np.sin(angle)])])
        geoms.append(shapely.linestrings(xy))
        refs.append(_least_geod_km(point, xy))
    table = geodesic_nearest(_belt([point]), np.array(geoms, dtype=object), k=len(geoms))
    ref = np.array(refs)
    for target, km in zip(table["target"], table["km"], strict=True):
        assert abs(km - ref[target]) <= REL * ref[target] + 2e-6  # + the reported millimetre
    assert (np.diff(table["km"]) >= 0).all()


def test_far_points_beyond_600_km_stay_within_tolerance_where_the_planar_figure_did_not():
    # Mundra (west) to the Sonnagar end of the Eastern DFC: ~1,400 km, far past where 1/scale works
    a, b = (69.7, 22.75), (84.0, 24.9)
    km = geodesic_nearest(_belt([a]), shapely.points(_belt([b])))["km"][0]
    ref = GEOD.inv(*a, *b)[2] / 1000.0
    assert ref > 1_400 and abs(km - ref) <= 1e-9 * ref


def test_rank_follows_the_reported_distance_where_planar_order_differs():
    # two targets at nearly the same planar distance: one due east (the scale factor stays near its
    # 24 N minimum on the way), one due north (the factor grows towards 30 N). Planar says east is
    # nearer, the ellipsoid says north; the ranking (and the name in rank 1) is the ellipsoid's
    p = _belt([(75.0, 24.0)])
    east, north = _belt([(80.0, 24.0)])[0], _belt([(75.0, 30.0)])[0]
    d_e, d_n = np.hypot(*(east - p[0])), np.hypot(*(north - p[0]))
    north = p[0] + (north - p[0]) * (d_e * 1.001 / d_n)  # planar: north 0.1 % farther than east
    table = geodesic_nearest(p, shapely.points(np.array([east, north])), k=2)
    geo = geodesic_km(np.repeat(p, 2, axis=0), np.array([east, north]))
    assert geo[1] < geo[0]  # the premise
    assert list(table["target"]) == [1, 0]
    np.testing.assert_allclose(table["km"], np.sort(geo), rtol=1e-9)
    one = geodesic_nearest(p, shapely.points(np.array([east, north])), k=1)
    assert list(one["target"]) == [1]


@pytest.mark.parametrize("k", [1, 2])
def test_many_points_whose_geodesic_nearest_is_not_the_planar_nearest(k):
    # the case above for many more query points than targets, each point a few metres apart, with
    # a far third target: the re-measured candidates are named and measured for the right point
    p = _belt([(75.0, 24.0)])[0]
    east, north = _belt([(80.0, 24.0)])[0], _belt([(75.0, 30.0)])[0]
    d_e, d_n = np.hypot(*(east - p)), np.hypot(*(north - p))
    north = p + (north - p) * (d_e * 1.001 / d_n)
    targets = np.array([_belt([(70.0, 18.0)])[0], east, north])
    xy = p + np.column_stack([np.arange(40.0), np.zeros(40)]) * 3.0
    table = geodesic_nearest(xy, shapely.points(targets), k=k)
    geo = geodesic_km(np.repeat(xy, 3, axis=0), np.tile(targets, (40, 1))).reshape(40, 3)
    planar = np.hypot(*(xy[:, None, :] - targets[None, :, :]).transpose(2, 0, 1))
    assert (np.argmin(geo, axis=1) != np.argmin(planar, axis=1)).sum() >= 10  # the premise
    assert list(table["point"]) == list(np.repeat(np.arange(40), k))
    assert list(table["target"]) == list(np.argsort(geo, axis=1)[:, :k].ravel())
    np.testing.assert_allclose(table["km"].reshape(40, k), np.sort(geo, axis=1)[:, :k], rtol=1e-9, atol=2e-6)


def test_max_distance_is_on_the_reported_km():
    p = _belt([(75.0, 24.0)])
    t = _belt([(75.0, 25.0)])  # 110.77 km
    assert len(geodesic_nearest(p, shapely.points(t), max_distance_km=110.7)["km"]) == 0
    assert len(geodesic_nearest(p, shapely.points(t), max_distance_km=110.8)["km"]) == 1


def test_access_card_km_is_geod_and_point_inside_a_polygon_is_zero():
    node = gpd.GeoDataFrame(
        {"name": ["A", "B"]}, geometry=shapely.points([(75.0, 24.0), (72.0, 20.0)]), crs="EPSG:4326"
    )
    zone = gpd.GeoDataFrame({"name": ["Z"]}, geometry=[shapely.box(74.9, 23.9, 75.1, 24.1)], crs="EPSG:4326")
    card = access_card(node, {"zone": zone})
    assert card.loc[0, "zone_km"] == 0.0
    # B to the zone's nearest corner (74.9, 23.9) along the ellipsoid: within 0.01 %
    ref = GEOD.inv(72.0, 20.0, 74.9, 23.9)[2] / 1000.0
    assert card.loc[1, "zone_km"] == pytest.approx(ref, rel=REL)


def test_scale_bounds_bound_planar_over_geodesic():
    rng = np.random.default_rng(3)
    a = _belt(list(zip(rng.uniform(68.5, 81, 500), rng.uniform(17, 31, 500), strict=True)))
    b = _belt(list(zip(rng.uniform(68.5, 81, 500), rng.uniform(17, 31, 500), strict=True)))
    low, high = scale_bounds(np.vstack([a, b]))
    ratio = np.hypot(*(a - b).T) / 1000.0 / geodesic_km(a, b)
    assert (ratio >= low).all() and (ratio <= high).all()
    assert 1.0 < high / low < 1.02


@pytest.mark.parametrize(
    ("low_m", "high_m", "tolerance_m"), [(1.0, 1e4, 1e-7), (1e4, 1e5, 1e-5), (1e5, 3e5, 2e-4)]
)
def test_geodesic_m_is_geod_within_a_tenth_of_a_millimetre(low_m, high_m, tolerance_m):
    # the scale-factor integral (short pairs) and Geod.inv (long ones) against Geod.inv, over India
    rng = np.random.default_rng(11)
    lon, lat = rng.uniform(66.0, 90.0, 20_000), rng.uniform(5.0, 38.0, 20_000)
    length = np.exp(rng.uniform(np.log(low_m), np.log(high_m), 20_000))
    lon2, lat2, _ = GEOD.fwd(lon, lat, rng.uniform(0.0, 360.0, 20_000), length)
    a, b = _belt(list(zip(lon, lat, strict=True))), _belt(list(zip(lon2, lat2, strict=True)))
    ref = np.asarray(GEOD.inv(lon, lat, lon2, lat2)[2])
    got = geodesic_m(a, b)
    assert np.isfinite(got).all()
    assert np.abs(got - ref).max() <= tolerance_m
    assert geodesic_m(np.empty((0, 2)), np.empty((0, 2))).shape == (0,)
    assert geodesic_m(a[:1], a[:1])[0] == 0.0  # a point to itself: 0, not NaN


@pytest.mark.parametrize("many", [False, True])
@pytest.mark.parametrize("k", [1, 2])
def test_line_targets_whose_geodesic_nearest_is_not_the_planar_nearest(monkeypatch, many, k):
    # short segments across the directions east and north of the points (their nearest locations
    # inside them), north 0.1 % farther in the plane but nearer on the ellipsoid; a far third line.
    # many: the samples path (OpenStreetMap-sized layers); else the grid sweep
    import corridormap.analysis.nearest as nearest

    if many:
        monkeypatch.setattr(nearest, "_DENSE_LIMIT", 0)
    p = _belt([(75.0, 24.0)])[0]
    east, north = _belt([(80.0, 24.0)])[0], _belt([(75.0, 30.0)])[0]
    d_e, d_n = np.hypot(*(east - p)), np.hypot(*(north - p))
    north = p + (north - p) * (d_e * 1.001 / d_n)
    far = _belt([(70.0, 18.0)])[0]
    lines = np.array(
        [
            shapely.linestrings([far, far + [0.0, 5_000.0]]),
            shapely.linestrings([east - [0.0, 2_000.0], east + [0.0, 2_000.0]]),
            shapely.linestrings([north - [2_000.0, 0.0], north + [2_000.0, 0.0]]),
        ]
        + ([shapely.linestrings([p - [500.0, 1_000.0], p + [500.0, -1_000.0]])] if k == 2 else [])
    )  # k = 2: a line 1 km south of the points comes first, then east or north
    xy = p + np.column_stack([np.arange(40.0), np.zeros(40)]) * 3.0
    table = geodesic_nearest(xy, lines, k=k)
    near = shapely.get_coordinates(shapely.shortest_line(shapely.points(xy)[:, None], lines[None, :]))
    n = len(lines)
    near = near.reshape(40, n, 2, 2)[:, :, 1]
    geo = geodesic_km(np.repeat(xy, n, axis=0), near.reshape(-1, 2)).reshape(40, n)
    planar = shapely.distance(shapely.points(xy)[:, None], lines[None, :])
    geo_k, planar_k = np.argsort(geo, axis=1)[:, k - 1], np.argsort(planar, axis=1)[:, k - 1]
    assert (geo_k != planar_k).sum() >= 10  # the premise
    assert list(table["point"]) == list(np.repeat(np.arange(40), k))
    assert list(table["target"]) == list(np.argsort(geo, axis=1)[:, :k].ravel())
    np.testing.assert_allclose(table["km"].reshape(40, k), np.sort(geo, axis=1)[:, :k], rtol=1e-9, atol=2e-6)


@pytest.mark.parametrize(("south", "north"), [(0.5, 44.5), (-59.5, 0.0), (45.0, 79.5)])
def test_the_scale_factor_cubics_are_pyprojs_factor(south, north):
    # over the belt and beyond it, at every fitted latitude; the slope against a central difference
    from pyproj import Proj

    from corridormap.analysis.geodesic import _Conformal

    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(-180.0, 180.0, 5_000), rng.uniform(south, north, 5_000)
    xy = _belt(list(zip(lon, lat, strict=True)))
    c = _Conformal.of_belt()
    k = np.asarray(Proj(BELT_CRS).get_factors(lon, lat).meridional_scale)
    rho = c.rho(xy[:, 0], xy[:, 1])
    np.testing.assert_allclose(c.at(rho) * k, 1.0, rtol=0, atol=1e-9)
    slope = (c.at(rho + 0.5) - c.at(rho - 0.5)) / 1.0
    np.testing.assert_allclose(c.at(rho, derivative=True), slope, rtol=0, atol=1e-15)


@pytest.mark.parametrize(("south", "north"), [(-60.0, -5.0), (45.0, 80.0)])
def test_geodesic_m_is_geod_within_a_tenth_of_a_millimetre_beyond_the_belt(south, north):
    rng = np.random.default_rng(12)
    lon, lat = rng.uniform(-180.0, 180.0, 20_000), rng.uniform(south, north, 20_000)
    length = np.exp(rng.uniform(np.log(1.0), np.log(2.5e5), 20_000))
    lon2, lat2, _ = GEOD.fwd(lon, lat, rng.uniform(0.0, 360.0, 20_000), length)
    a, b = _belt(list(zip(lon, lat, strict=True))), _belt(list(zip(lon2, lat2, strict=True)))
    ref = np.asarray(GEOD.inv(lon, lat, lon2, lat2)[2])
    assert np.abs(geodesic_m(a, b) - ref).max() <= 1e-4


def _helsinki_like(n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """A dense street grid at 60 N (segments 40 m apart, metres long) and points among them."""
    centre = _belt([(24.94, 60.17)])[0]
    rng = np.random.default_rng(60)
    starts = centre + rng.uniform(-1_000.0, 1_000.0, (600, 2))
    ends = starts + rng.uniform(-40.0, 40.0, (600, 2))
    lines = shapely.linestrings(np.stack([starts, ends], axis=1))
    return centre + rng.uniform(-1_000.0, 1_000.0, (n_points, 2)), lines


def test_at_60_north_km_is_geod_and_the_nearest_is_the_geodesic_nearest():
    xy, lines = _helsinki_like(400)
    table = geodesic_nearest(xy, lines, k=2)
    near = shapely.get_coordinates(shapely.shortest_line(shapely.points(xy)[:, None], lines[None, :]))
    near = near.reshape(len(xy), len(lines), 2, 2)[:, :, 1]
    to_ll = Transformer.from_crs(BELT_CRS, "EPSG:4326", always_xy=True)
    lon1, lat1 = to_ll.transform(np.repeat(xy[:, 0], len(lines)), np.repeat(xy[:, 1], len(lines)))
    lon2, lat2 = to_ll.transform(near[..., 0].ravel(), near[..., 1].ravel())
    geo = np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2]).reshape(len(xy), len(lines)) / 1000.0
    np.testing.assert_allclose(table["km"].reshape(-1, 2), np.sort(geo, axis=1)[:, :2], rtol=0, atol=2e-6)
    got = table["target"].reshape(-1, 2)
    np.testing.assert_allclose(np.take_along_axis(geo, got, axis=1), np.sort(geo, axis=1)[:, :2], atol=2e-6)


def _count_extra_searches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many points each geodesic_nearest call sends to the second search (the STRtree's ring
    listing and the cells first for crowded rings)."""
    import corridormap.analysis.geodesic as geodesic

    seen: list[int] = []
    crowded: list[int] = []
    original, cells_first = geodesic._extra_pairs, geodesic._CellTree.pairs

    def counting(q, geoms, valid, need, radius, measured):
        seen.append(len(need) + (crowded.pop() if crowded else 0))
        return original(q, geoms, valid, need, radius, measured)

    def counting_cells(self, xy, idx, *args):
        crowded.append(len(idx))
        return cells_first(self, xy, idx, *args)

    monkeypatch.setattr(geodesic, "_extra_pairs", counting)
    monkeypatch.setattr(geodesic._CellTree, "pairs", counting_cells)
    return seen


def test_at_60_north_few_points_take_the_extra_search(monkeypatch):
    # the ring around each point's nearest follows the factor there, not the belt's fitted range
    # clipped (which sent over half the points of a dense 60 N layer to the STRtree search)
    xy, lines = _helsinki_like(20_000)
    seen = _count_extra_searches(monkeypatch)
    geodesic_nearest(xy, lines)
    assert seen and seen[0] < 0.05 * len(xy)


def test_points_far_beyond_the_belt_and_empty_layers_give_finite_answers():
    # a point in the far north (beyond the fitted latitudes) and one in the belt, against a line
    # near each: Geod.inv measures the far one, the ring falls back to the whole-belt factor bound
    far, near = _belt([(80.0, 52.0)])[0], _belt([(75.0, 24.0)])[0]
    lines = np.array(
        [
            shapely.linestrings([far + [1_000.0, -500.0], far + [1_000.0, 500.0]]),
            shapely.linestrings([near + [-500.0, 700.0], near + [500.0, 700.0]]),
        ]
    )
    table = geodesic_nearest(np.array([far, near]), lines)
    assert list(table["target"]) == [0, 1] and np.isfinite(table["km"]).all()
    to_ll = Transformer.from_crs(BELT_CRS, "EPSG:4326", always_xy=True)
    for p, x, y, km in zip(table["point"], table["x"], table["y"], table["km"], strict=True):
        a, b = to_ll.transform(*np.array([far, near])[p]), to_ll.transform(x, y)
        assert km == pytest.approx(GEOD.inv(*a, *b)[2] / 1000.0, abs=2e-6)
    empty = geodesic_nearest(np.array([far]), np.array([None], dtype=object))
    assert len(empty["km"]) == 0


def test_points_inside_a_building_on_a_landuse_area_take_no_extra_search(monkeypatch):
    # buildings (10 m squares, 30 m apart) on a land-use area, points across both at 60 N: a point
    # inside two polygons is 0 km from both and the lower one is its nearest; the polygons around it
    # need no second search (before: every such point took one), and the answers are Geod's
    centre = _belt([(24.94, 60.17)])[0]
    grid = np.meshgrid(np.arange(0.0, 600.0, 30.0), np.arange(0.0, 600.0, 30.0))
    corners = centre + np.stack(grid, -1).reshape(-1, 2)
    buildings = shapely.box(corners[:, 0], corners[:, 1], corners[:, 0] + 10.0, corners[:, 1] + 10.0)
    landuse = shapely.box(*(centre - 50.0), *(centre + 650.0))
    geoms = np.r_[buildings[: len(buildings) // 2], [landuse], buildings[len(buildings) // 2 :]]
    xy = centre + np.random.default_rng(61).uniform(-100.0, 700.0, (3_000, 2))
    seen = _count_extra_searches(monkeypatch)
    table = geodesic_nearest(xy, geoms)
    inside = shapely.contains_xy(landuse, xy[:, 0], xy[:, 1]).sum()
    assert inside > 2_000 and seen[0] < 0.01 * len(xy)
    assert list(table["point"]) == list(range(len(xy)))
    xy, n = xy[:300], 300  # by brute force: Geod to each feature's nearest location, to the mm
    near = shapely.get_coordinates(shapely.shortest_line(shapely.points(xy)[:, None], geoms[None, :]))
    near = near.reshape(n, len(geoms), 2, 2)[:, :, 1]
    to_ll = Transformer.from_crs(BELT_CRS, "EPSG:4326", always_xy=True)
    lon1, lat1 = to_ll.transform(np.repeat(xy[:, 0], len(geoms)), np.repeat(xy[:, 1], len(geoms)))
    lon2, lat2 = to_ll.transform(near[..., 0].ravel(), near[..., 1].ravel())
    geo = np.round(np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2]).reshape(n, len(geoms)) / 1000.0, 6)
    assert list(table["target"][:n]) == list(np.argmin(geo, axis=1))  # ties: the lower position
    np.testing.assert_allclose(table["km"][:n], geo.min(axis=1), rtol=0, atol=2e-6)


@pytest.mark.parametrize("k", [1, 3])
def test_a_cluster_seen_from_far_is_measured_in_bounded_blocks_with_the_same_answers(monkeypatch, k):
    # many short lines within ~1 km near Delhi, points spread over the belt: every line lies in each
    # point's ring, so the re-rank measures them all; it does so block by block (memory bounded)
    import corridormap.analysis.geodesic as geodesic

    rng = np.random.default_rng(7)
    starts = np.array([77.2, 28.6]) + rng.uniform(-0.005, 0.005, (400, 2))
    ends = starts + rng.normal(0, 0.0005, (400, 2))
    lines = np.array(
        [shapely.linestrings(_belt([tuple(a), tuple(b)])) for a, b in zip(starts, ends, strict=True)]
    )
    xy = _belt([tuple(p) for p in rng.uniform([69, 18], [80, 30], (60, 2))])
    whole = geodesic_nearest(xy, lines, k=k)
    sizes: list[int] = []
    original = geodesic._extra_pairs

    def counting(*args):
        for block in original(*args):
            sizes.append(len(block[0]))
            yield block

    monkeypatch.setattr(geodesic, "PAIRS_PER_BLOCK", 1_000)
    monkeypatch.setattr(geodesic, "_extra_pairs", counting)
    monkeypatch.setattr(geodesic, "_CELL_PAIRS", 10**12)  # the ring listing, not the cells first
    blocked = geodesic_nearest(xy, lines, k=k)
    assert len(sizes) > 10 and max(sizes) <= 1_000 and sum(sizes) > 20 * len(xy)
    for col in ("point", "rank", "target", "km"):
        np.testing.assert_array_equal(blocked[col], whole[col])
    # and it is the geodesic nearest: Geod.inv to every line's nearest location, by brute force
    to_ll = Transformer.from_crs(BELT_CRS, 4326, always_xy=True)
    best = []
    for x, y in xy:
        near = shapely.get_coordinates(shapely.shortest_line(shapely.points(x, y), lines))[1::2]
        lon1, lat1 = to_ll.transform(np.full(len(near), x), np.full(len(near), y))
        lon2, lat2 = to_ll.transform(near[:, 0], near[:, 1])
        best.append(np.sort(GEOD.inv(lon1, lat1, lon2, lat2)[2])[:k] / 1000.0)
    np.testing.assert_allclose(whole["km"].reshape(len(xy), k), np.array(best), rtol=0, atol=2e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pair_bounds_are_never_below_the_features_within_reach(seed):
    # the re-rank groups its points by these bounds to keep each STRtree result within a block:
    # a bound below the true count would let a group's pairs exceed it
    import corridormap.analysis.geodesic as geodesic

    rng = np.random.default_rng(seed)
    n = 3_000
    starts = rng.uniform(0, 50_000, (n, 2))
    # sizes from metres to tens of km (a few long lines), clustered and spread
    length = np.exp(rng.uniform(np.log(2.0), np.log(40_000.0), n))
    angle = rng.uniform(0, 2 * np.pi, n)
    ends = starts + np.column_stack([np.cos(angle), np.sin(angle)]) * length[:, None]
    lines = shapely.linestrings(np.stack([starts, ends], axis=1))
    lines[: n // 3] = shapely.points(rng.normal(20_000, 300, (n // 3, 2)))  # a dense cluster of points
    xy = rng.uniform(-5_000, 55_000, (2_000, 2))
    radius = np.exp(rng.uniform(np.log(1.0), np.log(20_000.0), len(xy)))
    every = np.arange(n)
    bounds = geodesic._pair_bounds(xy, radius, lines, every)
    i, _ = shapely.STRtree(lines).query(shapely.points(xy), predicate="dwithin", distance=radius)
    true = np.bincount(i, minlength=len(xy))
    assert (bounds >= true).all()
    assert np.median(bounds) < 0.2 * n  # and tight enough to be worth it (not every feature)


def test_the_re_rank_queries_groups_within_the_block(monkeypatch):
    # each STRtree search of the re-rank returns at most a block of pairs (or one point's alone)
    import corridormap.analysis.geodesic as geodesic

    rng = np.random.default_rng(8)  # a cluster of short lines near Delhi seen from across the belt
    starts = np.array([77.2, 28.6]) + rng.uniform(-0.005, 0.005, (400, 2))
    ends = starts + rng.normal(0, 0.0005, (400, 2))
    lines = np.array(
        [shapely.linestrings(_belt([tuple(a), tuple(b)])) for a, b in zip(starts, ends, strict=True)]
    )
    xy = _belt([tuple(p) for p in rng.uniform([69, 18], [80, 30], (300, 2))])
    whole = geodesic_nearest(xy, lines)
    results: list[tuple[int, int]] = []
    real = shapely.STRtree

    class Recording(real):  # type: ignore[misc, valid-type]
        def query(self, geometry, predicate=None, distance=None):
            out = super().query(geometry, predicate=predicate, distance=distance)
            results.append((len(np.atleast_1d(geometry)), out.shape[-1]))
            return out

    monkeypatch.setattr(shapely, "STRtree", Recording)
    monkeypatch.setattr(geodesic, "PAIRS_PER_BLOCK", 2_000)
    monkeypatch.setattr(geodesic, "_CELL_PAIRS", 10**12)  # the ring listing, not the cells first
    blocked = geodesic_nearest(xy, lines)
    assert len(results) > 20 and all(pairs <= 2_000 or points == 1 for points, pairs in results)
    assert sum(pairs for _, pairs in results) > 50 * len(xy)  # (the rings hold many lines)
    for col in ("point", "rank", "target", "km"):
        np.testing.assert_array_equal(blocked[col], whole[col])


def test_cell_bounds_never_exceed_the_geodesic_distance_to_a_feature_in_the_cell():
    # the re-rank drops whole cells whose bound lies beyond a point's k-th km: a bound above the
    # true distance to any feature of the cell would drop a feature that ranks
    import corridormap.analysis.geodesic as geodesic
    from corridormap.crs import scale_bounds

    rng = np.random.default_rng(11)
    centres = _belt([tuple(c) for c in rng.uniform([69, 18], [80, 30], (40, 2))])
    starts = np.repeat(centres, 50, axis=0) + rng.normal(0, 3_000, (2_000, 2))
    ends = starts + rng.normal(0, 400, (2_000, 2))
    lines = shapely.linestrings(np.stack([starts, ends], axis=1))
    xy = _belt([tuple(p) for p in rng.uniform([68, 17], [81, 31], (50, 2))])
    low, _ = scale_bounds(np.vstack([xy, shapely.get_coordinates(lines)]))
    cells = geodesic._Cells.of(shapely.bounds(lines), np.ones(len(lines), bool), low)
    to_ll = Transformer.from_crs(BELT_CRS, 4326, always_xy=True)
    for x, y in xy:
        ends_ = shapely.get_coordinates(shapely.shortest_line(shapely.points(x, y), lines))[1::2]
        lon1, lat1 = to_ll.transform(np.full(len(ends_), x), np.full(len(ends_), y))
        lon2, lat2 = to_ll.transform(ends_[:, 0], ends_[:, 1])
        true_km = np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2]) / 1000.0
        # each feature's cell bound is at most the feature's true km
        c = cells.of_feature
        bound_km = (
            geodesic.geodesic_m(np.tile([x, y], (len(c), 1)), cells.centre[c]) - cells.radius_m[c]
        ) / 1000
        assert (bound_km <= true_km).all(), (x, y, float((bound_km - true_km).max()))
        # as the re-rank reads it (one bound per (point, cell)): every cell within the farthest km
        lower = cells.lower_km(
            np.array([[x, y]]), np.zeros(len(cells.centre), dtype=np.intp), np.arange(len(cells.centre))
        )
        assert (lower[c] <= true_km.max()).all()
        # and cells far beyond the reach are dropped (the bound is of use)
        assert not (lower[c] <= 0.0).all()


def test_a_cluster_seen_from_far_is_measured_near_its_edge_only(monkeypatch):
    # 10,000 short lines within 1 km near Delhi, points across the belt: every line is in each
    # point's ring, but only the cells near the cluster's nearest edge are measured
    import corridormap.analysis.geodesic as geodesic

    rng = np.random.default_rng(3)
    starts = np.array([77.2, 28.6]) + rng.uniform(-0.005, 0.005, (10_000, 2))
    ends = starts + rng.normal(0, 0.0005, (10_000, 2))
    lines = shapely.linestrings(np.stack([_belt(starts), _belt(ends)], axis=1))
    xy = _belt([tuple(p) for p in rng.uniform([69, 18], [80, 30], (30, 2))])
    measured: list[int] = []
    real = shapely.shortest_line

    def counting(a, b, **kw):
        measured.append(len(np.atleast_1d(b)))
        return real(a, b, **kw)

    monkeypatch.setattr(shapely, "shortest_line", counting)
    table = geodesic_nearest(xy, lines, k=2)
    assert sum(measured) < 0.1 * len(xy) * len(lines)
    monkeypatch.setattr(geodesic, "_CELL_PAIRS", 10**12)  # no pruning: every pair measured
    whole = geodesic_nearest(xy, lines, k=2)
    for col in ("point", "rank", "target", "km"):
        np.testing.assert_array_equal(table[col], whole[col])


def _far_cluster(kind: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` short lines (or 15 m polygons) within ~1 km near Delhi, 300 points across the belt and 40
    near the cluster."""
    rng = np.random.default_rng(seed)
    starts = np.array([77.2, 28.6]) + rng.uniform(-0.005, 0.005, (n, 2))
    if kind == "lines":
        ends = starts + rng.normal(0, 0.0005, (n, 2))
        geoms = shapely.linestrings(np.stack([_belt(starts), _belt(ends)], axis=1))
    else:
        geoms = shapely.buffer(shapely.points(_belt(starts)), 15.0, quad_segs=2)
    far = rng.uniform([69, 18], [80, 30], (300, 2))
    near = np.array([77.2, 28.6]) + rng.uniform(-0.02, 0.02, (40, 2))
    return _belt(np.vstack([far, near])), geoms


def _listed_pairs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the blocks of (point, feature) pairs the re-rank lists (either way)."""
    import corridormap.analysis.geodesic as geodesic

    sizes: list[int] = []
    ring, cells_first = geodesic._extra_pairs, geodesic._CellTree.pairs

    def counting(original):
        def listing(*args):
            for block in original(*args):
                sizes.append(len(block[0]))
                yield block

        return listing

    monkeypatch.setattr(geodesic, "_extra_pairs", counting(ring))
    monkeypatch.setattr(geodesic._CellTree, "pairs", counting(cells_first))
    return sizes


@pytest.mark.parametrize("k", [1, 3])
def test_a_far_cluster_is_listed_cells_first(monkeypatch, k):
    # every one of the 20,000 lines lies in each far point's ring; the cells are pruned by their
    # geodesic lower bound before any feature is listed, so the pairs listed stay far below
    # points x features (listing the ring first, then pruning: all of them)
    xy, lines = _far_cluster("lines", 20_000, 5)
    sizes = _listed_pairs(monkeypatch)
    table = geodesic_nearest(xy, lines, k=k)
    assert len(table["point"]) == k * len(xy)
    assert 0 < sum(sizes) < 0.01 * len(xy) * len(lines), sum(sizes)


@pytest.mark.parametrize(
    ("kind", "k", "max_km"),
    [("lines", 1, None), ("lines", 3, 700.0), ("polygons", 1, 700.0), ("polygons", 3, None)],
)
def test_a_far_cluster_listed_cells_first_is_geods_nearest(monkeypatch, kind, k, max_km):
    # by brute force: Geod.inv to every feature's nearest location (ties to the lower position),
    # with small blocks (many groups of points and blocks of pairs)
    import corridormap.analysis.geodesic as geodesic

    xy, geoms = _far_cluster(kind, 3_000, 9)
    monkeypatch.setattr(geodesic, "PAIRS_PER_BLOCK", 500)
    sizes = _listed_pairs(monkeypatch)
    bounded: list[int] = []  # the (point, cell) pairs bounded at once, at every level
    lower_km = geodesic._Cells.lower_km

    def counting(self, xy, p, c):
        bounded.append(len(p))
        return lower_km(self, xy, p, c)

    monkeypatch.setattr(geodesic._Cells, "lower_km", counting)
    table = geodesic_nearest(xy, geoms, k=k, max_distance_km=max_km)
    assert len(bounded) > 5 and max(bounded) <= 500
    assert len(sizes) > 5 and sum(sizes) < 0.05 * len(xy) * len(geoms)
    assert max(sizes) <= 2 * 500  # a block, and at most one cell's features more
    to_ll = Transformer.from_crs(BELT_CRS, 4326, always_xy=True)
    want_p, want_t, want_km, geo = [], [], [], []
    for i, (x, y) in enumerate(xy):
        near = shapely.get_coordinates(shapely.shortest_line(shapely.points(x, y), geoms))[1::2]
        lon1, lat1 = to_ll.transform(np.full(len(near), x), np.full(len(near), y))
        lon2, lat2 = to_ll.transform(near[:, 0], near[:, 1])
        km = np.round(np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2]) / 1000.0, 6)
        geo.append(km)
        order = np.lexsort((np.arange(len(km)), km))[:k]
        order = order[km[order] <= max_km] if max_km is not None else order
        want_p += [i] * len(order)
        want_t += list(order)
        want_km += list(km[order])
    assert list(table["point"]) == want_p and 0 < len(want_p) < k * len(xy) + (max_km is None)
    np.testing.assert_allclose(table["km"], want_km, rtol=0, atol=2e-6)
    # the features: Geod's, but for features Geod puts within a few micrometres of each other (each
    # one taken is as near by Geod as the one Geod ranks there)
    taken = np.array([geo[p][t] for p, t in zip(table["point"], table["target"], strict=True)])
    np.testing.assert_allclose(taken, want_km, rtol=0, atol=2e-6)
    assert (np.asarray(table["target"]) != np.asarray(want_t)).sum() <= 0.01 * len(want_t)


@pytest.mark.parametrize("lat", [72.0, 78.5, 82.0, 88.0, -25.0, -50.0, -59.9])
def test_scale_bounds_hold_beyond_the_tabulated_latitudes(lat):
    # the factor is tabulated from 70 N to 20 S; points beyond take the factor at their band's ends
    from pyproj import Proj

    lats = np.array([lat - 0.5, lat, min(lat + 0.5, 89.5)])
    xy = _belt([(15.0, la) for la in lats])
    low, high = scale_bounds(xy)
    factors = Proj(BELT_CRS).get_factors(np.full(3, 15.0), lats).meridional_scale
    assert np.isfinite([low, high]).all()
    assert low <= factors.min() and factors.max() <= high


@pytest.mark.parametrize(
    ("lon", "lat", "max_km"), [(15.0, 78.5, 120.0), (20.0, 79.9, None), (30.0, -59.9, 120.0)]
)
def test_beyond_the_tabulated_latitudes_the_nearest_is_geods(lon, lat, max_km):
    # clusters of short lines around Svalbard / the Southern Ocean, points up to ~250 km away:
    # the planar search's reach (max_distance_km times the highest factor) and the ring must
    # use the factor there, not the table's last (70 N / 20 S)
    rng = np.random.default_rng(0)
    lines = []
    for cl in np.array([lon, lat]) + rng.uniform(-1.5, 1.5, (4, 2)):
        s = cl + rng.uniform(-0.01, 0.01, (150, 2))
        e = s + rng.normal(0, 0.0005, (150, 2))
        lines += list(shapely.linestrings(np.stack([_belt(s), _belt(e)], 1)))
    geoms = np.array(lines, dtype=object)
    xy = _belt([tuple(p) for p in np.array([lon, lat]) + rng.uniform(-2.5, 2.5, (60, 2))])
    table = geodesic_nearest(xy, geoms, max_distance_km=max_km)
    to_ll = Transformer.from_crs(BELT_CRS, 4326, always_xy=True)
    for i, (x, y) in enumerate(xy):
        near = shapely.get_coordinates(shapely.shortest_line(shapely.points(x, y), geoms))[1::2]
        lon1, lat1 = to_ll.transform(np.full(len(near), x), np.full(len(near), y))
        lon2, lat2 = to_ll.transform(near[:, 0], near[:, 1])
        km = np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2]) / 1000.0
        want = km.min() if max_km is None or km.min() <= max_km else None
        got = table["km"][table["point"] == i]
        if want is None:
            assert len(got) == 0
        else:
            assert len(got) == 1 and got[0] == pytest.approx(want, abs=2e-6), (i, got, want)
