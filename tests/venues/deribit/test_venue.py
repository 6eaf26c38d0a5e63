"""The ccxt venue with Deribit quirks against the Deribit JSON-RPC emulator (real ccxt)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from hedgekeeper.config import Urls, VenueConfig
from hedgekeeper.domain import AccountIdentity, ContractKind, OrderRequest, OrderState, Side
from hedgekeeper.venues.base import Collateral, OutcomeUnknown, SpotReading, VenueError
from hedgekeeper.venues.ccxt.venue import CcxtVenue
from hedgekeeper.venues.deribit import QUIRKS, quirks
from tests.emulators.bybit_venue import FAST
from tests.emulators.core.account import Account
from tests.emulators.core.model import OrderSpec
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import deribit

D = Decimal
INVERSE, LINEAR = "BTC/USD:BTC", "BTC/USDC:USDC"


def make_venue(emu: Emulator | None, mode: str = "testnet") -> CcxtVenue:
    urls = None if emu is None else Urls(rest=emu.rest_url, ws=emu.ws_url)
    config = VenueConfig(
        exchange="deribit",
        api_key=SecretStr(emu.api_key if emu else "k"),
        secret=SecretStr(emu.secret if emu else "s"),
        urls=urls,
        options={"enableRateLimit": False, "timeout": 3000},
    )
    return CcxtVenue("deribit", config, mode, QUIRKS, FAST)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    balances = {"BTC": D(2), "USDC": D(200000)}
    async with deribit.emulator(Account(price=D(60000), balances=balances)) as found:
        yield found


@pytest.fixture
async def venue(emu: Emulator) -> AsyncIterator[CcxtVenue]:
    found = make_venue(emu)
    await found.open()
    try:
        yield found
    finally:
        await found.close()


def sell(contracts: str, client_id: str, symbol: str = INVERSE) -> OrderRequest:
    return OrderRequest(symbol, Side.SELL, D(contracts), False, None, client_id)


def earlier(emu: Emulator, label: str, instrument: Any = deribit.INVERSE) -> None:
    """An order placed by someone else (or long ago) carrying `label`."""
    emu.account.place(OrderSpec(instrument, "buy", D(1), None, "IOC", False, label))


async def test_markets_count_contracts_not_usd_or_coin(venue: CcxtVenue) -> None:
    inverse, linear = await venue.market(INVERSE), await venue.market(LINEAR)
    assert inverse.kind is ContractKind.INVERSE and linear.kind is ContractKind.LINEAR
    assert (inverse.contract_size, inverse.amount_step, inverse.min_amount) == (10, 1, 1)
    assert (linear.contract_size, linear.amount_step, linear.min_amount) == (D("0.001"), 1, 1)
    assert (inverse.price_step, linear.price_step) == (D("0.5"), 1)


async def test_identity_is_the_accounts_user_id(venue: CcxtVenue) -> None:
    assert await venue.identity() == AccountIdentity("deribit testnet", "148510")


async def test_inverse_order_goes_out_in_usd_under_a_label(emu: Emulator, venue: CcxtVenue) -> None:
    report = await venue.place(sell("120", "hkaa0000000001"))
    sent = emu.order_log[-1].params
    assert (sent["amount"], sent["label"], sent["_side"]) == ("1200", "hkaa0000000001", "sell")
    assert (report.state, report.filled, report.client_id) == (
        OrderState.FILLED, 120, "hkaa0000000001")  # fmt: skip
    position = await venue.position(INVERSE)
    assert position.contracts == -120  # the USD size -1200 in 10-USD contracts
    assert emu.account.positions["BTC-PERPETUAL"].size == -120


async def test_linear_order_goes_out_in_btc(emu: Emulator, venue: CcxtVenue) -> None:
    report = await venue.place(sell("250", "hkaa0000000002", LINEAR))
    assert D(emu.order_log[-1].params["amount"]) == D("0.25")
    assert (report.state, report.filled) == (OrderState.FILLED, 250)
    assert (await venue.position(LINEAR)).contracts == -250
    assert report.fee > 0  # charged in USDC, the settle coin (ccxt names the base coin)


async def test_a_flat_position_is_flat_though_deribit_says_short(venue: CcxtVenue) -> None:
    raw = await venue.exchange.fetch_positions([INVERSE])
    assert raw == [] or raw[0]["side"] == "short"  # what ccxt makes of direction "zero"
    assert (await venue.position(INVERSE)).contracts == 0


async def test_collateral_is_the_currency_accounts_equity(emu: Emulator, venue: CcxtVenue) -> None:
    await venue.place(sell("1200", "hkaa0000000003"))
    await emu.set_price(D(50000))
    collateral = await venue.collateral(INVERSE)
    assert collateral.unified and collateral.equity > collateral.wallet  # the short gained
    assert (await venue.spot("BTC")).value == collateral.equity  # one BTC account
    usdc = await venue.collateral(LINEAR)
    assert not usdc.unified and usdc.equity == 200000


async def test_lookup_keeps_only_the_exact_label_on_the_instrument(
    emu: Emulator, venue: CcxtVenue
) -> None:
    earlier(emu, "hkaa000000000")  # a prefix of the id looked up
    earlier(emu, "hkaa00000000040")  # the id looked up is its prefix
    earlier(emu, "hkaa0000000004", deribit.LINEAR)  # the same label on the other perp
    assert await venue.order(INVERSE, "hkaa0000000004") is None
    report = await venue.place(sell("10", "hkaa0000000004"))
    assert (report.state, report.filled) == (OrderState.FILLED, 10)


async def test_a_label_on_two_orders_is_unknown_and_never_resent(
    emu: Emulator, venue: CcxtVenue
) -> None:
    earlier(emu, "hkaa0000000005")
    report = await venue.place(sell("10", "hkaa0000000005"))
    assert report.state is OrderState.OPEN  # accepted, but which order is ours is not known
    with pytest.raises(OutcomeUnknown, match="2 orders carry the label hkaa0000000005"):
        await venue.order(INVERSE, "hkaa0000000005")
    with pytest.raises(OutcomeUnknown):  # nor cancelled blindly
        await venue.cancel(INVERSE, "hkaa0000000005")
    assert len(emu.order_log) == 1


async def test_settings_read_the_margin_model_and_set_nothing(
    emu: Emulator, venue: CcxtVenue
) -> None:
    settings = await venue.ensure_settings(INVERSE, D(1), "cross")
    assert (settings.leverage, settings.margin_mode, settings.one_way) == (None, "cross", True)
    assert not [r for r in emu.requests if "set" in r.path.rsplit("/", 1)[-1]]


@pytest.mark.parametrize(
    ("model", "reason"),
    [("cross_pm", "account is on portfolio margin"), ("", "cannot be verified: refusing")],
)
async def test_a_margin_model_it_cannot_vouch_for_is_refused(
    emu: Emulator, venue: CcxtVenue, model: str, reason: str
) -> None:
    dialect = emu.dialect
    assert isinstance(dialect, deribit.Deribit)
    dialect.margin_model = model
    with pytest.raises(VenueError, match=reason):
        await venue.ensure_settings(INVERSE, D(1), "cross")


async def test_funding_is_read_from_the_transaction_log(emu: Emulator, venue: CcxtVenue) -> None:
    await venue.place(sell("1200", "hkaa0000000006"))
    received = await emu.apply_funding(D("0.0001"))
    events = await venue.funding(INVERSE, venue.now() - 60)
    assert [e.amount for e in events] == [pytest.approx(received)]
    assert received > 0  # a short receives positive funding
    assert await venue.funding(LINEAR, venue.now() - 60) == []


async def test_positions_are_polled_and_check_says_so(venue: CcxtVenue) -> None:
    assert venue.feeds() == "streams ticker, balance; polled over REST every 2 s: positions"


async def test_the_portfolio_push_carries_collateral_and_the_coin(
    emu: Emulator, venue: CcxtVenue
) -> None:
    readings = venue.watch(INVERSE, "BTC")
    async with asyncio.timeout(10):
        async for _ in readings:  # the REST snapshot first
            if isinstance(_, SpotReading):
                break
        await emu.deposit("BTC", D("0.5"))
        seen: dict[type, D] = {}
        async for reading in readings:
            if isinstance(reading, Collateral) and reading.equity == D("2.5"):
                seen[Collateral] = reading.equity
            if isinstance(reading, SpotReading) and reading.amount.value == D("2.5"):
                seen[SpotReading] = reading.amount.value
            if len(seen) == 2:
                break
    await readings.aclose()


@pytest.mark.parametrize("fault", ["silent", "error reply"])
async def test_a_watch_that_never_resolves_falls_back_to_rest(
    emu: Emulator, venue: CcxtVenue, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """A silent socket, or an error reply (ccxt.pro raises it in its receive loop and the pending
    watch never resolves): the guard reads the account over REST instead."""
    monkeypatch.setattr(quirks, "WATCH_GUARD", 0.2)
    if fault == "silent":
        emu.silence_private()
        emu.silence_public()
    else:
        dialect = emu.dialect
        assert isinstance(dialect, deribit.Deribit)
        dialect.refuse_subscriptions = True
    readings = venue.watch(INVERSE, "BTC")
    async with asyncio.timeout(10):
        async for _ in readings:
            if isinstance(_, SpotReading):
                break
        await emu.deposit("BTC", D("0.5"))
        async for reading in readings:
            if isinstance(reading, Collateral) and reading.equity == D("2.5"):
                break
    await readings.aclose()


async def test_testnet_is_test_deribit_com() -> None:
    import ccxt.async_support as ccxt_async
    import ccxt.pro as ccxt_pro

    venue = make_venue(None)
    rest, pro = venue._client(ccxt_async), venue._client(ccxt_pro)
    try:
        assert rest.urls["api"]["rest"] == "https://test.deribit.com"
        assert pro.urls["api"]["ws"] == "wss://test.deribit.com/ws/api/v2"
    finally:
        await asyncio.gather(rest.close(), pro.close())
