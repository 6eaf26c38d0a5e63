"""The ops server answers /healthz, /metrics and /status over real HTTP on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from hedgekeeper.metrics import Metrics
from hedgekeeper.ops import OpsServer, free_port


class Probe:
    """Mutable health and status the tests change between requests."""

    def __init__(self) -> None:
        self.health: tuple[bool, str] = (True, "")
        self.status: dict[str, Any] = {"legs": {"btc": {"state": "live"}}}
        self.fail = False

    def get_health(self) -> tuple[bool, str]:
        if self.fail:
            raise RuntimeError("snapshot missing")
        return self.health

    def get_status(self) -> dict[str, Any]:
        if self.fail:
            raise RuntimeError("snapshot missing")
        return self.status


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def base_url(probe: Probe, metrics: Metrics) -> AsyncIterator[str]:
    server = OpsServer("127.0.0.1", 0, probe.get_health, probe.get_status, metrics)
    port = await server.start()
    assert port > 0
    assert server.port == port
    yield f"http://127.0.0.1:{port}"
    await server.stop()


async def fetch(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


async def test_healthz_is_ok_only_when_healthy(base_url: str, probe: Probe) -> None:
    """200 "ok" while healthy, 503 with the reason otherwise."""
    assert (await fetch(base_url + "/healthz"))[::2] == (200, "ok\n")
    probe.health = (False, "leg btc: data 130 s old")
    status, _, body = await fetch(base_url + "/healthz")
    assert (status, body) == (503, "leg btc: data 130 s old\n")


async def test_a_failing_probe_is_unhealthy(base_url: str, probe: Probe) -> None:
    """An exception in the callables answers 503/500, naming it, and the server carries on."""
    probe.fail = True
    status, _, body = await fetch(base_url + "/healthz")
    assert status == 503
    assert "snapshot missing" in body
    status, _, body = await fetch(base_url + "/status")
    assert status == 500
    assert "snapshot missing" in json.loads(body)["error"]
    probe.fail = False
    assert (await fetch(base_url + "/healthz"))[0] == 200


async def test_metrics_use_the_prometheus_content_type(base_url: str, metrics: Metrics) -> None:
    """/metrics is the registry's text exposition."""
    metrics.order("btc", "filled")
    status, ctype, body = await fetch(base_url + "/metrics")
    assert status == 200
    assert ctype.startswith("text/plain")
    assert 'hedgekeeper_orders_total{leg="btc",outcome="filled"} 1.0' in body


async def test_status_is_json_with_exact_decimals(base_url: str, probe: Probe) -> None:
    """Decimals are rendered as strings so nothing is rounded through a float."""
    probe.status = {"legs": {"btc": {"position": Decimal("0.10000000001"), "tags": ("a",)}}}
    status, ctype, body = await fetch(base_url + "/status")
    assert status == 200
    assert ctype.startswith("application/json")
    assert json.loads(body) == {"legs": {"btc": {"position": "0.10000000001", "tags": ["a"]}}}


async def test_unknown_path_is_404(base_url: str) -> None:
    assert (await fetch(base_url + "/nope"))[0] == 404


async def test_fixed_port_binds_and_stops_cleanly(metrics: Metrics) -> None:
    """A configured port is used as given; stop() releases it so it can be bound again."""
    port = free_port()
    ok: Callable[[], tuple[bool, str]] = lambda: (True, "")  # noqa: E731
    for _ in range(2):
        server = OpsServer("127.0.0.1", port, ok, dict, metrics)
        assert await server.start() == port
        assert (await fetch(f"http://127.0.0.1:{port}/healthz"))[0] == 200
        await server.stop()
        await server.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        await fetch(f"http://127.0.0.1:{port}/healthz")


async def test_a_taken_port_fails_start(metrics: Metrics) -> None:
    """Binding a port already in use raises instead of serving nothing silently."""
    first = OpsServer("127.0.0.1", 0, lambda: (True, ""), dict, metrics)
    port = await first.start()
    second = OpsServer("127.0.0.1", port, lambda: (True, ""), dict, metrics)
    try:
        with pytest.raises(OSError):
            await second.start()
        with pytest.raises(RuntimeError):
            await first.start()
    finally:
        await first.stop()
        await second.stop()
