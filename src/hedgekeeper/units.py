"""Figures for people: coin to 8 decimals, quote to 2, contracts whole where the market is.

The journal and JSON lines keep exact values; these are only how a figure is shown on a terminal,
in a report table or in an alert, so every place rounds the same way.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = [
    "coins",
    "contracts",
    "number",
    "pct",
    "quote",
    "round_text",
    "symbol_units",
]

_LONG_DECIMAL = re.compile(r"(?<![\w.])(-?\d+)\.(\d{9,})(?![\w.])")


def number(value: object) -> Decimal | None:
    """A Decimal from a Decimal, int, float or numeric string; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    try:
        parsed = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return parsed if parsed.is_finite() else None


def coins(value: Decimal, unit: str = "") -> str:
    """Coin amounts to 8 decimals (a satoshi), with thousands separators."""
    return f"{value:,.8f} {unit}".rstrip()


def quote(value: Decimal, unit: str = "") -> str:
    """Quote amounts and prices to 2 decimals."""
    return f"{value:,.2f} {unit}".rstrip()


def contracts(value: Decimal) -> str:
    """Whole contracts as integers; fractional ones (coin-sized markets) as they are."""
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value.normalize():,f}"


def pct(value: Decimal) -> str:
    return f"{value * 100:.2f} %"


def round_text(text: str) -> str:
    """Round every decimal with more than 8 fraction digits inside prose to 8 (for terminals:
    a reason string keeps its exact figures in the journal)."""
    return _LONG_DECIMAL.sub(lambda m: f"{Decimal(m.group(0)):.8f}", text)


def symbol_units(symbol: str) -> tuple[str, str, str]:
    """(base, quote, settle) of a unified ccxt symbol such as BTC/USD:BTC; settle defaults to
    the quote for a spot-style symbol without one."""
    pair, _, settle = symbol.partition(":")
    base, _, quote_coin = pair.partition("/")
    return base, quote_coin, settle or quote_coin
