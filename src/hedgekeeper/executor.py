"""Intent -> one idempotent order -> a settled outcome in the journal.

Three outcomes, not two: an order request that timed out may have been executed, so it is looked
up by its client id before anything else is sent, and the leg stays blocked until it is settled.
The exchange's order id is journaled the moment an answer gives it, before the order is polled or
cancelled, and every later lookup (recovery after a crash too) passes it to the venue: some
exchanges look an order up by their own id only. An order the exchange gave an id is never taken
for one that did not arrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import structlog

from hedgekeeper.domain import Intent, OrderReport, OrderRequest, OrderState
from hedgekeeper.journal import Journal, OpenIntent
from hedgekeeper.venues.base import (
    DuplicateClientId,
    OrderRejected,
    OutcomeUnknown,
    Venue,
    VenueError,
    VenueUnavailable,
)

log = structlog.get_logger("hedgekeeper.executor")


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an intent ended: `filled` is signed contracts; `state` UNKNOWN means still unsettled."""

    intent_id: int
    client_id: str
    state: OrderState
    filled: Decimal
    message: str = ""

    @property
    def failed(self) -> bool:
        return self.state in (OrderState.REJECTED, OrderState.UNKNOWN)


class Executor:
    def __init__(
        self,
        venue: Venue,
        journal: Journal,
        clock: Callable[[], float],
        lookup_attempts: int = 5,
        lookup_delay: float = 0.2,
    ) -> None:
        self.venue = venue
        self.journal = journal
        self.clock = clock
        self.lookup_attempts = lookup_attempts
        self.lookup_delay = lookup_delay

    async def execute(self, intent: Intent) -> Outcome:
        opened = self.journal.open_intent(intent, self.clock(), self.venue.name)
        request = OrderRequest(
            symbol=intent.symbol,
            side=intent.side,
            contracts=intent.contracts,
            reduce_only=intent.reduce_only,
            limit_price=intent.limit_price,
            client_id=opened.client_id,
        )
        log.info(
            "order_sent",
            leg=intent.leg,
            symbol=intent.symbol,
            client_id=opened.client_id,
            side=intent.side.value,
            contracts=str(intent.contracts),
            reduce_only=intent.reduce_only,
            limit=None if intent.limit_price is None else str(intent.limit_price),
        )
        try:
            report = await self.venue.place(request)
        except DuplicateClientId:
            # The id reached the exchange before: what it did then is the truth.
            return await self.settle(opened)
        except OrderRejected as exc:
            return self._reject(opened, str(exc))
        except (OutcomeUnknown, VenueUnavailable) as exc:
            self.journal.mark(opened, OrderState.UNKNOWN, self.clock())
            log.warning("order_outcome_unknown", client_id=opened.client_id, error=str(exc))
            return await self.settle(opened)
        return await self._follow(opened, report)

    def _reject(self, opened: OpenIntent, message: str) -> Outcome:
        report = OrderReport(
            opened.client_id,
            OrderState.REJECTED,
            Decimal(0),
            None,
            Decimal(0),
            self.clock(),
            message=message,
        )
        self.journal.record(opened, report)
        log.warning("order_rejected", client_id=opened.client_id, reason=message)
        return Outcome(opened.id, opened.client_id, OrderState.REJECTED, Decimal(0), message)

    async def _follow(self, opened: OpenIntent, report: OrderReport) -> Outcome:
        """An accepted order that is not final yet (a resting limit) is polled, then cancelled,
        by the exchange id the answer gave, committed first (a crash while it rests must not
        lose it)."""
        if not report.state.final:
            if report.exchange_id is not None and report.exchange_id != opened.exchange_id:
                opened = self.journal.keep_exchange_id(opened, report.exchange_id, self.clock())
            report = await self._poll_or_cancel(opened) or report
        signed = self.journal.record(opened, report)
        state = report.state if report.state.final else OrderState.UNKNOWN
        log.info(
            "order_done",
            leg=opened.leg,
            symbol=opened.symbol,
            client_id=opened.client_id,
            state=state.value,
            filled=str(signed),
            price=str(report.average_price),
            fee=str(report.fee),
        )
        return Outcome(opened.id, opened.client_id, state, signed, report.message)

    async def _poll_or_cancel(self, opened: OpenIntent) -> OrderReport | None:
        for _ in range(self.lookup_attempts):
            await asyncio.sleep(self.lookup_delay)
            try:
                found = await self.venue.order(opened.symbol, opened.client_id, opened.exchange_id)
            except VenueError:
                continue
            if found is not None and found.state.final:
                return found
        try:
            return await self.venue.cancel(opened.symbol, opened.client_id, opened.exchange_id)
        except VenueError:
            return None

    async def settle(self, opened: OpenIntent) -> Outcome:
        """Find out what became of an order whose answer we never got (or whose end we never
        read), by its client id and the exchange's id of it when the journal has one."""
        unseen = 0
        for attempt in range(self.lookup_attempts):
            if attempt:
                await asyncio.sleep(self.lookup_delay * attempt)
            try:
                found = await self.venue.order(opened.symbol, opened.client_id, opened.exchange_id)
            except VenueError as exc:
                log.warning("order_lookup_failed", client_id=opened.client_id, error=str(exc))
                continue
            if found is not None:
                return await self._follow(opened, found)
            unseen += 1
        if unseen == self.lookup_attempts and opened.exchange_id is None:
            # Every lookup answered "never seen": the request did not reach the exchange.
            return self._reject(opened, "not found at the exchange by client id: never placed")
        why = "could not reach the exchange to settle the order"
        if unseen == self.lookup_attempts:  # it did arrive: it had an id there
            why = f"the exchange gave it id {opened.exchange_id} but does not find it now"
        return Outcome(opened.id, opened.client_id, OrderState.UNKNOWN, Decimal(0), why)

    async def recover(self, leg: str) -> list[Outcome]:
        """Crash recovery: settle every intent of `leg` sent to this executor's venue that the
        journal does not know the end of. Only the venue that received an order can say it never
        did: asked elsewhere, "not found" would journal a live order as never placed."""
        outcomes = []
        for opened in self.journal.unfinished(leg, self.venue.name):
            log.info("recovering_intent", client_id=opened.client_id, state=opened.state.value)
            outcomes.append(await self.settle(opened))
        return outcomes
