"""What the replay's and the comparison's pictures share: matplotlib on the Agg backend, time on
the x axis, and saving each figure into one folder.

matplotlib is imported when a `Canvas` is made, never at module import, so a server without a
display (or without matplotlib) can still run a replay and read its table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["Canvas"]


class Canvas:
    """The pictures written into `out` at `dpi`, their date axes with about `ticks` labels."""

    def __init__(self, out: Path, dpi: int, ticks: int) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt

        self.plt: Any = plt
        self._mdates: Any = mdates
        self.out, self.dpi, self.ticks = out, dpi, ticks
        self.paths: list[Path] = []
        out.mkdir(parents=True, exist_ok=True)

    def when(self, stamps: Sequence[float]) -> Sequence[float]:
        """Unix times as matplotlib's dates (UTC)."""
        moments = [datetime.fromtimestamp(t, UTC) for t in stamps]
        found: Sequence[float] = self._mdates.date2num(moments)
        return found

    def dates(self, axes: Any) -> None:
        """Concise date labels and a light grid."""
        locator = self._mdates.AutoDateLocator(maxticks=self.ticks)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(self._mdates.ConciseDateFormatter(locator))
        axes.grid(alpha=0.3)

    def save(self, figure: Any, name: str) -> None:
        """`figure` as `out/name`, closed; its path joins `paths`."""
        figure.tight_layout()
        path = self.out / name
        figure.savefig(path, dpi=self.dpi)
        self.plt.close(figure)
        self.paths.append(path)
