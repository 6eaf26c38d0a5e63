"""The guards (SPEC §2): pure checks of one intent against the snapshot, the config and what the
shell remembers (`GuardState`). Each returns either the intent (perhaps trimmed) or a refusal
naming the guard, so status, logs and metrics can say exactly why the daemon held.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from hedgekeeper.config import LegConfig
from hedgekeeper.contracts import liquidation_price, order_cost
from hedgekeeper.domain import ZERO, Intent, Side, Snapshot
from hedgekeeper.reconcile import exact_target, exposure

TINY = Decimal("1e-12")


class Guard(StrEnum):
    """Who held an order back (or trimmed it): the label of logs, metrics and the journal."""

    KILL_SWITCH = "kill_switch"
    CIRCUIT_BREAKER = "circuit_breaker"
    IN_FLIGHT = "in_flight"
    STALE_DATA = "stale_data"  # too old, or an equity not paired with its mark
    PRICE = "price"
    GLITCH = "glitch"
    RATE = "rate"
    LEVERAGE = "leverage"
    LIQUIDATION = "liquidation"
    OVER_HEDGE = "over_hedge"
    MARGIN = "margin"
    VENUE = "venue"  # the exchange failed the decision's reads


def jumped(before: Decimal, after: Decimal, fraction: Decimal) -> bool:
    """Whether X moved from `before` to `after` by more than `fraction` of `before`: the one
    rule the glitch guard raises on and a confirming REST read is judged by."""
    return abs(after - before) > fraction * max(before, TINY)


@dataclass(frozen=True, slots=True)
class GuardState:
    """What the shell remembers between decisions, handed to the guards frozen."""

    order_times: tuple[float, ...] = ()  # when recent orders were sent
    failures: int = 0  # consecutive order failures
    in_flight: bool = False  # an order is not yet finished
    awaiting_position: bool = False  # a fill is not yet reflected in the position
    killed: bool = False
    halted: str | None = None  # why the circuit breaker halted the leg
    last_exposure: Decimal | None = None  # X at the last decision acted upon
    exposure_confirmed: bool = False  # a fresh REST read confirmed the current X


@dataclass(frozen=True, slots=True)
class Verdict:
    """`intent` is what may be sent (None: nothing). `guard` names who refused or trimmed."""

    intent: Intent | None
    guard: Guard | None = None
    reason: str = ""
    degraded: bool = False  # inputs cannot be vouched for
    confirm: bool = False  # ask for a fresh REST read before acting
    under_hedged: bool = False
    transfer: Decimal | None = None  # spot -> derivatives amount that would let the order pass


def refuse(guard: Guard, reason: str, *, degraded: bool = False, confirm: bool = False) -> Verdict:
    return Verdict(None, guard, reason, degraded=degraded, confirm=confirm)


def is_increase(intent: Intent) -> bool:
    return intent.side is Side.SELL and not intent.reduce_only


def stale(snap: Snapshot, leg: LegConfig) -> str | None:
    limit = leg.guards.max_age_seconds
    ages = {"price": snap.prices.ts, "position": snap.position.ts, "collateral": snap.collateral.ts}
    ages.update({f"spot balance at {h.source}": h.ts for h in snap.spot})
    for name, ts in ages.items():
        age = snap.now - ts
        if age > limit:
            return f"{name} is {age:.0f}s old (limit {limit:.0f}s)"
    return None


def unvouched(snap: Snapshot, leg: LegConfig) -> str | None:
    """Why the inputs cannot be traded on: too old, or an equity not paired with its mark."""
    return stale(snap, leg) or snap.unpaired


def implausible_price(snap: Snapshot, leg: LegConfig) -> str | None:
    """A mark far from the index is a broken feed or a market in trouble: trade on neither."""
    index = snap.prices.index
    if index is None or index <= 0:
        return None
    gap = abs(snap.prices.mark - index) / index
    if gap > leg.guards.max_mark_index_gap:
        return (
            f"mark {snap.prices.mark} is {gap:.1%} from the index {index} (limit "
            f"{leg.guards.max_mark_index_gap:.0%})"
        )
    return None


def wrong_settings(snap: Snapshot, leg: LegConfig) -> str | None:
    s = snap.settings
    if s is None:
        return "account settings (leverage, margin mode, position mode) are not known yet"
    if s.leverage is not None and s.leverage != leg.leverage:
        return (
            f"leverage on {snap.market.symbol} is {s.leverage}x, not {leg.leverage}x: set it to "
            f"{leg.leverage}x on the exchange (or let the daemon, where the exchange allows)"
        )
    if s.margin_mode is not None and s.margin_mode != leg.margin_mode:
        return (
            f"margin mode on {snap.market.symbol} is {s.margin_mode}, config says "
            f"{leg.margin_mode}: change one of them"
        )
    if s.one_way is False:
        return "the account is in hedge (two-way) position mode: switch it to one-way mode"
    return None


def liquidation_estimate(snap: Snapshot) -> Decimal | None:
    """Where a short would be liquidated on cross margin, from equity at the mark.

    None when there is no finite price (e.g. an inverse short fully backed by its coin).
    """
    q = snap.position.contracts
    if q >= 0:
        return None
    # Equity at the mark is the equity without the position when entered at the mark.
    mark, market = snap.prices.mark, snap.market
    return liquidation_price(market, q, snap.collateral.equity, mark, market.maintenance_margin)


def liquidation_distance(snap: Snapshot) -> Decimal | None:
    """(liq - mark) / mark for the short, from the exchange's figure or our own estimate."""
    liq = snap.position.liquidation_price or liquidation_estimate(snap)
    if liq is None or liq <= 0:
        return None
    return (liq - snap.prices.mark) / snap.prices.mark


