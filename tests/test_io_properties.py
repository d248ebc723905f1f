"""Property-based tests (hypothesis) of the loaders, the validators and the joins."""

from __future__ import annotations

import json
import math
import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import corridormap
from corridormap import errors
from corridormap.io._csvcoords import parse_coordinate
from corridormap.io._geomchecks import Context, check_geometry
from corridormap.io.attrjoin import join_attributes
from corridormap.io.report import ValidationReport

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
lon = st.floats(70, 85, allow_nan=False)
lat = st.floats(15, 30, allow_nan=False)
points = st.lists(st.tuples(lon, lat), min_size=1, max_size=7)


@FAST
@given(
    value=st.floats(0, 89.9999, allow_nan=False),
    hemi=st.sampled_from("NS"),
    style=st.sampled_from(["{d}°{m}'{s}\"{h}", "{d} {m} {s} {h}", "{h}{d}d{m}m{s}s"]),
)
def test_dms_round_trip(value: float, hemi: str, style: str) -> None:
    d = int(value)
    m = int((value - d) * 60)
    s = round((value - d - m / 60) * 3600, 4)
    if s >= 60:
        return
    text = style.format(d=d, m=m, s=s, h=hemi)
    parsed, was_dms = parse_coordinate(text, hemispheres="NS")
    assert was_dms
    assert parsed == pytest.approx(value if hemi == "N" else -value, abs=1e-6)


@FAST
@given(value=st.floats(-179.99, 179.99, allow_nan=False))
def test_decimal_comma_round_trip(value: float) -> None:
    text = f"{value:.6f}".replace(".", ",")
    assert parse_coordinate(text, decimal=",")[0] == pytest.approx(round(value, 6))


def _read_polygon(
    ring: list[tuple[float, float]], close: bool
) -> tuple[gpd.GeoDataFrame | None, Exception | None]:
    coords = [list(p) for p in ring] + ([list(ring[0])] if close else [])
    feature = {
        "type": "Feature",
        "properties": {"id": "r"},
        "geometry": {"type": "Polygon", "coordinates": [coords]},
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ring.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", errors.CorridormapWarning)
            try:
                return corridormap.read_file(path), None
            except errors.CorridormapError as exc:
                return None, exc


@FAST
@given(ring=points, close=st.booleans())
def test_loader_never_crashes_and_returns_valid_geometry(
    ring: list[tuple[float, float]], close: bool
) -> None:
    gdf, exc = _read_polygon(ring, close)
    if gdf is None:
        assert isinstance(exc, errors.LayerValidationError | errors.FileFormatError), exc
        assert "Fix:" in str(exc)
        return
    assert len(gdf) == 1  # never a silent drop
    geom = gdf.geometry.iloc[0]
    assert geom is None or geom.is_empty or geom.is_valid


geometries = st.one_of(
    points.map(lambda p: shapely.Polygon(p + [p[0]]) if len(p) >= 3 else shapely.Point(p[0])),
    points.map(lambda p: shapely.LineString(p) if len(p) >= 2 else shapely.Point(p[0])),
    points.map(shapely.MultiPoint),
    st.just(shapely.Polygon()),
    st.none(),
)


@FAST
@given(geoms=st.lists(geometries, min_size=1, max_size=6))
def test_check_geometry_repairs_every_invalid_and_keeps_every_row(geoms: list) -> None:
    gdf = gpd.GeoDataFrame({"n": range(len(geoms))}, geometry=geoms, crs=4326)
    before = gdf.copy()
    values = gdf.geometry.values
    invalid = int((~shapely.is_valid(values) & ~shapely.is_missing(values) & ~shapely.is_empty(values)).sum())
    ctx = Context(ValidationReport("random"), [f"#{i}" for i in range(len(gdf))])
    out = check_geometry(gdf, ctx)
    assert len(out) == len(gdf) and list(out.index) == list(gdf.index)
    result = out.geometry.values
    present = ~shapely.is_missing(result) & ~shapely.is_empty(result)
    assert shapely.is_valid(result[present]).all()
    assert sum(r.check == "invalid-geometry" for r in ctx.report.repairs) == invalid
    assert before.geometry.equals(gdf.geometry)  # input untouched


keys = st.text(alphabet="AB12 ", min_size=1, max_size=4)


@FAST
@given(layer_keys=st.lists(keys, min_size=1, max_size=8), table_keys=st.lists(keys, min_size=0, max_size=8))
def test_join_never_multiplies_or_drops_rows(layer_keys: list[str], table_keys: list[str]) -> None:
    layer = gpd.GeoDataFrame({"k": layer_keys}, geometry=[shapely.Point(77, 28)] * len(layer_keys), crs=4326)
    table = pd.DataFrame({"k": table_keys, "v": range(len(table_keys))})
    stripped = [k.strip() for k in table_keys]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.RepairWarning)
        if len(set(stripped)) < len(stripped):
            with pytest.raises(errors.LayerValidationError):
                join_attributes(layer, table, on="k")
            return
        out = join_attributes(layer, table, on="k")
    assert len(out) == len(layer) and list(out.index) == list(layer.index)
    lookup = dict(zip(stripped, range(len(stripped)), strict=True))
    for key, v in zip(layer_keys, out["v"], strict=True):
        expected = lookup.get(key.strip())
        assert (expected is None and (v is None or (isinstance(v, float) and math.isnan(v)))) or v == expected


