"""The sim's arithmetic pinned by hand-computed numbers, its rules, its clock and its async face."""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgekeeper.config import SimEvent, SimMarket
from hedgekeeper.domain import FundingEvent, OrderReport, OrderRequest, OrderState, Prices, Side
from hedgekeeper.venues.base import (
    DuplicateClientId,
    InsufficientMargin,
    OrderRejected,
    Venue,
    VenueError,
)
from hedgekeeper.venues.sim import SimExchange, SimVenue
from tests.venues.conftest import HOUR, INVERSE, LINEAR, T0, MakeExchange, hourly, sim_config

D = Decimal
_ids = itertools.count()


def req(
    side: Side,
    contracts: str | int | Decimal,
    symbol: str = INVERSE,
    *,
    reduce_only: bool = False,
    limit: str | None = None,
    client_id: str | None = None,
) -> OrderRequest:
    cid = client_id if client_id is not None else f"c{next(_ids)}"
    price = None if limit is None else D(limit)
    return OrderRequest(symbol, side, D(contracts), reduce_only, price, cid)


def sell(ex: SimExchange, contracts: str | int, symbol: str = INVERSE) -> OrderReport:
    return ex.place(req(Side.SELL, contracts, symbol))


# -- markets and arithmetic --------------------------------------------------------------------


def test_markets_come_from_config_with_the_fee_and_the_symbol_parts(make: MakeExchange) -> None:
    ex = make(taker_fee=D("0.0005"))
    inverse, linear = ex.market(INVERSE), ex.market(LINEAR)
    assert (inverse.base, inverse.quote, inverse.settle) == ("BTC", "USD", "BTC")
    assert inverse.kind == "inverse" and inverse.contract_size == 1
    assert (linear.settle, linear.contract_size, linear.kind) == ("USDT", D("0.001"), "linear")
    assert inverse.taker_fee == linear.taker_fee == D("0.0005")
    with pytest.raises(VenueError, match="unknown symbol 'ETH/USD:ETH'"):
        ex.market("ETH/USD:ETH")


def test_inverse_short_pnl_after_a_drop_and_a_rally(make: MakeExchange) -> None:
    ex = make(50000, 40000, 62500)
    sell(ex, 10000)  # 0.2 BTC of notional at 50,000
    assert ex.position(INVERSE).entry_price == 50000
    ex.step()  # -20 %: the short gains 10000 × (1/40000 − 1/50000) = 0.05 BTC
    assert ex.collateral(INVERSE).equity == D("1.05")
    ex.step()  # 62,500: the short loses 10000 × (1/50000 − 1/62500) = 0.04 BTC
    assert ex.collateral(INVERSE).equity == D("0.96")
    report = ex.place(req(Side.BUY, 10000, reduce_only=True))
    assert report.filled == 10000 and report.average_price == 62500
    assert ex.position(INVERSE).contracts == 0 and ex.position(INVERSE).entry_price is None
    assert ex.wallet("BTC") == D("0.96") and ex.fills[-1].realized == D("-0.04")


def test_inverse_entry_is_the_harmonic_mean(make: MakeExchange) -> None:
    ex = make(40000, 60000)
    sell(ex, 12000)
    ex.step()
    sell(ex, 12000)
    # 24000 contracts worth 0.3 + 0.2 BTC: entry 24000 / 0.5 = 48,000, not 50,000.
    assert ex.position(INVERSE).entry_price == 48000


@settings(max_examples=60, deadline=None)
@given(
    notional=st.integers(1, 10**6),
    price=st.integers(1000, 200000),
    moved=st.integers(500, 400000),
)
def test_inverse_hedge_keeps_the_quote_value_flat(notional: int, price: int, moved: int) -> None:
    """SPEC §1: coin collateral C = N/P shorted as N USD is worth N USD at any later price."""
    coins = D(notional) / D(price)
    ex = SimExchange(sim_config(derivatives={"BTC": coins}), hourly(price))
    sell(ex, notional)
    ex.set_price(D(moved))
    assert not ex.liquidations
    assert abs(ex.collateral(INVERSE).equity * moved - notional) < D("1e-12")


