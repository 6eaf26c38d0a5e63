"""Process plumbing: venues, legs, signals, the kill switch, sd_notify, the ops server, shutdown.

The daemon's wiring reads top to bottom in `Daemon.run`; each component gets only what it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from hedgekeeper import fleet
from hedgekeeper.alerting import Alerting
from hedgekeeper.alerts import AlertKind
from hedgekeeper.config import Settings
from hedgekeeper.engine import LIVE_STATES, LegEngine
from hedgekeeper.fleet import Role
from hedgekeeper.journal import Journal, JournalError, open_store
from hedgekeeper.journal_schema import Dialect
from hedgekeeper.metrics import Metrics
from hedgekeeper.notify import Notifier
from hedgekeeper.ops import OpsServer
from hedgekeeper.terminal import RunSummary, heartbeat
from hedgekeeper.venues.base import Venue
from hedgekeeper.venues.paper import PaperVenue
from hedgekeeper.venues.registry import make_venue

log = structlog.get_logger("hedgekeeper")

SHUTDOWN_GRACE = 8.0  # seconds for the order in flight; systemd and Docker allow 10
ALERT_GRACE = 1.5  # for the "stopped" alert, within the same 10 s


class KillSwitch:
    """Halts all trading, not the daemon: a file that exists, or SIGUSR1 (SIGUSR2 resumes)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.by_signal = False

    def __call__(self) -> bool:
        return self.by_signal or (self.path is not None and self.path.exists())


def build_venues(settings: Settings) -> dict[str, Venue]:
    """Only venues a leg uses; in dry-run every exchange other than the sim is paper-wrapped."""
    used = {leg.perp.venue for leg in settings.legs}
    used |= {s.venue for leg in settings.legs for s in leg.spot if s.venue}
    venues: dict[str, Venue] = {}
    for name in sorted(used):
        cfg = settings.venues[name]
        venue = make_venue(name, cfg, settings.mode)
        if settings.mode == "dry-run" and cfg.exchange != "sim":
            venue = PaperVenue(venue)
        venues[name] = venue
    return venues


