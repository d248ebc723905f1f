"""Misuse answered clearly: every bad option, file or environment gets one line naming the option, file
or row, the problem and the fix (exit code 2), or a correct result; never a traceback."""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from click.testing import CliRunner
from shapely.geometry import Point

from corridormap.cli import cli
from corridormap.errors import OutputWriteError, ResourceError
from corridormap.export.write import export_layers

BIN = Path(sys.executable).parent / "corridormap"


def _run(args: list[str]) -> object:
    result = CliRunner().invoke(cli, args)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.mark.parametrize(
    ("args", "option", "says"),
    [
        (["access", "--k", "0"], "'--k'", "1<=x<=50"),
        (["access", "--k", "-3"], "'--k'", "1<=x<=50"),
        (["access", "--k", "400"], "'--k'", "1<=x<=50"),
        (["access", "--k", "100000"], "'--k'", "1<=x<=50"),
        (["access", "--max-km", "-5"], "'--max-km'", "above 0"),
        (["access", "--green-km", "nan"], "'--green-km'", "not a finite number"),
        (["access", "--green-km", "inf"], "'--green-km'", "not a finite number"),
        (["catchments", "--radii", "-10,25"], "'--radii'", "above 0"),
        (["catchments", "--radii", "0"], "'--radii'", "above 0"),
        (["catchments", "--radii", "abc"], "'--radii'", "not a number"),
        (["catchments", "--radii", "10,,25"], "'--radii'", "empty item"),
        (["chainage", "--max-offset-km", "-1"], "'--max-offset-km'", "above 0"),
        (["sites", "--cell-km", "0"], "'--cell-km'", "above 0"),
        (["sites", "--cell-km", "-5"], "'--cell-km'", "above 0"),
        (["sites", "--top", "0"], "'--top'", "x>=1"),
        (["sites", "--top", "-4"], "'--top'", "x>=1"),
        (["validate", "--decimal", "x", "a.csv"], "'--decimal'", "','"),
        (["validate", "--encoding", "bogus", "a.csv"], "'--encoding'", "unknown encoding 'bogus'"),
        (["osm", "fetch", "--tile-deg", "nan"], "'--tile-deg'", "not a finite number"),
    ],
)
def test_numeric_and_choice_options_are_checked_at_the_command_line(
    args: list[str], option: str, says: str, tmp_path: Path
) -> None:
    result = _run(
        [*args, "--out", str(tmp_path / "o")] if args[0] in ("access", "catchments", "sites") else args
    )
    assert result.exit_code == 2
    assert option in result.output and says in result.output
    assert not (tmp_path / "o").exists()  # nothing started, nothing written


def test_cell_km_beyond_this_machine_is_refused_at_once(tmp_path: Path) -> None:
    result = _run(["sites", "--cell-km", "0.01", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    out = result.output
    assert "10,865,546,100 cells" in out or "cells, about" in out
    assert "--cell-km" in out and "--stream" in out and "available" in out
    assert not (tmp_path / "o").exists()


def test_require_grid_fits_names_a_cell_that_fits() -> None:
    from corridormap.sites.suitability import BYTES_PER_CELL, Grid, require_grid_fits

    grid = Grid(0.0, 0.0, 100.0, 10_000, 10_000)  # 1e8 cells of 100 m
    require_grid_fits(grid, available_bytes=int(1e8 * BYTES_PER_CELL * 2))  # fits exactly
    with pytest.raises(ResourceError, match=r"10,000 x 10,000 = 100,000,000 cells.*--cell-km 0\.2 or more"):
        require_grid_fits(grid, available_bytes=int(1e8 * BYTES_PER_CELL / 2))


def _points(n: int = 3) -> dict[str, gpd.GeoDataFrame]:
    frame = gpd.GeoDataFrame(
        {"id": [f"p{i}" for i in range(n)], "name": [f"P {i}" for i in range(n)]},
        geometry=[Point(75 + i, 22) for i in range(n)],
        crs=4326,
    )
    return {"points": frame}


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (errno.ENOSPC, "No space left on device"),
        (errno.EROFS, "Read-only file system"),
        (errno.EACCES, "Permission denied"),
    ],
)
def test_export_refused_by_the_system_is_one_line_and_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, says: str
) -> None:
    out = tmp_path / "corridor.gpkg"
    export_layers(_points(), out)
    before = out.read_bytes()

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(pyogrio, "write_dataframe", refuse)
    with pytest.raises(OutputWriteError, match=f"{says}.*previous corridor.gpkg is unchanged") as info:
        export_layers(_points(5), out, overwrite=True)
    assert info.value.errno == code and isinstance(info.value, OSError)
    assert out.read_bytes() == before
    result = _run(["export", "--out", str(out), "--overwrite", "--layers", "industrial_nodes"])
    assert result.exit_code == 2 and says in result.output and "unchanged" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert out.read_bytes() == before


