"""Pure parsers: ccxt's unified structures -> domain values, or `BadReply` saying what was wrong.

Nothing here does I/O or trusts its input: every field is looked up, type-checked and range-checked,
so a fuzz test can feed these functions anything and get either a domain value or a `BadReply`,
never a KeyError or a TypeError.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Literal

from hedgekeeper.domain import (
    ContractKind,
    FundingEvent,
    MarketSpec,
    OrderReport,
    OrderState,
    Position,
    Prices,
)
from hedgekeeper.venues.base import BadReply

ZERO = Decimal(0)
MAX_PRICE = Decimal(10) ** 9  # no quote per coin above a billion is a price
MAX_AMOUNT = Decimal(10) ** 13  # contracts or coins; more is a garbled reply
MIN_MAGNITUDE = Decimal("1e-30")  # no amount, price or fee is this small but zero
MAX_MARK_INDEX_GAP = Decimal("0.5")  # a mark 50 % away from the index is not a mark
Sign = Literal["any", "nonneg", "positive"]


def show(value: object) -> str:
    """A reply's value for an error message: short, and printable whatever it is."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print: the reply is garbled, say what it is
        text = f"<{type(value).__name__} too long to print>"
    return text if len(text) <= 60 else text[:57] + "..."


def label(value: object) -> str:
    """An exchange's code, sent as a string or an int, as text; anything else as `show` has it."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**18:
        return str(value)
    return show(value)


def mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise BadReply(f"{where}: expected an object, got {show(value)}")
    return value


def items(value: object, where: str) -> Sequence[object]:
    if not isinstance(value, list | tuple):
        raise BadReply(f"{where}: expected a list, got {show(value)}")
    return value


def text(obj: Mapping[str, object], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise BadReply(f"{where}: {key} missing or not a string (got {show(value)})")
    return value


def decimal(value: object, what: str, sign: Sign = "any", limit: Decimal = MAX_AMOUNT) -> Decimal:
    """A finite number within +-`limit` of the wanted sign; strings and ints/floats accepted."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise BadReply(f"{what}: not a number (got {show(value)})")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):  # ValueError: an int too long to print
        raise BadReply(f"{what}: not a number (got {show(value)})") from None
    if not number.is_finite():
        raise BadReply(f"{what}: not a finite number (got {show(value)})")
    if (sign == "positive" and number <= 0) or (sign == "nonneg" and number < 0):
        raise BadReply(f"{what}: must be {'> 0' if sign == 'positive' else '>= 0'}, got {number}")
    # Exact comparisons (`abs()` would round, and overflow on "1e999999999"); a nonzero number
    # below MIN_MAGNITUDE is garbage too, whose reciprocal would overflow the daemon's arithmetic.
    if number.copy_abs() >= limit or (number and number.copy_abs() < MIN_MAGNITUDE):
        raise BadReply(f"{what}: absurd value {show(value)}")
    return number


def num(
    obj: Mapping[str, object], key: str, where: str, sign: Sign = "any", limit: Decimal = MAX_AMOUNT
) -> Decimal:
    value = obj.get(key)
    if value is None or value == "":
        raise BadReply(f"{where}: {key} missing")
    return decimal(value, f"{where}: {key}", sign, limit)


def opt_num(
    obj: Mapping[str, object], key: str, where: str, sign: Sign = "any", limit: Decimal = MAX_AMOUNT
) -> Decimal | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    return decimal(value, f"{where}: {key}", sign, limit)


def price(obj: Mapping[str, object], key: str, where: str) -> Decimal:
    return num(obj, key, where, "positive", MAX_PRICE)


def opt_price(obj: Mapping[str, object], key: str, where: str) -> Decimal | None:
    """A price that may be absent; zero means absent too (ccxt passes Bybit's "0" through)."""
    value = opt_num(obj, key, where, "nonneg", MAX_PRICE)
    return value if value else None


def check_symbol(obj: Mapping[str, object], symbol: str, where: str) -> None:
    got = obj.get("symbol")
    if got != symbol:
        raise BadReply(f"{where}: reply is for {show(got)}, asked for {symbol!r}")


def _step(value: Decimal, tick_size: bool) -> Decimal:
    """ccxt precision: a step (TICK_SIZE mode) or a number of decimal places."""
    if tick_size:
        return value
    if value != value.to_integral_value() or not 0 <= value <= 18:
        raise BadReply(f"market: precision {value} is not a number of decimal places")
    return Decimal(1).scaleb(-int(value))


def coin_held(rows: object, asset: str, where: str) -> Decimal:
    """free + locked of `asset` among a spot wallet's `{asset, free, locked}` rows. Exchanges
    that list only the coins a wallet has held (BingX, WEEX) leave a coin out when it is none,
    so a missing row is zero; an empty list says nothing, and is a `BadReply`."""
    listed = items(rows, f"{where}: balances")
    if not listed:
        raise BadReply(f"{where}: the reply lists no coin at all")
    for i, row in enumerate(listed):
        entry = mapping(row, f"{where}: balances[{i}]")
        if entry.get("asset") == asset:
            free = num(entry, "free", where, "nonneg")
            return free + (opt_num(entry, "locked", where, "nonneg") or ZERO)
    return ZERO


