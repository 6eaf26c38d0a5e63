"""sd_notify datagrams reach a real unix socket, the way systemd would receive them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hedgekeeper.notify import Notifier


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, str]]:
    """A bound datagram socket standing in for systemd, and its NOTIFY_SOCKET value.

    In a short directory of its own, not tmp_path: a unix socket path must fit in 108 bytes.
    """
    with tempfile.TemporaryDirectory(prefix="hk-", dir="/tmp") as short:
        path = os.path.join(short, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(5)
        yield sock, path
        sock.close()


def receive(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode().split("\n")


def test_messages_reach_a_path_socket(listener: tuple[socket.socket, str]) -> None:
    """READY with STATUS, STATUS, WATCHDOG and STOPPING arrive as one datagram each."""
    sock, path = listener
    n = Notifier({"NOTIFY_SOCKET": path})
    assert n.enabled
    assert n.ready("legs live: btc")
    assert receive(sock) == ["READY=1", "STATUS=legs live: btc"]
    assert n.status("btc drift 12\ncontracts")
    assert receive(sock) == ["STATUS=btc drift 12 contracts"]
    assert n.watchdog()
    assert receive(sock) == ["WATCHDOG=1"]
    assert n.stopping()
    assert receive(sock) == ["STOPPING=1"]
    n.close()


def test_abstract_socket_is_written_with_an_at_sign() -> None:
    """`@name` means the abstract namespace: a leading NUL byte, no file."""
    name = f"hedgekeeper-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        n = Notifier({"NOTIFY_SOCKET": "@" + name})
        assert n.watchdog()
        assert receive(sock) == ["WATCHDOG=1"]
    finally:
        sock.close()


def test_without_notify_socket_everything_is_a_silent_no_op() -> None:
    """Outside systemd the calls do nothing and raise nothing."""
    n = Notifier({})
    assert not n.enabled
    assert not n.ready("x")
    assert not n.status("x")
    assert not n.watchdog()
    assert not n.stopping()
    assert n.watchdog_interval() is None


def test_a_vanished_socket_is_reported_not_raised(tmp_path: Path) -> None:
    """Sending to a socket that is gone returns False; the daemon keeps running."""
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert n.enabled
    assert not n.watchdog()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_the_timeout(env: dict[str, str], expected: float | None) -> None:
    """systemd asks for pings at half WATCHDOG_USEC, and only for the process it names."""
    assert Notifier(env).watchdog_interval() == expected


def test_daemon_speaks_the_protocol_without_systemd(
    listener: tuple[socket.socket, str], tmp_path: Path
) -> None:
    """`hedgekeeper run` on its default config: READY=1 with a STATUS, WATCHDOG=1 pings at half
    WATCHDOG_USEC, then STOPPING=1 after SIGTERM and exit code 0 — what systemd would see."""
    sock, path = listener
    env = {
        **os.environ,
        "NOTIFY_SOCKET": path,
        "WATCHDOG_USEC": "400000",  # pings every 0.2 s keep the test short
        "HEDGEKEEPER_OPS__PORT": "0",
        "HEDGEKEEPER_JOURNAL": str(tmp_path / "journal.sqlite"),
    }
    env.pop("WATCHDOG_PID", None)
    cmd = [sys.executable, "-c", "import sys; from hedgekeeper.cli import main; sys.exit(main())"]
    # Logs to a file: a pipe nobody reads would fill up and stall the daemon (and its pings).
    stderr = tmp_path / "stderr.log"
    with stderr.open("wb") as err_file:
        proc = subprocess.Popen(
            [*cmd, "run", "--duration", "60"],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err_file,
        )
    seen: list[list[str]] = []
    try:
        sock.settimeout(30)  # startup of the sim and first reconciliation; a real daemon is ~1 s
        while not any("READY=1" in m for m in seen):
            seen.append(receive(sock))
        ready = next(m for m in seen if "READY=1" in m)
        assert any(line.startswith("STATUS=") and len(line) > 7 for line in ready)
        assert "starting" not in " ".join(ready) and " live " in " ".join(ready), ready
        assert not any("WATCHDOG=1" in m or "STOPPING=1" in m for m in seen[:-1]), seen
        sock.settimeout(5)
        pings = 0
        while pings < 3:
            message = receive(sock)
            pings += "WATCHDOG=1" in message
        proc.send_signal(signal.SIGTERM)
        while "STOPPING=1" not in (message := receive(sock)):
            assert "READY=1" not in message
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, stderr.read_text()[-2000:]
