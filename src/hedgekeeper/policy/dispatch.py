"""The seam: one pure function from a leg's values, its policy and its state to h and the new
state. The reconciler receives h; nothing else knows a policy's formulas.

The rebalancing rule (notes/floor-policy.md §4) is applied here, once for every floor policy:
trade when the target moves by deadband_h or more, and go to exactly h = 1 once the target is
within deadband_h of it (near the floor a band that wide can exceed the cushion itself).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from hedgekeeper.domain import ONE, ZERO
from hedgekeeper.policy import constant, cppi, put
from hedgekeeper.policy.spec import ConstantPolicy, CppiPolicy, PutPolicy
from hedgekeeper.policy.state import PolicyState
from hedgekeeper.policy.values import LegValues, hedge_ratio

__all__ = ["Evaluation", "evaluate", "needs_volatility", "rebalance"]

Spec = ConstantPolicy | CppiPolicy | PutPolicy


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One evaluation: the h for the reconciler, the policy's own figures, the new state."""

    h: Decimal  # after the rebalancing rule: what the reconciler hedges
    raw_h: Decimal  # the policy's h before it
    value: Decimal  # V
    floor: Decimal | None  # F (None: the constant policy has none)
    buffer: Decimal  # floor_buffer
    state: PolicyState

    @property
    def cushion(self) -> Decimal | None:
        return None if self.floor is None else self.value - self.floor

    @property
    def value_over_floor(self) -> Decimal | None:
        return None if not self.floor else self.value / self.floor

    @property
    def near_floor(self) -> bool:
        """Within floor_buffer of the floor (or below it)."""
        return self.floor is not None and self.value <= self.floor * (ONE + self.buffer)


def rebalance(target: Decimal, last: Decimal | None, deadband: Decimal) -> Decimal:
    """The h to hold: `target` snapped to 1 within `deadband` of it, kept at `last` while it
    has moved by less than `deadband`."""
    if target >= ONE - deadband:
        target = ONE
    if last is None or target in (last, ONE):
        return target
    return target if abs(target - last) >= deadband else last


def needs_volatility(spec: Spec, state: PolicyState | None, now: float) -> bool:
    """Whether `evaluate` needs `sigma` (a put roll is due): the shell estimates it only then."""
    return isinstance(spec, PutPolicy) and put.due(spec, state, now)


def evaluate(
    spec: Spec, values: LegValues, state: PolicyState | None, sigma: Decimal | None = None
) -> Evaluation:
    """h and the new state. Starts the state when there is none (raises PolicyError when the
    floor is not below the value)."""
    if isinstance(spec, ConstantPolicy):
        h, state = constant.step(spec, values, state)
        return Evaluation(h, h, values.value, None, ZERO, state)
    if isinstance(spec, CppiPolicy):
        state = state or cppi.start(spec, values)
        exposed, state = cppi.step(spec, values, state)
    else:
        if state is None:
            if sigma is None:
                raise ValueError("a put starts with a roll: the volatility must be given")
            state = put.start(spec, values, sigma)
        exposed, state = put.step(spec, values, state, sigma)
    raw = hedge_ratio(exposed, values)
    h = rebalance(raw, state.last_h, spec.deadband_h)
    if h != state.last_h:
        state = replace(state, last_h=h)
    return Evaluation(h, raw, values.value, state.floor, spec.floor_buffer, state)
