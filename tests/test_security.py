"""No code from data: text from layers and catalogs is never template source, HTML or a callable.

Build time (here): names, titles, groups, units and sources holding Jinja syntax build and show
literally, and a payload that would run code runs nothing, through ``corridormap build`` with a
user layer folder and through ``build_map`` + ``map_html`` (online and offline). The browser side
(nothing runs, no dialog, text shows literally) is in ``test_security_browser.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import branca.element
import folium
import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point

from corridormap import settings
from corridormap.catalog.load import load_catalog, read_spec
from corridormap.cli import cli
from corridormap.render import build_map
from corridormap.render.assets import map_html
from corridormap.render.map import spec_for_frame
from corridormap.render.page import CorridorFigure, render_page

SQUARE = "{{ 7*7 }}"
UNCLOSED = "Plant {{ unclosed' }} {% if %}"
COMMENT = "Depot {# never closed"
# quote-free, so it survives JSON and HTML escaping: before the fix it made a folder in the cwd
MKDIR = "{{ cycler.__init__.__globals__.os.mkdir(dict(cm_pwned_mkdir=1)|first) }}"
POPEN = "{{ cycler.__init__.__globals__.os.popen('touch cm_pwned_popen').read() }}"
MARKERS = ("cm_pwned_mkdir", "cm_pwned_popen")
PAYLOADS = (SQUARE, UNCLOSED, COMMENT, MKDIR, POPEN)


def _frame(names: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [f"f{i}" for i in range(len(names))],
            "name": names,
            "source": ["https://example.org/{{ 7*7 }}"] * len(names),
        },
        geometry=[Point(75 + i * 0.1, 22) for i in range(len(names))],
        crs=4326,
    )


def _no_markers(where: Path) -> None:
    for marker in MARKERS:
        assert not (where / marker).exists(), f"a template payload ran: {marker} was created"


def _json_text(text: str) -> str:
    """``text`` as folium's ``tojson`` writes it into a script (HTML-significant characters escaped)."""
    escapes = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}
    return "".join(escapes.get(c, c) for c in json.dumps(text))


