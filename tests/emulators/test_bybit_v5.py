"""The Bybit v5 emulator against the real ccxt 4.5 bybit clients (REST and ccxt.pro)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import pytest

from tests.emulators.core.server import Emulator, OrderLogEntry

pytest_plugins = ["tests.emulators.fixtures"]

SYMBOL = "BTC/USD:BTC"
Make = Callable[..., Any]


def coin(balance: dict[str, Any], name: str) -> dict[str, Any]:
    entries: list[dict[str, Any]] = balance["info"]["result"]["list"][0]["coin"]
    return next(c for c in entries if c["coin"] == name)


async def test_load_markets_has_the_inverse_perp(ccxt_bybit: Make) -> None:
    exchange = ccxt_bybit()
    markets = await exchange.load_markets()
    market = markets[SYMBOL]
    assert market["inverse"] and market["swap"] and market["id"] == "BTCUSD"
    assert market["contractSize"] == 1 and market["settle"] == "BTC"
    assert (market["precision"]["amount"], market["precision"]["price"]) == (1, 0.5)
    assert market["limits"]["amount"]["min"] == 1
    assert {"BTC/USDT", "BTC/USDT:USDT"} <= set(markets)


async def test_default_options_load_markets_too(bybit_emulator: Emulator) -> None:
    exchange = bybit_emulator.configure(ccxt.bybit({"enableRateLimit": False}))  # options: none
    try:
        assert SYMBOL in await exchange.load_markets()
    finally:
        await exchange.close()


async def test_unified_balance_reports_equity_only_in_info(
    bybit_emulator: Emulator, ccxt_bybit: Make
) -> None:
    exchange = ccxt_bybit()
    await exchange.create_order(SYMBOL, "market", "sell", 6500, None, {"clientOrderId": "b1"})
    await bybit_emulator.set_price(Decimal(60000))
    balance = await exchange.fetch_balance()
    btc = coin(balance, "BTC")
    upnl = Decimal(6500) * (1 / Decimal(65000) - 1 / Decimal(60000)) * -1
    assert Decimal(btc["unrealisedPnl"]) == upnl.quantize(Decimal("1e-8"))
    assert Decimal(btc["equity"]) - Decimal(btc["walletBalance"]) == Decimal(btc["unrealisedPnl"])
    assert Decimal(str(balance["total"]["BTC"])) == Decimal(btc["walletBalance"])  # no upnl
    fee = (Decimal(6500) / 65000 * Decimal("0.0006")).quantize(Decimal("1e-8"))
    assert Decimal(btc["walletBalance"]) == 1 - fee
    assert balance["info"]["result"]["list"][0]["accountType"] == "UNIFIED"


async def test_positions_need_the_symbol_and_show_the_short(ccxt_bybit: Make) -> None:
    exchange = ccxt_bybit()
    flat = await exchange.fetch_positions([SYMBOL])
    assert flat[0]["contracts"] == 0 and flat[0]["side"] is None
    await exchange.create_order(SYMBOL, "market", "sell", 1000, None, {"clientOrderId": "p1"})
    assert await exchange.fetch_positions() == []  # linear by default
    (short,) = await exchange.fetch_positions([SYMBOL])
    assert (short["contracts"], short["side"], short["entryPrice"]) == (1000, "short", 65000)
    assert short["liquidationPrice"] == pytest.approx(72222, abs=1)  # 10x


async def test_order_by_client_id_open_and_closed(
    bybit_emulator: Emulator, ccxt_bybit: Make
) -> None:
    exchange = ccxt_bybit()
    placed = await exchange.create_order(
        SYMBOL, "limit", "sell", 100, 70000, {"clientOrderId": "rest-1"}
    )
    assert placed["clientOrderId"] == "rest-1"
    (found,) = await exchange.fetch_open_orders(SYMBOL, None, None, {"orderLinkId": "rest-1"})
    assert (found["status"], found["remaining"]) == ("open", 100)
    assert (
        await exchange.fetch_canceled_and_closed_orders(
            SYMBOL, None, None, {"orderLinkId": "rest-1"}
        )
        == []
    )
    await bybit_emulator.set_price(Decimal(70000))  # the resting sell becomes marketable
    (closed,) = await exchange.fetch_canceled_and_closed_orders(
        SYMBOL, None, None, {"orderLinkId": "rest-1"}
    )
    assert (closed["status"], closed["filled"], closed["average"]) == ("closed", 100, 70000)
    assert closed["fee"]["currency"] == "BTC"
    ioc = await exchange.create_order(
        SYMBOL,
        "limit",
        "buy",
        5,
        60000,
        {"clientOrderId": "ioc-1", "timeInForce": "IOC", "reduceOnly": True},
    )
    (gone,) = await exchange.fetch_canceled_and_closed_orders(
        SYMBOL, None, None, {"orderLinkId": "ioc-1"}
    )
    assert ioc["id"] == gone["id"] and (gone["status"], gone["filled"]) == ("canceled", 0)
    assert [e.params["orderLinkId"] for e in bybit_emulator.order_log] == ["rest-1", "ioc-1"]


async def test_rejections_map_to_ccxt_errors(ccxt_bybit: Make) -> None:
    exchange = ccxt_bybit()
    await exchange.set_leverage(1, SYMBOL)
    with pytest.raises(ccxt.BadRequest, match="110043"):
        await exchange.set_leverage(1, SYMBOL)
    with pytest.raises(ccxt.InvalidOrder, match="110017"):
        await exchange.create_order(SYMBOL, "market", "buy", 10, None, {"reduceOnly": True})
    with pytest.raises(ccxt.InsufficientFunds, match="110007"):  # the whole equity at 1x
        await exchange.create_order(SYMBOL, "market", "sell", 65000, None, {"clientOrderId": "a"})
    await exchange.create_order(SYMBOL, "market", "sell", 64000, None, {"clientOrderId": "b"})
    with pytest.raises(ccxt.InvalidOrder, match="110072"):
        await exchange.create_order(SYMBOL, "market", "sell", 1, None, {"clientOrderId": "b"})
    with pytest.raises(ccxt.NoChange, match="110025"):
        await exchange.set_position_mode(False, SYMBOL)


async def test_faults(bybit_emulator: Emulator, ccxt_bybit: Make) -> None:
    exchange = ccxt_bybit()
    await exchange.load_markets()
    bybit_emulator.fail_next(1)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await exchange.fetch_positions([SYMBOL])
    bybit_emulator.rate_limit_next(1)
    with pytest.raises(ccxt.RateLimitExceeded):
        await exchange.fetch_positions([SYMBOL])
    bybit_emulator.empty_wallet(coin="BTC")
    assert "BTC" not in (await exchange.fetch_balance())["total"]
    assert "BTC" in (await exchange.fetch_balance())["total"]


async def test_delayed_order_times_out_but_was_executed(
    bybit_emulator: Emulator, ccxt_bybit: Make
) -> None:
    exchange = ccxt_bybit(timeout=300)
    await exchange.load_markets()
    await exchange.fetch_balance()  # account type known before the timed call
    bybit_emulator.delay_next_order(5.0)
    with pytest.raises(ccxt.RequestTimeout):
        await exchange.create_order(SYMBOL, "market", "sell", 10, None, {"clientOrderId": "slow"})
    (order,) = await exchange.fetch_canceled_and_closed_orders(
        SYMBOL, None, None, {"orderLinkId": "slow"}
    )
    assert order["filled"] == 10


async def test_order_log_and_hook_measure_arrival(
    bybit_emulator: Emulator, ccxt_bybit: Make
) -> None:
    exchange = ccxt_bybit()
    await exchange.load_markets()
    seen: list[OrderLogEntry] = []
    bybit_emulator.order_hooks.append(seen.append)
    sent = asyncio.create_task(
        exchange.create_order(SYMBOL, "market", "sell", 3, None, {"clientOrderId": "h1"})
    )
    (entry,) = await bybit_emulator.wait_for_orders(1)
    await sent
    assert seen == [entry] and entry.error is None and entry.answered is not None
    assert entry.answered >= entry.received
    assert bybit_emulator.duplicate_client_ids() == []


async def test_funding_pays_the_short(bybit_emulator: Emulator, ccxt_bybit: Make) -> None:
    exchange = ccxt_bybit()
    await exchange.create_order(SYMBOL, "market", "sell", 65000 // 2, None, {"clientOrderId": "f"})
    received = await bybit_emulator.apply_funding(Decimal("0.0001"))
    assert received == Decimal("0.00005")
    (event,) = await exchange.fetch_funding_history(SYMBOL)
    assert event["amount"] == pytest.approx(-0.00005)  # Bybit's execFee: positive when paid


async def test_classic_account_keeps_wallets_apart(bybit_classic_emulator: Emulator) -> None:
    exchange = bybit_classic_emulator.configure(
        ccxt.bybit(
            {"options": {"fetchMarkets": {"types": ["spot", "inverse"]}}, "enableRateLimit": False}
        )
    )
    try:
        assert (await exchange.fetch_balance())["total"].get("BTC") == 0
        assert (await exchange.fetch_balance({"type": "spot"}))["total"]["BTC"] == 1
        await exchange.transfer("BTC", 0.25, "spot", "swap")
        assert (await exchange.fetch_balance())["total"]["BTC"] == 0.25
    finally:
        await exchange.close()


async def test_bad_secret_is_refused(bybit_emulator: Emulator) -> None:
    exchange = bybit_emulator.configure(ccxt.bybit({"enableRateLimit": False}))
    exchange.secret = "wrong"
    try:
        with pytest.raises(ccxt.AuthenticationError):
            await exchange.fetch_balance()
    finally:
        await exchange.close()


async def test_pro_streams_push_on_changes(bybit_emulator: Emulator, ccxt_bybit: Make) -> None:
    exchange = ccxt_bybit(pro=True)
    first = await exchange.watch_ticker(SYMBOL)
    assert first["markPrice"] == 65000
    ticker = asyncio.create_task(exchange.watch_ticker(SYMBOL))
    await bybit_emulator.set_price(Decimal(64000), Decimal(64010))
    moved = await asyncio.wait_for(ticker, 2)
    assert (moved["markPrice"], moved["indexPrice"]) == (64000, 64010)

    assert await exchange.watch_positions([SYMBOL]) == []  # the REST snapshot: flat
    balance = asyncio.create_task(exchange.watch_balance())
    positions = asyncio.create_task(exchange.watch_positions([SYMBOL]))
    orders = asyncio.create_task(exchange.watch_orders(SYMBOL))
    while bybit_emulator.private_connections == 0 or not _subscribed(bybit_emulator, 3):
        await asyncio.sleep(0.01)
    await exchange.create_order(SYMBOL, "market", "sell", 640, None, {"clientOrderId": "ws1"})
    (order,) = await asyncio.wait_for(orders, 2)
    assert (order["clientOrderId"], order["status"], order["filled"]) == ("ws1", "closed", 640)
    (position,) = await asyncio.wait_for(positions, 2)
    assert (position["contracts"], position["side"]) == (640, "short")
    pushed = await asyncio.wait_for(balance, 2)
    assert pushed["BTC"]["total"] == pytest.approx(1 - 0.01 * 0.0006)

    pending = asyncio.create_task(exchange.watch_ticker(SYMBOL))
    await asyncio.sleep(0)
    await bybit_emulator.drop_websockets()
    with pytest.raises(ccxt.NetworkError):
        await asyncio.wait_for(pending, 2)
    again = asyncio.create_task(exchange.watch_ticker(SYMBOL))
    assert (await asyncio.wait_for(again, 2))["markPrice"] == 64000  # resubscribed: a snapshot


def _subscribed(emulator: Emulator, count: int) -> bool:
    return any(len(c.topics) >= count for c in emulator.conns if c.private)


async def test_silent_private_stream_sends_nothing(
    bybit_emulator: Emulator, ccxt_bybit: Make
) -> None:
    exchange = ccxt_bybit(pro=True)
    await exchange.load_markets()
    orders = asyncio.create_task(exchange.watch_orders(SYMBOL))
    while not _subscribed(bybit_emulator, 1):
        await asyncio.sleep(0.01)
    bybit_emulator.silence_private()
    await exchange.create_order(SYMBOL, "market", "sell", 5, None, {"clientOrderId": "quiet"})
    done, _ = await asyncio.wait({orders}, timeout=0.2)
    assert not done
    orders.cancel()


async def test_linear_perp_trades_in_coin_against_usdt_collateral(
    bybit_emulator: Emulator, ccxt_bybit: Make
) -> None:
    exchange = ccxt_bybit()
    market = (await exchange.load_markets())["BTC/USDT:USDT"]
    assert market["linear"] and market["contractSize"] == 1 and market["settle"] == "USDT"
    await exchange.create_order(
        "BTC/USDT:USDT", "market", "sell", 0.1, None, {"clientOrderId": "lin-1"}
    )
    await bybit_emulator.set_price(Decimal(60000))
    (short,) = await exchange.fetch_positions(["BTC/USDT:USDT"])
    assert (short["contracts"], short["side"], short["entryPrice"]) == (0.1, "short", 65000)
    usdt = coin(await exchange.fetch_balance(), "USDT")
    fee = Decimal("6500") * Decimal("0.0006")  # 0.1 BTC at 65,000, taker
    assert Decimal(usdt["walletBalance"]) == 10000 - fee
    assert Decimal(usdt["unrealisedPnl"]) == 500  # 0.1 * (65,000 - 60,000)
    assert coin(await exchange.fetch_balance(), "BTC")["equity"] == "1"  # untouched
    with pytest.raises(ccxt.InsufficientFunds):  # 20 BTC at 10x: 120,000 USDT of margin
        await exchange.create_order("BTC/USDT:USDT", "market", "sell", 20, None)
