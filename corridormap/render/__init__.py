"""The map: folium at the render boundary, one small builder per part.

``build_map`` assembles; ``layers`` draws one catalog layer per kind; ``style`` turns catalog styles
into Leaflet options; ``popup`` formats escaped popup tables; ``legend`` draws the one legend.
"""

from .map import build_map

__all__ = ["build_map"]
