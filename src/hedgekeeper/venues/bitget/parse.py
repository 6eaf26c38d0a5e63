"""Bitget v2 (classic account) payloads -> domain values, and the USD-face arithmetic of its
coin-futures (pure, no I/O).

The facts behind each function (ccxt 4.5.90, bitget.py and pro/bitget.py):
- Errors: ccxt raises with the body in the message, `{"code":"40786","msg":...}`. A duplicate
  clientOid (40786) is not mapped by ccxt (plain ExchangeError); 40762 and 43012 are margin.
- Both perps trade in the base coin (contractSize 1): USDT-futures `BTC/USDT:USDT` is a plain
  linear contract of 1 BTC. A coin-futures (inverse, `BTC/USD:BTC`) position of s BTC opened at
  E is an inverse position of s x E USD: its face stays fixed until the next fill, while ccxt's
  `notional` is s x mark. hedgekeeper counts it in contracts of 1 USD of face, so a position
  reads as s x E; an order adding F USD goes out as F / mark BTC and one closing F USD as
  F / E BTC (closing coin releases face at the entry price), rounded down to the step.
- Accounts (`/mix/account/accounts`, the `account` channel): `accountEquity` / `equity` include
  the unrealised PnL, `available` is the wallet, `crossedMaxAvailable` / `maxOpenPosAvailable`
  what a new cross order may use. The spot wallet is apart (`/spot/account/assets`).
- `/mix/account/account` (ccxt `fetch_leverage`) tells leverage, margin mode and position mode.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal

from hedgekeeper.domain import (
    AccountSettings,
    Collateral,
    ContractKind,
    MarketSpec,
    Position,
    Prices,
)
from hedgekeeper.venues.base import BadReply, OrderRejected
from hedgekeeper.venues.ccxt import parse

ERROR_CODE = r'"code"\s*:\s*"?(\d*[1-9]\d*)'  # "00000" is success, never an error
DUPLICATE_CODES = frozenset({"40786"})  # "Duplicate clientOid": unmapped by ccxt
MARGIN_CODES = frozenset({"40762", "43012"})  # exceeds the balance / insufficient balance
ORDER_NOT_FOUND = frozenset({"40109", "40768", "43001"})
ONE_WAY_MISMATCH = "40774"  # a one-way order on a hedge-mode account (or the reverse)
PRODUCT = {ContractKind.INVERSE: "COIN-FUTURES", ContractKind.LINEAR: "USDT-FUTURES"}
TRANSFER_TO = {ContractKind.INVERSE: "future", ContractKind.LINEAR: "swap"}  # ccxt's names
MIN_FACE_HEADROOM = Decimal("1.25")  # the USD minimum holds until the price rises 25 %


def error_code(message: str) -> str | None:
    """The Bitget code in a ccxt error message ("00000" is success, never an error)."""
    found = re.search(ERROR_CODE, message)
    return found.group(1) if found else None


def face_market(
    spec: MarketSpec, coin_step: Decimal, coin_min: Decimal, mark: Decimal
) -> MarketSpec:
    """A coin-futures market in contracts of 1 USD of face: steps of 1 USD, and a minimum that
    still converts to the coin minimum after a 25 % rise from `mark`."""
    if spec.kind is not ContractKind.INVERSE:
        return spec
    minimum = (max(coin_min, coin_step) * mark * MIN_FACE_HEADROOM).to_integral_value(ROUND_CEILING)
    return MarketSpec(
        symbol=spec.symbol, kind=spec.kind, contract_size=Decimal(1), amount_step=Decimal(1),
        min_amount=minimum, price_step=spec.price_step, base=spec.base, quote=spec.quote,
        settle=spec.settle, taker_fee=spec.taker_fee, maintenance_margin=spec.maintenance_margin,
    )  # fmt: skip


def coin_amount(face: Decimal, price: Decimal, step: Decimal, minimum: Decimal) -> Decimal:
    """USD of face as the coin amount of an order at `price`, rounded down to the coin step (an
    order never adds more face than asked); below the minimum it is refused, not rounded up."""
    if face <= 0 or price <= 0:
        raise OrderRejected(f"bitget: cannot size {face} USD at price {price}")
    amount = (face / price / step).to_integral_value(ROUND_DOWN) * step
    if amount < minimum:
        raise OrderRejected(
            f"bitget: {face} USD at {price} is {face / price:.8f} coin, below the minimum {minimum}"
        )
    return amount


def face_position(position: Position) -> Position:
    """A coin-futures position (ccxt: contracts = coin) in USD of face: coin x entry price."""
    if not position.contracts:
        return position
    if position.entry_price is None:
        raise BadReply(
            f"bitget position {position.symbol}: {position.contracts} coin without entry"
        )
    return Position(
        position.symbol, position.contracts * position.entry_price, position.ts,
        position.entry_price, position.liquidation_price, position.leverage,
    )  # fmt: skip


def face_filled(filled: Decimal, average: Decimal | None, where: str) -> Decimal:
    """A coin-futures fill (coin) in USD of face: coin x the fill's average price."""
    if not filled:
        return filled
    if average is None:
        raise BadReply(f"{where}: {filled} coin filled without an average price")
    return filled * average