class Daemon:
    def __init__(
        self, settings: Settings, duration: float | None = None, fresh_journal: bool = False
    ) -> None:
        self.settings = settings
        self.duration = duration
        self.fresh_journal = fresh_journal  # the embedded demo: a new sim, so a new journal
        self.stop = asyncio.Event()
        self.kill = KillSwitch(settings.kill_file)
        self.metrics = Metrics()
        self.notifier = Notifier()
        self.alerts = Alerting(settings.alerts, self.metrics, settings.alerts.url_values())
        self.engines: list[LegEngine] = []
        self.ops_port: int | None = None
        self.venues: dict[str, Venue] = {}
        self.role = Role.STARTING
        self.role_changed = asyncio.Event()  # for whoever waits on a takeover
        self.journal: Journal | None = None

    def status(self) -> dict[str, Any]:
        journal = self.journal
        return {
            "mode": self.settings.mode,
            "role": self.role.value,
            "lease_epoch": journal.epoch if journal and self.role is Role.ACTIVE else None,
            "kill_switch": self.kill(),
            "legs": [e.status() for e in self.engines],
        }

    def health(self) -> tuple[bool, str]:
        """Alive: a standby waiting for the lease is (liveness must not restart it)."""
        if self.role is Role.STANDBY:
            return True, "standby"
        if not self.engines:
            return False, self.role.value
        bad = [why for ok, why in (e.healthy() for e in self.engines) if not ok]
        return (not bad, "; ".join(bad) or "ok")

    def ready(self) -> tuple[bool, str]:
        """Ready: the active daemon keeping its hedge (a standby serves no traffic)."""
        if self.role is not Role.ACTIVE:
            return False, self.role.value
        return self.health()

    def _become(self, role: Role) -> None:
        if role is not self.role:
            log.info("role", role=role.value, ops_port=self.ops_port)
            self.role_changed.set()
        self.role = role
        self.metrics.role(role.value)

    def summary(self) -> str:
        return "; ".join(
            f"{e.leg.name} {e.state} pos {e.status()['position']} target {e.status()['target']}"
            for e in self.engines
        )

    async def run(self) -> int:
        store = open_store(
            self.settings.journal, self.settings.journal_secret(), fresh=self.fresh_journal
        )
        shared = store.dialect is Dialect.POSTGRESQL
        self.venues = venues = build_venues(self.settings)
        self._signals()
        code = 0
        ops = None
        try:
            ops = await self._ops()  # early: a standby reports as one
            for venue in venues.values():
                await venue.open()
            identities = {name: await venue.identity() for name, venue in venues.items()}
            account = fleet.account_key(self.settings, identities) if shared else ""
            self.journal = journal = Journal(store, account=account)
            journal.claim(identities)
            cfg = self.settings.fleet
            waiting = lambda: self._become(Role.STANDBY)  # noqa: E731
            if await fleet.acquire(journal, cfg.lease_poll, self.stop, waiting):
                self.engines = [
                    LegEngine(leg, venues, journal, self.metrics, self.kill)
                    for leg in self.settings.legs
                ]
                self._become(Role.ACTIVE)
                try:
                    await self._trade(journal, venues, cfg.lease_check if shared else None)
                except* JournalError as lost:
                    # No new intent can be written: stop everything at once, and let the
                    # supervisor start this daemon again (as a standby, if another took over).
                    log.error("lease_lost", reason=str(lost.exceptions[0]))
                    code = fleet.LEASE_LOST_EXIT
        finally:
            self._become(Role.STOPPING)
            await self.alerts.close(ALERT_GRACE)
            if ops is not None:
                await ops.stop()
            for venue in venues.values():
                with contextlib.suppress(Exception):
                    await venue.close()
            store.close()
            self.notifier.close()
        log.info("daemon_stopped", code=code)
        return code

    async def _trade(
        self, journal: Journal, venues: dict[str, Venue], lease_check: float | None
    ) -> None:
        run = RunSummary(journal)
        # Start and recover outside the task group, so their errors (a policy the leg cannot
        # hold) reach the command as themselves; intents are fenced there anyway.
        for engine in self.engines:
            await engine.start()
        self.metrics.series([e.leg.name for e in self.engines], sorted(venues))
        self.alerts.start()
        self.alerts.event(AlertKind.STARTED, None, "; ".join(self._legs()), self._now())
        for engine in self.engines:  # crash recovery before any new decision
            for outcome in await engine.executor.recover(engine.leg.name):
                log.info("recovered", client_id=outcome.client_id, state=outcome.state.value)
                self.alerts.event(
                    AlertKind.RECOVERED,
                    engine.leg.name,
                    f"order {outcome.client_id} settled as {outcome.state.value} "
                    f"({outcome.filled} contracts filled) {outcome.message}".strip(),
                    self._now(),
                )
            await engine.refresh()
        self._orphans(journal)
        run.begin()
        async with asyncio.TaskGroup() as tasks:
            if lease_check is not None:
                tasks.create_task(fleet.keep(journal, lease_check, self.stop))
            log.info(
                "daemon_ready", legs=[e.leg.name for e in self.engines], ops_port=self.ops_port
            )
            clocks = [tasks.create_task(c()) for c in self._clocks(venues)]
            legs = [
                tasks.create_task(
                    e.run(self.stop, self.settings.venues[e.leg.perp.venue].rest_interval)
                )
                for e in self.engines
            ]
            tasks.create_task(self._heartbeat())
            tasks.create_task(
                heartbeat(self.engines, self.stop, self.settings.log.heartbeat_seconds)
            )
            tasks.create_task(self.alerts.watch(self.engines, self.kill, self.stop))
            await self.stop.wait()
            self.notifier.stopping("stopping: finishing the order in flight")
            log.info("daemon_stopping")
            _, pending = await asyncio.wait(legs, timeout=SHUTDOWN_GRACE)
            for task in [*pending, *clocks]:
                task.cancel()
        run.log([e.status() for e in self.engines])
        self.alerts.event(AlertKind.STOPPED, None, self.summary() or "stopped", self._now())

    def _orphans(self, journal: Journal) -> None:
        """Say which unsettled intents no leg recovers: sent by a leg, or to a venue, that this
        config no longer has. Only that venue can settle them, so a person must."""
        venue_of = {e.leg.name: e.leg.perp.venue for e in self.engines}
        for intent in journal.unfinished():
            if intent.leg in venue_of and intent.venue in (None, venue_of[intent.leg]):
                continue  # its leg's executor tried; an unknown outcome is retried by it
            log.error(
                "intent_unsettled",
                client_id=intent.client_id,
                leg=intent.leg,
                venue=intent.venue,
                reason="no leg of this config trades at that venue: settle it there by hand",
            )

    def _now(self) -> float:
        return self.engines[0].perp.now() if self.engines else 0.0

    def _legs(self) -> list[str]:
        return [
            f"{self.settings.mode}: leg {leg.name} hedges {leg.hedge_text()} of {leg.asset} "
            f"with {leg.perp.symbol} on {leg.perp.venue}"
            for leg in self.settings.legs
        ]

    def _signals(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stop.set)
        loop.add_signal_handler(signal.SIGINT, self.stop.set)
        loop.add_signal_handler(signal.SIGUSR1, self._kill, True)
        loop.add_signal_handler(signal.SIGUSR2, self._kill, False)
        if self.duration is not None:
            loop.call_later(self.duration, self.stop.set)

    def _kill(self, on: bool) -> None:
        self.kill.by_signal = on
        log.warning("kill_switch", on=on, by="signal")

    async def _ops(self) -> OpsServer | None:
        cfg = self.settings.ops
        if not cfg.enabled:
            return None
        server = OpsServer(
            cfg.host, cfg.port, self.health, self.status, self.metrics, ready=self.ready
        )
        self.ops_port = await server.start()
        return server

    def _clocks(self, venues: dict[str, Venue]) -> list[Callable[[], Any]]:
        return [v.run_clock for v in venues.values() if hasattr(v, "run_clock")]

    async def _heartbeat(self) -> None:
        """WATCHDOG=1 from the main loop, so a stuck event loop gets the unit restarted."""
        interval = min(self.notifier.watchdog_interval() or 5.0, 5.0)
        ready = False
        while not self.stop.is_set():
            # READY=1 once every leg has decided on fresh data: systemd then knows the hedge is
            # being kept, not merely that the process started.
            if not ready and all(e.state in LIVE_STATES for e in self.engines):
                self.notifier.ready(self.summary())
                log.info("legs_live", legs=[e.leg.name for e in self.engines])
                ready = True
            if ready:
                self.notifier.watchdog()
                self.notifier.status(self.summary())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), interval if ready else 0.1)
