"""The real daemon loop on the sim venue over simulated days, checked through its journal."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from hedgekeeper import config, contracts
from hedgekeeper.config import Settings
from hedgekeeper.reconcile import band, plan
from hedgekeeper.supervisor import Daemon
from hedgekeeper.venues.sim import SimVenue
from tests.fakes import sim_leg

D = Decimal


def sim_settings(tmp_path: Path, **leg: Any) -> Settings:
    return Settings.model_validate(
        {
            "journal": str(tmp_path / "journal.sqlite"),
            "ops": {"enabled": False},
            "venues": {
                "sim": {
                    "exchange": "sim",
                    "rest_interval": 0.05,
                    "sim": {
                        "seed": 3,
                        "steps": 96,  # four simulated days of hours
                        "speed": 3600 * 400,
                        "spot": {"BTC": "0"},
                        "derivatives": {"BTC": "2", "USDT": "50000"},
                        "events": [
                            {"at_hours": 20, "asset": "BTC", "amount": "0.5"},
                            {"at_hours": 50, "asset": "BTC", "amount": "0.3"},
                            {
                                "at_hours": 75,
                                "asset": "BTC",
                                "amount": "-0.6",
                                "wallet": "derivatives",
                            },
                        ],
                    },
                }
            },
            "legs": [
                sim_leg(
                    max_order="100000", guards={"auto_transfer": True, "orders_per_minute": 1000}
                )
                | leg
            ],
        }
    )


async def run_to_the_end(daemon: Daemon) -> SimVenue:
    task = asyncio.create_task(daemon.run())
    while not daemon.engines or daemon.engines[0].feed is None:
        await asyncio.sleep(0)  # yield until the daemon has built its legs
    venue = daemon.venues["sim"]
    assert isinstance(venue, SimVenue)
    await venue.wait_for(lambda: venue.exchange.finished)
    for engine in daemon.engines:
        engine.settled.clear()
        assert engine.feed is not None
        engine.feed.changed.set()  # one more look at the final state
        await asyncio.wait_for(engine.settled.wait(), 10)
    daemon.stop.set()
    assert await asyncio.wait_for(task, 10) == 0
    return venue


async def test_daemon_hedges_over_simulated_days_and_journals_every_order(tmp_path: Path) -> None:
    settings = sim_settings(tmp_path)
    daemon = Daemon(settings)
    venue = await run_to_the_end(daemon)
    ex = venue.exchange

    db = sqlite3.connect(settings.journal)
    intents = dict(db.execute("SELECT client_id, id FROM intents").fetchall())
    # Every order the exchange saw carries a client id the journal wrote first.
    sent = {report.client_id for report in ex.orders}
    assert sent and sent <= set(intents)
    orders = db.execute("SELECT intent_id FROM orders").fetchall()
    assert {row[0] for row in orders} <= set(intents.values())
    # Fills in the journal add up to the position at the exchange.
    fills = sum((D(r[0]) for r in db.execute("SELECT contracts FROM fills")), D(0))
    position = ex.position("BTC/USD:BTC").contracts
    assert fills == position < 0
    # A deposit grew the short and the withdrawal shrank it, with reduce-only buys.
    sides = [r[0] for r in db.execute("SELECT side FROM intents ORDER BY id")]
    assert "buy" in sides and sides.count("sell") >= 3
    buys = db.execute("SELECT reduce_only FROM intents WHERE side='buy'").fetchall()
    assert all(r[0] == 1 for r in buys)
    # The deposits reached the derivatives wallet through journaled transfers.
    assert db.execute("SELECT COUNT(*) FROM transfers WHERE state='done'").fetchone()[0] >= 2
    # The end state is on the reconciler's target (within its deadband).
    engine = daemon.engines[0]
    assert engine.feed is not None
    snap = engine.feed.snapshot(ex.now())
    p = plan(snap, settings.legs[0])
    assert abs(p.drift) < band(p.target, p.mark, settings.legs[0], snap.market) + 100
    db.close()


async def test_h1_inverse_places_no_order_from_price_moves_alone(tmp_path: Path) -> None:
    settings = sim_settings(tmp_path)
    sim = settings.venues["sim"].sim
    assert sim is not None
    quiet = sim.model_copy(update={"events": (), "funding_rate": D(0), "volatility": D("0.02")})
    venue_cfg = settings.venues["sim"].model_copy(update={"sim": quiet})
    settings = settings.model_copy(update={"venues": {"sim": venue_cfg}})
    daemon = Daemon(settings)
    venue = await run_to_the_end(daemon)
    ex = venue.exchange
    # The opening hedge (split at max_order, the last piece trimmed to the margin) is placed in
    # the first simulated hours; 90 more hours of 2 % moves trade nothing at all.
    assert 1 <= len(ex.orders) <= 3
    assert all(fill.ts <= ex.start + 6 * 3600 for fill in ex.fills)
    assert ex.now() >= ex.start + 95 * 3600


async def test_the_two_asset_example_hedges_each_coin_at_its_own_price_and_ratio(
    tmp_path: Path,
) -> None:
    """config/two-assets.toml: 2 BTC at h = 1 and 10 ETH at h = 0.5, each on its own path."""
    example = config.load(Path(__file__).parents[1] / "config" / "two-assets.toml")
    sim = example.venues["sim"].sim
    assert sim is not None
    fast = sim.model_copy(update={"steps": 48, "speed": 3600 * 400})
    settings = example.model_copy(
        update={
            "journal": tmp_path / "journal.sqlite",
            "ops": example.ops.model_copy(update={"enabled": False}),
            "venues": {"sim": example.venues["sim"].model_copy(update={"sim": fast})},
        }
    )
    daemon = Daemon(settings)
    ex = (await run_to_the_end(daemon)).exchange
    btc, eth = ex.prices("BTC/USD:BTC").mark, ex.prices("ETH/USD:ETH").mark
    assert 30000 < btc < 130000 and 1500 < eth < 7000  # each coin at its own price
    for engine, ratio in zip(daemon.engines, ("1", "0.5"), strict=True):
        assert engine.feed is not None and engine.leg.hedge_ratio == D(ratio)
        snap = engine.feed.snapshot(ex.now())
        p = plan(snap, engine.leg)
        assert p.mark == (btc if engine.leg.asset == "BTC" else eth)
        assert p.position < 0
        assert abs(p.drift) < band(p.target, p.mark, engine.leg, snap.market) + 100
        hedged = -p.position * contracts.coin_per_contract(snap.market, p.mark)
        assert abs(hedged / p.exposure - D(ratio)) < D("0.02")  # the short covers h of the coin
