"""`hedgekeeper report`: what the insurance did, from the live journal alone.

The daemon journals an hourly valuation per leg (`valuation.py`) beside its fills and funding.
From those this module rebuilds the same hourly tape a simulation records (`simulate.Hour`), so
the figures, table, JSON and plots are `report.py`'s and `plots.py`'s, unchanged. It opens the
journal read-only and never contacts an exchange, so it works on a copy.

Deposits and withdrawals are not journaled as such; between two valuations they are what the
account's change leaves after the hedge's PnL (from the fills, at their prices), funding and
fees. The unhedged holding moves only by those flows.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hedgekeeper import contracts
from hedgekeeper.config import LegConfig, Settings, SimConfig
from hedgekeeper.domain import ZERO, ContractKind, MarketSpec
from hedgekeeper.report import Figures, figures, table, to_json
from hedgekeeper.simulate import Hour, Replay, Setup
from hedgekeeper.units import symbol_units

__all__ = ["ReportError", "command", "load"]


class ReportError(Exception):
    """A journal the report cannot read, in one line."""


@dataclass(frozen=True, slots=True)
class Row:
    ts: float
    spec: MarketSpec
    mark: Decimal
    holdings: Decimal
    equity: Decimal
    position: Decimal
    exposure: Decimal
    target: Decimal
    band: Decimal
    ratio: Decimal


def _spec(symbol: str, kind: str, size: str) -> MarketSpec:
    base, quote, settle = symbol_units(symbol)
    one = Decimal(1)
    return MarketSpec(symbol, ContractKind(kind), Decimal(size), one, one, one, base, quote, settle)


def _connect(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise ReportError(f"no journal at {path}")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "valuations" not in tables:
        raise ReportError(
            f"journal {path} has no hourly valuations: a daemon of this version writes one an "
            "hour per leg; run it for an hour or more, then report"
        )
    return db


class Ledger:
    """One leg's rows, fills and funding, walked into hourly `Hour`s."""

    def __init__(self, db: sqlite3.Connection, leg: str, since: float) -> None:
        cols = "ts, symbol, kind, contract_size, mark, holdings, equity, position, exposure, "
        cols += "target, band, hedge_ratio"
        self.rows = [
            Row(r[0], _spec(r[1], r[2], r[3]), *(Decimal(x) for x in r[4:]))
            for r in db.execute(
                f"SELECT {cols} FROM valuations WHERE leg=? AND ts>=? ORDER BY ts", (leg, since)
            )
        ]
        self.fills = [
            (float(r[0]), Decimal(r[1]), Decimal(r[2] or 0), Decimal(r[3]))
            for r in db.execute(
                "SELECT ts, contracts, price, fee FROM fills WHERE leg=? AND ts>=? ORDER BY ts",
                (leg, since),
            )
        ]
        self.funding = [
            (float(r[0]), Decimal(r[1]))
            for r in db.execute(
                "SELECT ts, amount FROM funding WHERE leg=? AND ts>=? ORDER BY ts", (leg, since)
            )
        ]

    def hours(self) -> list[Hour]:
        """The tape; the first valuation's value is both the hedged and the unhedged start.

        A valuation is taken before the hour's first decision, so a fill belongs to the next
        valuation after it (strictly), and a funding payment to the first at or after it."""
        if not self.rows:
            return []
        first = self.rows[0]
        self.inverse = first.spec.kind is ContractKind.INVERSE
        coin_units = first.holdings + (first.equity if self.inverse else ZERO)
        quote_units = ZERO if self.inverse else first.equity
        self._fills, self._funds = list(self.fills), list(self.funding)
        self.cum: dict[str, Decimal] = defaultdict(lambda: ZERO)
        hours, prev = [], first
        for row in self.rows:
            if row is not first:
                hedge = self._perp(prev, row)  # what the perp added, in the settle coin
                if self.inverse:
                    moved = (row.holdings + row.equity) - (prev.holdings + prev.equity) - hedge
                    coin_units += moved
                    self.cum["flows_quote"] += moved * row.mark
                else:
                    coin_units += row.holdings - prev.holdings
                    quote_units += row.equity - prev.equity - hedge
                    self.cum["flows_quote"] += (row.holdings - prev.holdings) * row.mark
                    self.cum["flows_quote"] += row.equity - prev.equity - hedge
            hours.append(self._hour(row, coin_units, quote_units))
            prev = row
        # Fills and funding after the last valuation still count in the totals.
        self._perp(prev, replace(prev, ts=float("inf")))
        hours[-1] = self._hour(prev, coin_units, quote_units, hours[-1])
        self.funding_in, self.funding_out = self.cum["funding_in"], self.cum["funding_out"]
        return hours

    def _perp(self, prev: Row, row: Row) -> Decimal:
        """Consume the fills and funding up to `row`: PnL from the fills' prices, plus funding,
        less fees; cumulative totals kept in `cum`."""
        cum, inverse = self.cum, self.inverse
        pnl = fee = paid = ZERO
        q, price = prev.position, prev.mark
        while self._fills and self._fills[0][0] < row.ts:
            _, size, at, f = self._fills.pop(0)
            at = at or price
            pnl += contracts.pnl(row.spec, q, price, at)
            q, price, fee = q + size, at, fee + f
            cum["fees_coin"] += f if inverse else f / at
            cum["fees_quote"] += f * at if inverse else f
        if row.ts != float("inf"):
            pnl += contracts.pnl(row.spec, q, price, row.mark)
        while self._funds and self._funds[0][0] <= row.ts:
            amount = self._funds.pop(0)[1]
            paid += amount
            coin = amount if inverse else amount / row.mark
            cum["funding_coin"] += coin
            cum["funding_quote"] += amount * row.mark if inverse else amount
            cum["funding_in" if amount > 0 else "funding_out"] += abs(coin)
        return pnl + paid - fee

    def _hour(
        self, row: Row, coin_units: Decimal, quote_units: Decimal, base: Hour | None = None
    ) -> Hour:
        c = self.cum
        if base is not None:
            return replace(
                base,
                funding_coin=c["funding_coin"],
                funding_quote=c["funding_quote"],
                fees_coin=c["fees_coin"],
                fees_quote=c["fees_quote"],
                flows_quote=c["flows_quote"],
            )
        account = (
            (row.holdings + row.equity) * row.mark
            if self.inverse
            else row.holdings * row.mark + row.equity
        )
        return Hour(
            ts=row.ts,
            price=row.mark,
            holding=coin_units,
            unhedged=coin_units * row.mark + quote_units,
            hedged=account,
            exposure=row.exposure,
            target_coin=row.ratio * row.exposure,
            hedged_coin=-row.position * contracts.coin_per_contract(row.spec, row.mark),
            short_quote=-row.position * contracts.quote_per_contract(row.spec, row.mark),
            funding_coin=c["funding_coin"],
            funding_quote=c["funding_quote"],
            fees_coin=c["fees_coin"],
            fees_quote=c["fees_quote"],
            flows_quote=c["flows_quote"],
            under=row.position - row.target >= row.band,
        )


