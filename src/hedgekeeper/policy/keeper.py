"""The shell's side of a leg's policy: the journaled state, deposits and withdrawals, and the
price samples the put's volatility is estimated from. It hands the engine one number, h.

A policy's state is read from the journal once and written back whenever an evaluation changes
it, so a restarted daemon continues with the same V0, floor and high-water mark instead of
starting a new floor from today's prices.

Deposits and withdrawals are not performance (notes/floor-policy.md §3). The keeper tells them
apart by the arithmetic of the hedge: between two evaluations the leg's value should move only by
the price on what was exposed (inverse: V' = (X + q·K·(1/P - 1/P'))·P'; linear:
V' = X·P' + C + q·K·(P' - P)); funding, fees and slippage add far less than FLOW_TOLERANCE of V
in one evaluation. A change beyond that is a flow, and the state is rescaled by it.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any

import structlog

from hedgekeeper import contracts
from hedgekeeper.config import LegConfig
from hedgekeeper.domain import ZERO, Snapshot
from hedgekeeper.journal import Journal
from hedgekeeper.policy import put
from hedgekeeper.policy.dispatch import Evaluation, evaluate, needs_volatility
from hedgekeeper.policy.spec import (
    WARN_MULTIPLIER,
    ConstantPolicy,
    CppiPolicy,
    PolicyError,
    PutPolicy,
    describe,
)
from hedgekeeper.policy.state import PolicyState, rescale
from hedgekeeper.policy.values import LegValues
from hedgekeeper.reconcile import exposure

__all__ = ["FLOW_TOLERANCE", "PolicyKeeper", "leg_values"]

log = structlog.get_logger("hedgekeeper.policy")

FLOW_TOLERANCE = Decimal("0.01")  # of V: an unexplained change beyond this is a deposit/withdrawal
SAMPLE_SECONDS = 3600.0 - 1.0  # one price sample an hour for the put's volatility


def leg_values(snap: Snapshot, leg: LegConfig) -> LegValues:
    """X, P and (linear) the quote collateral's equity: V = X·P + C."""
    x = exposure(snap, leg)
    quote = ZERO if contracts.collateral_is_base(snap.market) else snap.collateral.equity
    return LegValues(now=snap.now, price=snap.prices.mark, coins=x, quote=quote)


