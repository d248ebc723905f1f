"""One test per declared loss: the warning names column, count and reason; the fieldmap records it."""

from __future__ import annotations

import datetime as dt
import json
import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from shapely.geometry import LineString, Point

from corridormap.errors import DataLossWarning
from corridormap.export.write import export_layers, fieldmap_path, manifest_path, read_back

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def _layer(**columns) -> gpd.GeoDataFrame:
    n = len(next(iter(columns.values())))
    return gpd.GeoDataFrame(
        {"id": [f"f{i}" for i in range(n)], **columns},
        geometry=[Point(77 + i, 28) for i in range(n)],
        crs="EPSG:4326",
    )


def _arrow_floats(values):
    return pd.arrays.ArrowExtensionArray(pa.array(values, type=pa.float64()))


CASES = [
    # (id, format, layer, column, count, kind, message fragment)
    ("gpkg-nan", "gpkg", _layer(x=_arrow_floats([1.0, float("nan"), None])), "x", 1, "nan_to_null", "NaN"),
    ("gpkg-negzero", "gpkg", _layer(x=[-0.0, 1.0]), "x", 1, "negative_zero", "-0.0"),
    ("gpkg-fid", "gpkg", _layer(fid=["a", "b"]), "fid", 2, "rename", "fid_attr"),
    (
        "geojson-int",
        "geojson",
        _layer(n=np.array([2**53 + 1, 5], dtype="int64")),
        "n",
        1,
        "int_to_text",
        "2\\*\\*53",
    ),
    ("geojson-inf", "geojson", _layer(x=[np.inf, 1.0]), "x", 1, "infinity_to_null", "infinity"),
    (
        "parquet-offsets",
        "parquet",
        _layer(t=[dt.datetime(2024, 1, 1, 9, tzinfo=IST), dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC)]),
        "t",
        1,
        "datetime_to_utc",
        "one time zone",
    ),
    ("shp-long-text", "shp", _layer(s=["ज" * 100, "ok"]), "s", 1, "truncated", "254 bytes"),
    ("shp-empty", "shp", _layer(s=["", "x"]), "s", 1, "empty_to_null", "empty text"),
    (
        "shp-datetime",
        "shp",
        _layer(t=[dt.datetime(2024, 1, 1, 9, tzinfo=IST), None]),
        "t",
        1,
        "datetime_to_text",
        "ISO 8601",
    ),
    ("shp-float", "shp", _layer(x=[1e300, 0.5]), "x", 2, "float_to_text", "exact decimal"),
    ("kml-types", "kml", _layer(n=[1, 2]), "n", 2, "int_to_text", "as text"),
    ("kml-reserved", "kml", _layer(begin=["a", "b"]), "begin", 2, "rename", "begin_attr"),
    ("kml-id", "kml", _layer(n=["a", "b"]), "id", 2, "rename", "id_attr"),
    ("kml-cdata", "kml", _layer(s=["a]]>b", "c"]), "s", 1, "text_replaced", r"\]\]>"),
    ("geojson-empty", "geojson", _layer(s=["a"]).iloc[:0], None, 0, "empty_schema", "no column list"),
    ("csv-null-text", "csv", _layer(s=["a", None]), "s", 1, "null_to_empty", "null written as ''"),
    (
        "csv-formula",
        "csv",
        _layer(s=['=HYPERLINK("http://x")', "@SUM(A1)", "-1+2", "plain", "a=b"]),
        "s",
        3,
        "formula_guarded",
        "formula",
    ),
]


