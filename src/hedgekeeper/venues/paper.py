"""Dry-run on a real venue: every read is real, every order is filled on paper.

The paper layer sits on top of whatever the exchange reports, so a dry run over an account that
already holds a short evolves exactly as the live daemon would, without a request ever leaving.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

from hedgekeeper import contracts
from hedgekeeper.domain import (
    AccountIdentity,
    AccountSettings,
    Collateral,
    FundingEvent,
    MarketSpec,
    OrderReport,
    OrderRequest,
    OrderState,
    Position,
    Prices,
    Side,
    Stamped,
)
from hedgekeeper.venues.base import DuplicateClientId, OrderRejected, Reading, Venue

ZERO = Decimal(0)


class PaperVenue:
    """Wraps a venue; `place` never reaches it."""

    def __init__(self, inner: Venue) -> None:
        self.inner = inner
        self.name = inner.name
        self.contracts: dict[str, Decimal] = {}
        self.cost: dict[str, Decimal] = {}  # the fills' `contracts.value`s: the PnL's basis
        self.fees: dict[str, Decimal] = {}
        self.orders: dict[str, OrderReport] = {}
        self.specs: dict[str, MarketSpec] = {}
        self.marks: dict[str, Decimal] = {}

    async def open(self) -> None:
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    def now(self) -> float:
        return self.inner.now()

    async def identity(self) -> AccountIdentity:
        """The real account's, marked paper: a dry run's fills never were that account's."""
        real = await self.inner.identity()
        return replace(real, exchange=f"{real.exchange} paper")

    async def market(self, symbol: str) -> MarketSpec:
        spec = await self.inner.market(symbol)
        self.specs[symbol] = spec
        return spec

    async def settings(self, symbol: str) -> AccountSettings:
        return await self.inner.settings(symbol)

    async def ensure_settings(
        self, symbol: str, leverage: Decimal, margin_mode: str
    ) -> AccountSettings:
        # A dry run changes nothing at the exchange, not even leverage: it only reports.
        return await self.inner.settings(symbol)

    async def spot(self, asset: str) -> Stamped:
        return await self.inner.spot(asset)

    def _pnl(self, symbol: str, mark: Decimal) -> Decimal:
        """Paper PnL less fees in the settle coin, at `mark`."""
        spec = self.specs.get(symbol)
        n = self.contracts.get(symbol, ZERO)
        if spec is None or (n == 0 and symbol not in self.cost):
            return -self.fees.get(symbol, ZERO)
        basis = self.cost.get(symbol, ZERO)
        return contracts.pnl_from_basis(spec, n, basis, mark) - self.fees.get(symbol, ZERO)

    def _overlay(self, reading: Reading, symbol: str) -> Reading:
        """Add the paper book to a reading about `symbol` (its price, position, or wallet)."""
        if isinstance(reading, Prices):
            self.marks[symbol] = reading.mark
            return reading
        if isinstance(reading, Position) and reading.symbol in self.contracts:
            return replace(reading, contracts=reading.contracts + self.contracts[reading.symbol])
        if isinstance(reading, Collateral) and symbol in self.specs:
            # Only the paper PnL settled in this wallet's coin belongs to it.
            coin = self.specs[symbol].settle
            extra = sum(
                (
                    self._pnl(s, self.marks[s])
                    for s, spec in self.specs.items()
                    if spec.settle == coin and s in self.marks
                ),
                ZERO,
            )
            return replace(reading, equity=reading.equity + extra, free=reading.free + extra)
        return reading

    async def collateral(self, symbol: str) -> Collateral:
        reading = self._overlay(await self.inner.collateral(symbol), symbol)
        assert isinstance(reading, Collateral)
        return reading

    async def position(self, symbol: str) -> Position:
        reading = self._overlay(await self.inner.position(symbol), symbol)
        assert isinstance(reading, Position)
        return reading

    async def prices(self, symbol: str) -> Prices:
        prices = await self.inner.prices(symbol)
        self.marks[symbol] = prices.mark
        return prices

    async def place(self, request: OrderRequest) -> OrderReport:
        if request.client_id in self.orders:
            raise DuplicateClientId(f"paper order {request.client_id} exists")
        spec = self.specs.get(request.symbol) or await self.market(request.symbol)
        mark = (await self.prices(request.symbol)).mark
        marketable = (
            request.limit_price is None
            or (request.side is Side.SELL and request.limit_price <= mark)
            or (request.side is Side.BUY and request.limit_price >= mark)
        )
        position = await self.position(request.symbol)
        n = request.contracts
        if request.reduce_only:
            if request.side is Side.SELL or position.contracts >= 0:
                raise OrderRejected("reduce-only order would not reduce the paper position")
            n = min(n, -position.contracts)
        if not marketable:
            report = OrderReport(
                request.client_id,
                OrderState.CANCELLED,
                ZERO,
                None,
                ZERO,
                self.now(),
                f"paper-{len(self.orders)}",
            )
        else:
            signed = n if request.side is Side.BUY else -n
            fee = contracts.notional(spec, n, mark) * spec.taker_fee
            s = request.symbol
            self.contracts[s] = self.contracts.get(s, ZERO) + signed
            self.cost[s] = self.cost.get(s, ZERO) + contracts.value(spec, signed, mark)
            self.fees[s] = self.fees.get(s, ZERO) + fee
            report = OrderReport(
                request.client_id,
                OrderState.FILLED,
                n,
                mark,
                fee,
                self.now(),
                f"paper-{len(self.orders)}",
            )
        self.orders[request.client_id] = report
        return report

    async def order(
        self, symbol: str, client_id: str, exchange_id: str | None = None
    ) -> OrderReport | None:
        return self.orders.get(client_id)

    async def cancel(
        self, symbol: str, client_id: str, exchange_id: str | None = None
    ) -> OrderReport | None:
        return self.orders.get(client_id)

    async def recent_client_ids(self, symbol: str, since: float) -> list[str]:
        """None: a dry run sends no order, so a live daemon beside it on the account (the
        documented rehearsal) doubles nothing and must not halt it."""
        return []

    async def transfer_to_derivatives(self, asset: str, amount: Decimal) -> None:
        raise OrderRejected("dry-run: no transfers")

    async def funding(self, symbol: str, since: float) -> list[FundingEvent]:
        return await self.inner.funding(symbol, since)

    async def watch(self, symbol: str, asset: str) -> AsyncIterator[Reading]:
        async for reading in self.inner.watch(symbol, asset):
            yield self._overlay(reading, symbol)
