"""The Binance quirks on a ccxt venue against the Binance dialect (real ccxt, loopback only)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from hedgekeeper.domain import (
    Collateral,
    ContractKind,
    OrderRequest,
    OrderState,
    Position,
    Prices,
    Side,
)
from hedgekeeper.venues.base import (
    DuplicateClientId,
    InsufficientMargin,
    OrderRejected,
    Reading,
    SpotReading,
    VenueError,
)
from hedgekeeper.venues.binance.codes import KeyRefused, ReduceOnlyRejected
from hedgekeeper.venues.ccxt.venue import CcxtVenue
from tests.emulators.core.model import DERIVATIVES
from tests.emulators.core.server import Emulator
from tests.emulators.dialects.binance import BinanceFutures, emulator
from tests.venues.binance.conftest import make_binance_venue

D = Decimal
COINM, USDM = "BTC/USD:BTC", "BTC/USDT:USDT"


def symbol_of(venue: CcxtVenue) -> str:
    return COINM if venue.cfg.exchange == "binancecoinm" else USDM


def order(symbol: str, side: Side, amount: str, client_id: str, *, reduce: bool = False,
          price: str | None = None) -> OrderRequest:  # fmt: skip
    limit = None if price is None else D(price)
    return OrderRequest(symbol, side, D(amount), reduce, limit, client_id)


async def fund(emu: Emulator) -> None:
    """Margin in the futures wallet of the emulator's family: 1 BTC or 65,000 USDT."""
    dialect = emu.dialect
    assert isinstance(dialect, BinanceFutures)
    coin, amount = ("USDT", D(65000)) if dialect.linear else ("BTC", D(1))
    await emu.deposit(coin, amount, DERIVATIVES)


async def test_market_specs(venue: CcxtVenue) -> None:
    spec = await venue.market(symbol_of(venue))
    if spec.kind is ContractKind.INVERSE:
        assert (spec.contract_size, spec.amount_step, spec.min_amount, spec.settle) == (
            100, 1, 1, "BTC"
        )  # fmt: skip
    else:
        assert (spec.contract_size, spec.amount_step, spec.min_amount, spec.settle) == (
            1, D("0.001"), D("0.001"), "USDT"
        )  # fmt: skip
    assert spec.price_step == D("0.1") and spec.taker_fee == D("0.0005")


async def test_equity_is_wallet_plus_unrealised_and_spot_is_apart(
    coinm_emu: Emulator, coinm: CcxtVenue
) -> None:
    await coinm_emu.deposit("BTC", D("0.5"), DERIVATIVES)
    await coinm.ensure_settings(COINM, D(1), "cross")
    await coinm.place(order(COINM, Side.SELL, "300", "hk1"))
    await coinm_emu.set_price(D(60000))
    c = await coinm.collateral(COINM)
    upl = -300 * 100 * (1 / D(65000) - 1 / D(60000))
    assert c.equity - c.wallet == upl.quantize(D("1e-8"))
    assert not c.unified and 0 < c.free < c.equity
    assert (await coinm.spot("BTC")).value == 1  # the spot wallet, untouched
    position = await coinm.position(COINM)
    assert position.contracts == -300 and position.entry_price == 65000


async def test_identity_is_the_exchange_and_the_accounts_uid(venue: CcxtVenue) -> None:
    identity = await venue.identity()
    assert (identity.exchange, identity.account) == (venue.cfg.exchange, "354937868")


async def test_flat_position_is_zero(venue: CcxtVenue) -> None:
    assert (await venue.position(symbol_of(venue))).contracts == 0


async def test_order_found_by_client_id(family_emu: Emulator, venue: CcxtVenue) -> None:
    await fund(family_emu)
    symbol = symbol_of(venue)
    amount = "10" if symbol == COINM else "0.01"
    report = await venue.place(order(symbol, Side.SELL, amount, "hkabc0000000001", price="64000"))
    assert report.state is OrderState.FILLED and report.filled == D(amount)
    found = await venue.order(symbol, "hkabc0000000001")
    assert found is not None and found.exchange_id == report.exchange_id
    assert await venue.order(symbol, "hk-never-sent") is None
    sent = family_emu.order_log[-1].params
    assert sent["newClientOrderId"] == "hkabc0000000001"  # ours, not a broker id


