"""The ccxt venue with Bitget quirks against the Bitget dialect (real ccxt, loopback only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from hedgekeeper.domain import ContractKind, OrderRequest, OrderState, Position, Prices, Side
from hedgekeeper.venues.base import (
    OrderRejected,
    Reading,
    VenueError,
)
from hedgekeeper.venues.ccxt.venue import CcxtVenue
from tests.emulators.core.account import Account
from tests.emulators.core.model import SPOT
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import bitget
from tests.venues.wire_venue import refusal_codes, wire_venue

D = Decimal
INVERSE, LINEAR = "BTC/USD:BTC", "BTC/USDT:USDT"
PROBE = "/api/v3/account/settings"


def order(side: Side, face: int, client_id: str, reduce: bool = False) -> OrderRequest:
    return OrderRequest(INVERSE, side, D(face), reduce, None, client_id)


def coin_sizes(emu: Emulator) -> list[str]:
    return [str(e.params["size"]) for e in emu.order_log]


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with bitget.emulator(Account(price=D(60000), balances={"BTC": D(1), "USDT": D(0)})) as e:
        yield e


async def test_uta_is_set_so_ccxt_never_probes_and_a_uta_config_is_refused(
    emu: Emulator, venue: CcxtVenue
) -> None:
    await venue.collateral(INVERSE)
    await venue.position(INVERSE)
    assert emu.request_count(PROBE) == 0
    uta = wire_venue(emu, unified=True)
    with pytest.raises(VenueError, match="UTA"):
        await uta.open()
    await uta.close()


async def test_the_coin_futures_market_is_counted_in_usd_of_face(venue: CcxtVenue) -> None:
    inverse = await venue.market(INVERSE)
    assert (inverse.kind, inverse.contract_size, inverse.amount_step) == (
        ContractKind.INVERSE,
        1,
        1,
    )
    assert inverse.min_amount == 75  # 0.001 BTC x 60,000 x 1.25
    linear = await venue.market(LINEAR)
    assert (linear.contract_size, linear.amount_step, linear.settle) == (1, D("0.001"), "USDT")


async def test_an_increase_goes_out_as_coin_at_the_mark_and_a_cover_at_the_entry(
    emu: Emulator, venue: CcxtVenue
) -> None:
    report = await venue.place(order(Side.SELL, 30000, "hkab0000000001"))
    assert coin_sizes(emu) == ["0.5"] and report.filled == 30000
    assert (await venue.position(INVERSE)).contracts == -30000
    await emu.set_price(D(50000))  # the face stays: 0.5 BTC at the 60,000 entry
    assert (await venue.position(INVERSE)).contracts == -30000
    cover = await venue.place(order(Side.BUY, 12000, "hkab0000000002", reduce=True))
    assert coin_sizes(emu)[1] == "0.2" and cover.filled == 12000  # 12,000 / 60,000 entry
    assert (await venue.position(INVERSE)).contracts == -18000
    assert emu.order_log[1].params["reduceOnly"] == "YES"


async def test_a_face_below_the_coin_minimum_is_refused_before_sending(
    emu: Emulator, venue: CcxtVenue
) -> None:
    with pytest.raises(OrderRejected, match="below the minimum"):
        await venue.place(order(Side.SELL, 50, "small1"))
    assert emu.order_log == []


async def test_an_unmapped_duplicate_40786_is_a_duplicate_and_40762_is_margin(
    emu: Emulator, venue: CcxtVenue
) -> None:
    once, too_big = order(Side.SELL, 6000, "dup1"), order(Side.SELL, 6_000_000, "big1")
    codes = await refusal_codes(venue, once, too_big)
    assert codes == ("40786", "40762")
    assert await venue.order(INVERSE, "never1") is None
    found = await venue.order(INVERSE, "dup1")
    assert found is not None and found.state is OrderState.FILLED and found.filled == 6000


async def test_settings_are_read_and_set_only_where_they_differ(
    emu: Emulator, venue: CcxtVenue
) -> None:
    got = await venue.ensure_settings(INVERSE, D(1), "cross")
    assert (got.leverage, got.margin_mode, got.one_way, got.unified) == (1, "cross", True, False)
    sets = emu.request_count("/api/v2/mix/account/set-margin-mode")
    await venue.place(order(Side.SELL, 6000, "s1"))
    await venue.ensure_settings(INVERSE, D(1), "cross")  # a position is open: nothing is sent
    assert emu.request_count("/api/v2/mix/account/set-margin-mode") == sets


async def test_wallets_spot_apart_and_transfer_to_coin_futures(
    emu: Emulator, venue: CcxtVenue
) -> None:
    await emu.deposit("BTC", D("0.4"), SPOT)
    assert (await venue.spot("BTC")).value == D("0.4")
    before = await venue.collateral(INVERSE)
    await venue.transfer_to_derivatives("BTC", D("0.4"))
    assert (await venue.collateral(INVERSE)).wallet == before.wallet + D("0.4")
    assert (await venue.spot("BTC")).value == 0


async def test_funding_from_the_bills(emu: Emulator, venue: CcxtVenue) -> None:
    await venue.place(order(Side.SELL, 30000, "f1"))
    received = await emu.apply_funding(D("0.0001"))
    (event,) = await venue.funding(INVERSE, 0)
    assert event.amount == received > 0


async def test_watch_reads_the_mark_from_the_ticker_push_and_coin_futures_streams(
    emu: Emulator, venue: CcxtVenue
) -> None:
    await venue.place(order(Side.SELL, 30000, "w1"))
    seen: dict[str, Reading] = {}
    async for reading in venue.watch(INVERSE, "BTC"):
        seen[type(reading).__name__] = reading
        if len(seen) == 3:
            break
    prices, position = seen["Prices"], seen["Position"]
    assert isinstance(prices, Prices) and prices.mark == 60000
    assert isinstance(position, Position) and position.contracts == -30000
    assert "Collateral" in seen
