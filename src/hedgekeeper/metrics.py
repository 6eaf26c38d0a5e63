"""Prometheus metrics: what an operator alerts on while the daemon is alone with money.

Each `Metrics` owns its own `CollectorRegistry` instead of the process-wide default, so tests (and
a supervisor that restarts its engine) can make as many as they like without "duplicated
timeseries" errors. The engine calls the narrow methods below with domain values (Decimals); the
conversion to Prometheus floats happens here and nowhere else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from hedgekeeper.policy.dispatch import Evaluation

__all__ = ["CONTENT_TYPE", "LEG_STATES", "Metrics"]

CONTENT_TYPE: str = CONTENT_TYPE_LATEST
"""The media type `render()` produces, for the HTTP response header."""

LEG_STATES: tuple[str, ...] = ("starting", "live", "degraded", "halted", "stopped")
"""States every leg reports from the start, so `hedgekeeper_leg_state{state="halted"} == 1` can be
alerted on before any leg has ever halted (an absent series is a silent alert)."""

ROLES: tuple[str, ...] = ("starting", "standby", "active", "stopping")
"""A daemon's role in its account's fleet (a lone daemon on SQLite is active)."""

_NS = "hedgekeeper"


class Metrics:
    """The daemon's metrics in a registry of their own; rendered by the ops server's /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ("leg",)) -> Gauge:
            return Gauge(name, doc, labels, namespace=_NS, registry=reg)

        def counter(name: str, doc: str, labels: tuple[str, ...]) -> Counter:
            return Counter(name, doc, labels, namespace=_NS, registry=reg)

        self._exposure = gauge("exposure", "Asset held and counted for the leg (asset units).")
        self._target = gauge("target_contracts", "Short position the leg aims for (contracts).")
        self._position = gauge("position_contracts", "Short position held now (contracts).")
        self._drift = gauge("drift_contracts", "Target minus position (contracts).")
        self._achieved = gauge(
            "hedge_ratio_achieved", "Hedged fraction of the exposure; NaN when there is none."
        )
        self._age = gauge("data_age_seconds", "Age of the oldest input of the leg's snapshot.")
        self._state = gauge(
            "leg_state", "1 for the leg's current state, 0 for the others.", ("leg", "state")
        )
        self._orders = counter("orders", "Orders by final outcome.", ("leg", "outcome"))
        self._guards = counter("guard_trips", "Order intents stopped by a guard.", ("leg", "guard"))
        self._reconnects = counter(
            "stream_reconnects", "Websocket stream reconnects.", ("venue", "stream")
        )
        self._funding_in = counter(
            "funding_received", "Funding received, in the settle coin.", ("leg",)
        )
        self._funding_out = counter(
            "funding_paid", "Funding paid (a positive number), in the settle coin.", ("leg",)
        )
        self._role = Gauge(
            "role", "1 for the daemon's role (standby: waiting for the lease).", ("role",),
            namespace=_NS, registry=reg,
        )  # fmt: skip
        self.role("starting")
        self._states_seen: dict[str, set[str]] = {}
        # What the alert watcher sees (set off the decision path, once a tick).
        self._kill = Gauge(
            "kill_switch", "1 while the kill switch is on.", namespace=_NS, registry=reg
        )
        self._kill.set(0)
        self._under = gauge(
            "under_hedged", "1 while the short is below target by more than the deadband."
        )
        self._liq = gauge(
            "liquidation_distance", "(liquidation - mark) / mark of the short; NaN when none."
        )
        self._liq_limit = gauge(
            "liquidation_distance_limit", "The leg's configured minimum liquidation distance."
        )
        self._funding_rate = gauge(
            "funding_rate_paid", "Rate of the last settlement when the short paid it, else 0."
        )
        self._alerts = counter("alerts", "Alerts raised (sent or not), by kind.", ("kind",))
        self._alert_open = gauge(
            "alert_open",
            "1 while an alert's condition is open (sent, not resolved).",
            ("kind", "leg"),
        )
        self._value = gauge("policy_value", "The leg's value V the policy sees (quote currency).")
        self._floor = gauge("policy_floor", "The policy's floor F (quote); NaN without one.")
        self._cushion = gauge("policy_cushion", "V - F (quote); NaN without a floor.")
        self._over = gauge("policy_value_over_floor", "V / F; NaN without a floor.")
        self._target_h = gauge("policy_target_ratio", "The hedge ratio h the policy targets.")
        self._near = gauge("policy_near_floor", "1 when V is within floor_buffer of F (or below).")

    def observe_plan(
        self,
        leg: str,
        exposure: Decimal,
        target: Decimal,
        position: Decimal,
        drift: Decimal,
        achieved_ratio: Decimal | None,
    ) -> None:
        """Record one reconciliation's numbers for the leg."""
        self._exposure.labels(leg).set(float(exposure))
        self._target.labels(leg).set(float(target))
        self._position.labels(leg).set(float(position))
        self._drift.labels(leg).set(float(drift))
        # NaN rather than 0: "no exposure to hedge" must not look like "nothing hedged".
        ratio = math.nan if achieved_ratio is None else float(achieved_ratio)
        self._achieved.labels(leg).set(ratio)

    def observe_policy(self, leg: str, evaluation: Evaluation) -> None:
        """The policy's last evaluation: V, F, cushion, V/F, target h, near the floor."""

        def num(value: Decimal | None) -> float:
            return math.nan if value is None else float(value)

        self._value.labels(leg).set(num(evaluation.value))
        self._floor.labels(leg).set(num(evaluation.floor))
        self._cushion.labels(leg).set(num(evaluation.cushion))
        self._over.labels(leg).set(num(evaluation.value_over_floor))
        self._target_h.labels(leg).set(num(evaluation.h))
        self._near.labels(leg).set(1.0 if evaluation.near_floor else 0.0)

    def data_age(self, leg: str, seconds: float) -> None:
        self._age.labels(leg).set(seconds)

    def order(self, leg: str, outcome: str) -> None:
        self._orders.labels(leg, outcome).inc()

    def guard_trip(self, leg: str, guard: str) -> None:
        self._guards.labels(leg, guard).inc()

    def reconnect(self, venue: str, stream: str) -> None:
        self._reconnects.labels(venue, stream).inc()

    def funding(self, leg: str, amount: Decimal) -> None:
        """Count a funding payment: positive is received, negative is paid.

        Two monotonic counters rather than one signed gauge, so `increase()` works on both.
        """
        if amount > 0:
            self._funding_in.labels(leg).inc(float(amount))
        elif amount < 0:
            self._funding_out.labels(leg).inc(float(-amount))
        else:
            # Touch both so a leg's series exist from its first settlement on.
            self._funding_in.labels(leg)
            self._funding_out.labels(leg)

    def leg_state(self, leg: str, state: str) -> None:
        """Set the leg's state: one series per state, 1 for the current one.

        Not prometheus_client's Enum, which rejects a state it was not told of up front; an
        engine that invents a new state should still be visible, not crash the metrics.
        """
        seen = self._states_seen.setdefault(leg, set(LEG_STATES))
        seen.add(state)
        for name in seen:
            self._state.labels(leg, name).set(1.0 if name == state else 0.0)

    def watched(
        self,
        leg: str,
        under_hedged: bool,
        liquidation: Decimal | None,
        liquidation_limit: Decimal,
        funding_rate_paid: Decimal,
    ) -> None:
        """One leg's alert conditions as the alert watcher saw them."""
        self._under.labels(leg).set(1.0 if under_hedged else 0.0)
        self._liq.labels(leg).set(math.nan if liquidation is None else float(liquidation))
        self._liq_limit.labels(leg).set(float(liquidation_limit))
        self._funding_rate.labels(leg).set(float(funding_rate_paid))

    def kill_switch(self, on: bool) -> None:
        self._kill.set(1.0 if on else 0.0)

    def series(self, legs: Sequence[str], venues: Sequence[str]) -> None:
        """The counters' series from the start (0), so `increase()` sees their first step and
        a dashboard panel is not empty until the first settlement or reconnect."""
        for leg in legs:
            self.funding(leg, Decimal(0))
        for venue in venues:
            self._reconnects.labels(venue, "watch")

    def alert_series(
        self, kinds: Sequence[str], conditions: Sequence[str], legs: Sequence[str]
    ) -> None:
        """Every alert series from the start (0), so a rule on the first one is not silent."""
        for kind in kinds:
            self._alerts.labels(kind)
        for kind in conditions:
            for leg in legs:
                self._alert_open.labels(kind, leg).set(0.0)

    def alert(self, kind: str, leg: str | None, open_: bool | None) -> None:
        """Count an alert; `open_` True/False for a condition's start/end, None for an event."""
        self._alerts.labels(kind).inc()
        if open_ is not None:
            self._alert_open.labels(kind, leg or "").set(1.0 if open_ else 0.0)

    def role(self, role: str) -> None:
        for name in ROLES:
            self._role.labels(name).set(1.0 if name == role else 0.0)

    def render(self) -> bytes:
        """The text exposition of every metric, for /metrics."""
        return generate_latest(self.registry)
