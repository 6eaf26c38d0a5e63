"""The ops HTTP endpoint: /healthz for Docker's HEALTHCHECK and liveness probes, /readyz for
readiness (the active daemon of a fleet, keeping its hedge), /metrics for Prometheus, /status.

It is given three plain callables and a `Metrics`, never the engine itself, so it cannot reach
into trading state (or be blocked by it) and can be tested with lambdas. The callables are called
on the event loop and must be quick and non-blocking: they read a snapshot, they do no I/O.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any

from aiohttp import web

from hedgekeeper.metrics import CONTENT_TYPE, Metrics

__all__ = ["OpsServer"]

HealthFn = Callable[[], tuple[bool, str]]
StatusFn = Callable[[], dict[str, Any]]


def _json_default(value: object) -> Any:
    """Decimals as strings (exact, as in the journal); enums by value; paths as text."""
    if isinstance(value, Decimal | PurePath):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class OpsServer:
    """A small aiohttp server with the three ops routes; `start()` returns the bound port."""

    def __init__(
        self,
        host: str,
        port: int,
        health: HealthFn,
        status: StatusFn,
        metrics: Metrics,
        ready: HealthFn | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._health = health
        self._ready = ready or health
        self._status = status
        self._metrics = metrics
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        """The port actually bound (useful with port 0), once started."""

    async def start(self) -> int:
        """Bind and serve; with port 0 the OS picks a free port, which is returned."""
        if self._runner is not None:
            raise RuntimeError("ops server already started")
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._render_metrics)
        app.router.add_get("/status", self._render_status)
        # No access log: Docker's HEALTHCHECK and Prometheus would write a line every few seconds.
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port, reuse_address=True)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = _bound_port(runner)
        return self.port

    async def stop(self) -> None:
        """Close the listener and any open connections; safe to call twice or before start."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, _request: web.Request) -> web.Response:
        return _probe(self._health)

    async def _readyz(self, _request: web.Request) -> web.Response:
        return _probe(self._ready)

    async def _render_metrics(self, _request: web.Request) -> web.Response:
        return web.Response(body=self._metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    async def _render_status(self, _request: web.Request) -> web.Response:
        try:
            body = json.dumps(self._status(), default=_json_default, indent=2, sort_keys=True)
        except Exception as exc:
            error = {"error": f"{type(exc).__name__}: {exc}"}
            return web.json_response(error, status=500)
        return web.Response(text=body + "\n", content_type="application/json")


def _probe(check: HealthFn) -> web.Response:
    try:
        ok, reason = check()
    except Exception as exc:  # a broken probe is unhealthy, not a 500 with a traceback
        ok, reason = False, f"health check failed: {type(exc).__name__}: {exc}"
    if ok:
        return web.Response(text=f"{reason if reason not in ('', 'ok') else 'ok'}\n")
    return web.Response(status=503, text=f"{reason or 'unhealthy'}\n")


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        # IPv4 gives (host, port); IPv6 gives (host, port, flowinfo, scope_id).
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    raise RuntimeError("ops server has no TCP address")


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago, for callers that must name one before binding."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
