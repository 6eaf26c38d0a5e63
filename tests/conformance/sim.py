"""The built-in sim venue in the conformance suite, with the exchange's faults at its port.

The sim has no wire: its `SimExchange` is the matching engine (placements are counted there) and
`SimVenue` the adapter. `FaultPort` sits between them and the daemon and raises what a correct
adapter raises for each fault (RateLimited, OutcomeUnknown after executing, DuplicateClientId
after executing, InsufficientMargin, BadReply for an empty wallet, VenueUnavailable for a dropped
stream), so every check exercises the same engine paths as on an exchange.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from hedgekeeper.domain import Collateral, OrderReport, OrderRequest, Prices, Side, Stamped
from hedgekeeper.venues.base import (
    BadReply,
    DuplicateClientId,
    InsufficientMargin,
    OutcomeUnknown,
    RateLimited,
    Reading,
    Venue,
    VenueUnavailable,
)
from hedgekeeper.venues.sim import SimVenue
from tests.conformance.harness import Attempt, Harness, Market
from tests.emulators.core.dialect import Placed

LINEAR = {"symbol": "BTC/USDT:USDT", "kind": "linear", "contract_size": "1",
          "amount_step": "0.001", "min_amount": "0.001", "price_step": "0.1"}  # fmt: skip
INVERSE = {"symbol": "BTC/USD:BTC", "kind": "inverse", "contract_size": "1"}


class Forward:
    """A venue that hands every call to `inner`: the base of fault layers and broken variants."""

    def __init__(self, inner: Venue) -> None:
        self.inner = inner
        self.name = inner.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class FaultPort(Forward):
    def __init__(self, inner: Venue) -> None:
        super().__init__(inner)
        self.attempts: list[Attempt] = []
        self.rate_limit = 0
        self.late = 0
        self.duplicate = 0
        self.refuse = 0
        self.empty = False
        self.empty_reads = 0
        self.silent = False
        self.dropped = asyncio.Event()

    async def place(self, request: OrderRequest) -> OrderReport:
        self.attempts.append(Attempt(request.client_id, time.monotonic()))
        if self.rate_limit:
            self.rate_limit -= 1
            raise RateLimited("sim: too many requests")
        if self.refuse:
            self.refuse -= 1
            raise InsufficientMargin("sim: not enough margin (a fault)", "margin")
        report: OrderReport = await self.inner.place(request)
        if self.late:
            self.late -= 1
            raise OutcomeUnknown("sim: the answer timed out")
        if self.duplicate:
            self.duplicate -= 1
            raise DuplicateClientId("sim: client id was used before (a gateway retry)", "dup")
        return report

    async def spot(self, asset: str) -> Stamped:
        self._wallet_read()
        found: Stamped = await self.inner.spot(asset)
        return found

    async def collateral(self, symbol: str) -> Collateral:
        self._wallet_read()
        found: Collateral = await self.inner.collateral(symbol)
        return found

    def _wallet_read(self) -> None:
        self.empty_reads += 1
        if self.empty:
            raise BadReply("sim wallet: BTC missing from the reply")

    async def watch(self, symbol: str, asset: str) -> AsyncIterator[Reading]:
        """The sim's pushes, minus the private ones while silent; a drop ends it with an error.

        Never awaits between the sim's readings: they are one moment's, and a reading applied
        after the engine acted again would be a stale one.
        """
        self.dropped.clear()
        async for reading in self.inner.watch(symbol, asset):
            if self.dropped.is_set():
                raise VenueUnavailable("sim stream dropped")
            if not self.silent or isinstance(reading, Prices):
                yield reading


class SimHarness(Harness):
    mode = "dry-run"

    def __init__(self, market: Market) -> None:
        super().__init__(market)
        self.port: FaultPort | None = None
        self.sim: SimVenue | None = None
        self.placed: list[Placed] = []
        self.timeout = 5.0

    def venue_config(self, timeout_ms: int) -> dict[str, Any]:
        m = self.market
        return {
            "exchange": "sim",
            "sim": {
                "start_price": str(m.price),
                "volatility": "0",
                "steps": 1,  # one point: the price moves only when a check moves it
                "unified": True,
                "spot": {k: str(v) for k, v in m.balances.items()},
                "derivatives": {},
                "taker_fee": "0.0006",
                "markets": [INVERSE if m.kind == "inverse" else LINEAR],
            },
        }

    def wrap(self, venue: Venue) -> Venue:
        assert isinstance(venue, SimVenue)
        self.sim = venue
        exchange = venue.exchange
        place = exchange.place

        def placing(request: OrderRequest) -> OrderReport:
            side = "buy" if request.side is Side.BUY else "sell"
            self.placed.append(Placed(request.client_id, side, request.contracts,
                                      request.reduce_only))  # fmt: skip
            return place(request)

        exchange.place = placing  # type: ignore[method-assign]
        self.port = FaultPort(venue)
        return self.port  # type: ignore[return-value]

    @property
    def _port(self) -> FaultPort:
        assert self.port is not None, "the daemon has not built its venue yet"
        return self.port

    @property
    def _sim(self) -> SimVenue:
        assert self.sim is not None, "the daemon has not built its venue yet"
        return self.sim

    def position(self) -> Decimal:
        return self._sim.exchange.position(self.market.symbol).contracts

    def leverage(self) -> Decimal:
        found = self._sim.exchange.settings(self.market.symbol).leverage
        assert found is not None
        return found

    def placements(self) -> list[Placed]:
        return list(self.placed)

    def attempts(self) -> list[Attempt]:
        return list(self.port.attempts) if self.port else []

    def executed(self) -> dict[str, Decimal]:
        sides = {p.client_id: p.side for p in self.placed}
        return {
            o.client_id: o.filled if sides[o.client_id] == "buy" else -o.filled
            for o in self._sim.exchange.orders
            if o.filled
        }

    async def wait_for_placements(self, count: int) -> list[Placed]:
        async with asyncio.timeout(self.timeout):
            while self.sim is None:
                await asyncio.sleep(0)  # until the daemon has built its venue
            await self.sim.wait_for(lambda: len(self.placed) >= count)
        return self.placements()

    async def _changed(self) -> None:
        await self._sim.changed()

    async def deposit(self, amount: Decimal) -> None:
        self._sim.exchange.deposit("BTC", amount)

    async def withdraw(self, amount: Decimal) -> None:
        self._sim.exchange.withdraw("BTC", amount)

    async def set_price(self, price: Decimal) -> None:
        self._sim.exchange.set_price(price)

    async def drop_streams(self) -> None:
        self._port.dropped.set()
        wake = self._sim.exchange.on_change
        assert wake is not None
        wake()  # the stream sees the drop at once, as a closed socket is seen

    def silence_private(self, silent: bool = True) -> None:
        self._port.silent = silent

    def rate_limit_next_order(self) -> None:
        self._port.rate_limit += 1

    def answer_next_order_late(self) -> None:
        self._port.late += 1

    def duplicate_next_order(self) -> None:
        self._port.duplicate += 1

    def refuse_orders(self, count: int) -> None:
        self._port.refuse += count

    def empty_wallet(self, empty: bool = True) -> None:
        self._port.empty = empty

    def wallet_reads(self) -> int:
        return self._port.empty_reads
