"""A real `hedgekeeper run` subprocess and its JSON log, for the crash and conformance tests.

`start_daemon` starts one (optionally under a launcher module that wraps its venues, as the
conformance suite's broken variants do); `DaemonProcess.kill` is a synchronous SIGKILL, so a hook
of the emulator can kill the daemon the moment a request arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.emulators.core.server import Emulator

ROOT = Path(__file__).resolve().parents[1]
WAIT = 30.0  # seconds: a daemon that needs longer than this has hung, and the run fails

CONFIG = """
mode = "{mode}"
journal = "{journal}"
[ops]
enabled = false
[log]
level = "info"
json = true
"""
LEG = """
[venues.{venue}]
exchange = "{exchange}"
api_key = "{key}"
secret = "{secret}"
password = "{password}"
rest_interval = 0.5
urls = {{ rest = "{rest}", ws = "{ws}" }}
options = {{ enableRateLimit = false, timeout = 3000 }}
[[legs]]
name = "{leg}"
asset = "BTC"
perp = {{ venue = "{venue}", symbol = "{symbol}" }}
spot = [{{ venue = "{venue}" }}]
"""


def config_text(
    journal: Path,
    legs: list[tuple[str, str, Emulator]],
    more: str,
    symbol: str = "BTC/USD:BTC",
    mode: str = "testnet",
) -> str:
    """A testnet config with one leg per (leg name, venue name, emulator), each leg's table
    ending with the lines `more` (its hedge ratio, at least)."""
    text = CONFIG.format(journal=journal, mode=mode)
    for leg, venue, emu in legs:
        text += LEG.format(
            leg=leg, venue=venue, exchange=emu.dialect.exchange, key=emu.api_key,
            secret=emu.secret, password=emu.password, rest=emu.rest_url, ws=emu.ws_url,
            symbol=symbol,
        ) + more + "\n"  # fmt: skip
    return text


@dataclass
class DaemonProcess:
    """A running `hedgekeeper run`, its JSON log lines read as they come."""

    proc: asyncio.subprocess.Process
    lines: list[dict[str, Any]] = field(default_factory=list)
    on_line: list[Callable[[dict[str, Any]], object]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None
    _new: asyncio.Event = field(default_factory=asyncio.Event)
    _eof: bool = False

    async def read(self) -> None:
        assert self.proc.stderr is not None
        async for chunk in self.proc.stderr:
            text = chunk.decode(errors="replace")
            self.raw.append(text)
            with contextlib.suppress(ValueError):
                line = json.loads(text)
                if isinstance(line, dict):
                    self.lines.append(line)
                    for hook in list(self.on_line):
                        hook(line)
            self._new.set()
        self._eof = True
        self._new.set()

    def kill(self) -> None:
        """SIGKILL, synchronously: nothing of the daemon runs after this returns."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()

    async def wait_for(self, match: Callable[[dict[str, Any]], bool], start: int = 0) -> int:
        """Index of the first line from `start` on that matches; fails when the daemon exits."""
        seen = start
        while True:
            for i in range(seen, len(self.lines)):
                if match(self.lines[i]):
                    return i
            seen = len(self.lines)
            if self._eof:
                raise AssertionError(f"the daemon ended first:\n{self.log()}")
            self._new.clear()
            await self._new.wait()

    def log(self) -> str:
        return "".join(self.raw)[-6000:]


async def start_daemon(
    config_path: Path, cwd: Path, launcher: tuple[str, ...] = ("hedgekeeper.cli",)
) -> DaemonProcess:
    """`python -m <launcher...> run --config <config_path>`, with this repository importable."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT),
           os.environ.get("PYTHONPATH"))))}  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", *launcher, "run", "--config", str(config_path),
        cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    running = DaemonProcess(proc)
    running.reader = asyncio.create_task(running.read())
    return running


async def reap(running: DaemonProcess) -> int:
    """Kill (if still running), wait, and drain the log; returns the exit code."""
    running.kill()
    code = await running.proc.wait()
    if running.reader is not None:
        await running.reader
    return code


def is_event(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda line: line.get("event") == name


def is_recovery(line: dict[str, Any]) -> bool:
    return line.get("event") == "recovered"
