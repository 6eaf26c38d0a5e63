"""The hourly valuation a leg journals, so the insurance can be reported from the journal alone.

Once an hour (by the venue's clock) the engine writes what the leg owns and how it is hedged:
the mark, the coin held outside the perp's collateral, the collateral's equity, the position,
X, the target and the deadband. With the fills and funding the journal already keeps, that is
enough for `hedgekeeper report` to value the leg hedged and unhedged on a copied journal with no
exchange access. Pure: built from a frozen snapshot and the leg's plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hedgekeeper.config import LegConfig
from hedgekeeper.contracts import collateral_is_base
from hedgekeeper.domain import ZERO, Plan, Snapshot

__all__ = ["HOUR", "Valuation", "due", "holdings", "valuation"]

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Valuation:
    ts: float
    leg: str
    symbol: str
    kind: str  # "inverse" | "linear"
    contract_size: Decimal
    mark: Decimal
    holdings: Decimal  # coin owned outside the perp's collateral (spot wallets, fixed amounts)
    equity: Decimal  # collateral equity incl. unrealised PnL, in the settle coin
    position: Decimal  # contracts, short < 0
    exposure: Decimal  # X
    target: Decimal  # q*
    band: Decimal  # the deadband in contracts at this moment
    hedge_ratio: Decimal

    def figures(self) -> tuple[Decimal, ...]:
        """The Decimal columns in journal order, after ts, leg, symbol and kind."""
        return (
            self.contract_size,
            self.mark,
            self.holdings,
            self.equity,
            self.position,
            self.exposure,
            self.target,
            self.band,
            self.hedge_ratio,
        )


def holdings(snap: Snapshot, leg: LegConfig) -> Decimal:
    """Coin in spot wallets and fixed amounts; a unified wallet's coin is counted once, as the
    collateral, exactly as the exposure counts it."""
    fixed = sum((s.amount for s in leg.spot if s.amount is not None), ZERO)
    unified = snap.collateral.unified and collateral_is_base(snap.market)
    spot = sum((h.amount for h in snap.spot if not (unified and h.source == snap.perp_venue)), ZERO)
    return spot + fixed


def valuation(snap: Snapshot, leg: LegConfig, plan: Plan, width: Decimal) -> Valuation:
    return Valuation(
        ts=snap.now,
        leg=leg.name,
        symbol=snap.market.symbol,
        kind=snap.market.kind.value,
        contract_size=snap.market.contract_size,
        mark=plan.mark,
        holdings=holdings(snap, leg),
        equity=snap.collateral.equity,
        position=plan.position,
        exposure=plan.exposure,
        target=plan.target,
        band=width,
        hedge_ratio=_ratio(plan, leg),
    )


def _ratio(plan: Plan, leg: LegConfig) -> Decimal:
    """The h the target was sized for: the policy's at this moment, else the leg's constant."""
    if plan.ratio is not None:
        return plan.ratio
    return ZERO if leg.hedge_ratio is None else leg.hedge_ratio


def due(now: float, last: float) -> bool:
    """True at the first decision of each new hour (`last` -HOUR when there was none)."""
    return now // HOUR > last // HOUR
