"""CPPI and TIPP: leave m times the cushion above the floor exposed, hedge the rest.

CPPI (Black & Jones 1987): u = min(1, m·max(0, V - F')/V) with F' = F·(1 + floor_buffer), F a
fixed share of V0 or a USD amount. TIPP (Estep & Kritzman 1988) is the same with a floor that
ratchets up to lock_in times the high-water mark and never comes down. A fall g between two
evaluations costs u·V·g; the floor holds while g < 1/m, which `spec.multiplier_problem` checks
against the evaluation interval.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hedgekeeper.domain import ONE, ZERO
from hedgekeeper.policy.spec import CppiPolicy, PolicyError
from hedgekeeper.policy.state import PolicyState
from hedgekeeper.policy.values import LegValues

__all__ = ["start", "step"]


def start(spec: CppiPolicy, values: LegValues) -> PolicyState:
    """V0 = V now; F = floor_pct·V0 or floor_usd, which must lie below V0."""
    v = values.value
    if spec.floor_usd is not None:
        floor, field = spec.floor_usd, "floor_usd"
    else:
        assert spec.floor_pct is not None  # the spec's validator wants one of the two
        floor, field = spec.floor_pct * v, "floor_pct"
    if floor * (ONE + spec.floor_buffer) >= v:
        raise PolicyError(
            field,
            f"the floor {floor:,.2f} (with floor_buffer {spec.floor_buffer}) is not below the "
            f"leg's current value {v:,.2f}: nothing would be left to expose",
        )
    return PolicyState(v0=v, v0_ts=values.now, floor=floor, hwm=v)


def step(spec: CppiPolicy, values: LegValues, state: PolicyState) -> tuple[Decimal, PolicyState]:
    """The exposed share u and the state with the high-water mark (and TIPP's floor) moved."""
    v = values.value
    hwm = max(state.hwm, v)
    floor = state.floor if state.floor is not None else ZERO
    if spec.ratchets:
        floor = max(floor, spec.lock_in * hwm)
    cushion = v - floor * (ONE + spec.floor_buffer)
    exposed = ZERO if cushion <= 0 or v <= 0 else min(ONE, spec.multiplier * cushion / v)
    if hwm == state.hwm and floor == state.floor:
        return exposed, state  # most evaluations: nothing to remember (and nothing to journal)
    return exposed, replace(state, floor=floor, hwm=hwm)
