"""WEEX's parsers fuzzed like ccxt's (tests/venues/ccxt/test_fuzz.py): valid payloads parse to
the right values, mangled ones to a usable value or `BadReply` (or, for the order scan,
`OutcomeUnknown`), never another exception."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings

from hedgekeeper.domain import Collateral
from hedgekeeper.venues.base import OutcomeUnknown
from hedgekeeper.venues.weex import parse as weex
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
WALLET = {"info": [
    {"asset": "BTC", "balance": "0.1", "availableBalance": "0.1", "frozen": "0",
     "unrealizePnl": "0"},
    {"asset": "USDT", "balance": "1000", "availableBalance": "400", "frozen": "0",
     "unrealizePnl": "-25"},
]}  # fmt: skip
CONFIG = {"symbol": "BTC/USDT:USDT", "marginMode": "cross", "longLeverage": 1, "shortLeverage": 1,
          "info": {"marginType": "CROSSED", "separatedType": "COMBINED"}}  # fmt: skip
QUICK = settings(FUZZ, max_examples=250)  # small parsers: the CI budget is tight
ORDERS = [{"id": "5", "clientOrderId": "other", "status": "open"},
          {"id": "7", "clientOrderId": "hk1", "status": "closed"}]  # fmt: skip


@QUICK
@given(
    raw=mangled(WALLET), good=valid(WALLET, ("info", 1, "balance"), numbers("0", "1e6", 8, True))
)
def test_contract_wallet(raw: object, good: Valid) -> None:
    payload, wallet = good
    assert weex.contract_balance(payload, "USDT", TS) == Collateral(wallet, wallet - 25, D(400), TS)
    if (c := parsed(lambda: weex.contract_balance(raw, "USDT", TS))) is not None:
        check_collateral(c)


@QUICK
@given(raw=mangled(CONFIG), good=valid(CONFIG, ("shortLeverage",), numbers("1", "400", 0, False)))
def test_symbol_config(raw: object, good: Valid) -> None:
    payload, leverage = good
    assert weex.symbol_config(payload, "BTC/USDT:USDT") == (leverage, "cross", True)
    if (found := parsed(lambda: weex.symbol_config(raw, "BTC/USDT:USDT"))) is not None:
        finite(found[0])
        assert found[1] in ("cross", "isolated") and isinstance(found[2], bool)


@QUICK
@given(raw=mangled(ORDERS))
def test_order_scan(raw: object) -> None:
    assert weex.one_order(ORDERS, "hk1") is ORDERS[1]
    try:
        found = parsed(lambda: weex.one_order(raw if isinstance(raw, list) else [raw], "hk1"))
    except OutcomeUnknown:
        return
    assert found is None or found.get("clientOrderId") == "hk1"
