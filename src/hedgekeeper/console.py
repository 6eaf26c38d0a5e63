"""The terminal's rendering of log events: one short line a person can read, at most 120 columns.

Off a terminal the daemon writes JSON lines with every value exact; on one, this renderer shows
the same events with figures rounded for people and given units (coin 8 dp, quote 2 dp, whole
contracts as integers), without Python reprs (no `guard=None`, no `reduce_only=False`), and
with long lines wrapped under an indent rather than running off the screen.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from structlog.types import EventDict, WrappedLogger

from hedgekeeper.units import coins, contracts, number, quote, round_text, symbol_units

__all__ = ["WIDTH", "ConsoleRenderer", "fields"]

WIDTH = 120
_INDENT = " " * 22  # under the message, past "HH:MM:SS LEVEL leg    "
_LEVELS = {"debug": "debug", "info": "", "warning": "WARN", "error": "ERROR", "critical": "ERROR"}
_COLOURS = {"WARN": "\x1b[33m", "ERROR": "\x1b[31;1m", "debug": "\x1b[2m"}
_RESET = "\x1b[0m"

_QUOTE_KEYS = frozenset({"price", "limit", "mark", "index"})
_CONTRACT_KEYS = frozenset({"contracts", "filled", "position", "target", "drift"})
_COIN_KEYS = frozenset({"exposure", "amount", "collateral", "funding", "fees"})
_SETTLE_KEYS = frozenset({"fee", "funding_net"})
_HIDDEN = frozenset({"symbol", "asset", "quote", "settle", "logger", "logger_name"})


def _units(event: Mapping[str, Any]) -> tuple[str, str, str]:
    symbol = event.get("symbol")
    base, quote_coin, settle = symbol_units(symbol) if isinstance(symbol, str) else ("", "", "")
    base = str(event.get("asset") or base)
    quote_coin = str(event.get("quote") or quote_coin)
    return base, quote_coin, str(event.get("settle") or settle or base)


def value_text(key: str, value: Any, units: tuple[str, str, str]) -> str | None:
    """One field's value for people; None when there is nothing worth showing."""
    if value is None or value is False:
        return None
    if value is True:
        return "yes"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(v) for v in value) or None
    base, quote_coin, _ = units
    amount = number(value)
    if amount is not None and not isinstance(value, int | float):
        if key in _QUOTE_KEYS:
            return quote(amount, quote_coin)
        if key in _CONTRACT_KEYS:
            return contracts(amount)
        if key in _COIN_KEYS:
            return coins(amount, base)
        if key in _SETTLE_KEYS:
            return settled(amount, units)
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return round_text(str(value))


def settled(amount: Decimal, units: tuple[str, str, str]) -> str:
    """An amount in the settle coin: 2 dp when that is the quote coin (linear), else 8."""
    _, quote_coin, settle = units
    return quote(amount, settle) if settle == quote_coin else coins(amount, settle)


def fields(event: Mapping[str, Any], skip: frozenset[str] = frozenset()) -> str:
    """`key value` pairs, None and False dropped, figures rounded with units."""
    units = _units(event)
    parts = []
    for key, value in event.items():
        if key in skip or key in _HIDDEN or key.startswith("_"):
            continue
        text = value_text(key, value, units)
        if text is not None:
            parts.append(f"{key.replace('_', ' ')} {text}" if text != "yes" else key)
    return "  ".join(parts)


# ---- events with their own sentence ----------------------------------------------------------


def _decision(e: EventDict) -> str:
    guard = f" [{e.pop('guard')}]" if e.get("guard") else ""
    e.pop("guard", None)
    return f"{e.pop('action', '?')}{guard}: {round_text(str(e.pop('reason', '')))}"


def _order_sent(e: EventDict) -> str:
    units = _units(e)
    amount = contracts(number(e.pop("contracts")) or Decimal(0))
    limit = number(e.pop("limit", None))
    at = f" limit {quote(limit, units[1])}" if limit is not None else " at market"
    reduce = " reduce-only" if e.pop("reduce_only", False) else ""
    return f"order {e.pop('side', '?')} {amount} contracts{at}{reduce} ({e.pop('client_id', '')})"


