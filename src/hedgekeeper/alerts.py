"""Alerts: what needs a person, as one message when it starts and one when it is over.

This module is the pure part: the kinds of alert (an enum other work extends: the floor policy
raises FLOOR_*, the fleet's lease raises FOREIGN_ORDER) and `AlertBook`, which turns a stream of
observations ("degraded: yes, at t") into messages, deduplicated and rate-limited, with a
"resolved" message once a condition has stayed clear. Time is passed in (the venue's clock, so
the sim's fast clock works), and nothing here sends: `alerting` does, off the decision path.

A flapping condition sends once: it stays open until it has been clear for `settle` seconds,
so on/off/on within that time is one incident, not three.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["KINDS", "Alert", "AlertBook", "AlertKind", "KindInfo", "Timing"]


class AlertKind(StrEnum):
    UNDER_HEDGED = "under_hedged"
    DEGRADED = "degraded"
    HALTED = "halted"
    KILL_SWITCH = "kill_switch"
    LIQUIDATION = "liquidation"
    FLOOR_BUFFER = "floor_buffer"  # the leg's value within the floor's buffer (hedge policies)
    FLOOR_BREACHED = "floor_breached"  # the leg's value below its floor (hedge policies)
    FUNDING = "funding"
    STARTED = "started"
    STOPPED = "stopped"
    RECOVERED = "recovered"
    FOREIGN_ORDER = "foreign_order"  # an order of another hedgekeeper journal on the account


@dataclass(frozen=True, slots=True)
class KindInfo:
    title: str
    resolved_title: str | None  # None: a one-off event, never "resolved"
    severity: str  # apprise's notify type: info | success | warning | failure


KINDS: dict[AlertKind, KindInfo] = {
    AlertKind.UNDER_HEDGED: KindInfo("under-hedged beyond the deadband", "hedged again", "warning"),
    AlertKind.DEGRADED: KindInfo(
        "degraded: data stale or the exchange unreachable, holding", "data fresh again", "failure"
    ),
    AlertKind.HALTED: KindInfo("circuit breaker halted the leg", "trading again", "failure"),
    AlertKind.KILL_SWITCH: KindInfo(
        "kill switch ON: all trading halted", "kill switch off", "warning"
    ),
    AlertKind.LIQUIDATION: KindInfo(
        "liquidation closer than its limit", "liquidation distance back above its limit", "failure"
    ),
    AlertKind.FLOOR_BUFFER: KindInfo(
        "value within the floor's buffer", "above the buffer", "warning"
    ),
    AlertKind.FLOOR_BREACHED: KindInfo("value below the floor", "back above the floor", "failure"),
    AlertKind.FUNDING: KindInfo(
        "funding paid above the alert rate", "funding back below the rate", "warning"
    ),
    AlertKind.STARTED: KindInfo("daemon started", None, "info"),
    AlertKind.STOPPED: KindInfo("daemon stopped", None, "info"),
    AlertKind.RECOVERED: KindInfo("recovered an order after a crash", None, "warning"),
    AlertKind.FOREIGN_ORDER: KindInfo(
        "an order from another hedgekeeper journal is on the account", None, "failure"
    ),
}


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    leg: str | None
    detail: str
    at: float
    resolved: bool = False
    suppressed: int = 0  # messages the rate limit dropped since the last one sent

    @property
    def title(self) -> str:
        info = KINDS[self.kind]
        text = (info.resolved_title or info.title) if self.resolved else info.title
        where = f"{self.leg}: " if self.leg else ""
        return f"hedgekeeper: {'resolved: ' if self.resolved else ''}{where}{text}"

    @property
    def body(self) -> str:
        note = f"\n({self.suppressed} earlier alerts dropped by the rate limit)"
        return self.detail + (note if self.suppressed else "")

    @property
    def severity(self) -> str:
        return "success" if self.resolved else KINDS[self.kind].severity


@dataclass(frozen=True, slots=True)
class Timing:
    """How long a condition must last before it is sent (`delay`, per kind, default 0) and stay
    clear before it is resolved (`settle`); how many messages an hour at most."""

    delay: dict[AlertKind, float] = field(default_factory=dict)
    settle: float = 300.0
    settle_now: frozenset[AlertKind] = frozenset({AlertKind.KILL_SWITCH, AlertKind.HALTED})
    per_hour: int = 30
    event_repeat: float = 3600.0  # the same one-off event (kind, leg, detail) at most this often


@dataclass
class _Track:
    since: float | None = None  # when the current incident began
    clear_since: float | None = None
    sent: bool = False
    detail: str = ""


class AlertBook:
    """Observations in, messages out: deduplicated, held for flaps, and rate-limited."""

    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        self._tracks: dict[tuple[AlertKind, str | None], _Track] = {}
        self._events: dict[tuple[AlertKind, str | None, str], float] = {}
        self._sent: list[float] = []
        self.suppressed = 0

    def active(self) -> set[tuple[AlertKind, str | None]]:
        """Conditions whose alert has been sent and not yet resolved."""
        return {key for key, track in self._tracks.items() if track.sent}

    def observe(
        self, kind: AlertKind, leg: str | None, present: bool, detail: str, now: float
    ) -> list[Alert]:
        """A condition's state at `now`; returns the messages to send (usually none)."""
        track = self._tracks.setdefault((kind, leg), _Track())
        if present:
            track.clear_since = None
            track.detail = detail or track.detail
            if track.since is None:
                track.since = now
            if not track.sent and now - track.since >= self.timing.delay.get(kind, 0.0):
                track.sent = True
                return self._limit(Alert(kind, leg, detail, now))
            return []
        if track.since is None:
            return []
        if track.clear_since is None:
            track.clear_since = now
        settle = 0.0 if kind in self.timing.settle_now else self.timing.settle
        if now - track.clear_since < settle:
            return []
        was_sent, began = track.sent, track.since
        track.since = track.clear_since = None
        track.sent = False
        if not was_sent:
            return []
        lasted = (now - began) / 60
        return self._limit(
            Alert(kind, leg, f"{track.detail} (for {lasted:.0f} min)", now, resolved=True)
        )

    def event(self, kind: AlertKind, leg: str | None, detail: str, now: float) -> list[Alert]:
        """A one-off event (started, recovered, a foreign order); the same one at most once per
        `event_repeat` seconds."""
        key = (kind, leg, detail)
        last = self._events.get(key)
        if last is not None and now - last < self.timing.event_repeat:
            return []
        self._events[key] = now
        return self._limit(Alert(kind, leg, detail, now))

    def _limit(self, alert: Alert) -> list[Alert]:
        self._sent = [t for t in self._sent if alert.at - t < 3600.0]
        if len(self._sent) >= self.timing.per_hour:
            self.suppressed += 1
            return []
        self._sent.append(alert.at)
        out = Alert(alert.kind, alert.leg, alert.detail, alert.at, alert.resolved, self.suppressed)
        self.suppressed = 0
        return [out]
