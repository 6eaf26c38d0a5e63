"""BingX payloads (as ccxt passes them through in `info`) -> domain values, or `BadReply`.

Pure, like `venues/ccxt/parse.py`: every field is looked up and range-checked. A wallet reply
without the coin asked for is a `BadReply`, never a zero, except that a spot wallet listing other
coins but not this one holds none of it (BingX lists only the coins a wallet has held).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from hedgekeeper.domain import Collateral, Position
from hedgekeeper.venues.base import BadReply
from hedgekeeper.venues.ccxt import parse

ZERO = Decimal(0)


def _info(raw: object, where: str) -> Mapping[str, object]:
    return parse.mapping(parse.mapping(raw, where).get("info"), f"{where}: info")


def contract_balance(raw: object, settle: str, ts: float) -> Collateral:
    """The settle coin's row of a swap (v3) or cswap balance reply: `balance` is the wallet,
    `equity` includes unrealised PnL, `availableMargin` is what an order may spend."""
    where = f"perpetual wallet {settle}"
    for i, row in enumerate(parse.items(_info(raw, where).get("data"), f"{where}: data")):
        entry = parse.mapping(row, f"{where}: data[{i}]")
        if entry.get("asset") != settle:
            continue
        wallet = parse.num(entry, "balance", where)
        equity = parse.num(entry, "equity", where)
        free = parse.opt_num(entry, "availableMargin", where, "nonneg") or ZERO
        return Collateral(wallet=wallet, equity=equity, free=free, ts=ts)
    raise BadReply(f"{where}: the reply has no {settle} row")


def spot_balance(raw: object, asset: str) -> Decimal:
    """free + locked of `asset` in the spot wallet reply (`data.balances[]`)."""
    where = f"spot wallet {asset}"
    data = parse.mapping(_info(raw, where).get("data"), f"{where}: data")
    return parse.coin_held(data.get("balances"), asset, f"{where}: data")


def signed_position(raw: object, symbol: str, ts: float) -> Position:
    """ccxt positions for one symbol; BingX's one-way side is 'both', its size carries the sign
    (a 'long'/'short' side in hedge mode gives it instead)."""
    where = f"positions {symbol}"
    signed = ZERO
    entry = liquidation = leverage = None
    for i, item in enumerate(parse.items(raw, where)):
        at = f"{where}[{i}]"
        p = parse.mapping(item, at)
        parse.check_symbol(p, symbol, at)
        amount = parse.num(parse.mapping(p.get("info"), f"{at}: info"), "positionAmt", at)
        side = p.get("side")
        if side == "long":
            amount = abs(amount)
        elif side == "short":
            amount = -abs(amount)
        elif side != "both":
            raise BadReply(f"{at}: unknown side {parse.show(side)}")
        leverage = parse.opt_num(p, "leverage", at, "positive", Decimal(1000)) or leverage
        if not amount:
            continue
        signed += amount
        entry = parse.opt_price(p, "entryPrice", at)
        liquidation = parse.opt_price(p, "liquidationPrice", at)
    return Position(symbol, signed, ts, entry, liquidation, leverage)


def leverage_of(raw: object, symbol: str) -> Decimal:
    """The short side's leverage from ccxt's `fetch_leverage` (a short hedge is what we hold)."""
    where = f"leverage {symbol}"
    return parse.num(parse.mapping(raw, where), "shortLeverage", where, "positive", Decimal(1000))


def margin_mode_of(raw: object, symbol: str) -> str:
    where = f"margin mode {symbol}"
    mode = parse.mapping(raw, where).get("marginMode")
    if mode not in ("cross", "isolated"):
        raise BadReply(f"{where}: unknown margin mode {parse.show(mode)}")
    return str(mode)