def _order_done(e: EventDict) -> str:
    units = _units(e)
    filled = number(e.pop("filled", None)) or Decimal(0)
    price = number(e.pop("price", None))
    fee = number(e.pop("fee", None))
    text = f"order {e.pop('state', '?')}: {contracts(filled)} contracts"
    if price is not None and filled:
        text += f" at {quote(price, units[1])}"
    if fee:
        text += f", fee {settled(fee, units)}"
    return f"{text} ({e.pop('client_id', '')})"


def _guard(e: EventDict) -> str:
    return f"{e.pop('guard', '?')}: {round_text(str(e.pop('reason', '')))}"


def _heartbeat(e: EventDict) -> str:
    base, quote_coin, _ = _units(e)
    parts = [f"alive, {e.pop('state', '?')}"]
    if (mark := number(e.pop("mark", None))) is not None:
        parts.append(f"mark {quote(mark, quote_coin)}")
    if (x := number(e.pop("exposure", None))) is not None:
        parts.append(f"X {coins(x, base)}")
    position, target = number(e.pop("position", None)), number(e.pop("target", None))
    if position is not None and target is not None:
        parts.append(f"short {contracts(position)} of {contracts(target)} contracts")
    if (h := number(e.pop("hedged", None))) is not None:
        parts.append(f"h {h:.4f}")
    return ", ".join(parts)


def _summary(e: EventDict) -> str:
    units = _units(e)
    unknown = e.get("funding_net") == "unknown"  # the exchange does not report it
    fee, funding = (number(e.pop(k, None)) or Decimal(0) for k in ("fee", "funding_net"))
    position, target = number(e.pop("position", None)), number(e.pop("target", None))
    paid = "unknown" if unknown else f"{'+' if funding > 0 else ''}{settled(funding, units)}"
    text = (
        f"this run: {e.pop('orders', 0)} orders ({e.pop('fills', 0)} filled), fees "
        f"{settled(fee, units)}, funding {paid}"
    )
    if position is not None and target is not None:
        text += f"; short {contracts(position)} of {contracts(target)} contracts"
    return f"{text}; {e.pop('state', '?')} after {e.pop('minutes', 0)} min"


def _alert(e: EventDict) -> str:
    resolved = " resolved" if e.pop("resolved", False) else ""
    return f"alert {e.pop('kind', '?')}{resolved}: {round_text(str(e.pop('detail', '')))}"


_SENTENCES: dict[str, Callable[[EventDict], str]] = {
    "decision": _decision,
    "order_sent": _order_sent,
    "order_done": _order_done,
    "guard_tripped": _guard,
    "guard_note": _guard,
    "heartbeat": _heartbeat,
    "summary": _summary,
    "alert": _alert,
}


class ConsoleRenderer:
    """A structlog renderer: `HH:MM:SS LEVEL leg   message  extra fields`, wrapped at WIDTH."""

    def __init__(self, colors: bool = False, width: int = WIDTH) -> None:
        self.colors = colors
        self.width = width

    def __call__(self, _logger: WrappedLogger, _name: str, event_dict: EventDict) -> str:
        e = dict(event_dict)
        stamp = str(e.pop("timestamp", ""))
        clock = stamp[11:19] if len(stamp) >= 19 else stamp
        level = _LEVELS.get(str(e.pop("level", "info")), "")
        leg = str(e.pop("leg", "") or "")
        name = str(e.pop("event", ""))
        exc = e.pop("exception", None)
        sentence = _SENTENCES.get(name)
        head = sentence(e) if sentence else name.replace("_", " ")
        rest = fields(e)
        message = f"{head}  {rest}" if rest else head
        prefix = f"{clock} {level:<5} {leg[:6]:<6} "
        lines = textwrap.wrap(
            message,
            width=self.width,
            initial_indent=prefix,
            subsequent_indent=_INDENT,
            break_on_hyphens=False,
        ) or [prefix.rstrip()]
        text = "\n".join(lines)
        if exc:
            text += "\n" + str(exc)
        if self.colors and level in _COLOURS:
            text = f"{_COLOURS[level]}{text}{_RESET}"
        return text
