"""Heat maps of point layers: folium's ``HeatMap`` for a small layer, the large layer's own points
for a large one.

A small point layer's heat map (:func:`heat_layer`) embeds its points as JSON, as folium does. A
point layer drawn by the large-layer path (:mod:`.big`) already carries its points, encoded; its
heat map (:class:`BigHeatLayer`, :func:`big_heat_layer`) is drawn in the browser from those decoded
points (``render/js/big_heat.js`` reads them with ``layer.points()`` once the layer has decoded,
Web Mercator metres turned to latitude and longitude), so the page holds no second copy of them.
Its only payload is the weights of a weighted heat map: one byte a feature, deflated, as 7-bit text.

Weights (both paths, :func:`heat_weights`): the weight column's values as a share of the largest.
A feature whose weight is missing (NaN) or zero adds no heat and is left out of the heat map (it
would otherwise be drawn at the heat map's minimum opacity, as heavy as a weighted one); a negative
or infinite weight is treated the same, with a :class:`~corridormap.errors.CorridormapWarning`
naming the layer, the column and how many; a column with no positive value gives an unweighted heat
map (logged); a column that is not numeric is refused (:class:`~corridormap.errors.LayerValidationError`).
A large layer's weights travel quantised to 1/255 of the largest (:func:`weight_codes`; a positive
weight never rounds to zero).
"""

from __future__ import annotations

import html
import logging
import warnings
import zlib
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Figure
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.plugins import HeatMap
from folium.template import Template

from ..catalog.load import LayerSpec
from ..errors import CorridormapWarning, LayerValidationError
from .big import BigLayer
from .big_geometry import text7
from .page import RawText, add_files

__all__ = [
    "HEAT_MAX_FEATURES",
    "BIG_HEAT_MAX_FEATURES",
    "HEAT_OPTIONS",
    "heat_weights",
    "weight_codes",
    "heat_layer",
    "BigHeatLayer",
    "big_heat_layer",
]

log = logging.getLogger(__name__)

HEAT_MAX_FEATURES = 20_000
"""A small layer's heat map embeds every point again: above this many points it is left out."""
BIG_HEAT_MAX_FEATURES = 200_000
"""A large point layer's heat map is drawn from its own points up to this many features; larger layers
get none. leaflet.heat projects every point again after each pan and zoom: measured in Chromium on
a shared 2-core machine (one redraw with every point in view, /tmp-built maps of clustered belt
points), 60-70 ms and about 60 MB more JS heap at 200,000 points, 0.14 s at 500,000, 0.19 s and
about 150-200 MB at 1,000,000: a zoom of the 1M-vertex map takes about 0.07 s without it."""
HEAT_OPTIONS: Mapping[str, Any] = {"radius": 22, "blur": 16, "minOpacity": 0.3}
"""leaflet.heat's options, the same for both paths."""
WEIGHT_LEVELS = 255


def heat_weights(gdf: pd.DataFrame, column: str | None, *, what: str) -> np.ndarray | None:
    """Each feature's heat weight as a share of the largest (0 to 1), or None for an unweighted map.

    Parameters
    ----------
    gdf : the layer (any CRS).
    column : the weight column (``[style] heat_weight``, else ``capacity_mw``); None or absent: unweighted.
    what : the layer's name, for messages.

    Returns
    -------
    numpy.ndarray or None
        0 where the weight is missing, zero, negative or infinite (no heat; a negative or infinite
        weight warns), None where no feature has a positive weight (unweighted, logged).

    Examples
    --------
    >>> import pandas as pd
    >>> heat_weights(pd.DataFrame({"mw": [50.0, None, 200.0]}), "mw", what="plants").tolist()
    [0.25, 0.0, 1.0]
    """
    if column is None or column not in gdf.columns:
        if column is not None:
            log.warning("heat map of %s: no column %r to weight by; unweighted", what, column)
        return None
    raw = gdf[column]
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype(float)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(np.isnan(values) & raw.notna().to_numpy())
    if len(bad):
        rows = ", ".join(f"row {i} ({raw.iloc[i]!r})" for i in bad[:3])
        raise LayerValidationError(
            f"layer {what!r}: heat map weight column {column!r} has {len(bad)} value(s) that are not "
            f"numbers: {rows}. Fix: make {column!r} numeric, or name another column in [style] heat_weight"
        )
    wrong = (values < 0) | np.isinf(values)
    if wrong.any():
        message = (
            f"layer {what!r}: {int(wrong.sum())} feature(s) with a negative or infinite heat weight in "
            f"{column!r} add no heat to its heat map. Fix: correct {column!r}, or name another column in "
            "[style] heat_weight"
        )
        log.warning(message)
        warnings.warn(message, CorridormapWarning, stacklevel=2)
    values = np.where(np.isfinite(values) & (values > 0), values, 0.0)
    top = float(values.max()) if len(values) else 0.0
    if top <= 0:
        log.info("heat map of %s: no feature has a positive %r; unweighted", what, column)
        return None
    missing = int((values == 0).sum())
    if missing:
        log.info("heat map of %s: %d feature(s) without a positive %r add no heat", what, missing, column)
    return values / top


