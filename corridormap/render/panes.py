"""Map panes: one Leaflet pane per catalog layer, stacked by the catalog's draw order.

Both drawing paths (:mod:`.layers` and the large-layer path :mod:`.big`) put a layer in the pane
named here, so polygons stay under lines and lines under points however often layers are toggled.
"""

from __future__ import annotations

import folium

from ..catalog.load import LayerSpec

__all__ = ["PANE_BASE_Z", "pane_name", "add_panes"]

# Leaflet's overlay pane sits at z-index 400 and its marker pane at 600: catalog layers go between.
PANE_BASE_Z = 400


def pane_name(spec: LayerSpec) -> str:
    return f"cm-{spec.name}"


def add_panes(m: folium.Map, specs: list[LayerSpec]) -> None:
    """One pane per layer, stacked by draw order (clickable, unlike folium's default custom pane)."""
    for spec in specs:
        z = PANE_BASE_Z + max(0, min(int(spec.draw_order), 190))
        folium.map.CustomPane(pane_name(spec), z_index=z, pointer_events=True).add_to(m)
