"""What a replay says about the insurance: figures, a terminal table and JSON (plots: plots.py).

The figures are computed once from the hourly tape, so the table, the JSON, the plots and the
README all quote the same numbers.
"""

from __future__ import annotations

import io
import json
import sys
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hedgekeeper.config import Settings
from hedgekeeper.domain import ZERO
from hedgekeeper.policy import describe
from hedgekeeper.simulate import Hour, Replay
from hedgekeeper.units import coins, pct
from hedgekeeper.units import quote as _q

__all__ = ["Figures", "command", "figures", "table", "to_json", "worst_day"]

YEAR = Decimal(365.25 * 24 * 3600)
DAY = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The worst fall from a running peak: as a fraction of the peak, and in the unit itself."""

    fraction: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Figures:
    coin: str
    quote: str
    start: str  # ISO times of the first and last points
    end: str
    points: int
    hedge_ratio: str  # the legs' configured ratios
    start_price: Decimal
    end_price: Decimal
    unhedged_start: Decimal  # quote
    unhedged_final: Decimal
    hedged_start: Decimal
    hedged_final: Decimal
    unhedged_final_coin: Decimal
    hedged_final_coin: Decimal
    start_coin: Decimal
    unhedged_drawdown: Drawdown  # in quote
    hedged_drawdown: Drawdown
    unhedged_drawdown_coin: Drawdown
    hedged_drawdown_coin: Drawdown
    # The worst 24 hours of the unhedged value (its fall), and the hedged value's change then.
    worst_day_start: str
    worst_day_end: str
    worst_day_unhedged: Decimal
    worst_day_hedged: Decimal
    flows_quote: Decimal
    funding_received_coin: Decimal
    funding_paid_coin: Decimal
    funding_coin: Decimal
    funding_quote: Decimal
    funding_annualised: Decimal  # net funding over the mean short notional, per year
    fees_coin: Decimal
    fees_quote: Decimal
    orders: int
    fills: int
    liquidations: int
    residual_max_coin: Decimal  # |h·X − hedged|
    residual_mean_coin: Decimal
    residual_max_fraction: Decimal  # of the exposure X
    residual_mean_fraction: Decimal
    under_hedged_points: int
    under_hedged_fraction: Decimal
    # The insurance's promise in one number: how far the hedged value strayed from
    # start + deposits + funding − fees, at the worst point (price moves on what was unhedged).
    deviation_max_quote: Decimal
    deviation_max_fraction: Decimal
    journal_funding_coin: Decimal
    guard_trips: dict[str, int] = field(default_factory=dict)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def drawdown(values: Iterable[Decimal]) -> Drawdown:
    peak: Decimal | None = None
    worst = Drawdown(ZERO, ZERO)
    for value in values:
        if peak is None or value > peak:
            peak = value
        elif peak > 0 and (peak - value) / peak > worst.fraction:
            worst = Drawdown((peak - value) / peak, peak - value)
    return worst


def worst_day(hours: Sequence[Hour]) -> tuple[int, int]:
    """Indexes of the peak and the trough of the unhedged value's worst fall within 24 hours
    (a sliding-window maximum, so a long history costs one pass)."""
    peaks: deque[int] = deque()  # indexes in the window, values decreasing
    worst, pair = ZERO, (0, 0)
    for j, hour in enumerate(hours):
        while peaks and hours[peaks[-1]].unhedged <= hour.unhedged:
            peaks.pop()
        peaks.append(j)
        while hour.ts - hours[peaks[0]].ts > DAY:
            peaks.popleft()
        top = hours[peaks[0]].unhedged
        if top > 0 and (top - hour.unhedged) / top > worst:
            worst, pair = (top - hour.unhedged) / top, (peaks[0], j)
    return pair


def _change(hours: Sequence[Hour], pair: tuple[int, int], hedged: bool) -> Decimal:
    a, b = hours[pair[0]], hours[pair[1]]
    before, after = (a.hedged, b.hedged) if hedged else (a.unhedged, b.unhedged)
    return after / before - 1 if before else ZERO


def figures(replay: Replay) -> Figures:
    hours = replay.hours
    day = worst_day(hours)
    first, last = hours[0], hours[-1]
    n = Decimal(len(hours))
    residuals = [abs(h.residual) for h in hours]
    fractions = [abs(h.residual) / h.exposure for h in hours if h.exposure > 0]
    mean_short = sum((h.short_quote for h in hours), ZERO) / n
    seconds = Decimal(last.ts - first.ts)
    annual = (
        last.funding_quote / mean_short * YEAR / seconds if mean_short > 0 and seconds else ZERO
    )
    start = replay.start_value
    deviation = max(abs(_expected_gap(h, start)) for h in hours)
    under = sum(1 for h in hours if h.under)
    return Figures(
        coin=replay.coin,
        quote=replay.quote,
        start=_iso(first.ts),
        end=_iso(last.ts),
        points=len(hours),
        hedge_ratio=", ".join(
            str(leg.hedge_ratio) if leg.hedge_ratio is not None else describe(leg.policy)
            for leg in replay.setup.legs
        ),
        start_price=first.price,
        end_price=last.price,
        unhedged_start=start,
        unhedged_final=last.unhedged,
        hedged_start=start,
        hedged_final=last.hedged,
        unhedged_final_coin=last.unhedged / last.price,
        hedged_final_coin=last.hedged / last.price,
        start_coin=start / first.price,
        unhedged_drawdown=drawdown(h.unhedged for h in hours),
        hedged_drawdown=drawdown(h.hedged for h in hours),
        unhedged_drawdown_coin=drawdown(h.unhedged / h.price for h in hours),
        hedged_drawdown_coin=drawdown(h.hedged / h.price for h in hours),
        worst_day_start=_iso(hours[day[0]].ts),
        worst_day_end=_iso(hours[day[1]].ts),
        worst_day_unhedged=_change(hours, day, hedged=False),
        worst_day_hedged=_change(hours, day, hedged=True),
        flows_quote=last.flows_quote,
        funding_received_coin=replay.funding_in_coin,
        funding_paid_coin=replay.funding_out_coin,
        funding_coin=last.funding_coin,
        funding_quote=last.funding_quote,
        funding_annualised=annual,
        fees_coin=last.fees_coin,
        fees_quote=last.fees_quote,
        orders=replay.orders,
        fills=replay.fills,
        liquidations=replay.liquidations,
        residual_max_coin=max(residuals),
        residual_mean_coin=sum(residuals, ZERO) / n,
        residual_max_fraction=max(fractions, default=ZERO),
        residual_mean_fraction=sum(fractions, ZERO) / len(fractions) if fractions else ZERO,
        under_hedged_points=under,
        under_hedged_fraction=Decimal(under) / n,
        deviation_max_quote=deviation,
        deviation_max_fraction=deviation / start if start else ZERO,
        journal_funding_coin=replay.journal_funding,
        guard_trips=dict(replay.guard_trips),
    )


def _expected_gap(hour: Hour, start: Decimal) -> Decimal:
    """Hedged value minus what a perfect hedge would be worth: start + flows + funding − fees."""
    return hour.hedged - (start + hour.flows_quote + hour.funding_quote - hour.fees_quote)


# ---- text ------------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value.normalize()) if value else "0"
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def to_json(fig: Figures) -> dict[str, Any]:
    """Exact figures: Decimals as strings, so nothing is rounded on the way to a script."""
    return {k: _json_value(v) for k, v in asdict(fig).items()}


def rows(fig: Figures) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """The two tables as text: (figure, unhedged, hedged) rows, then the insurance's figures."""
    q, c = fig.quote, fig.coin
    dd = fig.unhedged_drawdown, fig.hedged_drawdown
    ddc = fig.unhedged_drawdown_coin, fig.hedged_drawdown_coin
    values = [
        ("start value", _q(fig.unhedged_start, q), _q(fig.hedged_start, q)),
        ("final value", _q(fig.unhedged_final, q), _q(fig.hedged_final, q)),
        ("start value in coin", coins(fig.start_coin, c), coins(fig.start_coin, c)),
        ("final value in coin", coins(fig.unhedged_final_coin, c), coins(fig.hedged_final_coin, c)),
        (
            f"worst drawdown in {q}",
            f"{pct(-dd[0].fraction)} ({_q(dd[0].amount, q)})",
            f"{pct(-dd[1].fraction)} ({_q(dd[1].amount, q)})",
        ),
        (f"worst drawdown in {c}", pct(-ddc[0].fraction), pct(-ddc[1].fraction)),
        (
            f"worst 24 h: {fig.worst_day_start} to {fig.worst_day_end[5:]}",
            pct(fig.worst_day_unhedged),
            pct(fig.worst_day_hedged),
        ),
    ]
    trips = ", ".join(f"{k} {v}" for k, v in sorted(fig.guard_trips.items())) or "none"
    insurance = [
        ("period", f"{fig.start} to {fig.end} UTC, {fig.points:,} points"),
        ("hedge ratio", fig.hedge_ratio),
        ("price", f"{_q(fig.start_price, q)} to {_q(fig.end_price, q)}"),
        ("deposits - withdrawals", _q(fig.flows_quote, q)),
        ("funding received", coins(fig.funding_received_coin, c)),
        ("funding paid", coins(fig.funding_paid_coin, c)),
        ("funding, net", f"{coins(fig.funding_coin, c)} = {_q(fig.funding_quote, q)}"),
        ("funding, annualised", f"{pct(fig.funding_annualised)} of the short's notional"),
        ("fees", f"{coins(fig.fees_coin, c)} = {_q(fig.fees_quote, q)}"),
        ("orders (fills)", f"{fig.orders:,} ({fig.fills:,})"),
        (
            "residual exposure, max",
            f"{coins(fig.residual_max_coin, c)} ({pct(fig.residual_max_fraction)} of X)",
        ),
        (
            "residual exposure, mean",
            f"{coins(fig.residual_mean_coin, c)} ({pct(fig.residual_mean_fraction)} of X)",
        ),
        (
            "time under-hedged",
            f"{fig.under_hedged_points:,} points ({pct(fig.under_hedged_fraction)})",
        ),
        ("liquidations", str(fig.liquidations)),
        ("guard trips", trips),
    ]
    if all(_is_one(h) for h in fig.hedge_ratio.split(", ")):
        # Only at h = 1 should the hedged value track start + funding - fees.
        gap = f"{_q(fig.deviation_max_quote, q)} ({pct(fig.deviation_max_fraction)})"
        insurance.insert(-2, ("hedged vs start+funding-fees", f"within {gap}"))
    return values, insurance