async def test_fractional_contracts_are_refused_before_sending(
    coinm_emu: Emulator, coinm: CcxtVenue
) -> None:
    await fund(coinm_emu)
    with pytest.raises(OrderRejected, match="ccxt truncates"):
        await coinm.place(order(COINM, Side.SELL, "2.5", "hk2"))
    assert coinm_emu.order_log == []


async def test_client_ids_binance_would_refuse(coinm: CcxtVenue) -> None:
    with pytest.raises(OrderRejected, match="not what binancecoinm accepts"):
        await coinm.place(order(COINM, Side.SELL, "1", "x" * 37))


async def resting(venue: CcxtVenue, client_id: str) -> None:
    """A GTC sell above the mark, left open (the daemon itself only sends IOC and market)."""
    params = {"clientOrderId": client_id, "timeInForce": "GTC"}
    await venue.exchange.create_order(COINM, "limit", "sell", 1, 70000, params)


async def test_refusals_by_binance_code(coinm_emu: Emulator, coinm: CcxtVenue) -> None:
    with pytest.raises(InsufficientMargin):  # -2019, plain ExchangeError in ccxt off its host
        await coinm.place(order(COINM, Side.SELL, "100", "m1"))
    with pytest.raises(ReduceOnlyRejected):  # -2022
        await coinm.place(order(COINM, Side.BUY, "1", "r1", reduce=True))
    await fund(coinm_emu)
    await resting(coinm, "rest")
    with pytest.raises(DuplicateClientId):  # -4116: an OPEN order has that id
        await coinm.place(order(COINM, Side.SELL, "1", "rest", price="70000"))
    coinm_emu.duplicate_next_order()
    with pytest.raises(DuplicateClientId):
        await coinm.place(order(COINM, Side.SELL, "1", "gw"))
    assert (await coinm.order(COINM, "gw")) is not None  # executed: found by its id


async def test_cancel_by_client_id(coinm_emu: Emulator, coinm: CcxtVenue) -> None:
    await fund(coinm_emu)
    await resting(coinm, "c1")
    report = await coinm.cancel(COINM, "c1")
    assert report is not None and report.state is OrderState.CANCELLED


async def test_settings_made_one_way_cross_1x(coinm_emu: Emulator, coinm: CcxtVenue) -> None:
    before = await coinm.settings(COINM)
    assert (before.leverage, before.margin_mode, before.one_way) == (20, "cross", True)
    coinm_emu.account.hedge_mode = True
    coinm_emu.account.positions["BTCUSD_PERP"].isolated = True
    assert (await coinm.settings(COINM)).one_way is False
    after = await coinm.ensure_settings(COINM, D(1), "cross")
    assert (after.leverage, after.margin_mode, after.one_way) == (1, "cross", True)
    again = await coinm.ensure_settings(COINM, D(1), "cross")  # -4059, -4046: already so
    assert again == type(again)(again.leverage, "cross", True, False, again.ts)


async def test_usdm_settings(family_emu: Emulator, venue: CcxtVenue) -> None:
    found = await venue.ensure_settings(symbol_of(venue), D(1), "isolated")
    assert (found.leverage, found.margin_mode, found.one_way) == (1, "isolated", True)


async def test_transfer_spot_to_the_families_wallet(family_emu: Emulator, venue: CcxtVenue) -> None:
    coin = "BTC" if symbol_of(venue) == COINM else "USDT"
    await venue.transfer_to_derivatives(coin, D("0.25"))
    assert family_emu.account.wallet(DERIVATIVES, coin) == D("0.25")
    assert (await venue.collateral(symbol_of(venue))).wallet == D("0.25")


async def test_demo_trading_refuses_transfers_saying_why() -> None:
    async with emulator("inverse", demo=True) as emu:
        venue = make_binance_venue(emu, mode="testnet")
        await venue.open()
        try:
            assert venue.exchange.options["enableDemoTrading"] is True
            with pytest.raises(VenueError, match="demo trading has no wallet transfers"):
                await venue.transfer_to_derivatives("BTC", D("0.1"))
            assert not [r for r in emu.requests if "transfer" in r.path]
            assert (await venue.spot("BTC")).value == 1
        finally:
            await venue.close()