def test_linear_pnl_and_fee(make: MakeExchange) -> None:
    ex = make(50000, 45000, taker_fee=D("0.0005"))
    report = sell(ex, 1000, LINEAR)  # 1 BTC of notional: 50,000 USDT, fee 25 USDT
    assert report.fee == 25 and ex.wallet("USDT") == 99975
    ex.step()
    collateral = ex.collateral(LINEAR)
    assert collateral.equity == 99975 + 5000  # short 1 BTC from 50,000 to 45,000
    assert collateral.free == collateral.equity - 45000  # margin at 1x on the notional at mark


def test_inverse_fee_is_charged_in_the_coin(make: MakeExchange) -> None:
    ex = make(50000, taker_fee=D("0.0005"))
    report = sell(ex, 10000)
    assert report.fee == D("0.0001")  # 0.2 BTC × 0.05 %
    assert ex.wallet("BTC") == D("0.9999")
    assert ex.collateral(INVERSE).free == D("0.7999")  # 0.2 BTC of margin at 1x


@pytest.mark.parametrize(
    ("symbol", "contracts", "rate", "received", "coin"),
    [
        (INVERSE, 10000, "0.0001", "0.00002", "BTC"),  # 0.2 BTC × 0.01 %
        (INVERSE, 10000, "-0.0001", "-0.00002", "BTC"),
        (LINEAR, 1000, "0.0001", "5", "USDT"),  # 50,000 USDT × 0.01 %
        (LINEAR, 1000, "-0.0003", "-15", "USDT"),
    ],
)
def test_funding_sign_short_receives_a_positive_rate(
    make: MakeExchange, symbol: str, contracts: int, rate: str, received: str, coin: str
) -> None:
    ex = make(50000)
    sell(ex, contracts, symbol)
    before = ex.wallet(coin)
    ex.apply_funding(symbol, D(rate))
    assert ex.wallet(coin) - before == D(received)
    assert ex.funding(symbol, T0) == [ex.funding_log[-1]]
    assert ex.funding_log[-1].amount == D(received) and ex.funding_log[-1].rate == D(rate)


def test_path_funding_is_applied_at_its_point() -> None:
    path = hourly(50000, 50000, 40000, funding={2: "0.001"})
    ex = SimExchange(sim_config(funding_rate=D("0.5")), path)
    sell(ex, 10000)
    ex.step()
    assert not ex.funding_log  # a recorded path pays only what it records, never the config rate
    ex.step()
    assert ex.funding_log[0].amount == D("0.00025")  # 0.25 BTC at 40,000 × 0.1 %
    assert ex.funding(INVERSE, T0 + 2 * HOUR + 1) == []


def test_walk_pays_the_config_rate_every_interval() -> None:
    # A generator path (a walk) carries no funding, so the config's schedule applies.
    points = iter(hourly(*[50000] * 10))
    ex = SimExchange(sim_config(funding_rate=D("0.0001"), funding_interval_hours=4), points)
    sell(ex, 10000)
    for _ in range(9):
        ex.step()
    assert [f.ts for f in ex.funding_log] == [T0 + 4 * HOUR, T0 + 8 * HOUR]
    assert all(f.amount == D("0.00002") for f in ex.funding_log)


# -- order rules -------------------------------------------------------------------------------


ETH = "ETH/USD:ETH"
BTC_MARKET = SimMarket(symbol=INVERSE, kind="inverse", contract_size=D(1))


def eth_market(**own: object) -> SimMarket:
    return SimMarket.model_validate(
        {"symbol": ETH, "kind": "inverse", "contract_size": 1, "price_step": "0.05", **own}
    )


def two_coins(*markets: SimMarket, **overrides: object) -> SimExchange:
    cfg = sim_config(
        markets=(BTC_MARKET, *markets), derivatives={"BTC": D(1), "ETH": D(10)}, **overrides
    )
    return SimExchange(cfg, hourly(*[50000, 40000] + [40000] * 8))


def test_a_market_on_its_own_recorded_path_is_priced_and_funded_from_it(tmp_path: Path) -> None:
    csv = tmp_path / "eth.csv"
    csv.write_text(f"timestamp,price,funding_rate\n{T0},3500,\n{T0 + HOUR},3000,0.001\n")
    ex = two_coins(eth_market(prices=csv), funding_rate=D("0.5"))
    assert (ex.prices(INVERSE).mark, ex.prices(ETH).mark) == (50000, 3500)
    assert sell(ex, 3500, ETH).average_price == 3500  # fills at ETH's mark, not BTC's
    ex.step()
    assert (ex.prices(INVERSE).mark, ex.prices(ETH).mark) == (40000, 3000)
    # ETH's path records its funding: 3,500 USD short at 3,000, 0.1 %; BTC's schedule is 8 h.
    paid = D(3500) / D(3000) * D("0.001")
    assert ex.funding_log == [FundingEvent(ETH, paid, T0 + HOUR, D("0.001"))]
    pnl = D(-3500) * (1 / D(3500) - 1 / D(3000))  # at ETH's mark (no fee in this sim)
    assert ex.equity("ETH") == D(10) + pnl + paid
    ex.set_price(D(2000), ETH)
    assert (ex.prices(INVERSE).mark, ex.prices(ETH).mark) == (40000, 2000)


