"""`hedgekeeper download`: a perp's price and funding history, through ccxt, as a price CSV.

The output is the plain format the simulator reads, `timestamp,price,funding_rate`: one row per
candle, the candle's opening price (the price at that timestamp), and the funding settled during
that candle (empty when none was), so a replay pays funding when and as the exchange did.
Exchanges page their history, so both series are fetched page by page from `since`, with a
progress bar, and only what ccxt returns is used: nothing is interpolated.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["History", "add_parser", "command", "fetch", "write_csv"]

Progress = Callable[[str, int, int], None]  # (series, done ms, total ms)


class History:
    """Candles and funding of one market, merged into the simulator's rows."""

    def __init__(self, step_ms: int) -> None:
        self.step_ms = step_ms
        self.prices: dict[int, Decimal] = {}
        self.funding: dict[int, Decimal] = {}  # per candle start, summed
        self.dropped = 0  # funding settled where there is no candle

    def add_candle(self, candle: list[Any]) -> None:
        self.prices[int(candle[0])] = Decimal(str(candle[1]))

    def add_funding(self, ts: int, rate: float | str) -> None:
        start = ts - ts % self.step_ms  # the candle during which it was settled
        self.funding[start] = self.funding.get(start, Decimal(0)) + Decimal(str(rate))

    def rows(self) -> list[tuple[str, str, str]]:
        self.dropped = sum(1 for start in self.funding if start not in self.prices)
        out = []
        for start in sorted(self.prices):
            moment = datetime.fromtimestamp(start / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            rate = self.funding.get(start)
            out.append((moment, str(self.prices[start]), "" if rate is None else str(rate)))
        return out


async def fetch(
    exchange: Any,
    symbol: str,
    since: int,
    until: int,
    timeframe: str = "1h",
    progress: Progress | None = None,
    page: int = 500,
) -> History:
    """Candles and funding in [since, until) milliseconds, page by page."""
    if exchange.markets is None:
        await exchange.load_markets()
    step = int(exchange.parse_timeframe(timeframe)) * 1000
    history = History(step)
    total = max(until - since, 1)
    report = progress or (lambda _series, _done, _total: None)
    cursor = since
    while cursor < until:
        batch = await exchange.fetch_ohlcv(symbol, timeframe, since=cursor, limit=page)
        batch = [c for c in batch if cursor <= c[0] < until]
        # No candles in this page (an outage, or before the listing): look one page later.
        cursor = batch[-1][0] + step if batch else cursor + page * step
        for candle in batch:
            history.add_candle(candle)
        report("candles", min(cursor, until) - since, total)
    cursor = since
    while cursor < until:
        rates = await exchange.fetch_funding_rate_history(symbol, since=cursor, limit=page)
        rates = [r for r in rates if cursor <= r["timestamp"] < until]
        if not rates:
            break
        for rate in rates:
            history.add_funding(int(rate["timestamp"]), rate["fundingRate"])
        cursor = rates[-1]["timestamp"] + 1
        report("funding", min(cursor, until) - since, total)
    report("funding", total, total)
    return history


def write_csv(path: Path, history: History) -> int:
    rows = history.rows()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("timestamp", "price", "funding_rate"))
        writer.writerows(rows)
    return len(rows)


# ---- the command -----------------------------------------------------------------------------


def make_exchange(exchange_id: str) -> Any:
    """A ccxt async exchange by id; public endpoints only, so no keys."""
    import ccxt.async_support as ccxt_async

    if exchange_id not in ccxt_async.exchanges:
        raise ValueError(f"--exchange: {exchange_id!r} is not a ccxt exchange id")
    return getattr(ccxt_async, exchange_id)({"enableRateLimit": True})


def _moment(text: str) -> int:
    """Milliseconds from an ISO date or time (UTC unless a zone is given)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def add_parser(sub: Any) -> None:
    down = sub.add_parser("download", help="fetch a perp's price and funding history to a CSV")
    down.add_argument("--exchange", required=True, help="ccxt id, e.g. binancecoinm, bybit")
    down.add_argument("--symbol", required=True, help="ccxt symbol, e.g. BTC/USD:BTC")
    down.add_argument("--since", type=_moment, required=True, help="ISO date, UTC")
    down.add_argument("--until", type=_moment, help="ISO date, UTC (default: now)")
    down.add_argument("--timeframe", default="1h", help="candle length (default 1h)")
    down.add_argument("--out", type=Path, required=True, help="CSV file to write")


def command(args: argparse.Namespace) -> int:
    """0 when written; 2 for bad arguments; 1 when the exchange fails."""
    import ccxt
    from rich.console import Console
    from rich.progress import Progress as Bar

    until = args.until or int(datetime.now(UTC).timestamp() * 1000)
    if until <= args.since:
        print("hedgekeeper: --until must come after --since", file=sys.stderr)
        return 2
    try:
        exchange = make_exchange(args.exchange)
    except ValueError as exc:
        print(f"hedgekeeper: {exc}", file=sys.stderr)
        return 2
    with Bar(console=Console(stderr=True), transient=False) as bar:
        tasks = {
            name: bar.add_task(name, total=until - args.since) for name in ("candles", "funding")
        }

        def progress(series: str, done: int, total: int) -> None:
            bar.update(tasks[series], completed=done, total=total)

        async def go() -> History:
            try:
                return await fetch(
                    exchange, args.symbol, args.since, until, args.timeframe, progress
                )
            finally:
                await exchange.close()

        try:
            history = asyncio.run(go())
        except ccxt.BaseError as exc:
            print(f"hedgekeeper: {args.exchange}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    written = write_csv(args.out, history)
    print(f"{args.out}: {written} rows, {len(history.funding)} funding settlements", end="")
    print(f" ({history.dropped} outside any candle, left out)" if history.dropped else "")
    return 0 if written else 1
