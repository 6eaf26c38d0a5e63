"""The replay, pinned by inverse arithmetic done by hand on histories of a few hours.

Each case uses 10-USD contracts, 1 BTC in the derivatives wallet, market orders and no deadband
unless it says otherwise, so every order and every satoshi can be worked out on paper.
"""

from __future__ import annotations

import random
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekeeper.config import PerpRef, Settings, SimMarket
from hedgekeeper.pricepath import PricePathError
from hedgekeeper.simulate import Replay, SimulateError, prepare, run
from tests.fakes import sim_leg

D = Decimal
SAT = D("0.00000001")
CENT = D("0.01")


def prices_csv(tmp_path: Path, rows: list[tuple[str, ...]], name: str = "p.csv") -> Path:
    """A plain-format history: one row an hour from 2024-01-01 00:00 UTC (epoch seconds)."""
    path = tmp_path / name
    header = "timestamp,price,funding_rate" if len(rows[0]) == 2 else "timestamp,price"
    lines = [header]
    for i, row in enumerate(rows):
        lines.append(f"{1_704_067_200 + i * 3600}," + ",".join(row))
    path.write_text("\n".join(lines) + "\n")
    return path


def settings(events: list[dict[str, Any]] | None = None, fee: str = "0", **leg: Any) -> Settings:
    return Settings.model_validate(
        {
            "ops": {"enabled": False},
            "venues": {
                "sim": {
                    "exchange": "sim",
                    "sim": {
                        "spot": {"BTC": "0"},
                        "derivatives": {"BTC": "1"},
                        "taker_fee": fee,
                        "markets": [
                            {"symbol": "BTC/USD:BTC", "kind": "inverse", "contract_size": "10"}
                        ],
                        "events": events or [],
                    },
                }
            },
            "legs": [
                sim_leg(
                    order_type="market",
                    deadband={"percent": "0"},
                    guards={"auto_transfer": True},
                )
                | leg
            ],
        }
    )


def replay(tmp_path: Path, rows: list[tuple[str, ...]], cfg: Settings, **kw: Any) -> Replay:
    return run(prepare(cfg, prices_csv(tmp_path, rows), **kw), tmp_path / "out")


def sat(value: Decimal) -> Decimal:
    return value.quantize(SAT)


def test_a_drop_then_a_rally_at_h1_leave_the_quote_value_where_it_was(tmp_path: Path) -> None:
    r = replay(tmp_path, [("50000",), ("40000",), ("60000",)], settings())
    h0, h1, h2 = r.hours
    # Hour 0: X = 1 BTC -> q* = -(1 × 50000)/10 = -5000 contracts, affordable exactly at 1x.
    assert r.orders == r.fills == 1
    assert h0.hedged_coin == 1 and h0.hedged == h0.unhedged == 50000
    # Hour 1: PnL = -5000·10·(1/50000 - 1/40000) = +0.25 BTC, so X = 1.25 and
    # q* = -(1.25 × 40000)/10 = -5000: a price move alone trades nothing.
    assert h1.exposure == D("1.25") and h1.hedged == 50000 and h1.unhedged == 40000
    # Hour 2: PnL = -50000·(1/50000 - 1/60000) = -0.16666667 BTC; X = 0.83333333 BTC.
    assert sat(h2.exposure) == D("0.83333333")
    assert h2.hedged.quantize(CENT) == 50000 and h2.unhedged == 60000
    assert sat(h2.residual) == 0 and r.liquidations == 0
    assert h2.funding_coin == h2.fees_coin == 0


def test_h_half_through_a_drop_loses_half_and_covers_with_a_reduce_only_buy(
    tmp_path: Path,
) -> None:
    r = replay(tmp_path, [("50000",), ("40000",)], settings(hedge_ratio="0.5"))
    h0, h1 = r.hours
    # Hour 0: q* = -(0.5 × 1 × 50000)/10 = -2500.
    assert h0.short_quote == 25000
    # Hour 1: PnL +0.125 -> X = 1.125 BTC, q* = -(0.5 × 1.125 × 40000)/10 = -2250: buy 250.
    # Its realised PnL 250·10·(1/40000 - 1/50000) = 0.0125 BTC leaves the equity at 1.125.
    assert h1.exposure == D("1.125") and h1.short_quote == 22500
    # -20 %: unhedged 50000 -> 40000, hedged 50000 -> 45000 (SPEC: half the loss).
    assert h1.unhedged == 40000 and h1.hedged == 45000
    assert r.orders == 2
    db = sqlite3.connect(tmp_path / "out" / "journal.sqlite")
    sides = db.execute("SELECT side, contracts, reduce_only FROM intents ORDER BY id").fetchall()
    assert sides == [("sell", "2500", 0), ("buy", "250", 1)]


