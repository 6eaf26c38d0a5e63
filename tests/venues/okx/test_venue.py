"""The ccxt venue with OKX quirks against the OKX dialect (real ccxt, loopback only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from hedgekeeper.domain import ContractKind, OrderRequest, OrderState, Prices, Side
from hedgekeeper.venues.base import (
    OrderRejected,
    Reading,
    VenueError,
)
from hedgekeeper.venues.ccxt.venue import CcxtVenue
from tests.emulators.core.account import Account
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import okx
from tests.emulators.dialects.okx_shapes import FUNDING
from tests.venues.wire_venue import refusal_codes, wire_venue

D = Decimal
INVERSE, LINEAR = "BTC/USD:BTC", "BTC/USDT:USDT"
BALANCE = "/api/v5/account/balance"


def order(side: Side, contracts: int, client_id: str, reduce: bool = False) -> OrderRequest:
    return OrderRequest(INVERSE, side, D(contracts), reduce, None, client_id)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with okx.emulator(Account(price=D(60000), balances={"BTC": D(1), "USDT": D(0)})) as e:
        yield e


def dialect(emu: Emulator) -> okx.Okx:
    assert isinstance(emu.dialect, okx.Okx)
    return emu.dialect


async def test_markets_are_100_usd_inverse_and_0_01_btc_linear(venue: CcxtVenue) -> None:
    inverse, linear = await venue.market(INVERSE), await venue.market(LINEAR)
    assert (inverse.kind, inverse.contract_size, inverse.amount_step) == (
        ContractKind.INVERSE, 100, 1,
    )  # fmt: skip
    assert (linear.kind, linear.contract_size, linear.settle) == (
        ContractKind.LINEAR,
        D("0.01"),
        "USDT",
    )


async def test_a_spot_only_account_is_refused_at_open_with_what_to_change(emu: Emulator) -> None:
    dialect(emu).acct_level = "1"
    refused = wire_venue(emu)
    with pytest.raises(VenueError, match=r"acctLv 1.*51010.*Spot and futures"):
        await refused.open()
    await refused.close()
    assert emu.order_log == []


async def test_live_mode_against_a_demo_account_fails_on_the_demo_header(emu: Emulator) -> None:
    live = wire_venue(emu, mode="live")
    with pytest.raises(VenueError, match="demo"):
        await live.open()
    await live.close()


async def test_settings_are_set_to_net_and_1x_cross_and_a_locked_mode_says_why(
    emu: Emulator, venue: CcxtVenue
) -> None:
    got = await venue.ensure_settings(INVERSE, D(1), "cross")
    assert (got.leverage, got.margin_mode, got.one_way) == (1, "cross", True)
    await venue.ensure_settings(INVERSE, D(1), "cross")  # unchanged: fine
    with pytest.raises(VenueError, match="cross margin"):
        await venue.ensure_settings(INVERSE, D(1), "isolated")
    await venue.place(order(Side.SELL, 10, "lock1"))
    emu.account.hedge_mode = True  # an account in long/short mode, holding a position
    with pytest.raises(VenueError, match=r"59000.*Close them"):
        await venue.ensure_settings(INVERSE, D(1), "cross")


async def test_inverse_collateral_is_trading_equity_and_spot_is_the_funding_account(
    emu: Emulator, venue: CcxtVenue
) -> None:
    await venue.market(INVERSE)
    await venue.ensure_settings(INVERSE, D(1), "cross")
    await venue.place(order(Side.SELL, 300, "c1"))
    await emu.set_price(D(50000))
    await emu.deposit("BTC", D("0.25"), FUNDING)
    collateral = await venue.collateral(INVERSE)
    upl = D(-300) * 100 * (1 / D(60000) - 1 / D(50000))
    assert collateral.equity - collateral.wallet == upl.quantize(D("1e-8"))
    assert not collateral.unified  # spot never reads this coin: counted once
    assert (await venue.spot("BTC")).value == D("0.25")
    await venue.transfer_to_derivatives("BTC", D("0.25"))
    assert (await venue.spot("BTC")).value == 0
    assert (await venue.collateral(INVERSE)).wallet == collateral.wallet + D("0.25")


async def test_for_a_linear_swap_the_trading_accounts_coin_is_spot_too(
    emu: Emulator, venue: CcxtVenue
) -> None:
    await venue.market(LINEAR)
    await emu.deposit("BTC", D("0.5"), FUNDING)
    assert (await venue.spot("BTC")).value == D("1.5")


async def test_a_reply_without_the_collateral_coin_is_no_reading(
    emu: Emulator, venue: CcxtVenue
) -> None:
    await emu.deposit("USDT", D(100))  # the reply still lists USDT, not BTC
    emu.empty_wallet(1, "BTC")
    with pytest.raises(VenueError, match="missing"):
        await venue.collateral(INVERSE)
    emu.empty_wallet(1)
    with pytest.raises(VenueError, match="no coin at all"):
        await venue.spot("USDT")


async def test_orders_carry_our_clordid_in_cross_and_are_found_by_it(
    emu: Emulator, venue: CcxtVenue
) -> None:
    report = await venue.place(order(Side.SELL, 200, "hkab12cd0000000001"))
    assert (report.state, report.filled, report.average_price) == (OrderState.FILLED, 200, 60000)
    (item,) = emu.order_log[0].params["items"]
    assert (item["clOrdId"], item["tdMode"]) == ("hkab12cd0000000001", "cross")
    assert (await venue.position(INVERSE)).contracts == -200
    cover = await venue.place(order(Side.BUY, 50, "hkab12cd0000000002", reduce=True))
    assert cover.filled == 50 and emu.order_log[1].params["items"][0]["reduceOnly"] is True
    assert await venue.order(INVERSE, "hkab12cd0000000099") is None  # 51603: never seen


async def test_an_id_okx_would_refuse_is_refused_before_sending(
    emu: Emulator, venue: CcxtVenue
) -> None:
    for bad in ("hk-1", "x" * 33):
        with pytest.raises(OrderRejected, match="not what okx accepts"):
            await venue.place(order(Side.SELL, 1, bad))
    assert emu.order_log == []


async def test_per_item_scodes_map_to_duplicate_and_margin(emu: Emulator, venue: CcxtVenue) -> None:
    once, too_big = order(Side.SELL, 100, "dup1"), order(Side.SELL, 100000, "big1")
    codes = await refusal_codes(venue, once, too_big)
    assert codes == ("51016", "51008")


async def test_prices_come_from_the_mark_price_endpoint(venue: CcxtVenue) -> None:
    prices = await venue.prices(INVERSE)
    assert isinstance(prices, Prices) and prices.mark == 60000


async def test_funding_comes_from_the_bills(emu: Emulator, venue: CcxtVenue) -> None:
    await venue.place(order(Side.SELL, 600, "f1"))
    received = await emu.apply_funding(D("0.0001"))
    (event,) = await venue.funding(INVERSE, 0)
    assert event.amount == received > 0 and event.symbol == INVERSE


async def test_watch_starts_from_the_pushed_snapshots_without_rest(
    emu: Emulator, venue: CcxtVenue
) -> None:
    await venue.place(order(Side.SELL, 100, "w1"))
    reads = emu.request_count(BALANCE)
    seen: list[Reading] = []
    async for reading in venue.watch(INVERSE, "BTC"):
        seen.append(reading)
        if len(seen) == 3:
            break
    kinds = {type(r).__name__ for r in seen}
    assert kinds == {"Prices", "Position", "Collateral"}
    assert emu.request_count(BALANCE) == reads  # the subscriptions pushed their snapshots
