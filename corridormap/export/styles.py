"""QGIS styles from the catalog: QML and SLD per layer, for a GeoPackage's ``layer_styles`` table.

The map draws each layer with one constant style per status and category (:mod:`corridormap.catalog.style`);
:func:`layer_style` turns the same catalog style into style classes, and :func:`to_qml` /
:func:`to_sld` write them as a QGIS categorized renderer (by ``status``, or by category and status) or
a single symbol, in pixels like the map: marker diameter ``2 * radius``, stroke ``weight``, the map's
dash patterns, fill and stroke opacities; ``label`` in a layer's ``[style]`` labels its features.
:func:`write_layer_styles` stores them in the ``layer_styles`` table QGIS reads (one default style
per layer, a fixed ``update_time``, so the same input gives a byte-identical GeoPackage);
:func:`style_sidecars` gives ``.qml`` or ``.sld`` files for other formats.

Text from the catalog and the data (values, labels, names) enters the XML through ElementTree, escaped.

>>> from corridormap.catalog.load import load_catalog, load_layers
>>> specs = load_catalog(); layers = load_layers(catalog=specs)
>>> style = layer_style("freight_rail", layers["freight_rail"], specs["freight_rail"])
>>> style.renderer, style.classes[0].label
('categorizedSymbol', 'Western DFC, operational')
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ..catalog.style import STATUS_ORDER, categories, path_style
from ..errors import CatalogError

__all__ = [
    "StyleClass",
    "LayerStyle",
    "layer_style",
    "to_qml",
    "to_sld",
    "style_table",
    "write_layer_styles",
    "style_sidecars",
    "STYLE_NAME",
    "STYLES_TABLE",
    "QGIS_VERSION",
]

#: the name of corridormap's style in ``layer_styles``
STYLE_NAME = "corridormap"
STYLES_TABLE = "layer_styles"
#: the QGIS version the QML is written for (and tested with headless)
QGIS_VERSION = "3.22.16-Białowieża"
_SEP = " | "  # between category and status in a class value
_GEOMETRY_TYPE = {"point": "0", "line": "1", "polygon": "2"}
_SYMBOL_TYPE = {"point": "marker", "line": "line", "polygon": "fill"}


@dataclass(frozen=True)
class StyleClass:
    """One constant style: the renderer value it applies to ("" = all other values) and its look."""

    value: str
    label: str
    where: tuple[tuple[str, str], ...]  # (column, value) pairs that select it; () = all others
    style: Mapping[str, Any]  # Leaflet path options (corridormap.render.style.path_style)


@dataclass(frozen=True)
class LayerStyle:
    """A layer's classes, what they are keyed by, and its label column."""

    layer: str
    kind: str  # "point", "line" or "polygon"
    renderer: str  # "categorizedSymbol" or "singleSymbol"
    attribute: str | None  # a column, or a QGIS expression joining category and status
    classes: tuple[StyleClass, ...]
    label: str | None = None


def _statuses(gdf: gpd.GeoDataFrame, spec: Any, column: str) -> list[str]:
    allowed = getattr(spec.columns.get("status"), "allowed", None) if hasattr(spec, "columns") else None
    known = [s for s in STATUS_ORDER if allowed is None or s in allowed] + list(allowed or ())
    present = sorted({str(v) for v in gdf[column].dropna()}) if column in gdf.columns else []
    return list(dict.fromkeys(known + present))