def test_export_on_a_real_write_limit(tmp_path: Path) -> None:
    """The operating system itself refuses the write (a file-size limit, as a full disk would)."""
    out = tmp_path / "corridor.gpkg"
    first = subprocess.run(
        [BIN, "export", "--out", out, "--layers", "industrial_nodes"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert first.returncode == 0, first.stderr
    before = out.read_bytes()

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64_000, 64_000))

    done = subprocess.run(
        [BIN, "export", "--out", out, "--overwrite"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        preexec_fn=limit,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "writing failed" in done.stderr
    assert "previous corridor.gpkg is unchanged" in done.stderr
    assert out.read_bytes() == before


def test_verbose_shows_the_traceback_of_a_refusal(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["-v", "sites", "--cell-km", "0.01", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "ResourceError" in result.output


def test_csv_rows_without_coordinates_are_left_out_and_reported(tmp_path: Path) -> None:
    from corridormap.errors import DataLossWarning
    from corridormap.io.read import load_file, read_file

    path = tmp_path / "sites.csv"
    rows = ["1,a,75,22", "2,b,,", "3,c,NA,NA", "4,d,null,null", "5,e,-,-", "6,f,0,0", "7,g,76,23", "8,h,77,"]
    path.write_text("id,name,lon,lat\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.warns(DataLossWarning):
        frame = read_file(path, log_dir=tmp_path / "logs")
    assert frame["name"].tolist() == ["a", "g"]
    _, report = load_file(path)
    text = report.to_text()
    assert "6 row(s) have no usable coordinates" in text
    for line in (3, 4, 5, 6, 7, 9):  # the header is line 1
        assert f"line {line}" in text
    log = (tmp_path / "logs" / "sites.csv.repairs.csv").read_text(encoding="utf-8")
    assert log.count("dropped: no coordinates") == 6
    result = _run(["validate", str(path)])
    assert result.exit_code == 0 and "line 9" in result.output


def test_csv_with_no_usable_row_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "none.csv"
    path.write_text("id,lon,lat\n1,,\n2,NA,NA\n3,0,0\n", encoding="utf-8")
    result = _run(["validate", str(path)])
    assert result.exit_code == 1 and "no row has usable coordinates" in result.output


def test_csv_garbled_coordinates_are_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "typo.csv"
    path.write_text("id,lon,lat\n1,75,22\n2,7x5,22\n", encoding="utf-8")
    result = _run(["validate", str(path)])
    assert (
        result.exit_code == 1 and "cannot be read as numbers" in result.output and "line 3" in result.output
    )


# -- files that are not what they should be -----------------------------------------------------------

OSM_FIXTURE = Path(__file__).parent / "fixtures" / "osm" / "rewari.osm"
CLIPPED = """
  <way id="9001" version="1">
    <nd ref="101"/><nd ref="102"/><nd ref="880001"/><nd ref="103"/><nd ref="101"/>
  </way>
  <way id="9002" version="1"><nd ref="880002"/><nd ref="880003"/></way>
  <relation id="9100" version="1">
    <member type="way" ref="9001" role="outer"/><member type="way" ref="9002" role="inner"/>
    <tag k="type" v="multipolygon"/><tag k="landuse" v="industrial"/><tag k="name" v="Clipped estate"/>
  </relation>
  <relation id="9101" version="1">
    <member type="way" ref="9999" role="outer"/>
    <tag k="type" v="multipolygon"/><tag k="landuse" v="industrial"/>
  </relation>
"""


def test_rules_file_that_is_not_utf8(tmp_path: Path) -> None:
    from corridormap.settings import layers_dir

    rules = tmp_path / "rules.toml"
    rules.write_bytes((Path(layers_dir) / "rules" / "gaps.toml").read_bytes() + "\n# café\n".encode("cp1252"))
    result = _run(["gaps", str(rules), "--out", str(tmp_path / "g")])
    assert result.exit_code == 2 and "rules.toml: line" in result.output and "not UTF-8" in result.output
    weights = tmp_path / "weights.toml"
    weights.write_bytes("# Poids économiques\n".encode("cp1252"))
    result = _run(["sites", "--weights", str(weights), "--out", str(tmp_path / "s")])
    assert result.exit_code == 2 and "weights.toml: line 1 is not UTF-8" in result.output


def test_truncated_osm_xml(tmp_path: Path) -> None:
    xml = OSM_FIXTURE.read_text(encoding="utf-8")
    cut = tmp_path / "cut.osm"
    cut.write_text(xml[: len(xml) // 2], encoding="utf-8")
    result = _run(["osm", "extract", str(cut), "--what", "rail", "--out", str(tmp_path / "o.gpkg")])
    assert result.exit_code == 2 and "cut.osm: the OSM XML is truncated or malformed at line" in result.output
    result = _run(["validate", str(cut), "--layer", "rail"])  # validate: exit 1 for a refused file
    assert result.exit_code == 1 and "cut.osm: REFUSED" in result.output and "truncated" in result.output


def test_osm_extract_with_relations_cut_at_its_edge(tmp_path: Path) -> None:
    from corridormap.errors import RepairWarning
    from corridormap.osm import read_extract

    clipped = tmp_path / "clipped.osm"
    clipped.write_text(OSM_FIXTURE.read_text(encoding="utf-8").replace("</osm>", CLIPPED + "</osm>"), "utf-8")
    whole = read_extract(OSM_FIXTURE, "industrial")
    with pytest.warns(
        RepairWarning,
        match=r"1 relation\(s\) kept.*1 relation\(s\) skipped.*1 way\(s\) kept.*1 way\(s\) skipped",
    ):
        cut = read_extract(clipped, "industrial")
    assert sorted(cut["name"].dropna()) == sorted(
        whole["name"].dropna()
    )  # the degenerate estate is not drawn
    result = _run(
        ["osm", "extract", str(clipped), "--what", "industrial,rail", "--out", str(tmp_path / "o.gpkg")]
    )
    assert result.exit_code == 0 and "cut at the extract's edge: 1 relation(s) kept" in result.output


@pytest.mark.parametrize(
    ("area", "says"),
    [
        ("-180,-90,180,90", "64,800 Overpass tiles"),
        ("80,30,70,20", "west must be less than east"),
        ("70,30,80,20", "south must be less than north"),
        ("10,10,20,20", "does not touch India"),
        ("70,20,80,95", "within -90..90"),
        ("1,2,3", "needs four numbers"),
        ("72,20,74,22,5", "needs four numbers"),
    ],
)
def test_impossible_osm_fetch_area_asks_nothing(area: str, says: str, tmp_path: Path) -> None:
    result = _run(
        [
            "osm",
            "fetch",
            "--area",
            area,
            "--offline",
            "--cache-dir",
            str(tmp_path),
            "--out",
            str(tmp_path / "o.gpkg"),
        ]
    )
    assert result.exit_code == 2 and says in result.output
    assert list(tmp_path.iterdir()) == []


# -- readers: data kept and findings named ------------------------------------------------------------


def _geojson(path: Path, features: list[tuple[list[float], dict[str, object]]]) -> Path:
    import json

    items = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": xy}, "properties": props}
        for xy, props in features
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": items}), encoding="utf-8")
    return path


def test_geoparquet_with_a_junk_crs(tmp_path: Path) -> None:
    import json

    import pyarrow.parquet as pq

    from corridormap.io.read import read_file

    good = tmp_path / "good.parquet"
    _points()["points"].to_parquet(good)
    table = pq.read_table(good)
    geo = json.loads(table.schema.metadata[b"geo"])
    geo["columns"]["geometry"]["crs"] = "junk-crs-here"
    junk = tmp_path / "junk.parquet"
    pq.write_table(
        table.replace_schema_metadata({**table.schema.metadata, b"geo": json.dumps(geo).encode()}), junk
    )
    result = _run(["validate", str(junk)])
    assert (
        result.exit_code == 1
        and "PROJ cannot read ('junk-crs-here')" in result.output
        and "--crs" in result.output
    )
    frame = read_file(junk, crs="EPSG:4326")
    assert frame.crs.to_epsg() == 4326 and frame["id"].tolist() == ["p0", "p1", "p2"]


def test_path_with_a_semicolon_is_read_and_written(tmp_path: Path) -> None:
    from corridormap.io.read import read_file

    folder = tmp_path / "survey;2024"
    folder.mkdir()
    source = _geojson(folder / "nodes;v2.geojson", [([75.0, 22.0], {"id": "a", "name": "A"})])
    assert read_file(source)["id"].tolist() == ["a"]
    out = folder / "out;1.gpkg"
    result = _run(["export", "--layers", "industrial_nodes", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert not (folder / "out").exists() and len(read_file(out)) > 20
    result = _run(["export", "--layers", "freight_rail", "--out", str(out)])  # adds a layer to it
    assert result.exit_code == 0, result.output
    result = _run(["validate", str(out), "--layer", "freight_rail"])
    assert result.exit_code == 0 and "out;1.gpkg: ok" in result.output


def test_nodes_far_outside_india_are_warned_about_and_marked(tmp_path: Path) -> None:
    import pandas as pd

    base = {
        "status": "operational",
        "as_of": "2024-01-01",
        "source": "test",
        "geometry_quality": "approximate",
    }
    nodes = _geojson(
        tmp_path / "nodes.geojson",
        [
            ([72.6, 23.0], {"id": "n0", "name": "Ahmedabad", **base}),
            ([0.0, 0.0], {"id": "n1", "name": "Null Island", **base}),
            ([-74.0, 40.7], {"id": "n2", "name": "New York", **base}),
        ],
    )
    result = _run(["access", "--nodes", str(nodes), "--no-network", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "2 node(s) lie far outside India" in result.output
    assert "#1 (Null Island), #2 (New York)" in result.output
    card = pd.read_csv(tmp_path / "o" / "access.csv")
    assert card.set_index("name")["outside_india"].to_dict() == {
        "Ahmedabad": False,
        "Null Island": True,
        "New York": True,
    }


def test_geojson_integers_beyond_64_bits_are_kept_as_text(tmp_path: Path) -> None:
    from corridormap.errors import RepairWarning
    from corridormap.io.read import load_file, read_file

    path = _geojson(
        tmp_path / "codes.geojson",
        [
            ([75.0 + i, 22.0], {"id": f"c{i}", "code": v})
            for i, v in enumerate([2**64 + 5, 12, None, -(2**63) - 1])
        ],
    )
    with pytest.warns(RepairWarning, match="big-integers"):
        frame = read_file(path)
    assert frame["code"].tolist() == ["18446744073709551621", "12", None, "-9223372036854775809"]
    text = load_file(path)[1].to_text()
    assert "2 integer(s) beyond the 64-bit range" in text and "#0, #3" in text and "'code'" in text


def _point_m_shapefile(folder: Path) -> Path:
    """A one-point PointM shapefile (shape type 21), written byte by byte (GDAL writes no M here)."""
    import struct

    shp = folder / "measured.shp"
    gpd.GeoDataFrame({"id": ["m"]}, geometry=[Point(75, 22)], crs=4326).to_file(shp, engine="pyogrio")
    x, y, m = 75.0, 22.0, 7.0
    record = struct.pack("<i3d", 21, x, y, m)
    words = (100 + 8 + len(record)) // 2

    def header(length_words: int) -> bytes:
        return (
            struct.pack(">7i", 9994, 0, 0, 0, 0, 0, length_words)
            + struct.pack("<2i", 1000, 21)
            + struct.pack("<8d", x, y, x, y, 0.0, 0.0, m, m)
        )

    shp.write_bytes(header(words) + struct.pack(">2i", 1, len(record) // 2) + record)
    (folder / "measured.shx").write_bytes(header(54) + struct.pack(">2i", 50, len(record) // 2))
    return shp


def test_m_values_dropped_are_a_finding(tmp_path: Path) -> None:
    from corridormap.io.read import load_file

    frame, report = load_file(_point_m_shapefile(tmp_path))  # (GDAL's raw warning would fail here)
    assert frame is not None and frame.geometry.iloc[0].wkt == "POINT (75 22)"
    assert "1 feature(s) have measure (M) values; dropped" in report.to_text()
    result = _run(["validate", str(tmp_path / "measured.shp")])
    assert result.exit_code == 0 and "measure (M) values" in result.output


def _cut_shapefile(folder: Path, *, cpg: bool = True) -> Path:
    long_name = ("औद्योगिक क्षेत्र " * 20).encode("utf-8")[:254]  # cut inside a 3-byte character
    placeholder = "x" * 254
    frame = gpd.GeoDataFrame(
        {"id": ["a", "b", "c"], "name": [placeholder, "Dholera", placeholder]},
        geometry=[Point(75, 22), Point(72, 22), Point(73, 22)],
        crs=4326,
    )
    shp = folder / "nodes.shp"
    frame.to_file(shp, engine="pyogrio", layer_options={"ENCODING": "UTF-8"})
    dbf = folder / "nodes.dbf"
    dbf.write_bytes(dbf.read_bytes().replace(placeholder.encode(), long_name))
    if not cpg:
        (folder / "nodes.cpg").unlink()
    return shp


@pytest.mark.parametrize("cpg", [True, False], ids=["with-cpg", "no-cpg"])
def test_shapefile_utf8_cut_mid_character_loads(tmp_path: Path, cpg: bool) -> None:
    from corridormap.errors import RepairWarning
    from corridormap.io.read import load_file, read_file

    shp = _cut_shapefile(tmp_path, cpg=cpg)
    with pytest.warns(RepairWarning):
        frame = read_file(shp)
    whole = "औद्योगिक क्षेत्र " * 20
    assert frame["name"].iloc[1] == "Dholera"
    for value in frame["name"].iloc[[0, 2]]:
        assert value.endswith("\ufffd") and whole.startswith(value[:-1])
        assert len(value[:-1].encode("utf-8")) >= 254 - 2  # only the cut character is lost
    text = load_file(shp)[1].to_text()
    assert "2 value(s) end in a character cut" in text and "#0, #2" in text and "field 'name'" in text
    assert "cp1252" not in text


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "{junk}"],
        ["validate", "{binary}"],
        ["validate", "{cut}"],
        ["access", "--nodes", "{cut}", "--no-network"],
        ["access", "--graph", "{junk}", "--no-network"],
        ["access", "--states", "{junk}", "--no-network"],
        ["catchments", "--features", "{binary}"],
        ["gaps", "{junk}"],
        ["sites", "--weights", "{junk}"],
        ["osm", "extract", "{junk}"],
        ["raster", "info", "{binary}"],
        ["export", "--layers", "nope"],
        ["export", "--crs", "EPSG:99999", "--layers", "industrial_nodes"],
        ["chainage", "--line", "nope"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_no_command_ends_in_a_traceback_on_bad_input(args: list[str], tmp_path: Path) -> None:
    files = {
        "junk": tmp_path / "junk.geojson",
        "binary": tmp_path / "bin.gpkg",
        "cut": tmp_path / "cut.geojson",
    }
    files["junk"].write_text("garbage\n", encoding="utf-8")
    files["binary"].write_bytes(b"\x00\x01\x02")
    files["cut"].write_text('{"type":"FeatureCollection","features":[', encoding="utf-8")
    filled = [a.format(**files) for a in args]
    out = ["--out", str(tmp_path / ("o.gpkg" if args[0] in ("export", "osm") else "o"))]
    result = _run(filled + ([] if args[0] in ("validate", "raster") else out))
    assert result.exit_code in (1, 2)
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and ("Fix" in result.output or "refused" in last), result.output
