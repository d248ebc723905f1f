"""A throw-away PostgreSQL + PostGIS cluster for the export tests (Debian's packages, a free port).

The fixture ``postgis_server`` (import ``postgis_server_fixture`` to register it)
starts one cluster per test session in a temporary folder: ``initdb``
(as the ``postgres`` user when the tests run as root: initdb refuses root), a private socket folder,
TCP on 127.0.0.1 with password authentication, a password-protected role that owns a database with
PostGIS. It never skips: if the server cannot start, the test fails and says why.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROLE = "corridor_writer"
PASSWORD = "Sup3r-s3cret/p@ss"  # has URL-special characters on purpose
DATABASE = "corridor"


@dataclass(frozen=True)
class PostGIS:
    """A running server: the writer's URL without and with the password, and a superuser DSN."""

    host: str
    port: int
    socket_dir: str
    password: str = PASSWORD

    @property
    def url(self) -> str:
        return f"postgresql://{ROLE}@{self.host}:{self.port}/{DATABASE}"

    @property
    def url_with_password(self) -> str:
        from urllib.parse import quote

        return f"postgresql://{ROLE}:{quote(self.password, safe='')}@{self.host}:{self.port}/{DATABASE}"

    def admin(self, dbname: str = DATABASE) -> str:
        return f"host={self.socket_dir} port={self.port} user=postgres dbname={dbname}"


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb). Fix: "
            "apt-get install postgresql postgis (bash .ci/run does this)"
        )
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"could not {what}: {' '.join(cmd)} exited {done.returncode}:\n{done.stderr}")


def _start(root: Path) -> PostGIS:
    bindir = _bin_dir()
    data, sock = root / "data", root / "socket"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    _run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        "create a PostgreSQL cluster",
    )
    port = _free_port()
    opts = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sock} -c fsync=off"
    _run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        "start PostgreSQL",
    )
    server = PostGIS("127.0.0.1", port, str(sock))
    _prepare(server)
    return server


def _prepare(server: PostGIS) -> None:
    import psycopg

    with psycopg.connect(server.admin("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        conn.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
    with psycopg.connect(server.admin(), autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION postgis")
        except psycopg.Error as exc:
            pytest.fail(f"PostGIS is not installed for this PostgreSQL ({exc}). Fix: apt-get install postgis")


def _stop(root: Path) -> None:
    bindir = _bin_dir()
    subprocess.run(
        _as_server_user([str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "-w", "stop"]),
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="session", name="postgis_server")
def postgis_server_fixture() -> Iterator[PostGIS]:
    """A PostgreSQL + PostGIS server for this session (started here, stopped and removed after)."""
    root = Path(tempfile.mkdtemp(prefix="corridormap-pg-"))
    os.chmod(root, 0o755)
    started = time.perf_counter()
    try:
        server = _start(root)
    except BaseException:
        _stop(root)
        log = root / "server.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        if detail:
            print(detail)
        raise
    print(f"PostGIS test server on port {server.port} started in {time.perf_counter() - started:.1f} s")
    try:
        yield server
    finally:
        _stop(root)
        shutil.rmtree(root, ignore_errors=True)