def layer_style(
    name: str, gdf: gpd.GeoDataFrame, spec: Any, *, renames: Mapping[str, str] | None = None
) -> LayerStyle:
    """The QGIS classes of one layer, from its catalog style (``spec.style``) and its columns.

    ``renames`` maps catalog column names to the names a format gave them (e.g. Shapefile's 10 bytes).
    """
    names = dict(renames or {})
    style = getattr(spec, "style", None) or {}
    kind = str(style.get("kind") or getattr(spec, "kind", "line"))
    cat_column, colours = categories(style)
    status_col = names.get("status", "status")
    has_status = status_col in gdf.columns
    cat_col = names.get(cat_column, cat_column) if cat_column else None
    if cat_col is not None and cat_col not in gdf.columns:
        cat_col = None
    label_col = names.get(str(style.get("label")), str(style.get("label"))) if style.get("label") else None
    if label_col is not None and label_col not in gdf.columns:
        label_col = None
    base = StyleClass("", "other", (), path_style(style))
    if not has_status and cat_col is None:
        return LayerStyle(name, kind, "singleSymbol", None, (base,), label_col)
    classes: list[StyleClass] = []
    statuses = _statuses(gdf, spec, status_col) if has_status else [None]
    for category, colour in colours.items() if cat_col else [(None, None)]:
        for status in statuses:
            where = tuple(
                (str(c), str(v)) for c, v in ((cat_col, category), (status_col, status)) if v is not None
            )
            text = _SEP.join(str(v) for _, v in where)
            label_text = ", ".join(str(v) for _, v in where)
            classes.append(
                StyleClass(text, label_text, where, path_style(style, status=status, color=colour))
            )
    if cat_col and has_status:
        attribute = f'concat("{cat_col}", \'{_SEP}\', "{status_col}")'
    else:
        attribute = cat_col if cat_col else status_col
    return LayerStyle(name, kind, "categorizedSymbol", attribute, (*classes, base), label_col)


