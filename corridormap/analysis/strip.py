"""The strip diagram: a line drawn straight as a km axis, features above (left) and below (right).

Read it like a railway line diagram: km 0 (the line's origin, labelled) at the left, its end
(labelled) at the right, running the way the corridor's own chainage does; each feature at its
chainage, on the side of the line it lies on, its stem longer the farther it is from the line, its
name beside the stem. A hollow marker and "≈" mark a feature whose position is approximate (its
``geometry_quality`` is not ``surveyed``/``exact``). Input is
:func:`corridormap.analysis.corridor.chainage` output; the result is standalone SVG text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from xml.sax.saxutils import escape

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["strip_svg"]

_PALETTE = ["#5b2a86", "#333333", "#1b7837", "#0b5394", "#b45f06", "#990000"]
_WIDTH, _MARGIN, _AXIS_Y, _HEIGHT = 1600, 60, 430, 860
_ENDS_Y = 90  # the origin and end labels: near the top, visible without scrolling at 1366x768
_LABEL_STEP = 13  # px between neighbouring vertical labels
_MAX_LABEL = 38
_EXACT = ("surveyed", "exact", "traced")  # geometry_quality values drawn as exact positions


def _ticks(length_km: float) -> float:
    """A round tick step giving 10-20 ticks over the line."""
    raw = max(length_km, 1.0) / 15
    power = 10 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _features(frames: Mapping[str, gpd.GeoDataFrame], prefix: str, max_offset_km: float) -> pd.DataFrame:
    rows = []
    for layer, frame in frames.items():
        if len(frame) == 0:
            continue
        near = frame[frame[f"{prefix}offset_km"] <= max_offset_km]
        rows.append(
            pd.DataFrame(
                {
                    "layer": layer,
                    "name": near["name"].astype(str).to_numpy()
                    if "name" in near.columns
                    else near.index.astype(str),
                    "km": near[f"{prefix}chainage_km"].to_numpy(dtype=float),
                    "offset": near[f"{prefix}offset_km"].to_numpy(dtype=float),
                    "above": (near[f"{prefix}side"] != "right").to_numpy(),
                    "approximate": ~near["geometry_quality"].isin(_EXACT).to_numpy()
                    if "geometry_quality" in near.columns
                    else np.zeros(len(near), dtype=bool),
                }
            )
        )
    return (
        pd.concat(rows, ignore_index=True).sort_values("km", kind="stable")
        if rows
        else pd.DataFrame(columns=["layer", "name", "km", "offset", "above", "approximate"])
    )


def _spread(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """Label positions at least ``_LABEL_STEP`` apart, as close to ``x`` as the room allows."""
    out = np.clip(np.asarray(x, dtype=float), low, high)
    for i in range(1, len(out)):  # push right past the previous label
        out[i] = max(out[i], out[i - 1] + _LABEL_STEP)
    if len(out):
        out[-1] = min(out[-1], high)
    for i in range(len(out) - 2, -1, -1):  # then back left where the right end overflowed
        out[i] = min(out[i], out[i + 1] - _LABEL_STEP)
    return out


def strip_svg(
    frames: Mapping[str, gpd.GeoDataFrame],
    *,
    length_km: float,
    title: str,
    prefix: str = "",
    max_offset_km: float = 50.0,
    colors: Mapping[str, str] | None = None,
    origin: str = "start",
    end: str = "end",
    direction: str = "",
    published_length_km: float | None = None,
) -> str:
    """Draw chainage results as a strip diagram.

    Parameters
    ----------
    frames : mapping of str to GeoDataFrame
        Layer title -> :func:`~corridormap.analysis.corridor.chainage` output (``name`` labels the features).
    length_km : float
        The line's length (the axis runs from 0 to this).
    title : str
        Heading of the diagram (the line's name).
    prefix : str
        The column prefix given to ``chainage``.
    max_offset_km : float
        Features farther than this from the line are left out (the caption says so).
    colors : mapping of str to str, optional
        Layer title -> CSS colour of its markers.
    origin, end : str
        What lies at km 0 and at the far end (labelled at the two ends, under the heading, so that
        they show without scrolling on a laptop screen).
    direction : str
        Which way the corridor's own chainage runs (a line under the title).
    published_length_km : float, optional
        The line's published length: the end label gives it beside the computed km.

    Returns
    -------
    str
        A standalone SVG document.
    """
    # colours come from catalog files: attribute values, escaped like every other text of the page
    colors = {k: escape(str(v), {'"': "&quot;", "'": "&apos;"}) for k, v in (colors or {}).items()}
    for i, layer in enumerate(frames):
        colors.setdefault(layer, _PALETTE[i % len(_PALETTE)])
    table = _features(frames, prefix, max_offset_km)
    scale = (_WIDTH - 2 * _MARGIN) / max(length_km, 1e-9)
    published = ""
    if published_length_km is not None and math.isfinite(published_length_km) and published_length_km > 0:
        published = f" computed (published {published_length_km:,.0f} km)"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" style="max-width:{_WIDTH}px" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}" font-family="sans-serif" font-size="11">',
        f'<rect width="{_WIDTH}" height="{_HEIGHT}" fill="white"/>',
        f'<text x="{_MARGIN}" y="28" font-size="18" font-weight="bold">{escape(title)}: strip diagram</text>',
        f'<text x="{_MARGIN}" y="48" fill="#555">km from the start along the line; above: left side, below: '
        f"right side (looking along the line); stem length grows with the offset; features within "
        f"{max_offset_km:g} km of the line</text>",
        f'<text x="{_MARGIN}" y="66" fill="#555">Chainage: {escape(direction or "km 0 at the origin")}; '
        "hollow markers and ≈: approximate positions (see each feature's geometry quality)</text>",
        f'<line x1="{_MARGIN}" y1="{_AXIS_Y}" x2="{_WIDTH - _MARGIN}" y2="{_AXIS_Y}" '
        'stroke="black" stroke-width="4"/>',
        f'<text x="{_MARGIN}" y="{_ENDS_Y}" font-size="13" font-weight="bold">'
        f"◀ km 0: {escape(origin)}</text>",
        f'<text x="{_WIDTH - _MARGIN}" y="{_ENDS_Y}" font-size="13" font-weight="bold" '
        f'text-anchor="end">km {length_km:,.0f}{escape(published)}: {escape(end)} ▶</text>',
    ]
    step = _ticks(length_km)
    for km in np.arange(0.0, length_km + 1e-9, step):
        x = _MARGIN + km * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="{_AXIS_Y - 6}" x2="{x:.1f}" y2="{_AXIS_Y + 6}" stroke="black"/>'
        )
        parts.append(f'<text x="{x:.1f}" y="{_AXIS_Y + 20}" text-anchor="middle" fill="#333">{km:g}</text>')
    for above in (True, False):
        side = table[table["above"] == above]
        parts.extend(_side(side, scale, above, colors))
    parts.extend(_legend(colors))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _side(side: pd.DataFrame, scale: float, above: bool, colors: Mapping[str, str]) -> list[str]:
    """Markers, stems, leaders and vertical labels of one side of the axis."""
    sign = -1 if above else 1
    x = _MARGIN + side["km"].to_numpy() * scale
    label_x = _spread(x, _MARGIN, _WIDTH - _MARGIN)
    out = []
    for (_, row), xi, lx in zip(side.iterrows(), x, label_x, strict=True):
        stem = 30 + 60 * min(row["offset"], 50.0) / 50.0
        y_mark = _AXIS_Y + sign * stem
        y_label = _AXIS_Y + sign * 100
        color = colors[row["layer"]]
        name = row["name"] if len(row["name"]) <= _MAX_LABEL else row["name"][: _MAX_LABEL - 1] + "…"
        approx = bool(row["approximate"])
        name = f"≈ {name}" if approx else name
        where = "left" if above else "right"
        tip = (
            f"{row['name']} ({row['layer']}): km {'≈' if approx else ''}{row['km']:.1f}, "
            f"{row['offset']:.1f} km {where}{' (approximate position)' if approx else ''}"
        )
        fill = "white" if approx else color
        anchor = "start" if above else "end"
        out += [
            f"<g><title>{escape(tip)}</title>",
            f'<line x1="{xi:.1f}" y1="{_AXIS_Y}" x2="{xi:.1f}" y2="{y_mark:.1f}" stroke="{color}"/>',
            f'<circle cx="{xi:.1f}" cy="{y_mark:.1f}" r="4" fill="{fill}" stroke="{color}" '
            'stroke-width="1.5"/>',
            f'<line x1="{xi:.1f}" y1="{y_mark:.1f}" x2="{lx:.1f}" y2="{y_label:.1f}" stroke="#bbb"/>',
            f'<text transform="translate({lx + 4:.1f},{y_label + sign * 4:.1f}) rotate(-90)" '
            f'text-anchor="{anchor}" fill="{color}">{escape(name)}</text></g>',
        ]
    return out


def _legend(colors: Mapping[str, str]) -> list[str]:
    out = []
    for i, (layer, color) in enumerate(colors.items()):
        x = _MARGIN + i * 260
        out += [
            f'<circle cx="{x + 5}" cy="{_HEIGHT - 20}" r="5" fill="{color}"/>',
            f'<text x="{x + 16}" y="{_HEIGHT - 16}">{escape(layer)}</text>',
        ]
    return out
