"""GeoParquet 1.1: valid against the official schema, a bbox covering, Hilbert order, skippable row groups."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import jsonschema
import numpy as np
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import shapely
from referencing import Registry, Resource

import corridormap
from corridormap.errors import DataLossWarning
from corridormap.export.formats import hilbert_order, write_geoparquet
from corridormap.export.write import export_layers, read_back

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_NAME = "geoparquet-1.1.0.schema.json"
PROJJSON_NAME = "projjson-0.7.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    """The official GeoParquet 1.1.0 metadata schema, its PROJJSON reference resolved offline."""
    folder = next(
        (
            p / "shared" / "reference"
            for p in ROOT.parents
            if (p / "shared" / "reference" / SCHEMA_NAME).is_file()
        ),
        None,
    )
    if folder is None:
        pytest.fail(f"shared/reference/{SCHEMA_NAME} is missing beside the repository (or its parent)")
    schema = json.loads((folder / SCHEMA_NAME).read_text(encoding="utf-8"))
    projjson = json.loads((folder / PROJJSON_NAME).read_text(encoding="utf-8"))
    registry: Registry = Registry().with_resource(projjson["$id"], Resource.from_contents(projjson))
    return jsonschema.Draft7Validator(schema, registry=registry)


@pytest.fixture(scope="module")
def layers() -> dict[str, gpd.GeoDataFrame]:
    return corridormap.load_layers()


def _geo(path: Path) -> dict:
    return json.loads(pq.read_schema(path).metadata[b"geo"])


def _export(layers: dict[str, gpd.GeoDataFrame], out: Path, crs: str | None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLossWarning)  # the Hilbert row order is declared
        export_layers(layers, out, driver="parquet", crs=crs)


@pytest.mark.parametrize("crs", [None, "EPSG:7755"])
def test_catalog_layers_are_valid_geoparquet_1_1(tmp_path, layers, validator, crs) -> None:
    out = tmp_path / "parquet"
    _export(layers, out, crs)
    for name, layer in layers.items():
        path = out / f"{name}.parquet"
        geo = _geo(path)
        errors = [e.message for e in validator.iter_errors(geo)]
        assert not errors, (name, errors)
        column = geo["columns"][geo["primary_column"]]
        assert geo["version"] == "1.1.0"
        assert column["covering"]["bbox"] == {k: ["bbox", k] for k in ("xmin", "ymin", "xmax", "ymax")}
        table = pq.read_table(path)
        got = gpd.read_parquet(path)
        boxes = np.column_stack(
            [table["bbox"].combine_chunks().field(k).to_numpy() for k in ("xmin", "ymin", "xmax", "ymax")]
        )
        assert np.array_equal(boxes, shapely.bounds(got.geometry.values)), f"{name}: bbox column = bounds"
        assert column["bbox"] == got.total_bounds.tolist()
        assert (hilbert_order(got.geometry) == np.arange(len(got))).all(), f"{name}: rows in Hilbert order"
        # every feature and value back, whatever the row order
        back = _by_key(read_back(path, name, driver="parquet"))
        sent = _by_key(layer if crs is None else layer.to_crs(crs))
        attributes = list(sent.columns.drop(sent.geometry.name))
        assert list(back.columns.drop(back.geometry.name)) == attributes, name
        assert back.geometry.geom_equals_exact(sent.geometry, tolerance=0).all(), name
        for col in attributes:
            want = sent[col].astype(object).where(sent[col].notna(), None).tolist()
            have = back[col].astype(object).where(back[col].notna(), None).tolist()
            assert [str(v) for v in have] == [str(v) for v in want], (name, col)


def _by_key(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    key = frame["id"].astype(str) if "id" in frame.columns else frame.geometry.to_wkb()
    return frame.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)


def test_the_schema_check_can_fail(tmp_path, validator) -> None:
    pts = gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.Point(77, 28)], crs=4326)
    write_geoparquet(pts, tmp_path / "p.parquet")
    geo = _geo(tmp_path / "p.parquet")
    assert not list(validator.iter_errors(geo))
    broken = json.loads(json.dumps(geo))
    broken["columns"]["geometry"]["covering"]["bbox"]["xmin"] = ["bbox", "minx"]
    assert list(validator.iter_errors(broken)), "a wrong covering field is refused by the schema"
    broken = {**geo, "version": "1.0.0"}
    assert list(validator.iter_errors(broken))


def _points(n: int, seed: int = 7) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(70.5, 79.5, n), rng.uniform(17.5, 30.0, n)
    return gpd.GeoDataFrame({"id": np.arange(n)}, geometry=gpd.points_from_xy(x, y), crs=4326)


def _groups_touching(path: Path, window: tuple[float, float, float, float]) -> int:
    """Row groups whose bbox column statistics overlap ``window``: the ones a reader must open."""
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).path for i in range(meta.num_columns)]
    touching = 0
    for g in range(meta.num_row_groups):
        stats = {names[i]: meta.row_group(g).column(i).statistics for i in range(meta.num_columns)}
        xmin, ymin = stats["bbox.xmin"].min, stats["bbox.ymin"].min
        xmax, ymax = stats["bbox.xmax"].max, stats["bbox.ymax"].max
        touching += xmin <= window[2] and xmax >= window[0] and ymin <= window[3] and ymax >= window[1]
    return touching


def test_row_groups_let_readers_skip_data(tmp_path) -> None:
    pts = _points(20_000)
    path = tmp_path / "points.parquet"
    write_geoparquet(pts, path, row_group_rows=1_000)
    assert pq.ParquetFile(path).metadata.num_row_groups == 20
    window = (74.0, 22.0, 75.0, 23.0)
    hilbert = _groups_touching(path, window)
    shuffled = tmp_path / "input-order.parquet"
    pts.to_parquet(shuffled, write_covering_bbox=True, schema_version="1.1.0", row_group_size=1_000)
    unordered = _groups_touching(shuffled, window)
    assert hilbert <= 4 < 18 <= unordered, (hilbert, unordered)  # measured: 2 of 20 against 20 of 20
    # a bbox filter on the covering columns returns exactly the points inside the window
    expr = (
        (ds.field("bbox", "xmin") <= window[2])
        & (ds.field("bbox", "xmax") >= window[0])
        & (ds.field("bbox", "ymin") <= window[3])
        & (ds.field("bbox", "ymax") >= window[1])
    )
    found = sorted(ds.dataset(path).to_table(filter=expr, columns=["id"])["id"].to_pylist())
    inside = pts.cx[window[0] : window[2], window[1] : window[3]]
    assert found == sorted(inside["id"].tolist()) and found
