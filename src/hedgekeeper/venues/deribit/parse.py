"""Deribit v2 JSON-RPC results (ccxt's raw `private_get_*` calls) -> domain values, or `BadReply`.

Pure, like `venues/ccxt/parse.py`: every field is looked up and range-checked. Amounts stay in the
exchange's unit (USD for inverse, the coin for linear); the quirks convert them to contracts.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from hedgekeeper.domain import Collateral, FundingEvent
from hedgekeeper.venues.base import BadReply
from hedgekeeper.venues.ccxt import parse

# Deribit's margin models -> our margin modes. Standard margin, cross or per currency, is what a
# 1x short needs; portfolio margin nets the hedge against other positions and is refused.
MARGIN_MODELS = {
    "cross_sm": "cross",
    "segregated_sm": "cross",  # standard margin within one currency: cross for a single perp
    "legacy_sm": "cross",
    "cross_pm": "portfolio",
    "segregated_pm": "portfolio",
    "legacy_pm": "portfolio",
}
FUNDING_TYPES = ("settlement", "funding")


def result(raw: object, where: str) -> object:
    """The `result` of a JSON-RPC reply."""
    found = parse.mapping(raw, where).get("result")
    if found is None:
        raise BadReply(f"{where}: no result in the reply")
    return found


def summary(raw: object, currency: str) -> Mapping[str, object]:
    """`private/get_account_summary` for `currency`, checked to be that currency's."""
    where = f"account summary {currency}"
    found = parse.mapping(result(raw, where), where)
    if found.get("currency") != currency:
        raise BadReply(f"{where}: for {parse.show(found.get('currency'))}, asked for {currency}")
    return found


def account_id(raw: object, currency: str) -> str:
    """The user id in an extended account summary: the account a journal belongs to."""
    found = summary(raw, currency).get("id")
    if found in (None, "", 0):
        raise BadReply(f"account summary {currency}: no id in the reply (extended=true)")
    return parse.label(found)


def collateral(raw: object, currency: str, ts: float, unified: bool) -> Collateral:
    """Equity (with unrealised PnL), balance and available funds of one currency's account."""
    s, where = summary(raw, currency), f"account summary {currency}"
    equity = parse.num(s, "equity", where)
    wallet = parse.num(s, "balance", where)
    free = max(parse.num(s, "available_funds", where), parse.ZERO)
    return Collateral(wallet=wallet, equity=equity, free=free, ts=ts, unified=unified)


def portfolio(data: object, currency: str, ts: float, unified: bool) -> Collateral:
    """A `user.portfolio.<currency>` push (ccxt.pro keeps it in `balance['info']`)."""
    return collateral({"result": data}, currency, ts, unified)


def push(balance: object, currency: str) -> Mapping[str, object]:
    """The last `user.portfolio.<currency>` push, as ccxt.pro keeps it in `balance[code].info`."""
    where = f"portfolio push {currency}"
    data = parse.mapping(parse.mapping(balance, where).get("info"), f"{where}: info")
    if data.get("currency") != currency:
        raise BadReply(f"{where}: for {parse.show(data.get('currency'))}")
    return data


def margin_mode(raw: object, currency: str) -> str:
    """The account's margin model as our margin mode; unknown or missing cannot be vouched for."""
    s, where = summary(raw, currency), f"account summary {currency}"
    if s.get("portfolio_margining_enabled") is True:
        return "portfolio"
    model = s.get("margin_model")
    mode = MARGIN_MODELS.get(model) if isinstance(model, str) else None
    if mode is None:
        raise BadReply(f"{where}: margin model {parse.show(model)} cannot be verified")
    return mode


def position_size(raw: object, instrument: str) -> tuple[Decimal, Decimal | None, Decimal | None]:
    """`private/get_position`: signed size (USD inverse, coin linear), entry, liquidation price.

    The size's sign is the side; `direction` is not read (a flat position says "zero", and
    ccxt turns that into "short").
    """
    where = f"position {instrument}"
    p = parse.mapping(result(raw, where), where)
    if p.get("instrument_name") != instrument:
        raise BadReply(f"{where}: for {parse.show(p.get('instrument_name'))}")
    size = parse.num(p, "size", where)
    entry = parse.opt_price(p, "average_price", where) if size else None
    liquidation = parse.opt_price(p, "estimated_liquidation_price", where) if size else None
    return size, entry, liquidation


def orders(raw: object, where: str) -> list[Mapping[str, object]]:
    return [parse.mapping(o, f"{where}[{i}]")
            for i, o in enumerate(parse.items(result(raw, where), where))]  # fmt: skip


def funding(raw: object, symbol: str, instrument: str, since_ms: int) -> list[FundingEvent]:
    """Perpetual funding from `private/get_transaction_log`: `interest_pl` of settlement rows
    (received when positive), in the account's currency."""
    where = f"transaction log {symbol}"
    logs = parse.mapping(result(raw, where), where).get("logs")
    events = []
    for i, item in enumerate(parse.items(logs, f"{where}: logs")):
        row, at = parse.mapping(item, f"{where}[{i}]"), f"{where}[{i}]"
        if row.get("type") not in FUNDING_TYPES or row.get("instrument_name") != instrument:
            continue
        stamp = parse.num(row, "timestamp", at, "positive", Decimal(10) ** 14)
        if stamp < since_ms:
            continue
        amount = parse.opt_num(row, "interest_pl", at)
        if amount is None or not amount:
            continue
        events.append(FundingEvent(symbol, amount, float(stamp) / 1000))
    return events
