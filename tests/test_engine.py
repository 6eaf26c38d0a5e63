"""The leg engine's own bookkeeping: what it journals of its decisions, and as what."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from hedgekeeper.domain import Prices
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
