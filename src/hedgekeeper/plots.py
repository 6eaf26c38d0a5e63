"""Three pictures of a replay, for a person deciding whether the insurance is worth having.

value.png: what the holding was worth with and without the hedge, with a close-up of the worst
24 hours; ratio.png: the hedge ratio achieved against the target; funding.png: what funding paid
(or cost) and what fees cost over time. matplotlib comes in through `Canvas`, only when drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hedgekeeper.canvas import Canvas
from hedgekeeper.report import Figures, worst_day
from hedgekeeper.simulate import Hour, Replay
from hedgekeeper.units import coins, pct

__all__ = ["plot"]

ZOOM_DAYS = 5.0  # either side of the worst day, in the close-up
DPI = 90


def plot(replay: Replay, fig: Figures, out: Path) -> list[Path]:
    """value.png, ratio.png and funding.png in `out`; returns their paths."""
    canvas = Canvas(out, DPI, ticks=6)
    plt, dates = canvas.plt, canvas.dates
    hours = replay.hours
    when = canvas.when([h.ts for h in hours])
    title = f"h = {fig.hedge_ratio}, {fig.start[:10]} to {fig.end[:10]}"

    figure, (main, zoom) = plt.subplots(
        1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 1.2]}
    )
    _values(main, when, hours, fig, range(len(hours)))
    main.set_title(f"What the holding was worth, hedged and not ({title})", fontsize=10)
    main.legend(loc="upper left", fontsize=8)
    dates(main)
    start, trough = worst_day(hours)
    centre, reach = hours[trough].ts, ZOOM_DAYS * 86400
    near = [i for i, h in enumerate(hours) if abs(h.ts - centre) <= reach]
    _values(zoom, when, hours, fig, near)
    zoom.axvspan(when[start], when[trough], color="tab:red", alpha=0.12)
    zoom.set_title(
        f"worst 24 h (shaded):\nunhedged {pct(fig.worst_day_unhedged)}, "
        f"hedged {pct(fig.worst_day_hedged)}",
        fontsize=9,
    )
    dates(zoom)
    canvas.save(figure, "value.png")

    figure, axes = plt.subplots(figsize=(11, 3.2))
    share = [float(h.hedged_coin / h.exposure) if h.exposure else 0.0 for h in hours]
    aim = [float(h.target_coin / h.exposure) if h.exposure else 0.0 for h in hours]
    legs = replay.setup.legs
    if len(legs) == 1:  # the band within which the daemon leaves the short alone
        width = float(legs[0].deadband.percent) / 100
        low, high = [a * (1 - width) for a in aim], [a * (1 + width) for a in aim]
        axes.fill_between(when, low, high, color="grey", alpha=0.15, label="deadband")
    axes.plot(when, aim, color="grey", lw=1, ls="--", label="target h")
    axes.plot(when, share, color="tab:blue", lw=0.8, label="achieved")
    axes.set_ylabel("short / exposure")
    axes.set_title(
        f"Hedge ratio achieved vs target ({title}): it trades when it leaves the deadband",
        fontsize=10,
    )
    axes.legend(loc="upper left", fontsize=8)
    dates(axes)
    canvas.save(figure, "ratio.png")

    figure, axes = plt.subplots(figsize=(11, 3.2))
    axes.plot(when, [float(h.funding_quote) for h in hours], color="tab:green", label="funding")
    axes.plot(when, [-float(h.fees_quote) for h in hours], color="tab:orange", label="fees")
    axes.axhline(0, color="black", lw=0.6)
    axes.set_ylabel(f"cumulative, {fig.quote}")
    axes.set_title(
        f"Income (+) or cost (-) of the insurance ({title}): funding "
        f"{coins(fig.funding_coin, fig.coin)}, {pct(fig.funding_annualised)} a year",
        fontsize=10,
    )
    axes.legend(loc="upper left", fontsize=8)
    dates(axes)
    canvas.save(figure, "funding.png")
    return canvas.paths


def _values(axes: Any, when: Sequence[float], hours: Sequence[Hour], fig: Figures, at: Any) -> None:
    """The unhedged value, the hedged value and the start value (+ deposits), at indexes `at`."""
    x = [when[i] for i in at]
    axes.plot(x, [float(hours[i].unhedged) for i in at], color="tab:red", lw=1, label="unhedged")
    axes.plot(x, [float(hours[i].hedged) for i in at], color="tab:blue", lw=1.4, label="hedged")
    flat = [float(fig.hedged_start + hours[i].flows_quote) for i in at]
    axes.plot(x, flat, color="grey", lw=0.8, ls="--", label="start value (+ deposits)")
    axes.set_ylabel(f"value in {fig.quote}")
