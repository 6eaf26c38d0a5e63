"""What a person watching the daemon sees besides its events: a heartbeat line every few minutes
(mark, exposure, position, h achieved), a summary of the run on exit, and `status --watch`.

Everything here reads; nothing here decides. The heartbeat reads each leg's last plan, the
summary reads the journal, the watch table reads `/status` (or a one-shot read).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import structlog

from hedgekeeper.journal import Journal
from hedgekeeper.units import coins, contracts, number, quote, symbol_units

__all__ = ["RunSummary", "achieved", "heartbeat", "status_table", "watch"]

log = structlog.get_logger("hedgekeeper")


class LegView(Protocol):
    """What the heartbeat needs of a leg engine (a narrow view, so tests can pass a stand-in)."""

    def status(self) -> dict[str, Any]: ...


def achieved(leg: dict[str, Any]) -> Decimal | None:
    """h achieved: the short's coin value over the exposure, from a status entry; None when
    there is nothing to hedge or no figures yet."""
    x, q, mark = (number(leg.get(k)) for k in ("exposure", "position", "mark"))
    size = number(leg.get("contract_size"))
    if x is None or q is None or mark is None or size is None or x <= 0 or mark <= 0:
        return None
    per = size / mark if leg.get("contract_kind") == "inverse" else size
    return -q * per / x


def heartbeat_fields(leg: dict[str, Any]) -> dict[str, Any]:
    """One leg's heartbeat as log fields (exact strings; the console rounds them)."""
    h = achieved(leg)
    return {
        "leg": leg["leg"],
        "symbol": leg.get("symbol"),
        "state": leg.get("state"),
        "mark": leg.get("mark"),
        "exposure": leg.get("exposure"),
        "position": leg.get("position"),
        "target": leg.get("target"),
        "hedged": None if h is None else str(h),
    }


async def heartbeat(legs: Sequence[LegView], stop: asyncio.Event, interval: float) -> None:
    """Every `interval` seconds, one line per leg saying it is alive and how it stands."""
    if interval <= 0:
        return
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
        if stop.is_set():
            return
        for leg in legs:
            log.info("heartbeat", **heartbeat_fields(leg.status()))


@dataclass
class RunSummary:
    """Orders, fees and funding of this run, read back from the journal when the daemon exits."""

    journal: Journal
    after: tuple[int, int] = (0, 0)
    started: float = 0.0

    def begin(self) -> None:
        self.after = self.journal.high_water()
        self.started = time.monotonic()

    def lines(self, legs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """One event per leg: what it did this run and where it stands."""
        out = []
        for leg in legs:
            name = leg["leg"]
            orders, fills, fee, funding = self.journal.run_totals(name, self.after)
            out.append(
                {
                    "leg": name,
                    "symbol": leg.get("symbol"),
                    "state": leg.get("state"),
                    "orders": orders,
                    "fills": fills,
                    "fee": str(fee),
                    "funding_net": (
                        "unknown"  # the exchange does not report this market's funding
                        if leg.get("funding_total") == "unknown"
                        else str(funding)
                    ),
                    "position": leg.get("position"),
                    "target": leg.get("target"),
                    "minutes": round((time.monotonic() - self.started) / 60, 1),
                }
            )
        return out

    def log(self, legs: Sequence[dict[str, Any]]) -> None:
        for entry in self.lines(legs):
            log.info("summary", **entry)


# ---- status --watch ------------------------------------------------------------------------


def status_table(data: dict[str, Any]) -> Any:
    """A rich table of every leg, figures rounded with units."""
    from rich.table import Table

    table = Table(
        title=f"hedgekeeper {data.get('mode', '?')} ({data.get('source', '?')})",
        title_justify="left",
    )
    for column in ("leg", "state", "mark", "exposure", "short / target", "drift", "h", "age"):
        table.add_column(column, justify="left" if column in ("leg", "state") else "right")
    table.add_column("why", overflow="fold", max_width=48)
    for leg in data.get("legs", []):
        base, quote_coin, _ = symbol_units(str(leg.get("symbol", "")))
        mark, x = number(leg.get("mark")), number(leg.get("exposure"))
        q, target, drift = (number(leg.get(k)) for k in ("position", "target", "drift"))
        h = achieved(leg)
        ages = leg.get("data_age_seconds") or {}
        age = max((float(v) for v in ages.values()), default=None)
        table.add_row(
            str(leg.get("leg")),
            str(leg.get("state")),
            "-" if mark is None else quote(mark, quote_coin),
            "-" if x is None else coins(x, base),
            "-" if q is None or target is None else f"{contracts(q)} / {contracts(target)}",
            "-" if drift is None else contracts(drift),
            "-" if h is None else f"{h:.4f}",
            "-" if age is None else f"{age:.0f} s",
            str(leg.get("would") or leg.get("reason") or ""),
        )
    return table


async def watch(
    read: Callable[[], Awaitable[dict[str, Any]]], interval: float, count: int | None = None
) -> int:
    """Redraw the table every `interval` seconds until interrupted (or `count` redraws)."""
    from rich.console import Console
    from rich.live import Live

    console = Console()
    drawn = 0
    with Live(console=console, auto_refresh=False) as live:
        while count is None or drawn < count:
            live.update(status_table(await read()), refresh=True)
            drawn += 1
            if count is None or drawn < count:
                await asyncio.sleep(interval)
    return 0
