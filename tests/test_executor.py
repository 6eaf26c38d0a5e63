"""The executor: one idempotent order per intent, settled by client id when the answer is lost."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from hedgekeeper.config import SimConfig
from hedgekeeper.domain import Intent, OrderReport, OrderRequest, OrderState, Side
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


class Resting:
    """A sim venue whose orders rest at first: `place` answers OPEN with the exchange's id, the
    first `open_polls` lookups say OPEN still. Every lookup and cancel notes the exchange id it
    was given and the ids the journal had committed by then (as a restarted daemon reads them)."""

    def __init__(self, journal: Journal, open_polls: int = 0) -> None:
        self.inner = SimVenue("sim", SimConfig(steps=5))
        self.name = "sim"
        self.journal = journal
        self.open_polls = open_polls
        self.asked: list[tuple[str, str | None, list[str | None]]] = []

    def now(self) -> float:
        return self.inner.now()

    def _committed(self) -> list[str | None]:
        other = sqlite3.connect(self.journal.path)
        try:
            return [i for (i,) in other.execute("SELECT exchange_id FROM intents ORDER BY id")]
        finally:
            other.close()

    @staticmethod
    def _resting(report: OrderReport) -> OrderReport:
        return replace(report, state=OrderState.OPEN, filled=D(0), average_price=None)

    async def place(self, request: OrderRequest) -> OrderReport:
        return self._resting(await self.inner.place(request))

    async def order(
        self, symbol: str, client_id: str, exchange_id: str | None = None
    ) -> OrderReport | None:
        self.asked.append(("order", exchange_id, self._committed()))
        found = await self.inner.order(symbol, client_id)
        if found is None or not self.open_polls:
            return found
        self.open_polls -= 1
        return self._resting(found)

    async def cancel(
        self, symbol: str, client_id: str, exchange_id: str | None = None
    ) -> OrderReport | None:
        self.asked.append(("cancel", exchange_id, self._committed()))
        return await self.inner.cancel(symbol, client_id)


def executor_for(venue: Resting) -> Executor:
    return Executor(venue, venue.journal, venue.now, lookup_attempts=2, lookup_delay=0)  # type: ignore[arg-type]


async def test_the_exchange_id_is_committed_before_the_order_is_polled(journal: Journal) -> None:
    """A crash while the order rests must leave its exchange id on disk: some exchanges (WEEX)
    look an order up by their own id only."""
    venue = Resting(journal)
    outcome = await executor_for(venue).execute(sell())
    assert outcome.state is OrderState.FILLED
    [(call, given, committed)] = venue.asked
    assert call == "order" and given == "sim-1" and committed == ["sim-1"]
    assert journal.store.query("SELECT exchange_id FROM orders") == [("sim-1",)]


async def test_a_resting_order_is_cancelled_by_its_exchange_id(journal: Journal) -> None:
    venue = Resting(journal, open_polls=2)
    await executor_for(venue).execute(sell())
    assert venue.asked == [
        ("order", "sim-1", ["sim-1"]),
        ("order", "sim-1", ["sim-1"]),
        ("cancel", "sim-1", ["sim-1"]),
    ]


async def test_recovery_looks_the_order_up_by_its_journaled_exchange_id(journal: Journal) -> None:
    venue = Resting(journal)
    opened = journal.open_intent(sell("700"), venue.now(), "sim")
    report = await venue.inner.place(
        OrderRequest(SYMBOL, Side.SELL, D(700), False, None, opened.client_id)
    )
    assert report.exchange_id is not None
    journal.keep_exchange_id(opened, report.exchange_id, venue.now())
    [recovered] = await executor_for(venue).recover("btc")
    assert recovered.state is OrderState.FILLED
    assert [given for _, given, _ in venue.asked] == [report.exchange_id]


async def test_an_order_the_exchange_gave_an_id_is_never_settled_as_never_placed(
    journal: Journal,
) -> None:
    """Every lookup says "never seen", but the exchange did answer with an id: not rejected,
    left unknown (the leg waits) with the reason."""
    venue = Resting(journal)
    opened = journal.open_intent(sell(), venue.now(), "sim")
    journal.keep_exchange_id(opened, "sim-77", venue.now())
    [outcome] = await executor_for(venue).recover("btc")
    assert outcome.state is OrderState.UNKNOWN and "gave it id sim-77" in outcome.message
    assert [(o.client_id, o.exchange_id) for o in journal.unfinished()] == [
        (opened.client_id, "sim-77")
    ]
