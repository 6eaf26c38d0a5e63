"""Real ccxt (REST and ccxt.pro) against the Binance dialect: every call the adapter makes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest
from ccxt.base import errors

from tests.emulators.clients import ccxt_client
from tests.emulators.core.server import Emulator
from tests.emulators.dialects.binance import BinanceFutures, emulator

D = Decimal
COINM, USDM = "BTC/USD:BTC", "BTC/USDT:USDT"
OPTIONS = {"fetchCurrencies": False, "fetchMargins": False}


@pytest.fixture
async def coinm_emu() -> AsyncIterator[Emulator]:
    async with emulator("inverse") as emu:
        yield emu


@pytest.fixture
async def usdm_emu() -> AsyncIterator[Emulator]:
    async with emulator("linear") as emu:
        yield emu


@pytest.fixture
async def clients() -> AsyncIterator[Callable[..., Any]]:
    made: list[Any] = []

    def make(emu: Emulator, name: str, pro: bool = False) -> Any:
        options = dict(OPTIONS)
        if name == "binance":
            options["fetchMarkets"] = {"types": ["spot"]}
        made.append(client := ccxt_client(emu, pro, name, **options))
        return client

    yield make
    await asyncio.gather(*(c.close() for c in made))


async def test_coinm_rest_round_trip(coinm_emu: Emulator, clients: Callable[..., Any]) -> None:
    ex = clients(coinm_emu, "binancecoinm")
    await ex.load_markets()
    assert ex.market(COINM)["contractSize"] == 100
    assert await ex.fetch_positions([COINM]) == []  # flat: ccxt drops entryPrice 0
    spot = clients(coinm_emu, "binance")
    await spot.load_markets()
    assert (await spot.fetch_balance())["BTC"]["total"] == 1
    await ex.transfer("BTC", 0.5, "spot", "inverse")
    assert coinm_emu.account.wallet("derivatives", "BTC") == D("0.5")
    await ex.set_leverage(1, COINM)
    await ex.set_leverage(1, COINM)  # unchanged: success on Binance
    with pytest.raises(errors.MarginModeAlreadySet):
        await ex.set_margin_mode("cross", COINM)  # ccxt raises it by default
    with pytest.raises(errors.ExchangeError, match="-4059"):
        await ex.set_position_mode(False, COINM)
    mark = await ex.fetch_mark_price(COINM)
    assert mark["markPrice"] == 65000
    order = await ex.create_order(COINM, "limit", "sell", 100, 64000,
                                  {"clientOrderId": "hk-test-1", "timeInForce": "IOC"})  # fmt: skip
    assert order["clientOrderId"] == "hk-test-1" and order["status"] == "closed"
    found = await ex.fetch_order(None, COINM, {"clientOrderId": "hk-test-1"})
    assert found["filled"] == 100 and found["id"] == order["id"]
    positions = await ex.fetch_positions([COINM])
    assert positions[0]["side"] == "short" and positions[0]["contracts"] == 100
    balance = await ex.fetch_balance()
    assert balance["BTC"]["total"] < 0.5  # the fee
    with pytest.raises(errors.OrderNotFound):
        await ex.fetch_order(None, COINM, {"clientOrderId": "never-sent"})


async def test_coinm_errors_come_as_binance_codes(
    coinm_emu: Emulator, clients: Callable[..., Any]
) -> None:
    ex = clients(coinm_emu, "binancecoinm")
    await ex.load_markets()
    with pytest.raises(errors.ExchangeError, match='"code":-2019'):  # no margin
        await ex.create_order(COINM, "market", "sell", 10, None, {"clientOrderId": "m1"})
    with pytest.raises(errors.ExchangeError, match='"code":-2022'):
        await ex.create_order(COINM, "market", "buy", 1, None,
                              {"clientOrderId": "r1", "reduceOnly": True})  # fmt: skip
    coinm_emu.rate_limit_next(1)
    with pytest.raises(errors.DDoSProtection):
        await ex.fetch_balance()
    ex.secret = "wrong"
    with pytest.raises(errors.AuthenticationError):
        await ex.fetch_balance()


async def test_a_filled_client_id_is_accepted_again(
    coinm_emu: Emulator, clients: Callable[..., Any]
) -> None:
    """Binance keeps newClientOrderId unique among OPEN orders only: never re-send a create."""
    await coinm_emu.deposit("BTC", D(1), "derivatives")
    ex = clients(coinm_emu, "binancecoinm")
    await ex.load_markets()
    await ex.create_order(COINM, "market", "sell", 10, None, {"clientOrderId": "same"})
    await ex.create_order(COINM, "market", "sell", 10, None, {"clientOrderId": "same"})
    assert coinm_emu.account.positions["BTCUSD_PERP"].size == -20


async def test_usdm_min_notional_and_positions(
    usdm_emu: Emulator, clients: Callable[..., Any]
) -> None:
    await usdm_emu.deposit("USDT", D(10000), "derivatives")
    ex = clients(usdm_emu, "binanceusdm")
    await ex.load_markets()
    with pytest.raises(errors.ExchangeError, match="-4164"):
        await ex.create_order(USDM, "market", "sell", 0.001, None, {"clientOrderId": "small"})
    await ex.create_order(USDM, "market", "sell", 0.01, None, {"clientOrderId": "ok"})
    positions = await ex.fetch_positions([USDM])
    assert positions[0]["contracts"] == 0.01 and positions[0]["side"] == "short"
    config = await ex.fapiPrivateGetSymbolConfig({"symbol": "BTCUSDT"})
    assert config[0]["leverage"] == 20


async def test_streams(coinm_emu: Emulator, clients: Callable[..., Any]) -> None:
    rest = clients(coinm_emu, "binancecoinm")
    await rest.load_markets()
    pro = clients(coinm_emu, "binancecoinm", pro=True)
    pro.set_markets(rest.markets, rest.currencies)
    spot = clients(coinm_emu, "binance", pro=True)
    await spot.load_markets()
    mark = asyncio.ensure_future(pro.watch_mark_price(COINM))
    balance = asyncio.ensure_future(pro.watch_balance())
    spot_balance = asyncio.ensure_future(spot.watch_balance({"type": "spot"}))
    await asyncio.sleep(0.2)  # subscriptions made (the emulator pushes to subscribers only)
    await coinm_emu.set_price(D(64000))
    assert (await asyncio.wait_for(mark, 5))["markPrice"] == 64000
    await coinm_emu.deposit("BTC", D("0.25"))
    pushed = await asyncio.wait_for(spot_balance, 5)
    assert pushed["BTC"]["total"] == 1.25
    await rest.transfer("BTC", 0.5, "spot", "inverse")
    wallet = await asyncio.wait_for(balance, 5)
    assert wallet["info"]["a"]["m"] == "DEPOSIT" and wallet["BTC"]["total"] == 0.5
    # watch_balance already loaded ccxt's one positions snapshot: this waits for a push
    positions = asyncio.ensure_future(pro.watch_positions([COINM]))
    await asyncio.sleep(0.05)
    assert not positions.done()
    await rest.create_order(COINM, "market", "sell", 100, None, {"clientOrderId": "s1"})
    pushed_positions = await asyncio.wait_for(positions, 5)
    assert pushed_positions[0]["contracts"] == 100 and pushed_positions[0]["side"] == "short"
    dialect = coinm_emu.dialect
    assert isinstance(dialect, BinanceFutures) and dialect.listen_keys
