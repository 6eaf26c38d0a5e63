"""OKX's parsers fuzzed like ccxt's (tests/venues/ccxt/test_fuzz.py): valid payloads parse to
the right values, mangled ones to a usable value or `BadReply`, never another exception."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given

from hedgekeeper.domain import Collateral
from hedgekeeper.venues.okx import parse as okx
from tests.venues.ccxt.test_fuzz import (
    FUZZ,
    TS,
    Valid,
    check_collateral,
    finite,
    mangled,
    numbers,
    parsed,
    valid,
)

D = Decimal
BALANCE = {"code": "0", "msg": "", "data": [{"details": [
    {"ccy": "USDT", "cashBal": "10", "eq": "10", "availEq": "10", "availBal": "10"},
    {"ccy": "BTC", "cashBal": "1.2", "eq": "1.25", "availEq": "0.4", "availBal": "1.2"},
]}]}  # fmt: skip
EQ = ("data", 0, "details", 1, "eq")
ACCOUNTS = [{"id": "77", "info": {"acctLv": "2", "posMode": "net_mode", "uid": "77"}}]
LEVERAGE = {"symbol": "BTC/USD:BTC", "marginMode": "cross", "longLeverage": 1, "shortLeverage": 1}


def collateral(raw: object) -> Collateral:
    return okx.parse_collateral(okx.trading_detail(raw, "BTC"), "BTC", TS)


@FUZZ
@given(raw=mangled(BALANCE), good=valid(BALANCE, EQ, numbers("0", "1000", 8, True)))
def test_trading_balance(raw: object, good: Valid) -> None:
    payload, equity = good
    assert collateral(payload) == Collateral(D("1.2"), equity, D("0.4"), TS)
    assert okx.trading_spot(okx.trading_detail(payload, "BTC"), "BTC") == equity
    if (c := parsed(lambda: collateral(raw))) is not None:
        check_collateral(c)


@FUZZ
@given(
    raw=mangled(ACCOUNTS),
    lev=mangled(LEVERAGE),
    good=valid(LEVERAGE, ("shortLeverage",), numbers("1", "125", 0, False)),
)
def test_account_config_and_settings(raw: object, lev: object, good: Valid) -> None:
    payload, leverage = good
    config = okx.parse_account_config(ACCOUNTS)
    assert okx.parse_settings(payload, config, "BTC/USD:BTC", TS).leverage == leverage
    if (found := parsed(lambda: okx.parse_account_config(raw))) is not None:
        assert found.level in okx.ACCOUNT_LEVELS
        if (s := parsed(lambda: okx.parse_settings(lev, found, "BTC/USD:BTC", TS))) is not None:
            finite(s.leverage)
