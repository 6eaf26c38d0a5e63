"""A policy's memory: what must survive a restart, or the floor silently moves.

V0, the floor, the high-water mark, the put's roll and the last target h are never recomputed
from today's prices; they are journaled as JSON (Decimals as strings) and read back at start.
A deposit or a withdrawal is not performance: `rescale` scales every money figure by
(V + D)/V, so V/F, the cushion's share and the put's coverage stay where they were.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

__all__ = ["PolicyState", "PutRoll", "rescale"]


@dataclass(frozen=True, slots=True)
class PutRoll:
    """The synthetic put bought at one roll: strike Ks, n coins insured, σ, floor n·Ks."""

    ts: float
    price: Decimal
    strike: Decimal
    coins: Decimal
    sigma: Decimal
    floor: Decimal


@dataclass(frozen=True, slots=True)
class PolicyState:
    v0: Decimal  # the leg's USD value when the policy started (rescaled by flows)
    v0_ts: float
    floor: Decimal | None  # F; None for the constant policy
    hwm: Decimal  # the highest V seen (rescaled by flows)
    last_h: Decimal | None = None  # the target h last handed to the reconciler
    roll: PutRoll | None = None

    def to_json(self) -> str:
        def plain(value: Any) -> Any:
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, PutRoll):
                return {k: plain(getattr(value, k)) for k in PutRoll.__slots__}
            return value

        return json.dumps({k: plain(getattr(self, k)) for k in PolicyState.__slots__})

    @classmethod
    def from_json(cls, text: str) -> PolicyState:
        data = json.loads(text)

        def dec(value: str | None) -> Decimal | None:
            return None if value is None else Decimal(value)

        roll = data.get("roll")
        return cls(
            v0=Decimal(data["v0"]),
            v0_ts=float(data["v0_ts"]),
            floor=dec(data.get("floor")),
            hwm=Decimal(data["hwm"]),
            last_h=dec(data.get("last_h")),
            roll=None
            if roll is None
            else PutRoll(
                ts=float(roll["ts"]),
                price=Decimal(roll["price"]),
                strike=Decimal(roll["strike"]),
                coins=Decimal(roll["coins"]),
                sigma=Decimal(roll["sigma"]),
                floor=Decimal(roll["floor"]),
            ),
        )


def rescale(state: PolicyState, value: Decimal, flow: Decimal) -> PolicyState:
    """After a deposit (flow > 0) or withdrawal (< 0) of `flow` USD onto a leg worth `value`
    before it: every money figure scales by (value + flow)/value, so V/F does not move."""
    if value <= 0 or flow == 0:
        return state
    factor = (value + flow) / value
    roll = state.roll
    if roll is not None:
        roll = replace(roll, coins=roll.coins * factor, floor=roll.floor * factor)
    return replace(
        state,
        v0=state.v0 * factor,
        floor=None if state.floor is None else state.floor * factor,
        hwm=state.hwm * factor,
        roll=roll,
    )
