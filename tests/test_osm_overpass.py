"""Tiled Overpass fetching through the one HTTP seam: cache, resume, retries, offline and mirrors."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely

from corridormap import osm, settings
from corridormap.errors import NetworkError
from corridormap.osm import _overpass

FIXTURE = Path(__file__).parent / "fixtures" / "osm" / "rewari.osm"
DATA_BOX = shapely.box(76.44, 27.99, 76.73, 28.30)
EMPTY = b'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="fake Overpass"></osm>\n'
REMARK = b'<remark> runtime error: Query timed out in "query" </remark>'
AREA = (76.4, 28.0, 76.8, 28.3)  # 6 tiles of 0.25 degrees


class FakeServer:
    """Stands in for Overpass and Nominatim at ``_overpass._send``; scripted failures come first."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.failures: list[BaseException | bytes] = []
        self.fail_after: int | None = None

    def __call__(self, method: str, url: str, *, data: bytes | None, timeout_s: float) -> bytes:
        self.calls.append((method, url))
        if self.fail_after is not None and len(self.calls) > self.fail_after:
            raise KeyboardInterrupt("simulated interruption")
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, bytes):
                return failure
            raise failure
        if "nominatim" in url or "search?" in url:
            feature = {"type": "Feature", "geometry": shapely.geometry.mapping(DATA_BOX), "properties": {}}
            return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
        if data is None:
            return b"downloaded bytes"
        query = urllib.parse.parse_qs(data.decode())["data"][0]
        south, west, north, east = map(
            float, re.search(r"\(([-\d.]+),([-\d.]+),([-\d.]+),([-\d.]+)\)", query).groups()
        )
        return FIXTURE.read_bytes() if DATA_BOX.intersects(shapely.box(west, south, east, north)) else EMPTY


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    fake = FakeServer()
    monkeypatch.setattr(_overpass, "_send", fake)
    return fake


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(_overpass, "_sleep", waited.append)
    return waited


@pytest.fixture(autouse=True)
def cache(tmp_path: Path) -> Iterator[Path]:
    with settings.override(cache_dir=tmp_path / "cache", mirror=None, offline=False):
        yield tmp_path / "cache"


def stored(cache: Path) -> list[Path]:
    return sorted((cache / "overpass").glob("*.osm"))


@pytest.mark.parametrize(
    ("area", "tile_deg", "count"),
    [
        (shapely.box(*AREA), 0.25, 6),
        (shapely.box(*AREA), 1.0, 1),
        (
            shapely.Polygon([(76.0, 28.0), (78.0, 28.0), (76.0, 30.0)]),
            1.0,
            3,
        ),  # the far corner tile is skipped
        (shapely.Point(76.6, 28.2).buffer(0.01), 0.5, 1),
    ],
)
def test_tiles_cover_the_area(area: shapely.Geometry, tile_deg: float, count: int) -> None:
    tiles = _overpass.tile_bounds(area, tile_deg=tile_deg)
    assert len(tiles) == count
    assert shapely.union_all([shapely.box(*t) for t in tiles]).covers(area)


def test_query_text() -> None:
    query = _overpass.overpass_query(
        [{"railway": "rail"}, {"highway": ["motorway", "trunk"], "ref": True}],
        ["way"],
        (76.0, 28.0, 77.0, 29.0),
        timeout_s=60,
    )
    assert query == (
        '[out:xml][timeout:60];\n(\n  way["railway"="rail"](28.0,76.0,29.0,77.0);\n'
        '  way["highway"~"^(motorway|trunk)$"]["ref"](28.0,76.0,29.0,77.0);\n);\n'
        "(._;>;);\nout body;\n"
    )