def weight_codes(weights: np.ndarray) -> np.ndarray:
    """Weights (0 to 1) as bytes: ``round(255 * w)``, at least 1 for a positive weight, 0 for none.

    >>> import numpy as np
    >>> weight_codes(np.array([0.0, 1e-6, 0.25, 1.0])).tolist()
    [0, 1, 64, 255]
    """
    w = np.clip(np.nan_to_num(np.asarray(weights, dtype=np.float64), nan=0.0), 0.0, 1.0)
    codes = np.rint(w * WEIGHT_LEVELS)
    codes[(w > 0) & (codes < 1)] = 1
    return codes.astype(np.uint8)


def _heat_name(spec: LayerSpec) -> str:
    return html.escape(f"{spec.title} (heat map)")  # the layer control inserts names as HTML


def heat_layer(gdf: gpd.GeoDataFrame, spec: LayerSpec, *, weight: str | None = None) -> HeatMap:
    """A heat map of a point layer (``gdf`` in EPSG:4326), off at start; optionally weighted by a column.

    The points go into the page as JSON (folium's ``HeatMap``): for small layers. Features with no
    positive weight are left out (see :func:`heat_weights`).
    """
    pts = gdf.geometry.representative_point()
    weights = heat_weights(gdf, weight, what=spec.name)
    values = np.ones(len(gdf)) if weights is None else weights
    data = [
        [round(p.y, 5), round(p.x, 5), round(float(v), 4)]
        for p, v in zip(pts, values, strict=True)
        if p is not None and not p.is_empty and v > 0
    ]
    return HeatMap(
        data,
        name=_heat_name(spec),
        show=False,
        radius=HEAT_OPTIONS["radius"],
        blur=HEAT_OPTIONS["blur"],
        min_opacity=HEAT_OPTIONS["minOpacity"],
    )


class BigHeatLayer(JSCSSMixin, Layer):
    """The heat map of a large point layer, drawn in the browser from that layer's decoded points.

    ``codes``: one weight byte per feature of the large layer (:func:`weight_codes`; 0 = no heat),
    or None for an unweighted heat map. The page gets ``render/js/big_heat.js`` (once) and, when
    weighted, the deflated codes as 7-bit text in a ``<script type="application/octet-stream">``
    block; the heat map fills in once the large layer has decoded.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = corridormapBig.heat({{ this.big.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}
        """
    )
    default_js = HeatMap.default_js  # leaflet.heat, inlined offline like folium's own heat maps

    def __init__(self, big: BigLayer, *, name: str, codes: np.ndarray | None, show: bool = False) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "BigHeatLayer"
        self.big = big
        if codes is not None and len(codes) != big.options["counts"]["features"]:
            raise ValueError(f"{len(codes)} heat weights for {big.options['counts']['features']} features")
        raw = None if codes is None else zlib.compress(codes.astype(np.uint8).tobytes(), 9)
        self.weights_text = None if raw is None else text7(raw)
        self.options = {
            "heat": dict(HEAT_OPTIONS),
            "weights": None if codes is None else f"{self.get_name()}_weights",
        }

    @property
    def size_bytes(self) -> int:
        """Bytes this heat map adds to the page beside the shared JavaScript (its weights)."""
        return len(self.weights_text.encode("utf-8")) if self.weights_text else 0

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # renders into the figure
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise TypeError("a BigHeatLayer renders only inside a map (add it to a folium.Map)")
        super().render(**kwargs)  # (leaflet.heat goes into the page head first)
        add_files(figure, js=("big_heat.js",))
        if self.weights_text is not None:
            block_id = self.options["weights"]
            block = f'<script type="application/octet-stream" id="{block_id}">{self.weights_text}</script>'
            figure.html.add_child(RawText(block), name=f"{self.get_name()}_data")


def big_heat_layer(
    big: BigLayer, gdf: gpd.GeoDataFrame, spec: LayerSpec, *, weight: str | None = None
) -> BigHeatLayer:
    """The heat map, off at start, of large layer ``big`` (built from ``gdf``, given to ``big_layer``).

    Only the weights (when ``weight`` names a column) are sent; the points are the large layer's own.
    """
    weights = heat_weights(gdf.iloc[big.rows], weight, what=spec.name)
    codes = None if weights is None else weight_codes(weights)
    return BigHeatLayer(big, name=_heat_name(spec), codes=codes)
