"""One leg's loop: watchers -> snapshot -> reconcile -> guards -> execute -> journal.

Everything that remembers or waits lives here; everything that decides lives in `reconcile` and
`guards`, which get a frozen snapshot and a frozen `GuardState` and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

import structlog

from hedgekeeper import contracts, guards, refresh, trespass, valuation
from hedgekeeper.config import LegConfig
from hedgekeeper.domain import Action, Decision, Hold, LegState, MarketSpec, Plan, Snapshot
from hedgekeeper.executor import Executor, Outcome
from hedgekeeper.feed import Feed
from hedgekeeper.guards import Guard
from hedgekeeper.journal import Journal
from hedgekeeper.metrics import Metrics
from hedgekeeper.policy.keeper import PolicyKeeper
from hedgekeeper.reconcile import band, exposure, reconcile
from hedgekeeper.venues.base import FundingUnknown, Venue, VenueError
from hedgekeeper.watch import watch_forever

log = structlog.get_logger("hedgekeeper.engine")

LIVE_STATES = frozenset({LegState.LIVE, LegState.GUARDED, LegState.KILLED})  # on fresh data
HELD_STATE = {
    Guard.KILL_SWITCH: LegState.KILLED,
    Guard.CIRCUIT_BREAKER: LegState.HALTED,
    Guard.IN_FLIGHT: LegState.LIVE,
}
QUIET_GUARDS = frozenset({Guard.OVER_HEDGE, Guard.IN_FLIGHT})  # routine: logged as information


class DecisionKey(NamedTuple):
    """What makes a decision new enough to journal: a hold is written once per kind, whatever
    its figures, so months of holds stay small."""

    action: Action
    state: LegState
    guard: Guard | None
    hold: Hold | None


@dataclass
class Memory:
    """The shell's side of the guards: what happened before this decision."""

    order_times: deque[float] = field(default_factory=lambda: deque(maxlen=256))
    failures: int = 0
    in_flight: bool = False
    expected_position: Decimal | None = None
    expected_since: float = 0.0
    halted: str | None = None
    last_exposure: Decimal | None = None
    last_position: Decimal | None = None  # as of the last decision, or as our fill left it
    foreign: str | None = None  # another hedgekeeper's orders seen on the account
    exposure_confirmed: bool = False

    def frozen(self, killed: bool) -> guards.GuardState:
        return guards.GuardState(
            order_times=tuple(self.order_times),
            failures=self.failures,
            in_flight=self.in_flight,
            awaiting_position=self.expected_position is not None,
            killed=killed,
            halted=self.halted,
            last_exposure=self.last_exposure,
            exposure_confirmed=self.exposure_confirmed,
        )


