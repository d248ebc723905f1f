"""The offline inliner: every CDN ``<script src>`` / ``<link href>`` of a map becomes inline content.

After a map is rendered (``m.get_root().render()``), :func:`inline_assets` replaces each external
script and stylesheet with the content of the same file as installed on this machine, and turns the
images and fonts those stylesheets use into ``data:`` URIs. The result is one HTML file that makes
no network request. Where each URL's file lives is listed in ``assets.toml`` beside this module:
files of PyPI packages (XStatic-Leaflet, XStatic-jQuery, XStatic-Font-Awesome,
XStatic-Leaflet-MarkerCluster, folium's own templates) and npm packages that installing corridormap
vendors into ``corridormap/_vendor/npm/`` (``hatch_build.py``). Nothing is fetched at view time. An
asset that cannot be found raises :class:`~corridormap.errors.DataSourceNotFoundError` naming the URL.

Registering your own assets (for other parts of the renderer)
-------------------------------------------------------------
Two ways, both honoured by :func:`inline_assets` in online *and* offline mode for local files:

* ``register_asset(url_or_name, path)``: map any URL or bare name to a local file. In your folium
  element use it as usual (``default_js = [("big", "corridormap/big-layers.js")]``). A bare name
  (no ``http(s)://``) is always inlined, because a file on the build machine cannot be served to the
  person the map is sent to; an ``http(s)`` URL keeps its CDN address online and is inlined offline.
* Reference a file inside the corridormap package directly by absolute path or ``file://`` URI;
  it is always inlined (no registration needed).

CSS files have their relative ``url(...)`` references (images, fonts) resolved beside the file and
inlined as ``data:`` URIs; in ``@font-face`` rules only the WOFF2 source is kept (every browser
that runs Leaflet 1.9 reads WOFF2), which keeps icon fonts small.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import logging
import mimetypes
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import DataSourceNotFoundError
from .pack import pack_page, unpack_page
from .page import CorridorFigure, js_text, render_page, vendor_dir

__all__ = [
    "register_asset",
    "registered_assets",
    "asset_table",
    "asset_files",
    "asset_bytes",
    "inline_assets",
    "cdn_check",
    "external_references",
    "vendor_dir",
    "map_html",
    "map_kind",
    "MapFigure",
    "tile_references",
    "size_report",
    "MAP_BUDGET_BYTES",
]

log = logging.getLogger(__name__)

_PACKAGE = Path(__file__).resolve().parents[1]
_TABLE = Path(__file__).with_name("assets.toml")
_REGISTRY: dict[str, Path] = {}

_SCRIPT = re.compile(r"""<script\b([^>]*?)\bsrc=(["'])(?P<url>.*?)\2([^>]*)>\s*</script>""", re.I | re.S)
_LINK = re.compile(r"""<link\b(?P<attrs>[^>]*?)/?>""", re.I | re.S)
_HREF = re.compile(r"""\bhref=(["'])(?P<url>.*?)\1""", re.I | re.S)
_CSS_URL = re.compile(r"""url\(\s*(["']?)(?P<url>[^"')]+?)\1\s*\)""", re.I)
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.I)
_FONT_SRC = re.compile(r"(?P<head>\bsrc\s*:)(?P<body>[^;}]+)", re.I)
_MIME = {
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".eot": "application/vnd.ms-fontobject",
}

# Leaflet finds its default marker icon through a CSS file path; once the CSS is inlined that path
# is gone, so the inlined page points the default icon at data: URIs instead.
_LEAFLET_ICON_FIX = (
    "L.Icon.Default.imagePath = '';\n"
    "L.Icon.Default.mergeOptions({{iconUrl: '{icon}', iconRetinaUrl: '{retina}', shadowUrl: '{shadow}'}});"
)


def register_asset(url_or_name: str, path: str | Path) -> None:
    """Serve ``url_or_name`` from the local file ``path`` when a map is inlined.

    A bare name (no ``http(s)://``) is inlined in every map; an ``http(s)`` URL only in offline maps.
    Registering the same name again replaces the earlier file.
    """
    _REGISTRY[url_or_name] = Path(path)


def registered_assets() -> dict[str, Path]:
    """A copy of the registry (name -> file)."""
    return dict(_REGISTRY)


@functools.lru_cache(maxsize=1)
def asset_table() -> dict[str, tuple[str, ...]]:
    """URL -> local sources (``py:``, ``npm:`` or ``empty:``), from ``assets.toml``."""
    data = tomllib.loads(_TABLE.read_text(encoding="utf-8"))
    return {url: tuple(sources) for url, sources in data["urls"].items()}


