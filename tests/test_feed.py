"""The feed: readings placed by source, and collateral carried to the current mark."""

from __future__ import annotations

from decimal import Decimal

from hedgekeeper.domain import Collateral, Position, Prices, Stamped
from hedgekeeper.feed import Feed
from hedgekeeper.reconcile import plan
from hedgekeeper.venues.base import SpotReading
from tests.fakes import NOW, inverse_market, leg, linear_market

D = Decimal


def fed(market: object = None, **leg_overrides: object) -> Feed:
    feed = Feed(leg(**leg_overrides), market or inverse_market())  # type: ignore[arg-type]
    feed.apply("ex", Prices(D(60000), NOW))
    feed.apply("ex", SpotReading("BTC", Stamped(D(0), NOW)))
    return feed


def test_missing_inputs_are_named_and_readings_from_elsewhere_dropped() -> None:
    feed = Feed(leg(spot=[{"venue": "ex"}, {"venue": "cold"}]), inverse_market())
    assert feed.missing() == [
        "price",
        "position",
        "collateral",
        "spot balance at ex",
        "spot balance at cold",
    ]
    feed.apply("other", Prices(D(1), NOW))  # not the perp's venue
    feed.apply("ex", Position("ETH/USD:ETH", D(-5), NOW))  # not the leg's symbol
    feed.apply("ex", SpotReading("ETH", Stamped(D(9), NOW)))  # not the leg's asset
    assert feed.prices is None and feed.position is None and "spot balance at ex" in feed.missing()


def test_inverse_equity_is_carried_to_the_mark_so_a_price_move_alone_does_not_trade() -> None:
    feed = fed()
    # 2 BTC hedged at 60,000: short 120,000 contracts; the wallet push came at 60,000.
    feed.apply("ex", Position("BTC/USD:BTC", D(-120000), NOW))
    feed.apply("ex", Collateral(D(2), D(2), D("0.01"), NOW))
    feed.apply("ex", Prices(D(50000), NOW + 1))  # only the ticker moves
    snap = feed.snapshot(NOW + 1)
    # The short gained 120000·(1/50000 - 1/60000) = 0.4 BTC.
    assert snap.collateral.equity == D("2.4")
    assert plan(snap, leg(spot=[])).drift == 0


def test_linear_equity_is_carried_in_the_quote_coin() -> None:
    market = linear_market("0.001")
    feed = fed(market, perp={"venue": "ex", "symbol": "BTC/USDT:USDT"})
    feed.apply("ex", Position("BTC/USDT:USDT", D(-1000), NOW))
    feed.apply("ex", Collateral(D(70000), D(70000), D(10000), NOW))
    feed.apply("ex", Prices(D(61000), NOW + 1))
    snap = feed.snapshot(NOW + 1)
    assert snap.collateral.equity == D(69000)  # 1 BTC short lost 1,000 USDT
    assert snap.collateral.free == D(9000)


def test_a_fresh_wallet_reading_replaces_the_carried_one() -> None:
    feed = fed()
    feed.apply("ex", Position("BTC/USD:BTC", D(-120000), NOW))
    feed.apply("ex", Collateral(D(2), D(2), D(0), NOW))
    feed.apply("ex", Prices(D(50000), NOW + 1))
    feed.apply("ex", Collateral(D(2), D("2.39"), D(0), NOW + 1))  # read at 50,000: exact
    assert feed.snapshot(NOW + 1).collateral.equity == D("2.39")


def test_a_reading_that_names_its_mark_is_carried_from_that_mark() -> None:
    feed = fed()  # the feed holds 60,000; the wallet was read (and paired) at 50,000
    feed.apply("ex", Position("BTC/USD:BTC", D(-120000), NOW))
    feed.apply("ex", Collateral(D(2), D("2.4"), D(0), NOW, mark=D(50000)))
    # Carried back to 60,000: the 0.4 BTC the short made from 60,000 to 50,000 is undone.
    assert feed.snapshot(NOW).collateral.equity == D(2)


def test_an_unpaired_reading_is_said_so_until_the_next_one() -> None:
    feed = fed()
    feed.apply("ex", Position("BTC/USD:BTC", D(-120000), NOW))
    feed.apply("ex", Collateral(D(2), D(2), D(0), NOW))
    feed.unpaired = "the mark moved"
    assert feed.snapshot(NOW).unpaired == "the mark moved"
    feed.apply("ex", Collateral(D(2), D(2), D(0), NOW + 1))  # a push, paired with the feed's mark
    assert feed.snapshot(NOW + 1).unpaired is None
