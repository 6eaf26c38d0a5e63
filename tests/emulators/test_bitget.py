"""The Bitget dialect against the real ccxt 4.5 bitget clients (REST and ccxt.pro)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import pytest

from tests.emulators.clients import ccxt_client, loaded
from tests.emulators.core.server import Emulator
from tests.emulators.dialects.bitget import emulator

INVERSE, LINEAR = "BTC/USD:BTC", "BTC/USDT:USDT"
OPTIONS = {"uta": False, "fetchMarkets": {"types": ["spot", "swap"]}}


@pytest.fixture
async def bitget() -> AsyncIterator[Emulator]:
    async with emulator() as emu:
        yield emu


@pytest.fixture
async def rest(bitget: Emulator) -> AsyncIterator[Any]:
    async with loaded(ccxt_client(bitget, **OPTIONS)) as exchange:
        await exchange.transfer("BTC", 0.1, "future", "spot")
        yield exchange


async def test_markets_trade_in_coin_and_the_uta_probe_is_never_sent(
    bitget: Emulator, rest: Any
) -> None:
    inverse, linear = rest.market(INVERSE), rest.market(LINEAR)
    assert (inverse["id"], inverse["contractSize"], inverse["inverse"]) == ("BTCUSD", 1, True)
    assert inverse["precision"]["amount"] == 0.001 and inverse["limits"]["amount"]["min"] == 0.001
    assert (linear["id"], linear["settle"]) == ("BTCUSDT", "USDT")
    assert bitget.request_count("/api/v3/account/settings") == 0


async def test_without_uta_set_ccxt_probes_for_a_unified_account(bitget: Emulator) -> None:
    exchange = ccxt_client(bitget)
    del exchange.options["uta"]
    try:
        await exchange.fetch_balance({"type": "swap", "productType": "COIN-FUTURES"})
    finally:
        await exchange.close()
    assert bitget.request_count("/api/v3/account/settings") == 1


async def test_requests_need_the_paptrading_header_on_a_demo_account(bitget: Emulator) -> None:
    live = ccxt_client(bitget, **OPTIONS)
    live.set_sandbox_mode(False)
    try:
        with pytest.raises(ccxt.AuthenticationError, match="PAPTRADING"):
            await live.fetch_balance({"type": "spot"})
    finally:
        await live.close()


async def test_a_coin_futures_position_is_coin_at_its_entry(bitget: Emulator, rest: Any) -> None:
    await rest.create_order(INVERSE, "market", "sell", 0.5, None, {"clientOrderId": "p1"})
    await bitget.set_price(Decimal(60000))
    await rest.create_order(INVERSE, "market", "sell", 0.5, None, {"clientOrderId": "p2"})
    (short,) = await rest.fetch_positions([INVERSE])
    face = Decimal(32500) + Decimal(30000)
    entry = Decimal(str(short["entryPrice"]))
    assert short["side"] == "short" and Decimal(str(short["contracts"])) == pytest.approx(
        face / entry
    )
    assert entry == pytest.approx(face / (Decimal("0.5") + Decimal("0.5")))


async def test_positions_without_symbols_ask_for_usdt_margin(rest: Any) -> None:
    await rest.create_order(INVERSE, "market", "sell", 0.1, None, {"clientOrderId": "u1"})
    assert len(await rest.fetch_positions([INVERSE])) == 1
    assert await rest.fetch_positions(None, {"productType": "COIN-FUTURES"}) == []  # USDT


async def test_duplicate_client_oid_is_an_unmapped_40786_and_margin_is_mapped(rest: Any) -> None:
    await rest.create_order(INVERSE, "market", "sell", 0.1, None, {"clientOrderId": "d1"})
    with pytest.raises(ccxt.ExchangeError, match="40786") as dup:
        await rest.create_order(INVERSE, "market", "sell", 0.1, None, {"clientOrderId": "d1"})
    assert type(dup.value) is ccxt.ExchangeError
    with pytest.raises(ccxt.InsufficientFunds, match="40762"):
        await rest.create_order(INVERSE, "market", "sell", 20, None, {"clientOrderId": "m1"})


async def test_an_order_is_found_by_client_oid(rest: Any) -> None:
    await rest.create_order(INVERSE, "market", "sell", 0.2, None, {"clientOrderId": "f1"})
    found = await rest.fetch_order(None, INVERSE, {"clientOrderId": "f1"})
    assert (found["status"], found["filled"], found["average"]) == ("closed", 0.2, 65000)
    with pytest.raises(ccxt.OrderNotFound):
        await rest.fetch_order(None, INVERSE, {"clientOrderId": "nope"})


async def test_settings_and_funding_bills(bitget: Emulator, rest: Any) -> None:
    await rest.set_position_mode(False, INVERSE)
    await rest.set_margin_mode("cross", INVERSE)
    await rest.set_leverage(1, INVERSE)
    info = (await rest.fetch_leverage(INVERSE))["info"]
    assert (info["crossedMarginLeverage"], info["posMode"]) == ("1", "one_way_mode")
    await rest.create_order(INVERSE, "market", "sell", 0.5, None, {"clientOrderId": "b1"})
    received = await bitget.apply_funding(Decimal("0.0001"))
    (event,) = await rest.fetch_funding_history(INVERSE)
    assert Decimal(str(event["amount"])) == received > 0


async def test_websockets_need_coin_futures_and_push_snapshots(bitget: Emulator, rest: Any) -> None:
    pro = ccxt_client(bitget, pro=True, uta=False)
    pro.set_markets(rest.markets, rest.currencies)
    try:
        ticker = await pro.watch_ticker(INVERSE)
        assert ticker["markPrice"] is None and ticker["info"]["markPrice"] == "65000"
        assert await pro.watch_positions([INVERSE]) == []
        params = {"type": "swap", "instType": "COIN-FUTURES"}
        assert (await pro.watch_balance(params))["total"]["BTC"] == 0.9
        await rest.create_order(INVERSE, "market", "sell", 0.1, None, {"clientOrderId": "w1"})
        (short,) = await pro.watch_positions([INVERSE])
        assert (short["contracts"], short["side"]) == (0.1, "short")
    finally:
        await pro.close()
