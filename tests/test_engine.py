"""The leg engine's own bookkeeping: what it journals of its decisions, and as what."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from hedgekeeper.domain import OrderRequest, Prices, Side
from tests.fakes import FaultyVenue, Rig


class StoppedPrices(FaultyVenue):
    """A price feed stuck at the moment the test began: its age grows with every step."""

    stuck: float | None = None

    async def prices(self, symbol: str) -> Prices:
        prices = await self.inner.prices(symbol)
        if self.stuck is None:
            self.stuck = prices.ts
        return replace(prices, ts=self.stuck)


def decisions(tmp_path: Path) -> list[tuple[str, str | None, str]]:
    with sqlite3.connect(tmp_path / "journal.sqlite") as db:
        rows = db.execute("SELECT action, guard, reason FROM decisions ORDER BY id").fetchall()
    return [(str(a), None if g is None else str(g), str(r)) for a, g, r in rows]


async def test_a_hold_is_journaled_once_however_its_figures_change(tmp_path: Path) -> None:
    rig = Rig(tmp_path, venue=StoppedPrices, spot=[])
    await rig.start()
    for _ in range(6):  # an hour older each time: the reason's figures change at every step
        rig.ex.step()
        assert await rig.engine.step() is None
    held = [d for d in decisions(tmp_path) if d[1] == "stale_data"]
    assert len(held) == 1, held
    assert held[0][0] == "hold" and "old (limit" in held[0][2]
    assert rig.engine.status()["state"] == "degraded"
    assert "price is 21600s old" in rig.engine.status()["reason"]  # the status has the latest


async def test_trades_and_holds_are_journaled_as_plain_words(tmp_path: Path) -> None:
    rig = await Rig(tmp_path, spot=[]).start()
    await rig.settle()
    rows = decisions(tmp_path)
    assert {a for a, _, _ in rows} == {"trade", "hold"}
    assert {g for _, g, _ in rows} <= {None, "margin", "in_flight", "over_hedge"}
    assert rig.engine.status()["guard"] in (None, "margin", "in_flight", "over_hedge")


async def test_a_streamed_position_from_before_our_fill_is_not_traded_on(tmp_path: Path) -> None:
    """ccxt answers the first position watch with a REST snapshot that can be older than the
    opening fill: a position of 0 after the short is open must not open it a second time."""
    rig = await Rig(tmp_path, spot=[], hedge_ratio="0.5").start()
    await rig.settle()
    short = rig.position()
    assert short < 0 and rig.engine.feed is not None
    orders = len(rig.ex.orders)
    old = replace(rig.ex.position(rig.leg.perp.symbol), contracts=Decimal(0), entry_price=None)
    rig.engine.feed.apply("ex", old)  # the stale snapshot arrives on the stream
    assert await rig.engine.step() is None
    assert len(rig.ex.orders) == orders and rig.position() == short
    assert rig.engine.status()["position"] == str(short)  # the REST read replaced it
    assert not [e for e in events(tmp_path) if e[0] == "position_unexplained"]


async def test_a_position_change_rest_confirms_is_traded_back_and_journaled(
    tmp_path: Path,
) -> None:
    rig = await Rig(tmp_path, spot=[], hedge_ratio="0.5").start()
    await rig.settle()
    short = rig.position()
    rig.ex.place(  # someone covers half the short by hand
        OrderRequest(rig.leg.perp.symbol, Side.BUY, -short / 2, True, None, "by-hand")
    )
    rig.engine.feed.apply("ex", rig.ex.position(rig.leg.perp.symbol))
    await rig.engine.step()
    assert rig.position() <= short * Decimal("0.999")  # back at h·X (fees moved X a little)
    moved = [e for e in events(tmp_path) if e[0] == "position_unexplained"]
    assert len(moved) == 1 and "trades back to the target" in moved[0][1]


def events(tmp_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp_path / "journal.sqlite") as db:
        rows = db.execute("SELECT kind, detail FROM events ORDER BY id").fetchall()
    return [(str(k), str(d)) for k, d in rows]
