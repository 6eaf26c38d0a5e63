"""A wallet paired with the mark its equity is at: on the port, and on a venue that polls it."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hedgekeeper.domain import Collateral
from hedgekeeper.venues.pairing import ROUNDS, read_pair
from hedgekeeper.venues.sim import SimVenue
from tests.fakes import MovingMark, sim_config

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
