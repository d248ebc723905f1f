"""Attribute joins: duplicate keys refused, padded keys trimmed (logged), unmatched keys reported."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from corridormap import errors
from corridormap.io.attrjoin import join_attributes
from corridormap.io.report import ValidationReport


@pytest.fixture
def plots() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["A1", "B2", "C3"], "area": [1.0, 2.0, 3.0]},
        geometry=[shapely.Point(77 + i / 10, 28) for i in range(3)],
        index=[10, 20, 30],
        crs=4326,
    )


def test_clean_join_keeps_index_and_input(plots: gpd.GeoDataFrame) -> None:
    before = plots.copy()
    table = pd.DataFrame({"code": ["C3", "A1", "B2"], "owner": ["x", "y", "z"]})
    out = join_attributes(plots, table, on="code")
    assert out["owner"].tolist() == ["y", "z", "x"]
    assert list(out.index) == [10, 20, 30]
    assert_geodataframe_equal(plots, before)


def test_duplicate_keys_are_refused(plots: gpd.GeoDataFrame) -> None:
    table = pd.DataFrame({"code": ["A1", "A1", "B2"], "owner": ["x", "y", "z"]})
    with pytest.raises(errors.LayerValidationError, match="more than once") as info:
        join_attributes(plots, table, on="code")
    assert isinstance(info.value, ValueError) and len(info.value.problems) == 1


def test_padding_is_trimmed_and_logged(plots: gpd.GeoDataFrame) -> None:
    table = pd.DataFrame({"code": [" A1", "B2  ", "C3"], "owner": ["x", "y", "z"]})
    report = ValidationReport("owners.csv")
    with pytest.warns(errors.RepairWarning):
        out = join_attributes(plots, table, on="code", report=report)
    assert out["owner"].tolist() == ["x", "y", "z"]
    assert sorted(r.before for r in report.repairs) == [" A1", "B2  "]


def test_unmatched_keys_reported_on_both_sides(plots: gpd.GeoDataFrame) -> None:
    table = pd.DataFrame({"code": ["A1", "Z9"], "owner": ["x", "q"]})
    report = ValidationReport("owners.csv")
    out = join_attributes(plots, table, on="code", report=report)
    assert out["owner"].isna().tolist() == [False, True, True]
    checks = {f.check: f.problem for f in report.findings}
    assert "2 layer key(s)" in checks["join-no-match"] and "'Z9'" in checks["join-unused"]


def test_numeric_and_text_keys_agree_and_zero_padding_is_hinted() -> None:
    layer = gpd.GeoDataFrame({"code": ["27", "007"]}, geometry=[shapely.Point(77, 28)] * 2, crs=4326)
    table = pd.DataFrame({"code": [27.0, 7.0], "v": [1, 2]})
    report = ValidationReport("t")
    out = join_attributes(layer, table, on="code", report=report)
    assert out["v"].tolist()[0] == 1 and pd.isna(out["v"].tolist()[1])
    assert "leading zeros" in next(f.problem for f in report.findings if f.check == "join-no-match")


def test_missing_key_column_and_clashing_columns(plots: gpd.GeoDataFrame) -> None:
    with pytest.raises(errors.LayerValidationError, match="'plot'"):
        join_attributes(plots, pd.DataFrame({"code": []}), on="code", table_on="plot")
    table = pd.DataFrame({"code": ["A1", "B2", "C3"], "area": [9, 9, 9]})
    with pytest.warns(errors.RepairWarning):
        out = join_attributes(plots, table, on="code")
    assert out["area"].tolist() == [1.0, 2.0, 3.0] and out["area_table"].tolist() == [9, 9, 9]
