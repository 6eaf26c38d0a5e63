"""`hedgekeeper simulate --compare SPEC...`: several hedge policies over one history, side by side.

Each policy is replayed through the daemon's own engine (as a single `simulate` run is), in a
process of its own when there are cores to spare, and reduced to the figures a holder weighs:
what the holding ended at, how low it went, how close to its floor (and, when it went below,
whether a price gap or the funding paid while locked at h = 1 took it there), the worst
drawdown, how much of the unhedged upside it kept, and what trading and funding cost.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from hedgekeeper.config import Settings
from hedgekeeper.domain import ONE, ZERO
from hedgekeeper.policy import (
    ConstantPolicy,
    CppiPolicy,
    PutPolicy,
    SpecError,
    describe,
    parse_spec,
)
from hedgekeeper.report import drawdown
from hedgekeeper.simulate import Hour, Policy, Setup, SimulateError, prepare, run, with_policy
from hedgekeeper.units import pct

__all__ = ["BreachCause", "Outcome", "Series", "breach_cause", "command", "compare", "outcome"]


class BreachCause(StrEnum):
    GAP = "gap"  # a fall on the exposed part overshot the cushion between two evaluations
    FUNDING = "funding"  # funding and fees paid while locked at h = 1 ate through the floor


@dataclass(frozen=True, slots=True)
class Outcome:
    """One policy's figures over the history; values in the quote currency."""

    policy: str
    hedged_final: Decimal
    unhedged_final: Decimal
    min_value: Decimal
    min_value_at: str
    min_value_over_floor: Decimal | None  # None: the policy has no floor
    final_floor: Decimal | None
    breach_cause: BreachCause | None  # None: V never went below F
    time_below_floor: Decimal  # share of the points with V < F
    max_drawdown: Decimal  # fraction of the running peak
    upside_kept: Decimal  # hedged final / unhedged final
    trades: int
    fees_quote: Decimal
    funding_quote: Decimal
    final_h: Decimal
    time_fully_hedged: Decimal  # share of the points at h = 1


@dataclass(frozen=True, slots=True)
class Series:
    """What the plots draw, as floats: time, V, F (NaN without one) and h at every point."""

    policy: str
    ts: list[float]
    value: list[float]
    floor: list[float]
    ratio: list[float]
    unhedged: list[float]


def _ratio(hour: Hour) -> Decimal:
    return hour.target_coin / hour.exposure if hour.exposure > 0 else ZERO


def _value(hour: Hour) -> Decimal:
    return hour.value if hour.value is not None else hour.hedged


def breach_cause(hours: Sequence[Hour]) -> BreachCause | None:
    """Why V first went below F. Over the stretch that led there — from the last point the leg
    was not locked at h = 1 to the first point below the floor — the fall splits into what
    funding and fees took and what the price took on the part left exposed; the larger names
    the cause. While locked at h = 1 the price cannot move V, so a breach after a long lock is
    funding's; a breach on one hour's crash with h < 1 is a gap."""
    first = next(
        (i for i, h in enumerate(hours) if h.floor is not None and _value(h) < h.floor), None
    )
    if first is None or first == 0:
        return None
    start = first - 1
    while start > 0 and _ratio(hours[start - 1]) >= ONE:
        start -= 1
    a, b = hours[start], hours[first]
    carry = (b.funding_quote - a.funding_quote) - (b.fees_quote - a.fees_quote)
    price = (_value(b) - _value(a)) - carry - (b.flows_quote - a.flows_quote)
    return BreachCause.FUNDING if carry < price else BreachCause.GAP


def outcome(policy: str, hours: Sequence[Hour], orders: int) -> Outcome:
    last = hours[-1]
    values = [_value(h) for h in hours]
    low = min(range(len(hours)), key=values.__getitem__)
    ratios = [h_v / h.floor for h, h_v in zip(hours, values, strict=True) if h.floor]
    below = sum(1 for h, v in zip(hours, values, strict=True) if h.floor and v < h.floor)
    locked = sum(1 for h in hours if _ratio(h) >= ONE)
    n = Decimal(len(hours))
    from hedgekeeper.report import _iso  # one time format for every report

    return Outcome(
        policy=policy,
        hedged_final=values[-1],
        unhedged_final=last.unhedged,
        min_value=values[low],
        min_value_at=_iso(hours[low].ts),
        min_value_over_floor=min(ratios) if ratios else None,
        final_floor=last.floor,
        breach_cause=breach_cause(hours),
        time_below_floor=Decimal(below) / n,
        max_drawdown=drawdown(values).fraction,
        upside_kept=values[-1] / last.unhedged if last.unhedged else ZERO,
        trades=orders,
        fees_quote=last.fees_quote,
        funding_quote=last.funding_quote,
        final_h=_ratio(last),
        time_fully_hedged=Decimal(locked) / n,
    )


def series(policy: str, hours: Sequence[Hour]) -> Series:
    nan = float("nan")
    return Series(
        policy=policy,
        ts=[h.ts for h in hours],
        value=[float(_value(h)) for h in hours],
        floor=[float(h.floor) if h.floor is not None else nan for h in hours],
        ratio=[float(_ratio(h)) for h in hours],
        unhedged=[float(h.unhedged) for h in hours],
    )


def setups(
    settings: Settings | None,
    prices: Path,
    policies: Sequence[Policy],
    start_coin: Decimal | None = None,
    contract_size: Decimal | None = None,
) -> list[Setup]:
    """One replay per policy over one reading of the history."""
    base = prepare(settings, prices, None, start_coin, contract_size)
    return [with_policy(base, policy) for policy in policies]