# -- colours ---------------------------------------------------------------------------------------
_HEX = re.compile(r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def _rgb(colour: str, layer: str) -> tuple[int, int, int]:
    """``#rgb``, ``#rrggbb`` or a CSS colour name (as the map takes them) as 0-255 channels."""
    match = _HEX.match(str(colour))
    if match:
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    from matplotlib.colors import to_rgb  # CSS names; matplotlib is a default dependency

    try:
        r, g, b = to_rgb(str(colour))
    except ValueError as exc:
        raise CatalogError(
            f"layer {layer!r}: style colour {colour!r} is not a colour QGIS can take. Fix: write it as "
            f"#rrggbb (or a CSS colour name) in the layer's [style]"
        ) from exc
    return round(r * 255), round(g * 255), round(b * 255)


def _qcolour(colour: str, opacity: float, layer: str) -> str:
    r, g, b = _rgb(colour, layer)
    return f"{r},{g},{b},{round(255 * max(0.0, min(1.0, float(opacity))))}"


def _num(value: float) -> str:
    return f"{float(value):g}"


def _dashes(dash: str | None) -> list[str]:
    return [_num(float(v)) for v in re.split(r"[\s,]+", str(dash or "").strip()) if v]


def _marker_outline(dash: list[str]) -> str:
    """Leaflet dashes a circle marker's outline; QGIS markers take a named pen style."""
    if not dash:
        return "solid"
    if len(dash) >= 4:
        return "dash dot"
    return "dot" if float(dash[0]) <= 3 else "dash"


# -- QML -------------------------------------------------------------------------------------------
def _options(parent: ET.Element, props: Mapping[str, str]) -> None:
    """QGIS >= 3.18 reads the ``Option`` map, older versions the ``prop`` elements: write both."""
    option = ET.SubElement(parent, "Option", type="Map")
    for key, value in props.items():
        ET.SubElement(option, "Option", type="QString", name=key, value=value)
    for key, value in props.items():
        ET.SubElement(parent, "prop", k=key, v=value)


def _line_props(s: Mapping[str, Any], layer: str) -> dict[str, str]:
    dash = _dashes(s.get("dashArray"))
    props = {
        "line_color": _qcolour(s["color"], s.get("opacity", 1.0), layer),
        "line_style": "solid",
        "line_width": _num(s.get("weight", 2)),
        "line_width_unit": "Pixel",
        "capstyle": "round",
        "joinstyle": "round",
        "use_custom_dash": "1" if dash else "0",
        "customdash": ";".join(dash) if dash else "5;2",
        "customdash_unit": "Pixel",
    }
    return props


def _symbol_layers(kind: str, s: Mapping[str, Any], layer: str) -> list[tuple[str, dict[str, str]]]:
    if kind == "point":
        fill = s.get("fillColor", s["color"])
        return [
            (
                "SimpleMarker",
                {
                    "name": "circle",
                    "color": _qcolour(fill, s.get("fillOpacity", 0.6), layer),
                    "outline_color": _qcolour(s["color"], s.get("opacity", 1.0), layer),
                    "outline_style": _marker_outline(_dashes(s.get("dashArray"))),
                    "outline_width": _num(s.get("weight", 2)),
                    "outline_width_unit": "Pixel",
                    "size": _num(2 * float(s.get("radius", 6))),
                    "size_unit": "Pixel",
                    "scale_method": "diameter",
                },
            )
        ]
    if kind == "line":
        return [("SimpleLine", _line_props(s, layer))]
    fill = {
        "color": _qcolour(s.get("fillColor", s["color"]), s.get("fillOpacity", 0.6), layer),
        "style": "solid",
        "outline_style": "no",
    }
    return [("SimpleFill", fill), ("SimpleLine", _line_props(s, layer))]  # outline: the map's dashes


def _symbol(parent: ET.Element, name: str, kind: str, s: Mapping[str, Any], layer: str) -> None:
    symbol = ET.SubElement(
        parent, "symbol", type=_SYMBOL_TYPE[kind], name=name, alpha="1", clip_to_extent="1", force_rhr="0"
    )
    for cls, props in _symbol_layers(kind, s, layer):
        element = ET.SubElement(symbol, "layer", {"class": cls, "enabled": "1", "locked": "0", "pass": "0"})
        _options(element, props)


def _labeling(root: ET.Element, ls: LayerStyle) -> None:
    labeling = ET.SubElement(root, "labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    ET.SubElement(
        settings,
        "text-style",
        fieldName=str(ls.label),
        isExpression="0",
        fontSize="9",
        fontSizeUnit="Point",
        textColor="33,33,33,255",
        fontFamily="Sans Serif",
        textOpacity="1",
    )
    ET.SubElement(
        settings,
        "text-buffer",
        bufferDraw="1",
        bufferSize="1",
        bufferSizeUnits="MM",
        bufferColor="255,255,255,255",
        bufferOpacity="0.85",
    )
    # around the point, a few pixels off the marker
    ET.SubElement(settings, "placement", placement="0", dist="2", distUnits="MM", priority="5")
    ET.SubElement(settings, "rendering", obstacle="1", drawLabels="1", displayAll="0", upsidedownLabels="0")


def to_qml(ls: LayerStyle) -> str:
    """The layer's QGIS style (QML): renderer, symbols and, with a label column, labels."""
    root = ET.Element(
        "qgis",
        version=QGIS_VERSION,
        styleCategories="Symbology|Labeling",
        labelsEnabled="1" if ls.label else "0",
    )
    renderer = ET.SubElement(
        root, "renderer-v2", type=ls.renderer, symbollevels="0", forceraster="0", enableorderby="0"
    )
    symbols_parent: ET.Element = renderer
    if ls.renderer == "categorizedSymbol":
        renderer.set("attr", str(ls.attribute))
        cats = ET.SubElement(renderer, "categories")
        for i, cls in enumerate(ls.classes):
            ET.SubElement(cats, "category", symbol=str(i), value=cls.value, label=cls.label, render="true")
    symbols = ET.SubElement(symbols_parent, "symbols")
    for i, cls in enumerate(ls.classes):
        _symbol(symbols, str(i), ls.kind, cls.style, ls.layer)
    if ls.label:
        _labeling(root, ls)
    ET.SubElement(root, "layerGeometryType").text = _GEOMETRY_TYPE[ls.kind]
    ET.indent(root, space=" ")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="unicode"
    )


