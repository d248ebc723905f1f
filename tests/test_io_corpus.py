"""Every file of the generated corpus behaves as tests/corpus/expected.toml says."""

from __future__ import annotations

import importlib.util
import tomllib
import warnings
from pathlib import Path

import pytest

import corridormap
from corridormap import errors
from corridormap.validate import validate_file

CORPUS = Path(__file__).parent / "corpus"
_spec = importlib.util.spec_from_file_location("corpus_generate", CORPUS / "generate.py")
assert _spec and _spec.loader
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

CASES = tomllib.loads((CORPUS / "expected.toml").read_text(encoding="utf-8"))["case"]


def _id(case: dict) -> str:
    opts = ",".join(f"{k}={v}" for k, v in case.get("options", {}).items())
    return case["file"] + (f"[{opts}]" if opts else "")


def test_table_covers_every_generated_file() -> None:
    assert {c["file"] for c in CASES} == set(generate.WRITERS)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_validate_file(case: dict, tmp_path: Path) -> None:
    path = generate.write(case["file"], tmp_path)
    report = validate_file(path, **case.get("options", {}))
    by = {
        s: {f.check for f in report.findings if f.severity == s} for s in ("refuse", "repair", "warn", "info")
    }
    outcome, checks = case["outcome"], set(case.get("checks", []))
    text = report.to_text()
    assert report.refused == (outcome in ("refuse", "error")), text
    if outcome == "ok":
        assert not (by["refuse"] | by["repair"] | by["warn"]), text
    elif outcome == "error":
        assert checks <= by["refuse"], text
    else:
        assert checks <= by[outcome], text
    if outcome in ("warn",):
        assert not by["repair"], text


@pytest.mark.parametrize("case", [c for c in CASES if not c.get("raster")], ids=_id)
def test_read_file(case: dict, tmp_path: Path) -> None:
    path = generate.write(case["file"], tmp_path)
    options = case.get("options", {})
    outcome = case["outcome"]
    if outcome == "error":
        kind = getattr(errors, case["checks"][0])
        with pytest.raises(kind) as info:
            corridormap.read_file(path, **options)
        assert path.name in str(info.value) and "Fix:" in str(info.value)
        return
    if outcome == "refuse":
        with pytest.raises(errors.LayerValidationError) as info:
            corridormap.read_file(path, **options)
        assert isinstance(info.value, ValueError) and info.value.problems
        assert path.name in str(info.value)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gdf = corridormap.read_file(path, **options, log_dir=tmp_path / "logs")
    kinds = {type(w.message) for w in caught}
    if outcome == "repair":
        assert kinds & {errors.RepairWarning, errors.DataLossWarning}, kinds
    else:
        assert not kinds, [str(w.message) for w in caught]
    assert len(gdf) == case["features"]
    assert gdf.crs is not None
    assert list(gdf.index) == list(range(len(gdf)))
    assert (tmp_path / "logs").is_dir() and any((tmp_path / "logs").glob("*.repairs.csv"))


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("shp_cpg_says_1252", {"encoding": "utf-8"}, "Sānand café"),
        ("shp_latin_no_cpg", {"encoding": "cp1252"}, "café"),
        ("shp_utf8_no_cpg", {}, "Sānand café"),
        ("good_shp.zip", {}, "Sānand"),
        ("cp1252.geojson", {"encoding": "cp1252"}, "Bhiwadi café"),
        ("cp1252.csv", {"encoding": "cp1252"}, "Café Rewari"),
    ],
)
def test_text_survives_the_encoding(name: str, options: dict, expected: str, tmp_path: Path) -> None:
    path = generate.write(name, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.CorridormapWarning)
        gdf = corridormap.read_file(path, **options)
    assert gdf["name"].iloc[0] == expected


def test_duplicate_and_blank_csv_headers_are_renamed_and_logged(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("id,lat,lon,name,name,\n1,28.6,77.2,a,b,c\n", encoding="utf-8")
    with pytest.warns(errors.RepairWarning, match="2 field-name"):
        gdf = corridormap.read_file(path)
    assert gdf.drop(columns="geometry").iloc[0].tolist() == [1, "a", "b", "c"]
    assert list(gdf.columns) == ["id", "name", "name_2", "column_6", "geometry"]