def _is_one(ratio: str) -> bool:
    """A constant h of 1 (a policy's description is not a number)."""
    try:
        return Decimal(ratio) == 1
    except ArithmeticError:
        return False


def table(fig: Figures) -> str:
    """Both tables rendered by rich, as text (no colour codes when not on a terminal)."""
    from rich.console import Console
    from rich.table import Table

    values, insurance = rows(fig)
    first = Table(title="value: unhedged vs hedged", title_justify="left")
    first.add_column("")
    first.add_column("unhedged", justify="right")
    first.add_column("hedged", justify="right")
    for row in values:
        first.add_row(*row)
    second = Table(title="the insurance", title_justify="left", show_header=False)
    second.add_column("")
    second.add_column("", justify="right")
    for pair in insurance:
        second.add_row(*pair)
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(first)
    console.print(second)
    return console.export_text()


# ---- the command -----------------------------------------------------------------------------


def command(
    settings: Settings | None,
    prices: Path,
    ratio: Decimal | None,
    start_coin: Decimal | None,
    contract_size: Decimal | None,
    out: Path | None,
    as_json: bool,
) -> int:
    """`hedgekeeper simulate`: 0 with the report printed, 2 with one line for a bad input."""
    from hedgekeeper.pricepath import PricePathError
    from hedgekeeper.simulate import SimulateError, prepare, run

    try:
        setup = prepare(settings, prices, ratio, start_coin, contract_size)
    except (PricePathError, SimulateError) as exc:
        print(f"hedgekeeper: {exc}", file=sys.stderr)
        return 2
    replay = run(setup, out)
    fig = figures(replay)
    if out is not None:
        (out / "report.json").write_text(json.dumps(to_json(fig), indent=2) + "\n")
        (out / "report.txt").write_text(table(fig))
        try:
            from hedgekeeper.plots import plot

            plot(replay, fig, out)
            drawn = "plots (value, ratio, funding)"
        except ImportError:  # matplotlib is an extra: the figures stand without it
            drawn = "no plots (pip install 'hedgekeeper[plots]' for them)"
    if as_json:
        print(json.dumps(to_json(fig), indent=2))
    else:
        print(table(fig), end="")
        if out is not None:
            print(f"report.json, report.txt, {drawn} and journal in {out}")
    return 0
