"""What a replay says about the insurance: figures, a terminal table, JSON and three plots.

The figures are computed once from the hourly tape, so the table, the JSON and the README all
quote the same numbers. Plots import matplotlib lazily with the Agg backend: a server without a
display (or without matplotlib) can still run a simulation and read its table.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hedgekeeper.config import Settings
from hedgekeeper.domain import ZERO
from hedgekeeper.simulate import Hour, Replay

__all__ = ["Figures", "figures", "plot", "table", "to_json"]

YEAR = Decimal(365.25 * 24 * 3600)


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


def figures(replay: Replay) -> Figures:
    hours = replay.hours
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
        hedge_ratio=", ".join(str(leg.hedge_ratio) for leg in replay.setup.legs),
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


def _q(value: Decimal, unit: str) -> str:
    return f"{value:,.2f} {unit}"


def _c(value: Decimal, unit: str) -> str:
    return f"{value:,.8f} {unit}"


def _pct(value: Decimal) -> str:
    return f"{value * 100:.2f} %"


def rows(fig: Figures) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """The two tables as text: (figure, unhedged, hedged) rows, then the insurance's figures."""
    q, c = fig.quote, fig.coin
    dd = fig.unhedged_drawdown, fig.hedged_drawdown
    ddc = fig.unhedged_drawdown_coin, fig.hedged_drawdown_coin
    values = [
        ("start value", _q(fig.unhedged_start, q), _q(fig.hedged_start, q)),
        ("final value", _q(fig.unhedged_final, q), _q(fig.hedged_final, q)),
        ("start value in coin", _c(fig.start_coin, c), _c(fig.start_coin, c)),
        ("final value in coin", _c(fig.unhedged_final_coin, c), _c(fig.hedged_final_coin, c)),
        (
            f"worst drawdown in {q}",
            f"{_pct(-dd[0].fraction)} ({_q(dd[0].amount, q)})",
            f"{_pct(-dd[1].fraction)} ({_q(dd[1].amount, q)})",
        ),
        (f"worst drawdown in {c}", _pct(-ddc[0].fraction), _pct(-ddc[1].fraction)),
    ]
    trips = ", ".join(f"{k} {v}" for k, v in sorted(fig.guard_trips.items())) or "none"
    insurance = [
        ("period", f"{fig.start} to {fig.end} UTC, {fig.points:,} points"),
        ("hedge ratio", fig.hedge_ratio),
        ("price", f"{_q(fig.start_price, q)} to {_q(fig.end_price, q)}"),
        ("deposits - withdrawals", _q(fig.flows_quote, q)),
        ("funding received", _c(fig.funding_received_coin, c)),
        ("funding paid", _c(fig.funding_paid_coin, c)),
        ("funding, net", f"{_c(fig.funding_coin, c)} = {_q(fig.funding_quote, q)}"),
        ("funding, annualised", f"{_pct(fig.funding_annualised)} of the short's notional"),
        ("fees", f"{_c(fig.fees_coin, c)} = {_q(fig.fees_quote, q)}"),
        ("orders (fills)", f"{fig.orders:,} ({fig.fills:,})"),
        (
            "residual exposure, max",
            f"{_c(fig.residual_max_coin, c)} ({_pct(fig.residual_max_fraction)} of X)",
        ),
        (
            "residual exposure, mean",
            f"{_c(fig.residual_mean_coin, c)} ({_pct(fig.residual_mean_fraction)} of X)",
        ),
        (
            "time under-hedged",
            f"{fig.under_hedged_points:,} points ({_pct(fig.under_hedged_fraction)})",
        ),
        (
            "hedged vs start+funding-fees",
            f"within {_q(fig.deviation_max_quote, q)} ({_pct(fig.deviation_max_fraction)})",
        ),
        ("liquidations", str(fig.liquidations)),
        ("guard trips", trips),
    ]
    return values, insurance


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


# ---- plots -----------------------------------------------------------------------------------


def plot(replay: Replay, fig: Figures, out: Path) -> list[Path]:
    """value.png, ratio.png and funding.png in `out`; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    hours = replay.hours
    moments = [datetime.fromtimestamp(h.ts, UTC) for h in hours]
    when = mdates.date2num(moments)  # type: ignore[no-untyped-call]
    q, c = fig.quote, fig.coin
    title = f"h = {fig.hedge_ratio}, {fig.start[:10]} to {fig.end[:10]}"
    out.mkdir(parents=True, exist_ok=True)
    paths = []

    def save(figure: Any, axes: Any, name: str) -> None:
        locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_locator(locator)
        concise = mdates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_formatter(concise)
        axes.grid(alpha=0.3)
        axes.legend(loc="upper left", fontsize=8)
        figure.tight_layout()
        path = out / name
        figure.savefig(path, dpi=90)
        plt.close(figure)
        paths.append(path)

    figure, axes = plt.subplots(figsize=(9, 4.2))
    axes.plot(when, [float(h.unhedged) for h in hours], color="tab:red", lw=1, label="unhedged")
    axes.plot(when, [float(h.hedged) for h in hours], color="tab:blue", lw=1.4, label="hedged")
    flat = [float(fig.hedged_start + h.flows_quote) for h in hours]
    axes.plot(when, flat, color="grey", lw=0.8, ls="--", label="start value (+ deposits)")
    axes.set_ylabel(f"value in {q}")
    axes.set_title(f"What the holding was worth, hedged and not ({title})", fontsize=10)
    save(figure, axes, "value.png")

    figure, axes = plt.subplots(figsize=(9, 3.2))
    achieved = [float(h.hedged_coin / h.exposure) if h.exposure else 0.0 for h in hours]
    target = [float(h.target_coin / h.exposure) if h.exposure else 0.0 for h in hours]
    axes.plot(when, target, color="grey", lw=1, ls="--", label="target h")
    axes.plot(when, achieved, color="tab:blue", lw=0.8, label="achieved: short / exposure")
    axes.set_ylabel("hedge ratio")
    axes.set_title(f"Hedge ratio achieved vs target ({title})", fontsize=10)
    save(figure, axes, "ratio.png")

    figure, axes = plt.subplots(figsize=(9, 3.2))
    axes.plot(
        when, [float(h.funding_quote) for h in hours], color="tab:green", label="funding, net"
    )
    axes.plot(when, [-float(h.fees_quote) for h in hours], color="tab:orange", label="fees")
    axes.axhline(0, color="black", lw=0.6)
    axes.set_ylabel(f"cumulative, {q}")
    axes.set_title(
        f"Cost (−) or income (+) of the insurance: net funding {_c(fig.funding_coin, c)}",
        fontsize=10,
    )
    save(figure, axes, "funding.png")
    return paths


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
        plot(replay, fig, out)
    if as_json:
        print(json.dumps(to_json(fig), indent=2))
    else:
        print(table(fig), end="")
        if out is not None:
            print(f"report.json, report.txt, plots (value, ratio, funding) and journal in {out}")
    return 0
