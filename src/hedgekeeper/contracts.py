"""Contract arithmetic (SPEC §1), once: every formula that differs between inverse and linear perps.

Inverse: K is quote (USD) per contract; collateral, notional and PnL are in the base coin, so a
contract is worth K/P coins. Linear: K is base coin per contract; collateral, notional and PnL are
in the quote coin, so a contract is worth K·P quote. The reconciler, the guards, the feed, the sim
and the paper layer all call these functions; nothing else in the code branches on the kind.
Pure and `Decimal` only; contracts are signed where the argument says so (short < 0).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from hedgekeeper.domain import ONE, ZERO, ContractKind, MarketSpec

__all__ = [
    "AmountUnit",
    "blend_entry",
    "coin_per_contract",
    "collateral_is_base",
    "contract_unit",
    "contracts_for_coin",
    "from_amount",
    "funding",
    "liquidation_price",
    "notional",
    "order_cost",
    "pnl",
    "pnl_from_basis",
    "quote_per_contract",
    "to_amount",
    "value",
]


def _inverse(spec: MarketSpec) -> bool:
    return spec.kind is ContractKind.INVERSE


def contract_unit(spec: MarketSpec) -> str:
    """The coin K is counted in: the quote coin for inverse (USD), the base coin for linear."""
    return spec.quote if _inverse(spec) else spec.base


def collateral_is_base(spec: MarketSpec) -> bool:
    """True when the collateral is the hedged coin itself (inverse), so it is exposure too."""
    return _inverse(spec)


def coin_per_contract(spec: MarketSpec, price: Decimal) -> Decimal:
    """Base-coin exposure of one contract at `price` (inverse: K/P; linear: K)."""
    return spec.contract_size / price if _inverse(spec) else spec.contract_size


def quote_per_contract(spec: MarketSpec, price: Decimal) -> Decimal:
    """Quote value of one contract at `price` (inverse: K; linear: K·P)."""
    return spec.contract_size if _inverse(spec) else spec.contract_size * price


def contracts_for_coin(spec: MarketSpec, coin: Decimal, price: Decimal) -> Decimal:
    """Contracts (unrounded) that hold `coin` of exposure at `price`: inverse X·P/K, linear X/K."""
    if _inverse(spec):
        return coin * price / spec.contract_size
    return coin / spec.contract_size


def value(spec: MarketSpec, contracts: Decimal, price: Decimal) -> Decimal:
    """Signed value of `contracts` at `price` in the settle coin: inverse q·K/P, linear q·K·P."""
    size = contracts * spec.contract_size
    return size / price if _inverse(spec) else size * price


def notional(spec: MarketSpec, contracts: Decimal, price: Decimal) -> Decimal:
    """Absolute value in the settle coin: the base of fees, margin and funding."""
    return value(spec, abs(contracts), price)


def pnl(spec: MarketSpec, contracts: Decimal, entry: Decimal, mark: Decimal) -> Decimal:
    """PnL in the settle coin of `contracts` (signed) held from `entry` to `mark`."""
    if not contracts:
        return ZERO
    if _inverse(spec):
        return contracts * spec.contract_size * (1 / entry - 1 / mark)
    return contracts * spec.contract_size * (mark - entry)


def pnl_from_basis(spec: MarketSpec, contracts: Decimal, basis: Decimal, mark: Decimal) -> Decimal:
    """PnL at `mark` of a position whose fills' `value`s sum to `basis` (any number of entries).

    A linear position gains as its value rises; an inverse one's value is in coin per contract,
    which falls as the price rises, so its PnL is the basis less the value now.
    """
    now = value(spec, contracts, mark)
    return basis - now if _inverse(spec) else now - basis


def blend_entry(
    spec: MarketSpec, held: Decimal, entry: Decimal, added: Decimal, price: Decimal
) -> Decimal:
    """Average entry after adding `added` contracts at `price` to `held` at `entry` (same side).

    An inverse contract is worth K/P coins, so its average is the contract-weighted harmonic
    mean; a linear one's is arithmetic.
    """
    held, more = abs(held), abs(added)
    if _inverse(spec):
        return (held + more) / (held / entry + more / price)
    return (held * entry + more * price) / (held + more)


def order_cost(spec: MarketSpec, price: Decimal, leverage: Decimal) -> Decimal:
    """Collateral one more contract needs at `price`: initial margin plus the opening fee."""
    return notional(spec, ONE, price) * (ONE / leverage + spec.taker_fee)


def funding(spec: MarketSpec, contracts: Decimal, mark: Decimal, rate: Decimal) -> Decimal:
    """Funding received (> 0) by `contracts` at `mark`: a positive rate has longs pay shorts."""
    return -value(spec, contracts, mark) * rate


def liquidation_price(
    spec: MarketSpec, contracts: Decimal, rest: Decimal, entry: Decimal, mm: Decimal
) -> Decimal | None:
    """Mark at which equity meets maintenance, `rest` being the equity without this position.

    Solves rest + pnl(q, entry, m) = mm · notional(q, m) for m. None when no positive mark does
    (a 1x inverse short: its collateral rises in value exactly as the position loses). With
    `entry` = the mark and `rest` = the equity at the mark, it is the estimate from equity alone.
    """
    q, k = contracts, spec.contract_size
    if not q:
        return None
    if _inverse(spec):
        num, den = k * (q + mm * abs(q)), rest + q * k / entry
    else:
        num, den = rest - q * k * entry, k * (mm * abs(q) - q)
    if not den or num / den <= 0:
        return None
    return num / den


class AmountUnit(StrEnum):
    """What an exchange's order and position amounts count (ccxt passes them through)."""

    CONTRACTS = "contracts"  # ccxt's own unit: whole contracts of K
    QUOTE = "quote"  # USD face (Deribit inverse): contracts · K of an inverse market
    COIN = "coin"  # base coin (Bybit, Binance USDⓈ-M linear): contracts · K of a linear market


def _unit_factor(spec: MarketSpec, unit: AmountUnit) -> Decimal:
    if unit is AmountUnit.CONTRACTS:
        return ONE
    if (unit is AmountUnit.QUOTE) == _inverse(spec):  # quote of inverse, coin of linear: K each
        return spec.contract_size
    raise ValueError(f"{spec.symbol}: amounts in {unit.value} need a price on a {spec.kind} perp")


def to_amount(spec: MarketSpec, contracts: Decimal, unit: AmountUnit) -> Decimal:
    """Our contracts as the exchange's order amount."""
    return contracts * _unit_factor(spec, unit)


def from_amount(spec: MarketSpec, amount: Decimal, unit: AmountUnit) -> Decimal:
    """The exchange's amount (order size, fill, position) in our contracts."""
    factor = _unit_factor(spec, unit)
    return amount if factor == ONE else amount / factor