@pytest.mark.parametrize(
    ("key", "layer", "column", "count", "kind", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_declared_loss_warns_and_is_recorded(tmp_path, key, layer, column, count, kind, fragment):
    path = tmp_path / f"layer.{key}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export_layers({"layer": layer}, path, driver=key)
    assert all(w.category is DataLossWarning for w in caught)
    message = next(str(w.message) for w in caught if re.search(fragment, str(w.message)))
    assert (f"column {column!r}" if column else "layer 'layer'") in message and f"({count} " in message
    recorded = json.loads(fieldmap_path(path).read_text())["losses"]
    match = [r for r in recorded if r["kind"] == kind and r["column"] == column]
    assert len(match) == 1 and match[0]["count"] == count and match[0]["layer"] == "layer"
    manifest = json.loads(manifest_path(path).read_text())
    assert match[0] in manifest["losses"]


def test_shapefile_names_are_short_unique_and_mapped(tmp_path):
    layer = _layer(population_2011=[1, 2], population_2021=[3, 4], Population=[5, 6], POPULATION_=[7, 8])
    path = tmp_path / "census.shp.zip"
    with pytest.warns(DataLossWarning, match="renamed"):
        export_layers({"census": layer}, path, driver="shp")
    renames = {
        r["column"]: r["mapping"][r["column"]]
        for r in json.loads(fieldmap_path(path).read_text())["losses"]
        if r["kind"] == "rename"
    }
    final = [renames.get(c, c) for c in layer.columns.drop("geometry")]
    assert all(len(n.encode()) <= 10 for n in final)
    assert len({n.lower() for n in final}) == len(final)  # no collision, even ignoring case
    back = read_back(path, "census", driver="shp")
    for original, name in zip(layer.columns.drop("geometry"), final, strict=True):
        assert back[name].astype(str).tolist() == layer[original].astype(str).tolist()


def test_shapefile_mixed_geometries_split_in_one_zip_with_utf8_cpg(tmp_path):
    import zipfile

    layer = gpd.GeoDataFrame(
        {"id": ["p", "l"], "name": ["दिल्ली", "東京"]},
        geometry=[Point(77, 28), LineString([(72, 19), (73, 18)])],
        crs="EPSG:4326",
    )
    path = tmp_path / "mixed.shp.zip"
    with pytest.warns(DataLossWarning, match="split"):
        export_layers({"mixed": layer}, path, driver="shp")
    with zipfile.ZipFile(path) as zf:
        names = sorted(zf.namelist())
        assert "mixed_point.shp" in names and "mixed_line.shp" in names
        assert zf.read("mixed_point.cpg").strip() == b"UTF-8"
    back = read_back(path, "mixed", driver="shp").sort_values("id")
    assert back["name"].tolist() == ["東京", "दिल्ली"]


def test_flatgeobuf_row_order_declared_and_keys_kept(tmp_path):
    layer = gpd.GeoDataFrame({"id": ["far", "near"]}, geometry=[Point(80, 30), Point(70, 10)], crs=4326)
    path = tmp_path / "x.fgb"
    with pytest.warns(DataLossWarning, match="index order"):
        export_layers({"x": layer}, path, driver="fgb")
    assert sorted(read_back(path, "x", driver="fgb")["id"]) == ["far", "near"]


@pytest.mark.parametrize(
    ("caps_of", "tz", "declared"),
    [
        ("parquet", "Asia/Kolkata", False),
        ("postgis", "Asia/Kolkata", True),
        ("postgis", "UTC", False),
        ("gpkg", "Asia/Kolkata", False),
    ],
)
def test_zoned_datetime_columns(caps_of, tz, declared):
    from corridormap.export.adapt import fit
    from corridormap.export.formats import FORMATS
    from corridormap.export.postgis import POSTGIS_CAPS

    caps = POSTGIS_CAPS if caps_of == "postgis" else FORMATS[caps_of].caps
    when = pd.Series(pd.to_datetime(["2024-01-01 09:00", None]).tz_localize(tz))
    fitted, losses = fit("layer", _layer(t=when), caps)
    assert [loss.kind for loss in losses] == (["datetime_to_utc"] if declared else [])
    assert fitted["t"].iloc[0] == when.iloc[0]  # the same instant either way


def test_csv_formula_text_is_neutralised_and_reads_back_with_the_prefix(tmp_path):
    layer = _layer(s=["=1+1", "safe"])
    path = tmp_path / "layer.csv"
    with pytest.warns(DataLossWarning, match="formula"):
        export_layers({"layer": layer}, path, driver="csv")
    text = path.read_text(encoding="utf-8")
    assert "'=1+1" in text and "\n=1+1" not in text and ",=1+1" not in text
    back = read_back(path, "layer", driver="csv")
    assert list(back["s"]) == ["'=1+1", "safe"]