def test_a_market_walks_its_own_path_at_its_own_funding_rate() -> None:
    eth = eth_market(start_price="3500", volatility="0.01", funding_rate="0.0002")
    ex = two_coins(eth, funding_rate=D("0.0001"))
    assert ex.prices(ETH).mark == 3500
    sell(ex, 10000)
    sell(ex, 3500, ETH)
    marks = set()
    for _ in range(8):
        ex.step()
        marks.add(ex.prices(ETH).mark)
    assert len(marks) > 1 and ex.prices(INVERSE).mark == 40000  # ETH walks, BTC follows its path
    btc, eth_paid = ex.funding_log
    assert (btc.symbol, btc.rate, eth_paid.symbol, eth_paid.rate) == (
        INVERSE, D("0.0001"), ETH, D("0.0002")
    )  # fmt: skip
    assert eth_paid.amount == D(3500) / ex.prices(ETH).mark * D("0.0002")


def test_a_short_of_the_whole_equity_is_refused_at_1x(make: MakeExchange) -> None:
    ex = make(50000, taker_fee=D("0.0005"))
    with pytest.raises(InsufficientMargin):
        sell(ex, 50000)  # margin 1 BTC + fee 0.0005 BTC > 1 BTC free
    assert not ex.orders  # refused orders leave no trace
    report = sell(ex, 49975)  # 0.9995 + 0.00049975 BTC fits
    assert report.state is OrderState.FILLED and ex.position(INVERSE).contracts == -49975


def test_leverage_lowers_the_margin_needed(make: MakeExchange) -> None:
    ex = make(50000)
    assert ex.settings(INVERSE).leverage == 1
    with pytest.raises(InsufficientMargin):
        sell(ex, 60000)
    assert ex.set_leverage(INVERSE, D(2)).leverage == 2
    assert sell(ex, 60000).filled == 60000
    assert ex.position(INVERSE).leverage == 2


def test_reduce_only_is_capped_to_the_position_and_never_increases(make: MakeExchange) -> None:
    ex = make(50000)
    with pytest.raises(OrderRejected) as flat:
        ex.place(req(Side.BUY, 10, reduce_only=True))
    assert flat.value.code == "reduce_only"
    sell(ex, 100)
    with pytest.raises(OrderRejected) as more:
        ex.place(req(Side.SELL, 10, reduce_only=True, client_id="more"))
    assert more.value.code == "reduce_only"
    assert ex.order(INVERSE, "more") is None  # a rejected order never reached the book
    report = ex.place(req(Side.BUY, 150, reduce_only=True))
    assert report.state is OrderState.FILLED and report.filled == 100
    assert ex.position(INVERSE).contracts == 0


def test_duplicate_client_ids_and_lookups(make: MakeExchange) -> None:
    ex = make(50000)
    first = ex.place(req(Side.SELL, 5, client_id="x"))
    with pytest.raises(DuplicateClientId):
        ex.place(req(Side.SELL, 5, client_id="x"))
    assert ex.position(INVERSE).contracts == -5
    assert ex.order(INVERSE, "x") == first and ex.order(LINEAR, "x") is None
    assert ex.order(INVERSE, "never") is None


def test_a_limit_that_is_not_marketable_is_cancelled_unfilled(make: MakeExchange) -> None:
    ex = make(50000)
    report = ex.place(req(Side.SELL, 5, limit="50001", client_id="ioc"))
    assert report.state is OrderState.CANCELLED and report.filled == 0
    assert ex.position(INVERSE).contracts == 0 and ex.order(INVERSE, "ioc") == report
    filled = ex.place(req(Side.SELL, 5, limit="49000"))
    assert filled.average_price == 50000  # marketable: fills at the mark, better than the limit


