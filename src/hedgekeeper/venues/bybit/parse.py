"""Bybit v5 payloads (as ccxt passes them through in `info`) -> domain values, or `BadReply`.

Pure, like `venues/ccxt/parse.py`: every field is looked up and range-checked, so a fuzz test can
feed these anything. The coin is asked for by name, so a coin missing from a wallet reply is a
`BadReply`, never a zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from hedgekeeper.domain import (
    AccountSettings,
    Collateral,
    FundingEvent,
)
from hedgekeeper.venues.base import BadReply
from hedgekeeper.venues.ccxt import parse

MARGIN_MODES = {"REGULAR_MARGIN": "cross", "ISOLATED_MARGIN": "isolated",
                "PORTFOLIO_MARGIN": "portfolio"}  # fmt: skip


def user_id(raw: object) -> str:
    """The API key's owner from `/v5/user/query-api`: the account a journal belongs to."""
    result = parse.mapping(parse.mapping(raw, "api key").get("result"), "api key: result")
    user = result.get("userID")
    if user in (None, "", 0, "0"):
        raise BadReply(f"api key: no userID in the reply (got {parse.show(user)})")
    return parse.label(user)


def wallet_coin(info: object, account: str, coin: str) -> Mapping[str, object]:
    """The `coin` entry of the `account` wallet in a REST reply (dict) or a wallet push (list)."""
    where = f"{account} wallet"
    if isinstance(info, Mapping):
        result = parse.mapping(info.get("result"), f"{where}: result")
        info = result.get("list")
    for i, row in enumerate(parse.items(info, f"{where}: list")):
        wallet = parse.mapping(row, f"{where}: list[{i}]")
        if wallet.get("accountType") != account:
            continue
        for j, entry in enumerate(parse.items(wallet.get("coin"), f"{where}: coin")):
            found = parse.mapping(entry, f"{where}: coin[{j}]")
            if found.get("coin") == coin:
                return found
        raise BadReply(f"{where}: {coin} missing from the reply")
    raise BadReply(f"{where}: not in the reply")


def parse_coin(entry: Mapping[str, object], coin: str, ts: float, unified: bool) -> Collateral:
    where = f"wallet {coin}"
    wallet = parse.num(entry, "walletBalance", where)
    equity = parse.num(entry, "equity", where)
    free = parse.opt_num(entry, "availableToWithdraw", where, "nonneg")
    if free is None:  # deprecated on UTA: what the equity leaves after margin and locks
        held = sum(
            (parse.opt_num(entry, k, where, "nonneg") or parse.ZERO
             for k in ("totalPositionIM", "totalOrderIM", "locked")),
            parse.ZERO,
        )  # fmt: skip
        free = max(equity - held, parse.ZERO)
    return Collateral(wallet=wallet, equity=equity, free=free, ts=ts, unified=unified)


def balance_info(raw: object) -> object:
    return parse.mapping(raw, "balance").get("info")


def parse_settings(
    positions: object, account_info: object, symbol: str, unified: bool, ts: float
) -> AccountSettings:
    """Leverage and position mode from `fetch_positions([symbol])`; margin mode from the account
    (UTA: `/v5/account/info` marginMode) or the position's tradeMode (classic)."""
    where = f"settings {symbol}"
    leverage: Decimal | None = None
    indexes: set[str] = set()
    trade_mode: str | None = None
    for i, item in enumerate(parse.items(positions, f"{where}: positions")):
        p = parse.mapping(item, f"{where}: positions[{i}]")
        parse.check_symbol(p, symbol, f"{where}: positions[{i}]")
        info = parse.mapping(p.get("info"), f"{where}: positions[{i}].info")
        leverage = parse.num(info, "leverage", where, "positive", Decimal(1000))
        indexes.add(parse.label(info.get("positionIdx")))
        trade_mode = parse.label(info.get("tradeMode"))
    if not indexes <= {"0", "1", "2"}:
        raise BadReply(f"{where}: unknown positionIdx in {sorted(indexes)}")
    one_way = None if not indexes else indexes == {"0"}
    if account_info is not None:
        result = parse.mapping(parse.mapping(account_info, where).get("result"), f"{where}: result")
        mode = MARGIN_MODES.get(parse.label(result.get("marginMode")))
        if mode is None:
            raise BadReply(f"{where}: unknown marginMode {parse.show(result.get('marginMode'))}")
    else:
        mode = {"0": "cross", "1": "isolated"}.get(trade_mode or "")
    return AccountSettings(leverage, mode, one_way, unified, ts)


def parse_funding(raw: object, symbol: str, market_id: str, sign: int) -> list[FundingEvent]:
    """Funding executions (ccxt income entries): received = `sign` · execFee (Bybit: -1, paid)."""
    events = []
    for i, item in enumerate(parse.items(raw, f"funding {symbol}")):
        at = f"funding {symbol}[{i}]"
        info = parse.mapping(parse.mapping(item, at).get("info"), f"{at}.info")
        if info.get("symbol") != market_id:
            raise BadReply(f"{at}: for {parse.show(info.get('symbol'))}, asked for {market_id!r}")
        if info.get("execType", "Funding") != "Funding":
            continue
        paid = parse.num(info, "execFee", at)
        stamp = parse.num(info, "execTime", at, "positive", Decimal(10) ** 14)
        rate = parse.opt_num(info, "feeRate", at)
        events.append(FundingEvent(symbol, sign * paid, float(stamp) / 1000, rate))
    return events
