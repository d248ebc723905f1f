"""A raster on the map: a coloured PNG inside the HTML (no tile server), with its own colour bar and an
opacity slider, so it works the same in online and offline maps.

>>> import folium, numpy as np
>>> from rasterio.transform import from_origin
>>> from corridormap.raster import Raster
>>> r = Raster(np.array([[0.0, 1.0], [2.0, 3.0]]), from_origin(75, 24, 0.5, 0.5), "EPSG:4326", name="demo")
>>> m = folium.Map()
>>> overlay = add_raster_overlay(m, r, title="Demo", units="m")
>>> "data:image/png;base64" in m.get_root().render()
True
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import branca.colormap as bcm
import folium
import numpy as np
from branca.element import MacroElement
from folium.plugins import GroupedLayerControl
from jinja2 import Template
from pyproj import Transformer

from ..raster import Raster, bounds_in, reproject_raster

if TYPE_CHECKING:
    from ..sites.suitability import SuitabilityResult

__all__ = ["colourise", "add_raster_overlay", "ColourBar", "add_suitability"]

_WEB_MERCATOR = "EPSG:3857"
_MAX_SIDE = 2048


def _lut(colormap: str) -> np.ndarray:
    """256 RGB colours interpolated from a branca colour scheme (e.g. ``viridis``, ``RdYlGn_11``)."""
    try:
        scheme = getattr(bcm.linear, colormap)
    except AttributeError:
        raise ValueError(f"unknown colour map {colormap!r}. Fix: use a branca.colormap.linear name") from None
    stops = np.asarray(scheme.index, dtype=float)
    stops = (stops - stops[0]) / (stops[-1] - stops[0])
    colours = np.asarray(scheme.colors, dtype=float)[:, :3]
    x = np.linspace(0.0, 1.0, 256)
    return np.stack([np.interp(x, stops, colours[:, i]) for i in range(3)], axis=1)


def colourise(data: np.ndarray, *, vmin: float, vmax: float, colormap: str = "viridis") -> np.ndarray:
    """RGBA ``uint8`` image of ``data`` on a colour ramp from ``vmin`` to ``vmax``; ``NaN`` transparent."""
    lut = (_lut(colormap) * 255).round().astype("uint8")
    span = vmax - vmin if vmax > vmin else 1.0
    valid = np.isfinite(data)
    idx = np.zeros(data.shape, dtype=int)
    idx[valid] = np.clip(((data[valid] - vmin) / span * 255).round(), 0, 255).astype(int)
    rgba = np.zeros((*data.shape, 4), dtype="uint8")
    rgba[..., :3] = lut[idx]
    rgba[..., 3] = np.where(valid, 255, 0)
    return rgba


class ColourBar(MacroElement):
    """A Leaflet control with the overlay's colour ramp, its range and units, and an opacity slider."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "corridormap-colour-bar");
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            div.querySelector("input").addEventListener("input", function (e) {
                {{ this.overlay }}.setOpacity(parseFloat(e.target.value));
            });
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        overlay: str,
        *,
        title: str,
        units: str,
        vmin: float,
        vmax: float,
        colormap: str,
        opacity: float,
        position: str = "bottomleft",
    ) -> None:
        super().__init__()
        self._name = "ColourBar"
        self.overlay = overlay
        self.position = position
        stops = ", ".join(f"rgb({r},{g},{b})" for r, g, b in (_lut(colormap)[::32] * 255).round().astype(int))
        unit = f" ({html.escape(units)})" if units else ""
        self.html = (
            '<div style="background:rgba(255,255,255,.9);padding:6px 8px;border-radius:4px;'
            'font:12px sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3);min-width:180px">'
            f"<b>{html.escape(title)}</b>{unit}"
            f'<div style="height:12px;margin:4px 0;background:linear-gradient(to right, {stops})"></div>'
            f'<div style="display:flex;justify-content:space-between"><span>{vmin:,.4g}</span>'
            f"<span>{vmax:,.4g}</span></div>"
            '<label style="display:flex;align-items:center;gap:4px;margin-top:4px">opacity '
            f'<input type="range" min="0" max="1" step="0.05" value="{opacity}" aria-label="opacity of '
            f'{html.escape(title)}"></label></div>'
        )


def _controls_last(m: folium.Map) -> None:
    """Move layer controls after the layers added since: their script refers to every overlay, so it
    must run after the overlays' own scripts (folium renders children in insertion order)."""
    for key, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl | GroupedLayerControl):
            m._children.move_to_end(key)


