"""sd_notify datagrams reach a real unix socket, the way systemd would receive them."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hedgekeeper.notify import Notifier


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A bound datagram socket standing in for systemd, and its NOTIFY_SOCKET value."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    yield sock, str(path)
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
