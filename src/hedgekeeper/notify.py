"""systemd's notify protocol (sd_notify), spoken directly over a unix datagram socket.

Why not a library: the protocol is "send `KEY=value` lines in one datagram to `$NOTIFY_SOCKET`",
and a C-extension or extra dependency would be more to trust than the twenty lines it replaces.

Every method is a silent no-op when `NOTIFY_SOCKET` is unset (a terminal, Docker, tests), so the
daemon calls them unconditionally. Send errors are swallowed and reported through the return
value: a missed watchdog ping must never crash a process that is holding a hedge — systemd will
restart it if the pings really stop.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

__all__ = ["Notifier"]


def _address(raw: str) -> str | None:
    """A filesystem path, or an abstract socket written `@name` (a leading NUL on the wire)."""
    if raw.startswith("/"):
        return raw
    if raw.startswith("@") and len(raw) > 1:
        return "\0" + raw[1:]
    return None  # vsock and other forms are not for a daemon like this


def _one_line(text: str) -> str:
    """STATUS= ends at a newline, so a multi-line summary would be cut or misread."""
    return " ".join(text.split())


class Notifier:
    """Tells the service manager READY, STATUS, WATCHDOG and STOPPING; read once from the env."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._address = _address(env.get("NOTIFY_SOCKET", ""))
        self._watchdog_usec = _watchdog_usec(env)
        self._sock: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        """Whether a service manager is listening (NOTIFY_SOCKET set to a usable address)."""
        return self._address is not None

    def ready(self, status: str = "") -> bool:
        """Startup is complete (legs live); with Type=notify systemd waits for this."""
        lines = ["READY=1"]
        if status:
            lines.append(f"STATUS={_one_line(status)}")
        return self._send(lines)

    def status(self, text: str) -> bool:
        """A one-line summary shown by `systemctl status`."""
        return self._send([f"STATUS={_one_line(text)}"])

    def watchdog(self) -> bool:
        """Keep-alive; send from the main loop at least every `watchdog_interval()` seconds."""
        return self._send(["WATCHDOG=1"])

    def stopping(self, status: str = "") -> bool:
        """Shutdown has begun, so systemd does not read a slow exit as a hang."""
        lines = ["STOPPING=1"]
        if status:
            lines.append(f"STATUS={_one_line(status)}")
        return self._send(lines)

    def watchdog_interval(self) -> float | None:
        """Half of `WATCHDOG_USEC` in seconds (systemd's advice), None when no watchdog is set."""
        if self._watchdog_usec is None:
            return None
        return self._watchdog_usec / 2 / 1_000_000

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def _send(self, lines: list[str]) -> bool:
        if self._address is None:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto("\n".join(lines).encode(), self._address)
        except OSError:
            self.close()  # a fresh socket next time, in case the manager's socket was replaced
            return False
        return True


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    """WATCHDOG_USEC if it is meant for this process (WATCHDOG_PID, when set, names it)."""
    raw = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(raw)
    except ValueError:
        return None
    return usec if usec > 0 else None
