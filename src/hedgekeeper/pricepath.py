"""Price paths that drive the simulated exchange: recorded history from a CSV, or a seeded walk.

A path is only prices and the funding settled at each point; the sim turns it into marks, clocks,
funding payments and liquidations. Loading validates every row up front, because a replay that dies
on row 12,000 of a bad file, or silently hedges against a zero price, wastes the user's afternoon.
"""

from __future__ import annotations

import csv
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _csv import Reader  # the type of csv.reader(), which has no public name

__all__ = ["PricePathError", "PricePoint", "load_csv", "random_walk"]

# Epoch seconds reach 1e11 only in the year 5138, epoch milliseconds passed it in 1973.
_MS_THRESHOLD = 1e11
_CENT = Decimal("0.01")

# Column names per format: (time, price, funding). Detected from the header, so a file whose
# columns come in another order still loads.
_DERIBIT = ("timestamp", "index_price", "interest_1h")
_PLAIN = ("timestamp", "price", "funding_rate")


class PricePathError(ValueError):
    """A price file that cannot be trusted; the message names the file, line and column."""


@dataclass(frozen=True, slots=True)
class PricePoint:
    """One moment of the path.

    `funding_rate` is the funding settled at this point as a fraction of the position's notional
    (positive: longs pay shorts); None when the source does not say.
    """

    ts: float
    price: Decimal
    funding_rate: Decimal | None = None


def _columns(header: list[str], where: str) -> tuple[int, int, int | None]:
    """Indexes of the time, price and funding columns, or an error naming what was expected."""
    names = [name.strip().lstrip("\ufeff").lower() for name in header]
    if all(name in names for name in _DERIBIT):
        # The Deribit export repeats `time_dt`; index() takes the first copy of each name.
        return names.index(_DERIBIT[0]), names.index(_DERIBIT[1]), names.index(_DERIBIT[2])
    if names[:2] == list(_PLAIN[:2]) and names[2:] in ([], [_PLAIN[2]]):
        return 0, 1, 2 if len(names) == 3 else None
    raise PricePathError(
        f"{where}: line 1: unknown header {','.join(header)!r}; expected "
        f"'{','.join(_PLAIN)}' (funding_rate optional) or a Deribit export with "
        f"columns {', '.join(_DERIBIT)}"
    )


def _time(text: str) -> float:
    """Epoch seconds from ISO 8601 (UTC when no zone is given), epoch seconds or milliseconds."""
    try:
        number = float(text)
    except ValueError:
        moment = datetime.fromisoformat(text.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    if not math.isfinite(number):
        raise ValueError(text)
    return number / 1000.0 if abs(number) >= _MS_THRESHOLD else number


def _decimal(text: str) -> Decimal:
    value = Decimal(text)
    if not value.is_finite():
        raise InvalidOperation(text)
    return value


def load_csv(path: str | Path) -> list[PricePoint]:
    """Every row of a price CSV, checked: positive prices, strictly increasing times."""
    where = str(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = csv.reader(handle)
            try:
                return _parse(rows, where)
            except csv.Error as exc:
                raise PricePathError(f"{where}: line {rows.line_num}: not CSV: {exc}") from None
    except UnicodeDecodeError as exc:
        raise PricePathError(f"{where}: not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise PricePathError(f"{where}: cannot read: {exc.strerror}") from None


def _parse(rows: Reader, where: str) -> list[PricePoint]:
    header = next(rows, None)
    if header is None:
        raise PricePathError(f"{where}: line 1: empty file, expected a header")
    ti, pi, fi = _columns(header, where)
    names = (header[ti].strip(), header[pi].strip(), "" if fi is None else header[fi].strip())
    deribit = fi is not None and header[fi].strip().lower() == _DERIBIT[2]
    points: list[PricePoint] = []
    lines: list[int] = []
    last = -math.inf
    for row in rows:
        if not row:
            continue
        line = rows.line_num
        col = 0  # which of (time, price, funding) is being read, for the message
        try:
            ts = _time(row[ti])
            col = 1
            price = _decimal(row[pi])
            col = 2
            cell = "" if fi is None else row[fi].strip()
            funding = _decimal(cell) if cell else None
        except IndexError:
            raise PricePathError(
                f"{where}: line {line}, column {names[col]!r}: missing value"
            ) from None
        except (ValueError, ArithmeticError):
            text = row[(ti, pi, fi or 0)[col]]
            raise PricePathError(
                f"{where}: line {line}, column {names[col]!r}: not a number or time: {text!r}"
            ) from None
        if price <= 0:
            raise PricePathError(
                f"{where}: line {line}, column {names[1]!r}: price must be positive, "
                f"got {row[pi]!r}"
            )
        if ts <= last and not (deribit and ts < last):
            raise _out_of_order(where, line, names[0], row[ti])
        last = max(last, ts)
        points.append(PricePoint(ts, price, funding))
        lines.append(line)
    if not points:
        raise PricePathError(f"{where}: line 2: no rows after the header")
    return _sorted(points, lines, where, names[0]) if deribit else points


def _out_of_order(where: str, line: int, column: str, text: str) -> PricePathError:
    return PricePathError(
        f"{where}: line {line}, column {column!r}: time {text!r} does not come after the "
        "previous row's"
    )


def _sorted(
    points: list[PricePoint], lines: list[int], where: str, column: str
) -> list[PricePoint]:
    """Deribit's export has rows swapped around the October 2019 DST change (their
    `prev_index_price` chain shows the timestamps are right and only the order is wrong), so
    those files are put in time order; a time given twice is still an error."""
    order = sorted(range(len(points)), key=lambda i: points[i].ts)
    for before, after in itertools.pairwise(order):
        if points[after].ts == points[before].ts:
            late = max(before, after)
            raise _out_of_order(where, lines[late], column, repr(points[late].ts))
    return [points[i] for i in order]


def random_walk(
    seed: int,
    start_price: Decimal,
    volatility: Decimal,
    step_seconds: float,
    start_time: float,
    steps: int | None = None,
) -> Iterator[PricePoint]:
    """A geometric random walk, the same for the same seed; `steps` points, or endless.

    Each step multiplies the price by exp(σZ - σ²/2), so the walk has no drift in expectation and
    can never reach zero. The state is kept as a float and only the reported price is rounded, so
    rounding does not accumulate into a drift of its own.
    """
    rng = random.Random(seed)
    sigma = float(volatility)
    bias = -sigma * sigma / 2.0
    price = float(start_price)
    first = Decimal(start_price).quantize(_CENT)
    yield PricePoint(start_time, first if first > 0 else _CENT)
    index = 1
    while steps is None or index < steps:
        price *= math.exp(sigma * rng.gauss(0.0, 1.0) + bias)
        quoted = Decimal(f"{price:.2f}")
        yield PricePoint(start_time + index * step_seconds, quoted if quoted > 0 else _CENT)
        index += 1