def test_fetch_tiles_then_second_run_is_free(server: FakeServer, cache: Path) -> None:
    seen: list[tuple[int, int, bool, int]] = []
    rail = osm.fetch_layer(
        "rail",
        area=AREA,
        tile_deg=0.25,
        progress=lambda t, n: seen.append((t.index, t.total, t.from_cache, n)),
    )
    assert len(server.calls) == 6 and all(m == "POST" for m, _ in server.calls)
    assert server.calls[0][1] == settings.overpass_url
    assert sorted(rail["id"]) == ["osm-way-1001", "osm-way-1002", "osm-way-1003", "osm-way-1004"]
    assert [s[:3] for s in seen] == [(i, 6, False) for i in range(1, 7)]
    assert seen[-1][3] == 4  # features so far, counted once across tiles
    assert len(stored(cache)) == 6
    again = osm.fetch_layer("rail", area=AREA, tile_deg=0.25)
    assert len(server.calls) == 6  # nothing asked the second time
    assert again.drop(columns="as_of").equals(rail.drop(columns="as_of"))


def test_interrupted_fetch_resumes_with_the_missing_tiles(server: FakeServer, cache: Path) -> None:
    server.fail_after = 2
    with pytest.raises(KeyboardInterrupt):
        osm.fetch_layer("motorway", area=AREA, tile_deg=0.25)
    assert len(stored(cache)) == 2
    assert not list((cache / "overpass").glob("*.part"))
    server.fail_after = None
    server.calls.clear()
    roads = osm.fetch_layer("motorway", area=AREA, tile_deg=0.25)
    assert len(server.calls) == 4  # only the tiles that were missing
    assert sorted(roads["id"]) == ["osm-way-2001", "osm-way-2004", "osm-way-2005"]


