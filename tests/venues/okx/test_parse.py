"""OKX payloads -> domain values, and the parameters an OKX order carries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hedgekeeper.venues.base import BadReply, VenueError
from hedgekeeper.venues.okx import parse as okx

D = Decimal


def detail(ccy: str = "BTC", **fields: str) -> dict[str, str]:
    base = {"ccy": ccy, "cashBal": "1.2", "eq": "1.25", "availEq": "1.1", "availBal": "1.2"}
    return {**base, **fields}


def balance(*details: dict[str, str]) -> dict[str, object]:
    return {"code": "0", "msg": "", "data": [{"details": list(details), "totalEq": "1"}]}


def test_error_code_prefers_the_failed_items_scode_over_the_envelope() -> None:
    message = 'okx {"code":"1","data":[{"clOrdId":"a","sCode":"51016","sMsg":"dup"}],"msg":""}'
    assert okx.error_code(message) == "51016"


def test_error_code_falls_back_to_the_envelope_and_skips_successful_items() -> None:
    assert okx.error_code('okx {"code":"51603","msg":"Order does not exist","data":[]}') == "51603"
    mixed = '{"code":"2","data":[{"sCode":"0"},{"sCode":"51008"}]}'
    assert okx.error_code(mixed) == "51008"
    assert okx.error_code("connection reset") is None


def accounts(level: object = "2", mode: object = "net_mode") -> list[dict[str, object]]:
    return [{"id": "1", "info": {"acctLv": level, "posMode": mode, "uid": "77"}}]


def test_account_config_reads_level_mode_and_uid() -> None:
    config = okx.parse_account_config(accounts())
    assert config == okx.AccountConfig("2", "net_mode", "77")
    assert config.derivatives and config.one_way
    assert not okx.parse_account_config(accounts(mode="long_short_mode")).one_way


@pytest.mark.parametrize(
    ("raw", "match"),
    [([], "no account"), (accounts(level="9"), "acctLv"), (accounts(mode="x"), "posMode"),
     ([{"info": None}], "info")],
)  # fmt: skip
def test_account_config_refuses_what_it_cannot_vouch_for(raw: object, match: str) -> None:
    with pytest.raises(BadReply, match=match):
        okx.parse_account_config(raw)


def test_a_spot_only_account_is_refused_saying_what_to_change() -> None:
    with pytest.raises(VenueError) as err:
        okx.require_derivatives(okx.parse_account_config(accounts(level="1")), "okx")
    text = str(err.value)
    assert "'Spot'" in text and "51010" in text and "Spot and futures" in text
    for level in ("2", "3", "4"):
        okx.require_derivatives(okx.parse_account_config(accounts(level=level)), "okx")


def test_the_position_mode_message_says_why_and_what_to_do() -> None:
    text = okx.position_mode_message("okx")
    assert "59000" in text and "net" in text and "Close" in text


def test_collateral_is_cash_equity_incl_upl_and_available_equity() -> None:
    got = okx.trading_detail(balance(detail("USDT"), detail()), "BTC")
    collateral = okx.parse_collateral(got, "BTC", 5.0)
    assert (collateral.wallet, collateral.equity, collateral.free) == (
        D("1.2"),
        D("1.25"),
        D("1.1"),
    )
    assert collateral.ts == 5.0 and not collateral.unified


def test_collateral_free_falls_back_to_available_balance() -> None:
    got = okx.parse_collateral(detail(availEq="", availBal="0.7"), "BTC", 1.0)
    assert got.free == D("0.7")


def test_a_reply_without_the_collateral_coin_is_refused_never_a_zero() -> None:
    missing = okx.trading_detail(balance(detail("USDT")), "BTC")
    assert missing is None
    with pytest.raises(BadReply, match="missing"):
        okx.parse_collateral(missing, "BTC", 1.0)


@pytest.mark.parametrize(
    "raw",
    [None, {"data": []}, {"data": [{"details": "x"}]}, {"data": [{"details": [5]}]},
     {"data": [{"details": []}]}],
)  # fmt: skip
def test_trading_balance_shapes_that_cannot_be_vouched_for_are_refused(raw: object) -> None:
    with pytest.raises(BadReply):
        okx.trading_detail(raw, "BTC")


def test_garbled_coin_numbers_are_refused() -> None:
    with pytest.raises(BadReply, match="eq"):
        okx.parse_collateral(detail(eq="lots"), "BTC", 1.0)


def test_funding_balance_reads_bal_and_a_missing_coin_is_zero() -> None:
    raw = {"code": "0", "data": [{"ccy": "USDT", "bal": "5"}, {"ccy": "BTC", "bal": "0.3"}]}
    assert okx.funding_balance(raw, "BTC") == D("0.3")
    assert okx.funding_balance(raw, "ETH") == 0
    with pytest.raises(BadReply):
        okx.funding_balance({"data": [{"ccy": "BTC", "bal": "x"}]}, "BTC")


def test_settings_read_the_short_leverage_the_margin_mode_and_net_mode() -> None:
    config = okx.parse_account_config(accounts())
    raw = {"symbol": "BTC/USD:BTC", "marginMode": "cross", "longLeverage": 3, "shortLeverage": 1}
    got = okx.parse_settings(raw, config, "BTC/USD:BTC", 2.0)
    assert (got.leverage, got.margin_mode, got.one_way, got.unified) == (D(1), "cross", True, True)
    with pytest.raises(BadReply, match="asked for"):
        okx.parse_settings({**raw, "symbol": "ETH/USD:ETH"}, config, "BTC/USD:BTC", 2.0)
    with pytest.raises(BadReply, match="margin mode"):
        okx.parse_settings({**raw, "marginMode": None}, config, "BTC/USD:BTC", 2.0)


def test_a_coin_held_as_spot_in_the_trading_account_is_its_equity_or_zero_when_unlisted() -> None:
    raw = balance(detail("USDT"), detail("BTC", eq="0.4"))
    assert okx.trading_spot(okx.trading_detail(raw, "BTC"), "BTC") == D("0.4")
    assert okx.trading_spot(okx.trading_detail(raw, "ETH"), "ETH") == 0
    with pytest.raises(BadReply, match="eq"):
        okx.trading_spot(detail(eq="-1"), "BTC")


def test_a_push_may_list_only_some_coins() -> None:
    details = okx.trading_details(balance(detail("USDT")))
    assert okx.find_coin(details, "BTC") is None
    assert okx.trading_details(balance()) == []
