"""A corpus of broken (and a few good) users' files, written by the tests into a temporary folder.

``write(name, folder)`` writes the case ``name`` and returns the path to pass to the loader. The
behaviour expected of each case is in ``expected.toml`` beside this file.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

Writer = Callable[[Path], Path]
WRITERS: dict[str, Writer] = {}

SQUARE = [[77.0, 28.0], [77.1, 28.0], [77.1, 28.1], [77.0, 28.1], [77.0, 28.0]]


def case(name: str) -> Callable[[Writer], Writer]:
    def register(fn: Writer) -> Writer:
        WRITERS[name] = fn
        return fn

    return register


def write(name: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return WRITERS[name](folder)


def feature(geom: dict | None, /, **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geom}


def geojson(folder: Path, name: str, features: list[dict], text: str | None = None) -> Path:
    path = folder / name
    body = text if text is not None else json.dumps({"type": "FeatureCollection", "features": features})
    path.write_text(body, encoding="utf-8")
    return path


def poly(*rings: list) -> dict:
    return {"type": "Polygon", "coordinates": list(rings)}


def pt(x: float, y: float, *z: float) -> dict:
    return {"type": "Point", "coordinates": [x, y, *z]}


def frame(n: int = 3, **columns: object) -> gpd.GeoDataFrame:
    data = {"id": [f"P{i}" for i in range(n)], **columns}
    return gpd.GeoDataFrame(data, geometry=[shapely.Point(77 + i / 10, 28) for i in range(n)], crs=4326)


# ---- good files in every format ------------------------------------------------------------------


@case("good.geojson")
def _(d: Path) -> Path:
    return geojson(
        d,
        "good.geojson",
        [feature(pt(77.2, 28.6), id="A", name="Delhi"), feature(pt(72.9, 19.1), id="B", name="Mumbai")],
    )


@case("good.gpkg")
def _(d: Path) -> Path:
    frame().to_file(d / "good.gpkg", layer="plots", driver="GPKG")
    return d / "good.gpkg"


@case("good.fgb")
def _(d: Path) -> Path:
    frame().to_file(d / "good.fgb", driver="FlatGeobuf")
    return d / "good.fgb"


@case("good.parquet")
def _(d: Path) -> Path:
    frame().to_parquet(d / "good.parquet")
    return d / "good.parquet"


@case("good.kml")
def _(d: Path) -> Path:
    pyogrio.write_dataframe(frame().rename(columns={"id": "Name"}), d / "good.kml", driver="KML")
    return d / "good.kml"


@case("good_shp_folder")
def _(d: Path) -> Path:
    (d / "shp").mkdir()
    frame(name=["Rewari", "Dadri", "Palanpur"]).to_file(d / "shp" / "plots.shp", encoding="UTF-8")
    return d / "shp"


@case("good.shp")
def _(d: Path) -> Path:
    frame().to_file(d / "plots.shp")
    return d / "plots.shp"


@case("good_shp.zip")
def _(d: Path) -> Path:
    frame(name=["Sānand", "Dholera", "Vikram"]).to_file(d / "plots.shp", encoding="UTF-8")
    with zipfile.ZipFile(d / "plots.zip", "w") as zf:
        for part in d.glob("plots.*"):
            if part.suffix != ".zip":
                zf.write(part, f"plots/{part.name}")
    return d / "plots.zip"


def _csv(d: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    (d / name).write_bytes(text.encode(encoding))
    return d / name


@case("good.csv")
def _(d: Path) -> Path:
    return _csv(
        d, "good.csv", "id,name,latitude,longitude,code\n1,Rewari,28.19,76.62,007\n2,Dadri,28.55,77.55,012\n"
    )


@case("dms.csv")
def _(d: Path) -> Path:
    return _csv(d, "dms.csv", 'id,lat,lon\n1,"28°36\'36""N","77°12\'0""E"\n2,19 4 30 N,72 52 40 E\n')


@case("decimal_comma.csv")
def _(d: Path) -> Path:
    return _csv(d, "decimal_comma.csv", "id;lat;lon;mw\n1;28,61;77,21;12,5\n2;19,07;72,88;3\n")


@case("wkt.csv")
def _(d: Path) -> Path:
    return _csv(d, "wkt.csv", 'id,wkt\n1,"POINT (77.2 28.6)"\n2,"LINESTRING (72.9 19.1, 77.2 28.6)"\n')


@case("bad_coords.csv")
def _(d: Path) -> Path:
    return _csv(d, "bad_coords.csv", "id,lat,lon\n1,28.6,77.2\n2,north,77.2\n3,19.1,72.9\n")


@case("xy_no_crs.csv")
def _(d: Path) -> Path:
    return _csv(d, "xy_no_crs.csv", "id,x,y\n1,724000,3167000\n2,300000,2110000\n")


@case("no_coords.csv")
def _(d: Path) -> Path:
    return _csv(d, "no_coords.csv", "id,name\n1,a\n")


# ---- geometry -----------------------------------------------------------------------------------


@case("bowtie.geojson")
def _(d: Path) -> Path:
    ring = [[77.0, 28.0], [77.1, 28.1], [77.1, 28.0], [77.0, 28.1], [77.0, 28.0]]
    return geojson(d, "bowtie.geojson", [feature(poly(ring), id="bow"), feature(poly(SQUARE), id="ok")])


@case("unclosed_ring.geojson")
def _(d: Path) -> Path:
    return geojson(d, "unclosed_ring.geojson", [feature(poly(SQUARE[:-1]), id="open")])


@case("hole_outside.geojson")
def _(d: Path) -> Path:
    hole = [[78.0, 28.0], [78.1, 28.0], [78.1, 28.1], [78.0, 28.0]]
    return geojson(d, "hole_outside.geojson", [feature(poly(SQUARE, hole), id="h")])


@case("collapsed_ring.geojson")
def _(d: Path) -> Path:
    flat = [[77.0, 28.0], [77.1, 28.0], [77.2, 28.0], [77.0, 28.0]]
    return geojson(
        d, "collapsed_ring.geojson", [feature(poly(flat), id="flat"), feature(poly(SQUARE), id="ok")]
    )


@case("sliver_hole.geojson")
def _(d: Path) -> Path:
    tiny = [[77.05, 28.05], [77.050001, 28.05], [77.050001, 28.050001], [77.05, 28.05]]
    return geojson(d, "sliver_hole.geojson", [feature(poly(SQUARE, tiny), id="s")])


@case("empty_geometries.geojson")
def _(d: Path) -> Path:
    return geojson(
        d,
        "empty_geometries.geojson",
        [
            feature(pt(77, 28), id="a"),
            feature(None, id="null"),
            feature({"type": "Polygon", "coordinates": []}, id="empty"),
        ],
    )


@case("mixed_types.geojson")
def _(d: Path) -> Path:
    return geojson(d, "mixed_types.geojson", [feature(pt(77, 28), id="p"), feature(poly(SQUARE), id="q")])


@case("nested_collection.geojson")
def _(d: Path) -> Path:
    inner = {"type": "GeometryCollection", "geometries": [pt(77, 28), pt(77.1, 28.1)]}
    outer = {"type": "GeometryCollection", "geometries": [inner, pt(77.2, 28.2)]}
    return geojson(d, "nested_collection.geojson", [feature(outer, id="gc")])


@case("mixed_collection.geojson")
def _(d: Path) -> Path:
    gc = {"type": "GeometryCollection", "geometries": [pt(77, 28), poly(SQUARE)]}
    return geojson(d, "mixed_collection.geojson", [feature(gc, id="gc")])


@case("z_coords.geojson")
def _(d: Path) -> Path:
    return geojson(d, "z_coords.geojson", [feature(pt(77, 28, 212.0), id="z")])


# ---- coordinates and CRS ------------------------------------------------------------------------


@case("projected_as_degrees.geojson")
def _(d: Path) -> Path:
    return geojson(
        d,
        "projected_as_degrees.geojson",
        [feature(pt(724000, 3167000), id="a"), feature(pt(300000, 2110000), id="b")],
    )


@case("degrees_as_utm.gpkg")
def _(d: Path) -> Path:
    frame().set_crs("EPSG:32643", allow_override=True).to_file(d / "degrees_as_utm.gpkg", driver="GPKG")
    return d / "degrees_as_utm.gpkg"


@case("swapped.geojson")
def _(d: Path) -> Path:
    return geojson(d, "swapped.geojson", [feature(pt(28.6, 77.2), id="a"), feature(pt(19.1, 72.9), id="b")])


@case("out_of_range.geojson")
def _(d: Path) -> Path:
    return geojson(
        d,
        "out_of_range.geojson",
        [feature(pt(77.2, 28.6), id="a"), feature(pt(77.2, 95.0), id="b"), feature(pt(72.9, 19.1), id="c")],
    )


@case("nan_coords.geojson")
def _(d: Path) -> Path:
    text = (
        '{"type":"FeatureCollection","features":['
        + json.dumps(feature(pt(77.2, 28.6), id="a"))
        + ',{"type":"Feature","properties":{"id":"nan"},'
        '"geometry":{"type":"Point","coordinates":[NaN,28.6]}},'
        '{"type":"Feature","properties":{"id":"inf"},"geometry":{"type":"LineString","coordinates":'
        "[[77,28],[Infinity,28.5]]}}]}"
    )
    return geojson(d, "nan_coords.geojson", [], text)


@case("far_away.geojson")
def _(d: Path) -> Path:
    return geojson(d, "far_away.geojson", [feature(pt(-47.9, -15.8), id="brasilia")])


@case("antimeridian.geojson")
def _(d: Path) -> Path:
    line = {"type": "LineString", "coordinates": [[179.5, 10.0], [-179.5, 10.5]]}
    return geojson(d, "antimeridian.geojson", [feature(line, id="dateline")])


@case("duplicate_ids.geojson")
def _(d: Path) -> Path:
    return geojson(
        d,
        "duplicate_ids.geojson",
        [feature(pt(77, 28), id="A"), feature(pt(77.1, 28), id="A"), feature(pt(77.2, 28), id="B")],
    )


@case("no_prj.shp")
def _(d: Path) -> Path:
    frame().to_file(d / "noprj.shp")
    (d / "noprj.prj").unlink()
    return d / "noprj.shp"


def _utm_shapefile(d: Path, prj: str) -> Path:
    gpd.GeoDataFrame({"id": ["a"]}, geometry=[shapely.Point(724000, 3167000)], crs=32643).to_file(d / "u.shp")
    (d / "u.prj").write_text(prj)
    return d / "u.shp"


@case("garbage_prj")
def _(d: Path) -> Path:
    return _utm_shapefile(d, "this is not WKT")


@case("local_crs")
def _(d: Path) -> Path:
    wkt = 'LOCAL_CS["site grid",LOCAL_DATUM["x",0],UNIT["metre",1],AXIS["X",EAST],AXIS["Y",NORTH]]'
    return _utm_shapefile(d, wkt)


# ---- encodings ----------------------------------------------------------------------------------


@case("cp1252.geojson")
def _(d: Path) -> Path:
    text = json.dumps(
        {"type": "FeatureCollection", "features": [feature(pt(77, 28), id="a", name="Bhiwadi café")]},
        ensure_ascii=False,
    )
    (d / "cp1252.geojson").write_bytes(text.encode("cp1252"))
    return d / "cp1252.geojson"


@case("cp1252.csv")
def _(d: Path) -> Path:
    return _csv(d, "cp1252.csv", "id,name,latitude,longitude\n1,Café Rewari,28.19,76.62\n", "cp1252")


def _shp_with_text(d: Path, encoding: str, cpg: str | None) -> Path:
    frame(
        name=["Sānand café", "Dholera", "Vikram"] if encoding == "UTF-8" else ["café", "Dholera", "naïve"]
    ).to_file(d / "t.shp", encoding=encoding)
    cpg_path = d / "t.cpg"
    if cpg is None:
        cpg_path.unlink(missing_ok=True)
    else:
        cpg_path.write_text(cpg)
    return d / "t.shp"


@case("shp_latin_no_cpg")
def _(d: Path) -> Path:
    return _shp_with_text(d, "cp1252", None)


@case("shp_utf8_no_cpg")
def _(d: Path) -> Path:
    return _shp_with_text(d, "UTF-8", None)


@case("shp_cpg_says_utf8")
def _(d: Path) -> Path:
    return _shp_with_text(d, "cp1252", "UTF-8")


@case("shp_cpg_says_1252")
def _(d: Path) -> Path:
    return _shp_with_text(d, "UTF-8", "1252")


# ---- fields and values --------------------------------------------------------------------------


@case("reserved_names.geojson")
def _(d: Path) -> Path:
    return geojson(d, "reserved_names.geojson", [feature(pt(77, 28), id="a", fid=7, geometry="text")])


@case("case_collision.geojson")
def _(d: Path) -> Path:
    return geojson(d, "case_collision.geojson", [feature(pt(77, 28), id="a", Name="x", name="y", NAME="z")])


@case("long_names.geojson")
def _(d: Path) -> Path:
    return geojson(d, "long_names.geojson", [feature(pt(77, 28), id="a", **{"n" * 70: 1})])


@case("truncation_collision.geojson")
def _(d: Path) -> Path:
    return geojson(
        d,
        "truncation_collision.geojson",
        [feature(pt(77, 28), id="a", capacity_mw_2020=1, capacity_mw_2030=2)],
    )


@case("non_ascii_names.geojson")
def _(d: Path) -> Path:
    return geojson(d, "non_ascii_names.geojson", [feature(pt(77, 28), id="a", **{"क्षमता": 5, "état": "x"})])


@case("hostile.geojson")
def _(d: Path) -> Path:
    return geojson(
        d,
        "hostile.geojson",
        [
            feature(pt(77, 28), id="a", name="<script>alert(1)</script>"),
            feature(pt(77.1, 28), id="b", name='<img src=x onerror="alert(2)">'),
            feature(pt(77.2, 28), id="c", name="plain"),
        ],
    )


@case("control_chars.geojson")
def _(d: Path) -> Path:
    return geojson(d, "control_chars.geojson", [feature(pt(77, 28), id="a", name="bell\x07here\x1b[31m")])


@case("formulas.geojson")
def _(d: Path) -> Path:
    return geojson(
        d,
        "formulas.geojson",
        [
            feature(pt(77, 28), id="a", note='=HYPERLINK("http://x")'),
            feature(pt(77.1, 28), id="b", note="-12.5"),
        ],
    )


@case("huge_text.geojson")
def _(d: Path) -> Path:
    return geojson(d, "huge_text.geojson", [feature(pt(77, 28), id="a", blob="x" * 40000)])


@case("mixed_column.geojson")
def _(d: Path) -> Path:
    return geojson(
        d, "mixed_column.geojson", [feature(pt(77, 28), id="a", v=1), feature(pt(77.1, 28), id="b", v="two")]
    )


@case("big_ints.geojson")
def _(d: Path) -> Path:
    return geojson(
        d,
        "big_ints.geojson",
        [feature(pt(77, 28), id="a", big=9007199254740993), feature(pt(77.1, 28), id="b", big=None)],
    )


@case("time_zones.geojson")
def _(d: Path) -> Path:
    return geojson(
        d,
        "time_zones.geojson",
        [
            feature(pt(77, 28), id="a", t="2024-01-01T10:00:00+05:30"),
            feature(pt(77.1, 28), id="b", t="2024-01-01T10:00:00Z"),
        ],
    )


@case("mixed_csv_column.csv")
def _(d: Path) -> Path:
    return _csv(
        d, "mixed_csv_column.csv", "id,latitude,longitude,mw\n1,28.6,77.2,10\n2,19.1,72.9,12\n3,21,73,n/a\n"
    )


# ---- whole files --------------------------------------------------------------------------------


@case("truncated.geojson")
def _(d: Path) -> Path:
    full = json.dumps({"type": "FeatureCollection", "features": [feature(pt(77, 28), id="a")]})
    return geojson(d, "truncated.geojson", [], full[: len(full) // 2])


@case("corrupt.gpkg")
def _(d: Path) -> Path:
    frame().to_file(d / "corrupt.gpkg", driver="GPKG")
    data = (d / "corrupt.gpkg").read_bytes()
    (d / "corrupt.gpkg").write_bytes(
        data[:100] + bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8))
    )
    return d / "corrupt.gpkg"


def _halve(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _polygons(n: int = 40) -> gpd.GeoDataFrame:
    shapes = [shapely.box(77 + i / 100, 28, 77.005 + i / 100, 28.005) for i in range(n)]
    return gpd.GeoDataFrame({"id": [f"P{i}" for i in range(n)]}, geometry=shapes, crs=4326)


@case("truncated_shp")
def _(d: Path) -> Path:
    _polygons().to_file(d / "t.shp")
    return _halve(d / "t.shp").parent


@case("truncated_dbf")
def _(d: Path) -> Path:
    _polygons().to_file(d / "t.shp")
    _halve(d / "t.dbf")
    return d / "t.shp"


@case("mismatched_parts")
def _(d: Path) -> Path:
    _polygons(5).to_file(d / "t.shp")
    _polygons(7).to_file(d / "other.shp")
    (d / "t.dbf").write_bytes((d / "other.dbf").read_bytes())
    return d / "t.shp"


@case("truncated.fgb")
def _(d: Path) -> Path:
    _polygons().to_file(d / "t.fgb", driver="FlatGeobuf")
    return _halve(d / "t.fgb")


@case("truncated.parquet")
def _(d: Path) -> Path:
    _polygons().to_parquet(d / "t.parquet")
    return _halve(d / "t.parquet")


@case("truncated.gpkg")
def _(d: Path) -> Path:
    _polygons().to_file(d / "t.gpkg", driver="GPKG")
    return _halve(d / "t.gpkg")


@case("empty.geojson")
def _(d: Path) -> Path:
    (d / "empty.geojson").write_bytes(b"")
    return d / "empty.geojson"


@case("gpkg_named.geojson")
def _(d: Path) -> Path:
    frame().to_file(d / "real.gpkg", driver="GPKG")
    (d / "real.gpkg").rename(d / "gpkg_named.geojson")
    return d / "gpkg_named.geojson"


@case("text_named.geojson")
def _(d: Path) -> Path:
    (d / "text_named.geojson").write_text("hello, this is not geojson\n")
    return d / "text_named.geojson"


@case("junk.dat")
def _(d: Path) -> Path:
    (d / "junk.dat").write_bytes(bytes(range(256)) * 4)
    return d / "junk.dat"


@case("folder_without_shp")
def _(d: Path) -> Path:
    (d / "folder").mkdir()
    (d / "folder" / "readme.txt").write_text("nothing here")
    return d / "folder"


@case("missing_shx")
def _(d: Path) -> Path:
    frame().to_file(d / "m.shp")
    (d / "m.shx").unlink()
    return d / "m.shp"


@case("missing_dbf")
def _(d: Path) -> Path:
    frame().to_file(d / "m.shp")
    (d / "m.dbf").unlink()
    return d / "m.shp"


@case("two_shapefiles")
def _(d: Path) -> Path:
    (d / "two").mkdir()
    frame().to_file(d / "two" / "a.shp")
    frame().to_file(d / "two" / "b.shp")
    return d / "two"


@case("multi_layer.gpkg")
def _(d: Path) -> Path:
    frame().to_file(d / "multi.gpkg", layer="plots", driver="GPKG")
    frame(2).to_file(d / "multi.gpkg", layer="sites", driver="GPKG")
    return d / "multi.gpkg"


@case("multi_folder.kml")
def _(d: Path) -> Path:
    placemark = "<Placemark><name>{}</name><Point><coordinates>{}</coordinates></Point></Placemark>"
    folders = "".join(
        f"<Folder><name>{name}</name>{placemark.format(name, xy)}</Folder>"
        for name, xy in (("plots", "77,28"), ("sites", "77.1,28.1"))
    )
    (d / "multi.kml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        f"<Document>{folders}</Document></kml>",
        encoding="utf-8",
    )
    return d / "multi.kml"


@case("missing_file.geojson")
def _(d: Path) -> Path:
    return d / "not_here.geojson"


# ---- rasters ------------------------------------------------------------------------------------


def _raster(d: Path, name: str, *, crs: str | None, fill: float, west: float, north: float) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    data = np.full((8, 8), fill, dtype="float32")
    with rasterio.open(
        d / name,
        "w",
        driver="GTiff",
        width=8,
        height=8,
        count=1,
        dtype="float32",
        crs=crs,
        transform=from_origin(west, north, 0.1, 0.1),
        nodata=-9999,
    ) as dst:
        dst.write(data, 1)
    return d / name


@case("raster_ok.tif")
def _(d: Path) -> Path:
    return _raster(d, "ok.tif", crs="EPSG:4326", fill=5.0, west=77.0, north=28.5)


@case("raster_no_crs.tif")
def _(d: Path) -> Path:
    return _raster(d, "nocrs.tif", crs=None, fill=5.0, west=77.0, north=28.5)


@case("raster_all_nodata.tif")
def _(d: Path) -> Path:
    return _raster(d, "nodata.tif", crs="EPSG:4326", fill=-9999, west=77.0, north=28.5)


@case("raster_outside.tif")
def _(d: Path) -> Path:
    return _raster(d, "outside.tif", crs="EPSG:4326", fill=5.0, west=-48.0, north=-15.0)
