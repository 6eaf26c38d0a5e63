"""Deliberately broken adapters: each wraps a correct one and breaks one rule a check guards.

`BREAKERS` maps every check to the variant it must catch and the failure it must report; the
test of the suite (test_broken.py) runs each check against its variant and expects that failure.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal

from hedgekeeper.domain import Collateral, OrderReport, OrderRequest, Side, Stamped
from hedgekeeper.venues.base import (
    BadReply,
    DuplicateClientId,
    InsufficientMargin,
    OrderRejected,
    OutcomeUnknown,
    RateLimited,
    Reading,
    SpotReading,
    VenueError,
)
from tests.conformance.sim import Forward

ZERO = Decimal(0)


class SidesSwapped(Forward):
    """Maps buy to sell and back."""

    async def place(self, request: OrderRequest) -> OrderReport:
        side = Side.BUY if request.side is Side.SELL else Side.SELL
        found: OrderReport = await self.inner.place(dataclasses.replace(request, side=side))
        return found


class StaleBalances(Forward):
    """Keeps answering the first balances it read (a cache never refreshed)."""

    first: dict[str, object]

    def _cached(self, key: str, fresh: object) -> object:
        cache = self.__dict__.setdefault("first", {})
        return cache.setdefault(key, fresh)

    async def spot(self, asset: str) -> Stamped:
        found = self._cached("spot", await self.inner.spot(asset))
        assert isinstance(found, Stamped)
        return found

    async def collateral(self, symbol: str) -> Collateral:
        found = self._cached("collateral", await self.inner.collateral(symbol))
        assert isinstance(found, Collateral)
        return found

    async def watch(self, symbol: str, asset: str) -> AsyncIterator[Reading]:
        async for reading in self.inner.watch(symbol, asset):
            if isinstance(reading, SpotReading):
                spot = self._cached("spot", reading.amount)
                assert isinstance(spot, Stamped)
                reading = SpotReading(reading.asset, spot)
            elif isinstance(reading, Collateral):
                cached = self._cached("collateral", reading)
                assert isinstance(cached, Collateral)
                reading = cached
            yield reading


class EquityWithoutPnl(Forward):
    """Reports the wallet balance as the equity (Bybit's REST `total` does so)."""

    @staticmethod
    def _strip(found: Collateral) -> Collateral:
        return dataclasses.replace(found, equity=found.wallet)

    async def collateral(self, symbol: str) -> Collateral:
        return self._strip(await self.inner.collateral(symbol))

    async def watch(self, symbol: str, asset: str) -> AsyncIterator[Reading]:
        async for reading in self.inner.watch(symbol, asset):
            yield self._strip(reading) if isinstance(reading, Collateral) else reading


class NoReduceOnly(Forward):
    """Drops the reduce-only flag."""

    async def place(self, request: OrderRequest) -> OrderReport:
        found: OrderReport = await self.inner.place(dataclasses.replace(request, reduce_only=False))
        return found


class ResendOnce(Forward):
    """Sends the order again at once when the first try raised `error`."""

    error: type[Exception] = Exception

    async def place(self, request: OrderRequest) -> OrderReport:
        try:
            found: OrderReport = await self.inner.place(request)
        except self.error:
            found = await self.inner.place(request)
        return found


class ResendOnTimeout(ResendOnce):
    error = OutcomeUnknown


class RetryOnRateLimit(ResendOnce):
    error = RateLimited


class DuplicateAsRejection(Forward):
    """Reports "duplicate client id" as a plain rejection."""

    async def place(self, request: OrderRequest) -> OrderReport:
        try:
            found: OrderReport = await self.inner.place(request)
        except DuplicateClientId as exc:
            raise OrderRejected(str(exc)) from None
        return found


class RetryOnMargin(Forward):
    """Tries a refused order again and again."""

    async def place(self, request: OrderRequest) -> OrderReport:
        for _ in range(9):
            try:
                found: OrderReport = await self.inner.place(request)
            except InsufficientMargin:
                continue
            return found
        found = await self.inner.place(request)
        return found


class SwallowsDrops(Forward):
    """A stream that drops never says so: it just goes quiet."""

    async def watch(self, symbol: str, asset: str) -> AsyncIterator[Reading]:
        try:
            async for reading in self.inner.watch(symbol, asset):
                yield reading
        except VenueError:
            await asyncio.Event().wait()


class EmptyIsZero(Forward):
    """Reads a balance reply without the coin as a zero balance."""

    async def spot(self, asset: str) -> Stamped:
        try:
            found: Stamped = await self.inner.spot(asset)
        except BadReply:
            return Stamped(ZERO, self.inner.now())
        return found

    async def collateral(self, symbol: str) -> Collateral:
        try:
            found: Collateral = await self.inner.collateral(symbol)
        except BadReply:
            return Collateral(ZERO, ZERO, ZERO, self.inner.now(), True)
        return found


BREAKERS: dict[str, tuple[type[Forward], str]] = {
    "opening_hedge": (SidesSwapped, "never came"),  # it never holds on target
    "deposit_increases": (StaleBalances, "never came"),
    "price_move_alone": (EquityWithoutPnl, "an order on a price move alone"),
    "withdrawal_covers_reduce_only": (NoReduceOnly, "not reduce-only"),
    "answered_late_placed_once": (ResendOnTimeout, "more than once"),
    "duplicate_is_settled": (DuplicateAsRejection, "duplicate"),
    "margin_reject_no_loop": (RetryOnMargin, "in a loop"),
    "stream_drop_caught_up": (SwallowsDrops, "never came"),
    "rate_limit_backs_off": (RetryOnRateLimit, "same client id"),
    "empty_wallet_no_order": (EmptyIsZero, "an order on an empty balance reply"),
}


class LookupNeverFinds(Forward):
    """Never finds an order by its client id."""

    async def order(
        self, symbol: str, client_id: str, exchange_id: str | None = None
    ) -> OrderReport | None:
        return None


RECOVERY_BREAKER = (LookupNeverFinds, "recovered as")  # for the SIGKILL check
