"""Every guard tripped end to end: the real engine on the sim venue, checked at the exchange,
in the journal, in `status` and in the metrics."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from hedgekeeper.domain import Prices
from hedgekeeper.venues.base import OrderRejected
from tests.fakes import FaultyVenue, ReadCounting, Rig

D = Decimal


async def test_the_opening_hedge_reaches_target_within_margin(tmp_path: Path) -> None:
    rig = await Rig(tmp_path, spot=[]).start()
    await rig.settle()
    # 2 BTC at 65,000 is 130,000 contracts; the margin guard trims the opening order to what
    # 1x affords, and the fees (which lower X, the collateral being counted) close the gap.
    assert D(-130000) < rig.position() <= D(-129900)
    status = rig.engine.status()
    assert status["state"] == "live" and status["drift"] == "0" and rig.trips("margin") >= 1


async def test_kill_switch_stops_all_orders_and_says_so(tmp_path: Path) -> None:
    rig = await Rig(tmp_path, spot=[]).start()
    rig.kill = True
    assert await rig.step() is None
    assert rig.ex.orders == ()
    assert rig.engine.status()["state"] == "killed"
    assert "kill switch" in rig.engine.status()["reason"] and rig.trips("kill_switch") == 1
    rig.kill = False
    await rig.settle()
    assert rig.position() < 0


async def test_circuit_breaker_halts_the_leg_after_repeated_failures(tmp_path: Path) -> None:
    rig = Rig(tmp_path, venue=FaultyVenue, spot=[], guards={"breaker_failures": 3})
    await rig.start()
    faulty = rig.venue
    faulty.place_faults.extend([(OrderRejected("10001 params error", "10001"), False)] * 10)
    for _ in range(6):
        await rig.step()
    assert len(faulty.placed) == 3  # three tries, then the breaker holds the leg
    status = rig.engine.status()
    assert status["state"] == "halted" and "3 failures in a row" in status["halted"]
    assert rig.trips("circuit_breaker") == 1
    assert rig.journal.count("orders") == 3


class FrozenPrices(FaultyVenue):
    """A venue whose price feed stopped: REST and stream both return an old timestamp."""

    async def prices(self, symbol: str) -> Prices:
        prices = await self.inner.prices(symbol)
        return replace(prices, ts=prices.ts - 3600)


async def test_stale_data_holds_as_degraded_after_a_failed_rest_check(tmp_path: Path) -> None:
    rig = Rig(tmp_path, venue=FrozenPrices, spot=[])
    await rig.start()
    assert await rig.step() is None
    assert rig.ex.orders == ()
    status = rig.engine.status()
    assert status["state"] == "degraded" and "price is 3600s old" in status["reason"]
    assert rig.engine.healthy()[0] is False and rig.trips("stale_data") == 1


async def test_a_zero_balance_glitch_is_checked_by_rest_and_ignored(tmp_path: Path) -> None:
    rig = await Rig(tmp_path, spot=[]).start()
    await rig.settle()
    orders = len(rig.ex.orders)
    # The stream reports the collateral at 0 once (X would vanish: cover everything); REST
    # still says 2 BTC.
    feed = rig.engine.feed
    assert feed is not None and feed.collateral is not None
    feed.apply("ex", replace(feed.collateral, equity=D(0), free=D(0), wallet=D(0)))
    assert await rig.engine.step() is None
    assert len(rig.ex.orders) == orders  # no order on the glitch
    assert rig.trips("glitch") == 1 and "ignored a glitch" in rig.engine.status()["reason"]
    assert await rig.engine.step() is None and len(rig.ex.orders) == orders


async def test_the_glitch_confirmation_reads_only_the_price_and_the_wallets(
    tmp_path: Path,
) -> None:
    """The order behind a confirmed jump waits for as few reads as can vouch for X (item 9)."""
    rig = await Rig(tmp_path, venue=ReadCounting, spot=[]).start()
    await rig.settle()
    feed, venue = rig.engine.feed, rig.venue
    assert feed is not None and feed.collateral is not None
    venue.reads = []
    feed.apply("ex", replace(feed.collateral, equity=D(0), free=D(0), wallet=D(0)))
    assert await rig.engine.step() is None
    # The price after the wallet, to pair the equity with its mark (the feed's mark opens).
    assert venue.reads == ["collateral", "prices"] and rig.trips("glitch") == 1


async def test_a_real_jump_is_confirmed_and_acted_on(tmp_path: Path) -> None:
    rig = await Rig(tmp_path, guards={"auto_transfer": True, "orders_per_minute": 1000}).start()
    await rig.settle()
    before = rig.position()
    rig.ex.deposit("BTC", D(2), "spot")  # +100 % of X: confirmed by REST, then hedged
    await rig.settle()
    assert rig.position() < before - D(120000)
    assert rig.trips("glitch") >= 1


async def test_rate_limit_holds_orders_beyond_n_per_minute(tmp_path: Path) -> None:
    rig = await Rig(tmp_path, spot=[], max_order="20000", guards={"orders_per_minute": 2}).start()
    for _ in range(5):
        await rig.step()
    assert len(rig.ex.orders) == 2  # simulated time does not advance between these steps
    assert rig.trips("rate") >= 1 and "orders in the last minute" in rig.engine.status()["reason"]


async def test_absolute_cap_is_never_exceeded(tmp_path: Path) -> None:
    rig = await Rig(tmp_path, spot=[], guards={"max_contracts": "50000"}).start()
    await rig.settle()
    assert rig.position() == D(-50000)
    assert rig.trips("over_hedge") >= 1


async def test_liquidation_guard_refuses_increases_on_a_thin_linear_account(
    tmp_path: Path,
) -> None:
    rig = Rig(
        tmp_path,
        spot=[{"amount": "3"}],
        perp={"venue": "ex", "symbol": "BTC/USDT:USDT"},
        guards={"min_liquidation_distance": "0.3", "orders_per_minute": 1000},
    )
    await rig.start()
    rig.ex.withdraw("USDT", D(100000), "derivatives")
    rig.ex.deposit("USDT", D(80000), "derivatives")  # 80k USDT for a 195k USDT hedge
    await rig.settle()
    held = rig.position()
    assert held < 0
    rig.ex.set_price(D(110000))  # a rally eats the collateral of the short
    await rig.settle()
    assert rig.position() == held  # no increase while liquidation is close
    assert rig.trips("liquidation") >= 1


async def test_wrong_leverage_refuses_increases_and_says_what_to_change(tmp_path: Path) -> None:
    from hedgekeeper.venues.paper import PaperVenue

    rig = Rig(tmp_path, venue=PaperVenue, spot=[])  # a dry run does not touch the leverage
    rig.ex.set_leverage("BTC/USD:BTC", D(3))
    await rig.start()
    assert await rig.step() is None
    assert isinstance(rig.venue, PaperVenue) and rig.venue.orders == {}
    status = rig.engine.status()
    assert status["state"] == "guarded" and "3x, not 1x" in status["reason"]
    assert rig.trips("leverage") == 1


class LaggingPosition(FaultyVenue):
    """A venue whose position reports lag the fills by a few reads, as a slow exchange's do."""

    lag = 0

    async def place(self, request: object) -> object:
        report = await super().place(request)
        self.lag = 3
        return report

    async def position(self, symbol: str) -> object:
        current = await self.inner.position(symbol)
        if self.lag:
            self.lag -= 1
            return replace(current, contracts=D(0))
        return current


