"""Bitget payloads -> domain values, and the USD face of its coin-futures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hedgekeeper.domain import ContractKind, MarketSpec, Position
from hedgekeeper.venues.base import BadReply, OrderRejected
from hedgekeeper.venues.bitget import parse as bitget

D = Decimal


def spec(kind: ContractKind = ContractKind.INVERSE) -> MarketSpec:
    settle = "BTC" if kind is ContractKind.INVERSE else "USDT"
    return MarketSpec("BTC/USD:BTC", kind, D(1), D("0.001"), D("0.001"), D("0.1"), "BTC", "USD",
                      settle)  # fmt: skip


def test_error_code_reads_the_body_and_success_is_no_error() -> None:
    assert bitget.error_code('bitget {"code":"40786","msg":"Duplicate clientOid"}') == "40786"
    assert bitget.error_code('{"code":"00000","msg":"success"}') is None
    assert bitget.error_code("timeout") is None


def test_a_coin_futures_market_counts_usd_of_face_with_a_minimum_that_survives_a_rise() -> None:
    face = bitget.face_market(spec(), D("0.001"), D("0.001"), D(65000))
    assert (face.contract_size, face.amount_step) == (D(1), D(1))
    assert face.min_amount == D(82)  # 0.001 BTC x 65,000 x 1.25, rounded up
    assert bitget.coin_amount(face.min_amount, D(65000) * D("1.25"), D("0.001"), D("0.001"))
    linear = spec(ContractKind.LINEAR)
    assert bitget.face_market(linear, D("0.001"), D("0.001"), D(65000)) is linear


def test_a_face_goes_out_as_coin_rounded_down_never_more_than_asked() -> None:
    assert bitget.coin_amount(D(32500), D(65000), D("0.001"), D("0.001")) == D("0.5")
    assert bitget.coin_amount(D(129), D(65000), D("0.001"), D("0.001")) == D("0.001")
    with pytest.raises(OrderRejected, match="below the minimum"):
        bitget.coin_amount(D(60), D(65000), D("0.001"), D("0.001"))
    with pytest.raises(OrderRejected):
        bitget.coin_amount(D(100), D(0), D("0.001"), D("0.001"))


def test_a_position_reads_as_its_face_at_entry_not_at_the_mark() -> None:
    coin = Position("BTC/USD:BTC", D("-0.5"), 1.0, D(60000), None, D(1))
    face = bitget.face_position(coin)
    assert face.contracts == D(-30000) and face.entry_price == D(60000)
    flat = Position("BTC/USD:BTC", D(0), 1.0)
    assert bitget.face_position(flat) is flat
    with pytest.raises(BadReply, match="without entry"):
        bitget.face_position(Position("BTC/USD:BTC", D(1), 1.0))


def test_a_fill_reads_as_its_face_at_the_average_price() -> None:
    assert bitget.face_filled(D("0.5"), D(65000), "o") == D(32500)
    assert bitget.face_filled(D(0), None, "o") == 0
    with pytest.raises(BadReply, match="average"):
        bitget.face_filled(D(1), None, "o")


REST_ROW = {"marginCoin": "BTC", "available": "0.9", "accountEquity": "0.95",
            "crossedMaxAvailable": "0.4", "unrealizedPL": "0.05"}  # fmt: skip
PUSH_ROW = {"marginCoin": "BTC", "available": "0.9", "equity": "0.96",
            "maxOpenPosAvailable": "0.3"}  # fmt: skip


def test_collateral_from_rest_and_from_a_push() -> None:
    rest = bitget.parse_collateral(bitget.futures_entry([REST_ROW], "BTC"), "BTC", 1.0)
    assert (rest.wallet, rest.equity, rest.free) == (D("0.9"), D("0.95"), D("0.4"))
    push = bitget.parse_collateral(bitget.futures_entry({"data": [PUSH_ROW]}, "BTC"), "BTC", 2.0)
    assert (push.equity, push.free, push.ts) == (D("0.96"), D("0.3"), 2.0)
    assert bitget.futures_entry([REST_ROW], "ETH") is None
    with pytest.raises(BadReply, match="missing"):
        bitget.parse_collateral(None, "ETH", 1.0)


@pytest.mark.parametrize("raw", [None, {"data": "x"}, [1], [{"marginCoin": "BTC"}]])
def test_futures_accounts_that_cannot_be_vouched_for_are_refused(raw: object) -> None:
    with pytest.raises(BadReply):
        bitget.parse_collateral(bitget.futures_entry(raw, "BTC"), "BTC", 1.0)


def test_spot_total_adds_frozen_and_locked_and_a_missing_coin_is_zero() -> None:
    raw = [{"coin": "BTC", "available": "1", "frozen": "0.1", "locked": "0.2"}]
    assert bitget.spot_total(raw, "BTC") == D("1.3")
    assert bitget.spot_total(raw, "ETH") == 0
    with pytest.raises(BadReply):
        bitget.spot_total([{"coin": "BTC", "available": "-1"}], "BTC")


def leverage(**info: object) -> dict[str, object]:
    base = {"marginMode": "crossed", "crossedMarginLeverage": "1", "isolatedShortLever": "5",
            "posMode": "one_way_mode"}  # fmt: skip
    return {"info": {**base, **info}}


def test_settings_read_leverage_margin_mode_and_one_way() -> None:
    got = bitget.parse_settings(leverage(), "BTC/USD:BTC", 3.0)
    assert (got.leverage, got.margin_mode) == (D(1), "cross")
    assert (got.one_way, got.unified) == (True, False)
    isolated = bitget.parse_settings(
        leverage(marginMode="isolated", posMode="hedge_mode"), "s", 3.0
    )
    assert (isolated.leverage, isolated.margin_mode, isolated.one_way) == (D(5), "isolated", False)


@pytest.mark.parametrize("info", [{"marginMode": "x"}, {"posMode": None},
                                  {"crossedMarginLeverage": "0"}])  # fmt: skip
def test_settings_that_cannot_be_vouched_for_are_refused(info: dict[str, object]) -> None:
    with pytest.raises(BadReply):
        bitget.parse_settings(leverage(**info), "BTC/USD:BTC", 3.0)


def test_a_ticker_push_takes_the_mark_from_info() -> None:
    raw = {"symbol": "BTC/USD:BTC", "markPrice": None,
           "info": {"markPrice": "65010", "indexPrice": "65000"}}  # fmt: skip
    prices = bitget.ws_prices(raw, "BTC/USD:BTC", 4.0)
    assert (prices.mark, prices.index, prices.ts) == (D(65010), D(65000), 4.0)
    with pytest.raises(BadReply):
        bitget.ws_prices({**raw, "info": {}}, "BTC/USD:BTC", 4.0)
    with pytest.raises(BadReply):
        bitget.ws_prices({**raw, "symbol": "ETH/USD:ETH"}, "BTC/USD:BTC", 4.0)
