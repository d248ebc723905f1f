"""Every format round-trips the hostile layer: exact where it can, declared where it cannot."""

from __future__ import annotations

import json
import warnings

import pytest
import shapely
from export_hostile import canon_column, hostile_layer
from pyproj import CRS

from corridormap.errors import DataLossWarning
from corridormap.export.formats import FORMATS, adapt_layer, target_crs
from corridormap.export.write import export_layers, fieldmap_path, manifest_path, read_back

#: geometry comparison per format: tolerance in CRS units, or "shape" (same shape, any vertex order)
GEOMETRY_CHECK = {
    "gpkg": 0.0,
    "fgb": 0.0,
    "parquet": 0.0,
    "csv": 0.0,
    "geojson": 0.5e-7,
    "kml": 1e-12,
    "kmz": 1e-12,
    "shp": "shape",
}


@pytest.fixture(scope="module")
def hostile():
    return hostile_layer()


def _export(tmp_path, key, layer):
    path = tmp_path / f"hostile{FORMATS[key].suffixes[0]}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export_layers({"hostile": layer}, path, driver=key)
    fieldmap = fieldmap_path(path)
    declared = json.loads(fieldmap.read_text())["losses"] if fieldmap.exists() else []
    return path, [w for w in caught], declared


@pytest.mark.parametrize("key", sorted(FORMATS))
def test_round_trip_is_exact_or_declared(tmp_path, key, hostile):
    fmt = FORMATS[key]
    path, caught, declared = _export(tmp_path, key, hostile)
    assert all(issubclass(w.category, DataLossWarning) for w in caught), [str(w.message) for w in caught]
    assert len(caught) == len(declared)  # every warning is recorded beside the output, and back
    renames = {d["column"]: d["mapping"][d["column"]] for d in declared if d["kind"] == "rename"}
    changed = {d["column"] for d in declared if d["kind"] != "rename" and d["column"]}
    expected, _ = adapt_layer("hostile", hostile, fmt, target_crs(fmt, None))
    got = read_back(path, "hostile", driver=key)
    assert len(got) == len(hostile)
    assert CRS(got.crs).equals(CRS(hostile.crs))
    for column in hostile.columns.drop("geometry"):
        name = renames.get(column, column)
        # untouched columns must equal the input; declared ones what the declared mapping gives
        source, source_name = (expected, name) if name in changed else (hostile, column)
        want = canon_column(source, source_name, key="id" if source is hostile else renames.get("id", "id"))
        have = canon_column(got, name, key=renames.get("id", "id"))
        bad = {k: (want[k], have.get(k)) for k in want if want[k] != have.get(k)}
        assert not bad, f"{key}: column {column!r} differs: {str(bad)[:500]}"
    _check_geometry(key, hostile, got, declared, renames.get("id", "id"))


def _check_geometry(key, sent, got, declared, id_column):
    check = GEOMETRY_CHECK[key]
    by_id = dict(zip(got[id_column].astype(str), got.geometry, strict=True))
    z_added = any(d["kind"] == "z_added" for d in declared)
    z_dropped = any(d["kind"] == "z_dropped" for d in declared)
    for ident, geom in zip(sent["id"], sent.geometry, strict=True):
        back = by_id[ident]
        if geom is None:
            assert back is None or back.is_empty, (key, ident)
            continue
        if z_added and not geom.has_z:
            back = shapely.force_2d(back)
        if z_dropped:
            geom = shapely.force_2d(geom)
        assert back.has_z == geom.has_z, (key, ident)
        if check == "shape":
            assert shapely.equals(shapely.force_2d(back), shapely.force_2d(geom)), (key, ident)
            assert sorted(shapely.get_coordinates(back, include_z=True).tolist()) == sorted(
                shapely.get_coordinates(geom, include_z=True).tolist()[: len(shapely.get_coordinates(back))]
            ) or shapely.equals(back, geom)
        else:
            assert back.geom_type == geom.geom_type, (key, ident)
            assert back.equals_exact(geom, tolerance=check), (key, ident, back.wkt, geom.wkt)


@pytest.mark.parametrize("key", ["gpkg", "fgb", "parquet"])
def test_lossless_formats_give_back_the_frame(tmp_path, key):
    """Plain columns through the lossless formats: assert_geodataframe_equal after dtype alignment."""
    import geopandas as gpd
    from geopandas.testing import assert_geodataframe_equal
    from shapely.geometry import Point

    layer = gpd.GeoDataFrame(
        {"id": ["a", "b"], "count": [2**62, -5], "share": [0.1, 1 / 3], "ok": [True, False]},
        geometry=[Point(77.2, 28.6, 1.0), Point(72.9, 19.1, 2.0)],
        crs="EPSG:7755",
    )
    path = tmp_path / f"plain{FORMATS[key].suffixes[0]}"
    if key in ("fgb", "parquet"):  # rows in spatial order: declared
        with pytest.warns(DataLossWarning, match="index order|Hilbert-curve order"):
            export_layers({"plain": layer}, path, driver=key)
    else:
        export_layers({"plain": layer}, path, driver=key)
    if key == "parquet":  # the layer's columns, without the bbox covering column
        got = gpd.read_parquet(path, columns=["id", "count", "share", "ok", "geometry"])
    else:
        got = gpd.read_file(path, layer="plain")
    got = got.sort_values("id").reset_index(drop=True)
    assert_geodataframe_equal(got, layer, check_dtype=False, check_less_precise=False)


@pytest.mark.parametrize("key", sorted(FORMATS))
def test_empty_layer_round_trips(tmp_path, key):
    empty = hostile_layer().iloc[:0]
    path = tmp_path / f"empty{FORMATS[key].suffixes[0]}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)
        export_layers({"empty": empty}, path, driver=key)
    got = read_back(path, "empty", driver=key)
    assert len(got) == 0 and CRS(got.crs).equals(CRS("EPSG:4326"))
    assert json.loads(manifest_path(path).read_text())["layers"]["empty"]["features"] == 0