def _python_file(spec: str, url: str) -> Path:
    module, _, rel = spec.partition("/")
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        raise DataSourceNotFoundError(
            f"asset {url}: the Python package {module!r} that carries it is not installed; "
            "reinstall corridormap (pip install corridormap) to get its dependencies"
        )
    return Path(list(found.submodule_search_locations)[0]) / rel


def _resolve(source: str, url: str) -> Path | None:
    kind, _, spec = source.partition(":")
    if kind == "empty":
        return None
    if kind == "py":
        return _python_file(spec, url)
    if kind == "npm":
        name, _, rel = spec.partition("/") if not spec.startswith("@") else _scoped(spec)
        return vendor_dir() / "npm" / name / rel
    raise DataSourceNotFoundError(f"asset {url}: unknown source kind {source!r} in {_TABLE}")


def _scoped(spec: str) -> tuple[str, str, str]:
    scope, _, rest = spec.partition("/")
    name, _, rel = rest.partition("/")
    return f"{scope}/{name}", "/", rel


def _local_path(url: str) -> Path | None:
    """A package-local file referenced by absolute path or ``file://`` URI, else None."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        candidate = Path(unquote(parsed.path))
    elif parsed.scheme == "" and url.startswith("/"):
        candidate = Path(url)
    else:
        return None
    candidate = candidate.resolve()
    return candidate if candidate.is_relative_to(_PACKAGE) else None


def asset_files(url: str) -> list[Path | None]:
    """The local files that stand in for ``url`` (``None`` = an empty stand-in).

    Raises
    ------
    DataSourceNotFoundError
        The URL is not known, or a file it maps to is missing, naming the URL and the fix.
    """
    if url in _REGISTRY:
        files: list[Path | None] = [_REGISTRY[url]]
    elif (local := _local_path(url)) is not None:
        files = [local]
    elif url in asset_table():
        files = [_resolve(s, url) for s in asset_table()[url]]
    else:
        raise DataSourceNotFoundError(
            f"asset {url} has no local copy, so an offline map cannot inline it: add it to {_TABLE} "
            "or call corridormap.render.assets.register_asset(url, path)"
        )
    for path in files:
        if path is not None and not path.is_file():
            raise DataSourceNotFoundError(
                f"asset {url}: the local file {path} is missing; reinstall corridormap "
                "(pip install . vendors npm assets into corridormap/_vendor and needs npm or the npm "
                "registry)"
            )
    return files


def _data_uri(path: Path) -> str:
    mime = _MIME.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _woff2_only(css: str) -> str:
    def trim_src(match: re.Match[str]) -> str:
        parts = [p.strip() for p in match.group("body").split(",")]
        woff2 = [p for p in parts if ".woff2" in p]
        return match.group("head") + ",".join(woff2 or parts)

    return _FONT_FACE.sub(lambda face: _FONT_SRC.sub(trim_src, face.group(0)), css)


def inline_css(css: str, base: Path, url: str) -> str:
    """Resolve the stylesheet's relative ``url(...)`` references beside ``base`` into data: URIs."""

    def replace(match: re.Match[str]) -> str:
        ref = match.group("url").strip()
        if ref.startswith(("data:", "#")):
            return match.group(0)
        if urlparse(ref).scheme:
            raise DataSourceNotFoundError(f"asset {url}: its stylesheet loads {ref} from the network")
        target = (base.parent / unquote(ref.split("?")[0].split("#")[0])).resolve()
        if not target.is_file():
            raise DataSourceNotFoundError(
                f"asset {url}: {ref} (used by the stylesheet) is missing at {target}"
            )
        return f'url("{_data_uri(target)}")'

    return _CSS_URL.sub(replace, _woff2_only(css))


def asset_bytes(url: str) -> bytes:
    """The content served for ``url``: the local files concatenated, stylesheets self-contained."""
    chunks = []
    for path in asset_files(url):
        if path is None:
            continue
        if path.suffix == ".css":
            chunks.append(inline_css(path.read_text(encoding="utf-8"), path, url).encode("utf-8"))
        else:
            chunks.append(path.read_bytes())
    return b"\n".join(chunks)


def _is_remote(url: str) -> bool:
    return urlparse(url).scheme in ("http", "https") or url.startswith("//")


def _wanted(url: str, offline: bool) -> bool:
    if url.startswith("data:"):
        return False
    return offline or not _is_remote(url)