def test_a_funding_payment_is_income_in_coin_and_is_hedged_in_turn(tmp_path: Path) -> None:
    rows = [("50000", ""), ("50000", "0.001"), ("50000", "-0.0004")]
    r = replay(tmp_path, rows, settings())
    _, h1, h2 = r.hours
    # Hour 1: longs pay shorts 0.1 % of 5000·10/50000 = 1 BTC notional: +0.001 BTC = 50 USD.
    # X = 1.001 -> q* = -5005: sell 5 contracts, paid for exactly by the 0.001 BTC received.
    assert h1.funding_coin == D("0.001") and h1.funding_quote == 50
    assert h1.hedged == D("50050") and h1.short_quote == 50050
    # Hour 2: shorts pay 0.04 % of 5005·10/50000 = 1.001 BTC: -0.0004004 BTC.
    assert h2.funding_coin == D("0.0005996")
    assert h2.hedged == 50000 + D("0.0005996") * 50000
    assert (r.funding_in_coin, r.funding_out_coin) == (D("0.001"), D("0.0004004"))
    # Hour 2's X = 1.0005996 -> q* = -5002.998 -> -5003: buy 2 back, reduce-only.
    assert r.orders == 3 and h2.short_quote == 50030
    # The engine journaled what the exchange paid, to the satoshi.
    assert r.journal_funding == h2.funding_coin


def test_a_deposit_grows_the_short_and_counts_as_a_flow_not_as_a_gain(tmp_path: Path) -> None:
    deposit = [{"at_hours": 1, "asset": "BTC", "amount": "0.5", "wallet": "derivatives"}]
    r = replay(tmp_path, [("50000",), ("40000",), ("40000",)], settings(deposit))
    h1 = r.hours[1]
    # Hour 1: E = 1 + 0.25 PnL + 0.5 deposit = 1.75 (a 75 % jump: the glitch guard confirms it
    # with a fresh read first); q* = -(1.75 × 40000)/10 = -7000: sell 2000, whose 0.5 BTC of
    # margin is exactly what was deposited.
    assert h1.exposure == D("1.75") and h1.short_quote == 70000
    assert h1.flows_quote == 20000 and h1.holding == D("1.5")
    assert h1.hedged == 70000 == r.start_value + h1.flows_quote
    assert h1.unhedged == 60000
    assert r.orders == 2 and r.guard_trips.get("glitch") == 1


def test_a_spot_deposit_is_moved_to_the_derivatives_wallet_then_hedged(tmp_path: Path) -> None:
    deposit = [{"at_hours": 1, "asset": "BTC", "amount": "0.2"}]
    r = replay(tmp_path, [("50000",), ("50000",)], settings(deposit))
    # X = 1.2 -> q* = -6000; the 0.2 BTC of margin arrives by an internal transfer first.
    assert r.hours[1].short_quote == 60000 and r.hours[1].hedged == 60000
    db = sqlite3.connect(tmp_path / "out" / "journal.sqlite")
    assert db.execute("SELECT COUNT(*) FROM transfers WHERE state='done'").fetchone()[0] == 1


