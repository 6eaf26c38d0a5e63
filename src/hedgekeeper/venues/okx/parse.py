"""OKX v5 payloads -> domain values, and the request parameters OKX needs (pure, no I/O).

The facts behind each function (ccxt 4.5.90, okx.py):
- Errors: ccxt raises with the whole body in the message. An order goes out through
  `/trade/batch-orders`, so its failure is per item: `{"code":"1","data":[{"sCode":"51016",...}]}`;
  the item's `sCode` is the real reason, the envelope's `code` only says "1 failed".
- The account (`/account/config`): `acctLv` 1 is the spot-only mode, which refuses every swap order
  with 51010; `posMode` net_mode is one-way.
- The trading account (`/account/balance` `details[]`) is unified: its coin is the spot coin AND
  the inverse swap's collateral. `eq` includes the unrealised PnL, `cashBal` does not, `availEq`
  is what an order may spend. OKX lists only the coins it holds.
- The funding account (`/asset/balances`) is separate: deposits land there and orders cannot use
  it; `transfer` moves coin from funding ('6') to trading ('18').
- Funding comes as bills of type 8 (`balChg` > 0 received), which ccxt's funding history reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from hedgekeeper.domain import AccountSettings, Collateral
from hedgekeeper.venues.base import BadReply, VenueError
from hedgekeeper.venues.ccxt import parse

# A failed item's `sCode`, else the envelope's `code` when no item failed (one group: traits).
ERROR_CODE = r'(?:"sCode"|"code"(?!.*"sCode"\s*:\s*"?[1-9]))\s*:\s*"?([1-9]\d*)'

DUPLICATE_CODES = frozenset({"51016"})  # "Duplicated clOrdId"
MARGIN_CODES = frozenset({"51008", "51119"})  # insufficient balance / margin
ACCOUNT_LEVEL_CODE = "51010"  # "The current account mode does not support this API interface"
POSITION_MODE_LOCKED = "59000"  # settings refused while positions or orders are open
ORDER_NOT_FOUND = "51603"
REDUCE_ONLY_CODES = frozenset({"51169", "51170"})  # unmapped by ccxt: plain ExchangeError

FUNDING_ACCOUNT = "funding"  # ccxt's accountsByType: '6'
TRADING_ACCOUNT = "trading"  # '18', the unified trading account
ACCOUNT_LEVELS = {"1": "Spot", "2": "Spot and futures", "3": "Multi-currency margin",
                  "4": "Portfolio margin"}  # fmt: skip


def error_code(message: str) -> str | None:
    """The OKX code in a ccxt error message: a failed item's `sCode` first, else the envelope's."""
    found = re.search(ERROR_CODE, message)
    return found.group(1) if found else None


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """What `/account/config` says about the account as a whole."""

    level: str  # acctLv
    position_mode: str  # posMode: net_mode | long_short_mode
    uid: str

    @property
    def derivatives(self) -> bool:
        return self.level in ("2", "3", "4")

    @property
    def one_way(self) -> bool:
        return self.position_mode == "net_mode"


def parse_account_config(raw: object) -> AccountConfig:
    """ccxt's `fetch_accounts()` (one entry per account) -> the first account's config."""
    where = "okx account config"
    accounts = parse.items(raw, where)
    if not accounts:
        raise BadReply(f"{where}: no account in the reply")
    info = parse.mapping(parse.mapping(accounts[0], where).get("info"), f"{where}: info")
    level = parse.label(info.get("acctLv"))
    if level not in ACCOUNT_LEVELS:
        raise BadReply(f"{where}: unknown account level acctLv={parse.show(info.get('acctLv'))}")
    mode = parse.label(info.get("posMode"))
    if mode not in ("net_mode", "long_short_mode"):
        raise BadReply(f"{where}: unknown position mode posMode={parse.show(info.get('posMode'))}")
    return AccountConfig(level, mode, parse.label(info.get("uid")))


def require_derivatives(config: AccountConfig, venue: str) -> None:
    """Refuse a spot-only account at `check` and start, saying what to change (OKX: 51010)."""
    if not config.derivatives:
        raise VenueError(
            f"{venue}: the OKX account mode is {ACCOUNT_LEVELS[config.level]!r} (acctLv"
            f" {config.level}), which cannot trade swaps (OKX error {ACCOUNT_LEVEL_CODE}). Switch"
            " it to 'Spot and futures' or 'Multi-currency margin' under Trade > Settings >"
            " Account mode, then start again"
        )


def position_mode_message(venue: str) -> str:
    """What to do when OKX refuses net mode with 59000 (positions or orders are open)."""
    return (
        f"{venue}: OKX refused to switch to net (one-way) position mode (error"
        f" {POSITION_MODE_LOCKED}): positions or open orders exist in long/short mode. Close them"
        " or switch the account to net mode under Trade > Settings > Position mode"
    )


def trading_details(raw: object) -> list[Mapping[str, object]]:
    """The coins of a trading-account balance (REST `info` or a websocket push), as listed."""
    where = "okx trading account"
    envelope = parse.mapping(raw, where)
    data = parse.items(envelope.get("data"), f"{where}: data")
    if not data:
        raise BadReply(f"{where}: empty data")
    first = parse.mapping(data[0], f"{where}: data[0]")
    listed = parse.items(first.get("details"), f"{where}: details")
    return [parse.mapping(e, f"{where}: details[{i}]") for i, e in enumerate(listed)]


def find_coin(details: list[Mapping[str, object]], coin: str) -> Mapping[str, object] | None:
    return next((d for d in details if d.get("ccy") == coin), None)


def trading_detail(raw: object, coin: str) -> Mapping[str, object] | None:
    """The `coin` entry of a REST trading-account balance; None when OKX does not list it (it
    lists only what the account holds). A reply listing no coin at all is refused: an account
    that hedges holds at least its collateral, so that reply lost its coins."""
    details = trading_details(raw)
    if not details:
        raise BadReply("okx trading account: no coin at all in the reply")
    return find_coin(details, coin)


def parse_collateral(detail: Mapping[str, object] | None, coin: str, ts: float) -> Collateral:
    """The trading account's `coin`: wallet = cashBal, equity = eq (incl. upl), free = availEq.

    OKX lists only the coins an account holds, but the collateral coin missing from a reply is
    refused, never read as zero: a reply that lost it would otherwise cover the whole short.
    `unified` is False: `spot()` reads the funding account, so the two readings never overlap.
    """
    where = f"okx trading {coin}"
    if detail is None:
        raise BadReply(f"{where}: missing from the reply")
    wallet = parse.num(detail, "cashBal", where)
    equity = parse.num(detail, "eq", where)
    free = parse.opt_num(detail, "availEq", where)
    if free is None:  # single-currency mode may leave availEq empty: availBal is the same there
        free = parse.opt_num(detail, "availBal", where) or parse.ZERO
    return Collateral(wallet=wallet, equity=equity, free=max(free, parse.ZERO), ts=ts)


def trading_spot(detail: Mapping[str, object] | None, coin: str) -> Decimal:
    """A coin held in the trading account as spot (no swap's collateral): its equity; a coin
    OKX does not list is zero (it lists only what the account holds)."""
    if detail is None:
        return parse.ZERO
    return parse.num(detail, "eq", f"okx trading {coin}", "nonneg")


def funding_balance(raw: object, coin: str) -> Decimal:
    """The funding account's `coin` (`bal`: available + frozen); missing means zero."""
    where = "okx funding account"
    envelope = parse.mapping(raw, where)
    for i, entry in enumerate(parse.items(envelope.get("data"), f"{where}: data")):
        row = parse.mapping(entry, f"{where}: data[{i}]")
        if row.get("ccy") == coin:
            return parse.num(row, "bal", f"{where} {coin}", "nonneg")
    return parse.ZERO


def parse_settings(
    leverage: object, config: AccountConfig, symbol: str, ts: float
) -> AccountSettings:
    """Leverage of the short side from `fetch_leverage(symbol, {'marginMode': mode})`; the margin
    mode is per order on OKX (`tdMode`), so it is the mode that leverage was read for; the
    position mode is account-wide (`posMode`)."""
    where = f"okx leverage {symbol}"
    lev = parse.mapping(leverage, where)
    parse.check_symbol(lev, symbol, where)
    value = parse.num(lev, "shortLeverage", where, "positive", Decimal(1000))
    mode = lev.get("marginMode")
    if mode not in ("cross", "isolated"):
        raise BadReply(f"{where}: unknown margin mode {parse.show(mode)}")
    return AccountSettings(value, str(mode), config.one_way, True, ts)