def _one(setup: Setup) -> tuple[Outcome, Series]:
    """One policy's replay, reduced to what crosses a process boundary cheaply."""
    replay = run(setup)
    name = describe(setup.legs[0].policy)
    return outcome(name, replay.hours, replay.orders), series(name, replay.hours)


_HANDED: Sequence[Setup] = ()  # a worker process's copy of the setups, given once at its start


def _receive(given: Sequence[Setup]) -> None:
    global _HANDED
    _HANDED = given


def _replay_at(index: int) -> tuple[Outcome, Series]:
    return _one(_HANDED[index])


def compare(setups: Sequence[Setup], jobs: int | None = None) -> list[tuple[Outcome, Series]]:
    """Replay every setup, in parallel processes when there is more than one core to use.

    The workers get the setups when they start (a forked worker shares the parent's copy of
    the history instead of unpickling it once per policy) and are then sent indices only."""
    workers = min(len(setups), jobs or os.cpu_count() or 1)
    if workers <= 1:
        return [_one(s) for s in setups]
    # The dearest first (a put trades most, h = 1 least), so no core idles at the end.
    order = sorted(range(len(setups)), key=lambda i: _cost(setups[i]), reverse=True)
    with ProcessPoolExecutor(workers, initializer=_receive, initargs=(setups,)) as pool:
        done = dict(zip(order, pool.map(_replay_at, order), strict=True))
    return [done[i] for i in range(len(setups))]


def _cost(setup: Setup) -> float:
    """A replay's relative cost, for the order the pool takes them in. Every point costs one
    evaluation; orders cost more, and how many a policy sends follows its kind: a put re-hedges
    its delta all the time, a constant ratio below 1 on an inverse perp at every price move, a
    TIPP's ratchet more than a CPPI, and h = 1 hardly ever."""
    policy = setup.legs[0].policy
    if isinstance(policy, PutPolicy):
        return 2.0
    if isinstance(policy, ConstantPolicy):
        return 1.0 if policy.ratio >= ONE else 1.7
    return 1.4 if isinstance(policy, CppiPolicy) and policy.lock_in > 0 else 1.15


# ---- text ------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value.normalize()) if value else "0"
    if isinstance(value, StrEnum):
        return value.value
    return value


def to_json(results: Sequence[Outcome], path: Series, prices: Path) -> dict[str, Any]:
    """The comparison as JSON: Decimals as strings, one object per policy."""
    from hedgekeeper.report import _iso

    return {
        "prices": str(prices),
        "start": _iso(path.ts[0]),
        "end": _iso(path.ts[-1]),
        "points": len(path.ts),
        "start_value": f"{path.unhedged[0]:.2f}",
        "unhedged_final": _plain(results[0].unhedged_final),
        "policies": [{k: _plain(v) for k, v in asdict(r).items()} for r in results],
    }


def _usd(value: Decimal) -> str:
    return f"{value:,.0f}"


def table(results: Sequence[Outcome], title: str, quote: str) -> str:
    from rich.console import Console
    from rich.table import Table

    grid = Table(title=title, title_justify="left")
    heads = (
        "policy",
        f"final {quote}",
        f"lowest {quote}",
        "lowest V/F",
        "breach",
        "max drawdown",
        "upside kept",
        "trades",
        f"fees {quote}",
        f"funding {quote}",
    )
    for i, head in enumerate(heads):
        grid.add_column(head, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for r in results:
        over = "-" if r.min_value_over_floor is None else f"{r.min_value_over_floor:.3f}"
        grid.add_row(
            r.policy,
            _usd(r.hedged_final),
            _usd(r.min_value),
            over,
            "-" if r.breach_cause is None else f"by {r.breach_cause.value}",
            pct(-r.max_drawdown),
            pct(r.upside_kept),
            f"{r.trades:,}",
            _usd(r.fees_quote),
            _usd(r.funding_quote),
        )
    console = Console(width=180, record=True, file=io.StringIO())
    console.print(grid)
    return console.export_text()


# ---- the command -----------------------------------------------------------------------------


def command(
    settings: Settings | None,
    prices: Path,
    specs: Sequence[str],
    start_coin: Decimal | None,
    contract_size: Decimal | None,
    out: Path | None,
    as_json: bool,
) -> int:
    """0 with the comparison printed; 2 with one line for a bad spec, file or setup."""
    from hedgekeeper.pricepath import PricePathError

    try:
        policies: list[Policy] = [parse_spec(text) for text in specs]
        replays = setups(settings, prices, policies, start_coin, contract_size)
    except (SpecError, PricePathError, SimulateError) as exc:
        print(f"hedgekeeper: {exc}", file=sys.stderr)
        return 2
    results = compare(replays)
    outcomes = [r[0] for r in results]
    doc = to_json(outcomes, results[0][1], prices)
    title = (
        f"{prices.name}: {doc['start']} to {doc['end']} UTC, {doc['points']:,} points; "
        f"unhedged final {_usd(Decimal(doc['unhedged_final']))}"
    )
    quote = "USD"
    text = table(outcomes, title, quote)
    drawn = ""
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.json").write_text(json.dumps(doc, indent=2) + "\n")
        (out / "compare.txt").write_text(text)
        try:
            from hedgekeeper.compare_plots import plot

            plot([r[1] for r in results], out, prices.name)
            drawn = "compare-value.png, compare-ratio.png, "
        except ImportError:  # matplotlib is an extra: the figures stand without it
            drawn = "(no plots: pip install 'hedgekeeper[plots]') "
    if as_json:
        print(json.dumps(doc, indent=2))
    else:
        print(text, end="")
        if out is not None:
            print(f"compare.json, compare.txt, {drawn}in {out}")
    return 0
