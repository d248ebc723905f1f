"""Formats beyond the corpus: KMZ, OSM extracts (through corridormap.osm), format sniffing, options."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

import corridormap
from corridormap import errors
from corridormap.io.read import detect_format, list_layers
from corridormap.validate import validate_file

OSM_FIXTURE = Path(__file__).parent / "fixtures" / "osm" / "rewari.osm"


def _points(n: int = 2) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"Name": [f"p{i}" for i in range(n)]},
        geometry=[shapely.Point(77 + i / 10, 28) for i in range(n)],
        crs=4326,
    )


def test_kmz(tmp_path: Path) -> None:
    pyogrio.write_dataframe(_points(), tmp_path / "doc.kml", driver="KML")
    with zipfile.ZipFile(tmp_path / "sites.kmz", "w") as zf:
        zf.write(tmp_path / "doc.kml", "doc.kml")
    gdf = corridormap.read_file(tmp_path / "sites.kmz")
    assert gdf["Name"].tolist() == ["p0", "p1"]
    assert detect_format(tmp_path / "sites.kmz") == ("kmz", "kmz")


def test_osm_extract_needs_a_kind_then_loads() -> None:
    with pytest.raises(errors.FileFormatError, match="--layer KIND"):
        corridormap.read_file(OSM_FIXTURE)
    with pytest.raises(errors.DataSourceNotFoundError, match="kinds are: rail"):
        corridormap.read_file(OSM_FIXTURE, layer="railways")
    rail = corridormap.read_file(OSM_FIXTURE, layer="rail")
    assert len(rail) > 0 and set(rail.geom_type) <= {"LineString", "MultiLineString"}
    assert validate_file(OSM_FIXTURE, layer="rail").format == "osm"


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (b'{"type": "FeatureCollection"}', "a.json", "geojson"),
        (b"\xef\xbb\xbf  {", "a.geojson", "geojson"),
        (b"<?xml version='1.0'?><kml>", "a.xml", "kml"),
        (b"<?xml version='1.0'?><osm version='0.6'>", "a.osm", "osm"),
        (b"id,lat,lon\n1,2,3\n", "a.txt", "csv"),
        (b"II*\x00rest", "a.tif", "raster"),
    ],
)
def test_format_is_sniffed_from_content(tmp_path: Path, head: bytes, name: str, expected: str) -> None:
    (tmp_path / name).write_bytes(head)
    assert detect_format(tmp_path / name)[0] == expected


def test_raster_given_to_read_file_says_what_to_use(tmp_path: Path) -> None:
    (tmp_path / "dem.tif").write_bytes(b"II*\x00" + bytes(64))
    with pytest.raises(errors.FileFormatError, match="is a raster"):
        corridormap.read_file(tmp_path / "dem.tif")


def test_list_layers_of_a_geopackage(tmp_path: Path) -> None:
    _points().to_file(tmp_path / "m.gpkg", layer="a", driver="GPKG")
    _points(3).to_file(tmp_path / "m.gpkg", layer="b", driver="GPKG")
    assert list_layers(tmp_path / "m.gpkg") == [("a", "Point"), ("b", "Point")]
    with pytest.raises(errors.FileFormatError, match=r"2 layers: a \(Point\), b \(Point\).*--layer"):
        corridormap.read_file(tmp_path / "m.gpkg")


def test_projected_file_keeps_its_crs_and_is_checked_in_degrees(tmp_path: Path) -> None:
    _points().to_crs("EPSG:32643").to_file(tmp_path / "utm.gpkg", driver="GPKG")
    gdf = corridormap.read_file(tmp_path / "utm.gpkg")
    assert gdf.crs.to_epsg() == 32643
    assert not validate_file(tmp_path / "utm.gpkg").findings


def test_reading_never_mutates_and_returns_fresh_index(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("id,lat,lon,code\n7,28.6,77.2,007\n8,19.1,72.9,010\n", encoding="utf-8")
    gdf = corridormap.read_file(tmp_path / "p.csv")
    assert list(gdf.index) == [0, 1]
    assert gdf["code"].tolist() == ["007", "010"]  # codes with leading zeros stay text
    assert gdf["id"].tolist() == [7, 8]


def test_errors_are_also_builtins() -> None:
    assert issubclass(errors.FileFormatError, ValueError)
    assert issubclass(errors.EncodingError, UnicodeError)
    assert issubclass(errors.DataSourceNotFoundError, FileNotFoundError)


def test_hostile_text_from_a_user_file_is_escaped_in_the_map(tmp_path: Path) -> None:
    path = tmp_path / "hostile.geojson"
    gdf = _points(1).assign(Name=["<script>alert(1)</script>"], note=['<img src=x onerror="alert(2)">'])
    gdf.to_file(path, driver="GeoJSON")
    report = validate_file(path)
    assert {f.field for f in report.findings if f.check == "hostile-text"} == {"Name", "note"}
    loaded = corridormap.read_file(path)
    assert loaded["Name"].iloc[0] == "<script>alert(1)</script>"  # stored as text, unchanged
    html = corridormap.build_map({"mine": loaded}, {}, fit_to=None, offline=True).get_root().render()
    assert "alert(1)" in html and "<script>alert(1)" not in html and 'onerror="alert(2)"' not in html


def test_geojson_feature_level_ids_are_kept(tmp_path: Path) -> None:
    features = [
        {
            "type": "Feature",
            "id": fid,
            "properties": {"name": n},
            "geometry": {"type": "Point", "coordinates": [77, 28]},
        }
        for fid, n in ((17, "a"), (42, "b"))
    ]
    path = tmp_path / "ids.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    assert corridormap.read_file(path)["id"].tolist() == [17, 42]


def test_csv_long_numeric_codes_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("lat,lon,code,mw\n28.6,77.2,123456789012345678901,5\n", encoding="utf-8")
    gdf = corridormap.read_file(path)
    assert gdf["code"].iloc[0] == "123456789012345678901" and gdf["mw"].iloc[0] == 5
    notes = [f.problem for f in validate_file(path).findings if f.check == "csv-types"]
    assert notes == ["columns read as numbers: mw"]


@pytest.mark.parametrize(
    ("name", "text"),
    [("none.geojson", '{"type": "FeatureCollection", "features": []}'), ("none.csv", "id,lat,lon\n")],
)
def test_a_file_without_features_loads_with_a_warning(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    report = validate_file(tmp_path / name)
    assert not report.refused and "no-features" in {f.check for f in report.findings}
    assert "loaded with warnings" in report.to_text()
    assert len(corridormap.read_file(tmp_path / name)) == 0


def test_ewkt_srid_gives_the_crs(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text('id,wkt\n1,"SRID=32643;POINT (724000 3167000)"\n2,"SRID=32643;POINT (700000 3100000)"\n')
    gdf = corridormap.read_file(path)
    assert gdf.crs.to_epsg() == 32643 and gdf.geometry.x.tolist() == [724000, 700000]
    path.write_text('id,wkt\n1,"SRID=32643;POINT (724000 3167000)"\n2,"SRID=4326;POINT (77 28)"\n')
    assert "crs-mixed" in {f.check for f in validate_file(path).findings if f.severity == "refuse"}


def test_hostile_field_name_is_flagged(tmp_path: Path) -> None:
    path = tmp_path / "h.geojson"
    _points(1).assign(**{"<b onmouseover=alert(1)>x": [1]}).to_file(path, driver="GeoJSON")
    found = [f for f in validate_file(path).findings if f.check == "hostile-text"]
    assert [f.field for f in found] == ["<b onmouseover=alert(1)>x"]