def test_amounts_must_fit_the_step_and_minimum(make: MakeExchange) -> None:
    odd = SimMarket(
        symbol="BTC/USD:BTC",
        kind="inverse",
        contract_size=D(10),
        amount_step=D(10),
        min_amount=D(100),
    )
    ex = make(50000, markets=(odd,))
    for contracts in ("50", "105", "0"):
        with pytest.raises(OrderRejected) as err:
            sell(ex, contracts)
        assert err.value.code == "amount"
    assert sell(ex, 110).filled == 110


def test_an_order_past_flat_opens_the_other_side_at_the_mark(make: MakeExchange) -> None:
    ex = make(50000, 40000)
    sell(ex, 10000)
    ex.step()
    ex.place(req(Side.BUY, 14000))
    position = ex.position(INVERSE)
    assert position.contracts == 4000 and position.entry_price == 40000
    assert ex.fills[-1].realized == D("0.05")


# -- wallets -----------------------------------------------------------------------------------


def test_separate_wallets_and_transfers(make: MakeExchange) -> None:
    ex = make(50000, spot={"BTC": D("1.5")}, derivatives={"BTC": D("0.6")})
    assert ex.spot_balance("BTC") == D("1.5")
    assert not ex.collateral(INVERSE).unified
    ex.transfer_to_derivatives("BTC", D("0.5"))
    assert ex.spot_balance("BTC") == 1 and ex.collateral(INVERSE).wallet == D("1.1")
    with pytest.raises(VenueError, match="holds 1"):
        ex.transfer_to_derivatives("BTC", D(2))
    assert ex.transfers[-1].wallet == "spot->derivatives"


def test_a_unified_wallet_counts_the_coin_once_with_its_pnl(make: MakeExchange) -> None:
    ex = make(50000, 40000, spot={"BTC": D("1.5")}, derivatives={"BTC": D("0.5")}, unified=True)
    collateral = ex.collateral(INVERSE)
    assert collateral.unified and collateral.wallet == 2 and ex.spot_balance("BTC") == 2
    ex.transfer_to_derivatives("BTC", D(1))  # nothing to move
    assert ex.spot_balance("BTC") == 2 and not ex.transfers
    sell(ex, 10000)
    ex.step()
    assert ex.spot_balance("BTC") == ex.collateral(INVERSE).equity == D("2.05")


def test_events_land_at_their_hour_and_withdrawals_are_clamped(make: MakeExchange) -> None:
    events = (
        SimEvent(at_hours=2, asset="BTC", amount=D("0.5")),
        SimEvent(at_hours=3, asset="BTC", amount=D(-10), wallet="derivatives"),
        SimEvent(at_hours=0, asset="USDT", amount=D(5), wallet="derivatives"),
    )
    ex = make(*[50000] * 5, events=events)
    assert ex.wallet("USDT") == 100005  # hour 0 is the start
    ex.step()
    assert ex.spot_balance("BTC") == 0
    ex.step()
    assert ex.spot_balance("BTC") == D("0.5")
    ex.step()
    assert ex.wallet("BTC") == 0
    clamped = ex.transfers[-1]
    assert (clamped.amount, clamped.requested, clamped.ts) == (D(-1), D(-10), T0 + 3 * HOUR)
    assert ex.withdraw("BTC", D(2)) == D("0.5") and ex.spot_balance("BTC") == 0


def test_linear_short_with_little_collateral_is_liquidated(make: MakeExchange) -> None:
    ex = make(50000, 109000, 110000, derivatives={"USDT": D(600)}, taker_fee=D("0.0005"))
    sell(ex, 10, LINEAR)  # 0.01 BTC: 500 USDT of margin, 0.25 fee
    # Equity 599.75 − 0.01 (m − 50000) meets 0.5 % of 0.01 m at m = 1099.75 / 0.01005.
    liquidation = ex.position(LINEAR).liquidation_price
    assert liquidation is not None and abs(liquidation - D("109427.86")) < D("0.01")
    ex.step()
    assert ex.position(LINEAR).contracts == -10 and not ex.liquidations
    ex.step()
    assert ex.position(LINEAR).contracts == 0
    (closed,) = ex.liquidations
    assert (closed.side, closed.contracts, closed.price) == (Side.BUY, D(10), D(110000))
    assert closed.realized == -600 and closed.fee == D("0.55")
    # 599.75 − 600 − 0.55 leaves −0.80, which the insurance fund covers back to zero.
    assert ex.wallet("USDT") == 0 and ex.transfers[-1].amount == D("0.80")


