"""The one door to the network: Overpass queries by tile, Nominatim look-ups and dataset downloads.

Every HTTP request corridormap makes goes through :func:`_send`, so tests replace that one function
to count requests, simulate an interruption or a rate limit. Around it:

- a **cache** (``settings.cache_dir``): each Overpass answer is stored as ``overpass/<key>.osm`` where
  ``<key>`` is the SHA-256 of the query (without its timeout line), each download as
  ``downloads/<name>``, each place look-up as ``nominatim/<key>.json``. A second run asks nothing; a
  run that was interrupted asks only for the tiles it has not stored yet (files are written
  atomically, so a half-written answer never counts).
- a **mirror** (``settings.mirror``): a local folder with the same layout as the cache (so a cache
  folder copied from a connected machine is a mirror), or a server: ``<mirror>/overpass/interpreter``
  takes the Overpass queries, ``<mirror>/downloads/<name>`` serves the files and
  ``<mirror>/nominatim/search`` the place look-ups.
- ``settings.offline``: nothing is sent; a missing answer raises :class:`NetworkError` naming the fix.
- **retries** with exponential back-off on timeouts, HTTP 429 (rate limit) and 502/503/504, honouring a
  ``Retry-After`` header; Overpass answers that carry a "runtime error" remark count as timeouts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import settings
from ..errors import NetworkError

__all__ = ["Rule", "TileResult", "tile_bounds", "overpass_query", "fetch_tiles", "download", "geocode"]

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
USER_AGENT = "corridormap (https://example.invalid/corridormap)"
_sleep = time.sleep  # replaced in tests

#: one matching rule: every tag must match; a value is a string, a list of strings or True (any value)
Rule = Mapping[str, "str | Sequence[str] | bool"]
BBox = tuple[float, float, float, float]  # west, south, east, north (lon/lat)


class HTTPStatusError(NetworkError):
    """The server answered with an HTTP error status."""

    def __init__(self, status: int, url: str, retry_after: float | None = None) -> None:
        super().__init__(f"{url} answered HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def _send(method: str, url: str, *, data: bytes | None, timeout_s: float) -> bytes:
    """Send one HTTP request and return the body: the only function here that touches the network."""
    request = urllib.request.Request(url, data=data, method=method, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as exc:
        retry_after = exc.headers.get("Retry-After") if exc.headers else None
        wait = float(retry_after) if retry_after and retry_after.isdigit() else None
        exc.close()
        raise HTTPStatusError(exc.code, url, wait) from None


def _request(
    method: str, url: str, *, data: bytes | None = None, what: str, retries: int = 4, grace_s: float = 0.0
) -> bytes:
    """:func:`_send` with retries and exponential back-off (2, 4, 8, ... s) on timeouts and rate limits.

    ``grace_s`` lets the client wait a little longer than a server-side timeout, so the server's own
    "timed out" answer arrives instead of a dropped connection.
    """
    for attempt in range(retries + 1):
        try:
            body = _send(method, url, data=data, timeout_s=settings.timeout_s + grace_s)
            # Overpass reports a timeout or memory limit as a remark, before or after partial data
            ends = (body[:4000] + body[-4000:]).decode("utf-8", "replace")
            if "<remark>" in ends and "runtime error" in ends:
                raise TimeoutError("Overpass: " + ends.split("<remark>")[1].split("</remark>")[0].strip())
            return body
        except HTTPStatusError as exc:
            if exc.status not in RETRY_STATUSES:
                raise NetworkError(
                    f"{what}: {exc}. Fix: check the query or the server address "
                    f"(settings.overpass_url / settings.mirror)"
                ) from exc
            reason, wait = f"HTTP {exc.status}", exc.retry_after
        except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
            reason, wait = f"{type(exc).__name__}: {exc}", None
        if attempt == retries:
            raise NetworkError(
                f"{what}: gave up after {retries + 1} attempts ({reason}). Fix: try again later (the "
                f"answers already stored are kept, so the run resumes), use smaller tiles, raise "
                f"settings.timeout_s, or point settings.mirror at a reachable server"
            )
        delay = wait if wait is not None else 2.0 * 2**attempt
        log.warning(
            "%s: %s; retrying in %.0f s (attempt %d of %d)", what, reason, delay, attempt + 2, retries + 1
        )
        _sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _write_atomic(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(body)
    os.replace(partial, path)


def _mirror_folder() -> Path | None:
    mirror = settings.mirror
    if mirror is None or urllib.parse.urlparse(mirror).scheme in ("http", "https"):
        return None
    return Path(mirror.removeprefix("file://"))


def _online(kind: str, default_url: str) -> str:
    """The address to ask for ``kind`` (overpass, downloads, nominatim): the mirror server or the default."""
    mirror = settings.mirror
    if mirror is not None and _mirror_folder() is None:
        return f"{mirror.rstrip('/')}/{kind}"
    return default_url


def _stored(relative: str, what: str) -> tuple[Path, bool]:
    """Where an answer is stored, and whether it is there: the cache, then a mirror folder."""
    cached = Path(settings.cache_dir) / relative
    if cached.is_file():
        return cached, True
    folder = _mirror_folder()
    if folder is not None:
        mirrored = folder / relative
        if mirrored.is_file():
            return mirrored, True
        raise NetworkError(
            f"{what}: {mirrored} is not in the mirror folder. Fix: copy it there from a "
            f"connected machine's cache ({cached.parent}) or unset settings.mirror"
        )
    if settings.offline:
        raise NetworkError(
            f"{what}: not in the cache ({cached}) and settings.offline is set. Fix: run once "
            f"with a network, set settings.mirror, or read a local extract instead"
        )
    return cached, False


# ---- Overpass, tile by tile --------------------------------------------------------------------


def tile_bounds(area: Any, *, tile_deg: float = 1.0) -> list[BBox]:
    """Split an area (a shapely geometry in lon/lat) into ``tile_deg`` squares that touch it.

    The grid is anchored on whole multiples of ``tile_deg`` so the same tiles (and cache keys) come
    back for any area that covers them.
    """
    if tile_deg <= 0:
        raise ValueError(f"tile_deg must be positive, got {tile_deg}")
    import shapely

    west, south, east, north = area.bounds
    out: list[BBox] = []
    for i in range(math.floor(west / tile_deg), math.ceil(east / tile_deg)):
        for j in range(math.floor(south / tile_deg), math.ceil(north / tile_deg)):
            box = (
                round(i * tile_deg, 9),
                round(j * tile_deg, 9),
                round((i + 1) * tile_deg, 9),
                round((j + 1) * tile_deg, 9),
            )
            cell = shapely.box(*box)
            if area.intersects(cell) and not area.touches(cell):  # a shared edge or corner is not enough
                out.append(box)
    return out


def _tag_filter(key: str, value: str | Sequence[str] | bool) -> str:
    if value is True:
        return f'["{key}"]'
    if isinstance(value, str):
        return f'["{key}"="{value}"]'
    if isinstance(value, bool):
        raise ValueError(f"tag {key!r}: false is not a matching value; leave the tag out instead")
    return f'["{key}"~"^({"|".join(value)})$"]'


def overpass_query(
    rules: Sequence[Rule], elements: Sequence[str], bbox: BBox, *, timeout_s: int = 180
) -> str:
    """The Overpass QL asking for every element matching any rule inside ``bbox``, as OSM XML."""
    west, south, east, north = bbox
    where = f"({south},{west},{north},{east})"
    lines = [
        f"  {element}{''.join(_tag_filter(k, v) for k, v in rule.items())}{where};"
        for rule in rules
        for element in elements
    ]
    return f"[out:xml][timeout:{timeout_s}];\n(\n" + "\n".join(lines) + "\n);\n(._;>;);\nout body;\n"


@dataclass(frozen=True)
class TileResult:
    """One tile's answer: where it is stored and whether it was already there."""

    index: int
    total: int
    bbox: BBox
    path: Path
    from_cache: bool


