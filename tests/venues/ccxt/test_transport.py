"""The ccxt adapter's policies: the request throttle and read retries."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from hedgekeeper.venues.base import OrderRejected, VenueUnavailable
from hedgekeeper.venues.ccxt import transport
from hedgekeeper.venues.ccxt.transport import Backoff, Throttle


async def test_the_request_throttle_credits_idle_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """ccxt's own throttle made an order after a quiet spell wait out the last read's cost."""
    now = [1000.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # the throttle's clock, advanced by its own waits
        waits.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(transport, "time", SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr(transport, "asyncio", SimpleNamespace(sleep=sleep, Lock=asyncio.Lock))
    throttle = Throttle(refill_per_ms=0.05)  # Bybit: 20 ms per cost unit, burst of 1
    await throttle(5)  # a position read: 100 ms of debt
    assert throttle.tokens == -4 and waits == []
    now[0] += 10  # ten quiet seconds later the bucket is full again
    await throttle(2.5)
    assert throttle.tokens == -1.5 and waits == []  # 1 - 2.5: sent at once
    await throttle(1)  # right after: waits out the 30 ms owed, and only that
    assert waits == [pytest.approx(0.03)] and throttle.tokens == pytest.approx(-1)


async def test_reads_are_retried_on_unavailability_only() -> None:
    calls = {"flaky": 0, "refused": 0}

    async def flaky() -> str:
        calls["flaky"] += 1
        if calls["flaky"] < 3:
            raise VenueUnavailable("502")
        return "ok"

    async def refused() -> None:
        calls["refused"] += 1
        raise OrderRejected("no")

    backoff = Backoff(attempts=4, initial=0.001, maximum=0.002)
    async for attempt in backoff.retrying(4):
        with attempt:
            result = await flaky()
    assert result == "ok" and calls["flaky"] == 3
    with pytest.raises(OrderRejected):
        async for attempt in backoff.retrying(4):
            with attempt:
                await refused()
    assert calls["refused"] == 1
