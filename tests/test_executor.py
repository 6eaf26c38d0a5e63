"""The executor: one idempotent order per intent, settled by client id when the answer is lost."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from hedgekeeper.config import SimConfig
from hedgekeeper.domain import Intent, OrderRequest, OrderState, Side
from hedgekeeper.executor import Executor
from hedgekeeper.journal import Journal
from hedgekeeper.venues.base import InsufficientMargin, OutcomeUnknown, VenueUnavailable
from hedgekeeper.venues.sim import SimVenue
from tests.fakes import FaultyVenue

D = Decimal
SYMBOL = "BTC/USD:BTC"


def sell(contracts: str = "1000") -> Intent:
    return Intent("btc", SYMBOL, Side.SELL, D(contracts), False, None, "test sell")


@pytest.fixture
def venue() -> FaultyVenue:
    return FaultyVenue(SimVenue("sim", SimConfig(steps=5)))


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "j.sqlite")


def executor(venue: FaultyVenue, journal: Journal) -> Executor:
    return Executor(venue, journal, venue.now, lookup_attempts=3, lookup_delay=0)  # type: ignore[arg-type]


async def test_a_plain_fill_is_journaled_with_its_intent(
    venue: FaultyVenue, journal: Journal
) -> None:
    outcome = await executor(venue, journal).execute(sell())
    assert outcome.state is OrderState.FILLED and outcome.filled == D(-1000)
    assert venue.placed[0].client_id == outcome.client_id
    assert journal.filled_position("btc") == D(-1000) == venue.exchange.position(SYMBOL).contracts


async def test_a_timeout_after_execution_is_found_by_client_id_and_not_resent(
    venue: FaultyVenue, journal: Journal
) -> None:
    venue.place_faults.append((OutcomeUnknown("timed out"), True))
    outcome = await executor(venue, journal).execute(sell())
    assert outcome.state is OrderState.FILLED and outcome.filled == D(-1000)
    assert len(venue.placed) == 1 and len(venue.exchange.orders) == 1
    assert journal.unfinished() == []


async def test_a_request_that_never_arrived_is_settled_as_rejected(
    venue: FaultyVenue, journal: Journal
) -> None:
    venue.place_faults.append((VenueUnavailable("502"), False))
    outcome = await executor(venue, journal).execute(sell())
    assert outcome.state is OrderState.REJECTED and "never placed" in outcome.message
    assert venue.exchange.orders == () and journal.unfinished() == []


async def test_lookups_that_fail_leave_the_order_unknown_and_open(
    venue: FaultyVenue, journal: Journal
) -> None:
    venue.place_faults.append((OutcomeUnknown("timed out"), True))
    venue.lookup_faults.extend([VenueUnavailable("down")] * 3)
    outcome = await executor(venue, journal).execute(sell())
    assert outcome.state is OrderState.UNKNOWN and outcome.failed
    assert [o.client_id for o in journal.unfinished()] == [outcome.client_id]
    # Recovery later settles it from the exchange, without sending anything new.
    [recovered] = await executor(venue, journal).recover("btc")
    assert recovered.state is OrderState.FILLED and len(venue.placed) == 1


async def test_a_rejection_is_final(venue: FaultyVenue, journal: Journal) -> None:
    venue.place_faults.append((InsufficientMargin("110007 not enough", "110007"), False))
    outcome = await executor(venue, journal).execute(sell())
    assert outcome.state is OrderState.REJECTED and "110007" in outcome.message
    assert journal.unfinished() == []


async def test_recovery_settles_intents_written_before_a_crash(
    venue: FaultyVenue, journal: Journal
) -> None:
    # Crash 1: intent written, request never sent. Crash 2: sent and filled, answer lost.
    never_sent = journal.open_intent(sell("500"), venue.now(), "sim")
    sent = journal.open_intent(sell("700"), venue.now(), "sim")
    await venue.inner.place(OrderRequest(SYMBOL, Side.SELL, D(700), False, None, sent.client_id))
    outcomes = {o.client_id: o for o in await executor(venue, journal).recover("btc")}
    assert outcomes[never_sent.client_id].state is OrderState.REJECTED
    assert outcomes[sent.client_id].state is OrderState.FILLED
    assert journal.filled_position("btc") == D(-700) == venue.exchange.position(SYMBOL).contracts
    assert venue.placed == []  # recovery only looks; it never re-sends


async def test_the_intent_is_committed_before_the_order_is_sent(
    venue: FaultyVenue, journal: Journal
) -> None:
    """A crash during `place()` must leave the intent on disk, or recovery never asks about it."""
    seen: list[tuple[str, str]] = []
    send = venue.place

    async def place(request: OrderRequest) -> object:
        # Another connection sees only what was committed, as a restarted daemon would.
        other = sqlite3.connect(journal.path)
        try:
            seen.extend(other.execute("SELECT client_id, state FROM intents").fetchall())
        finally:
            other.close()
        return await send(request)

    venue.place = place  # type: ignore[method-assign]
    outcome = await executor(venue, journal).execute(sell())
    assert seen == [(outcome.client_id, OrderState.PENDING.value)]


async def test_each_leg_recovers_only_the_intents_it_sent_to_its_own_venue(
    journal: Journal,
) -> None:
    """Leg b's order lives at venue b: asked at venue a, "not found" would journal it as never
    placed while venue b holds the position."""
    venue_a, venue_b = SimVenue("a", SimConfig(steps=5)), SimVenue("b", SimConfig(steps=5))
    journal.open_intent(sell("300"), venue_b.now(), "b")  # leg "btc" is in neither executor
    leg_b = Intent("b", SYMBOL, Side.SELL, D(700), False, None, "b's sell")
    sent = journal.open_intent(leg_b, venue_b.now(), "b")
    await venue_b.place(OrderRequest(SYMBOL, Side.SELL, D(700), False, None, sent.client_id))
    # The restart: every leg's executor recovers, leg a's first.
    at_a = Executor(venue_a, journal, venue_a.now, lookup_attempts=2, lookup_delay=0)
    at_b = Executor(venue_b, journal, venue_b.now, lookup_attempts=2, lookup_delay=0)
    assert await at_a.recover("a") == []
    [settled] = await at_b.recover("b")
    assert settled.client_id == sent.client_id and settled.state is OrderState.FILLED
    assert journal.filled_position("b") == D(-700) == venue_b.exchange.position(SYMBOL).contracts
    # Leg "btc"'s intent is nobody's here: left for a person, not settled by a guess.
    assert [o.leg for o in journal.unfinished()] == ["btc"]
