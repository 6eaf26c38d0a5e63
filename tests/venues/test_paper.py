"""Dry-run on a real venue: reads pass through, orders fill on paper and never reach it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hedgekeeper.domain import OrderRequest, OrderState, Position, Side
from hedgekeeper.venues.base import DuplicateClientId, OrderRejected
from hedgekeeper.venues.paper import PaperVenue
from hedgekeeper.venues.sim import SimVenue
from tests.fakes import sim_config

D = Decimal
INV = "BTC/USD:BTC"


def request(cid: str, side: Side, n: str, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(INV, side, D(n), reduce_only, None, cid)


async def paper() -> tuple[PaperVenue, SimVenue]:
    inner = SimVenue("ex", sim_config())
    venue = PaperVenue(inner)
    await venue.open()
    await venue.market(INV)
    return venue, inner


async def test_orders_fill_on_paper_and_never_reach_the_exchange() -> None:
    venue, inner = await paper()
    report = await venue.place(request("a1", Side.SELL, "65000"))
    assert report.state is OrderState.FILLED and report.filled == D(65000)
    assert inner.exchange.orders == ()
    assert (await venue.position(INV)).contracts == D(-65000)
    assert (await inner.position(INV)).contracts == 0
    assert await venue.order(INV, "a1") == report
    with pytest.raises(DuplicateClientId):
        await venue.place(request("a1", Side.SELL, "1"))


async def test_paper_pnl_and_fees_move_the_equity_like_the_exchange_would() -> None:
    venue, inner = await paper()
    await venue.place(request("a1", Side.SELL, "65000"))  # 1 BTC short at 65,000
    fee = D(1) * inner.exchange.market(INV).taker_fee
    before = await venue.collateral(INV)
    assert before.equity == D(2) - fee
    inner.exchange.set_price(D(50000))
    await venue.prices(INV)
    after = await venue.collateral(INV)
    # A 1 BTC short of 65,000 USD gains 65000/50000 - 1 = 0.3 BTC.
    assert after.equity == D(2) - fee + D("0.3")


async def test_reduce_only_on_paper_is_capped_and_refused_when_it_would_not_reduce() -> None:
    venue, _ = await paper()
    with pytest.raises(OrderRejected):
        await venue.place(request("b1", Side.BUY, "10", reduce_only=True))
    await venue.place(request("s1", Side.SELL, "100"))
    capped = await venue.place(request("b2", Side.BUY, "500", reduce_only=True))
    assert capped.filled == D(100)
    assert (await venue.position(INV)).contracts == 0


async def test_watch_overlays_the_paper_position() -> None:
    venue, _ = await paper()
    await venue.place(request("a1", Side.SELL, "1000"))
    positions = []
    async for reading in venue.watch(INV, "BTC"):
        if isinstance(reading, Position):
            positions.append(reading.contracts)
            break
    assert positions == [D(-1000)]


async def test_a_dry_run_changes_no_exchange_setting() -> None:
    venue, inner = await paper()
    inner.exchange.set_leverage(INV, D(3))
    settings = await venue.ensure_settings(INV, D(1), "cross")
    assert settings.leverage == D(3)  # reported, not changed: the guard will refuse increases


async def test_paper_pnl_stays_in_the_wallet_of_its_settle_coin() -> None:
    venue, inner = await paper()
    lin = "BTC/USDT:USDT"
    await venue.market(lin)
    await venue.prices(lin)
    await venue.place(OrderRequest(lin, Side.SELL, D(1000), False, None, "l1"))  # 1 BTC short
    inner.exchange.set_price(D(50000))
    await venue.prices(INV)
    await venue.prices(lin)
    btc = await venue.collateral(INV)
    usdt = await venue.collateral(lin)
    assert btc.equity == D(2)  # no inverse paper trade: the BTC wallet is untouched
    linear_fee = D(65000) * inner.exchange.market(lin).taker_fee  # on 65,000 USDT notional
    assert usdt.equity == D(100000) + D(15000) - linear_fee
