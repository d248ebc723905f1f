"""PostGIS export against a real, throw-away PostgreSQL + PostGIS server (started by the fixture)."""

from __future__ import annotations

import json
import logging
import warnings

import geopandas as gpd
import psycopg
import pytest
import shapely
from export_hostile import canon, hostile_layer
from postgis_server import postgis_server_fixture  # noqa: F401  (registers fixture postgis_server)
from shapely.geometry import Point

from corridormap.errors import ExportError, OutputExistsError
from corridormap.export.adapt import fit
from corridormap.export.postgis import POSTGIS_CAPS, redact, write_postgis

pytestmark = pytest.mark.postgis


def _nodes(n: int = 3) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [f"n{i}" for i in range(n)], "jobs": list(range(n))},
        geometry=[Point(77 + i / 10, 28) for i in range(n)],
        crs="EPSG:4326",
    )


def _tables(server, schema: str) -> list[str]:
    with psycopg.connect(server.admin()) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    return sorted(r[0] for r in rows)


def test_round_trip_keys_indexes_srid(postgis_server):
    layer = hostile_layer()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = write_postgis(
            {"hostile": layer, "nodes": _nodes().to_crs(7755)}, postgis_server.url_with_password, schema="rt"
        )
    assert written == ["hostile", "nodes"]
    expected, losses = fit("hostile", layer, POSTGIS_CAPS)
    assert sorted(str(w.message) for w in caught) == sorted(str(loss) for loss in losses)
    assert {loss.kind for loss in losses} == {"datetime_to_utc", "rename"}
    renames = {loss.column: loss.mapping[loss.column] for loss in losses if loss.kind == "rename"}
    assert renames == {"fid": "fid_attr", "geom": "geom_attr"}
    with psycopg.connect(postgis_server.admin()) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        cur = conn.execute("SELECT *, ST_AsEWKB(geom) AS wkb FROM rt.hostile")
        names = [d.name for d in cur.description]
        rows = {r[names.index("id")]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
        for col in layer.columns.drop("geometry"):
            is_float = col in ("exact_float", "nan_or_null")
            name = renames.get(col, col)
            for ident, value in zip(expected["id"], expected[name].astype(object), strict=True):
                got = canon(rows[ident][name], float_column=is_float)
                assert got == canon(value, float_column=is_float), (col, ident)
        for ident, geom in zip(layer["id"], layer.geometry, strict=True):
            back = rows[ident]["wkb"]
            assert (back is None) == (geom is None)
            if geom is not None:
                assert shapely.from_wkb(bytes(back)).equals_exact(geom, tolerance=0)
        pk = conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'rt.nodes'::regclass "
            "AND i.indisprimary"
        ).fetchall()
        assert pk == [("id",)]
        gist = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'rt' AND tablename = 'nodes' "
            "AND indexdef LIKE '%gist%'"
        ).fetchall()
        assert len(gist) == 1
        assert conn.execute("SELECT Find_SRID('rt', 'nodes', 'geom')").fetchone() == (7755,)
        manifest = conn.execute(
            "SELECT manifest FROM rt.corridormap_manifest WHERE layer = 'nodes'"
        ).fetchone()[0]
    assert manifest["layer"]["features"] == 3
    assert postgis_server.password not in json.dumps(manifest)


def test_existing_table_refused_then_replaced_others_kept(postgis_server):
    url = postgis_server.url_with_password
    write_postgis({"a": _nodes(2), "b": _nodes(1)}, url, schema="ow")
    with pytest.raises(OutputExistsError, match="a"):
        write_postgis({"a": _nodes(5), "c": _nodes(1)}, url, schema="ow")
    assert _tables(postgis_server, "ow") == ["a", "b", "corridormap_manifest"]
    write_postgis({"a": _nodes(5)}, url, schema="ow", overwrite=True)
    with psycopg.connect(postgis_server.admin()) as conn:
        assert conn.execute("SELECT count(*) FROM ow.a").fetchone() == (5,)
        assert conn.execute("SELECT count(*) FROM ow.b").fetchone() == (1,)


