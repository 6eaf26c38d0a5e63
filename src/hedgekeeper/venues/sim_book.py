"""The sim's records and one market's position arithmetic, kept apart from the wallets.

Every formula that turns contracts into coin (notional, PnL, average entry, liquidation) lives
here, once, so the exchange state machine in `sim_exchange.py` only moves balances.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hedgekeeper.config import SimConfig, SimMarket
from hedgekeeper.domain import ZERO, ContractKind, MarketSpec, Side
from hedgekeeper.venues.base import VenueError

__all__ = ["Book", "SimFill", "SimTransfer", "spec_of"]


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
    """One market and the account's position in it, mutable and slotted for the hot path."""

    __slots__ = ("contracts", "entry", "inverse", "k", "leverage", "spec")

    def __init__(self, spec: MarketSpec) -> None:
        self.spec = spec
        self.inverse = spec.kind is ContractKind.INVERSE
        self.k = spec.contract_size
        self.contracts = ZERO
        self.entry: Decimal | None = None
        self.leverage = Decimal(1)

    def notional(self, contracts: Decimal, mark: Decimal) -> Decimal:
        """Absolute value in the settle coin, the base of fees, margin and funding."""
        size = abs(contracts) * self.k
        return size / mark if self.inverse else size * mark

    def pnl(self, contracts: Decimal, mark: Decimal) -> Decimal:
        """PnL in the settle coin of `contracts` (signed) held from the entry price to `mark`."""
        if self.entry is None or not contracts:
            return ZERO
        if self.inverse:
            return contracts * self.k * (1 / self.entry - 1 / mark)
        return contracts * self.k * (mark - self.entry)

    def blend(self, added: Decimal, price: Decimal) -> Decimal:
        """Entry after adding to the position: an inverse contract is worth K/P coins, so its
        average is the contract-weighted harmonic mean; a linear one's is arithmetic."""
        if self.entry is None or not self.contracts:
            return price
        held, more = abs(self.contracts), abs(added)
        if self.inverse:
            return (held + more) / (held / self.entry + more / price)
        return (held * self.entry + more * price) / (held + more)

    def liquidation(self, rest: Decimal, mm: Decimal) -> Decimal | None:
        """Mark at which equity meets maintenance, `rest` being the equity without this position.

        Solves rest + pnl(q, m) = mm * notional(q, m) for m; None when no positive mark does
        (a 1x inverse short: its collateral rises in value exactly as the position loses).
        """
        q, k, entry = self.contracts, self.k, self.entry
        if not q or entry is None:
            return None
        if self.inverse:
            num, den = k * (q + mm * abs(q)), rest + q * k / entry
        else:
            num, den = rest - q * k * entry, k * (mm * abs(q) - q)
        if not den or num / den <= 0:
            return None
        return num / den


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