def cap_over_hedge(
    snap: Snapshot, leg: LegConfig, intent: Intent, ratio: Decimal | None = None
) -> Intent | None:
    """Trim a sell so |q| never exceeds h·X in contracts plus one step, nor the leg's cap."""
    x = exposure(snap, leg)
    target = exact_target(x, snap.prices.mark, leg, snap.market, ratio)
    limit = abs(target) + snap.market.amount_step
    if leg.guards.max_contracts is not None:
        limit = min(limit, leg.guards.max_contracts)
    room = snap.market.floor_amount(limit + snap.position.contracts)
    if room >= intent.contracts:
        return intent
    if room < snap.market.min_amount:
        return None
    return replace(intent, contracts=room)


def check(
    snap: Snapshot,
    leg: LegConfig,
    intent: Intent,
    state: GuardState,
    ratio: Decimal | None = None,
) -> Verdict:
    """Every guard, cheapest and most absolute first; `ratio` is the policy's h (None: the
    leg's constant ratio), which the over-hedge cap holds the short to."""
    if state.killed:
        return refuse(Guard.KILL_SWITCH, "kill switch is on: all trading halted")
    if state.halted:
        return refuse(Guard.CIRCUIT_BREAKER, f"leg halted: {state.halted}")
    if state.in_flight or state.awaiting_position:
        return refuse(Guard.IN_FLIGHT, "waiting for the last order to be reflected in the position")
    if (why := unvouched(snap, leg)) is not None:
        return refuse(Guard.STALE_DATA, why, degraded=True)
    if (why := implausible_price(snap, leg)) is not None:
        return refuse(Guard.PRICE, why, degraded=True)
    x = exposure(snap, leg)
    last = state.last_exposure
    if (
        last is not None
        and not state.exposure_confirmed
        and jumped(last, x, leg.guards.glitch_fraction)
    ):
        why = f"exposure jumped from {last} to {x}: confirming with a fresh read"
        return refuse(Guard.GLITCH, why, confirm=True)
    window = [t for t in state.order_times if snap.now - t < 60]
    if len(window) >= leg.guards.orders_per_minute:
        return refuse(
            Guard.RATE,
            f"{len(window)} orders in the last minute (limit {leg.guards.orders_per_minute})",
        )
    if not is_increase(intent):
        return Verdict(intent)
    if (why := wrong_settings(snap, leg)) is not None:
        return refuse(Guard.LEVERAGE, why)
    distance = liquidation_distance(snap)
    if distance is not None and distance < leg.guards.min_liquidation_distance:
        return refuse(
            Guard.LIQUIDATION,
            f"liquidation is {distance:.1%} from the mark (limit "
            f"{leg.guards.min_liquidation_distance:.0%}): no increase",
        )
    capped = cap_over_hedge(snap, leg, intent, ratio)
    if capped is None:
        return refuse(Guard.OVER_HEDGE, "the short is already at h·X (or the leg's cap)")
    return afford(snap, leg, capped, trimmed=capped is not intent)


def afford(snap: Snapshot, leg: LegConfig, intent: Intent, trimmed: bool) -> Verdict:
    """Size an increase to what free collateral pays for at the leg's leverage."""
    market = snap.market
    prices = (snap.prices.mark, intent.limit_price or snap.prices.mark)
    # The exchange may price the order at the mark or at the limit: size for the dearer.
    cost = max(order_cost(market, p, leg.leverage) for p in prices)
    affordable = market.floor_amount(max(snap.collateral.free, ZERO) / cost)
    guard = Guard.OVER_HEDGE if trimmed else None
    if affordable >= intent.contracts:
        return Verdict(intent, guard, "trimmed to h·X" if trimmed else "")
    shortfall = (intent.contracts - affordable) * cost
    transfer = None
    if leg.guards.auto_transfer and not snap.collateral.unified:
        transfer = shortfall * Decimal("1.001")  # headroom for the step rounding
    why = (
        f"free collateral {snap.collateral.free} affords {affordable} of {intent.contracts} "
        "contracts at 1x"
    )
    if affordable < market.min_amount:
        return Verdict(
            None, Guard.MARGIN, f"under-hedged: {why}", under_hedged=True, transfer=transfer
        )
    return Verdict(
        replace(intent, contracts=affordable),
        Guard.MARGIN,
        f"under-hedged: {why}",
        under_hedged=True,
        transfer=transfer,
    )
