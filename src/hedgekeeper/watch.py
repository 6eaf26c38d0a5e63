"""Keep a venue's stream flowing into a feed: reconnect with backoff and jitter, and re-read the
REST truth after every drop, because a stream's caches may be stale once it is back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from hedgekeeper.feed import Feed
from hedgekeeper.metrics import Metrics
from hedgekeeper.venues.base import Venue, VenueError, VenueUnavailable

log = structlog.get_logger("hedgekeeper.watch")


class StreamEnded(VenueUnavailable):
    """The venue's stream stopped without an error: treat it as a drop."""


async def watch_forever(
    venue: Venue,
    symbol: str,
    asset: str,
    feed: Feed,
    metrics: Metrics,
    refresh: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    max_backoff: float = 30.0,
) -> None:
    first = True

    async def once() -> None:
        nonlocal first
        if not first:
            metrics.reconnect(venue.name, "watch")
            log.warning("stream_reconnecting", venue=venue.name, symbol=symbol)
            await refresh()
        first = False
        async for reading in venue.watch(symbol, asset):
            feed.apply(venue.name, reading)
            if stop.is_set():
                return
        if not stop.is_set():
            raise StreamEnded(f"{venue.name} stream ended")

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(VenueError),
        wait=wait_exponential_jitter(multiplier=0.2, max=max_backoff),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            await once()
