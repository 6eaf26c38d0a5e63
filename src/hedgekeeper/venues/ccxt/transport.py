"""The transport under every ccxt venue: retries, the throttle, endpoint overrides, error mapping.

Kept apart from `venue.py` because none of it knows a venue: each piece is a small policy (how
long to back off, how fast to send, where to send, what a failure means) that the adapter is
configured with. `classify` maps ccxt's exception classes, and an exchange's own codes named in
its traits, to the port's errors: anything under NetworkError may have been executed, so for an
order it is `OutcomeUnknown`.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt
from tenacity import wait_exponential_jitter as jitter

from hedgekeeper.venues.base import (
    BadReply,
    InsufficientMargin,
    OrderRejected,
    OutcomeUnknown,
    RateLimited,
    VenueError,
    VenueUnavailable,
)
from hedgekeeper.venues.ccxt.traits import Traits

__all__ = ["Backoff", "Throttle", "classify", "error_code", "is_unchanged", "override_urls"]

PARSE_ERRORS = (KeyError, TypeError, ValueError, ArithmeticError, IndexError, AttributeError)


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


@lru_cache(maxsize=32)
def _pattern(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def error_code(traits: Traits, exc: BaseException) -> str | None:
    """The exchange's own error code in ccxt's message, by the traits' pattern."""
    if traits.error_code is None:
        return None
    found = _pattern(traits.error_code).search(str(exc))
    return found.group(1) if found else None


def is_unchanged(traits: Traits, exc: BaseException) -> bool:
    """A setter's failure that says the setting is already so (ccxt's NoChange, or a code)."""
    from ccxt.base import errors as ccxt_errors

    if isinstance(exc, ccxt_errors.NoChange):
        return True
    return error_code(traits, exc) in traits.unchanged


def _named(kind: type[VenueError], msg: str, code: str) -> VenueError:
    return kind(msg, code) if issubclass(kind, OrderRejected) else kind(msg)


def classify(exc: BaseException, traits: Traits, *, order: bool) -> VenueError:
    """A ccxt (or parsing) failure as a venue-neutral error; the caller prefixes the venue."""
    from ccxt.base import errors as ccxt_errors

    if isinstance(exc, VenueError):
        return exc
    msg = f"{type(exc).__name__}: {exc}"
    code = error_code(traits, exc)
    named = traits.errors.get(code) if code is not None else None
    if named is not None and (order or not issubclass(named, OrderRejected)):
        return _named(named, msg, code or "")
    if isinstance(exc, ccxt_errors.InsufficientFunds):
        return InsufficientMargin(msg, code) if order else VenueError(msg)
    if isinstance(exc, ccxt_errors.RateLimitExceeded | ccxt_errors.DDoSProtection):
        return RateLimited(msg)
    if isinstance(exc, ccxt_errors.NetworkError):
        return OutcomeUnknown(msg) if order else VenueUnavailable(msg)
    refused = (
        ccxt_errors.InvalidOrder,
        ccxt_errors.BadRequest,
        ccxt_errors.OperationRejected,
        ccxt_errors.BadSymbol,
        ccxt_errors.ArgumentsRequired,
        ccxt_errors.AuthenticationError,
        ccxt_errors.PermissionDenied,
        ccxt_errors.AccountSuspended,
        ccxt_errors.NotSupported,
    )
    if isinstance(exc, refused):
        return OrderRejected(msg, code) if order else VenueError(msg)
    if isinstance(exc, ccxt_errors.ExchangeError):
        return OutcomeUnknown(msg) if order else VenueError(msg)
    if isinstance(exc, PARSE_ERRORS):
        return BadReply(msg)
    return OutcomeUnknown(msg) if order else VenueUnavailable(msg)