def _script_tag(url: str) -> str:
    text = asset_bytes(url).decode("utf-8")
    text = re.sub(r"</(script)", r"<\\/\1", text, flags=re.I)
    tag = f"<script>/* {url} */\n{text}\n</script>"
    if url.endswith("/leaflet.js"):
        tag += f"\n<script>{_leaflet_icon_fix(url)}</script>"
    return tag


def _leaflet_icon_fix(url: str) -> str:
    js_path = next(p for p in asset_files(url) if p is not None)
    images = js_path.parent / "images"
    uris = {
        key: _data_uri(images / name) if (images / name).is_file() else ""
        for key, name in (
            ("icon", "marker-icon.png"),
            ("retina", "marker-icon-2x.png"),
            ("shadow", "marker-shadow.png"),
        )
    }
    return _LEAFLET_ICON_FIX.format(**uris)


def _style_tag(url: str) -> str:
    text = asset_bytes(url).decode("utf-8")
    text = re.sub(r"</(style)", r"<\\/\1", text, flags=re.I)
    return f"<style>/* {url} */\n{text}\n</style>"


_CDN_CHECK_MARK = "<script>/* corridormap cdn check */"


@functools.lru_cache(maxsize=1)
def cdn_check() -> str:
    """The script a page that loads scripts from the network runs first (``js/notice.js`` and
    ``js/cdn_check.js``): opened with no network, it shows a notice saying why the map is blank and
    what to do, instead of a blank page."""
    text = (js_text("notice.js") + js_text("cdn_check.js")).replace("</script", "<\\/script")
    return f"{_CDN_CHECK_MARK}\n{text}\n</script>"


def _network_loads(html: str) -> list[int]:
    """Where the page's scripts and stylesheets from the network start (character offsets)."""
    at = [m.start() for m in _SCRIPT.finditer(html) if _is_remote(m.group("url"))]
    for match in _LINK.finditer(html):
        attrs = match.group("attrs")
        href = _HREF.search(attrs)
        if href is not None and "stylesheet" in attrs.lower() and _is_remote(href.group("url")):
            at.append(match.start())
    return at


def _with_cdn_check(html: str) -> str:
    """``html`` with :func:`cdn_check` just before its first script or stylesheet from the network
    (the same page if it has none, or has the check already)."""
    starts = _network_loads(html)
    if not starts or _CDN_CHECK_MARK in html:
        return html
    at = min(starts)
    return html[:at] + cdn_check() + "\n" + html[at:]


def inline_assets(html: str, *, offline: bool = True, tiles: bool = False, pack: bool = True) -> str:
    """Inline the map's scripts and stylesheets (and pack them: :func:`.pack.pack_page`).

    Parameters
    ----------
    html : a rendered map page.
    offline : inline every external asset and check that nothing external remains; with ``False``
        CDN URLs stay (the page needs the network), only package-local assets are inlined, and the
        page first runs :func:`cdn_check` (a notice, not a blank page, when the CDNs are out of reach).
    tiles : with ``offline``, tile layers may remain (they load when the network is there and are
        skipped when not); every other external reference is still refused.
    pack : deflate corridormap's own blocks (inlined assets, its scripts and styles, the basemap)
        into packed blocks the page unpacks as it loads (about 0.3 MB less a map); ``False`` keeps
        them as plain text. :func:`.pack.unpack_page` turns a packed page back into the plain one.

    Raises
    ------
    DataSourceNotFoundError
        An asset has no local copy (the message names the URL).
    """

    def sub_script(match: re.Match[str]) -> str:
        url = match.group("url")
        return _script_tag(url) if _wanted(url, offline) else match.group(0)

    out = _SCRIPT.sub(sub_script, html)

    def sub_link(match: re.Match[str]) -> str:
        attrs = match.group("attrs")
        href = _HREF.search(attrs)
        if href is None or "stylesheet" not in attrs.lower() or not _wanted(href.group("url"), offline):
            return match.group(0)
        return _style_tag(href.group("url"))

    out = _LINK.sub(sub_link, out)
    if not offline:
        out = _with_cdn_check(out)
    if offline:
        remaining = external_references(out) - (tile_references(out) if tiles else set())
        if remaining:
            raise DataSourceNotFoundError(
                "the offline map still references the network: "
                + ", ".join(sorted(remaining)[:10])
                + " (tile layers cannot be inlined: build offline maps with the vector basemap)"
            )
    if pack:
        out = pack_page(out)
    log.info("inlined assets (%s): %d bytes", "tiles" if tiles else "offline" if offline else "cdn", len(out))
    return out