class PolicyKeeper:
    def __init__(self, leg: LegConfig, journal: Journal | None, readonly: bool = False) -> None:
        self.leg = leg
        # `hedge_ratio` is the constant policy; it wins where a copy of the leg changed it alone.
        self.spec = leg.policy if leg.hedge_ratio is None else ConstantPolicy(ratio=leg.hedge_ratio)
        self.journal = journal
        self.readonly = readonly or journal is None
        if isinstance(self.spec, CppiPolicy) and self.spec.multiplier > WARN_MULTIPLIER:
            log.warning(
                "policy_multiplier_high",
                leg=leg.name,
                multiplier=str(self.spec.multiplier),
                why=f"above {WARN_MULTIPLIER}, a fall of 1/m between evaluations breaks the floor",
            )
        text = journal.policy_state(leg.name) if journal is not None else None
        self.state: PolicyState | None = PolicyState.from_json(text) if text else None
        self.recovered = self.state is not None
        self.last: Evaluation | None = None
        self.flows = ZERO  # USD of deposits (+) and withdrawals (-) seen since the start
        self._previous: LegValues | None = None
        window = self.spec.vol_window_days * 86400 if isinstance(self.spec, PutPolicy) else 0
        self._window = float(window)
        self._samples: deque[tuple[float, Decimal]] = deque(maxlen=max(int(window // 3600) + 2, 2))

    @property
    def floors(self) -> bool:
        return not isinstance(self.spec, ConstantPolicy)

    def held(self) -> Decimal:
        """The h in force when no fresh evaluation can be made (stale data)."""
        if self.last is not None:
            return self.last.h
        if isinstance(self.spec, ConstantPolicy):
            return self.spec.ratio
        if self.state is not None and self.state.last_h is not None:
            return self.state.last_h
        return ZERO

    def ratio(self, snap: Snapshot, fresh: bool = True) -> Decimal:
        """Evaluate the policy on this snapshot (only on fresh data) and return h."""
        if not fresh:
            return self.held()
        values = leg_values(snap, self.leg)
        if not self.floors:
            self.last = evaluate(self.spec, values, self.state)
            self.state = self.last.state
            return self.last.h
        if contracts.collateral_is_base(snap.market) and not self.leg.count_collateral:
            raise PolicyError(
                f"leg {self.leg.name}: count_collateral",
                "a floor policy on an inverse perp needs count_collateral = true: the short's "
                "PnL, funding and fees are paid into the collateral, which is part of V",
            )
        state = self._flows(snap, values)
        self._sample(values)
        sigma = None
        if needs_volatility(self.spec, state, values.now):
            assert isinstance(self.spec, PutPolicy)
            since = values.now - self._window
            sigma = put.volatility([s for s in self._samples if s[0] >= since], self.spec.vol_floor)
        try:
            result = evaluate(self.spec, values, state, sigma)
        except PolicyError as exc:
            raise PolicyError(f"leg {self.leg.name}: policy.{exc.field}", exc.detail) from None
        if result.state is not self.state and result.state != self.state:
            self._save(result.state)
        self.last = result
        return result.h

    def _save(self, state: PolicyState) -> None:
        started = self.state is None
        self.state = state
        if self.readonly or self.journal is None:
            return
        self.journal.save_policy_state(self.leg.name, state.to_json())
        if started:
            log.info(
                "policy_started",
                leg=self.leg.name,
                policy=describe(self.spec),
                v0=str(state.v0),
                floor=str(state.floor),
            )

    def _flows(self, snap: Snapshot, values: LegValues) -> PolicyState | None:
        """The state, rescaled if the leg's value moved by more than the hedge explains."""
        previous, self._previous = self._previous, values
        state = self.state
        if previous is None or state is None:
            return state
        # The position now is the one held over the move: the engine trades right after it
        # evaluates, so a fill happens at the start of the move, not at its end.
        before, q = previous, snap.position.contracts
        gain = contracts.pnl(snap.market, q, before.price, values.price)  # settle coin
        if contracts.collateral_is_base(snap.market):
            expected = (before.coins + gain) * values.price
        else:
            expected = before.coins * values.price + before.quote + gain
        flow = values.value - expected
        if expected <= 0 or abs(flow) <= FLOW_TOLERANCE * expected:
            return state
        self.flows += flow
        log.info("policy_flow", leg=self.leg.name, flow=str(flow), value=str(values.value))
        return rescale(state, expected, flow)

    def _sample(self, values: LegValues) -> None:
        if not isinstance(self.spec, PutPolicy):
            return
        if not self._samples or values.now - self._samples[-1][0] >= SAMPLE_SECONDS:
            self._samples.append((values.now, values.price))

    def view(self) -> dict[str, Any]:
        """What `status`, /status and the report show of the policy."""
        out: dict[str, Any] = {"policy": describe(self.spec), "kind": self.spec.kind}
        last, state = self.last, self.state
        if last is not None:
            out.update(
                value=last.value,
                floor=last.floor,
                cushion=last.cushion,
                value_over_floor=last.value_over_floor,
                target_h=last.h,
                policy_h=last.raw_h,
                near_floor=last.near_floor,
            )
        elif state is not None:
            out.update(floor=state.floor, target_h=state.last_h)
        if state is not None and self.floors:
            out.update(v0=state.v0, high_water=state.hwm, recovered=self.recovered)
            if state.roll is not None:
                out.update(put_strike=state.roll.strike, put_coins=state.roll.coins)
                out.update(put_rolled=state.roll.ts, put_sigma=state.roll.sigma)
        return out


def status_line(entry: dict[str, Any]) -> str | None:
    """One terminal line of a leg's policy figures (from `view`, as /status serves them)."""
    if "policy" not in entry:
        return None

    def money(key: str) -> str:
        value = entry.get(key)
        return "-" if value is None else f"{Decimal(str(value)):,.2f}"

    parts = [f"policy {entry['policy']}", f"V {money('value')}"]
    if entry.get("floor") is not None:
        ratio = entry.get("value_over_floor")
        over = "-" if ratio is None else f"{Decimal(str(ratio)):.4f}"
        parts += [f"F {money('floor')}", f"cushion {money('cushion')}", f"V/F {over}"]
    h = entry.get("target_h")
    parts.append(f"target h {'-' if h is None else format(Decimal(str(h)), '.4f')}")
    if entry.get("near_floor"):
        parts.append("NEAR FLOOR")
    return "  ".join(parts)
