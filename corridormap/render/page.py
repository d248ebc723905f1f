"""The one way corridormap's own JavaScript and CSS reach a page, and how data reaches them.

Browser code lives in files (``render/js/*.js``, ``render/css/*.css``). :class:`Component` is the
only folium element that ships them: when the page renders it puts each file it needs into the page
head once (as ``<script>`` / ``<style>``, in every mode: notebook, ``m.save``, the offline and CDN
builds, so nothing is fetched from beside the HTML) and its data into the body as a
``<script type="application/json">`` block, after templates render: data never passes through
Jinja, and ``<`` / ``>`` / ``&`` are JSON-escaped so no text from a data file can close the block.
The component's one line of template calls a function of ``window.corridormap`` with the map, the
data and the folium layers it refers to (by their generated variable names only).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement
from folium.template import Template

__all__ = [
    "JS_DIR",
    "CSS_DIR",
    "Component",
    "Raw",
    "js_text",
    "css_text",
    "json_block",
    "add_files",
    "CORE_JS",
    "CORE_CSS",
]

JS_DIR = Path(__file__).resolve().parent / "js"
CSS_DIR = Path(__file__).resolve().parent / "css"
CORE_JS = ("corridormap.js",)
CORE_CSS = ("corridormap.css",)


@functools.lru_cache(maxsize=32)
def js_text(name: str) -> str:
    """The text of ``render/js/NAME`` (a file of corridormap's own)."""
    return (JS_DIR / name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=32)
def css_text(name: str) -> str:
    """The text of ``render/css/NAME``."""
    return (CSS_DIR / name).read_text(encoding="utf-8")


class Raw(Element):
    """Text placed into the page as it is: never compiled as a Jinja template nor JSON-encoded."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "RawText"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


def json_block(element_id: str, data: Any) -> str:
    """``<script type="application/json" id=...>`` with ``data``; markup characters escaped."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def add_files(figure: Figure, *, js: Sequence[str] = (), css: Sequence[str] = ()) -> None:
    """Put corridormap's own files into the page head, each once (keyed by file name)."""
    for name in css:
        figure.header.add_child(
            Raw(f"<style>/* corridormap {name} */\n{css_text(name)}\n</style>"),
            name=f"corridormap_css_{name}",
        )
    for name in js:
        text = js_text(name).replace("</script", "<\\/script")
        figure.header.add_child(
            Raw(f"<script>/* corridormap {name} */\n{text}\n</script>"), name=f"corridormap_js_{name}"
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
        figure.html.add_child(Raw(json_block(self.get_name(), self.data)), name=f"{self.get_name()}_data")
        super().render(**kwargs)
