"""Run by Debian's /usr/bin/python3 (which has QGIS's Python bindings): load layers headless, report JSON.

``python3 qgis_check.py DATASOURCE [DATASOURCE ...]`` prints one JSON object: per data source (a
``file.gpkg|layername=x`` or a file with a ``.qml`` sidecar) whether it loaded, whether QGIS applied a
default style, the renderer (type, attribute, categories with their symbol colours, widths, dash
patterns and sizes), labelling, and which category QGIS draws each feature with. Used by
tests/test_export_styles.py; the venv cannot import the Debian ``qgis`` module.
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsExpressionContextUtils,
    QgsRenderContext,
    QgsVectorLayer,
)


def _symbol_layers(symbol):
    found = []
    for i in range(symbol.symbolLayerCount()):
        layer = symbol.symbolLayer(i)
        props = layer.properties()
        found.append({"class": layer.layerType(), "props": {k: str(v) for k, v in props.items()}})
    return found


def _describe(source):
    layer = QgsVectorLayer(source, "layer", "ogr")
    out = {"valid": layer.isValid()}
    if not layer.isValid():
        return out
    message, loaded = layer.loadDefaultStyle()
    out["default_style_loaded"] = bool(loaded)
    out["message"] = message
    renderer = layer.renderer()
    out["renderer"] = renderer.type()
    if renderer.type() == "categorizedSymbol":
        out["attribute"] = renderer.classAttribute()
        out["categories"] = [
            {
                "value": str(c.value()),
                "label": c.label(),
                "color": c.symbol().color().name(),
                "layers": _symbol_layers(c.symbol()),
            }
            for c in renderer.categories()
        ]
    out["labels"] = bool(layer.labelsEnabled())
    if layer.labelsEnabled():
        out["label_field"] = layer.labeling().settings().fieldName
    context = QgsRenderContext()
    context.expressionContext().appendScopes(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
    renderer.startRender(context, layer.fields())
    drawn = []
    for feature in layer.getFeatures():
        context.expressionContext().setFeature(feature)
        symbol = renderer.symbolForFeature(feature, context)
        keys = sorted(renderer.legendKeysForFeature(feature, context))
        categorized = keys and out["renderer"] == "categorizedSymbol"
        category = renderer.categories()[int(keys[0])].label() if categorized else None
        drawn.append(
            {
                "id": str(feature["id"]) if "id" in layer.fields().names() else None,
                "color": None if symbol is None else symbol.color().name(),
                "category": category,
            }
        )
    renderer.stopRender(context)
    out["drawn"] = drawn
    out["features"] = layer.featureCount()
    return out


def main(sources):
    app = QgsApplication([], False)
    app.initQgis()
    try:
        print(json.dumps({source: _describe(source) for source in sources}))
    finally:
        app.exitQgis()


if __name__ == "__main__":
    main(sys.argv[1:])
