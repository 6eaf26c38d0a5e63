"""Bitget's parsers fuzzed like ccxt's (tests/venues/ccxt/test_fuzz.py): valid payloads parse to
the right values, mangled ones to a usable value or `BadReply`, never another exception."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given

from hedgekeeper.domain import Collateral
from hedgekeeper.venues.bitget import parse as bitget
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
ACCOUNTS = [
    {"marginCoin": "ETH", "available": "3", "accountEquity": "3", "crossedMaxAvailable": "3"},
    {
        "marginCoin": "BTC",
        "available": "0.9",
        "accountEquity": "0.95",
        "crossedMaxAvailable": "0.4",
    },
]
SETTINGS = {"info": {"marginMode": "crossed", "crossedMarginLeverage": "1",
                     "isolatedShortLever": "5", "posMode": "one_way_mode"}}  # fmt: skip
TICKER = {"symbol": "BTC/USD:BTC", "info": {"markPrice": "65010", "indexPrice": "65000"}}


def collateral(raw: object) -> Collateral:
    return bitget.parse_collateral(bitget.futures_entry(raw, "BTC"), "BTC", TS)


@FUZZ
@given(
    raw=mangled(ACCOUNTS),
    good=valid(ACCOUNTS, (1, "accountEquity"), numbers("0", "1000", 8, True)),
)
def test_futures_account(raw: object, good: Valid) -> None:
    payload, equity = good
    assert collateral(payload) == Collateral(D("0.9"), equity, D("0.4"), TS)
    if (c := parsed(lambda: collateral(raw))) is not None:
        check_collateral(c)


@FUZZ
@given(
    raw=mangled(SETTINGS),
    ticker=mangled(TICKER),
    good=valid(TICKER, ("info", "markPrice"), numbers("40000", "90000", 1, True)),  # near the index
)
def test_settings_and_ticker_pushes(raw: object, ticker: object, good: Valid) -> None:
    payload, mark = good
    assert bitget.ws_prices(payload, "BTC/USD:BTC", TS).mark == mark
    assert bitget.parse_settings(SETTINGS, "BTC/USD:BTC", TS).leverage == 1
    if (s := parsed(lambda: bitget.parse_settings(raw, "BTC/USD:BTC", TS))) is not None:
        finite(s.leverage)
    if (p := parsed(lambda: bitget.ws_prices(ticker, "BTC/USD:BTC", TS))) is not None:
        finite(p.mark, p.index)
