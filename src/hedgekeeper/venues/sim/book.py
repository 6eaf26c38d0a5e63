"""The sim's records and one market's position, kept apart from the wallets.

Every formula that turns contracts into coin (notional, PnL, average entry, liquidation) is
`hedgekeeper.contracts`', so the exchange state machine in `exchange.py` only moves balances.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from hedgekeeper import contracts as arithmetic
from hedgekeeper.config import SimConfig, SimMarket
from hedgekeeper.domain import ZERO, ContractKind, MarketSpec, Side
from hedgekeeper.pricepath import PricePoint
from hedgekeeper.venues.base import VenueError

__all__ = ["Book", "OwnPath", "SimFill", "SimTransfer", "spec_of"]


class OwnPath:
    """A market's own price path, read as of the exchange's clock (the venue's path drives it).

    `price` is the last point at or before the clock; `advance` returns the funding rates of the
    points it passed, so a recorded path pays what it recorded even between the clock's steps.
    """

    __slots__ = ("_next", "_points", "funds", "price")

    def __init__(self, symbol: str, points: Iterable[PricePoint]) -> None:
        self.funds = isinstance(points, Sequence) and any(
            p.funding_rate is not None for p in points
        )
        self._points = iter(points)
        self._next = next(self._points, None)
        if self._next is None:
            raise VenueError(f"sim: the price path of {symbol} is empty")
        self.price = self._next.price

    def advance(self, clock: float) -> list[Decimal]:
        rates = []
        while self._next is not None and self._next.ts <= clock:
            self.price = self._next.price
            if self._next.funding_rate is not None:
                rates.append(self._next.funding_rate)
            self._next = next(self._points, None)
        return rates


@dataclass(frozen=True, slots=True)
class SimFill:
    """One execution; `realized` is PnL booked by the part that reduced the position."""

    ts: float
    symbol: str
    client_id: str
    side: Side
    contracts: Decimal
    price: Decimal
    fee: Decimal
    realized: Decimal


@dataclass(frozen=True, slots=True)
class SimTransfer:
    """A deposit (> 0), withdrawal (< 0) or internal move; `requested` differs when clamped."""

    ts: float
    asset: str
    amount: Decimal
    wallet: str  # "spot" | "derivatives" | "spot->derivatives" | "insurance" (a bankruptcy)
    requested: Decimal


class Book:
    """One market and the account's position in it, mutable and slotted for the hot path.

    The arithmetic is `hedgekeeper.contracts`'; a book only remembers the position and its entry.
    """

    __slots__ = ("contracts", "entry", "leverage", "spec")

    def __init__(self, spec: MarketSpec) -> None:
        self.spec = spec
        self.contracts = ZERO
        self.entry: Decimal | None = None
        self.leverage = Decimal(1)

    def notional(self, contracts: Decimal, mark: Decimal) -> Decimal:
        """Absolute value in the settle coin, the base of fees, margin and funding."""
        return arithmetic.notional(self.spec, contracts, mark)

    def pnl(self, contracts: Decimal, mark: Decimal) -> Decimal:
        """PnL in the settle coin of `contracts` (signed) held from the entry price to `mark`."""
        if self.entry is None:
            return ZERO
        return arithmetic.pnl(self.spec, contracts, self.entry, mark)

    def blend(self, added: Decimal, price: Decimal) -> Decimal:
        """Entry after adding `added` contracts at `price` on the position's side."""
        if self.entry is None or not self.contracts:
            return price
        return arithmetic.blend_entry(self.spec, self.contracts, self.entry, added, price)

    def liquidation(self, rest: Decimal, mm: Decimal) -> Decimal | None:
        """Mark at which equity meets maintenance, `rest` being the equity without this position."""
        if self.entry is None:
            return None
        return arithmetic.liquidation_price(self.spec, self.contracts, rest, self.entry, mm)


def spec_of(market: SimMarket, cfg: SimConfig) -> MarketSpec:
    base, sep, rest = market.symbol.partition("/")
    quote, sep2, settle = rest.partition(":")
    if not (base and sep and quote and sep2 and settle):
        raise VenueError(f"sim: market symbol {market.symbol!r} is not BASE/QUOTE:SETTLE")
    kind, fee, mm = ContractKind(market.kind), cfg.taker_fee, cfg.maintenance_margin
    size, step, least, tick = (
        market.contract_size,
        market.amount_step,
        market.min_amount,
        market.price_step,
    )
    return MarketSpec(market.symbol, kind, size, step, least, tick, base, quote, settle, fee, mm)
