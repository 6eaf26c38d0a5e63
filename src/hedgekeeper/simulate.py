"""History replay: the daemon's own engine on the sim venue, one price point at a time.

Nothing here decides or sizes a hedge. Each leg is a real `LegEngine` (reconciler, guards,
executor, journal) on a `SimVenue` fed from a recorded path; this module only moves the sim's
clock, hands the engine the readings its stream would have delivered, and writes down what
happened every hour so a person can see what the insurance cost and what it saved. An
arithmetic error in the engine therefore shows up here, instead of being hidden by a second copy
of the arithmetic.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from hedgekeeper import config, contracts
from hedgekeeper.config import LegConfig, Settings, SimConfig, SimMarket
from hedgekeeper.domain import ZERO
from hedgekeeper.engine import LegEngine
from hedgekeeper.journal import Journal
from hedgekeeper.metrics import Metrics
from hedgekeeper.policy import ConstantPolicy, CppiPolicy, PutPolicy, multiplier_problem
from hedgekeeper.pricepath import PricePoint, load_csv
from hedgekeeper.reconcile import band, plan
from hedgekeeper.venues.sim import SimVenue

__all__ = ["Hour", "Replay", "Setup", "SimulateError", "prepare", "replay", "run", "with_policy"]

Policy = ConstantPolicy | CppiPolicy | PutPolicy
MAX_STEPS_PER_POINT = 32  # the daemon decides again after each change; this bounds a busy hour
JOURNAL = "journal.sqlite"


class QuietMetrics(Metrics):
    """No gauges: a replay serves no /metrics, and setting five gauges an hour for years of
    history costs more than the hedge arithmetic. Orders, guard trips and funding still count."""

    def observe_plan(self, *args: object) -> None:
        pass

    def data_age(self, leg: str, seconds: float) -> None:
        pass

    def observe_policy(self, *args: object) -> None:
        pass

    def leg_state(self, leg: str, state: str) -> None:
        pass


class SimulateError(ValueError):
    """A setup the simulator cannot run, in one line for the CLI."""


@dataclass(frozen=True, slots=True)
class Setup:
    """What to replay: the legs, the one sim venue they trade on, and the path."""

    legs: tuple[LegConfig, ...]
    venue: str
    sim: SimConfig
    path: Sequence[PricePoint]


@dataclass(frozen=True, slots=True)
class Hour:
    """The account after the daemon's decisions at one point of the path.

    Values are in the quote currency; `*_coin` figures in the hedged coin. Funding, fees and
    flows are cumulative and valued at the price of their own moment.
    """

    ts: float
    price: Decimal
    holding: Decimal  # coin the holder would have without a hedge (start + deposits)
    unhedged: Decimal  # that holding (and any quote balance) at this price
    hedged: Decimal  # what the account is worth: wallets + equity incl. unrealised PnL
    exposure: Decimal  # X, summed over legs
    target_coin: Decimal  # h·X, what the legs aim to hedge
    hedged_coin: Decimal  # what the shorts hedge, in coin at this price
    short_quote: Decimal  # the shorts' notional in quote
    funding_coin: Decimal
    funding_quote: Decimal
    fees_coin: Decimal
    fees_quote: Decimal
    flows_quote: Decimal  # deposits minus withdrawals
    under: bool  # short of the target by more than the deadband (the daemon could not act)
    value: Decimal | None = None  # V as the legs' policies see it (None before they evaluate)
    floor: Decimal | None = None  # their floors F, summed (None: no leg has a floor)

    @property
    def residual(self) -> Decimal:
        """Coin the hedge misses its target by: positive under-hedged, negative over."""
        return self.target_coin - self.hedged_coin


@dataclass(repr=False)
class Replay:
    """Everything the report needs, read from the sim exchange and the journal."""

    def __repr__(self) -> str:
        # Short on purpose: asyncio.run reprs the finished task's result when it restores the
        # SIGINT handler, and the full tape of a long replay takes half a second to print.
        return f"<Replay {len(self.hours)} points, {self.orders} orders>"

    setup: Setup
    coin: str
    quote: str
    hours: list[Hour]
    start_value: Decimal  # before the first order, at the first price
    orders: int = 0
    fills: int = 0
    liquidations: int = 0
    funding_in_coin: Decimal = ZERO
    funding_out_coin: Decimal = ZERO
    journal_funding: Decimal = ZERO  # what the engine journaled, to cross-check the exchange
    guard_trips: dict[str, int] = field(default_factory=dict)
    journal: Path | None = None


# ---- setup -----------------------------------------------------------------------------------


def prepare(
    settings: Settings | None,
    prices: Path,
    ratio: Decimal | None = None,
    start_coin: Decimal | None = None,
    contract_size: Decimal | None = None,
    policy: Policy | None = None,
) -> Setup:
    """The legs and sim venue to replay; raises PricePathError or SimulateError.

    `ratio` (a constant h) or `policy` replaces every leg's policy.

    Without settings: the embedded default's sim venue and its inverse leg, on one inverse
    BTC/USD:BTC market of `contract_size` USD contracts (10 unless given), the coin in the
    derivatives wallet and no scheduled deposits (those are the default daemon's demo).
    """
    if ratio is not None and not 0 <= ratio <= 1:
        raise SimulateError(f"--ratio: the hedge ratio must be in [0, 1], got {ratio}")
    if contract_size is not None and contract_size <= 0:
        raise SimulateError(f"--contract-size: must be positive, got {contract_size}")
    path = load_csv(prices)
    if settings is None:
        setup = _default_setup(path, ratio, start_coin, contract_size or Decimal(10))
    else:
        setup = _config_setup(settings, prices, path, ratio, start_coin, contract_size)
    return with_policy(setup, policy) if policy is not None else checked(setup)


def with_policy(setup: Setup, policy: Policy) -> Setup:
    """The same replay with every leg on `policy` (the history is shared, not read again)."""
    return checked(replace(setup, legs=tuple(leg.with_policy(policy) for leg in setup.legs)))


def checked(setup: Setup) -> Setup:
    """Raises SimulateError when a leg's policy cannot defend its floor at the history's step."""
    step = path_step(setup.path)
    for i, leg in enumerate(setup.legs):
        if why := multiplier_problem(leg.policy, step):
            raise SimulateError(f"legs.{i}.policy.{why} (the price history's step)")
    return setup


def path_step(path: Sequence[PricePoint]) -> float:
    """The history's usual step (the median gap): how often the daemon evaluates on it."""
    gaps = sorted(b.ts - a.ts for a, b in itertools.pairwise(path))
    return gaps[len(gaps) // 2] if gaps else 3600.0


def _config_setup(
    settings: Settings,
    prices: Path,
    path: Sequence[PricePoint],
    ratio: Decimal | None,
    start_coin: Decimal | None,
    contract_size: Decimal | None,
) -> Setup:
    sims = {leg.perp.venue for leg in settings.legs}
    sims |= {s.venue for leg in settings.legs for s in leg.spot if s.venue}
    if len(sims) != 1 or settings.venues[next(iter(sims))].exchange != "sim":
        raise SimulateError(
            "simulate: every leg must trade on, and read its spot from, one venue with "
            f'exchange = "sim" (the config uses {", ".join(sorted(sims))})'
        )
    name = sims.pop()
    sim = settings.venues[name].sim or SimConfig()
    legs = settings.legs
    if ratio is not None:
        legs = tuple(leg.with_policy(ConstantPolicy(ratio=ratio)) for leg in legs)
    update: dict[str, object] = {"prices": prices}
    if start_coin is not None:
        update["derivatives"] = {**sim.derivatives, legs[0].asset: start_coin}
    if contract_size is not None:
        update["markets"] = tuple(
            m.model_copy(update={"contract_size": contract_size}) if m.kind == "inverse" else m
            for m in sim.markets
        )
    return Setup(legs, name, sim.model_copy(update=update), path)


def _default_setup(
    path: Sequence[PricePoint], ratio: Decimal | None, start_coin: Decimal | None, k: Decimal
) -> Setup:
    default = config.load(None)
    leg = next(leg for leg in default.legs if leg.perp.symbol == "BTC/USD:BTC")
    if ratio is not None:
        leg = leg.with_policy(ConstantPolicy(ratio=ratio))
    sim = default.venues[leg.perp.venue].sim or SimConfig()
    coin = sim.derivatives.get("BTC", ZERO) if start_coin is None else start_coin
    market = SimMarket(symbol="BTC/USD:BTC", kind="inverse", contract_size=k)
    sim = sim.model_copy(
        update={
            "markets": (market,),
            "spot": {"BTC": ZERO},
            "derivatives": {"BTC": coin},
            "events": (),
        }
    )
    return Setup((leg,), leg.perp.venue, sim, path)


# ---- the replay ------------------------------------------------------------------------------


def run(setup: Setup, out: Path | None = None) -> Replay:
    """Replay the whole path; the journal goes to `out` (kept) or a temporary directory."""
    if out is None:
        with tempfile.TemporaryDirectory(prefix="hedgekeeper-sim-") as tmp:
            result = asyncio.run(replay(setup, Path(tmp) / JOURNAL, valuations=False))
            result.journal = None
            return result
    out.mkdir(parents=True, exist_ok=True)
    return asyncio.run(replay(setup, out / JOURNAL))


async def replay(setup: Setup, journal_path: Path, valuations: bool = True) -> Replay:
    """Step the sim through every point, letting each leg decide after every change. Without
    `valuations` the journal gets no hourly report rows (nobody will read it)."""
    for suffix in ("", "-wal", "-shm"):  # a fresh journal: funding rows are unique by time
        Path(f"{journal_path}{suffix}").unlink(missing_ok=True)
    venue = SimVenue(setup.venue, setup.sim, setup.path)
    journal = Journal(journal_path, durable=False)
    metrics = QuietMetrics()
    engines = [
        LegEngine(leg, {setup.venue: venue}, journal, metrics, valuations=valuations)
        for leg in setup.legs
    ]
    try:
        tape = Tape(setup, venue, engines)
        for engine in engines:
            await engine.start()
        tape.record(await _decide(venue, engines))
        exchange = venue.exchange
        while exchange.step():
            _stream(venue, engines)
            tape.record(await _decide(venue, engines))
        for engine in engines:
            await engine.collect_funding()
        return tape.finish(journal, journal_path)
    finally:
        journal.close()
        await venue.close()


def _stream(venue: SimVenue, engines: list[LegEngine]) -> None:
    """Hand each leg what its stream would deliver now (the daemon's watcher does the same)."""
    for engine in engines:
        assert engine.feed is not None and engine.market is not None
        for reading in venue.readings(engine.market.symbol, engine.leg.asset):
            engine.feed.apply(venue.name, reading)


async def _decide(venue: SimVenue, engines: list[LegEngine]) -> bool:
    """Step every leg, and again after anything changed the account, as the daemon would.

    True when the legs settled: each one's last decision was then made on the current state."""
    exchange = venue.exchange
    for _ in range(MAX_STEPS_PER_POINT):
        changed = False
        for engine in engines:
            before = len(exchange.fills) + len(exchange.transfers)
            await engine.step()
            if len(exchange.fills) + len(exchange.transfers) != before:
                _stream(venue, engines)
                changed = True
        if not changed:
            return True
    return False


class Tape:
    """Writes down one `Hour` per point, reading the sim exchange's books incrementally."""

    def __init__(self, setup: Setup, venue: SimVenue, engines: list[LegEngine]) -> None:
        self.setup = setup
        self.exchange = ex = venue.exchange
        self.engines = engines
        symbols = [leg.perp.symbol for leg in setup.legs]
        markets = [ex.market(s) for s in symbols]
        # The first leg's coin is the report's coin; other coins (each on its own price path)
        # are valued at their own marks and counted in it by value.
        self.coin = markets[0].base
        self.quote = markets[0].quote
        self.market_of = {m.base: m.symbol for m in reversed(markets)}
        self.fixed: dict[str, Decimal] = {}
        for leg in setup.legs:
            held = sum((s.amount for s in leg.spot if s.amount is not None), ZERO)
            self.fixed[leg.asset] = self.fixed.get(leg.asset, ZERO) + held
        sim = setup.sim
        assets = {*sim.spot, *sim.derivatives, *(m.settle for m in markets)}
        self.assets = sorted(assets | {e.asset for e in sim.events})
        self.units = {
            a: self.fixed.get(a, ZERO) + sim.spot.get(a, ZERO) + sim.derivatives.get(a, ZERO)
            for a in {*self.assets, *self.fixed}
        }
        self.start_value = self._worth(self.units)
        self.hours: list[Hour] = []
        self.seen_fills = self.seen_funding = self.seen_transfers = 0
        self.funding_coin = self.funding_quote = self.fees_coin = self.fees_quote = ZERO
        self.funding_in = self.funding_out = self.flows_quote = ZERO

    def _value(self, asset: str) -> Decimal:
        """What one `asset` is worth in quote now: its market's mark, or 1 for a quote coin."""
        symbol = self.market_of.get(asset)
        return Decimal(1) if symbol is None else self.exchange.mark_of(symbol)

    def _worth(self, amounts: dict[str, Decimal]) -> Decimal:
        return sum((n * self._value(a) for a, n in amounts.items() if n), ZERO)

    def _both(self, amount: Decimal, asset: str, price: Decimal) -> tuple[Decimal, Decimal]:
        """An amount of `asset` as (coin, quote), the coin at `price`; a quote coin counts as
        quote, another coin at its own mark."""
        if asset == self.coin:
            return amount, amount * price
        quote = amount if asset not in self.market_of else amount * self._value(asset)
        return quote / price, quote

    def _catch_up(self, price: Decimal) -> None:
        ex = self.exchange
        if (len(ex.fills), len(ex.funding_log), len(ex.transfers)) == (
            self.seen_fills,
            self.seen_funding,
            self.seen_transfers,
        ):
            return
        for fill in ex.fills[self.seen_fills :]:
            settle = ex.market(fill.symbol).settle
            at = fill.price if ex.market(fill.symbol).base == self.coin else price
            coin, quote = self._both(fill.fee, settle, at)
            self.fees_coin += coin
            self.fees_quote += quote
        self.seen_fills = len(ex.fills)
        for event in ex.funding_log[self.seen_funding :]:
            coin, quote = self._both(event.amount, ex.market(event.symbol).settle, price)
            self.funding_coin += coin
            self.funding_quote += quote
            if coin > 0:
                self.funding_in += coin
            else:
                self.funding_out -= coin
        self.seen_funding = len(ex.funding_log)
        for move in ex.transfers[self.seen_transfers :]:
            if move.wallet in ("spot", "derivatives"):  # money in or out, not a move inside
                coin, quote = self._both(move.amount, move.asset, price)
                self.units[move.asset] = self.units.get(move.asset, ZERO) + move.amount
                self.flows_quote += quote
        self.seen_transfers = len(ex.transfers)

    def _account(self, price: Decimal) -> Decimal:
        """Every wallet at `price`; a leg's feed already holds its settle coin's equity."""
        ex, total = self.exchange, self._worth(self.fixed)
        equity = {}
        for engine in self.engines:
            assert engine.feed is not None and engine.feed.collateral is not None
            equity[engine.feed.market.settle] = engine.feed.collateral.equity
        for asset in self.assets:
            held = equity[asset] if asset in equity else ex.equity(asset)
            if not ex.unified:
                held += ex.wallet(asset, "spot")
            total += held * price if asset == self.coin else held * self._value(asset)
        return total

    def record(self, settled: bool) -> None:
        """One `Hour`; `settled` says the engines' last plans are current and can be reused."""
        ex = self.exchange
        price, now = self._value(self.coin), ex.now()
        self._catch_up(price)
        x = target = hedged = short = ZERO
        under = False
        value: Decimal | None = None
        floor: Decimal | None = None
        for engine in self.engines:
            if (ev := engine.policy.last) is not None:
                value = (value or ZERO) + ev.value
                if ev.floor is not None:
                    floor = (floor or ZERO) + ev.floor
            assert engine.feed is not None
            last = engine.last.plan if engine.last and settled else None
            p = last or plan(engine.feed.snapshot(now), engine.leg, engine.policy.held())
            market = engine.feed.market
            # Another coin's figures are counted in the report's coin by value.
            scale = Decimal(1) if market.base == self.coin else p.mark / price
            x += p.exposure * scale
            target += (
                (p.ratio if p.ratio is not None else engine.policy.held()) * p.exposure * scale
            )
            hedged -= p.position * contracts.coin_per_contract(market, p.mark) * scale
            short -= p.position * contracts.quote_per_contract(market, p.mark)
            if p.drift < 0 and not under:
                under = -p.drift >= band(p.target, p.mark, engine.leg, market)
        self.hours.append(
            Hour(
                ts=now,
                price=price,
                holding=self.units.get(self.coin, ZERO),
                unhedged=self._worth(self.units),
                hedged=self._account(price),
                exposure=x,
                target_coin=target,
                hedged_coin=hedged,
                short_quote=short,
                funding_coin=self.funding_coin,
                funding_quote=self.funding_quote,
                fees_coin=self.fees_coin,
                fees_quote=self.fees_quote,
                flows_quote=self.flows_quote,
                under=under,
                value=value,
                floor=floor,
            )
        )

    def finish(self, journal: Journal, path: Path) -> Replay:
        ex = self.exchange
        trips = journal.guard_trips()
        return Replay(
            setup=self.setup,
            coin=self.coin,
            quote=self.quote,
            hours=self.hours,
            start_value=self.start_value,
            orders=len(ex.orders),
            fills=sum(1 for f in ex.fills if f.client_id != "liquidation"),
            liquidations=len(ex.liquidations),
            funding_in_coin=self.funding_in,
            funding_out_coin=self.funding_out,
            journal_funding=sum((journal.funding_total(e.leg.name) for e in self.engines), ZERO),
            guard_trips=trips,
            journal=path,
        )
