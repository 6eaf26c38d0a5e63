"""The real daemon (`hedgekeeper.supervisor.Daemon`) in the test's event loop, on one harness.

Venues are built by the daemon itself, through the registry; each passes through the harness's
`wrap` (and a broken variant's, in the test of the suite) on its way to the legs. Nothing here
sleeps: waits are on the engine's `settled` event and the exchange's order arrivals.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

from hedgekeeper import supervisor
from hedgekeeper.config import Settings, VenueConfig
from hedgekeeper.domain import OrderState, Plan
from hedgekeeper.engine import LegEngine
from hedgekeeper.reconcile import band
from hedgekeeper.supervisor import Daemon
from hedgekeeper.venues.base import Venue
from tests.conformance.harness import Harness

Wrap = Callable[[Venue], Venue]
FINAL = {s.value for s in OrderState if s.final}


def same(venue: Venue) -> Venue:
    return venue


async def held(
    engine: LegEngine,
    position: Callable[[], Decimal],
    check: Callable[[Plan], bool] = lambda plan: True,
    timeout: float = 5.0,
) -> Plan:
    """Wait until the engine holds, nothing in flight, on a plan whose position is the
    exchange's `position()` and that passes `check`; woken by each of its decisions."""
    async with asyncio.timeout(timeout):
        while True:
            last = engine.last
            if (
                last is not None
                and last.plan is not None
                and last.holds
                and not engine.memory.in_flight
                and engine.memory.expected_position is None
                and last.plan.position == position()
                and check(last.plan)
            ):
                return last.plan
            engine.settled.clear()
            await engine.settled.wait()


@dataclass
class Run:
    daemon: Daemon
    engine: LegEngine
    settings: Settings
    harness: Harness

    async def settled(self) -> None:
        """The next time the engine holds with nothing new to read."""
        self.engine.settled.clear()
        await self.engine.settled.wait()

    async def quiet(self, check: Callable[[Plan], bool] = lambda plan: True) -> Plan:
        """Wait until the engine holds on a plan that agrees with the exchange and `check`."""
        return await held(self.engine, self.harness.position, check, self.harness.timeout)

    def band(self, plan: Plan) -> Decimal:
        assert self.engine.market is not None
        return band(plan.target, plan.mark, self.engine.leg, self.engine.market)

    def intents(self) -> dict[str, str]:
        """client id -> state, in the journal."""
        return dict(self._query("SELECT client_id, state FROM intents ORDER BY id"))

    def fills(self) -> dict[str, Decimal]:
        rows = self._query(
            "SELECT i.client_id, f.contracts FROM fills f JOIN intents i ON i.id = f.intent_id"
        )
        return {client_id: Decimal(contracts) for client_id, contracts in rows}

    def _query(self, sql: str) -> list[Any]:
        db = sqlite3.connect(self.settings.journal)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def check_books(self) -> None:
        """No client id twice, every intent settled, and the journal's fills are the exchange's."""
        placed = [p.client_id for p in self.harness.placements()]
        assert len(placed) == len(set(placed)), f"a client id reached the exchange twice: {placed}"
        intents = self.intents()
        assert [c for c in placed if c not in intents] == [], "an order without its intent"
        assert {c: s for c, s in intents.items() if s not in FINAL} == {}, "unsettled intents"
        assert self.fills() == self.harness.executed(), "journal fills differ from the exchange's"
        total = sum(self.fills().values(), Decimal(0))
        assert total == self.harness.position(), (
            f"journal fills {total}, position {self.harness.position()}"
        )


@contextlib.asynccontextmanager
async def daemon(
    h: Harness, tmp_path: Path, wrap: Wrap = same, **settings: Any
) -> AsyncIterator[Run]:
    """The daemon on `h`; yields once the opening hedge is placed and the leg holds."""
    config = h.settings(tmp_path, **settings)
    original = supervisor.make_venue

    def build(name: str, cfg: VenueConfig, mode: str) -> Venue:
        return wrap(h.wrap(original(name, cfg, mode)))

    with mock.patch.object(supervisor, "make_venue", build):
        running = Daemon(config)
        task = asyncio.create_task(running.run())
        try:
            await h.wait_for_placements(1)  # the opening hedge
            run = Run(running, running.engines[0], config, h)
            await run.quiet()
            yield run
        except BaseException:
            running.stop.set()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 10)
            raise
        running.stop.set()
        assert await asyncio.wait_for(task, 10) == 0