# -- SLD (Symbology Encoding 1.1, as QGIS writes it) ------------------------------------------------
_NS = {
    "sld": "http://www.opengis.net/sld",
    "se": "http://www.opengis.net/se",
    "ogc": "http://www.opengis.net/ogc",
    "xlink": "http://www.w3.org/1999/xlink",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
for _prefix, _uri in _NS.items():
    ET.register_namespace("" if _prefix == "sld" else _prefix, _uri)


def _q(prefix: str, tag: str) -> str:
    return f"{{{_NS[prefix]}}}{tag}"


def _params(parent: ET.Element, tag: str, values: Mapping[str, str]) -> None:
    element = ET.SubElement(parent, _q("se", tag))
    for key, value in values.items():
        ET.SubElement(element, _q("se", "SvgParameter"), name=key).text = value


def _hex(colour: str, layer: str) -> str:
    return "#{:02x}{:02x}{:02x}".format(*_rgb(colour, layer))


def _stroke(parent: ET.Element, s: Mapping[str, Any], layer: str) -> None:
    values = {
        "stroke": _hex(s["color"], layer),
        "stroke-width": _num(s.get("weight", 2)),
        "stroke-opacity": _num(s.get("opacity", 1.0)),
        "stroke-linejoin": "round",
        "stroke-linecap": "round",
    }
    if _dashes(s.get("dashArray")):
        values["stroke-dasharray"] = " ".join(_dashes(s.get("dashArray")))
    _params(parent, "Stroke", values)


def _symbolizer(rule: ET.Element, kind: str, s: Mapping[str, Any], layer: str) -> None:
    fill = {
        "fill": _hex(s.get("fillColor", s["color"]), layer),
        "fill-opacity": _num(s.get("fillOpacity", 0.6)),
    }
    if kind == "point":
        graphic = ET.SubElement(ET.SubElement(rule, _q("se", "PointSymbolizer")), _q("se", "Graphic"))
        mark = ET.SubElement(graphic, _q("se", "Mark"))
        ET.SubElement(mark, _q("se", "WellKnownName")).text = "circle"
        _params(mark, "Fill", fill)
        _stroke(mark, s, layer)
        ET.SubElement(graphic, _q("se", "Size")).text = _num(2 * float(s.get("radius", 6)))
    elif kind == "line":
        _stroke(ET.SubElement(rule, _q("se", "LineSymbolizer")), s, layer)
    else:
        polygon = ET.SubElement(rule, _q("se", "PolygonSymbolizer"))
        _params(polygon, "Fill", fill)
        _stroke(polygon, s, layer)


def _filter(rule: ET.Element, where: tuple[tuple[str, str], ...]) -> None:
    if not where:
        ET.SubElement(rule, _q("se", "ElseFilter"))
        return
    parent = ET.SubElement(rule, _q("ogc", "Filter"))
    if len(where) > 1:
        parent = ET.SubElement(parent, _q("ogc", "And"))
    for column, value in where:
        equal = ET.SubElement(parent, _q("ogc", "PropertyIsEqualTo"))
        ET.SubElement(equal, _q("ogc", "PropertyName")).text = column
        ET.SubElement(equal, _q("ogc", "Literal")).text = value


def _text_rule(style: ET.Element, column: str) -> None:
    symbolizer = ET.SubElement(ET.SubElement(style, _q("se", "Rule")), _q("se", "TextSymbolizer"))
    ET.SubElement(ET.SubElement(symbolizer, _q("se", "Label")), _q("ogc", "PropertyName")).text = column
    _params(symbolizer, "Font", {"font-family": "Sans Serif", "font-size": "12"})
    halo = ET.SubElement(symbolizer, _q("se", "Halo"))
    ET.SubElement(halo, _q("se", "Radius")).text = "1.5"
    _params(halo, "Fill", {"fill": "#ffffff"})
    _params(symbolizer, "Fill", {"fill": "#212121"})


def to_sld(ls: LayerStyle) -> str:
    """The layer's style as an OGC SLD 1.1 document: one rule per class, an else rule, a label rule."""
    root = ET.Element(_q("sld", "StyledLayerDescriptor"), version="1.1.0")
    root.set(
        _q("xsi", "schemaLocation"),
        "http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd",
    )
    named = ET.SubElement(root, _q("sld", "NamedLayer"))
    ET.SubElement(named, _q("se", "Name")).text = ls.layer
    user = ET.SubElement(named, _q("sld", "UserStyle"))
    ET.SubElement(user, _q("se", "Name")).text = ls.layer
    style = ET.SubElement(user, _q("se", "FeatureTypeStyle"))
    for cls in ls.classes:
        rule = ET.SubElement(style, _q("se", "Rule"))
        ET.SubElement(rule, _q("se", "Name")).text = cls.label
        ET.SubElement(ET.SubElement(rule, _q("se", "Description")), _q("se", "Title")).text = cls.label
        if ls.renderer == "categorizedSymbol":
            _filter(rule, cls.where)
        _symbolizer(rule, ls.kind, cls.style, ls.layer)
    if ls.label:
        _text_rule(style, ls.label)
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


# -- the layer_styles table and sidecars -----------------------------------------------------------
def styled(layers: Mapping[str, gpd.GeoDataFrame], specs: Mapping[str, Any]) -> list[str]:
    """The layers that have a catalog style (a spec with a ``style`` table)."""
    return [n for n in layers if getattr(specs.get(n), "style", None)]


def style_table(
    layers: Mapping[str, gpd.GeoDataFrame],
    specs: Mapping[str, Any],
    *,
    update_time: str,
    geometry_column: str = "geom",
    renames: Mapping[str, Mapping[str, str]] | None = None,
) -> pd.DataFrame:
    """Rows of QGIS's ``layer_styles`` table: one default style per styled layer."""
    rows = []
    for name in styled(layers, specs):
        ls = layer_style(name, layers[name], specs[name], renames=(renames or {}).get(name))
        title = getattr(specs[name], "title", name)
        rows.append(
            {
                "f_table_catalog": "",
                "f_table_schema": "",
                "f_table_name": name,
                "f_geometry_column": geometry_column,
                "styleName": STYLE_NAME,
                "styleQML": to_qml(ls),
                "styleSLD": to_sld(ls),
                "useAsDefault": True,
                "description": f"{title}: the corridormap map's style (catalog layers/{name}.toml)",
                "owner": "",
                "ui": "",
                "update_time": update_time,
            }
        )
    columns = [
        "f_table_catalog",
        "f_table_schema",
        "f_table_name",
        "f_geometry_column",
        "styleName",
        "styleQML",
        "styleSLD",
        "useAsDefault",
        "description",
        "owner",
        "ui",
        "update_time",
    ]
    return pd.DataFrame(rows, columns=columns)


def write_layer_styles(
    gpkg: Path,
    layers: Mapping[str, gpd.GeoDataFrame],
    specs: Mapping[str, Any],
    *,
    update_time: str,
    renames: Mapping[str, Mapping[str, str]] | None = None,
) -> int:
    """Write (or update) the ``layer_styles`` table of ``gpkg`` for the styled ``layers``.

    Rows of other layers are kept; a layer's earlier corridormap style is replaced. Returns the
    number of layers styled. The table is created as QGIS creates it: a GeoPackage attributes table
    with an ``id`` key.
    """
    import pyogrio

    table = style_table(layers, specs, update_time=update_time, renames=renames)
    if table.empty:
        return 0
    present = [str(n) for n in pyogrio.list_layers(gpkg)[:, 0]]
    if STYLES_TABLE in present:
        old = pyogrio.read_dataframe(gpkg, layer=STYLES_TABLE, read_geometry=False, fid_as_index=True)
        keep = old[~(old["f_table_name"].isin(table["f_table_name"]) & (old["styleName"] == STYLE_NAME))]
        keep = keep.assign(update_time=keep["update_time"].astype(str).str.replace(" ", "T"))
        table = pd.concat([keep.reset_index(drop=True), table], ignore_index=True)
    table["useAsDefault"] = table["useAsDefault"].astype(bool)
    pyogrio.write_dataframe(
        table, gpkg, layer=STYLES_TABLE, driver="GPKG", layer_options={"FID": "id", "OVERWRITE": "YES"}
    )
    return int(len(table))


def style_sidecars(
    layers: Mapping[str, gpd.GeoDataFrame],
    specs: Mapping[str, Any],
    outputs: Mapping[str, Path],
    kind: str,
    *,
    renames: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[Path, str]:
    """``{path: text}`` of a ``.qml`` or ``.sld`` file per styled layer, named after its output file.

    QGIS loads ``name.qml`` beside ``name.fgb`` as the layer's default style; a GeoPackage's layers
    get ``<file stem>.<layer>.qml``.
    """
    if kind not in ("qml", "sld"):
        raise CatalogError(f"unknown style format {kind!r}. Fix: use qml or sld")
    files: dict[Path, str] = {}
    for name in styled(layers, specs):
        ls = layer_style(name, layers[name], specs[name], renames=(renames or {}).get(name))
        out = outputs[name]
        stem = out.name.split(".")[0]
        shared = sum(1 for p in outputs.values() if p == out) > 1
        files[out.with_name(f"{stem}.{name}.{kind}" if shared else f"{stem}.{kind}")] = (
            to_qml(ls) if kind == "qml" else to_sld(ls)
        )
    return files