@FAST
@given(xy=st.lists(st.tuples(lon, lat), min_size=1, max_size=10), comma=st.booleans())
def test_csv_coordinates_read_back(xy: list[tuple[float, float]], comma: bool) -> None:
    sep, fmt = (";", lambda v: f"{v:.6f}".replace(".", ",")) if comma else (",", lambda v: f"{v:.6f}")
    lines = [sep.join(["id", "latitude", "longitude"])]
    lines += [sep.join([str(i), fmt(y), fmt(x)]) for i, (x, y) in enumerate(xy)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pts.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", errors.RepairWarning)
            gdf = corridormap.read_file(path)
    np.testing.assert_allclose(gdf.geometry.x, [round(x, 6) for x, _ in xy], atol=1e-9)
    np.testing.assert_allclose(gdf.geometry.y, [round(y, 6) for _, y in xy], atol=1e-9)


VALID = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": "a", "n": 1},
                "geometry": {"type": "Point", "coordinates": [77.2, 28.6]},
            },
            {
                "type": "Feature",
                "properties": {"id": "b", "n": 2},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[77, 28], [77.1, 28], [77.1, 28.1], [77, 28]]],
                },
            },
        ],
    }
).encode()


@FAST
@given(
    cut=st.integers(0, len(VALID)),
    junk=st.binary(max_size=20),
    suffix=st.sampled_from([".geojson", ".json", ".csv", ".gpkg", ".shp", ".fgb", ".kml", ".zip", ".dat"]),
)
def test_damaged_files_never_escape_as_bare_exceptions(cut: int, junk: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"damaged{suffix}"
        path.write_bytes(VALID[:cut] + junk + VALID[cut + len(junk) :])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = corridormap.validate_file(path)
            assert report.source == str(path)
            try:
                corridormap.read_file(path)
            except errors.CorridormapError as exc:
                assert report.refused and "Fix:" in str(exc) or "problem" in str(exc)


CELLS = st.one_of(
    st.sampled_from(
        ["", "28.6", "77,2", "N", "28°36'N", "nan", "inf", "=1+1", "POINT (77 28)", "0007", "1e400"]
    ),
    st.text(max_size=5),
)
HEADERS = st.lists(
    st.sampled_from(["lat", "lon", "latitude", "longitude", "x", "y", "wkt", "name", ""]),
    min_size=1,
    max_size=5,
)


@FAST
@given(
    header=HEADERS,
    rows=st.lists(st.lists(CELLS, min_size=1, max_size=6), max_size=5),
    sep=st.sampled_from([",", ";", "\t"]),
)
@example(header=["x", "lat", "lon"], rows=[["inf"]], sep=",")  # "inf" once crashed type inference
def test_any_csv_gives_a_report_or_a_typed_error(header: list[str], rows: list[list[str]], sep: str) -> None:
    text = sep.join(header) + "\n" + "\n".join(sep.join(r) for r in rows) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        path.write_text(text, encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = corridormap.validate_file(path)
            try:
                gdf = corridormap.read_file(path)
            except errors.CorridormapError:
                assert report.refused
            else:
                assert not report.refused and len(gdf) == report.n_features
