"""The built-in simulated venue: `SimExchange` behind the async `Venue` port.

Subscribers are woken by the exchange's own change callback rather than by polling, so a replay
runs as fast as the engine can follow and a test can wait for a condition without sleeping.
Watchers coalesce: one that falls behind sees the latest state, as a websocket snapshot would.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Iterable
from decimal import Decimal

from hedgekeeper.config import SimConfig
from hedgekeeper.domain import (
    AccountIdentity,
    AccountSettings,
    Collateral,
    FundingEvent,
    MarketSpec,
    OrderReport,
    OrderRequest,
    Position,
    Prices,
    Stamped,
)
from hedgekeeper.pricepath import PricePoint
from hedgekeeper.venues.base import Reading, SpotReading, VenueUnavailable
from hedgekeeper.venues.sim.exchange import SimExchange


class SimVenue:
    """One simulated account; `exchange` exposes the synchronous state and its test hooks."""

    def __init__(self, name: str, cfg: SimConfig, path: Iterable[PricePoint] | None = None) -> None:
        self.name = name
        self.exchange = SimExchange(cfg, path)
        self.exchange.on_change = self._wake
        self._speed = cfg.speed
        self._version = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._closed = False
        self.run_id = secrets.token_hex(6)  # the simulated account lives as long as this object

    # -- change notification -------------------------------------------------------------------

    def _wake(self) -> None:
        self._version += 1
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def changed(self) -> None:
        """Return at the next change of state (a step, fill, funding, deposit, transfer, close)."""
        if self._closed:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Return once `predicate()` holds, checking it now and after every change."""
        while not predicate():
            if self._closed:
                raise VenueUnavailable(f"sim venue {self.name!r} is closed")
            await self.changed()

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self) -> None:
        """Nothing to connect to; the markets were built with the exchange."""

    async def close(self) -> None:
        self._closed = True
        self._wake()

    async def run_clock(self) -> None:
        """Step the path in real time scaled by `speed`, until it ends or the venue closes.

        Each wait is the path's own spacing to the next point over `speed` (for a walk, exactly
        `step_seconds / speed`), so a recorded 8-hour path replays at the speed asked for too.
        The wait is counted from the previous step, never caught up in a burst after a stall:
        the engine must get to see every step, as the daemon would see every hour.
        """
        exchange = self.exchange
        while not self._closed:
            upcoming = exchange.next_ts
            if upcoming is None:
                return
            await asyncio.sleep((upcoming - exchange.now()) / self._speed)
            if self._closed or not exchange.step():
                return

    # -- the Venue port ------------------------------------------------------------------------

    def now(self) -> float:
        return self.exchange.now()

    async def identity(self) -> AccountIdentity:
        return AccountIdentity("sim", f"run {self.run_id}")

    async def market(self, symbol: str) -> MarketSpec:
        return self.exchange.market(symbol)

    async def settings(self, symbol: str) -> AccountSettings:
        return self.exchange.settings(symbol)

    async def ensure_settings(
        self, symbol: str, leverage: Decimal, margin_mode: str
    ) -> AccountSettings:
        """Sets the leverage; the sim only knows cross margin, and says so for the guards."""
        return self.exchange.set_leverage(symbol, leverage)

    async def spot(self, asset: str) -> Stamped:
        return Stamped(self.exchange.spot_balance(asset), self.exchange.now())

    async def collateral(self, symbol: str) -> Collateral:
        return self.exchange.collateral(symbol)

    async def position(self, symbol: str) -> Position:
        return self.exchange.position(symbol)

    async def prices(self, symbol: str) -> Prices:
        self.exchange.market(symbol)
        return self.exchange.prices(symbol)

    async def place(self, request: OrderRequest) -> OrderReport:
        return self.exchange.place(request)

    async def order(
        self, symbol: str, client_id: str, exchange_id: str | None = None
    ) -> OrderReport | None:
        return self.exchange.order(symbol, client_id)

    async def cancel(
        self, symbol: str, client_id: str, exchange_id: str | None = None
    ) -> OrderReport | None:
        """Sim orders never rest, so cancelling only reports what became of the order."""
        return self.exchange.order(symbol, client_id)

    async def recent_client_ids(self, symbol: str, since: float) -> list[str]:
        return self.exchange.client_ids(symbol, since)

    async def transfer_to_derivatives(self, asset: str, amount: Decimal) -> None:
        self.exchange.transfer_to_derivatives(asset, amount)

    async def funding(self, symbol: str, since: float) -> list[FundingEvent]:
        self.exchange.market(symbol)
        return self.exchange.funding(symbol, since)

    def readings(self, symbol: str, asset: str) -> tuple[Reading, ...]:
        """Everything a leg watches, read at one simulated moment."""
        ex = self.exchange
        collateral, position = ex.account(symbol)
        return (
            ex.prices(symbol),
            SpotReading(asset, Stamped(ex.spot_balance(asset), ex.now())),
            collateral,
            position,
        )

    async def watch(self, symbol: str, asset: str) -> AsyncIterator[Reading]:
        """The current readings at once, then again after each change; ends when closed."""
        self.exchange.market(symbol)
        seen = -1
        while not self._closed:
            if seen == self._version:
                await self.changed()
                continue
            seen = self._version
            for reading in self.readings(symbol, asset):
                yield reading
