"""The REST read: a collateral's equity is paired with the mark it was computed at, or no order."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from hedgekeeper.reconcile import exposure, plan
from tests.fakes import MovingMark, Rig

D = Decimal


def equity_at_the_snapshot_mark(rig: Rig, coin: str) -> Decimal:
    """What the exchange says the collateral's equity is at the snapshot's own mark."""
    assert rig.engine.feed is not None
    snap = rig.engine.feed.snapshot(rig.ex.now())
    rig.ex.set_price(snap.prices.mark)
    return Decimal(rig.ex.equity(coin))


async def test_a_price_move_between_the_price_and_wallet_reads_places_no_order(
    tmp_path: Path,
) -> None:
    """h = 1 inverse, on target: the mark jumps 10 % between the answers of one REST read."""
    rig = await Rig(tmp_path, venue=MovingMark, spot=[]).start()
    await rig.settle()
    orders = len(rig.ex.orders)
    rig.venue.moves, rig.venue.reads = [D(71500)], []
    assert await rig.step() is None
    assert len(rig.ex.orders) == orders  # a price move alone: no order (SPEC §1)
    # The first round's closing mark (71,500) disagreed with the feed's (65,000): one more.
    assert sorted(rig.venue.reads) == ["collateral"] * 2 + ["position"] + ["prices"] * 2
    feed = rig.engine.feed
    assert feed is not None
    snap = feed.snapshot(rig.ex.now())
    assert snap.prices.mark == D(71500)
    assert exposure(snap, rig.leg) == rig.ex.equity("BTC")  # the equity at 71,500, paired
    assert abs(plan(snap, rig.leg).drift) <= 1
    assert rig.engine.status()["state"] == "live"


async def test_a_mark_that_moves_during_every_read_holds_degraded_until_one_pairs(
    tmp_path: Path,
) -> None:
    rig = await Rig(tmp_path, venue=MovingMark, spot=[]).start()
    await rig.settle()
    orders = len(rig.ex.orders)
    rig.venue.moves = [D(71500), D(60000), D(52000)]  # a move during each of the three rounds
    assert await rig.step() is None
    assert len(rig.ex.orders) == orders
    status = rig.engine.status()
    assert status["state"] == "degraded" and "mark moved" in status["reason"]
    assert rig.trips("stale_data") == 1
    assert await rig.step() is None  # a quiet read pairs it: live again, still no order
    assert len(rig.ex.orders) == orders and rig.engine.status()["state"] == "live"


async def test_a_linear_collateral_is_paired_with_its_mark_too(tmp_path: Path) -> None:
    """Linear X is the coin alone, but the margin and liquidation guards read the USDT equity,
    which moves with the short's PnL: it must be the equity at the snapshot's mark."""
    linear = {"venue": "ex", "symbol": "BTC/USDT:USDT"}
    rig = await Rig(tmp_path, venue=MovingMark, spot=[{"amount": "2"}], perp=linear).start()
    await rig.settle()
    assert rig.position() < 0
    rig.venue.moves = [D(71500)]
    assert await rig.step() is None
    assert rig.engine.feed is not None and rig.engine.feed.collateral is not None
    seen = rig.engine.feed.snapshot(rig.ex.now()).collateral.equity
    assert seen == equity_at_the_snapshot_mark(rig, "USDT")


async def test_a_quiet_read_costs_one_read_of_each_input(tmp_path: Path) -> None:
    """The feed's mark opens the bracket, so an unmoved price needs no extra request."""
    rig = await Rig(tmp_path, venue=MovingMark, spot=[]).start()
    await rig.settle()
    rig.venue.reads = []
    await rig.engine.refresh()
    assert sorted(rig.venue.reads) == ["collateral", "position", "prices"]
    assert rig.engine.feed is not None and rig.engine.feed.unpaired is None
