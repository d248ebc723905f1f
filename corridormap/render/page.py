"""Render a map to one page with data as data: rendered text is never compiled as a template again.

folium and branca render each element's Jinja template once, with the data as template variables
(``{{ this.data|tojson }}``), and then wrap the *rendered text* in ``branca.element.Element(text)``,
whose constructor compiles it as a new Jinja template: a name such as ``{{ 7*7 }}`` in a layer
would show as ``49``, ``{% if %}`` would stop the build, and a crafted name could run code on the
machine building the map. :func:`render_page` renders with that second compilation switched off:
inside it, an ``Element`` built from a string holds the string verbatim. Every element of the page
(folium's popups, layer control, GeoJSON data, heat maps, and corridormap's own controls) is
covered at once, so data never has to be escaped for Jinja.

:class:`CorridorFigure` is the root :func:`~corridormap.render.map.build_map` puts its map in, so
``m.save(path)``, notebook display and :func:`~corridormap.render.assets.map_html` all render
this way. :class:`RawText` places text into the page as it is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import branca.element
from branca.element import Element, Figure

__all__ = ["RawText", "CorridorFigure", "render_page", "verbatim_elements"]

_LOCK = threading.RLock()


class RawText(Element):
    """Text placed into the page as it is: never compiled as a Jinja template nor JSON-encoded."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "RawText"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class _Verbatim:
    """Stands in for a compiled template built from rendered text: renders to that text."""

    def __init__(self, source: str, *args: Any, **kwargs: Any) -> None:
        self.source = source

    def render(self, *args: Any, **kwargs: Any) -> str:
        return self.source


@contextmanager
def verbatim_elements() -> Iterator[None]:
    """While open, ``branca.element.Element(text)`` keeps ``text`` verbatim instead of compiling it.

    That constructor is only ever given already-rendered output while a page renders (branca's
    ``MacroElement.render``, folium's ``Popup.render`` and class includes); the templates of the
    elements themselves are compiled when their classes are defined, so they are unaffected.
    """
    with _LOCK:
        saved = branca.element.Template
        branca.element.Template = _Verbatim  # type: ignore[assignment,misc]
        try:
            yield
        finally:
            branca.element.Template = saved  # type: ignore[misc]


def render_page(element: Element) -> str:
    """The HTML page of ``element``'s root figure, rendered with data kept as data."""
    root = element.get_root()
    with verbatim_elements():
        return str(root.render())


class CorridorFigure(Figure):
    """A branca ``Figure`` that always renders through :func:`render_page`."""

    def render(self, **kwargs: Any) -> str:
        with verbatim_elements():
            return str(super().render(**kwargs))


def adopt(m: Element, *, title: str | None = None) -> CorridorFigure:
    """Move ``m`` (a folium map) into a :class:`CorridorFigure`; returns the figure."""
    figure = CorridorFigure(title=title)
    previous = m._parent
    if previous is not None:
        previous._children.pop(m.get_name(), None)
    m._parent = None
    figure.add_child(m)
    return figure
