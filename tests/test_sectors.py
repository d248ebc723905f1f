"""Sector profiles, node x sector fit, briefs (HTML/PDF, en/ja) and comparisons, without a browser."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pyproj import Geod
from shapely.geometry import Point

import corridormap
from corridormap import settings
from corridormap.cli import cli
from corridormap.errors import CatalogError, DataSourceNotFoundError, LayerValidationError
from corridormap.sectors import criterion_values, load_profile, load_profiles, sector_fit
from corridormap.sectors.compare import best_of, compare_html, compare_nodes
from corridormap.sectors.facts import Fact, node_facts
from corridormap.sectors.fit import fit_scores, fit_sensitivity
from corridormap.sectors.fonts import _verified, font_path, missing_glyphs
from corridormap.sectors.i18n import Translator, labels
from corridormap.sectors.profiles import all_nodes

ROOT = Path(__file__).resolve().parents[1]
SECTORS = {
    "semiconductors",
    "pharma_meddevices",
    "ev_batteries",
    "rare_earth_magnets",
    "electronics_assembly",
    "automobiles",
    "green_hydrogen",
}


@pytest.fixture(scope="module")
def layers() -> dict[str, gpd.GeoDataFrame]:
    return dict(corridormap.load_layers())


@pytest.fixture(scope="module")
def fit(layers: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    return sector_fit(all_nodes(layers), layers)


# --- profiles ----------------------------------------------------------------------------------------
def test_shipped_profiles_cover_the_sectors_and_every_weight_says_why_and_on_whose_word() -> None:
    profiles = load_profiles()
    assert set(profiles) >= SECTORS
    for profile in profiles.values():
        assert profile.weightings and profile.title and profile.matches
        for w in profile.weightings:
            assert w.weight > 0 and len(w.rationale) > 40, (profile.id, w.criterion)
            assert "http" in w.source or "judgement" in w.source, (profile.id, w.criterion, w.source)


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(
        '[sector]\nid = "mine"\ntitle = "Mine"\nmatches = ["electronics"]\n' + body, encoding="utf-8"
    )
    return path


def test_an_unknown_criterion_is_refused_naming_file_key_and_the_allowed_names(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[criteria.distance_to_mars]\nweight = 1.0\nfunction = "linear_decay"\n'
        'full_until = 1.0\nzero_at = 2.0\nrationale = "r"\nsource = "s"\n',
    )
    with pytest.raises(LayerValidationError) as info:
        load_profile(path)
    text = str(info.value)
    assert str(path) in text and "criteria.distance_to_mars" in text and "unknown criterion" in text
    for allowed in ("water_km", "airport_km", "workforce_pop", "declared_sector"):
        assert allowed in text


def test_every_problem_of_a_profile_is_reported_at_once(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[criteria.water_km]\nweight = -1\nfunction = "cubic"\n'
        '[criteria.port_km]\nweight = 1.0\nfunction = "linear_rise"\nzero_at = 0.0\nsource = "s"\n'
        'rationale = "r"\n',
    )
    with pytest.raises(LayerValidationError) as info:
        load_profile(path)
    fields = {p.field for p in info.value.problems}
    assert {
        "criteria.water_km.rationale",
        "criteria.water_km.source",
        "criteria.water_km.weight",
        "criteria.water_km.function",
        "criteria.port_km.full_at",
    } <= fields


def test_profile_file_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(DataSourceNotFoundError, match="no such sector profile"):
        load_profile(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[sector\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_profile(bad)
    profile = load_profiles()["semiconductors"]
    with pytest.raises(CatalogError, match="has no criterion"):
        profile.with_weights({"solar_kwh_m2": 1.0})


# --- fit ---------------------------------------------------------------------------------------------
def _by_hand(function: str, p: dict[str, float], v: float) -> float:
    if function == "linear_decay":
        s = (p["zero_at"] - v) / (p["zero_at"] - p["full_until"])
    elif function == "linear_rise":
        s = (v - p["zero_at"]) / (p["full_at"] - p["zero_at"])
    elif function == "logistic_decay":
        s = 1 / (1 + math.exp((v - p["midpoint"]) / p["width"]))
    else:
        s = 1 / (1 + math.exp((p["midpoint"] - v) / p["width"]))
    return min(1.0, max(0.0, s))


def test_fit_of_a_tiny_case_recomputed_by_hand(tmp_path: Path) -> None:
    """Two nodes, one station: distances from pyproj.Geod, scores and fit computed here."""
    nodes = gpd.GeoDataFrame(
        {"id": ["a", "b"], "name": ["A", "B"], "sectors": ["electronics", None]},
        geometry=[Point(75.0, 25.0), Point(75.3, 25.0)],
        crs="EPSG:4326",
    )
    station = gpd.GeoDataFrame({"name": ["S"]}, geometry=[Point(75.0, 25.0)], crs="EPSG:4326")
    path = _write(
        tmp_path,
        '[criteria.freight_station_km]\nweight = 3.0\nfunction = "linear_decay"\n'
        'full_until = 5.0\nzero_at = 60.0\nrationale = "r"\nsource = "s"\n'
        '[criteria.declared_sector]\nweight = 1.0\nfunction = "linear_rise"\nzero_at = 0.0\n'
        'full_at = 1.0\nrationale = "r"\nsource = "s"\n',
    )
    profile = load_profile(path)
    got = sector_fit(nodes, {"freight_stations": station}, {"mine": profile}).set_index("node_id")
    km_b = Geod(ellps="WGS84").inv(75.0, 25.0, 75.3, 25.0)[2] / 1000.0
    assert got.loc["b", "freight_station_km_value"] == pytest.approx(km_b, rel=2e-3)
    s_b = (60.0 - km_b) / 55.0
    assert got.loc["a", "fit"] == pytest.approx(100.0)  # 0 km and a declared match: both full
    assert got.loc["b", "fit"] == pytest.approx(100 * 3.0 * s_b / 4.0, rel=3e-3)
    assert got.loc["b", "declared_sector_contribution"] == 0.0
    assert list(got.sort_values("rank").index) == ["a", "b"]


@pytest.mark.parametrize("node_id", ["mbir", "dholera_sir"])
def test_shipped_fit_of_two_nodes_recomputed_by_hand(
    fit: gpd.GeoDataFrame, layers: dict[str, gpd.GeoDataFrame], node_id: str
) -> None:
    nodes = all_nodes(layers)
    values = criterion_values(nodes, layers).set_index(nodes["id"])
    for profile in load_profiles().values():
        row = fit[(fit["node_id"] == node_id) & (fit["sector"] == profile.id)].iloc[0]
        total, weights = 0.0, 0.0
        for w in profile.weightings:
            raw = values.loc[node_id, w.criterion]
            if w.criterion == "declared_sector":
                declared = {s.strip() for s in str(raw).split(";")} if isinstance(raw, str) else set()
                raw = float(bool(declared & set(profile.matches)))
            raw = float(raw)
            if math.isnan(raw):  # hidden by the Natural Earth clip: only a saturated lower bound counts
                bound = float(values.loc[node_id].get(f"{w.criterion}_at_least", float("nan")))
                score = _by_hand(w.function, dict(w.params), bound) if not math.isnan(bound) else float("nan")
                if (
                    math.isnan(score)
                    or score not in (0.0, 1.0)
                    or (score == 0.0) != w.function.endswith("decay")
                ):
                    assert math.isnan(row[f"{w.criterion}_contribution"])
                    continue
            else:
                score = _by_hand(w.function, dict(w.params), raw)
            total += w.weight * score
            weights += w.weight
            assert row[f"{w.criterion}_score"] == pytest.approx(score, abs=1e-9)
        assert row["fit"] == pytest.approx(100 * total / weights, abs=1e-9), profile.id
        parts = [row[f"{w.criterion}_contribution"] for w in profile.weightings]
        assert np.nansum(parts) == pytest.approx(row["fit"], abs=1e-9)
        assert row["assessed_weight_share"] == pytest.approx(weights / sum(profile.weights().values()))


def test_ranks_and_their_range_under_pm20_percent_weights(fit: gpd.GeoDataFrame, layers) -> None:
    assert set(fit["sector"]) >= SECTORS
    nodes = all_nodes(layers)
    n = len(nodes)
    assert set(fit["layer"]) == {"industrial_nodes", "nicdc_national_nodes"}
    for _, rows in fit.groupby("sector"):
        assert len(rows) == n and rows["rank"].min() == 1
        ok = rows["rank"].notna()
        assert (rows.loc[ok, "rank_min"] <= rows.loc[ok, "rank"]).all()
        assert (rows.loc[ok, "rank"] <= rows.loc[ok, "rank_max"]).all()
    values = criterion_values(nodes, layers)
    profiles = load_profiles()
    table = fit_sensitivity(values, profiles, nodes["id"])
    assert len(table) == 2 * sum(len(p.weightings) for p in profiles.values())
    assert set(table["change"]) == {"-20 %", "+20 %"}
    # the range is what the sensitivity table's perturbations produce
    semis = profiles["semiconductors"]
    up = semis.with_weights({"water_km": semis.weights()["water_km"] * 1.2})
    moved = fit_scores(values, up)["rank"].set_axis(nodes["id"])
    rows = fit[fit["sector"] == "semiconductors"].set_index("node_id")
    assert ((rows["rank_min"] <= moved[rows.index]) & (moved[rows.index] <= rows["rank_max"])).all()


def test_the_natural_earth_clip_never_yields_a_guess(layers) -> None:
    nodes = all_nodes(layers).set_index("id", drop=False)
    values = criterion_values(nodes, layers)
    assert math.isnan(values.loc["palakkad", "airport_km"])  # a national node outside the clip
    assert "outside the Natural Earth extent" in values.loc["palakkad", "airport_km_note"]
    # MBIR's coast lies beyond the clip edge: no value, but a lower bound that saturates the rise
    assert math.isnan(values.loc["mbir", "coast_km"]) and values.loc["mbir", "coast_km_at_least"] > 300
    fit = sector_fit(nodes, layers, values=values)
    row = fit[(fit["node_id"] == "mbir") & (fit["sector"] == "semiconductors")].iloc[0]
    assert row["coast_km_score"] == 1.0 and not row[["fit", "rank"]].isna().any()


def test_sectors_cli_writes_three_outputs_atomically_and_refuses_to_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(cli, ["sectors", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    table = pd.read_csv(tmp_path / "sector_fit.csv")
    layer = gpd.read_file(tmp_path / "sector_fit.gpkg", layer="sector_fit")
    assert len(table) == len(layer) > 0 and set(table["sector"]) >= SECTORS
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".corridormap-staging")]
    before = (tmp_path / "sector_fit.csv").read_bytes()
    again = runner.invoke(cli, ["sectors", "--out", str(tmp_path)])
    assert again.exit_code != 0 and "--overwrite" in again.output and "Traceback" not in again.output
    assert (tmp_path / "sector_fit.csv").read_bytes() == before


# --- labels, fonts, briefs, comparisons --------------------------------------------------------------
def test_every_japanese_term_cites_where_its_usage_was_checked_and_the_font_draws_every_label() -> None:
    data = labels()
    text = []
    for table in ("terms", "ui"):
        for key, entry in data[table].items():
            assert entry.get("en") and entry.get("ja"), key
            assert entry.get("checked"), f"{table}.{key} has no 'checked'"
            if table == "terms" and "plain" not in entry["checked"]:
                assert re.search(r"https?://", entry["checked"]), key
            text.append(entry["ja"] + entry["en"])
    for entry in data["readings"].values():
        assert re.search(r"https?://", entry["checked"])
        text.append(entry["ja"])
    assert missing_glyphs("".join(text)) == []


def test_the_font_is_the_pinned_file(tmp_path: Path) -> None:
    path = font_path()
    assert path.name == labels()["font"]["file"]
    copy = tmp_path / path.name
    shutil.copyfile(path, copy)
    with pytest.raises(DataSourceNotFoundError, match="differs from the pinned"):
        _verified(copy, "0" * 64)


def test_numbers_for_japanese_readers() -> None:
    t = Translator("ja")
    assert t.number(5570891.0, "people") == "557.1万人"
    assert t.number(9000.0, "people") == "9,000人"
    assert t.number(7280.0, "inr_crore") == "728億ルピー"
    assert t.date("2023-12-01") == "2023年12月1日"
    assert t.more_than("518.4 km") == "518.4 km超"
    assert t.number(None, "km") == "データなし"
    with pytest.raises(CatalogError, match="unknown language"):
        Translator("fr")


def test_briefs_one_pdf_page_per_node_in_each_language(tmp_path: Path, layers) -> None:
    import pypdf

    from corridormap.sectors.brief import write_briefs

    for lang in ("en", "ja"):
        paths = write_briefs(["mbir", "palakkad"], tmp_path, lang=lang, pdf=True, layers=layers)
        assert [p.name for p in paths] == [
            f"brief_mbir.{lang}.html",
            f"brief_palakkad.{lang}.html",
            f"briefs.{lang}.pdf",
        ]
        reader = pypdf.PdfReader(paths[-1])
        assert len(reader.pages) == 2
        # pypdf reads fpdf2's CID text as UTF-16 code units (NULs between Latin letters);
        # poppler reads it plainly
        first = re.sub(r"[\x00\s]", "", reader.pages[0].extract_text())
        assert "Manesar-BawalInvestmentRegion(MBIR)" in first
    html = (tmp_path / "brief_mbir.ja.html").read_text(encoding="utf-8")
    assert "デリー・ムンバイ産業大動脈" in html and "貨物専用鉄道" in html and "@font-face" in html
    with pytest.raises(Exception, match="already exists; nothing was written. Fix: .* replace it,"):
        write_briefs(["mbir"], tmp_path, lang="en", layers=layers)
    with pytest.raises(Exception, match=r"\.pdf already exist; nothing was written. Fix: .* replace them,"):
        write_briefs(["mbir", "palakkad"], tmp_path, lang="en", pdf=True, layers=layers)


def test_brief_escapes_text_from_data(layers) -> None:
    from corridormap.sectors.brief import brief

    hostile = dict(layers)
    nodes = layers["industrial_nodes"].copy()
    nodes.loc[nodes["id"] == "mbir", "name"] = "<script>alert(1)</script> MBIR"
    hostile["industrial_nodes"] = nodes
    page = brief("mbir", lang="en", layers=hostile).html
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; MBIR" in page


def test_unknown_node_ids_are_named(layers) -> None:
    from corridormap.sectors.brief import brief

    with pytest.raises(LayerValidationError, match="'nosuch'.*Fix: use one of dholera_sir"):
        brief("nosuch", layers=layers)


def _fact(value: float | None, better: str = "lower", **params: object) -> Fact:
    return Fact("k", value, "km", better, "", dict(params))


def test_best_of_marks_ties_and_never_crowns_a_lower_bound_for_lower_is_better() -> None:
    assert best_of({"a": _fact(3.0), "b": _fact(1.0), "c": _fact(1.0)}) == ["b", "c"]
    assert best_of({"a": _fact(3.0, "higher"), "b": _fact(1.0, "higher")}) == ["a"]
    assert best_of({"a": _fact(2.0), "b": _fact(2.0)}) == []  # all equal: nothing stands out
    assert best_of({"a": _fact(2.0), "b": _fact(None)}) == []  # one value only
    assert best_of({"a": _fact(5.0), "b": _fact(1.0, at_least=True)}) == []
    assert best_of({"a": _fact(5.0, "higher"), "b": _fact(600.0, "higher", at_least=True)}) == ["b"]


def test_compare_marks_the_best_value_of_each_row(layers, tmp_path: Path) -> None:
    ids = ["mbir", "jit_neemrana", "dholera_sir"]
    table = compare_nodes(ids, layers=layers)
    assert len(table) > 20
    for _, row in table.iterrows():
        values = {i: row[i] for i in ids if pd.notna(row[i])}
        bounds = set(str(row["lower_bound_for"]).split("; ")) if row["lower_bound_for"] else set()
        if row["better"] == "lower":
            values = {i: v for i, v in values.items() if i not in bounds}
        expected: list[str] = []
        if len(values) >= 2 and len(set(values.values())) > 1:
            target = min(values.values()) if row["better"] == "lower" else max(values.values())
            expected = [i for i, v in values.items() if v == target]
        assert (row["best"].split("; ") if row["best"] else []) == expected, row["fact"]
    station = table[table["fact"] == "Nearest DFC freight station"].iloc[0]
    assert station["best"] == "mbir"
    runner = CliRunner()
    done = runner.invoke(cli, ["compare", *ids, "--lang", "ja", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    html = (tmp_path / "compare.ja.html").read_text(encoding="utf-8")
    assert html.count('class="num best"') == sum(len(b.split("; ")) for b in table["best"] if b)
    # JIT Neemrana has no Natural Earth city within 50 km: said in words, never a population of "0"
    pop = table[(table["key"] == "context.workforce_pop") & (table["radius_km"] == 50.0)].iloc[0]
    assert "jit_neemrana" in pop["no_city_for"].split("; ") and pop["jit_neemrana"] == 0
    en = compare_html(table, {i: i for i in ids}, lang="en")
    assert "no city in Natural Earth&#39;s populated places within 50 km" in en
    bad = runner.invoke(cli, ["compare", "mbir", "--out", str(tmp_path / "x")])
    assert bad.exit_code != 0 and "2 to 4" in bad.output


def test_settings_override_reads_another_profile_folder(tmp_path: Path) -> None:
    folder = tmp_path / "layers"
    shutil.copytree(ROOT / "layers", folder)
    for extra in (folder / "rules" / "sectors").glob("*.toml"):
        if extra.name not in ("_context.toml", "semiconductors.toml"):
            extra.unlink()
    with settings.override(layers_dir=folder):
        assert list(load_profiles()) == ["semiconductors"]


LD = 'function = "linear_decay"\n'


@pytest.mark.parametrize(
    ("criterion", "field", "message"),
    [
        (f"weight = nan\n{LD}full_until = 1.0\nzero_at = 2.0\n", "weight", "weight must"),
        (f"weight = inf\n{LD}full_until = 1.0\nzero_at = 2.0\n", "weight", "weight must"),
        (f"weight = 1.0\n{LD}full_until = nan\nzero_at = 2.0\n", "full_until", "needs a number"),
        (f"weight = 1.0\n{LD}full_until = 10.0\nzero_at = 5.0\n", "full_until", "full_until < zero_at"),
        ('weight = 1.0\nfunction = "linear_rise"\nzero_at = 3.0\nfull_at = 3.0\n', "zero_at", "zero_at <"),
        ('weight = 1.0\nfunction = "logistic_decay"\nmidpoint = 3.0\nwidth = 0.0\n', "width", "width > 0"),
    ],
)
def test_non_finite_weights_and_backwards_functions_are_refused(
    tmp_path: Path, criterion: str, field: str, message: str
) -> None:
    path = _write(tmp_path, f'[criteria.water_km]\n{criterion}rationale = "r"\nsource = "s"\n')
    with pytest.raises(LayerValidationError, match=message) as info:
        load_profile(path)
    assert f"criteria.water_km.{field}" in {p.field for p in info.value.problems}


def test_with_weights_refuses_non_finite_negative_and_all_zero_weights() -> None:
    profile = load_profiles()["semiconductors"]
    for bad in (math.nan, math.inf, -1.0):
        with pytest.raises(CatalogError, match="not finite numbers >= 0"):
            profile.with_weights({"water_km": bad})
    with pytest.raises(CatalogError, match="all weights would be 0"):
        profile.with_weights(dict.fromkeys(profile.weights(), 0.0))


@pytest.mark.parametrize("bad", [[], ["dholera_sir", "mbir"], ""])
def test_brief_takes_one_node_id_and_says_what_to_call_for_several(layers, bad) -> None:
    with pytest.raises(LayerValidationError, match="takes one node id") as info:
        corridormap.brief(bad, layers=layers)
    assert "unknown node" not in str(info.value) and "briefs([...])" in str(info.value)


def test_no_natural_earth_city_in_reach_is_not_zero_people_and_gaps_outside_the_belt_are_judged(
    layers,
) -> None:
    from corridormap.sectors.brief import briefs

    moved = dict(layers)
    nodes = layers["industrial_nodes"].copy()
    kerala = Point(76.65, 10.78)  # far south of the DMIC belt, still an industrial_nodes node
    nodes.loc[nodes["id"] == "mbir", "geometry"] = gpd.GeoSeries([kerala], crs=4326).to_crs(nodes.crs)[0]
    moved["industrial_nodes"] = nodes
    by_lang = {
        lang: {b.node_id: b for b in briefs(["dholera_sir", "mbir"], lang=lang, layers=moved)}
        for lang in ("en", "ja")
    }
    facts = node_facts(["dholera_sir", "mbir"], layers=moved)
    assert facts["dholera_sir"].fact("context.workforce_pop", r=50.0).value == 0  # the case under test
    en, ja = by_lang["en"]["dholera_sir"].html, by_lang["ja"]["dholera_sir"].html
    assert "no city in Natural Earth&#39;s populated places within 50 km" in en
    assert "50km圏内にNatural Earthの人口集積地（populated places）の都市なし" in ja
    assert "0人" not in ja
    assert facts["dholera_sir"].gaps_checked and facts["dholera_sir"].gap_scope.startswith("judged")
    # the shipped gap rules judge every node of the DMIC node layer (scope = "all"), even one moved
    # far outside the 150 km belt (numbers: AURIC and Vikram Udyogpuri lie outside it)
    assert facts["mbir"].gaps_checked and facts["mbir"].gap_scope.startswith("judged by 3 of 3")
    assert "Not judged: outside the DMIC corridor belt" not in by_lang["en"]["mbir"].html
    assert "DMIC回廊帯の外" not in by_lang["ja"]["mbir"].html
