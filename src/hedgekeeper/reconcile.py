"""The hedge decision (SPEC §1): a pure function of one frozen snapshot and the leg's config.

No I/O and no clock, so the same inputs always give the same decision and every rule below can be
pinned by a test, including the one that matters most: on an inverse perp at h = 1 with the
collateral counted, a price move alone never changes the target.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from hedgekeeper.config import LegConfig
from hedgekeeper.contracts import collateral_is_base, contracts_for_coin, quote_per_contract
from hedgekeeper.domain import (
    ONE,
    ZERO,
    Decision,
    Hold,
    Intent,
    MarketSpec,
    Plan,
    Side,
    Snapshot,
)

HUNDRED = Decimal(100)


def exposure(snap: Snapshot, leg: LegConfig) -> Decimal:
    """X, in the asset: what a fall in price would cost, before the hedge.

    On a unified account the perp's wallet is also the spot wallet, so its coin is counted once,
    as collateral equity (which includes the position's unrealised PnL), never also as spot.
    """
    fixed = sum((s.amount for s in leg.spot if s.amount is not None), ZERO)
    counted = collateral_is_base(snap.market)  # the collateral is the asset itself
    unified = snap.collateral.unified and counted
    spot = sum((h.amount for h in snap.spot if not (unified and h.source == snap.perp_venue)), ZERO)
    total = spot + fixed - leg.reserve
    if counted:
        perp_wallet_is_spot = any(h.source == snap.perp_venue for h in snap.spot)
        if leg.count_collateral or (unified and perp_wallet_is_spot):
            total += snap.collateral.equity
    return max(total, ZERO)


def ratio_of(leg: LegConfig, ratio: Decimal | None) -> Decimal:
    """h: the one given (a policy's output), else the leg's constant ratio."""
    if ratio is not None:
        return ratio
    if leg.hedge_ratio is None:
        raise ValueError(f"leg {leg.name}: a {leg.policy.kind} policy's h must be given")
    return leg.hedge_ratio


def exact_target(
    x: Decimal, mark: Decimal, leg: LegConfig, market: MarketSpec, ratio: Decimal | None = None
) -> Decimal:
    """q* before rounding: linear -(h·X)/K, inverse -(h·X·P)/K."""
    h = ratio_of(leg, ratio)
    return -contracts_for_coin(market, h * x, mark)


def band(target: Decimal, mark: Decimal, leg: LegConfig, market: MarketSpec) -> Decimal:
    """The smallest drift worth an order, in contracts: the largest of the exchange minimum,
    the quote deadband and the percent deadband."""
    by_quote = leg.deadband.quote / quote_per_contract(market, mark)
    by_percent = abs(target) * leg.deadband.percent / HUNDRED
    return max(market.min_amount, by_quote, by_percent)


def limit_price(side: Side, mark: Decimal, leg: LegConfig, market: MarketSpec) -> Decimal | None:
    """Marketable limit bounded by the maximum slippage from the mark; None for market orders."""
    if leg.order_type == "market":
        return None
    slip = leg.max_slippage / HUNDRED
    raw = mark * (ONE + slip) if side is Side.BUY else mark * (ONE - slip)
    return market.round_price(raw, side)


def split(size: Decimal, leg: LegConfig, market: MarketSpec) -> list[Decimal]:
    """Equal pieces no larger than max_order, each on the amount step, summing to `size`."""
    if leg.max_order is None or size <= leg.max_order:
        return [size]
    pieces = int((size / leg.max_order).to_integral_value(rounding=ROUND_CEILING))
    piece = market.floor_amount(size / pieces)
    return [piece] * (pieces - 1) + [size - piece * (pieces - 1)]


def _h(leg: LegConfig, ratio: Decimal | None) -> str:
    """`, h=0.4` in the reason, for a policy whose h moves; nothing for a constant ratio."""
    if ratio is None or leg.hedge_ratio is not None:
        return ""
    return f", h={ratio:.4f}"


def plan(snap: Snapshot, leg: LegConfig, ratio: Decimal | None = None) -> Plan:
    x = exposure(snap, leg)
    mark = snap.prices.mark
    h = ratio_of(leg, ratio)
    target = snap.market.round_amount(exact_target(x, mark, leg, snap.market, h))
    target = min(target, ZERO)
    q = snap.position.contracts
    return Plan(exposure=x, target=target, position=q, drift=target - q, mark=mark, ratio=h)


def reconcile(snap: Snapshot, leg: LegConfig, ratio: Decimal | None = None) -> Decision:
    """Hold, with the reason, or the orders that take the position all the way to target.
    `ratio` is h from the leg's policy; None means the leg's constant `hedge_ratio`."""
    p = plan(snap, leg, ratio)
    market = snap.market
    why = (
        f"X={p.exposure:.8f} {leg.asset} at {p.mark}{_h(leg, p.ratio)} -> target {p.target}, "
        f"position {p.position}, drift {p.drift}"
    )
    if p.drift == 0:
        return Decision(p, f"on target: {why}", hold=Hold.ON_TARGET)
    needed = band(p.target, p.mark, leg, market)
    if abs(p.drift) < needed:
        why = f"within deadband ({needed:.4f} contracts): {why}"
        return Decision(p, why, hold=Hold.WITHIN_DEADBAND)
    if p.drift < 0:
        side, size, reduce_only = Side.SELL, -p.drift, False
    else:
        # Covering is reduce-only and never more than the open short: the daemon never goes long.
        side, size, reduce_only = Side.BUY, min(p.drift, max(-p.position, ZERO)), True
        if size < market.min_amount:
            return Decision(p, f"nothing to cover: {why}", hold=Hold.NOTHING_TO_COVER)
    price = limit_price(side, p.mark, leg, market)
    verb = "sell to add to the short" if side is Side.SELL else "buy to cover (reduce-only)"
    intents = tuple(
        Intent(
            leg=snap.leg,
            symbol=market.symbol,
            side=side,
            contracts=piece,
            reduce_only=reduce_only,
            limit_price=price,
            reason=f"{verb} {piece}: {why}",
        )
        for piece in split(size, leg, market)
    )
    return Decision(p, f"{verb} {size}: {why}", intents)
