"""A wallet paired with the mark its equity is at: on the port, and on a venue that polls it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import pytest

from hedgekeeper.domain import Collateral, OrderRequest, Side
from hedgekeeper.feed import Feed
from hedgekeeper.venues.pairing import ROUNDS, read_pair
from hedgekeeper.venues.sim import SimVenue
from tests.emulators.core.account import Account
from tests.emulators.core.model import DERIVATIVES
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import bingx
from tests.fakes import MovingMark, leg, sim_config
from tests.venues.wire_venue import opened, wire_venue

D = Decimal
INVERSE = "BTC/USD:BTC"


def moving() -> MovingMark:
    return MovingMark(SimVenue("ex", sim_config()))


async def test_an_unmoved_mark_pairs_in_one_round() -> None:
    venue = moving()
    pair = await read_pair(venue, INVERSE, D(65000))
    assert pair.paired and pair.collateral.mark == D(65000)
    assert venue.reads == ["collateral", "prices"]


async def test_without_an_opening_mark_one_is_read_first() -> None:
    venue = moving()
    pair = await read_pair(venue, INVERSE)
    assert pair.paired and venue.reads == ["prices", "collateral", "prices"]


async def test_a_move_during_the_wallet_read_is_read_again_and_paired_at_the_new_mark() -> None:
    venue = moving()
    venue.moves = [D(70000)]
    pair = await read_pair(venue, INVERSE, D(65000))
    assert pair.paired and pair.collateral.mark == D(70000) and pair.prices.mark == D(70000)
    assert pair.marks == (D(65000), D(70000), D(70000))


async def test_a_mark_moving_during_every_round_is_not_paired_and_says_so() -> None:
    venue = moving()
    venue.moves = [D(70000), D(60000), D(55000), D(50000)]
    pair = await read_pair(venue, INVERSE, D(65000))
    assert not pair.paired and venue.reads.count("collateral") == ROUNDS
    assert "65000 -> 70000 -> 60000 -> 55000" in pair.why_unpaired()


async def test_a_wallet_that_names_its_mark_is_taken_at_its_word() -> None:
    class Named(MovingMark):
        async def collateral(self, symbol: str) -> Collateral:
            return replace(await super().collateral(symbol), mark=D(64000))

    venue = Named(SimVenue("ex", sim_config()))
    pair = await read_pair(venue, INVERSE, D(1))  # the brackets disagree; the wallet said
    assert pair.collateral.mark == D(64000) and venue.reads == ["collateral", "prices"]


# ---- a venue that polls its wallet over REST (BingX coin-M): the poll pairs it too ---------


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    start = Account(unified=True, price=D(60000), balances={"BTC": D(2)})
    async with bingx.conformance("inverse")(start) as e:
        yield e


async def test_a_polled_wallet_is_paired_with_the_mark_its_equity_is_at(emu: Emulator) -> None:
    """The mark moves while BingX answers the wallet poll: the equity (with the short's PnL) is
    at the new mark, and the feed must carry it from there, not from the ticker read before."""
    async with opened(wire_venue(emu, mode="live")) as venue:
        sold = OrderRequest(INVERSE, Side.SELL, D(1000), False, D(59000), "hkpair1")
        assert (await venue.place(sold)).filled == D(1000)
        moved = []

        def move(path: str) -> None:
            if path.endswith("/user/balance") and not moved:
                moved.append(path)
                emu.account.set_price(D(66000))

        emu.request_hooks.append(move)
        feed = Feed(leg(perp={"venue": "ex", "symbol": INVERSE}), await venue.market(INVERSE))
        async with contextlib.aclosing(venue.watch(INVERSE, "BTC")) as readings:
            async for reading in readings:  # the REST snapshot a watch starts with
                feed.apply("ex", reading)
                if not feed.missing():
                    break
        snap = feed.snapshot(venue.now())
        emu.account.set_price(snap.prices.mark)  # what BingX says the equity is at that mark
        assert moved and snap.collateral.equity == emu.account.equity(DERIVATIVES, "BTC")
        assert feed.collateral is not None and feed.collateral.mark == D(66000)
