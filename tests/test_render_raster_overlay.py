"""A raster drawn on the folium map: an embedded PNG, a colour bar and an opacity slider."""

from __future__ import annotations

import base64
import re

import folium
import numpy as np
import pytest
from rasterio.transform import from_origin

from corridormap.raster import Raster
from corridormap.render.raster_overlay import _lut, add_raster_overlay, colourise


def test_colourise_ramp_nan_and_clipping() -> None:
    data = np.array([[0.0, 10.0], [np.nan, 99.0]])
    rgba = colourise(data, vmin=0.0, vmax=10.0, colormap="viridis")
    lut = (_lut("viridis") * 255).round().astype("uint8")
    assert rgba.shape == (2, 2, 4) and rgba.dtype == np.uint8
    assert rgba[0, 0, :3].tolist() == lut[0].tolist()
    assert rgba[0, 1, :3].tolist() == lut[255].tolist()
    assert rgba[1, 1, :3].tolist() == lut[255].tolist()  # above vmax is clipped to the top colour
    assert rgba[:, :, 3].tolist() == [[255, 255], [0, 255]]


def test_unknown_colour_map_is_named() -> None:
    with pytest.raises(ValueError, match="no_such_ramp"):
        colourise(np.zeros((1, 1)), vmin=0, vmax=1, colormap="no_such_ramp")


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:7755"])
def test_overlay_embeds_png_with_colour_bar(crs: str) -> None:
    data = np.arange(12, dtype=float).reshape(3, 4)
    if crs == "EPSG:4326":
        raster = Raster(data, from_origin(75.0, 24.0, 0.5, 0.5), crs, name="demo", tags={"units": "m"})
    else:
        raster = Raster(data, from_origin(3_900_000, 4_000_000, 20_000, 20_000), crs, name="demo")
    m = folium.Map(tiles=None)
    overlay = add_raster_overlay(m, raster, title="Demo <raster>", opacity=0.5)
    page = m.get_root().render()
    url = re.search(r'"(data:image/png;base64,[^"]+)"', page)
    assert url is not None
    assert base64.b64decode(url.group(1).split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http" not in url.group(1)
    assert "setOpacity" in page and "linear-gradient" in page
    assert "Demo \\u0026lt;raster\\u0026gt;" in page  # HTML-escaped, then JSON-escaped into the script
    (south, west), (north, east) = overlay.bounds
    if crs == "EPSG:4326":
        assert (west, south, east, north) == pytest.approx((75.0, 22.5, 77.0, 24.0), abs=0.02)
    assert 0 < north - south < 5 and 0 < east - west < 5


def test_overlay_refuses_empty_raster() -> None:
    empty = Raster(np.full((2, 2), np.nan), from_origin(75, 24, 1, 1), "EPSG:4326", name="void")
    with pytest.raises(ValueError, match="'void' has no valid cells"):
        add_raster_overlay(folium.Map(tiles=None), empty)


def test_layer_control_runs_after_the_overlay_it_lists() -> None:
    m = folium.Map(tiles=None)
    folium.LayerControl().add_to(m)
    raster = Raster(np.ones((2, 2)), from_origin(75.0, 24.0, 0.5, 0.5), "EPSG:4326", name="late")
    add_raster_overlay(m, raster)
    page = m.get_root().render()
    assert page.index("L.imageOverlay(") < page.index("L.control.layers(")