def walk(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    price, rows = 30000.0, []
    for i in range(n):
        price *= 1 + rng.gauss(0, 0.03)
        rate = f"{rng.gauss(0.0001, 0.0003):.6f}" if i % 8 == 0 else ""
        rows.append((f"{price:.1f}", rate))
    return rows


def test_h1_value_is_flat_apart_from_funding_fees_and_the_unhedged_remainder(
    tmp_path: Path,
) -> None:
    """The embedded default (10-USD contracts, fees, limit orders, a 0.5 % deadband), h = 1:
    the hedged value moves only by funding, fees, and the price move on the coin the hedge
    misses its target by (the last contract's rounding and the deadband). Exactly."""
    path = prices_csv(tmp_path, walk(96, seed=5), "walk.csv")
    r = run(prepare(None, path, start_coin=D(2)), None)
    start, before = r.start_value, r.hours[0]
    unhedged_pnl = D(0)
    for hour in r.hours[1:]:
        unhedged_pnl += before.residual * (hour.price - before.price)
        expected = start + hour.funding_quote - hour.fees_quote + unhedged_pnl
        assert abs(hour.hedged - expected) < D("1e-18")
        assert abs(hour.residual) <= D("0.006") * hour.exposure  # deadband + one contract
        before = hour
    assert r.fills >= 1 and r.hours[-1].fees_coin > 0 and r.hours[-1].funding_coin != 0


def test_the_default_setup_is_the_embedded_inverse_leg_on_10_usd_contracts(
    tmp_path: Path,
) -> None:
    setup = prepare(None, prices_csv(tmp_path, [("50000",)]), D("0.5"), D(1))
    (market,) = setup.sim.markets
    assert (market.symbol, market.contract_size) == ("BTC/USD:BTC", 10)
    assert setup.sim.derivatives == {"BTC": 1} and setup.sim.events == ()
    assert [leg.hedge_ratio for leg in setup.legs] == [D("0.5")]


def test_h0_places_no_order(tmp_path: Path) -> None:
    r = replay(tmp_path, [("50000",), ("30000",)], settings(hedge_ratio="0"))
    assert r.orders == 0 and r.hours[-1].hedged == r.hours[-1].unhedged == 30000


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,price\n2024-01-01T00:00:00Z,50000\n2024-01-01T01:00:00Z,abc\n")
    with pytest.raises(PricePathError, match=r"line 3, column 'price'"):
        prepare(None, bad)
    with pytest.raises(SimulateError, match="--ratio"):
        prepare(None, bad, ratio=D("1.5"))
    cfg = settings()
    linear = cfg.model_copy(
        update={
            "venues": {**cfg.venues, "x": cfg.venues["sim"].model_copy(update={"exchange": "x"})}
        }
    )
    perp = linear.legs[0].perp.model_copy(update={"venue": "x"})
    leg = linear.legs[0].model_copy(update={"perp": perp})
    with pytest.raises(SimulateError, match="one venue"):
        prepare(linear.model_copy(update={"legs": (leg,)}), prices_csv(tmp_path, [("1",)]))


def test_two_coins_on_their_own_paths_at_their_own_ratios(tmp_path: Path) -> None:
    """1 BTC at h = 1 and 10 ETH at h = 0.5, BTC 50,000 -> 40,000, ETH 2,000 -> 1,000."""
    eth = prices_csv(tmp_path, [("2000",), ("1000",)], "eth.csv")
    cfg = settings()
    sim = cfg.venues["sim"].sim
    assert sim is not None
    eth_market = {"symbol": "ETH/USD:ETH", "kind": "inverse", "contract_size": "10", "prices": eth}
    two = sim.model_copy(
        update={
            "derivatives": {"BTC": D(1), "ETH": D(10)},
            "markets": (*sim.markets, SimMarket.model_validate(eth_market)),
        }
    )
    eth_leg = cfg.legs[0].model_copy(
        update={
            "name": "eth",
            "asset": "ETH",
            "hedge_ratio": D("0.5"),
            "perp": PerpRef(venue="sim", symbol="ETH/USD:ETH"),
        }
    )
    venue = cfg.venues["sim"].model_copy(update={"sim": two})
    cfg = cfg.model_copy(update={"venues": {"sim": venue}, "legs": (cfg.legs[0], eth_leg)})
    r = replay(tmp_path, [("50000",), ("40000",)], cfg)
    first, last = r.hours[0], r.hours[-1]
    assert (first.price, last.price) == (50000, 40000)  # the report's coin is the first leg's
    assert first.unhedged == 1 * 50000 + 10 * 2000 and last.unhedged == 40000 + 10 * 1000
    # BTC fully hedged keeps its 50,000 USD; the ETH short of 10,000 USD gains 5 ETH, and 15 ETH
    # at 1,000 is 15,000 USD: half the ETH fall is insured.
    assert last.hedged == 50000 + 15000
    assert last.exposure == D("1.25") + D(15) * 1000 / 40000  # ETH counted in BTC by value
    db = sqlite3.connect(tmp_path / "out" / "journal.sqlite")
    fills = db.execute("SELECT leg, contracts, price FROM fills ORDER BY id").fetchall()
    db.close()
    assert fills == [
        ("btc", "-5000", "50000"),
        ("eth", "-1000", "2000"),
        ("eth", "250", "1000"),  # h < 1: the price move alone re-sizes ETH, at ETH's price
    ]


def test_only_a_kept_journal_gets_the_hourly_valuations(tmp_path: Path) -> None:
    import asyncio

    from hedgekeeper.simulate import replay as replay_into

    rows = [("50000",), ("40000",), ("60000",)]
    kept = replay(tmp_path, rows, settings())
    assert kept.journal is not None
    with sqlite3.connect(kept.journal) as db:
        assert db.execute("SELECT COUNT(*) FROM valuations").fetchone()[0] == 3
    setup = prepare(settings(), prices_csv(tmp_path, rows, "q.csv"))
    thrown = asyncio.run(replay_into(setup, tmp_path / "thrown.sqlite", valuations=False))
    with sqlite3.connect(tmp_path / "thrown.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM valuations").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] > 0
    assert [h.hedged for h in thrown.hours] == [h.hedged for h in kept.hours]  # same replay
