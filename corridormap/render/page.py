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

The page's own JavaScript and CSS live in files (``render/js/*.js``, ``render/css/*.css``).
:class:`Component` is the one folium element that ships them: when the page renders it puts each
file it needs into the page head once (as ``<script>`` / ``<style>``, in every mode: notebook,
``m.save``, the offline and CDN builds, so nothing is fetched from beside the HTML) and its data into
the body as a ``<script type="application/json">`` block (:func:`json_block`, ``<``, ``>`` and ``&``
JSON-escaped so no text from a data file can close the block). The component's one line of template
calls a function of ``window.corridormap`` with the map, the data and the folium layers it refers to
(by their generated variable names only).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import branca.element
from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement
from folium.template import Template

__all__ = [
    "RawText",
    "CorridorFigure",
    "render_page",
    "verbatim_elements",
    "adopt",
    "Component",
    "JS_DIR",
    "CSS_DIR",
    "CORE_JS",
    "CORE_CSS",
    "js_text",
    "css_text",
    "json_block",
    "add_files",
    "vendor_dir",
]

JS_DIR = Path(__file__).resolve().parent / "js"
CSS_DIR = Path(__file__).resolve().parent / "css"
CORE_JS = ("corridormap.js",)
CORE_CSS = ("corridormap.css",)

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
    """The HTML page of ``element``'s root figure, rendered with data kept as data, as folium writes
    it (third-party assets linked; :func:`~corridormap.render.assets.map_html` inlines them)."""
    root = element.get_root()
    with verbatim_elements():
        return str(Figure.render(root) if isinstance(root, Figure) else root.render())


class CorridorFigure(Figure):
    """A branca ``Figure`` that always renders through :func:`render_page`."""

    def render(self, **kwargs: Any) -> str:
        with verbatim_elements():
            return str(super().render(**kwargs))


def adopt(m: Element, *, title: str | None = None, figure: CorridorFigure | None = None) -> CorridorFigure:
    """Move ``m`` (a folium map) into ``figure`` (default a new :class:`CorridorFigure`); returns it."""
    figure = figure if figure is not None else CorridorFigure()
    if title is not None:
        figure.title = title
    previous = m._parent
    if previous is not None:
        previous._children.pop(m.get_name(), None)
    m._parent = None
    figure.add_child(m)
    return figure


def vendor_dir() -> Path:
    """Where the install step puts vendored npm files (``corridormap/_vendor``)."""
    return JS_DIR.parents[1] / "_vendor"


@functools.lru_cache(maxsize=32)
def js_text(name: str) -> str:
    """The text of ``render/js/NAME`` (a file of corridormap's own)."""
    return (JS_DIR / name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=32)
def css_text(name: str) -> str:
    """The text of ``render/css/NAME``."""
    return (CSS_DIR / name).read_text(encoding="utf-8")


def json_block(element_id: str, data: Any) -> str:
    """``<script type="application/json" id=...>`` with ``data``; markup characters escaped."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(char, code)
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def add_files(figure: Figure, *, js: Sequence[str] = (), css: Sequence[str] = ()) -> None:
    """Put corridormap's own files into the page head, each once (keyed by file name)."""
    for name in css:
        figure.header.add_child(
            RawText(f"<style>/* corridormap {name} */\n{css_text(name)}\n</style>"),
            name=f"corridormap_css_{name}",
        )
    for name in js:
        text = js_text(name).replace("</script", "<\\/script")
        figure.header.add_child(
            RawText(f"<script>/* corridormap {name} */\n{text}\n</script>"), name=f"corridormap_js_{name}"
        )


class Component(MacroElement):
    """A piece of the page run by ``corridormap[function](map, data, refs)`` from the JS files.

    Parameters
    ----------
    function : name of the function in ``window.corridormap`` (corridormap's own, never from data).
    data : JSON-serialisable configuration and text (escaped as JSON, never templated).
    refs : folium elements the function needs (layers, groups); passed in this order.
    js, css : files of ``render/js`` / ``render/css`` the function needs (besides the core).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = corridormap.run({{ this.function|tojson }}, {{ this._parent.get_name() }},
            {{ this.get_name()|tojson }}, [{% for v in this.ref_names %}{{ v }}, {% endfor %}]);
        {% endmacro %}
        """
    )

    def __init__(
        self,
        function: str,
        data: Mapping[str, Any] | Sequence[Any] | None = None,
        refs: Sequence[Element] = (),
        *,
        js: Sequence[str] = (),
        css: Sequence[str] = (),
    ) -> None:
        super().__init__()
        if not function.isidentifier():
            raise ValueError(f"component function {function!r} is not an identifier")
        self._name = f"cm_{function}"
        self.function = function
        self.data = data if data is not None else {}
        self.refs = list(refs)
        self.js = (*CORE_JS, *js)
        self.css = (*CORE_CSS, *css)

    @property
    def ref_names(self) -> list[str]:
        return [r.get_name() for r in self.refs]

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # renders into the figure
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise TypeError("a corridormap component renders only inside a map")
        for name, url in getattr(self, "default_css", ()):  # third-party files: CDN, inlined by map_html
            figure.header.add_child(CssLink(url), name=name)
        for name, url in getattr(self, "default_js", ()):
            figure.header.add_child(JavascriptLink(url), name=name)
        add_files(figure, js=self.js, css=self.css)
        figure.html.add_child(RawText(json_block(self.get_name(), self.data)), name=f"{self.get_name()}_data")
        super().render(**kwargs)
