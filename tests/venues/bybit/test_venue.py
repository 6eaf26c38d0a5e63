"""The ccxt venue with Bybit quirks against the Bybit v5 emulator (real ccxt, loopback only)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from hedgekeeper.domain import (
    AccountIdentity,
    Collateral,
    ContractKind,
    OrderRequest,
    OrderState,
    Position,
    Prices,
    Side,
)
from hedgekeeper.venues.base import (
    BadReply,
    DuplicateClientId,
    InsufficientMargin,
    OrderRejected,
    OutcomeUnknown,
    Reading,
    SpotReading,
    VenueError,
    VenueUnavailable,
)
from hedgekeeper.venues.ccxt.venue import CcxtVenue
from tests.emulators.bybit_venue import make_bybit_venue
from tests.emulators.core.server import Emulator

pytest_plugins = ["tests.emulators.fixtures"]

SYMBOL = "BTC/USD:BTC"
D = Decimal


def sell(contracts: int, client_id: str, price: str | None = None) -> OrderRequest:
    limit = None if price is None else D(price)
    return OrderRequest(SYMBOL, Side.SELL, D(contracts), False, limit, client_id)


def buy(contracts: int, client_id: str) -> OrderRequest:
    return OrderRequest(SYMBOL, Side.BUY, D(contracts), True, None, client_id)


async def test_market_spec(bybit_venue: CcxtVenue) -> None:
    spec = await bybit_venue.market(SYMBOL)
    assert spec.kind is ContractKind.INVERSE
    assert (spec.contract_size, spec.amount_step, spec.min_amount, spec.price_step) == (
        1,
        1,
        1,
        D("0.5"),
    )
    assert (spec.base, spec.quote, spec.settle) == ("BTC", "USD", "BTC")


async def test_identity_is_the_api_keys_user_id(bybit_venue: CcxtVenue) -> None:
    assert await bybit_venue.identity() == AccountIdentity("bybit testnet", "1")


async def test_unified_equity_counts_unrealised_pnl_once(
    bybit_emulator: Emulator, bybit_venue: CcxtVenue
) -> None:
    await bybit_venue.place(sell(6500, "u1"))
    await bybit_emulator.set_price(D(50000))
    collateral = await bybit_venue.collateral(SYMBOL)
    upnl = (-6500 * (1 / D(65000) - 1 / D(50000))).quantize(D("1e-8"))
    fee = (D(6500) / 65000 * D("0.0006")).quantize(D("1e-8"))
    assert collateral.wallet == 1 - fee
    assert collateral.equity == collateral.wallet + upnl
    assert collateral.unified and 0 < collateral.free < collateral.equity
    spot = await bybit_venue.spot("BTC")
    assert spot.value == collateral.equity  # one wallet: the same coins, counted once
    settings = await bybit_venue.settings(SYMBOL)
    assert settings.unified and settings.one_way and settings.margin_mode == "cross"


async def test_position_sign_and_order_by_client_id(
    bybit_emulator: Emulator, bybit_venue: CcxtVenue
) -> None:
    assert (await bybit_venue.position(SYMBOL)).contracts == 0
    report = await bybit_venue.place(sell(1000, "cid-1", price="64000"))
    assert (report.state, report.filled, report.average_price) == (OrderState.FILLED, 1000, 65000)
    assert report.fee == (D(1000) / 65000 * D("0.0006")).quantize(D("1e-8"))
    sent = bybit_emulator.order_log[0].params
    assert (sent["orderLinkId"], sent["timeInForce"], sent["orderType"]) == (
        "cid-1",
        "IOC",
        "Limit",
    )
    position = await bybit_venue.position(SYMBOL)
    assert (position.contracts, position.entry_price) == (-1000, 65000)
    found = await bybit_venue.order(SYMBOL, "cid-1")
    assert found is not None and found.exchange_id == report.exchange_id
    assert (found.state, found.filled, found.fee) == (report.state, report.filled, report.fee)
    assert await bybit_venue.order(SYMBOL, "never-sent") is None
    closed = await bybit_venue.place(buy(400, "cid-2"))
    assert closed.state is OrderState.FILLED and bybit_emulator.order_log[1].params["reduceOnly"]
    assert (await bybit_venue.position(SYMBOL)).contracts == -600


async def test_settings_to_1x_and_unchanged_is_success(
    bybit_emulator: Emulator, bybit_venue: CcxtVenue
) -> None:
    first = await bybit_venue.ensure_settings(SYMBOL, D(1), "cross")
    again = await bybit_venue.ensure_settings(SYMBOL, D(1), "cross")  # 110043 and 110025
    assert first.leverage == again.leverage == 1 and again.one_way
    assert bybit_emulator.request_count("/v5/position/set-leverage") == 2
    assert [r.error for r in bybit_emulator.requests if r.path.endswith("set-leverage")] == [
        None,
        "110043",
    ]
    assert bybit_emulator.request_count("/v5/account/set-margin-mode") == 0  # already cross


async def test_rejections(bybit_venue: CcxtVenue) -> None:
    await bybit_venue.ensure_settings(SYMBOL, D(1), "cross")
    with pytest.raises(InsufficientMargin) as short:
        await bybit_venue.place(sell(65000, "too-big"))  # the whole equity at 1x plus the fee
    assert short.value.code == "110007"
    with pytest.raises(OrderRejected) as reduce:
        await bybit_venue.place(buy(10, "nothing-to-reduce"))
    assert reduce.value.code == "110017"
    await bybit_venue.place(sell(100, "once"))
    with pytest.raises(DuplicateClientId):
        await bybit_venue.place(sell(100, "once"))


async def test_timed_out_order_is_found_by_client_id(bybit_emulator: Emulator) -> None:
    venue = make_bybit_venue(bybit_emulator, options={"timeout": 300})
    await venue.open()
    try:
        await venue.collateral(SYMBOL)
        bybit_emulator.delay_next_order(5)
        with pytest.raises(OutcomeUnknown):
            await venue.place(sell(50, "slow-1"))
        found = await venue.order(SYMBOL, "slow-1")
        assert found is not None and (found.state, found.filled) == (OrderState.FILLED, 50)
        assert len(bybit_emulator.order_log) == 1  # never re-sent
    finally:
        await venue.close()


async def test_reads_are_retried_orders_are_not(
    bybit_emulator: Emulator, bybit_venue: CcxtVenue
) -> None:
    bybit_emulator.fail_next(2)
    assert (await bybit_venue.position(SYMBOL)).contracts == 0
    assert bybit_emulator.request_count("/v5/position/list") == 3
    bybit_emulator.rate_limit_next(2)
    assert (await bybit_venue.prices(SYMBOL)).mark == 65000
    assert bybit_emulator.request_count("/v5/market/tickers") == 3
    bybit_emulator.fail_next(10, path="/v5/market/tickers")
    with pytest.raises(VenueUnavailable):
        await bybit_venue.prices(SYMBOL)
    bybit_emulator.fail_next(1, path="/v5/order/create")
    with pytest.raises(OutcomeUnknown):
        await bybit_venue.place(sell(10, "net-1"))
    assert bybit_emulator.request_count("/v5/order/create") == 1


async def test_missing_coin_is_a_bad_reply_not_zero(
    bybit_emulator: Emulator, bybit_venue: CcxtVenue
) -> None:
    bybit_emulator.empty_wallet(coin="BTC")
    with pytest.raises(BadReply, match="BTC missing"):
        await bybit_venue.collateral(SYMBOL)
    assert (await bybit_venue.collateral(SYMBOL)).equity == 1


async def test_funding_received_by_the_short(
    bybit_emulator: Emulator, bybit_venue: CcxtVenue
) -> None:
    await bybit_venue.place(sell(32500, "f1"))
    await bybit_emulator.apply_funding(D("0.0001"))
    (event,) = await bybit_venue.funding(SYMBOL, since=0)
    assert (event.amount, event.rate) == (D("0.00005"), D("0.0001"))


async def test_cancel_a_resting_order(bybit_venue: CcxtVenue) -> None:
    await bybit_venue.exchange.create_order(
        SYMBOL, "limit", "sell", 10, 70000, {"clientOrderId": "rest"}
    )
    report = await bybit_venue.cancel(SYMBOL, "rest")
    assert report is not None and report.state is OrderState.CANCELLED
    assert await bybit_venue.cancel(SYMBOL, "unknown") is None


async def test_classic_account_keeps_wallets_apart(
    bybit_classic_emulator: Emulator,
) -> None:
    venue = make_bybit_venue(bybit_classic_emulator)
    await venue.open()
    try:
        assert (await venue.spot("BTC")).value == 1
        empty = await venue.collateral(SYMBOL)
        assert (empty.wallet, empty.equity, empty.unified) == (0, 0, False)
        await venue.transfer_to_derivatives("BTC", D("0.4"))
        collateral = await venue.collateral(SYMBOL)
        assert (collateral.equity, collateral.unified) == (D("0.4"), False)
        assert (await venue.spot("BTC")).value == D("0.6")
    finally:
        await venue.close()


async def test_configured_unified_must_match_the_exchange(
    bybit_emulator: Emulator,
) -> None:
    venue = make_bybit_venue(bybit_emulator, unified=False)
    with pytest.raises(VenueError, match="unified"):
        await venue.open()
    await venue.close()


async def first(
    stream: AsyncIterator[Reading], kind: type, field: str, value: Decimal, timeout: float = 3.0
) -> Reading:
    """The first reading of `kind` whose `field` is `value` (earlier ones are skipped)."""
    async with asyncio.timeout(timeout):
        async for reading in stream:
            if isinstance(reading, kind) and getattr(reading, field) == value:
                return reading
    raise AssertionError("stream ended")


async def test_watch_streams_and_resumes_after_a_drop(
    bybit_emulator: Emulator, bybit_venue: CcxtVenue
) -> None:
    stream = bybit_venue.watch(SYMBOL, "BTC")
    try:
        snapshots = [await anext(stream) for _ in range(4)]  # the REST reads
        kinds = {type(r) for r in snapshots}
        assert kinds == {Prices, Position, Collateral, SpotReading}
        await bybit_emulator.set_price(D(64000))
        await first(stream, Prices, "mark", D(64000))
        # ccxt subscribes to "position" only once its first watch returned the REST snapshot:
        # a fill before that is pushed to no one (the periodic REST read would catch it).
        conns = bybit_emulator.conns
        while not any(c.private and "position" in c.topics for c in conns):
            await asyncio.sleep(0.01)
        await bybit_venue.place(sell(640, "w1"))
        await first(stream, Position, "contracts", D(-640))

        reads = bybit_emulator.request_count("/v5/position/list")
        await bybit_emulator.drop_websockets()
        await bybit_emulator.set_price(D(63000))
        await first(stream, Prices, "mark", D(63000))  # after the reconnect
        async with asyncio.timeout(3):  # each stream reconnects on its own: the positions one
            while bybit_emulator.request_count("/v5/position/list") <= reads:  # re-reads REST
                await anext(stream)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
