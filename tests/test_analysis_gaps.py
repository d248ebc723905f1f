"""Gap rules: flagged features with reasons, rule files, validation."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from corridormap.analysis.gaps import find_gaps, read_rules
from corridormap.crs import BELT_CRS
from corridormap.errors import DataSourceNotFoundError, LayerValidationError

X0, Y0 = 4_000_000.0, 4_000_000.0  # near 80 E, 24 N, where 1 planar km is about 1.02 true km


def _layer(xy_km: list[tuple[float, float]], crs: str = BELT_CRS, **cols: list[object]) -> gpd.GeoDataFrame:
    names = cols.pop("name", [f"f{i}" for i in range(len(xy_km))])
    geoms = [shapely.Point(X0 + x * 1000, Y0 + y * 1000) for x, y in xy_km]
    return gpd.GeoDataFrame({"name": names, **cols}, geometry=geoms, crs=BELT_CRS).to_crs(crs)


def _layers(crs: str = BELT_CRS) -> dict[str, gpd.GeoDataFrame]:
    return {
        "nodes": _layer(
            [(0, 0), (100, 0), (200, 0)], crs, name=["Near", "Mid", "Far"], status=["operational"] * 3
        ),
        "stations": _layer([(10, 0), (190, 0)], crs, name=["S1", "S2"], status=["operational", "proposed"]),
        "roads": _layer([(100, 30)], crs, name=["R"]),
    }


RULE = {
    "id": "far",
    "layer": "nodes",
    "description": "far from an operational station and a road",
    "condition": [
        {
            "target": "stations",
            "where": {"status": ["operational"]},
            "farther_than_km": 25,
            "label": "station",
        },
        {"target": "roads", "farther_than_km": 15, "label": "road"},
    ],
}


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32644", BELT_CRS])
def test_all_conditions_flag_with_reasons_in_any_crs(crs):
    gaps = find_gaps(_layers(crs), [RULE])
    # Near: station 10 km away (fails the first condition); Mid: 90 km / 30 km; Far: 190 km / ~104 km
    assert list(gaps["name"]) == ["Mid", "Far"]
    assert list(gaps["rule"]) == ["far", "far"] and list(gaps["feature"]) == [1, 2]
    reason = gaps.loc[0, "reason"]
    assert reason.startswith("nearest station (S1) is 91.") and "more than 25 km" in reason
    assert "nearest road (R) is 30." in reason and gaps.crs == "EPSG:4326"


def test_any_flags_when_one_condition_holds_and_lists_only_those():
    rule = dict(RULE, match="any")
    gaps = find_gaps(_layers(), [rule])
    assert list(gaps["name"]) == ["Near", "Mid", "Far"]
    assert "station" not in gaps.loc[0, "reason"] and "road (R)" in gaps.loc[0, "reason"]


def test_within_and_subject_where():
    rule = {
        "id": "close",
        "layer": "nodes",
        "where": {"name": ["Near", "Far"]},
        "condition": [{"target": "stations", "within_km": 15}],
    }
    gaps = find_gaps(_layers(), [rule])
    assert list(gaps["name"]) == ["Near", "Far"]  # Far is 10 km from the proposed S2
    assert "within 15 km" in gaps.loc[0, "reason"]


def test_target_with_nothing_left_is_infinitely_far():
    rule = {
        "id": "r",
        "layer": "nodes",
        "condition": [
            {
                "target": "stations",
                "where": {"status": ["approved"]},
                "farther_than_km": 1000,
                "label": "approved station",
            }
        ],
    }
    gaps = find_gaps(_layers(), [rule])
    assert len(gaps) == 3 and set(gaps["reason"]) == {"no approved station at all"}


def test_nothing_flagged_gives_an_empty_layer_with_the_columns():
    rule = {"id": "r", "layer": "nodes", "condition": [{"target": "stations", "farther_than_km": 5000}]}
    gaps = find_gaps(_layers(), [rule])
    assert len(gaps) == 0 and {"rule", "reason", "name"} <= set(gaps.columns)


def test_every_problem_of_the_rules_is_reported_at_once():
    bad = [
        {"id": "a", "layer": "nope", "condition": [{"target": "stations"}]},
        {"id": "b", "layer": "nodes", "match": "some", "condition": []},
    ]
    with pytest.raises(LayerValidationError) as info:
        find_gaps(_layers(), bad)
    assert len(info.value.problems) == 4
    assert "layer 'nope' is not loaded" in str(info.value) and "exactly one threshold" in str(info.value)


def test_rule_file_round_trip_and_missing_file(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rule]]\nid = "r"\nlayer = "nodes"\n[[rule.condition]]\ntarget = "roads"\nfarther_than_km = 50\n',
        encoding="utf-8",
    )
    assert read_rules(path)[0]["id"] == "r"
    assert list(find_gaps(_layers(), path)["name"]) == ["Near", "Far"]
    with pytest.raises(DataSourceNotFoundError, match="does not exist"):
        read_rules(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("[[rule]\n", encoding="utf-8")
    with pytest.raises(LayerValidationError, match="not valid TOML"):
        read_rules(tmp_path / "broken.toml")


def test_the_shipped_rule_file_names_shipped_layers():
    from corridormap import load_catalog

    names = set(load_catalog())
    for rule in read_rules():
        assert rule["layer"] in names
        assert all(c["target"] in names for c in rule["condition"])


def test_gaps_command_with_default_and_custom_rules(tmp_path):
    import pandas as pd
    from click.testing import CliRunner

    from corridormap.cli import cli

    result = CliRunner().invoke(cli, ["gaps", "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "a" / "gaps.csv")
    assert set(table["rule"]) <= {r["id"] for r in read_rules()} and table["reason"].str.len().min() > 10
    rules = tmp_path / "r.toml"
    rules.write_text(
        '[[rule]]\nid = "x"\nlayer = "industrial_nodes"\n[[rule.condition]]\n'
        'target = "ports_logistics"\nfarther_than_km = 0\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["gaps", str(rules), "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    flagged = gpd.read_file(tmp_path / "b" / "gaps.gpkg", layer="gaps")
    import corridormap

    assert len(flagged) == len(corridormap.read_layer("industrial_nodes"))


def test_rule_files_follow_the_settings_in_force(tmp_path):
    import shutil

    from corridormap import settings
    from corridormap.analysis.access import default_targets

    shutil.copytree(settings.layers_dir / "rules", tmp_path / "rules")
    (tmp_path / "rules" / "access.toml").write_text('[targets.port]\nlayer = "roads"\n', encoding="utf-8")
    with settings.override(layers_dir=tmp_path):
        assert list(default_targets(_layers())) == ["port"]
    assert "freight_station" in default_targets({"freight_stations": _layers()["stations"]})


# --- rules that mean something: severity, measured/threshold, scope, data notes -------------------
def test_flags_carry_severity_measured_threshold_margin_rationale_and_source():
    rule = dict(RULE, severity="high", rationale="because", source="a standard")
    gaps = find_gaps(_layers(), [rule])
    mid = gaps.iloc[0]
    assert mid["severity"] == "high" and mid["rationale"] == "because"
    assert mid["threshold_source"] == "a standard"
    # match = all: the deciding condition is the one nearest its threshold (the road, ~30.6 km > 15 km)
    assert mid["threshold_km"] == 15.0 and mid["measured_km"] == pytest.approx(30.6, abs=0.5)
    assert mid["margin_km"] == pytest.approx(mid["measured_km"] - 15.0)
    unstated = find_gaps(_layers(), [RULE]).iloc[0]
    assert unstated["severity"] == "medium" and unstated["rationale"] == "(not stated in the rule file)"


def test_belt_scope_judges_only_features_in_the_belt_and_says_so():
    from corridormap.analysis.gaps import node_gap_fields

    layers = _layers()
    layers["corridor_belt"] = gpd.GeoDataFrame(
        geometry=[shapely.box(X0 - 5000, Y0 - 5000, X0 + 150_000, Y0 + 5000)], crs=BELT_CRS
    )
    rule = dict(RULE, scope="belt")
    gaps = find_gaps(layers, [rule])
    assert list(gaps["name"]) == ["Mid"]  # Far (200 km east) is outside the belt: not judged
    fields = node_gap_fields(layers["nodes"], gaps, layers, layer="nodes", rules=[rule])
    assert fields.loc[1, "gap_flags"] == "far (medium)" and "nearest road (R)" in fields.loc[1, "gap_detail"]
    assert pd.isna(fields.loc[0, "gap_flags"]) and fields.loc[0, "gap_scope"].startswith("judged by 1 of 1")
    assert fields.loc[2, "gap_scope"].startswith("not judged: outside the DMIC corridor belt")
    no_belt = find_gaps(_layers(), [rule])
    assert len(no_belt) == 0  # no belt layer loaded: the belt rule judges nobody (logged)


def test_bad_severity_and_scope_are_reported():
    with pytest.raises(LayerValidationError) as info:
        find_gaps(_layers(), [dict(RULE, severity="urgent", scope="world")])
    assert "severity = 'urgent'" in str(info.value) and "scope = 'world'" in str(info.value)


def test_data_notes_known_gap_empty_target_and_borderline():
    layers = _layers()
    layers["nodes"]["id"] = ["near", "mid", "far"]
    layers["nodes"]["position_tolerance_km"] = [0.0, 0.0, 100.0]
    gap = {"target": "roads", "missing": "the Ring Road", "present_if_name_contains": "Ring", "ids": ["mid"]}
    gaps = find_gaps(layers, [RULE], data_gaps=[gap]).set_index("id")
    assert gaps.loc["mid", "data_note"] == "data gap: the Ring Road is not in the shipped roads layer"
    # Far: station 190 km and road ~104 km; its position is only good to 100 km: the road margin
    # (~89 km) is within that tolerance, so the flag may not hold
    assert gaps.loc["far", "data_note"].startswith("borderline: road")
    ring = _layer([(500, 500)], name=["Ring Road"])
    layers["roads"] = pd.concat([layers["roads"], ring], ignore_index=True)
    assert pd.isna(find_gaps(layers, [RULE], data_gaps=[gap]).set_index("id").loc["mid", "data_note"])
    cond = {"target": "stations", "where": {"status": ["x"]}, "farther_than_km": 1}
    cond["label"] = "x station"
    empty = {"id": "r", "layer": "nodes", "condition": [cond]}
    notes = set(find_gaps(layers, [empty])["data_note"])
    assert notes == {"data gap: no x station in the shipped data at all"}


def test_shipped_rules_judge_every_dmic_node_even_beyond_the_belt():
    import corridormap
    from corridormap.analysis.corridor import membership
    from corridormap.analysis.gaps import gap_summary, node_gap_fields

    layers = corridormap.load_layers()
    gaps = find_gaps(layers)
    for rule in read_rules():
        assert rule["severity"] in ("high", "medium", "low") and rule["rationale"] and rule["source"]
        assert rule["scope"] == "all"  # industrial_nodes is the DMIC node layer: no node left unjudged
    # the Ahmedabad–Dholera Expressway is in the data now: Dholera is no longer "far from a road"
    assert "dholera_sir" not in set(gaps.loc[gaps["rule"] == "far_from_freight_and_road", "id"])
    fields = node_gap_fields(layers["industrial_nodes"], gaps, layers)
    assert fields["gap_scope"].str.startswith("judged by 3 of 3").all()
    inside = membership(layers["industrial_nodes"], layers["corridor_belt"])
    beyond = set(inside.loc[~inside["in_belt"], "id"])
    assert {"auric_shendra", "auric_bidkin", "iitvu", "pdmir"} <= beyond  # AURIC, Vikram Udyogpuri...
    assert beyond <= set(gaps["id"])  # ...are judged (and, far from the DFC, flagged)
    two = gaps[gaps["reason"].str.count("more than") > 1]
    assert len(two) and two["reason"].str.contains("the one with the smallest margin").all()
    assert not two["reason"].str.contains("_km").any()  # planner-facing words, not column names
    one = gaps[gaps["reason"].str.count("more than") == 1]
    assert not one["reason"].str.contains("smallest margin").any()
    lines = gap_summary(gaps)
    assert len(lines) == len(read_rules())
    for line, rule in zip(lines, read_rules(), strict=True):
        n = gaps.loc[gaps["rule"] == rule["id"], "feature"].nunique()
        assert line.startswith(f"{rule['id']} ({rule['severity']}): {n} industrial_nodes flagged")