def futures_entry(raw: object, coin: str) -> Mapping[str, object] | None:
    """The `coin` row of a futures-account reply (`info` of ccxt's balance, or a push's data)."""
    where = "bitget futures account"
    if isinstance(raw, Mapping):
        raw = raw.get("data")
    for i, item in enumerate(parse.items(raw, where)):
        row = parse.mapping(item, f"{where}[{i}]")
        if row.get("marginCoin") == coin:
            return row
    return None


def parse_collateral(row: Mapping[str, object] | None, coin: str, ts: float) -> Collateral:
    """REST (`accountEquity`, `crossedMaxAvailable`) or push (`equity`, `maxOpenPosAvailable`)
    row -> collateral. The margin coin missing from a reply is refused, never read as zero."""
    where = f"bitget futures {coin}"
    if row is None:
        raise BadReply(f"{where}: missing from the reply")
    push = "equity" in row
    equity = parse.num(row, "equity" if push else "accountEquity", where)
    free = parse.num(row, "maxOpenPosAvailable" if push else "crossedMaxAvailable", where)
    wallet = parse.num(row, "available", where)
    return Collateral(wallet=wallet, equity=equity, free=max(free, parse.ZERO), ts=ts)


def spot_total(raw: object, coin: str) -> Decimal:
    """The spot wallet's `coin`: available + frozen + locked; a coin not listed is zero."""
    where = "bitget spot wallet"
    for i, item in enumerate(parse.items(raw, where)):
        row = parse.mapping(item, f"{where}[{i}]")
        if row.get("coin") == coin:
            return sum(
                (parse.opt_num(row, k, f"{where} {coin}", "nonneg") or parse.ZERO
                 for k in ("available", "frozen", "locked")),
                parse.ZERO,
            )  # fmt: skip
    return parse.ZERO


def parse_settings(leverage: object, symbol: str, ts: float) -> AccountSettings:
    """ccxt `fetch_leverage` -> leverage (cross), margin mode and one-way from its `info`."""
    where = f"bitget settings {symbol}"
    info = parse.mapping(parse.mapping(leverage, where).get("info"), f"{where}: info")
    mode = {"crossed": "cross", "isolated": "isolated"}.get(parse.label(info.get("marginMode")))
    if mode is None:
        raise BadReply(f"{where}: unknown marginMode {parse.show(info.get('marginMode'))}")
    key = "crossedMarginLeverage" if mode == "cross" else "isolatedShortLever"
    value = parse.num(info, key, where, "positive", Decimal(1000))
    position_mode = parse.label(info.get("posMode"))
    if position_mode not in ("one_way_mode", "hedge_mode"):
        raise BadReply(f"{where}: unknown posMode {parse.show(info.get('posMode'))}")
    return AccountSettings(value, mode, position_mode == "one_way_mode", False, ts)


def ws_prices(raw: object, symbol: str, ts: float) -> Prices:
    """A ticker push: ccxt's websocket ticker drops Bitget's markPrice, so read it from `info`."""
    where = f"bitget ticker {symbol}"
    ticker = parse.mapping(raw, where)
    parse.check_symbol(ticker, symbol, where)
    info = parse.mapping(ticker.get("info"), f"{where}: info")
    return parse.parse_prices(
        {
            "symbol": symbol,
            "markPrice": info.get("markPrice"),
            "indexPrice": info.get("indexPrice"),
        },
        symbol,
        ts,
    )
