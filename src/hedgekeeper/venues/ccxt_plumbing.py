"""The plumbing under the ccxt venue: read retries, the request throttle, endpoint overrides.

Kept apart from `ccxt_venue.py` because none of it knows a venue: each piece is a small policy
(how long to back off, how fast to send, where to send) that the adapter is configured with.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt
from tenacity import wait_exponential_jitter as jitter

from hedgekeeper.venues.base import VenueUnavailable

__all__ = ["Backoff", "Throttle", "override_urls"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retries of reads and stream reconnects: exponential from `initial`, capped, with jitter."""

    attempts: int = 4
    initial: float = 0.25
    maximum: float = 5.0
    stream_attempts: int = 8

    def retrying(self, attempts: int) -> AsyncRetrying:
        return AsyncRetrying(
            retry=retry_if_exception_type(VenueUnavailable),
            wait=jitter(multiplier=self.initial, max=self.maximum, jitter=self.initial),
            stop=stop_after_attempt(attempts),
            reraise=True,
        )


class Throttle:
    """ccxt's request throttle as a leaky bucket that also refills while the client is idle.

    ccxt's own (`Throttler`) refills only while requests are queued, so the debt of the last
    request (Bybit: 20 ms per cost unit, 100 ms for a position read) is paid by the next one
    however long after it comes: every order placed after a quiet minute waited for it. Same
    rate, same burst capacity, FIFO; `exchange.throttle` is replaced by an instance of this.
    """

    def __init__(self, refill_per_ms: float, capacity: float = 1.0) -> None:
        self.seconds_per_token = 1 / (refill_per_ms * 1000)
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        earned = (now - self.stamp) / self.seconds_per_token
        self.tokens = min(self.capacity, self.tokens + earned)
        self.stamp = now

    async def __call__(self, cost: float | None = None) -> None:
        async with self._lock:
            self._refill()
            if self.tokens < 0:
                await asyncio.sleep(-self.tokens * self.seconds_per_token)
                self._refill()
            self.tokens -= 1.0 if cost is None else cost


def override_urls(api: object, rest: str | None, ws: str | None) -> object:
    """ccxt's `urls['api']` with the scheme and host of every URL replaced, paths kept."""
    if isinstance(api, dict):
        return {k: override_urls(v, rest, ws) for k, v in api.items()}
    if not isinstance(api, str):
        return api
    parts = urlsplit(api)
    base = (
        rest if parts.scheme in ("http", "https") else ws if parts.scheme in ("ws", "wss") else None
    )
    if base is None:
        return api
    new = urlsplit(base)
    path = new.path.rstrip("/") + parts.path
    return urlunsplit((new.scheme, new.netloc, path, parts.query, parts.fragment))