_EXTERNAL = re.compile(
    r"""<(?:script|link|img|iframe|source)\b[^>]*?\b(?:src|href)=["'](?P<url>(?:https?:)?//[^"']+)["']"""
    r"""|url\(\s*["']?(?P<css>(?:https?:)?//[^"')]+)"""
    r"""|(?:L\.tileLayer(?:\.wms)?|L\.imageOverlay|L\.videoOverlay|\$\.ajax|fetch)\(\s*"""
    r"""["'](?P<tiles>(?:https?:)?//[^"']+)["']""",
    re.I,
)


_TILES = re.compile(r"""L\.tileLayer(?:\.wms)?\(\s*["'](?P<tiles>(?:https?:)?//[^"']+)["']""")


def tile_references(html: str) -> set[str]:
    """The tile URL templates of a page's tile layers (packed blocks read unpacked, as
    :func:`external_references` reads them, so the two compare)."""
    return {m.group("tiles") for m in _TILES.finditer(unpack_page(html))}


def external_references(html: str) -> set[str]:
    """Addresses a page would load from the network (scripts, stylesheets, images, CSS, tiles,
    image overlays, fetched data).

    Links a reader may click (``<a href>``) are not loads and are not reported. Packed blocks
    (:mod:`.pack`) are read unpacked; one that does not unpack raises
    :class:`~corridormap.errors.FileFormatError` (what it would load cannot be told).
    """
    found = set()
    for match in _EXTERNAL.finditer(unpack_page(html)):
        found.add(match.group("url") or match.group("css") or match.group("tiles"))
    return found


# Size budget of a built map file, documented in the README: the default map (everything inlined,
# tiles optional) and the offline map must stay small enough to send by e-mail (most mail systems
# refuse attachments over 10 MB; 3 MB leaves room for several); about 0.6 MB of it is the inlined
# Leaflet, plugins and icons, which the CDN-linked page fetches instead.
MAP_BUDGET_BYTES = {"default": 3_000_000, "offline": 3_000_000, "cdn": 2_000_000}
_KIND_TEXT = {"default": "a single-file map", "offline": "an offline map", "cdn": "a CDN-linked map"}


class MapFigure(CorridorFigure):
    """The page of a corridormap map: rendering it (``m.save``, a notebook, ``map_html``) keeps data as
    data (:class:`~corridormap.render.page.CorridorFigure`) and inlines every asset, so the file opens
    with no network; tile layers stay unless ``offline``."""

    def __init__(self, *, offline: bool = False) -> None:
        super().__init__()
        self.offline = offline

    def render_linked(self, **kwargs: Any) -> str:
        """The page with third-party assets still linked to their CDN addresses."""
        return str(super().render(**kwargs))

    def render(self, **kwargs: Any) -> str:
        return inline_assets(self.render_linked(**kwargs), offline=True, tiles=not self.offline)


def map_html(m: object, *, offline: bool = False, cdn: bool = False) -> str:
    """Render a folium map to one HTML page.

    By default every script, style, font and icon is inlined (the page opens with no network) and
    tile layers stay (they load when the network is there); ``offline`` also refuses any tile layer
    or other network address (zero requests); ``cdn`` links third-party assets to their CDN instead
    (a lighter page that needs the network; opened without it, it shows a notice saying so and what
    to do, :func:`cdn_check`).
    """
    root = m.get_root()  # type: ignore[attr-defined]
    # data stays data (.page.render_page): rendered text is never compiled as a template again
    rendered: str = root.render_linked() if isinstance(root, MapFigure) else render_page(root)
    if cdn:
        return inline_assets(rendered, offline=False)
    return inline_assets(rendered, offline=True, tiles=not offline)


def map_kind(*, offline: bool = False, cdn: bool = False) -> str:
    """``"offline"``, ``"cdn"`` or ``"default"``: the budget a map is held to."""
    return "offline" if offline else "cdn" if cdn else "default"


def size_report(size_bytes: int, *, offline: bool = False, cdn: bool = False) -> str:
    """``"1.42 MB (budget 3.00 MB for a single-file map)"``, with ``OVER BUDGET`` when it is."""
    kind = map_kind(offline=offline, cdn=cdn)
    budget = MAP_BUDGET_BYTES[kind]
    text = f"{size_bytes / 1e6:.2f} MB (budget {budget / 1e6:.2f} MB for {_KIND_TEXT[kind]})"
    return text + (" OVER BUDGET" if size_bytes > budget else "")
