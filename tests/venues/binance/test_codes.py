"""Binance codes decide the neutral error, whatever class ccxt picked for the URL."""

from __future__ import annotations

import pytest
from ccxt.base.errors import ExchangeError

from hedgekeeper.venues.base import (
    DuplicateClientId,
    InsufficientMargin,
    OrderRejected,
    OutcomeUnknown,
    RateLimited,
    VenueError,
    VenueUnavailable,
)
from hedgekeeper.venues.binance.codes import (
    Meaning,
    check_client_id,
    error_code,
    meaning,
    neutral_error,
)


def ccxt_error(code: int, msg: str) -> ExchangeError:
    """As ccxt raises it off a local host: the exchange id and the body it got."""
    return ExchangeError(f'binancecoinm {{"code":{code},"msg":"{msg}"}}')


def test_code_read_from_the_quoted_body() -> None:
    assert error_code(ccxt_error(-2019, "Margin is insufficient.")) == "-2019"
    assert error_code('binanceusdm {"code": "-4116", "msg": "x"}') == "-4116"
    assert error_code("binancecoinm GET http://127.0.0.1/dapi/v1/order 502 Bad Gateway") is None


@pytest.mark.parametrize(
    ("code", "msg", "kind"),
    [
        (-2019, "Margin is insufficient.", InsufficientMargin),
        (-4116, "ClientOrderId is duplicated.", DuplicateClientId),
        (-2022, "ReduceOnly Order is rejected.", OrderRejected),
        (-4164, "Order's notional must be no smaller than 100", OrderRejected),
        (-1003, "Too many requests", RateLimited),
        (-1007, "Timeout waiting for response from backend server.", OutcomeUnknown),
        (-1008, "Server is currently overloaded", OutcomeUnknown),
    ],
)
def test_order_errors_by_code(code: int, msg: str, kind: type[VenueError]) -> None:
    exc = ccxt_error(code, msg)
    err = neutral_error(error_code(exc), str(exc), order=True)
    assert type(err) is kind
    if isinstance(err, OrderRejected):
        assert err.code == str(code)


def test_reduce_only_reject_says_what_it_was() -> None:
    err = neutral_error("-2022", "binancecoinm {...}", order=True)
    assert err is not None and "reduce-only" in str(err)


def test_read_errors_are_not_order_rejections() -> None:
    assert type(neutral_error("-2019", "m", order=False)) is VenueError
    assert type(neutral_error("-1007", "m", order=False)) is VenueUnavailable
    assert isinstance(neutral_error("-1003", "m", order=False), RateLimited)


def test_unchanged_and_not_found_are_left_to_the_caller() -> None:
    assert meaning("-4059") is meaning("-4046") is Meaning.UNCHANGED
    assert meaning("-2013") is Meaning.NOT_FOUND
    for code in ("-4059", "-4046", "-2013", "-9999", None):
        assert neutral_error(code, "m", order=True) is None


def test_auth_failure_says_what_to_check() -> None:
    err = neutral_error("-2015", "Invalid API-key, IP, or permissions for action.", order=True)
    assert type(err) is VenueError and "IP allow-list" in str(err)


@pytest.mark.parametrize("client_id", ["hkabc1230000000042", "a", "x" * 36, "A.b:c/d_e-f"])
def test_client_ids_binance_takes(client_id: str) -> None:
    assert check_client_id(client_id) == client_id


@pytest.mark.parametrize("client_id", ["", "x" * 37, "has space", "hk#1", "ünï"])
def test_client_ids_refused_before_sending(client_id: str) -> None:
    with pytest.raises(OrderRejected, match="newClientOrderId"):
        check_client_id(client_id)