def parse_market(raw: object, symbol: str, tick_size: bool = True) -> MarketSpec:
    where = f"market {symbol}"
    m = mapping(raw, where)
    check_symbol(m, symbol, where)
    if m.get("contract") is not True:
        raise BadReply(f"{where}: not a contract market")
    inverse, linear = m.get("inverse") is True, m.get("linear") is True
    if inverse == linear:
        raise BadReply(f"{where}: neither clearly inverse nor linear")
    precision = mapping(m.get("precision"), f"{where}: precision")
    step = _step(num(precision, "amount", where, "positive"), tick_size)
    tick = _step(num(precision, "price", where, "positive", MAX_PRICE), tick_size)
    limits = mapping(m.get("limits") or {}, f"{where}: limits")
    amount_limits = mapping(limits.get("amount") or {}, f"{where}: limits.amount")
    minimum = opt_num(amount_limits, "min", where, "positive") or step
    taker = opt_num(m, "taker", where, "nonneg", Decimal(1))
    extra = {} if taker is None else {"taker_fee": taker}
    return MarketSpec(
        symbol=symbol,
        kind=ContractKind.INVERSE if inverse else ContractKind.LINEAR,
        contract_size=num(m, "contractSize", where, "positive"),
        amount_step=step,
        min_amount=minimum,
        price_step=tick,
        base=text(m, "base", where),
        quote=text(m, "quote", where),
        settle=text(m, "settle", where),
        **extra,
    )


def parse_prices(raw: object, symbol: str, ts: float) -> Prices:
    where = f"ticker {symbol}"
    t = mapping(raw, where)
    check_symbol(t, symbol, where)
    mark = price(t, "markPrice", where)
    index = opt_price(t, "indexPrice", where)
    if index is not None and abs(mark / index - 1) > MAX_MARK_INDEX_GAP:
        raise BadReply(f"{where}: mark {mark} is absurdly far from index {index}")
    return Prices(mark=mark, ts=ts, index=index)


def parse_position(raw: object, symbol: str, ts: float) -> Position:
    """ccxt positions for one symbol (an empty list is flat) -> one signed position."""
    where = f"positions {symbol}"
    signed = ZERO
    entry = liquidation = leverage = None
    for i, item in enumerate(items(raw, where)):
        at = f"{where}[{i}]"
        p = mapping(item, at)
        check_symbol(p, symbol, at)
        contracts = num(p, "contracts", at, "nonneg")
        side = p.get("side")
        if contracts and side not in ("long", "short"):
            raise BadReply(f"{at}: {contracts} contracts on side {show(side)}")
        leverage = opt_num(p, "leverage", at, "positive", Decimal(1000)) or leverage
        if not contracts:
            continue
        signed += contracts if side == "long" else -contracts
        entry = opt_price(p, "entryPrice", at)
        liquidation = opt_price(p, "liquidationPrice", at)
    return Position(symbol, signed, ts, entry, liquidation, leverage)


def _state(status: object, filled: Decimal, amount: Decimal, where: str) -> OrderState:
    complete = filled == amount
    if status == "open":
        return OrderState.OPEN
    if status == "closed":
        return OrderState.FILLED if complete else OrderState.PARTIAL
    if status in ("canceled", "expired"):
        return OrderState.PARTIAL if filled else OrderState.CANCELLED
    if status == "rejected":
        return OrderState.REJECTED
    raise BadReply(f"{where}: unknown status {show(status)}")


def order_fee(o: Mapping[str, object], settle: str, where: str) -> Decimal:
    """Sum of the fees charged in the settle coin; a fee in any other coin is refused."""
    fees = [o["fee"]] if o.get("fee") else list(items(o.get("fees") or [], f"{where}: fees"))
    total = ZERO
    for fee in fees:
        f = mapping(fee, f"{where}: fee")
        cost = opt_num(f, "cost", f"{where}: fee") or ZERO
        currency = f.get("currency")
        if cost and currency not in (settle, None):
            raise BadReply(f"{where}: fee charged in {show(currency)}, expected {settle}")
        total += cost
    return total


def parse_order(raw: object, client_id: str, settle: str, ts: float) -> OrderReport:
    where = f"order {client_id}"
    o = mapping(raw, where)
    got = o.get("clientOrderId")
    if got is not None and got != client_id:
        raise BadReply(f"{where}: reply is for client id {show(got)}")
    amount = num(o, "amount", where, "positive")
    filled = opt_num(o, "filled", where, "nonneg") or ZERO
    if filled > amount:
        raise BadReply(f"{where}: filled {filled} is more than the amount {amount}")
    average = opt_price(o, "average", where) if filled else None
    if filled and average is None:
        raise BadReply(f"{where}: {filled} filled without an average price")
    exchange_id = o.get("id")
    return OrderReport(
        client_id=client_id,
        state=_state(o.get("status"), filled, amount, where),
        filled=filled,
        average_price=average,
        fee=order_fee(o, settle, where),
        ts=ts,
        exchange_id=exchange_id if isinstance(exchange_id, str) else None,
    )


def parse_funding(raw: object, symbol: str, sign: int = 1) -> list[FundingEvent]:
    """ccxt funding history entries for one symbol; `sign` -1 when the exchange's amount is paid."""
    events = []
    for i, item in enumerate(items(raw, f"funding {symbol}")):
        at = f"funding {symbol}[{i}]"
        f = mapping(item, at)
        check_symbol(f, symbol, at)
        stamp = num(f, "timestamp", at, "positive", Decimal(10) ** 14)
        amount = num(f, "amount", at) * sign
        events.append(FundingEvent(symbol, amount, float(stamp) / 1000, opt_num(f, "rate", at)))
    return events
