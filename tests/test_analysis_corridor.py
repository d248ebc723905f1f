"""Chainage (km along a line, side, offset), the main line through sections, and belt/state membership."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from corridormap.analysis.corridor import chainage, main_line, membership
from corridormap.crs import BELT_CRS, scale_factor

X0, Y0 = 4_000_000.0, 4_000_000.0
CRSES = ["EPSG:4326", "EPSG:32643", BELT_CRS]


def _k() -> float:
    return float(scale_factor(np.array([X0]), np.array([Y0]))[0])


def _gdf(geoms: list[shapely.Geometry], crs: str = BELT_CRS, **cols: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=BELT_CRS).to_crs(crs)


def _km(x: float, y: float) -> shapely.Point:
    return shapely.Point(X0 + x * 1000, Y0 + y * 1000)


# an L: 10 km east, then 10 km north
L_LINE = shapely.LineString([(X0, Y0), (X0 + 10_000, Y0), (X0 + 10_000, Y0 + 10_000)])


@pytest.mark.parametrize("crs", CRSES)
def test_chainage_side_and_offset_by_hand_in_every_crs(crs):
    features = _gdf([_km(5, 2), _km(12, 5), _km(-3, -1), _km(4, -1)], crs, name=["a", "b", "c", "d"])
    line = _gdf([L_LINE], crs, corridor=["x"])
    out = chainage(features, line, start="west")
    k = _k()
    np.testing.assert_allclose(out["chainage_km"], np.array([5, 15, 0, 4]) / k, rtol=2e-4, atol=1e-6)
    np.testing.assert_allclose(out["offset_km"], np.array([2, 2, np.sqrt(10), 1]) / k, rtol=2e-4)
    assert list(out["side"]) == ["left", "right", "right", "right"]
    assert list(out["beyond_end"]) == [False, False, True, False]


def test_prefix_names_the_columns_and_input_is_untouched():
    features = _gdf([_km(5, 2)], name=["a"])
    features.index = pd.Index(["n1"])
    before = features.copy()
    out = chainage(features, L_LINE, prefix="wdfc_")
    pd.testing.assert_frame_equal(features, before)
    assert {"wdfc_chainage_km", "wdfc_side", "wdfc_offset_km", "wdfc_beyond_end"} <= set(out.columns)
    assert out.index.equals(features.index) and out.loc["n1", "wdfc_side"] == "left"


def test_a_point_on_the_line_is_on_line_with_zero_offset():
    out = chainage(_gdf([_km(10, 4)], name=["on"]), L_LINE)
    assert out.loc[0, "side"] == "on line" and out.loc[0, "offset_km"] == 0.0
    assert out.loc[0, "chainage_km"] == pytest.approx(14 / _k(), rel=2e-4)


def test_chainage_along_a_meridian_agrees_with_the_geodesic():
    line = gpd.GeoDataFrame(
        {"c": ["m"]}, geometry=[shapely.LineString([(75, 20), (75, 28)])], crs="EPSG:4326"
    )
    line = line.set_geometry(line.geometry.segmentize(0.05))
    node = gpd.GeoDataFrame({"name": ["n"]}, geometry=[shapely.Point(75.05, 24)], crs="EPSG:4326")
    out = chainage(node, line, start="south")
    geod = Geod(ellps="WGS84")
    assert out.loc[0, "chainage_km"] == pytest.approx(geod.inv(75, 20, 75, 24)[2] / 1000, rel=5e-3)
    assert out.loc[0, "offset_km"] == pytest.approx(geod.inv(75, 24, 75.05, 24)[2] / 1000, rel=5e-3)
    assert out.loc[0, "side"] == "right"  # east of a line running north


def test_main_line_drops_spurs_and_starts_at_the_chosen_end():
    sections = _gdf(
        [
            shapely.LineString([_km(0, 0), _km(0, 50)]),
            shapely.LineString([_km(0, 50), _km(0, 100)]),
            shapely.LineString([_km(0, 50), _km(10, 55)]),
        ],  # an 11 km spur at km 50
        name=["s1", "s2", "spur"],
    )
    north = main_line(sections, start="north")
    assert north.length == pytest.approx(100_000) and north.coords[0] == (X0, Y0 + 100_000)
    south = main_line(sections, start="south")
    assert south.coords[0] == (X0, Y0)


def test_main_line_rejects_bad_start_and_empty_layers():
    from corridormap.errors import LayerValidationError

    with pytest.raises(ValueError, match="start must be one of"):
        main_line(_gdf([L_LINE]), start="up")
    with pytest.raises(LayerValidationError, match="empty"):
        main_line(_gdf([L_LINE]).iloc[0:0])


@pytest.mark.parametrize("crs", CRSES)
def test_membership_belt_and_states(crs):
    belt = _gdf([shapely.box(X0, Y0, X0 + 100_000, Y0 + 100_000)], crs, name=["belt"])
    states = _gdf(
        [
            shapely.box(X0 - 1e6, Y0 - 1e6, X0 + 50_000, Y0 + 1e6),
            shapely.box(X0 + 50_000, Y0 - 1e6, X0 + 1e6, Y0 + 1e6),
        ],
        crs,
        name=["Gujarat", "Rajasthan"],
    )
    features = _gdf(
        [_km(10, 10), _km(60, 10), _km(200, 10), shapely.LineString([_km(-20, 5), _km(5, 5)])],
        crs,
        name=["in", "in-east", "out", "crossing line"],
    )
    out = membership(features, belt, states=states)
    assert list(out["in_belt"]) == [True, True, False, True]
    assert list(out["state_from_layer"]) == ["Gujarat", "Rajasthan", "Rajasthan", "Gujarat"]


def test_membership_without_states_and_with_a_wrong_state_column():
    from corridormap.errors import LayerValidationError

    belt = _gdf([shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)])
    out = membership(_gdf([_km(0.5, 0.5)], name=["a"]), belt)
    assert "state_from_layer" not in out.columns and bool(out.loc[0, "in_belt"])
    with pytest.raises(LayerValidationError, match="state_column"):
        membership(_gdf([_km(0.5, 0.5)]), belt, states=_gdf([shapely.box(X0, Y0, X0 + 9, Y0 + 9)], st=["x"]))


# --- the strip diagram and the command --------------------------------------------------------------
def test_strip_svg_places_features_by_km_and_side():
    import xml.etree.ElementTree as ET

    from corridormap.analysis.strip import strip_svg

    features = _gdf([_km(5, 2), _km(5.0001, -3), _km(9, 200)], name=["Left <A>", "Right B", "Far C"])
    frame = chainage(features, shapely.LineString([(X0, Y0), (X0 + 10_000, Y0)]))
    svg = strip_svg({"Nodes": frame}, length_km=10 / _k(), title="Test line", max_offset_km=50)
    root = ET.fromstring(svg)  # well-formed, names escaped
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Left <A>" in texts and "Right B" in texts and "Far C" not in texts
    circles = [
        (float(c.get("cx")), float(c.get("cy"))) for c in root.iter("{http://www.w3.org/2000/svg}circle")
    ]
    marks = sorted(circles[:2], key=lambda c: c[1])
    middle = 60 + (1600 - 2 * 60) / 2
    assert marks[0][0] == pytest.approx(middle, abs=1) and marks[0][1] < 430 < marks[1][1]


def test_strip_labels_both_ends_states_the_direction_and_marks_approximate_positions():
    import xml.etree.ElementTree as ET

    from corridormap.analysis.strip import strip_svg

    features = _gdf(
        [_km(2, 1), _km(6, 1)], name=["Traced", "Guessed"], geometry_quality=["surveyed", "approximate"]
    )
    frame = chainage(features, shapely.LineString([(X0, Y0), (X0 + 10_000, Y0)]))
    svg = strip_svg(
        {"Nodes": frame},
        length_km=10 / _k(),
        title="T",
        origin="Port <P>",
        end="Dadri",
        direction="km 0 at P",
    )
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    texts = ["".join(t.itertext()) for t in root.iter(f"{ns}text")]
    assert "◀ km 0: Port <P>" in texts
    assert any(t.endswith(": Dadri ▶") and t.startswith("km 10") for t in texts)
    ends = [t for t in root.iter(f"{ns}text") if "".join(t.itertext()).endswith(("Port <P>", "Dadri ▶"))]
    assert len(ends) == 2 and all(float(t.get("y")) < 120 for t in ends)  # on screen at 1366x768
    assert root.get("width") == "100%"  # scales to the window: the right end shows too
    published = strip_svg(
        {"Nodes": frame}, length_km=10 / _k(), title="T", end="Dadri", published_length_km=12
    )
    assert "km 10 computed (published 12 km): Dadri ▶" in published
    assert any(t.startswith("Chainage: km 0 at P") for t in texts)
    assert "Traced" in texts and "≈ Guessed" in texts
    fills = [c.get("fill") for c in root.iter(f"{ns}circle")][:2]
    assert sorted(fills) == sorted(["white", "#5b2a86"])  # hollow = approximate, filled = surveyed


def test_published_km_against_computed_km_on_the_shipped_western_dfc():
    import corridormap
    from corridormap.analysis.outputs import chainage_line, published_table

    layers = corridormap.load_layers()
    table = published_table(layers, ["wdfc", "dme"])
    wdfc = table[(table["line"] == "Western DFC") & table["id"].notna()]
    stations = layers["freight_stations"]
    assert len(wdfc) == stations["km_from_start"].notna().sum()
    assert (wdfc["published_km"].diff().dropna() >= 0).all()
    np.testing.assert_allclose(wdfc["difference_km"], wdfc["computed_km"] - wdfc["published_km"])
    palghar = wdfc.set_index("id").loc["wdfc_new_palghar"]
    assert palghar["published_interval_km"] == pytest.approx(140.7 - 106.06)  # from New Saphale
    # computed along the shipped line against the same chainage engine
    line, length = chainage_line(layers, "wdfc")
    done = chainage(stations[stations["id"] == "wdfc_new_palghar"], line)
    assert palghar["computed_km"] == pytest.approx(float(done["chainage_km"].iloc[0]))
    whole = table[(table["line"] == "Western DFC") & (table["name"] == "(whole line)")].iloc[0]
    assert whole["published_km"] == 1506.0 and whole["computed_km"] == pytest.approx(length)
    dme = table[table["line"] == "Delhi–Mumbai Expressway"]
    assert "(no published km in the data)" in set(dme["name"])
    dme_whole = dme[dme["name"].str.startswith("(whole line")].iloc[0]
    assert dme_whole["published_km"] == 1386.0 and "excludes the spurs" in dme_whole["name"]
    assert -0.15 < dme_whole["difference_km"] / 1386.0 < 0  # the schematic main line is shorter


def test_chainage_command_writes_table_and_strip_diagrams(tmp_path):
    from click.testing import CliRunner

    from corridormap.cli import cli

    result = CliRunner().invoke(cli, ["chainage", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "chainage.csv")
    assert set(table["line"]) == {"Western DFC", "Delhi–Mumbai Expressway"}
    assert set(table["side"]) <= {"left", "right", "on line", "past end"}
    wdfc = table[(table["line"] == "Western DFC") & (table["layer"] == "freight_stations")]
    assert wdfc["chainage_km"].between(0, 1600).all()
    for key in ("wdfc", "dme"):
        assert (tmp_path / f"strip_{key}.svg").read_text(encoding="utf-8").startswith("<svg")
    assert "◀ km 0: JNPT" in (tmp_path / "strip_wdfc.svg").read_text(encoding="utf-8")
    published = pd.read_csv(tmp_path / "chainage_published.csv")
    wanted = {"published_km", "computed_km", "difference_km", "interval_difference_km"}
    assert wanted <= set(published.columns)
    assert {"geometry_quality", "position_tolerance_km"} <= set(table.columns)
    assert gpd.read_file(tmp_path / "chainage.gpkg", layer="chainage").crs == "EPSG:4326"


def test_access_command_adds_belt_and_state_membership(tmp_path):
    from click.testing import CliRunner

    from corridormap.cli import cli

    states = gpd.GeoDataFrame(
        {"st_name": ["West", "East"]},
        crs="EPSG:4326",
        geometry=[shapely.box(60, 5, 76, 40), shapely.box(76, 5, 95, 40)],
    )
    states.to_file(tmp_path / "states.geojson")
    args = [
        "access",
        "--no-network",
        "--out",
        str(tmp_path / "o"),
        "--states",
        str(tmp_path / "states.geojson"),
        "--state-column",
        "st_name",
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "o" / "access.csv")
    assert table["in_belt"].any() and not table["in_belt"].all()  # some nodes (e.g. Palakkad) lie outside
    expected = np.where(table["lon"] < 76, "West", "East")
    assert (table["state_from_layer"] == expected).all()


def test_shipped_western_dfc_stations_chain_in_the_published_order():
    import corridormap
    from corridormap.analysis.outputs import chainage_line

    layers = corridormap.load_layers(["freight_rail", "freight_stations"])
    line, length = chainage_line(layers, "wdfc")
    stations = layers["freight_stations"]
    published = stations[(stations["corridor"] == "Western DFC") & stations["km_from_start"].notna()]
    out = chainage(published, line)
    assert len(out) >= 5
    assert out["chainage_km"].rank().equals(out["km_from_start"].rank())  # same order as DFCCIL's km
    # the schematic line runs straight between stations, so it is a little shorter than the track
    ratio = out["chainage_km"].max() / out["km_from_start"].max()
    assert 0.85 < ratio <= 1.0 and out["offset_km"].max() < 1.0


def test_empty_features_give_empty_results_with_the_columns():
    empty = _gdf([], name=[])
    assert list(chainage(empty, L_LINE).columns[-4:]) == ["chainage_km", "side", "offset_km", "beyond_end"]
    belt = _gdf([shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)])
    assert len(membership(empty, belt)) == 0 and "in_belt" in membership(empty, belt).columns


def test_strip_links_for_the_title_block():
    from corridormap.analysis.outputs import strip_links_html

    html = strip_links_html(["corridor.gpkg", "strip_wdfc.svg", "strip_dme.svg", "strip_nope.svg"])
    assert html.count("<a ") == 2 and 'href="strip_wdfc.svg"' in html and ">Western DFC</a>" in html
    assert strip_links_html([]) == ""