class LegEngine:
    def __init__(
        self,
        leg: LegConfig,
        venues: dict[str, Venue],
        journal: Journal,
        metrics: Metrics,
        killed: Callable[[], bool] = lambda: False,
        position_grace: float = 30.0,
        valuations: bool = True,
    ) -> None:
        """`valuations=False`: no hourly valuation rows, for a replay whose journal is thrown
        away at its end (they are a tenth of a replay's cost, and only `report` reads them)."""
        self.leg = leg
        self.venues = venues
        self.perp = venues[leg.perp.venue]
        self.journal = journal
        self.metrics = metrics
        self.killed = killed
        self.position_grace = position_grace
        self.memory = Memory()
        self.policy = PolicyKeeper(leg, journal)
        self.executor = Executor(self.perp, journal, self.perp.now)
        self.market: MarketSpec | None = None
        self.feed: Feed | None = None
        self.state = LegState.STARTING
        self.why = "starting"
        self.last: Decision | None = None
        self.last_key: DecisionKey | None = None
        self.funding_unknown: str | None = None  # why the exchange's funding cannot be read
        self.under_hedged = False
        self.settled = asyncio.Event()  # set when a step held with nothing new to read
        self.stop = asyncio.Event()  # the daemon is shutting down: no new order from here on
        self.valued: float | None = None  # when the last hourly valuation was journaled
        self.valuations = valuations

    # ---- reads ------------------------------------------------------------------------------

    async def start(self, readonly: bool = False) -> None:
        """Load the market, put the perp at the leg's leverage (unless read-only), read all."""
        self.market = await self.perp.market(self.leg.perp.symbol)
        self.feed = Feed(self.leg, self.market)
        self.policy.readonly = self.policy.readonly or readonly  # `status` writes nothing
        if readonly:
            settings = await self.perp.settings(self.market.symbol)
        else:
            settings = await self.perp.ensure_settings(
                self.market.symbol, self.leg.leverage, self.leg.margin_mode
            )
        self.feed.apply(self.leg.perp.venue, settings)
        await self.refresh()
        if not self.feed.missing():  # start (or recover) the policy now: a bad floor exits here
            self.policy.ratio(self.feed.snapshot(self.perp.now()))

    async def refresh(self, exposure_only: bool = False) -> None:
        """A REST read of every input, the collateral paired with its mark (refresh.py)."""
        assert self.feed
        await refresh.read(self.leg, self.venues, self.feed, exposure_only)

    async def collect_funding(self) -> None:
        assert self.market
        since = self.journal.last_funding_ts(self.leg.name)
        if self.funding_unknown is not None:
            return
        try:
            events = await self.perp.funding(self.market.symbol, (since or 0.0) + 1e-6)
        except FundingUnknown as exc:  # reported as unknown from now on, never as zero
            self.funding_unknown = str(exc)
            log.warning("funding_unknown", leg=self.leg.name, reason=self.funding_unknown)
            return
        for event in self.journal.fundings(self.leg.name, events):
            self.metrics.funding(self.leg.name, event.amount)

    # ---- the decision -----------------------------------------------------------------------

    async def step(self, confirmed: bool = False) -> Outcome | None:
        """One decision; returns the outcome of the order it placed, if any. `confirmed`: the
        inputs were just read over REST to check a position change no order of ours explains."""
        assert self.feed
        now = self.perp.now()
        if gaps := self.feed.missing():
            return self._hold(LegState.DEGRADED, f"waiting for {', '.join(gaps)}", Guard.STALE_DATA)
        snap = self.feed.snapshot(now)
        if guards.stale(snap, self.leg) is not None:
            # A quiet stream is not proof of a dead one: the REST truth decides (SPEC §2).
            try:
                await self.refresh()
            except VenueError as exc:
                log.warning("rest_check_failed", leg=self.leg.name, error=str(exc))
            snap = self.feed.snapshot(self.perp.now())
        unvouched = guards.unvouched(snap, self.leg)  # once: a replay decides at every point
        self._settle_expected(snap)
        if not confirmed and self._unexplained(snap):
            # A stream can deliver a position read before our own last fill (ccxt's snapshot
            # on subscribing): neither the policy nor an order sees the change until the REST
            # truth shows it too.
            try:
                await self.refresh()
            except VenueError as exc:
                why = f"could not confirm a position change: {exc}"
                return self._hold(LegState.DEGRADED, why, Guard.VENUE)
            return await self.step(confirmed=True)
        h = self.policy.ratio(snap, fresh=unvouched is None)
        decision = reconcile(snap, self.leg, h)
        self._moved(snap, decision)
        self.last = decision
        self._observe(snap, decision, valued=unvouched is None)
        if decision.holds:
            if unvouched:
                return self._hold(LegState.DEGRADED, unvouched, Guard.STALE_DATA, decision)
            self.memory.last_exposure = decision.plan.exposure if decision.plan else None
            return self._hold(LegState.LIVE, decision.reason, None, decision)
        verdict = guards.check(
            snap, self.leg, decision.intents[0], self.memory.frozen(self.killed()), h
        )
        if verdict.confirm:
            return await self._confirm(snap, decision)
        self.memory.exposure_confirmed = False
        self.under_hedged = verdict.under_hedged and not self._within_band(decision, verdict)
        if verdict.transfer is not None and await self._top_up(snap, verdict.transfer):
            why = "moved collateral for the next order"
            return self._hold(LegState.LIVE, why, Guard.MARGIN, decision, notable=False)
        if verdict.intent is None:
            state = LegState.DEGRADED if verdict.degraded else LegState.GUARDED
            if verdict.guard is not None and not verdict.degraded:
                state = HELD_STATE.get(verdict.guard, state)
            return self._hold(state, verdict.reason, verdict.guard, decision)
        if verdict.guard:
            quiet = verdict.guard is Guard.MARGIN and not self.under_hedged
            why = f"{verdict.reason} (the rest is within the deadband)" if quiet else verdict.reason
            self._trip(verdict.guard, why, self._notable(verdict.guard))
        self.memory.last_exposure = decision.plan.exposure if decision.plan else None
        if self.stop.is_set():  # e.g. SIGTERM during a confirmation read: send nothing new
            return self._hold(self.state, "stopping: no new order", None, decision)
        self._journal(Action.TRADE, verdict.intent.reason, decision, verdict.guard)
        self.state, self.why = LegState.LIVE, verdict.intent.reason
        self.metrics.leg_state(self.leg.name, self.state)
        return await self._execute(snap, verdict.intent)

    async def _confirm(self, snap: Snapshot, decision: Decision) -> Outcome | None:
        """The glitch guard: a big jump in X is believed only after a fresh REST read agrees."""
        assert self.feed and decision.plan
        why = f"exposure {decision.plan.exposure}: confirming with a REST read"
        self._trip(Guard.GLITCH, why, notable=False)  # a deposit, until REST disagrees
        try:
            await self.refresh(exposure_only=True)
        except VenueError as exc:
            why = f"could not confirm exposure: {exc}"
            return self._hold(LegState.DEGRADED, why, Guard.GLITCH, decision)
        if self.feed.unpaired:
            why = f"could not confirm exposure: {self.feed.unpaired}"
            return self._hold(LegState.DEGRADED, why, Guard.GLITCH, decision)
        fresh = exposure(self.feed.snapshot(self.perp.now()), self.leg)
        jump = decision.plan.exposure
        if not guards.jumped(jump, fresh, self.leg.guards.glitch_fraction):
            self.memory.exposure_confirmed = True
            self.memory.last_exposure = fresh  # the new level is the baseline from now on
            log.info("exposure_confirmed", leg=self.leg.name, exposure=str(fresh))
            return await self.step()
        log.warning("glitch_ignored", leg=self.leg.name, seen=str(jump), fresh=str(fresh))
        why = f"ignored a glitch: X read {jump}, REST says {fresh}"
        return self._hold(LegState.LIVE, why, Guard.GLITCH)

    async def _execute(self, snap: Snapshot, intent: Any) -> Outcome | None:
        self.memory.in_flight = True
        self.memory.order_times.append(snap.now)
        try:
            outcome = await self.executor.execute(intent)
        except VenueError as exc:
            outcome = None
            self._failed(f"order failed: {exc}")
        finally:
            self.memory.in_flight = False
        if outcome is None:
            return None
        self.metrics.order(self.leg.name, outcome.state.value)
        if outcome.failed:
            self._failed(f"{outcome.state.value}: {outcome.message}")
        else:
            self.memory.failures = 0
        if outcome.filled:
            self.memory.expected_position = snap.position.contracts + outcome.filled
            self.memory.last_position = self.memory.expected_position
            self.memory.expected_since = self.perp.now()
            with contextlib.suppress(VenueError):
                await self.refresh()
        return outcome

    def _observe(self, snap: Snapshot, decision: Decision, valued: bool) -> None:
        """What a decision shows in the metrics, and (on data fresh enough) the hourly value."""
        assert self.feed
        if decision.plan:
            p = decision.plan
            ratio = (
                (-p.position * contracts.coin_per_contract(snap.market, p.mark) / p.exposure)
                if p.exposure > 0
                else None
            )
            self.metrics.observe_plan(
                self.leg.name, p.exposure, p.target, p.position, p.drift, ratio
            )
            if valued and self.valuations:
                self._value(snap, p)
        if self.policy.last is not None:
            self.metrics.observe_policy(self.leg.name, self.policy.last)
        ages = self.feed.ages(snap.now).values()
        self.metrics.data_age(self.leg.name, max(ages, default=0.0))

    def _value(self, snap: Snapshot, plan: Plan) -> None:
        """The hourly valuation `hedgekeeper report` reads; the caller values fresh data only."""
        if self.valued is None:
            self.valued = self.journal.last_valuation_ts(self.leg.name) or -valuation.HOUR
        if not valuation.due(snap.now, self.valued):
            return
        width = band(plan.target, plan.mark, self.leg, snap.market)
        self.journal.valuation(valuation.valuation(snap, self.leg, plan, width))
        self.valued = snap.now

    def _settle_expected(self, snap: Snapshot) -> None:
        """After a fill, decide nothing until the position shows it (or a grace period ends)."""
        expected = self.memory.expected_position
        if expected is None:
            return
        if snap.position.contracts == expected:
            self.memory.expected_position = None
        elif snap.now - self.memory.expected_since > self.position_grace:
            self.journal.event(
                snap.now,
                self.leg.name,
                "position_mismatch",
                f"expected {expected}, exchange says {snap.position.contracts}",
            )
            log.warning(
                "position_mismatch",
                leg=self.leg.name,
                expected=str(expected),
                actual=str(snap.position.contracts),
            )
            self.memory.expected_position = None

    def _failed(self, why: str) -> None:
        self.memory.failures += 1
        if self.memory.failures >= self.leg.guards.breaker_failures and not self.memory.halted:
            self.memory.halted = f"{self.memory.failures} failures in a row, last: {why}"
            self.journal.event(self.perp.now(), self.leg.name, "halted", self.memory.halted)
            log.error("leg_halted", leg=self.leg.name, reason=self.memory.halted)

    async def _top_up(self, snap: Snapshot, amount: Decimal) -> bool:
        """Move spot coin to the derivatives wallet (X is unchanged); True when it moved."""
        spot = next((h.amount for h in snap.spot if h.source == self.leg.perp.venue), Decimal(0))
        amount = min(amount, spot)
        if amount <= 0 or not self.leg.guards.auto_transfer:
            return False
        try:
            await self.perp.transfer_to_derivatives(self.leg.asset, amount)
            state, message = "done", "spot -> derivatives for margin"
        except VenueError as exc:
            state, message = "failed", str(exc)
        self.journal.transfer(snap.now, self.leg.name, self.leg.asset, amount, state, message)
        log.info(
            "transfer", leg=self.leg.name, asset=self.leg.asset, amount=str(amount), state=state
        )
        with contextlib.suppress(VenueError):
            await self.refresh()
        return state == "done"

    # ---- reporting --------------------------------------------------------------------------

    def _within_band(self, decision: Decision, verdict: guards.Verdict) -> bool:
        """An increase the collateral cannot quite pay for (the fee at 1x keeps the short a few
        contracts below target) is under-hedged only when what is left exceeds the deadband."""
        plan = decision.plan
        if plan is None or self.market is None:
            return False
        left = abs(plan.drift) - (verdict.intent.contracts if verdict.intent else 0)
        return left < band(plan.target, plan.mark, self.leg, self.market)

    def _notable(self, guard: Guard) -> bool:
        """Whether a person should look: trims to h·X are routine, and so is a margin trim
        that leaves the leg within its deadband."""
        if guard is Guard.MARGIN:
            return self.under_hedged
        return guard not in QUIET_GUARDS

    def _trip(self, guard: Guard, why: str, notable: bool = True) -> None:
        self.metrics.guard_trip(self.leg.name, guard)
        assert self.feed
        self.journal.event(self.perp.now(), self.leg.name, f"guard:{guard}", why)
        say = log.warning if notable else log.info
        say("guard_tripped", leg=self.leg.name, guard=guard, reason=why)

    def _hold(
        self,
        state: LegState,
        why: str,
        guard: Guard | None,
        decision: Decision | None = None,
        notable: bool | None = None,
    ) -> Outcome | None:
        """Record a hold; returns None so `return self._hold(...)` reads as 'no order'."""
        changed = (state, guard) != (self.state, self.last_key.guard if self.last_key else None)
        routine = guard in (Guard.IN_FLIGHT, Guard.GLITCH)  # the glitch guard trips itself
        if guard is not None and not routine and changed:
            self._trip(guard, why, self._notable(guard) if notable is None else notable)
        self.state, self.why = state, why
        self.metrics.leg_state(self.leg.name, state)
        self._journal(Action.HOLD, why, decision, guard)
        return None

    def _journal(
        self, action: Action, why: str, decision: Decision | None, guard: Guard | None
    ) -> None:
        """Trades always; holds only when their kind changes (state, guard, the reconciler's
        hold), never by their figures, or a replay would journal every hour."""
        key = DecisionKey(action, self.state, guard, decision.hold if decision else None)
        if action is Action.HOLD and key == self.last_key:
            return
        self.last_key = key
        plan = decision.plan if decision else None
        self.journal.decision(self.perp.now(), self.leg.name, action, why, plan, guard)
        log.info("decision", leg=self.leg.name, action=action, guard=guard, reason=why)

    def status(self) -> dict[str, Any]:
        plan = self.last.plan if self.last else None
        ages = self.feed.ages(self.perp.now()) if self.feed else {}
        return {
            "leg": self.leg.name,
            "state": self.state,
            "reason": self.why,
            "symbol": self.leg.perp.symbol,
            "contract_kind": self.market.kind.value if self.market else None,
            "contract_size": str(self.market.contract_size) if self.market else None,
            "hedge_ratio": str(
                plan.ratio if plan and plan.ratio is not None else self.policy.held()
            ),
            **self.policy.view(),
            "exposure": str(plan.exposure) if plan else None,
            "target": str(plan.target) if plan else None,
            "position": str(plan.position) if plan else None,
            "drift": str(plan.drift) if plan else None,
            "mark": str(plan.mark) if plan else None,
            "guard": self.last_key.guard if self.last_key else None,  # who held it last, if any
            "under_hedged": self.under_hedged,
            "halted": self.memory.halted,
            "data_age_seconds": {k: round(v, 3) for k, v in ages.items()},
            "funding_total": (
                "unknown"
                if self.funding_unknown is not None
                else str(self.journal.funding_total(self.leg.name))
            ),
        }

    def healthy(self) -> tuple[bool, str]:
        """Live and fresh. A leg a guard holds on fresh data (margin, kill switch) is healthy:
        restarting the process would not help it; status and metrics say why it holds."""
        if self.state not in LIVE_STATES:
            return False, f"{self.leg.name}: {self.state}: {self.why}"
        ages = self.feed.ages(self.perp.now()) if self.feed else {}
        limit = self.leg.guards.max_age_seconds
        stale = [f"{k} {v:.0f}s old" for k, v in ages.items() if v > limit]
        if stale:
            return False, f"{self.leg.name}: stale data: {', '.join(stale)}"
        return True, "ok"

    # ---- the loop ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, rest_interval: float) -> None:
        """Watch, and decide after every change; a REST read every `rest_interval` seconds."""
        assert self.feed and self.market
        self.stop = stop
        feed = self.feed
        loop = asyncio.get_running_loop()
        async with asyncio.TaskGroup() as tasks:
            watcher = tasks.create_task(
                watch_forever(
                    self.perp,
                    self.market.symbol,
                    self.leg.asset,
                    feed,
                    self.metrics,
                    self.refresh,
                    stop,
                )
            )
            last_rest = loop.time()
            while not stop.is_set():
                woke = asyncio.ensure_future(feed.changed.wait())
                stopping = asyncio.ensure_future(stop.wait())
                done, _ = await asyncio.wait(
                    {woke, stopping}, timeout=rest_interval, return_when=asyncio.FIRST_COMPLETED
                )
                woke.cancel()
                stopping.cancel()
                if stop.is_set():
                    break
                feed.changed.clear()
                due = not done or loop.time() - last_rest >= rest_interval
                if due and not done:  # quiet: the REST read is the news, decide on it
                    last_rest = loop.time()
                    await self._periodic()
                    if stop.is_set():  # asked to stop during the REST read: no new order
                        break
                outcome = await self._guarded_step()
                if due and done:  # a change woke us: its order went first, the read follows
                    last_rest = loop.time()  # (its readings set `changed`: decided next pass)
                    await self._periodic()
                if outcome is None and not feed.changed.is_set():
                    self.settled.set()
            watcher.cancel()
        # Funding settled since the last periodic read would otherwise be missing from the
        # journal (and from `status`) until the next start.
        with contextlib.suppress(VenueError):
            await self.collect_funding()

    async def _periodic(self) -> None:
        try:
            await self.refresh()
            await self.collect_funding()
        except VenueError as exc:
            log.warning("rest_refresh_failed", leg=self.leg.name, error=str(exc))
            return
        try:
            await self.check_foreign()
        except VenueError as exc:  # the account's order list is a check, not an input
            log.warning("foreign_check_failed", leg=self.leg.name, error=str(exc))

    async def check_foreign(self) -> None:
        """Halt the leg when another hedgekeeper's orders are on its symbol: two daemons with
        two journals on one account would each hedge the whole holding."""
        assert self.market
        since = self.perp.now() - trespass.LOOKBACK
        ids = await self.perp.recent_client_ids(self.market.symbol, since)
        others = trespass.foreign(ids, self.journal.prefix)
        if not others or self.memory.foreign:
            return
        self.memory.foreign = (
            f"orders of another hedgekeeper (client ids {', '.join(others[:3])}) on "
            f"{self.market.symbol}: stop the other daemon, or give it another account"
        )
        self.memory.halted = f"another trader on the account: {self.memory.foreign}"
        self.journal.event(self.perp.now(), self.leg.name, "foreign_order", self.memory.foreign)
        log.error("foreign_order", leg=self.leg.name, client_ids=others[:10])

    def _unexplained(self, snap: Snapshot) -> bool:
        """Whether the position moved with no order of ours to explain it."""
        m = self.memory
        return trespass.unexplained(
            m.last_position, snap.position.contracts, m.expected_position, m.in_flight
        )

    def _moved(self, snap: Snapshot, decision: Decision) -> None:
        """Log (and journal) a position change no order of ours explains, with what follows."""
        seen, now = self.memory.last_position, snap.position.contracts
        moved = self._unexplained(snap)
        self.memory.last_position = now
        if moved:
            action = trespass.what_it_does(decision)
            detail = f"{seen} -> {now} with no order of this daemon; it {action}"
            self.journal.event(snap.now, self.leg.name, "position_unexplained", detail)
            log.warning(
                "position_unexplained",
                leg=self.leg.name,
                was=str(seen),
                now=str(now),
                action=action,
            )

    async def _guarded_step(self) -> Outcome | None:
        try:
            return await self.step()
        except VenueError as exc:
            return self._hold(LegState.DEGRADED, f"venue error: {exc}", Guard.VENUE)