def _to_web_mercator(raster: Raster) -> Raster:
    """The raster over exactly its own extent in Web Mercator, at most 2048 and at least ~512 px a side."""
    bounds = bounds_in(raster, _WEB_MERCATOR)
    rows, cols = raster.shape
    scale = min(_MAX_SIDE / max(rows, cols), max(1, 512 // max(rows, cols)))
    shape = (max(1, round(rows * scale)), max(1, round(cols * scale)))
    return reproject_raster(raster, _WEB_MERCATOR, bounds=bounds, shape=shape, resampling="nearest")


def add_raster_overlay(
    m: folium.Map,
    raster: Raster,
    *,
    title: str | None = None,
    units: str | None = None,
    colormap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    opacity: float = 0.7,
    show: bool = True,
) -> folium.raster_layers.ImageOverlay:
    """Draw ``raster`` on ``m`` as a coloured image overlay with a colour bar and an opacity slider.

    The raster is warped to Web Mercator over its own extent (nearest neighbour, at most 2048 pixels a
    side) so the image lines up with the base map, coloured from ``vmin`` to ``vmax`` (default: its
    range), and embedded in the HTML as a PNG data URL. Returns the overlay (in the layer control as
    ``title``).
    """
    if not np.isfinite(raster.data).any():
        raise ValueError(f"raster {raster.name!r} has no valid cells to draw")
    warped = _to_web_mercator(raster)
    lo = float(np.nanmin(raster.data)) if vmin is None else vmin
    hi = float(np.nanmax(raster.data)) if vmax is None else vmax
    w_left, w_bottom, w_right, w_top = warped.bounds
    to_lonlat = Transformer.from_crs(_WEB_MERCATOR, "EPSG:4326", always_xy=True)
    west, south = to_lonlat.transform(w_left, w_bottom)
    east, north = to_lonlat.transform(w_right, w_top)
    label = title or raster.tags.get("description") or raster.name
    overlay = folium.raster_layers.ImageOverlay(
        colourise(warped.data, vmin=lo, vmax=hi, colormap=colormap),
        bounds=[[south, west], [north, east]],
        opacity=opacity,
        name=html.escape(label),  # Leaflet's layer control inserts names as HTML
        show=show,
        interactive=False,
    )
    overlay.add_to(m)
    ColourBar(
        overlay.get_name(),
        title=label,
        units=raster.units if units is None else units,
        vmin=lo,
        vmax=hi,
        colormap=colormap,
        opacity=opacity,
    ).add_to(m)
    _controls_last(m)
    return overlay


# a numbered black badge: unlike every catalog style, so candidate sites never read as stations or nodes
_RANK_BADGE = (
    '<div style="width:22px;height:22px;border-radius:11px;background:#111;color:#fff;border:2px solid #fff;'
    'box-sizing:border-box;font:bold 11px/18px sans-serif;text-align:center;box-shadow:0 0 3px #000">'
    "{rank}</div>"
)


def _site_popup(site: Any, criteria: list[tuple[str, str, str, str]]) -> str:
    """The site's score, where it is (lon/lat, grid cell) and each criterion by its readable name,
    its value with the unit and its contribution to the score."""
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{site[column]:,.1f} {html.escape(unit)}</td>"
        f"<td>{site[f'{name}_contribution']:.3f}</td></tr>"
        for name, column, label, unit in criteria
    )
    where = f"{site.geometry.y:.4f}° N, {site.geometry.x:.4f}° E; grid cell {site.name}"
    if "row" in site and "col" in site:
        where += f" (row {int(site['row'])}, column {int(site['col'])})"
    return (
        f"<b>Candidate site #{int(site['rank'])}</b> score {site['score']:.3f} (0-1)"
        f"<br>{html.escape(where)}"
        "<table><tr><th>criterion</th><th>value</th><th>contribution</th></tr>" + rows + "</table>"
    )


def add_suitability(m: folium.Map, result: SuitabilityResult, *, opacity: float = 0.6) -> folium.FeatureGroup:
    """Add a suitability result: the score as an overlay and the top sites as numbered markers."""
    add_raster_overlay(
        m,
        result.score,
        title="Site suitability score",
        units="0-1",
        colormap="RdYlGn_11",
        vmin=0.0,
        vmax=1.0,
        opacity=opacity,
    )
    criteria = [
        (c.name, c.column, c.label or c.name.replace("_", " "), c.unit) for c in result.model.criteria
    ]
    group = folium.FeatureGroup(name="Candidate sites (top suitability)", show=True)
    sites = result.sites.to_crs("EPSG:4326")
    for _, site in sites.iterrows():
        folium.Marker(
            location=[site.geometry.y, site.geometry.x],
            icon=folium.DivIcon(
                html=_RANK_BADGE.format(rank=int(site["rank"])), icon_size=(22, 22), icon_anchor=(11, 11)
            ),
            tooltip=f"#{int(site['rank'])}: score {site['score']:.2f}",
            popup=folium.Popup(_site_popup(site, criteria), max_width=360),
        ).add_to(group)
    group.add_to(m)
    _controls_last(m)
    return group