async def test_no_new_decision_until_the_position_reflects_the_fill(tmp_path: Path) -> None:
    rig = Rig(tmp_path, venue=LaggingPosition, spot=[], max_order="200000")
    await rig.start()
    first = await rig.step()
    assert first is not None and first.filled < 0
    for _ in range(2):  # the position still reads 0: a naive loop would sell again
        assert await rig.step() is None
    assert len(rig.ex.orders) == 1 and rig.trips("in_flight") == 0
    assert "waiting for the last order" in rig.engine.status()["reason"]
    for _ in range(12):  # every later fill lags the same way; each is waited for
        await rig.step()
    status = rig.engine.status()  # on target once the position caught up
    assert status["state"] == "live" and status["drift"] == "0"
    assert D(-130000) < rig.position() < D(-129900)
    assert len(rig.ex.orders) <= 3  # the opening order and its margin-trimmed remainders


async def test_health_is_live_and_fresh_and_a_guarded_leg_stays_healthy(tmp_path: Path) -> None:
    rig = await Rig(tmp_path, spot=[]).start()
    assert rig.engine.healthy() == (False, "btc: starting: starting")
    await rig.settle()
    assert rig.engine.healthy() == (True, "ok")
    rig.kill = True
    rig.ex.deposit("BTC", D(1), "derivatives")
    await rig.step()
    assert rig.engine.status()["guard"] == "kill_switch"
    assert rig.engine.healthy() == (True, "ok")  # held on purpose, on fresh data
    rig.ex.step()  # an hour passes; the feed is not refreshed
    ok, why = rig.engine.healthy()
    assert not ok and "stale data: price 3600s old" in why


async def test_a_wrong_mark_is_not_traded_on(tmp_path: Path) -> None:
    rig = await Rig(tmp_path, spot=[], hedge_ratio="0.5").start()
    await rig.settle()
    orders = len(rig.ex.orders)
    feed = rig.engine.feed
    assert feed is not None and feed.prices is not None
    # The stream reports a mark 40 % under the index: at h = 0.5 that would move the target.
    feed.apply("ex", replace(feed.prices, mark=D(39000)))
    assert await rig.engine.step() is None
    assert len(rig.ex.orders) == orders and rig.trips("price") == 1
    assert rig.engine.status()["state"] == "degraded"


async def test_no_new_order_once_the_daemon_is_stopping(tmp_path: Path) -> None:
    rig = await Rig(tmp_path, spot=[]).start()
    rig.engine.stop.set()  # SIGTERM arrived while this decision was being made
    assert await rig.step() is None
    assert rig.ex.orders == () and "stopping" in rig.engine.status()["reason"]
