"""The latest stamped readings of one leg, written by watchers and REST reads, read as a snapshot.

The feed only stores; it never decides. A reading it cannot place (a position on another symbol,
a spot balance from a venue that is not a spot source of the leg) is dropped with a log line, so
a confused stream cannot smuggle foreign numbers into the hedge.

The collateral's equity includes the position's unrealised PnL, which moves with every tick of the
mark, but exchanges push a wallet update only when the wallet changes (Bybit never on a price
move). So the snapshot carries the last collateral reading from the mark it was read at to the
current one by the PnL the position made in between; without that, a price move alone would look
like a change of exposure on an inverse perp and trade (SPEC §1 says it must not).

That carry is only as right as the mark the reading is paired with. A REST read pairs them itself
and says so in `Collateral.mark` (refresh.py), or says it could not (`unpaired`: the guards then
hold the leg). A watched reading has no mark of its own: it is paired with the last mark the feed
holds, so its PnL can be off by the mark's move since that mark was read (a tick of a price
stream; up to the poll interval where a venue polls its wallet, as BingX and MEXC do), until the
next REST read pairs it exactly.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

import structlog

from hedgekeeper.config import LegConfig
from hedgekeeper.contracts import pnl
from hedgekeeper.domain import (
    ZERO,
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
        self.collateral_mark: Decimal | None = None  # the mark `collateral`'s PnL is at
        self.unpaired: str | None = None  # why `collateral` could not be paired with its mark
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
            if self.collateral is not None and self.collateral_mark is None:
                self.collateral_mark = reading.mark  # read before any price: the best guess
        elif isinstance(reading, Position):
            if reading.symbol != self.market.symbol:
                log.warning("foreign_position_dropped", leg=self.leg.name, symbol=reading.symbol)
                return
            self.position = reading
        elif isinstance(reading, Collateral):
            self.collateral = reading
            held = self.prices.mark if self.prices else None
            self.collateral_mark = held if reading.mark is None else reading.mark
            self.unpaired = None  # a reader that cannot pair its reading says so after this
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
            collateral=self.marked_collateral(),
            position=self.position,
            prices=self.prices,
            open_orders=self.open_orders,
            settings=self.settings,
            unpaired=self.unpaired,
        )

    def marked_collateral(self) -> Collateral:
        """The last collateral reading with its unrealised PnL carried to the current mark."""
        assert self.prices and self.position and self.collateral
        basis, mark, q = self.collateral_mark, self.prices.mark, self.position.contracts
        if basis is None or basis == mark or q == 0:
            return self.collateral
        delta = pnl(self.market, q, basis, mark)  # in the settle coin
        c = self.collateral
        return replace(c, equity=c.equity + delta, free=max(c.free + delta, ZERO), mark=mark)

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
