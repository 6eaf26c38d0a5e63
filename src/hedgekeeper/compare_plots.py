"""Two pictures of `simulate --compare`: every policy's value path with its floor, and h(t).

matplotlib comes in through `Canvas`, only when drawing: the comparison's table and JSON do not
need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hedgekeeper.canvas import Canvas
from hedgekeeper.simulate_compare import Series

__all__ = ["plot"]

DPI = 80


def plot(runs: Sequence[Series], out: Path, title: str) -> list[Path]:
    """compare-value.png and compare-ratio.png in `out`; returns their paths."""
    canvas = Canvas(out, DPI, ticks=8)
    plt, dates = canvas.plt, canvas.dates
    when = canvas.when(runs[0].ts)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    figure, axes = plt.subplots(figsize=(11, 4.8))
    axes.plot(when, runs[0].unhedged, color="black", lw=0.8, alpha=0.5, label="unhedged")
    for i, run in enumerate(runs):
        colour = colours[i % len(colours)]
        axes.plot(when, run.value, color=colour, lw=1.1, label=run.policy)
        if any(f == f for f in run.floor):  # NaN != NaN: a policy without a floor draws none
            axes.plot(when, run.floor, color=colour, lw=0.9, ls="--")
    axes.set_yscale("log")
    axes.set_ylabel("value, USD (log); floors dashed")
    axes.set_title(f"Value of the holding under each policy, with its floor ({title})", fontsize=10)
    axes.legend(loc="upper left", fontsize=7)
    dates(axes)
    canvas.save(figure, "compare-value.png")

    figure, axes = plt.subplots(figsize=(11, 3.6))
    for i, run in enumerate(runs):
        axes.plot(when, run.ratio, color=colours[i % len(colours)], lw=0.9, label=run.policy)
    axes.set_ylim(-0.03, 1.03)
    axes.set_ylabel("hedge ratio h")
    axes.set_title(f"Hedge ratio h(t) each policy targets ({title})", fontsize=10)
    axes.legend(loc="lower left", fontsize=7)
    dates(axes)
    canvas.save(figure, "compare-ratio.png")
    return canvas.paths
