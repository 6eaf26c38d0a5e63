"""Binance payloads (shapes as Binance documents them and ccxt records them) -> domain values."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from hedgekeeper.venues.base import BadReply
from hedgekeeper.venues.binance import payloads

D = Decimal
SYMBOL, MARKET_ID = "BTC/USD:BTC", "BTCUSD_PERP"


def coinm_account(wallet: str = "0.50000000", upl: str = "-0.01000000") -> dict[str, Any]:
    """`GET /dapi/v1/account`: every coin listed, zero ones with updateTime 0."""
    margin = str(D(wallet) + D(upl))
    return {
        "assets": [
            {"asset": "ETH", "walletBalance": "0.00000000", "unrealizedProfit": "0.00000000",
             "marginBalance": "0.00000000", "availableBalance": "0.00000000", "updateTime": 0},
            {"asset": "BTC", "walletBalance": wallet, "unrealizedProfit": upl,
             "marginBalance": margin, "maintMargin": "0.00020000", "initialMargin": "0.40000000",
             "positionInitialMargin": "0.40000000", "openOrderInitialMargin": "0.00000000",
             "maxWithdrawAmount": "0.09000000", "crossWalletBalance": wallet,
             "crossUnPnl": upl, "availableBalance": "0.09000000", "updateTime": 1625474304765},
        ],
        "positions": [
            {"symbol": "BTCUSD_PERP", "positionAmt": "-400", "leverage": "1", "isolated": False,
             "positionSide": "BOTH", "entryPrice": "100000.0", "updateTime": 1625474304765},
            {"symbol": "BTCUSD_260327", "positionAmt": "0", "leverage": "20", "isolated": True,
             "positionSide": "BOTH", "entryPrice": "0.0", "updateTime": 0},
        ],
        "canTrade": True, "canDeposit": True, "canWithdraw": True, "feeTier": 0, "updateTime": 0,
    }  # fmt: skip


def risk_row(amount: str, side: str = "BOTH", entry: str = "100000.0") -> dict[str, Any]:
    """`GET /dapi/v1/positionRisk` row, as ccxt keeps it in `info`."""
    return {
        "symbol": MARKET_ID, "positionAmt": amount, "entryPrice": entry,
        "markPrice": "98000.00000000", "unRealizedProfit": "-0.00008163",
        "liquidationPrice": "196000.5", "leverage": "1", "maxQty": "100",
        "marginType": "cross", "isolatedMargin": "0.00000000", "isAutoAddMargin": "false",
        "positionSide": side, "notionalValue": "-0.40816326", "isolatedWallet": "0",
        "updateTime": 1625474304765, "breakEvenPrice": "100010.0",
    }  # fmt: skip


def ccxt_position(row: dict[str, Any]) -> dict[str, Any]:
    return {"symbol": SYMBOL, "info": row}


def test_rest_equity_is_wallet_plus_unrealised() -> None:
    c = payloads.futures_collateral(coinm_account(), "BTC", 1.0)
    assert (c.wallet, c.equity, c.free, c.ts) == (D("0.5"), D("0.49"), D("0.09"), 1.0)
    assert not c.unified


def test_rest_equity_refused_when_margin_balance_disagrees() -> None:
    account = coinm_account()
    account["assets"][1]["marginBalance"] = "0.50000000"  # as if the PnL were left out
    with pytest.raises(BadReply, match="marginBalance"):
        payloads.futures_collateral(account, "BTC", 1.0)


def test_missing_coin_is_refused_not_zero() -> None:
    with pytest.raises(BadReply, match="no SOL in the reply"):
        payloads.futures_collateral(coinm_account(), "SOL", 1.0)


def test_negative_available_balance_is_no_free_margin() -> None:
    account = coinm_account()
    account["assets"][1]["availableBalance"] = "-0.01000000"
    assert payloads.futures_collateral(account, "BTC", 1.0).free == 0


def test_short_position_signed_from_the_raw_row() -> None:
    p = payloads.position([ccxt_position(risk_row("-400"))], SYMBOL, MARKET_ID, 2.0)
    assert (p.contracts, p.entry_price, p.liquidation_price, p.leverage) == (
        D(-400),
        D(100000),
        D("196000.5"),
        D(1),
    )


def test_flat_is_an_empty_list() -> None:
    assert payloads.position([], SYMBOL, MARKET_ID, 2.0).contracts == 0


def test_hedge_mode_rows_net_out() -> None:
    rows = [ccxt_position(risk_row("300", "LONG")), ccxt_position(risk_row("-500", "SHORT"))]
    p = payloads.position(rows, SYMBOL, MARKET_ID, 2.0)
    assert p.contracts == -200 and p.entry_price is None


def test_position_for_another_market_is_refused() -> None:
    row = risk_row("-400")
    row["symbol"] = "BTCUSD_260327"
    with pytest.raises(BadReply, match="not for BTCUSD_PERP"):
        payloads.position([ccxt_position(row)], SYMBOL, MARKET_ID, 2.0)
    with pytest.raises(BadReply, match="asked for"):
        payloads.position([{**ccxt_position(risk_row("1")), "symbol": "ETH/USD:ETH"}],
                          SYMBOL, MARKET_ID, 2.0)  # fmt: skip


def test_garbled_amount_is_refused() -> None:
    with pytest.raises(BadReply, match="positionAmt"):
        payloads.position([ccxt_position(risk_row("lots"))], SYMBOL, MARKET_ID, 2.0)


def account_update(positions: list[dict[str, Any]] | None, wb: str = "0.49000000") -> Any:
    """A COIN-M ACCOUNT_UPDATE: `B` the changed wallets, `P` the changed positions."""
    data: dict[str, Any] = {"m": "ORDER", "B": [{"a": "BTC", "wb": wb, "cw": wb, "bc": "0"}]}
    if positions is not None:
        data["P"] = positions
    return {"e": "ACCOUNT_UPDATE", "E": 1564745798939, "T": 1564745798938, "a": data}


def pushed(amount: str, up: str, symbol: str = MARKET_ID) -> dict[str, Any]:
    return {"s": symbol, "pa": amount, "ep": "100000.0", "cr": "0", "up": up, "mt": "cross",
            "iw": "0.00000000", "ps": "BOTH"}  # fmt: skip


def test_push_equity_adds_the_pushed_unrealised_pnl() -> None:
    update = payloads.account_update(
        account_update([pushed("-400", "-0.00008163"), pushed("5", "1", "ETHUSD_PERP")]),
        "BTC", SYMBOL, MARKET_ID,
    )  # fmt: skip
    assert update.position is not None and update.position.contracts == -400
    assert update.position.ts == pytest.approx(1564745798.939)
    c = update.collateral(3.0)
    assert c is not None and (c.wallet, c.equity) == (D("0.49"), D("0.48991837"))


def test_push_without_our_position_cannot_say_the_equity() -> None:
    for message in (account_update(None), account_update([pushed("5", "1", "ETHUSD_PERP")])):
        update = payloads.account_update(message, "BTC", SYMBOL, MARKET_ID)
        assert update.wallet == D("0.49") and update.position is None
        assert update.collateral(3.0) is None


def test_push_of_another_event_is_nothing() -> None:
    update = payloads.account_update({"e": "ORDER_TRADE_UPDATE"}, "BTC", SYMBOL, MARKET_ID)
    assert update == payloads.AccountUpdate(None, None, None)


def test_push_of_a_closed_position_is_flat_with_zero_pnl() -> None:
    update = payloads.account_update(account_update([pushed("0", "0")]), "BTC", SYMBOL, MARKET_ID)
    assert update.position is not None and update.position.contracts == 0
    assert update.collateral(1.0) == update.collateral(1.0) is not None


def test_garbled_push_is_refused() -> None:
    broken = account_update([pushed("-400", "x")])
    with pytest.raises(BadReply, match="up"):
        payloads.account_update(broken, "BTC", SYMBOL, MARKET_ID)
    with pytest.raises(BadReply):
        payloads.account_update({"e": "ACCOUNT_UPDATE", "E": 1, "a": []}, "BTC", SYMBOL, MARKET_ID)


def test_spot_total_is_free_plus_locked() -> None:
    info = {"balances": [{"asset": "BTC", "free": "1.25000000", "locked": "0.25000000"},
                         {"asset": "USDT", "free": "0", "locked": "0"}]}  # fmt: skip
    assert payloads.spot_total(info, "BTC") == D("1.5")
    with pytest.raises(BadReply, match="no ETH"):
        payloads.spot_total(info, "ETH")


def test_spot_push_total_only_for_our_coin() -> None:
    event = {"e": "outboundAccountPosition", "E": 1564034571105, "u": 1564034571073,
             "B": [{"a": "BTC", "f": "2.00000000", "l": "0.50000000"}]}  # fmt: skip
    assert payloads.spot_push_total(event, "BTC") == D("2.5")
    assert payloads.spot_push_total(event, "ETH") is None
    assert payloads.spot_push_total({"e": "balanceUpdate", "a": "BTC", "d": "1"}, "BTC") is None
    bad = copy.deepcopy(event)
    bad["B"][0]["f"] = "-1"
    with pytest.raises(BadReply, match="must be >= 0"):
        payloads.spot_push_total(bad, "BTC")


def test_coinm_settings_from_account_positions() -> None:
    s = payloads.settings(coinm_account()["positions"], {"dualSidePosition": False},
                          MARKET_ID, SYMBOL, 4.0)  # fmt: skip
    assert (s.leverage, s.margin_mode, s.one_way, s.unified) == (D(1), "cross", True, False)


def test_usdm_settings_from_symbol_config() -> None:
    rows = [{"symbol": "BTCUSDT", "marginType": "ISOLATED", "isAutoAddMargin": "false",
             "leverage": 20, "maxNotionalValue": "1000000"}]  # fmt: skip
    s = payloads.settings(rows, {"dualSidePosition": True}, "BTCUSDT", "BTC/USDT:USDT", 4.0)
    assert (s.leverage, s.margin_mode, s.one_way) == (D(20), "isolated", False)


def test_settings_refuse_what_they_cannot_read() -> None:
    rows = coinm_account()["positions"]
    with pytest.raises(BadReply, match="dualSidePosition"):
        payloads.settings(rows, {"dualSidePosition": "false"}, MARKET_ID, SYMBOL, 4.0)
    with pytest.raises(BadReply, match="not in the account"):
        payloads.settings(rows, {"dualSidePosition": False}, "XRPUSD_PERP", SYMBOL, 4.0)
    with pytest.raises(BadReply, match="marginType"):
        payloads.settings([{"symbol": MARKET_ID, "leverage": 1, "marginType": "PORTFOLIO"}],
                          {"dualSidePosition": False}, MARKET_ID, SYMBOL, 4.0)  # fmt: skip


def income(amount: str, kind: str = "FUNDING_FEE", asset: str = "BTC") -> dict[str, Any]:
    row = {"symbol": MARKET_ID, "incomeType": kind, "income": amount, "asset": asset,
           "info": kind, "time": 1700006400000, "tranId": "77", "tradeId": ""}  # fmt: skip
    return {"symbol": SYMBOL, "amount": float(amount), "info": row}


def test_funding_received_is_positive_income() -> None:
    events = payloads.funding(
        [income("0.00001234"), income("-0.00000500")], SYMBOL, MARKET_ID, "BTC"
    )
    assert [e.amount for e in events] == [D("0.00001234"), D("-0.000005")]
    assert events[0].ts == 1700006400.0 and events[0].symbol == SYMBOL


def test_funding_skips_other_income_and_refuses_another_coin() -> None:
    assert payloads.funding([income("1", "COMMISSION")], SYMBOL, MARKET_ID, "BTC") == []
    with pytest.raises(BadReply, match="paid in 'USDT'"):
        payloads.funding([income("1", asset="USDT")], SYMBOL, MARKET_ID, "BTC")
