"""The constant policy: h is the configured ratio, whatever the leg is worth (SPEC §1)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hedgekeeper.policy.spec import ConstantPolicy
from hedgekeeper.policy.state import PolicyState
from hedgekeeper.policy.values import LegValues

__all__ = ["step"]


def step(
    spec: ConstantPolicy, values: LegValues, state: PolicyState | None
) -> tuple[Decimal, PolicyState]:
    """The ratio, and a state that only remembers V0 and the high-water mark for `status`."""
    v = values.value
    if state is None:
        state = PolicyState(v0=v, v0_ts=values.now, floor=None, hwm=v)
    if v <= state.hwm and state.last_h == spec.ratio:
        return spec.ratio, state
    return spec.ratio, replace(state, hwm=max(state.hwm, v), last_h=spec.ratio)