async def test_funding_from_income_history(coinm_emu: Emulator, coinm: CcxtVenue) -> None:
    await fund(coinm_emu)
    await coinm.place(order(COINM, Side.SELL, "650", "f1"))
    received = await coinm_emu.apply_funding(D("0.0001"))
    events = await coinm.funding(COINM, 0)
    assert [e.amount for e in events] == [received] and received > 0


async def test_wrong_key_says_what_to_check(coinm_emu: Emulator) -> None:
    venue = make_binance_venue(coinm_emu)
    await venue.open()
    try:
        venue.exchange.secret = "not-the-secret"
        with pytest.raises(KeyRefused, match="IP allow-list"):
            await venue.collateral(COINM)
    finally:
        await venue.close()


async def next_of(stream: object, kind: type, timeout: float = 5.0) -> Reading:
    async with asyncio.timeout(timeout):
        async for reading in stream:  # type: ignore[attr-defined]
            if isinstance(reading, kind):
                return reading
    raise AssertionError("stream ended")


async def test_watch_snapshot_then_pushes(coinm_emu: Emulator, coinm: CcxtVenue) -> None:
    await fund(coinm_emu)
    await coinm.ensure_settings(COINM, D(1), "cross")
    stream = coinm.watch(COINM, "BTC")
    kinds = set()
    async with asyncio.timeout(5):
        async for reading in stream:  # the REST snapshot first: all four kinds
            kinds.add(type(reading))
            if kinds == {Prices, Position, Collateral, SpotReading}:
                break
    await asyncio.sleep(0.3)  # the subscriptions are made
    await coinm_emu.deposit("BTC", D("0.5"))
    spot = await next_of(stream, SpotReading)
    assert isinstance(spot, SpotReading) and spot.amount.value == D("1.5")
    await coinm.place(order(COINM, Side.SELL, "100", "w1"))
    pushed = await next_of(stream, Position)
    assert isinstance(pushed, Position) and pushed.contracts == -100
    await coinm_emu.set_price(D(64000))
    prices = await next_of(stream, Prices)
    assert isinstance(prices, Prices) and prices.mark == 64000
    await stream.aclose()  # type: ignore[attr-defined]


async def test_an_expired_listen_key_is_replaced(coinm_emu: Emulator, coinm: CcxtVenue) -> None:
    stream = coinm.watch(COINM, "BTC")
    await next_of(stream, SpotReading)
    await asyncio.sleep(0.3)
    dialect = coinm_emu.dialect
    assert isinstance(dialect, BinanceFutures)
    first = set(dialect.listen_keys)
    await dialect.expire_listen_keys()
    await asyncio.sleep(0.3)  # the pumps reconnect (REST re-read, a new listenKey)
    await fund(coinm_emu)
    reads = coinm_emu.request_count("/dapi/v1/positionRisk")
    await coinm.place(order(COINM, Side.SELL, "100", "after"))
    async with asyncio.timeout(5):
        async for reading in stream:  # type: ignore[attr-defined]
            if isinstance(reading, Position) and reading.contracts == -100:
                break
    assert coinm_emu.request_count("/dapi/v1/positionRisk") == reads  # pushed, not re-read
    assert dialect.listen_keys and set(dialect.listen_keys) != first
    await stream.aclose()  # type: ignore[attr-defined]


async def test_listen_key_kept_alive(coinm_emu: Emulator) -> None:
    venue = make_binance_venue(coinm_emu, options={"listenKeyRefreshRate": 100})
    await venue.open()
    try:
        stream = venue.watch(COINM, "BTC")
        await next_of(stream, SpotReading)
        async with asyncio.timeout(5):
            while not coinm_emu.request_count("/dapi/v1/listenKey") >= 2:
                await asyncio.sleep(0.05)
        puts = [r for r in coinm_emu.requests if r.method == "PUT"]
        assert puts and puts[0].path == "/dapi/v1/listenKey"
        await stream.aclose()  # type: ignore[attr-defined]
    finally:
        await venue.close()