@pytest.mark.parametrize("payload", PAYLOADS, ids=["square", "unclosed", "comment", "mkdir", "popen"])
@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_build_map_keeps_template_syntax_as_text(
    payload: str, offline: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    gdf = _frame([payload, "plain"])
    spec = spec_for_frame("mine", gdf)
    spec = type(spec)(
        **{
            **spec.__dict__,
            "title": f"Layer {payload}",
            "group": f"Group {payload}",
            "search": True,
            "provenance": {"source": f"Survey {payload}"},
        }
    )
    m = build_map({"mine": gdf}, {"mine": spec}, title=f"Title {payload}", offline=offline)
    page = map_html(m, offline=offline)
    _no_markers(tmp_path)
    assert _json_text(payload) in page  # the feature name, as data (GeoJSON and search records)
    escaped = payload.replace("'", "&#x27;")
    for label in (f"Layer {escaped}", f"Group {escaped}", f"Survey {escaped}", f"Title {escaped}"):
        # as HTML-escaped text, or as JSON data the page sets as text (render/page.Component)
        raw = label.replace("&#x27;", "'")
        assert label in page or _json_text(label)[1:-1] in page or _json_text(raw)[1:-1] in page, label
    if payload == SQUARE:
        assert "Layer 49" not in page and '"49"' not in page


def test_every_way_of_rendering_keeps_data_as_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    m = build_map({"mine": _frame(list(PAYLOADS))})
    assert isinstance(m.get_root(), CorridorFigure)
    m.save(tmp_path / "saved.html")
    notebook = m._repr_html_()
    _no_markers(tmp_path)
    assert _json_text(SQUARE) in (tmp_path / "saved.html").read_text(encoding="utf-8")
    assert "7*7" in notebook
    # a plain folium map rendered through render_page is as safe
    plain = folium.Map()
    folium.Marker([22, 75], tooltip=MKDIR, popup=UNCLOSED).add_to(plain)
    page = render_page(plain)
    _no_markers(tmp_path)
    assert "mkdir(dict(cm_pwned_mkdir=1)|first)" in page and "{% if %}" in page


def test_rendering_without_jinja_in_the_data_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fix only stops the second compilation: for ordinary data the page is byte-identical."""
    counter = iter(range(10**6))

    def ids(cls: type) -> str:
        return f"{next(counter):032x}"

    monkeypatch.setattr(branca.element.Element, "_generate_id", classmethod(ids))
    from corridormap.catalog.load import load_layers

    layers = load_layers(["industrial_nodes", "ports_logistics"])
    pages = []
    for render in (render_page, lambda m: branca.element.Figure.render(m.get_root())):  # ours, folium's
        counter = iter(range(10**6))
        pages.append(render(build_map(layers)))
    assert pages[0] == pages[1]


def _user_folder(folder: Path) -> Path:
    folder.mkdir()
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [74.6 + i * 0.2, 24.6]},
            "properties": {"id": f"u{i}", "name": name, "capacity_mw": 10.0 + i, "source": f"Record {name}"},
        }
        for i, name in enumerate(PAYLOADS)
    ]
    (folder / "hostile.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8"
    )
    toml_text = textwrap.dedent(f"""
        name = "hostile"
        title = {json.dumps("Plants " + SQUARE + " " + MKDIR)}
        group = {json.dumps("Group " + UNCLOSED)}
        geometry = "Point"
        draw_order = 85
        source = "hostile.geojson"
        search = true
        popup = ["name", "capacity_mw", "source"]
        [provenance]
        source = {json.dumps("Data sources " + POPEN)}
        [columns]
        id = {{ type = "str", required = true }}
        name = {{ type = "str", required = true }}
        [columns.capacity_mw]
        type = "float"
        label = {json.dumps("Capacity " + COMMENT)}
        unit = {json.dumps("MW " + SQUARE)}
    """)
    (folder / "hostile.toml").write_text(toml_text, encoding="utf-8")
    return folder


def _check_built_map(page: str, where: Path) -> None:
    _no_markers(where)
    assert _json_text(UNCLOSED) in page and _json_text(MKDIR) in page
    assert "MW {{ 7*7 }}" in page and "Capacity Depot {# never closed" in page  # unit and column label
    assert "Data sources {{ cycler" in page  # the data-sources panel
    assert "Plants {{ 7*7 }}" in page  # the layer title (layer control, legend)
    assert "Plants 49" not in page


def test_cli_build_with_a_user_layer_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder = _user_folder(tmp_path / "mine")
    with settings.override(extra_layers_dirs=[folder]):
        result = CliRunner().invoke(cli, ["build", "--out", str(tmp_path / "online")])
    assert result.exit_code == 0, result.output
    _check_built_map((tmp_path / "online" / "corridor.html").read_text(encoding="utf-8"), tmp_path)


def test_cli_build_offline_as_a_user_runs_it(tmp_path: Path) -> None:
    """The real command in a subprocess, the folder given the way a user gives it (environment)."""
    folder = _user_folder(tmp_path / "mine")
    env = {**os.environ, "CORRIDORMAP_EXTRA_LAYERS_DIRS": str(folder)}
    done = subprocess.run(
        [Path(sys.executable).parent / "corridormap", "build", "--offline", "--out", tmp_path / "off"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    _check_built_map((tmp_path / "off" / "corridor.html").read_text(encoding="utf-8"), tmp_path)


# -- script through a layer's title or group ---------------------------------------------------------


def test_layer_titles_and_groups_reach_the_layer_controls_escaped() -> None:
    gdf = _frame(["a"])
    spec = spec_for_frame("mine", gdf)
    spec = type(spec)(
        **{
            **spec.__dict__,
            "title": "T <img src=x onerror=alert(1)>",
            "group": "G <svg onload=alert(2)>",
            "style": {"kind": "point", "color": "#444"},
        }
    )
    m = build_map({"mine": gdf}, {"mine": spec})
    page = render_page(m)
    assert "<img src=x" not in page and "<svg onload" not in page
    # the layer panel receives them as JSON data and sets them as text (the browser test runs them)
    assert "T \\u003cimg src=x onerror=alert(1)\\u003e" in page
    assert "G \\u003csvg onload=alert(2)\\u003e" in page


def test_layer_names_are_identifiers(tmp_path: Path) -> None:
    from corridormap.errors import CatalogError

    path = tmp_path / "bad.toml"
    path.write_text('name = "x\\"><img src=x>"\ngroup = "g"\ngeometry = "Point"\nsource = "a.geojson"\n')
    with pytest.raises(CatalogError, match=r"bad\.toml.*name.*letters, digits"):
        read_spec(path)
    assert all(n.replace("_", "").isalnum() for n in load_catalog())


# -- no callable from a layer TOML -------------------------------------------------------------------


def _derived_entry(folder: Path, function: str, *, params: str = "") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "derived.toml"
    path.write_text(
        textwrap.dedent(f"""
            name = "derived"
            group = "Context"
            geometry = ["Polygon", "MultiPolygon"]
            [derive]
            function = {json.dumps(function)}
            from = "freight_rail"
            {params}
        """),
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "function",
    [
        "os:system",
        "subprocess:check_output",
        "builtins:eval",
        "corridormap.catalog.load:load_layers",
        "os.system",
    ],
)
def test_a_layer_toml_cannot_name_any_callable(
    function: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from corridormap.catalog.load import load_layers
    from corridormap.errors import CatalogError

    monkeypatch.chdir(tmp_path)
    path = _derived_entry(
        tmp_path / "shared", function, params='params = { command = "touch cm_pwned_popen" }'
    )
    with settings.override(extra_layers_dirs=[path.parent]), pytest.raises(CatalogError) as info:
        load_layers(["derived"])
    message = str(info.value)
    assert str(path) in message and repr(function) in message
    assert "corridor_belt" in message and "area_footprints" in message and "register_derive" in message
    _no_markers(tmp_path)


def test_cli_layers_refuses_os_system_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = _derived_entry(
        tmp_path / "shared", "os:system", params='params = { command = "touch cm_pwned_popen" }'
    )
    with settings.override(extra_layers_dirs=[path.parent]):
        result = CliRunner().invoke(cli, ["layers"])
    assert result.exit_code != 0
    assert "not a registered derive function" in result.output and "Traceback" not in result.output
    _no_markers(tmp_path)


@pytest.mark.parametrize(
    ("function", "params"),
    [
        ("corridor_belt", 'params = { command = "touch cm_pwned_popen" }'),
        ("load_dataset", 'params = { name = "x", path = "y" }'),
    ],
)
def test_a_registered_derive_with_wrong_params_is_one_line(
    function: str, params: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = _derived_entry(tmp_path / "shared", function, params=params)
    with settings.override(extra_layers_dirs=[path.parent]):
        result = CliRunner().invoke(cli, ["layers"])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)
    assert str(path) in result.output and "does not accept these inputs or params" in result.output
    assert "Traceback" not in result.output
    _no_markers(tmp_path)


def test_plain_names_and_old_spellings(tmp_path: Path) -> None:
    from corridormap.catalog.load import load_layers

    path = _derived_entry(tmp_path / "a", "corridor_belt", params="params = { buffer_km = 10.0 }")
    with settings.override(extra_layers_dirs=[path.parent]):
        plain = load_layers(["derived"])["derived"]
    old = _derived_entry(
        tmp_path / "b", "corridormap.analysis.corridor:corridor_belt", params="params = { buffer_km = 10.0 }"
    )
    with (
        settings.override(extra_layers_dirs=[old.parent]),
        pytest.warns(DeprecationWarning, match="'corridor_belt'"),
    ):
        again = load_layers(["derived"])["derived"]
    assert plain.geometry.iloc[0].equals(again.geometry.iloc[0])
    root = Path(settings.layers_dir)
    files = [*root.glob("*.toml"), *(root / "rules" / "map").glob("*.toml")]
    shipped = [read_spec(p).derive for p in files if not p.name.startswith("_")]
    assert all(":" not in str(d["function"]) for d in shipped if d), "shipped layers use plain names"


def test_register_derive_in_code(tmp_path: Path) -> None:
    import corridormap
    from corridormap.catalog import derive
    from corridormap.catalog.load import load_layers

    @corridormap.register_derive("first_rail_line")
    def first_rail_line(rail: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return rail.head(1).assign(geometry=rail.head(1).envelope)

    try:
        path = _derived_entry(tmp_path / "a", "first_rail_line")
        with settings.override(extra_layers_dirs=[path.parent]):
            assert len(load_layers(["derived"])["derived"]) == 1
        assert "first_rail_line" in corridormap.derive_names()
        with pytest.raises(ValueError, match="corridormap's own"):
            corridormap.register_derive("corridor_belt", first_rail_line)
        with pytest.raises(ValueError, match="identifier"):
            corridormap.register_derive("os:system", first_rail_line)
    finally:
        derive._registered.pop("first_rail_line", None)


def test_register_derive_through_an_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package declares ``[project.entry-points."corridormap.derive"]``: its name becomes allowed."""
    from importlib.metadata import EntryPoint

    from corridormap.catalog import derive
    from corridormap.catalog.load import load_layers

    (tmp_path / "cm_plugin_mod.py").write_text(
        "def simplified(rail):\n    return rail.assign(geometry=rail.envelope)\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    point = EntryPoint(
        name="plugin_buffers", value="cm_plugin_mod:simplified", group=derive.ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(
        derive, "entry_points", lambda group: [point] if group == derive.ENTRY_POINT_GROUP else []
    )
    path = _derived_entry(tmp_path / "a", "plugin_buffers")
    with settings.override(extra_layers_dirs=[path.parent]):
        assert not load_layers(["derived"])["derived"].empty
    assert "plugin_buffers" in derive.derive_names()


@pytest.mark.parametrize(
    ("module", "match"),
    [
        ("raise ImportError('libfoo.so: cannot open shared object file')\n", "failed to load .*ImportError"),
        ("simplified = 42\n", "is not a function"),
    ],
)
def test_a_broken_plugin_entry_point_is_named_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, match: str
) -> None:
    from importlib.metadata import EntryPoint

    from corridormap.catalog import derive
    from corridormap.catalog.load import load_layers
    from corridormap.errors import CatalogError

    name = f"cm_broken_{abs(hash(module))}"
    (tmp_path / f"{name}.py").write_text(module, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    point = EntryPoint(name="plugin_broken", value=f"{name}:simplified", group=derive.ENTRY_POINT_GROUP)
    monkeypatch.setattr(
        derive, "entry_points", lambda group: [point] if group == derive.ENTRY_POINT_GROUP else []
    )
    path = _derived_entry(tmp_path / "a", "plugin_broken")
    with settings.override(extra_layers_dirs=[path.parent]), pytest.raises(CatalogError, match=match) as info:
        load_layers(["derived"])
    assert str(path) in str(info.value) and "Fix:" in str(info.value)


def test_strip_diagram_escapes_catalog_colours_and_names() -> None:
    import xml.etree.ElementTree as ET

    from corridormap.analysis.strip import strip_svg

    frame = gpd.GeoDataFrame(
        {"name": ["<script>alert(1)</script>"], "chainage_km": [10.0], "offset_km": [2.0], "side": ["left"]},
        geometry=[Point(75, 22)],
        crs=4326,
    )
    svg = strip_svg(
        {"Nodes <b>": frame},
        length_km=100.0,
        title="T {{ 7*7 }}",
        colors={"Nodes <b>": 'red" onload="alert(1)'},
    )
    root = ET.fromstring(svg)  # well-formed: nothing broke out of an attribute or a text node
    assert not [el for el in root.iter() if any(k.startswith("on") for k in el.attrib)]
    assert "<script>" not in svg and "T {{ 7*7 }}" in svg