def _total(tapes: Sequence[list[Hour]]) -> list[Hour]:
    """Legs summed hour by hour (valuations of one hour share its bucket); the price is the
    first leg's."""
    buckets: dict[int, list[Hour]] = defaultdict(list)
    for tape in tapes:
        for hour in tape:
            buckets[int(hour.ts // 3600)].append(hour)
    out = []
    for key in sorted(buckets):
        group = buckets[key]
        if len(group) != len(tapes):
            continue  # an hour some leg did not value (it was stale): not comparable

        summed: dict[str, Any] = {
            f.name: sum((getattr(h, f.name) for h in group), ZERO)
            for f in fields(Hour)
            if f.name not in ("ts", "price", "under", "value", "floor")  # policy figures: per leg
        }
        first = group[0]
        out.append(
            Hour(ts=first.ts, price=first.price, under=any(h.under for h in group), **summed)
        )
    return out


def load(settings: Settings, since: float = 0.0) -> dict[str, tuple[Replay, Figures]]:
    """Per leg (and 'total' when several legs hedge one coin): the replay-shaped tape and its
    figures. Legs come from the journal; their config (for h) from `settings` where it has them."""
    path = Path(settings.journal)
    if "://" in settings.journal:
        raise ReportError("report reads a SQLite journal (a file); copy one out of PostgreSQL")
    db = _connect(path)
    try:
        names = [r[0] for r in db.execute("SELECT DISTINCT leg FROM valuations ORDER BY leg")]
        if not names:
            raise ReportError(f"journal {settings.journal} has no valuations yet")
        configured = {leg.name: leg for leg in settings.legs}
        trips: dict[str, dict[str, int]] = defaultdict(dict)
        for leg, kind, count in db.execute(
            "SELECT leg, kind, COUNT(*) FROM events WHERE kind LIKE 'guard:%' AND ts>=? "
            "GROUP BY leg, kind",
            (since,),
        ):
            trips[leg][str(kind).removeprefix("guard:")] = int(count)
        out: dict[str, tuple[Replay, Figures]] = {}
        tapes = []
        for name in names:
            ledger = Ledger(db, name, since)
            hours = ledger.hours()
            if not hours:
                continue
            leg = configured.get(name) or _stand_in(name, ledger.rows[0])
            orders = db.execute(
                "SELECT COUNT(*) FROM intents WHERE leg=? AND ts>=?", (name, since)
            ).fetchone()[0]
            replay = Replay(
                setup=Setup((leg,), "journal", SimConfig(), ()),
                coin=ledger.rows[0].spec.base,
                quote=ledger.rows[0].spec.quote,
                hours=hours,
                start_value=hours[0].hedged,
                orders=int(orders),
                fills=len(ledger.fills),
                funding_in_coin=ledger.funding_in,
                funding_out_coin=ledger.funding_out,
                journal_funding=sum((a for _, a in ledger.funding), ZERO),
                guard_trips=trips.get(name, {}),
                journal=path,
            )
            out[name] = (replay, figures(replay))
            tapes.append(replay)
        coins = {r.coin for r in tapes}
        if len(tapes) > 1 and len(coins) == 1:
            hours = _total([r.hours for r in tapes])
            if hours:
                total = Replay(
                    setup=Setup(tuple(r.setup.legs[0] for r in tapes), "journal", SimConfig(), ()),
                    coin=tapes[0].coin,
                    quote=tapes[0].quote,
                    hours=hours,
                    start_value=hours[0].hedged,
                    orders=sum(r.orders for r in tapes),
                    fills=sum(r.fills for r in tapes),
                    funding_in_coin=sum((r.funding_in_coin for r in tapes), ZERO),
                    funding_out_coin=sum((r.funding_out_coin for r in tapes), ZERO),
                    journal_funding=ZERO,  # settle coins differ between legs: per leg only
                    guard_trips=_merge([r.guard_trips for r in tapes]),
                    journal=path,
                )
                out["total"] = (total, figures(total))
        return out
    finally:
        db.close()


def _merge(counts: Sequence[dict[str, int]]) -> dict[str, int]:
    merged: dict[str, int] = defaultdict(int)
    for one in counts:
        for key, n in one.items():
            merged[key] += n
    return dict(merged)


def _stand_in(name: str, row: Row) -> LegConfig:
    """A leg the config no longer has: its hedge ratio from the journal, the rest defaults."""
    return LegConfig.model_validate(
        {
            "name": name,
            "asset": row.spec.base,
            "perp": {"venue": "journal", "symbol": row.spec.symbol},
            "hedge_ratio": row.ratio,
        }
    )


def parse_since(text: str) -> float:
    """A date (2026-01-31) or an ISO time, UTC unless it says otherwise."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since: not a date or ISO time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def command(settings: Settings, since: str | None, as_json: bool, out: Path | None) -> int:
    """0 with the report printed; 1 when the journal cannot be reported on; 2 for a bad --since."""
    try:
        start = parse_since(since) if since else 0.0
    except ValueError as exc:
        print(f"hedgekeeper: {exc}", file=sys.stderr)
        return 2
    try:
        reports = load(settings, start)
    except (ReportError, sqlite3.Error) as exc:
        print(f"hedgekeeper: report: {exc}", file=sys.stderr)
        return 1
    data = {name: to_json(fig) for name, (_, fig) in reports.items()}
    text = "".join(f"{name}\n{table(fig)}" for name, (_, fig) in reports.items())
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(data, indent=2) + "\n")
        (out / "report.txt").write_text(text)
        try:
            from hedgekeeper.plots import plot

            for name, (replay, fig) in reports.items():
                plot(replay, fig, out / name)
        except ImportError:
            pass  # matplotlib is an extra; the figures stand without it
    print(json.dumps(data, indent=2) if as_json else text, end="\n" if as_json else "")
    return 0
