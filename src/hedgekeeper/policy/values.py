"""The leg's values a policy reads, and the one conversion from "exposed share" to hedge ratio.

V is the leg's USD value after funding and fees (notes/floor-policy.md §1):
- inverse: the coin equity X (spot + wallet + the short's PnL, all in the coin) at the mark,
  V = X·P, and the exposed share u leaves h = 1 - u;
- linear: the Q coins held plus the quote collateral's equity (PnL, funding and fees land there),
  V = Q·P + C, and the exposure u·V/P is kept in coin: h = clamp(Q - u·V/P, 0, Q) / Q.
With C = 0 the linear rule is the inverse one, so one formula serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hedgekeeper.domain import ONE, ZERO

__all__ = ["LegValues", "hedge_ratio"]


@dataclass(frozen=True, slots=True)
class LegValues:
    now: float  # epoch seconds of the snapshot
    price: Decimal  # the perp's mark P
    coins: Decimal  # X: what the leg insures, in the coin
    quote: Decimal = ZERO  # quote collateral equity counted in V (linear perps)

    @property
    def value(self) -> Decimal:
        """V = X·P + C, in the quote currency."""
        return self.coins * self.price + self.quote


def hedge_ratio(exposed: Decimal, values: LegValues) -> Decimal:
    """h for an exposed share u of V: short all of X except u·V/P coins, within [0, 1]."""
    if values.coins <= 0 or values.price <= 0:
        return ZERO
    keep = exposed * values.value / values.price  # coins left exposed
    return min(max(ONE - keep / values.coins, ZERO), ONE)
