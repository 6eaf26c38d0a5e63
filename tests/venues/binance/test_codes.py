"""Binance codes decide the neutral error, whatever class ccxt picked for the URL."""

from __future__ import annotations

import pytest
from ccxt.base.errors import ExchangeError, MarginModeAlreadySet, OrderNotFound

from hedgekeeper.venues.base import (
    DuplicateClientId,
    InsufficientMargin,
    OrderRejected,
    OutcomeUnknown,
    RateLimited,
    VenueError,
)
from hedgekeeper.venues.binance import TRAITS
from hedgekeeper.venues.binance.codes import KeyRefused, ReduceOnlyRejected
from hedgekeeper.venues.ccxt.transport import classify, error_code, is_unchanged


def ccxt_error(code: int, msg: str, cls: type[Exception] = ExchangeError) -> Exception:
    """As ccxt raises it off Binance's hosts: the exchange id and the compact body it got."""
    return cls(f'binancecoinm {{"code":{code},"msg":"{msg}"}}')


def test_code_read_from_the_quoted_body() -> None:
    assert error_code(TRAITS, ccxt_error(-2019, "Margin is insufficient.")) == "-2019"
    assert error_code(TRAITS, ExchangeError('binanceusdm {"code": "-4116", "msg": "x"}')) == "-4116"
    assert error_code(TRAITS, ExchangeError("binancecoinm GET http://h/dapi/v1/order 502")) is None


@pytest.mark.parametrize(
    ("code", "msg", "kind"),
    [
        (-2019, "Margin is insufficient.", InsufficientMargin),
        (-4116, "ClientOrderId is duplicated.", DuplicateClientId),
        (-2022, "ReduceOnly Order is rejected.", ReduceOnlyRejected),
        (-4164, "Order's notional must be no smaller than 100", OrderRejected),
        (-1003, "Too many requests", RateLimited),
        (-2015, "Invalid API-key, IP, or permissions for action.", KeyRefused),
    ],
)
def test_order_errors_by_code(code: int, msg: str, kind: type[VenueError]) -> None:
    err = classify(ccxt_error(code, msg), TRAITS, order=True)
    assert type(err) is kind
    if isinstance(err, OrderRejected):
        assert err.code == str(code)


def test_an_unknown_code_on_an_order_stays_unknown() -> None:
    """Plain ExchangeError with a code Binance does not document as a refusal: look it up."""
    assert type(classify(ccxt_error(-1000, "unknown"), TRAITS, order=True)) is OutcomeUnknown


def test_read_errors_are_not_order_rejections() -> None:
    assert type(classify(ccxt_error(-2019, "m"), TRAITS, order=False)) is VenueError
    assert isinstance(classify(ccxt_error(-1003, "m"), TRAITS, order=False), RateLimited)


def test_key_refusal_says_what_to_check() -> None:
    err = classify(ccxt_error(-2015, "Invalid API-key"), TRAITS, order=False)
    assert "IP allow-list" in str(err) and "futures trading" in str(err)


def test_already_so_replies() -> None:
    assert is_unchanged(TRAITS, ccxt_error(-4059, "No need to change position side."))
    assert is_unchanged(TRAITS, MarginModeAlreadySet('binancecoinm {"code":-4046}'))
    assert not is_unchanged(TRAITS, ccxt_error(-4048, "Margin type cannot be changed"))
    assert not is_unchanged(TRAITS, ccxt_error(-2013, "Order does not exist.", OrderNotFound))


@pytest.mark.parametrize("client_id", ["hkabc1230000000042", "x" * 36, "A.b:c/d_e-f"])
def test_client_id_rule_takes_binances_ids(client_id: str) -> None:
    import re

    rule = TRAITS.client_ids
    assert len(client_id) <= rule.max_length and re.fullmatch(rule.pattern, client_id)
    assert rule.param == "clientOrderId"  # ccxt sends it as newClientOrderId
