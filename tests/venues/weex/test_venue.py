"""The ccxt venue with WEEX quirks against the WEEX dialect (real ccxt, loopback only): what a
user sees of WEEX's differences, and the wire the lookups use: by WEEX's order id once it is
known, by scanning the lists for our client id when it is not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ccxt.base.errors import ArgumentsRequired

from hedgekeeper.domain import Intent, OrderRequest, OrderState, Side
from hedgekeeper.executor import Executor
from hedgekeeper.journal import Journal
from hedgekeeper.venues.base import OrderRejected, OutcomeUnknown, VenueError
from hedgekeeper.venues.ccxt.traits import Traits
from hedgekeeper.venues.ccxt.venue import CcxtVenue
from hedgekeeper.venues.weex import WeexQuirks
from tests.emulators.core.account import Account
from tests.emulators.core.model import OrderSpec
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import weex
from tests.venues.wire_venue import wire_venue

D = Decimal
LINEAR = "BTC/USDT:USDT"
ORDER, OPEN, HISTORY = "/capi/v3/order", "/capi/v3/openOrders", "/capi/v3/order/history"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    start = Account(unified=True, price=D(60000), balances={"BTC": D(2), "USDT": D(100000)})
    async with weex.conformance(start) as e:
        yield e


@pytest.fixture
async def venue(emu: Emulator) -> AsyncIterator[CcxtVenue]:
    opened = wire_venue(emu, mode="live")
    await opened.open()
    yield opened
    await opened.close()


def sell(coin: str, client_id: str) -> OrderRequest:
    return OrderRequest(LINEAR, Side.SELL, D(coin), False, D(59000), client_id)


async def test_amounts_are_coin_whatever_contract_val_says(emu: Emulator, venue: CcxtVenue) -> None:
    market = await venue.market(LINEAR)
    assert weex.CONTRACT_VAL != "1" and market.contract_size == 1
    report = await venue.place(sell("0.25", "hkv1"))
    assert (report.state, report.filled) == (OrderState.FILLED, D("0.25"))
    assert emu.order_log[-1].params["quantity"] == "0.25"
    assert (await venue.position(LINEAR)).contracts == D("-0.25")


async def test_without_its_id_an_order_is_found_by_scanning_never_by_a_client_id_lookup(
    emu: Emulator, venue: CcxtVenue
) -> None:
    """As after a crash between send and reply: the journal has only our client id."""
    await venue.place(sell("0.1", "hkv2"))
    before = len(emu.requests)
    found = await venue.order(LINEAR, "hkv2")
    assert found is not None and found.exchange_id is not None
    asked = [(r.method, r.path) for r in emu.requests[before:]]
    assert asked == [("GET", OPEN), ("GET", HISTORY)]
    assert await venue.order(LINEAR, "never-sent") is None


class Resting(WeexQuirks):
    """Limits sent good-till-cancelled: a sell above the mark rests, as an order WEEX has not
    matched yet does."""

    def order_params(self, traits: Traits, request: OrderRequest) -> dict[str, Any]:
        return {**super().order_params(traits, request), "timeInForce": "GTC"}


async def test_a_resting_order_is_followed_by_the_id_the_create_reply_gave_and_no_list(
    emu: Emulator, tmp_path: Path
) -> None:
    """Placed, polled and cancelled by WEEX's order id, journaled from the first answer on:
    not one open-order or history list is read."""
    venue = wire_venue(emu, mode="live", quirks=Resting())
    await venue.open()
    journal = Journal(tmp_path / "j.sqlite")
    try:
        executor = Executor(venue, journal, venue.now, lookup_attempts=2, lookup_delay=0)
        rest = Intent("btc", LINEAR, Side.SELL, D("0.1"), False, D(61000), "rests")
        outcome = await executor.execute(rest)
    finally:
        await venue.close()
    assert (outcome.state, outcome.filled) == (OrderState.CANCELLED, 0)
    [(kept,)] = journal.store.query("SELECT exchange_id FROM intents")
    asked = [(r.method, r.path, r.params.get("orderId")) for r in emu.requests]
    assert [a for a in asked if a[1] == ORDER and a[0] != "POST"] == [
        ("GET", ORDER, kept),  # after the create
        ("GET", ORDER, kept),  # two polls
        ("GET", ORDER, kept),
        ("GET", ORDER, kept),  # the cancel's lookup
        ("DELETE", ORDER, kept),
        ("GET", ORDER, kept),  # what became of it
    ]
    assert emu.request_count(OPEN) == emu.request_count(HISTORY) == 0
    journal.close()


async def test_an_id_weex_does_not_know_is_looked_for_by_scanning(
    emu: Emulator, venue: CcxtVenue
) -> None:
    await venue.place(sell("0.1", "hkv6"))
    before = len(emu.requests)
    found = await venue.order(LINEAR, "hkv6", "737999999999999999")
    assert found is not None and found.state is OrderState.FILLED
    asked = [(r.method, r.path, r.status) for r in emu.requests[before:]]
    assert asked == [("GET", ORDER, 400), ("GET", OPEN, 200), ("GET", HISTORY, 200)]


async def test_two_orders_under_our_client_id_are_unknown(emu: Emulator, venue: CcxtVenue) -> None:
    emu.account.unique_client_ids = False  # as if another trader reused the id
    instrument = weex.BTCUSDT
    for _ in range(2):
        emu.account.place(OrderSpec(instrument, "sell", D("0.1"), None, "IOC", False, "hkv3"))
    with pytest.raises(OutcomeUnknown, match="2 orders carry this client id"):
        await venue.order(LINEAR, "hkv3")


async def test_the_dialect_refuses_a_contract_lookup_by_client_id(
    emu: Emulator, venue: CcxtVenue
) -> None:
    await venue.place(sell("0.1", "hkv5"))
    ex = venue.exchange
    with pytest.raises(ArgumentsRequired, match="requires an id"):  # ccxt says so first
        await ex.fetch_order(None, LINEAR, {"clientOrderId": "hkv5"})
    with pytest.raises(ArgumentsRequired, match="-1141"):  # and WEEX, asked anyway
        await ex.contractPrivateGetCapiV3Order({"origClientOrderId": "hkv5"})


async def test_an_inverse_leg_and_a_transfer_are_refused_by_name(venue: CcxtVenue) -> None:
    with pytest.raises(VenueError, match="linear perpetuals only: BTC/USD:BTC is inverse"):
        await venue.market("BTC/USD:BTC")
    with pytest.raises(VenueError, match=r"no transfers.*funded yourself"):
        await venue.transfer_to_derivatives("BTC", D(1))
    assert venue.feeds() == (
        "streams none; polled over REST every 5 s: ticker, positions, balance; no transfers:"
        " weex offers none through ccxt, so auto_transfer cannot move coin; keep the perpetual"
        " wallet funded yourself"
    )


async def test_settings_are_set_to_1x_cross_one_way(emu: Emulator, venue: CcxtVenue) -> None:
    found = await venue.ensure_settings(LINEAR, D(1), "cross")
    assert (found.leverage, found.margin_mode, found.one_way) == (1, "cross", True)
    again = len(emu.requests)
    await venue.ensure_settings(LINEAR, D(1), "cross")
    assert [r.method for r in emu.requests[again:]] == ["GET", "GET"], "set what was so already"


async def test_a_margin_refusal_is_rejected_and_nothing_executed(
    emu: Emulator, venue: CcxtVenue
) -> None:
    emu.refuse_next_orders(1)
    with pytest.raises(OrderRejected):
        await venue.place(sell("0.1", "hkv4"))
    assert (await venue.position(LINEAR)).contracts == 0


async def test_testnet_is_refused_at_open(emu: Emulator) -> None:
    demo = wire_venue(emu, mode="testnet")
    with pytest.raises(VenueError, match="capi/v3/sim"):
        await demo.open()
    await demo.close()