def test_a_1x_inverse_short_has_no_liquidation_price(make: MakeExchange) -> None:
    ex = make(50000)
    sell(ex, 49000)
    assert ex.position(INVERSE).liquidation_price is None


# -- conservation ------------------------------------------------------------------------------

trades = st.lists(
    st.tuples(st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 5000), st.integers(20, 90)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=80, deadline=None)
@given(trades=trades, symbol=st.sampled_from([INVERSE, LINEAR]))
def test_closing_books_exactly_the_cash_flows_of_the_trades(
    trades: list[tuple[Side, int, int]], symbol: str
) -> None:
    """Whatever the order of adds, cuts and flips, a flat account has gained what it traded:
    inverse Σ Δq·K/p in coin, linear −Σ Δq·K·p in quote, less fees."""
    prices = [thousands * 1000 for _, _, thousands in trades]
    funds = {"BTC": D(1000), "USDT": D(10**9)}
    ex = SimExchange(sim_config(derivatives=funds, taker_fee=D("0.0004")), hourly(*prices, 50000))
    spec, coin = ex.market(symbol), ex.market(symbol).settle
    flow = D(0)
    for side, contracts, _ in trades:
        ex.place(req(side, contracts, symbol))
        delta, price = ex.fills[-1].contracts, ex.fills[-1].price
        delta = delta if side is Side.BUY else -delta
        k = spec.contract_size
        flow += delta * k / price if spec.kind == "inverse" else -delta * k * price
        ex.step()
    q = ex.position(symbol).contracts
    if q:
        ex.place(req(Side.BUY if q < 0 else Side.SELL, abs(q), symbol, reduce_only=True))
        flow += (
            -q * spec.contract_size / 50000
            if spec.kind == "inverse"
            else q * spec.contract_size * 50000
        )
    fees = sum((f.fee for f in ex.fills), D(0))
    assert abs(ex.wallet(coin) - funds[coin] - (flow - fees)) < D("1e-12")


# -- the async venue ---------------------------------------------------------------------------


def venue_on(*prices: int, **overrides: object) -> SimVenue:
    return SimVenue("sim", sim_config(**overrides), hourly(*prices))


async def test_the_venue_implements_the_port() -> None:
    venue = venue_on(50000)
    assert isinstance(venue, Venue)
    await venue.open()
    settings_ = await venue.ensure_settings(INVERSE, D(1), "cross")
    assert (settings_.leverage, settings_.margin_mode, settings_.one_way) == (D(1), "cross", True)
    report = await venue.place(req(Side.SELL, 100, client_id="v1"))
    assert await venue.order(INVERSE, "v1") == report == await venue.cancel(INVERSE, "v1")
    assert (await venue.position(INVERSE)).contracts == -100
    assert (await venue.prices(INVERSE)).mark == 50000 and venue.now() == T0
    assert (await venue.spot("BTC")).ts == T0
    assert await venue.funding(INVERSE, 0) == []
    await venue.close()


async def test_watch_yields_fresh_readings_after_a_step() -> None:
    venue = venue_on(50000, 51000)
    stream = venue.watch(INVERSE, "BTC")
    first = [await anext(stream) for _ in range(4)]
    assert isinstance(first[0], Prices) and first[0].mark == 50000
    venue.exchange.step()
    after = [await anext(stream) for _ in range(4)]
    assert isinstance(after[0], Prices) and after[0].mark == 51000
    assert all(reading.ts == T0 + HOUR for reading in after if hasattr(reading, "ts"))
    await venue.close()
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_a_waiting_subscriber_wakes_on_a_deposit() -> None:
    venue = venue_on(50000)
    waiting = asyncio.create_task(venue.wait_for(lambda: venue.exchange.spot_balance("BTC") > 0))
    await asyncio.sleep(0)
    assert not waiting.done()
    venue.exchange.deposit("BTC", D("0.25"))
    await asyncio.wait_for(waiting, 1)


async def test_run_clock_replays_the_path_and_returns_at_its_end() -> None:
    venue = venue_on(50000, 50100, 50200, 50300, speed=1e9)
    reached = asyncio.create_task(venue.wait_for(lambda: venue.exchange.mark == 50200))
    await asyncio.wait_for(venue.run_clock(), 1)
    assert reached.done() and venue.exchange.finished and venue.now() == T0 + 3 * HOUR
    assert venue.exchange.step() is False