def test_rate_limit_and_timeouts_are_retried_with_back_off(
    server: FakeServer, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    server.failures = [
        _overpass.HTTPStatusError(429, "u"),
        _overpass.HTTPStatusError(504, "u"),
        TimeoutError("read timed out"),
        FIXTURE.read_bytes().replace(b"</osm>", REMARK + b"</osm>"),
    ]
    trunk = osm.fetch_layer("trunk", area=(76.6, 28.2, 76.7, 28.3), tile_deg=1.0)
    assert len(trunk) == 1
    assert sleeps == [2.0, 4.0, 8.0, 16.0]
    assert "HTTP 429; retrying in 2 s (attempt 2 of 5)" in caplog.text
    assert 'Overpass: runtime error: Query timed out in "query"; retrying' in caplog.text


def test_retry_after_is_honoured(server: FakeServer, sleeps: list[float]) -> None:
    server.failures = [_overpass.HTTPStatusError(429, "u", retry_after=30.0)]
    assert len(osm.fetch_layer("trunk", area=(76.6, 28.2, 76.7, 28.3))) == 1
    assert sleeps == [30.0] and len(server.calls) == 2


def test_gives_up_with_a_clear_message(server: FakeServer, sleeps: list[float]) -> None:
    server.failures = [_overpass.HTTPStatusError(504, "u")] * 5
    with pytest.raises(NetworkError, match=r"gave up after 5 attempts \(HTTP 504\).*resumes") as info:
        osm.fetch_layer("trunk", area=(76.6, 28.2, 76.7, 28.3))
    assert isinstance(info.value, ConnectionError)
    assert len(sleeps) == 4


def test_bad_request_is_not_retried(server: FakeServer, sleeps: list[float]) -> None:
    server.failures = [_overpass.HTTPStatusError(400, "u")]
    with pytest.raises(NetworkError, match="HTTP 400"):
        osm.fetch_layer("trunk", area=(76.6, 28.2, 76.7, 28.3))
    assert len(server.calls) == 1 and sleeps == []


def test_offline_uses_the_cache_and_refuses_the_rest(server: FakeServer) -> None:
    osm.fetch_layer("rail", area=(76.6, 28.2, 76.7, 28.3))
    with settings.override(offline=True):
        assert len(osm.fetch_layer("rail", area=(76.6, 28.2, 76.7, 28.3))) == 3
        with pytest.raises(NetworkError, match="settings.offline"):
            osm.fetch_layer("ports", area=(76.6, 28.2, 76.7, 28.3))
    assert len(server.calls) == 1


def test_a_copied_cache_is_a_mirror_folder(server: FakeServer, cache: Path, tmp_path: Path) -> None:
    osm.fetch_layer("rail", area=AREA, tile_deg=0.25)
    mirror = tmp_path / "mirror"
    shutil.copytree(cache, mirror)
    server.calls.clear()
    with settings.override(cache_dir=tmp_path / "fresh", mirror=str(mirror)):
        assert len(osm.fetch_layer("rail", area=AREA, tile_deg=0.25)) == 4
        with pytest.raises(NetworkError, match="not in the mirror folder"):
            osm.fetch_layer("power", area=AREA, tile_deg=0.25)
    assert server.calls == []


def test_a_mirror_server_takes_every_request(server: FakeServer) -> None:
    with settings.override(mirror="http://mirror.internal/osm/"):
        osm.fetch_layer("trunk", area=(76.6, 28.2, 76.7, 28.3))
        _overpass.download("https://example.org/data/stations.json")
        osm.resolve_area("Rewari")
    assert [url.split("?")[0] for _, url in server.calls] == [
        "http://mirror.internal/osm/overpass/interpreter",
        "http://mirror.internal/osm/downloads/stations.json",
        "http://mirror.internal/osm/nominatim/search",
    ]


def test_place_names_are_looked_up_once(server: FakeServer) -> None:
    area = osm.resolve_area("Rewari, Haryana")
    assert area.equals(DATA_BOX)
    assert osm.resolve_area("rewari, haryana").equals(DATA_BOX)
    assert len(server.calls) == 1
    assert server.calls[0][1].startswith("https://nominatim.openstreetmap.org/search?q=Rewari%2C+Haryana")


def test_unknown_place(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.failures = [b'{"type": "FeatureCollection", "features": []}']
    with pytest.raises(NetworkError, match="no place called 'Atlantis'"):
        osm.resolve_area("Atlantis")


def test_download_is_cached(server: FakeServer, cache: Path) -> None:
    first = _overpass.download("https://example.org/data/stations.json")
    second = _overpass.download("https://example.org/data/stations.json")
    assert first == second == cache / "downloads" / "stations.json"
    assert first.read_bytes() == b"downloaded bytes" and len(server.calls) == 1


def test_graphs_from_overpass_tiles(server: FakeServer) -> None:
    roads = osm.road_graph(area=AREA, tile_deg=0.25)
    assert roads.number_of_edges() == 4
    calls = len(server.calls)
    rail = osm.rail_graph(area=AREA, tile_deg=0.25)
    assert rail.number_of_edges() == 6
    osm.road_graph(area=AREA, tile_deg=0.25)
    assert len(server.calls) == calls + 6  # rail tiles asked once; the road tiles came from the cache


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        size = int(self.headers["Content-Length"])
        body = self.rfile.read(size)
        if b"busy" in body:
            self.send_response(429)
            self.send_header("Retry-After", "7")
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"echo:" + body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/interpreter"
    server.shutdown()
    server.server_close()


def test_send_speaks_http(local_server: str) -> None:
    assert _overpass._send("POST", local_server, data=b"data=x", timeout_s=5) == b"echo:data=x"
    with pytest.raises(_overpass.HTTPStatusError) as info:
        _overpass._send("POST", local_server, data=b"busy", timeout_s=5)
    assert (info.value.status, info.value.retry_after) == (429, 7.0)


def test_a_new_timeout_keeps_the_cache(server: FakeServer) -> None:
    osm.fetch_layer("trunk", area=(76.6, 28.2, 76.7, 28.3))
    with settings.override(timeout_s=600.0):
        osm.fetch_layer("trunk", area=(76.6, 28.2, 76.7, 28.3))
    assert len(server.calls) == 1