def fetch_tiles(
    rules: Sequence[Rule], elements: Sequence[str], tiles: Sequence[BBox], *, label: str
) -> Iterator[TileResult]:
    """Yield each tile's OSM XML answer, from the cache or the mirror when stored, else from Overpass."""
    url = _online("overpass/interpreter", settings.overpass_url)
    timeout = int(settings.timeout_s)
    for index, bbox in enumerate(tiles, start=1):
        query = overpass_query(rules, elements, bbox, timeout_s=timeout)
        # the key leaves out the first line ([out:xml][timeout:N];): a new timeout keeps the cache
        key = hashlib.sha256(query.split("\n", 1)[1].encode()).hexdigest()[:32]
        what = f"Overpass {label} tile {index}/{len(tiles)} {bbox}"
        path, stored = _stored(f"overpass/{key}.osm", what)
        if not stored:
            log.debug("%s: asking %s", what, url)
            body = _request(
                "POST", url, data=urllib.parse.urlencode({"data": query}).encode(), what=what, grace_s=30.0
            )
            _write_atomic(path, body)
        yield TileResult(index, len(tiles), bbox, path, stored)


# ---- downloads and place look-ups ---------------------------------------------------------------


def download(url: str, *, name: str | None = None) -> Path:
    """A file from ``url``, stored as ``downloads/<name>`` in the cache (or read from the mirror)."""
    name = name or Path(urllib.parse.urlparse(url).path).name
    path, stored = _stored(f"downloads/{name}", f"download of {url}")
    if not stored:
        source = _online(f"downloads/{name}", url)
        log.info("downloading %s", source)
        _write_atomic(path, _request("GET", source, what=f"download of {source}"))
    return path


def geocode(place: str) -> dict[str, Any]:
    """The GeoJSON geometry of a place name, looked up once with Nominatim and cached."""
    key = hashlib.sha256(place.strip().lower().encode()).hexdigest()[:32]
    path, stored = _stored(f"nominatim/{key}.json", f"place look-up of {place!r}")
    if not stored:
        query = urllib.parse.urlencode({"q": place, "format": "geojson", "polygon_geojson": 1, "limit": 1})
        url = f"{_online('nominatim', settings.nominatim_url).rstrip('/')}/search?{query}"
        _write_atomic(path, _request("GET", url, what=f"place look-up of {place!r}"))
    answer = json.loads(path.read_text(encoding="utf-8"))
    features = answer.get("features") or []
    if not features:
        raise NetworkError(
            f"Nominatim found no place called {place!r}. Fix: spell it as on "
            f"openstreetmap.org, or pass a bounding box (west,south,east,north) instead"
        )
    geometry: dict[str, Any] = features[0]["geometry"]
    return geometry
