"""The OKX dialect against the real ccxt 4.5 okx clients (REST and ccxt.pro)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import pytest

from tests.emulators.clients import ccxt_client, loaded
from tests.emulators.core.server import Emulator
from tests.emulators.dialects.okx import Okx, emulator

INVERSE, LINEAR = "BTC/USD:BTC", "BTC/USDT:USDT"
OPTIONS = {"fetchMarkets": {"types": ["spot", "swap"]}}


@pytest.fixture
async def okx() -> AsyncIterator[Emulator]:
    async with emulator() as emu:
        yield emu


@pytest.fixture
async def rest(okx: Emulator) -> AsyncIterator[Any]:
    async with loaded(ccxt_client(okx, **OPTIONS)) as exchange:
        yield exchange


@pytest.fixture
async def pro(okx: Emulator, rest: Any) -> AsyncIterator[Any]:
    exchange = ccxt_client(okx, pro=True)
    exchange.set_markets(rest.markets, rest.currencies)
    yield exchange
    await exchange.close()


async def test_markets_are_the_100_usd_inverse_swap_and_the_linear_one(rest: Any) -> None:
    inverse, linear = rest.market(INVERSE), rest.market(LINEAR)
    assert (inverse["id"], inverse["contractSize"], inverse["inverse"]) == (
        "BTC-USD-SWAP",
        100,
        True,
    )
    assert (linear["id"], linear["contractSize"], linear["linear"]) == ("BTC-USDT-SWAP", 0.01, True)
    assert inverse["precision"] == {"amount": 1, "price": 0.1}


async def test_requests_need_the_passphrase_and_the_demo_header(okx: Emulator) -> None:
    wrong = ccxt_client(okx, **OPTIONS)
    wrong.password = "not-it"
    live = ccxt_client(okx, **OPTIONS)
    live.headers = {}  # no x-simulated-trading: a live request to a demo account
    try:
        with pytest.raises(ccxt.AuthenticationError, match="passphrase"):
            await wrong.fetch_balance()
        with pytest.raises(ccxt.AuthenticationError, match="demo"):
            await live.fetch_balance()
    finally:
        await wrong.close()
        await live.close()


async def test_equity_includes_upl_and_the_funding_account_is_apart(
    okx: Emulator, rest: Any
) -> None:
    await rest.create_order(INVERSE, "market", "sell", 100, None, {"clientOrderId": "a1"})
    await okx.set_price(Decimal(60000))
    await okx.deposit("BTC", Decimal("0.5"), "funding")
    trading = await rest.fetch_balance({"type": "trading"})
    btc = next(d for d in trading["info"]["data"][0]["details"] if d["ccy"] == "BTC")
    upl = Decimal(-100) * 100 * (1 / Decimal(65000) - 1 / Decimal(60000))
    assert Decimal(btc["upl"]) == upl.quantize(Decimal("1e-8"))
    assert Decimal(btc["eq"]) == Decimal(btc["cashBal"]) + Decimal(btc["upl"])
    assert (await rest.fetch_balance({"type": "funding"}))["total"] == {"BTC": 0.5}


async def test_an_order_fails_per_item_with_scode_and_ccxt_maps_it(rest: Any) -> None:
    await rest.create_order(INVERSE, "market", "sell", 100, None, {"clientOrderId": "d1"})
    with pytest.raises(ccxt.InvalidOrder, match='"sCode": "51016"'):
        await rest.create_order(INVERSE, "market", "sell", 100, None, {"clientOrderId": "d1"})
    with pytest.raises(ccxt.InsufficientFunds, match="51008"):
        await rest.create_order(INVERSE, "market", "sell", 10000, None, {"clientOrderId": "m1"})


async def test_an_order_is_found_by_clordid_and_an_unknown_one_is_51603(rest: Any) -> None:
    await rest.create_order(INVERSE, "market", "sell", 300, None, {"clientOrderId": "f1"})
    found = await rest.fetch_order(None, INVERSE, {"clientOrderId": "f1"})
    assert (found["status"], found["filled"], found["clientOrderId"]) == ("closed", 300, "f1")
    assert found["fee"]["cost"] > 0 and found["fee"]["currency"] == "BTC"
    with pytest.raises(ccxt.OrderNotFound):
        await rest.fetch_order(None, INVERSE, {"clientOrderId": "nope"})


async def test_positions_are_net_and_flat_is_an_empty_list(rest: Any) -> None:
    assert await rest.fetch_positions([INVERSE]) == []
    await rest.create_order(INVERSE, "market", "sell", 200, None, {"clientOrderId": "p1"})
    (short,) = await rest.fetch_positions([INVERSE])
    assert (short["contracts"], short["side"], short["entryPrice"]) == (200, "short", 65000)
    with pytest.raises(ccxt.BaseError):
        await rest.fetch_position(LINEAR)  # flat: ccxt raises instead of answering


async def test_settings_unchanged_succeed_and_a_mode_switch_with_a_position_is_59000(
    rest: Any,
) -> None:
    await rest.set_position_mode(False)
    await rest.set_leverage(1, INVERSE, {"marginMode": "cross"})
    await rest.set_leverage(1, INVERSE, {"marginMode": "cross"})  # unchanged: fine on OKX
    lev = await rest.fetch_leverage(INVERSE, {"marginMode": "cross"})
    assert (lev["shortLeverage"], lev["marginMode"]) == (1, "cross")
    await rest.create_order(INVERSE, "market", "sell", 100, None, {"clientOrderId": "s1"})
    with pytest.raises(ccxt.ExchangeError, match="59000"):
        await rest.set_position_mode(True)


async def test_a_spot_only_account_refuses_swap_orders_with_51010(okx: Emulator, rest: Any) -> None:
    dialect = okx.dialect
    assert isinstance(dialect, Okx)
    dialect.acct_level = "1"
    (account,) = await rest.fetch_accounts()
    assert account["type"] == "1"
    with pytest.raises(ccxt.AccountNotEnabled, match="51010"):
        await rest.create_order(INVERSE, "market", "sell", 100, None, {"clientOrderId": "l1"})


async def test_funding_comes_as_bills_and_transfer_moves_funding_to_trading(
    okx: Emulator, rest: Any
) -> None:
    await rest.create_order(INVERSE, "market", "sell", 650, None, {"clientOrderId": "b1"})
    received = await okx.apply_funding(Decimal("0.0001"))
    (event,) = await rest.fetch_funding_history(INVERSE)
    assert Decimal(str(event["amount"])) == received > 0 and event["code"] == "BTC"
    await okx.deposit("BTC", Decimal(1), "funding")
    await rest.transfer("BTC", 0.25, "funding", "trading")
    assert (await rest.fetch_balance({"type": "funding"}))["total"]["BTC"] == 0.75


async def test_websockets_push_a_snapshot_on_subscribe_then_changes(
    okx: Emulator, rest: Any, pro: Any
) -> None:
    assert (await pro.watch_mark_price(INVERSE))["markPrice"] == 65000
    assert await pro.watch_positions([INVERSE]) == []  # the snapshot of a flat account
    assert (await pro.watch_balance())["total"]["BTC"] == 1
    await rest.create_order(INVERSE, "market", "sell", 100, None, {"clientOrderId": "w1"})
    (short,) = await pro.watch_positions([INVERSE])
    assert (short["contracts"], short["side"]) == (100, "short")
    await okx.set_price(Decimal(64000))
    assert (await pro.watch_mark_price(INVERSE))["markPrice"] == 64000
