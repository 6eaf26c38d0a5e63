"""The latest stamped readings of one leg, written by watchers and REST reads, read as a snapshot.

The feed only stores; it never decides. A reading it cannot place (a position on another symbol,
a spot balance from a venue that is not a spot source of the leg) is dropped with a log line, so
a confused stream cannot smuggle foreign numbers into the hedge.
"""

from __future__ import annotations

import asyncio

import structlog

from hedgekeeper.config import LegConfig
from hedgekeeper.domain import (
    AccountSettings,
    Collateral,
    Holding,
    MarketSpec,
    Position,
    Prices,
    Snapshot,
)
from hedgekeeper.venues.base import Reading, SpotReading

log = structlog.get_logger("hedgekeeper.feed")


class Feed:
    def __init__(self, leg: LegConfig, market: MarketSpec) -> None:
        self.leg = leg
        self.market = market
        self.spot_venues = tuple(s.venue for s in leg.spot if s.venue is not None)
        self.prices: Prices | None = None
        self.position: Position | None = None
        self.collateral: Collateral | None = None
        self.settings: AccountSettings | None = None
        self.spot: dict[str, Holding] = {}
        self.open_orders = 0
        self.changed = asyncio.Event()

    def apply(self, venue: str, reading: Reading | AccountSettings) -> None:
        perp = venue == self.leg.perp.venue
        if isinstance(reading, SpotReading):
            if venue in self.spot_venues and reading.asset == self.leg.asset:
                amount = reading.amount
                self.spot[venue] = Holding(venue, amount.value, amount.ts)
        elif not perp:
            return
        elif isinstance(reading, Prices):
            self.prices = reading
        elif isinstance(reading, Position):
            if reading.symbol != self.market.symbol:
                log.warning("foreign_position_dropped", leg=self.leg.name, symbol=reading.symbol)
                return
            self.position = reading
        elif isinstance(reading, Collateral):
            self.collateral = reading
        elif isinstance(reading, AccountSettings):
            self.settings = reading
        self.changed.set()

    def missing(self) -> list[str]:
        gaps = [
            name
            for name, value in (
                ("price", self.prices),
                ("position", self.position),
                ("collateral", self.collateral),
            )
            if value is None
        ]
        gaps += [f"spot balance at {v}" for v in self.spot_venues if v not in self.spot]
        return gaps

    def snapshot(self, now: float) -> Snapshot:
        """Frozen inputs for the core; call only when `missing()` is empty."""
        assert self.prices and self.position and self.collateral, self.missing()
        return Snapshot(
            leg=self.leg.name,
            now=now,
            perp_venue=self.leg.perp.venue,
            market=self.market,
            spot=tuple(self.spot[v] for v in self.spot_venues),
            collateral=self.collateral,
            position=self.position,
            prices=self.prices,
            open_orders=self.open_orders,
            settings=self.settings,
        )

    def ages(self, now: float) -> dict[str, float]:
        stamps: dict[str, float] = {}
        for name, value in (
            ("price", self.prices),
            ("position", self.position),
            ("collateral", self.collateral),
        ):
            if value is not None:
                stamps[name] = now - value.ts
        for venue, holding in self.spot.items():
            stamps[f"spot:{venue}"] = now - holding.ts
        return stamps