def test_failure_mid_transaction_leaves_no_table(postgis_server):
    bad = _nodes(2)
    bad["note"] = ["fine", "a NUL \x00 byte PostgreSQL text cannot hold"]
    with pytest.raises(ExportError, match="rolled back"):
        write_postgis({"good": _nodes(3), "bad": bad}, postgis_server.url_with_password, schema="tx")
    assert _tables(postgis_server, "tx") == []
    # a failing overwrite keeps the tables it was replacing, as they were
    write_postgis({"good": _nodes(3)}, postgis_server.url_with_password, schema="tx2")
    with pytest.raises(ExportError, match="rolled back"):
        write_postgis(
            {"good": _nodes(7), "bad": bad}, postgis_server.url_with_password, schema="tx2", overwrite=True
        )
    assert _tables(postgis_server, "tx2") == ["corridormap_manifest", "good"]
    with psycopg.connect(postgis_server.admin()) as conn:
        assert conn.execute("SELECT count(*) FROM tx2.good").fetchone() == (3,)


def test_password_never_in_errors_logs_or_manifest(postgis_server, caplog, monkeypatch, tmp_path):
    secret = postgis_server.password
    wrong = postgis_server.url_with_password.replace("p%40ss", "WRONG%40pass")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ExportError) as info:
        write_postgis({"a": _nodes()}, wrong, schema="pw")
    assert "WRONG" not in str(info.value) and "***" in str(info.value)
    assert "WRONG" not in redact(wrong)
    dsn = f"host=127.0.0.1 port={postgis_server.port} dbname=corridor user=corridor_writer password='WRONG x'"
    assert "WRONG" not in redact(dsn) and "password=***" in redact(dsn)
    with pytest.raises(ExportError) as info:
        write_postgis({"a": _nodes()}, dsn, schema="pw")
    assert "WRONG" not in str(info.value)
    # the password from the environment, then from a .pgpass file
    monkeypatch.setenv("PGPASSWORD", secret)
    write_postgis({"env": _nodes()}, postgis_server.url, schema="pw")
    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    escaped = secret.replace("\\", "\\\\").replace(":", "\\:")
    pgpass.write_text(f"127.0.0.1:{postgis_server.port}:corridor:corridor_writer:{escaped}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    write_postgis({"file": _nodes()}, postgis_server.url, schema="pw")
    write_postgis({"url": _nodes()}, postgis_server.url_with_password, schema="pw")
    assert _tables(postgis_server, "pw") == ["corridormap_manifest", "env", "file", "url"]
    for record in caplog.records:
        assert secret not in record.getMessage() and "p%40ss" not in record.getMessage()
    with psycopg.connect(postgis_server.admin()) as conn:
        stored = json.dumps([r[0] for r in conn.execute("SELECT manifest FROM pw.corridormap_manifest")])
    assert secret not in stored and "p%40ss" not in stored and "***" in stored


def test_cli_export_to_postgis(postgis_server, monkeypatch):
    from click.testing import CliRunner

    from corridormap.cli import cli

    monkeypatch.setenv("PGPASSWORD", postgis_server.password)
    result = CliRunner().invoke(
        cli,
        [
            "export",
            "--to",
            postgis_server.url,
            "--schema",
            "cli",
            "--layers",
            "industrial_nodes,freight_rail",
        ],
    )
    assert result.exit_code == 0, result.output
    assert postgis_server.password not in result.output
    assert _tables(postgis_server, "cli") == ["corridormap_manifest", "freight_rail", "industrial_nodes"]
    with psycopg.connect(postgis_server.admin()) as conn:
        comment = conn.execute("SELECT obj_description('cli.industrial_nodes'::regclass)").fetchone()[0]
    assert comment  # the catalog's description
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = CliRunner().invoke(
            cli, ["export", "--to", postgis_server.url, "--schema", "cli", "--layers", "industrial_nodes"]
        )
    assert again.exit_code != 0 and "--overwrite" in again.output
