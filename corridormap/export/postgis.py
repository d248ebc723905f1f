"""Write layers into PostGIS: one transaction, primary keys, spatial indexes, SRIDs, no password leaks.

:func:`write_postgis` creates one table per layer in a schema, inside a single transaction: any
failure (a bad value, a lost connection, a refused overwrite) rolls everything back and leaves no
table behind. Each table gets a primary key (the layer's ``id`` column when it is unique and never
null, else a generated ``fid``), a GIST index on its geometry and the layer's SRID; the layer's
description becomes the table comment; counts, keys and SRIDs are checked before the commit. The
export's manifest is stored in ``<schema>.corridormap_manifest``.

The password may be in the URL, in ``PGPASSWORD`` or in a ``.pgpass`` file (libpq reads both); it
never appears in logs, manifests or error messages (see :func:`redact`).
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import geopandas as gpd
import pandas as pd
import shapely

from ..crs import require_crs
from ..errors import CRSError, ExportError, OutputExistsError, require
from .adapt import Caps, Loss, column_kind, fit
from .manifest import build_manifest, spec_meta

__all__ = ["write_postgis", "redact", "POSTGIS_CAPS"]

log = logging.getLogger(__name__)

POSTGIS_CAPS = Caps(
    "PostGIS",
    datetime="instant",
    name_bytes=63,
    reserved=frozenset({"geom", "fid"}),
    case_insensitive_names=False,
)
_SQL_TYPES = {
    "int": "bigint",
    "float": "double precision",
    "bool": "boolean",
    "text": "text",
    "date": "date",
    "other": "text",
}


_DSN_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact(url: str) -> str:
    """The URL (or ``key=value`` DSN) with any password replaced by ``***`` (safe to log or show)."""
    if "://" not in url:
        return _DSN_PASSWORD.sub(r"\1***", url)
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def _scrub(text: str, url: str) -> str:
    found = _DSN_PASSWORD.search(url) if "://" not in url else None
    password = found.group(2).strip("'") if found else urlsplit(url).password
    if password:
        for form in {password, unquote(password)}:
            text = text.replace(form, "***")
    return text.replace(url, redact(url))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _srid(gdf: gpd.GeoDataFrame, name: str) -> int:
    epsg = require_crs(gdf, f"layer {name!r}").to_epsg()
    if epsg is None:
        raise CRSError(
            f"layer {name!r} has a CRS without an EPSG code, which PostGIS needs as SRID. Fix: "
            f"pass crs= (--crs) with an EPSG code, e.g. 4326 or 7755"
        )
    return int(epsg)


def _geometry_type(geoms: gpd.GeoSeries) -> str | None:
    """The typmod (``PointZ``, ``Geometry``, ...), or ``None`` when 2D and 3D are mixed."""
    present = geoms[~geoms.isna()]
    types = set(present.geom_type)
    base = types.pop() if len(types) == 1 else "Geometry"
    if not len(present) or not present.has_z.any():
        return base
    return base + "Z" if present.has_z.all() else None


def _python(value: Any, float_column: bool) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if not float_column and isinstance(value, float) and value != value:  # pandas' NaN for missing
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _key_column(frame: gpd.GeoDataFrame) -> str | None:
    if "id" in frame.columns and frame["id"].notna().all() and frame["id"].is_unique:
        return "id"
    return None


def _columns(frame: gpd.GeoDataFrame) -> list[tuple[str, str]]:
    cols = []
    for col in frame.columns:
        if col == frame.geometry.name:
            continue
        kind = column_kind(frame[col])
        if kind == "datetime":
            aware = any(getattr(v, "tzinfo", None) is not None for v in frame[col].dropna())
            cols.append((str(col), "timestamptz" if aware else "timestamp"))
        else:
            cols.append((str(col), _SQL_TYPES[kind]))
    return cols


def _create(cur: Any, schema: str, table: str, frame: gpd.GeoDataFrame, srid: int, note: str) -> None:
    cols = _columns(frame)
    key = _key_column(frame)
    ddl = [f"{_ident(c)} {t}" + (" PRIMARY KEY" if c == key else "") for c, t in cols]
    if key is None:
        ddl.insert(0, "fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
    gtype = _geometry_type(frame.geometry)
    if gtype is None:  # 2D and 3D mixed: no typmod holds both; the SRID is enforced by a constraint
        ddl.append(f"geom geometry CONSTRAINT enforce_srid_geom CHECK (ST_SRID(geom) = {srid})")
    else:
        ddl.append(f"geom geometry({gtype}, {srid})")
    qualified = f"{_ident(schema)}.{_ident(table)}"
    cur.execute(f"CREATE TABLE {qualified} ({', '.join(ddl)})")
    names = [_ident(c) for c, _ in cols] + ["geom"]
    holders = ["%s"] * len(cols) + [f"ST_SetSRID(ST_GeomFromEWKB(%s), {srid})"]
    sql = f"INSERT INTO {qualified} ({', '.join(names)}) VALUES ({', '.join(holders)})"
    wkb = shapely.to_wkb(frame.geometry.values, include_srid=False, flavor="extended")
    values = [frame[c].astype(object).tolist() for c, _ in cols]
    floats = [t == "double precision" for _, t in cols]
    rows = [
        [_python(col[i], f) for col, f in zip(values, floats, strict=True)]
        + [None if w is None else bytes(w)]
        for i, w in enumerate(wkb)
    ]
    cur.executemany(sql, rows)
    cur.execute(f"CREATE INDEX {_ident(table + '_geom_gist')} ON {qualified} USING GIST (geom)")
    if note:  # COMMENT takes no bind parameters: quote the text as a literal
        from psycopg import sql as pgsql

        comment = pgsql.SQL("COMMENT ON TABLE {} IS {}")
        cur.execute(comment.format(pgsql.Identifier(schema, table), pgsql.Literal(note)))


def _verify(cur: Any, schema: str, table: str, frame: gpd.GeoDataFrame, srid: int) -> None:
    qualified = f"{_ident(schema)}.{_ident(table)}"
    key = _key_column(frame)
    cur.execute(f"SELECT count(*), Find_SRID(%s, %s, 'geom') FROM {qualified}", (schema, table))
    count, found_srid = cur.fetchone()
    problems = []
    if count != len(frame):
        problems.append(f"{count} rows in the table, {len(frame)} features written")
    if found_srid != srid:
        problems.append(f"SRID {found_srid}, expected {srid}")
    if key is not None and not problems:
        cur.execute(f"SELECT {_ident(key)}::text FROM {qualified}")
        if sorted(r[0] for r in cur.fetchall()) != sorted(str(v) for v in frame[key]):
            problems.append(f"the values of key column {key!r} differ")
    if problems:
        raise ExportError(
            f"table {schema}.{table} failed verification: {'; '.join(problems)}; nothing was "
            f"committed. Fix: report this with the input"
        )


def _prepare(layers: Mapping[str, gpd.GeoDataFrame], crs: object) -> tuple[dict[str, Any], list[Loss]]:
    frames, losses = {}, []
    for name, gdf in layers.items():
        frame = gdf.reset_index(drop=True)
        if crs is not None:
            frame = frame.to_crs(crs)
        fitted, found = fit(name, frame, POSTGIS_CAPS)
        frames[name] = (fitted, _srid(fitted, name))
        losses.extend(found)
    for loss in losses:
        warnings.warn(str(loss), loss.warning_class(), stacklevel=3)
    return frames, losses


def write_postgis(
    layers: Mapping[str, gpd.GeoDataFrame],
    url: str,
    *,
    schema: str = "corridormap",
    overwrite: bool = False,
    crs: object = None,
    specs: Mapping[str, Any] | None = None,
) -> list[str]:
    """Write ``layers`` as tables of ``schema`` in one transaction; return the table names.

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame
        Layers by name; each becomes a table of that name.
    url : str
        ``postgresql://USER[:PASSWORD]@HOST:PORT/DB``. Leave the password out to use ``PGPASSWORD``
        or ``~/.pgpass``; it is never logged or shown either way.
    schema : str, default "corridormap"
        Created if missing.
    overwrite : bool, default False
        Replace tables that exist; without it an existing table raises
        :class:`~corridormap.errors.OutputExistsError` and nothing is written.
    crs : CRS-like, optional
        Reproject first (the SRID must have an EPSG code).
    specs : mapping, optional
        Catalog specs by layer name; their descriptions become table comments.
    """
    psycopg = require("psycopg", "postgis")
    frames, losses = _prepare(layers, crs)
    try:
        with psycopg.connect(url, connect_timeout=30) as conn, conn.cursor() as cur:  # type: ignore[attr-defined]
            cur.execute("SET TIME ZONE 'UTC'")
            _refuse_existing(cur, schema, list(frames), overwrite)
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)}")
            for name, (frame, srid) in frames.items():
                cur.execute(f"DROP TABLE IF EXISTS {_ident(schema)}.{_ident(name)} CASCADE")
                note = spec_meta((specs or {}).get(name)).get("description", "")
                _create(cur, schema, name, frame, srid, note)
                _verify(cur, schema, name, frame, srid)
            manifest = build_manifest(
                {n: f for n, (f, _) in frames.items()},
                specs=specs,
                losses=[loss.as_dict() for loss in losses],
                options={"to": redact(url), "schema": schema},
            )
            _store_manifest(cur, schema, manifest)
    except psycopg.Error as exc:  # type: ignore[attr-defined]
        raise ExportError(
            f"PostGIS export to {redact(url)} failed and was rolled back, no table was "
            f"written: {_scrub(str(exc), url)}. Fix: check the server, the role's rights "
            f"and the value named above"
        ) from None
    log.info("wrote %d table(s) to %s schema %s", len(frames), redact(url), schema)
    return list(frames)


def _refuse_existing(cur: Any, schema: str, tables: list[str], overwrite: bool) -> None:
    cur.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_name = ANY(%s)",
        (schema, tables),
    )
    existing = sorted(r[0] for r in cur.fetchall())
    if existing and not overwrite:
        raise OutputExistsError(
            f"schema {schema} already has table(s) {', '.join(existing)}; nothing was "
            f"written. Fix: pass overwrite=True (--overwrite) to replace them"
        )


def _store_manifest(cur: Any, schema: str, manifest: dict[str, Any]) -> None:
    table = f"{_ident(schema)}.corridormap_manifest"
    cur.execute(f"CREATE TABLE IF NOT EXISTS {table} (layer text PRIMARY KEY, manifest jsonb NOT NULL)")
    for name, entry in manifest["layers"].items():
        record = {**{k: v for k, v in manifest.items() if k != "layers"}, "layer": entry}
        text = json.dumps(record, sort_keys=True, default=str, allow_nan=False)
        cur.execute(
            f"INSERT INTO {table} (layer, manifest) VALUES (%s, %s::jsonb) ON CONFLICT (layer) "
            f"DO UPDATE SET manifest = EXCLUDED.manifest",
            (name, text),
        )
