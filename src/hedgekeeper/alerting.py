"""The alerts' shell: watch the legs, and send what `AlertBook` says through apprise.

Off the decision path, by construction: the watcher only reads the legs' state on its own tick,
and messages go through a bounded queue to one worker that calls apprise on a thread of its own
(not the loop's default executor, which ccxt's DNS lookups share). A service that hangs holds
that one thread; the queue fills and further alerts are dropped and counted; no order waits.
URLs are secrets: never logged, only their scheme is ever named.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, Protocol

import structlog

from hedgekeeper import guards
from hedgekeeper.alerts import KINDS, Alert, AlertBook, AlertKind, Timing
from hedgekeeper.config import AlertsConfig
from hedgekeeper.domain import LegState
from hedgekeeper.metrics import Metrics
from hedgekeeper.reconcile import band

__all__ = ["AlertUrlError", "Alerting", "build_apprise", "send_test"]

log = structlog.get_logger("hedgekeeper.alerts")
QUEUE = 64


class AlertUrlError(ValueError):
    """An alert URL apprise does not understand; the message names its position and scheme."""


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else "?"


def build_apprise(urls: Sequence[str]) -> Any:
    """An Apprise object with every URL, or AlertUrlError naming the first it refuses."""
    import apprise

    # apprise logs through the standard library; at its default levels it may name a URL.
    logging.getLogger("apprise").setLevel(logging.CRITICAL + 1)
    client = apprise.Apprise()
    for i, url in enumerate(urls):
        if not client.add(url):
            raise AlertUrlError(
                f"alerts.urls[{i}]: not a URL apprise can send to (scheme {_scheme(url)!r})"
            )
    return client


def send_test(urls: Sequence[str]) -> tuple[int, list[str]]:
    """`hedgekeeper alert-test`: one message to every service; returns (sent, failed schemes)."""
    sent, failed = 0, []
    for url in urls:
        client = build_apprise([url])
        ok = client.notify(
            body="A test alert from `hedgekeeper alert-test`: this service will hear from the "
            "daemon when it needs a person.",
            title="hedgekeeper: test alert",
            notify_type="info",
        )
        if ok:
            sent += 1
        else:
            failed.append(_scheme(url))
    return sent, failed


class LegLike(Protocol):
    """What the watcher reads of a leg engine."""

    leg: Any
    state: LegState
    why: str
    last: Any
    market: Any
    feed: Any
    perp: Any
    journal: Any
    memory: Any
    policy: Any  # policy.keeper.PolicyKeeper: its last evaluation has V, F and the buffer


def timing(cfg: AlertsConfig) -> Timing:
    return Timing(
        delay={
            AlertKind.UNDER_HEDGED: cfg.under_hedged_seconds,
            AlertKind.DEGRADED: cfg.degraded_seconds,
        },
        settle=cfg.settle_seconds,
        per_hour=cfg.max_per_hour,
    )


class Alerting:
    """The book, the queue and the worker; `watch` is the daemon's task that feeds them."""

    def __init__(self, cfg: AlertsConfig, metrics: Metrics, urls: Sequence[str] = ()) -> None:
        self.cfg = cfg
        self.metrics = metrics
        self.book = AlertBook(timing(cfg))
        self.client = build_apprise(urls) if urls else None
        self.queue: asyncio.Queue[Alert] = asyncio.Queue(QUEUE)
        self.dropped = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hedgekeeper-alerts")
        self._worker: asyncio.Task[None] | None = None
        self._foreign: dict[str, str] = {}  # the foreign orders each leg was alerted for

    # ---- raising ------------------------------------------------------------------------------

    def event(self, kind: AlertKind, leg: str | None, detail: str, now: float) -> None:
        """A one-off event: started, stopped, recovered, a foreign order on the account."""
        self.metrics.alert(kind.value, leg, None)
        self._submit(self.book.event(kind, leg, detail, now))

    def observe(
        self, kind: AlertKind, leg: str | None, present: bool, detail: str, now: float
    ) -> None:
        """A condition's state now (the floor policy calls this for FLOOR_* too)."""
        for alert in self.book.observe(kind, leg, present, detail, now):
            self.metrics.alert(kind.value, leg, not alert.resolved)
            self._submit([alert])

    def _submit(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            loud = not alert.resolved and alert.severity in ("warning", "failure")
            say = log.warning if loud else log.info
            say(
                "alert",
                leg=alert.leg,
                kind=alert.kind.value,
                detail=alert.detail,
                resolved=alert.resolved,
            )
            if self.client is None:
                continue
            try:
                self.queue.put_nowait(alert)
            except asyncio.QueueFull:
                self.dropped += 1
                log.warning("alert_dropped", kind=alert.kind.value, queued=QUEUE)

    # ---- sending ------------------------------------------------------------------------------

    def start(self) -> None:
        if self.client is not None and self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            alert = await self.queue.get()
            try:
                future = loop.run_in_executor(self._pool, self._send, alert)
                ok = await asyncio.wait_for(future, self.cfg.send_timeout_seconds)
                if not ok:
                    log.warning("alert_not_delivered", kind=alert.kind.value)
            except TimeoutError:
                log.warning("alert_send_timed_out", kind=alert.kind.value)
            except Exception as exc:  # a broken service must not end the worker
                log.warning("alert_send_failed", kind=alert.kind.value, error=type(exc).__name__)
            finally:
                self.queue.task_done()

    def _send(self, alert: Alert) -> bool:
        assert self.client is not None  # only queued when there is one
        return bool(
            self.client.notify(body=alert.body, title=alert.title, notify_type=alert.severity)
        )

    async def close(self, grace: float) -> None:
        """Give queued messages (the "stopped" one) `grace` seconds, then let go of them."""
        if self._worker is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue.join(), grace)
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ---- watching -----------------------------------------------------------------------------

    async def watch(
        self, legs: Sequence[LegLike], killed: Callable[[], bool], stop: asyncio.Event
    ) -> None:
        """Look at every leg each tick until the daemon stops."""
        conditions = [k.value for k, info in KINDS.items() if info.resolved_title is not None]
        legs_names = [engine.leg.name for engine in legs]
        self.metrics.alert_series([k.value for k in AlertKind], conditions, [*legs_names, ""])
        while not stop.is_set():
            self.check(legs, killed)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.cfg.tick_seconds)

    def check(self, legs: Sequence[LegLike], killed: Callable[[], bool]) -> None:
        if not legs:
            return
        now = legs[0].perp.now()
        on = killed()
        self.metrics.kill_switch(on)
        self.observe(AlertKind.KILL_SWITCH, None, on, "all trading halted", now)
        for engine in legs:
            self._leg(engine)

    def _leg(self, engine: LegLike) -> None:
        name, now = engine.leg.name, engine.perp.now()
        self.observe(
            AlertKind.DEGRADED, name, engine.state == LegState.DEGRADED, str(engine.why), now
        )
        foreign = engine.memory.foreign
        if foreign and self._foreign.get(name) != foreign:
            self._foreign[name] = foreign
            self.event(AlertKind.FOREIGN_ORDER, name, foreign, now)
        halted = engine.memory.halted
        self.observe(AlertKind.HALTED, name, halted is not None, str(halted or ""), now)
        under, under_why = self._under_hedged(engine)
        self.observe(AlertKind.UNDER_HEDGED, name, under, under_why, now)
        distance = self._liquidation(engine, now)
        limit = engine.leg.guards.min_liquidation_distance
        close = distance is not None and distance < limit
        detail = f"liquidation {distance:.1%} from the mark (limit {limit:.0%})" if close else ""
        self.observe(AlertKind.LIQUIDATION, name, close, detail, now)
        rate = self._funding_paid(engine)
        over = rate > self.cfg.funding_rate_above
        self.observe(
            AlertKind.FUNDING,
            name,
            over,
            f"the short paid funding at {rate:.4%} (alert above {self.cfg.funding_rate_above:.4%})",
            now,
        )
        self.metrics.watched(name, under, distance, limit, rate)
        self._floor(engine, now)

    def _floor(self, engine: LegLike, now: float) -> None:
        """A floor policy's value within its buffer of the floor, or below it (issue 13)."""
        last = getattr(engine.policy, "last", None)
        if last is None or last.floor is None:
            return
        name, value, floor = engine.leg.name, last.value, last.floor
        breached = value < floor
        near = last.near_floor  # below the floor is within the buffer too: both stay open
        self.observe(
            AlertKind.FLOOR_BUFFER,
            name,
            near,
            f"value {value:,.2f} is within {last.buffer:.1%} of the floor {floor:,.2f}",
            now,
        )
        self.observe(
            AlertKind.FLOOR_BREACHED,
            name,
            breached,
            f"value {value:,.2f} is below the floor {floor:,.2f} (V/F {value / floor:.4f})",
            now,
        )

    @staticmethod
    def _under_hedged(engine: LegLike) -> tuple[bool, str]:
        plan = engine.last.plan if engine.last else None
        if plan is None or engine.market is None or plan.drift >= 0:
            return False, ""
        width = band(plan.target, plan.mark, engine.leg, engine.market)
        if -plan.drift < width:
            return False, ""
        return True, (
            f"short {plan.position} of {plan.target} contracts, {-plan.drift} below target "
            f"(deadband {width:.0f}); last decision: {engine.why}"
        )

    @staticmethod
    def _liquidation(engine: LegLike, now: float) -> Decimal | None:
        feed = engine.feed
        if feed is None or feed.missing():
            return None
        return guards.liquidation_distance(feed.snapshot(now))

    @staticmethod
    def _funding_paid(engine: LegLike) -> Decimal:
        last = engine.journal.last_funding(engine.leg.name)
        if last is None or last[1] is None or last[0] >= 0:
            return Decimal(0)
        return Decimal(abs(last[1]))
