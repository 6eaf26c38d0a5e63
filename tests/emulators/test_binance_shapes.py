"""The Binance shapes parse in real ccxt as Binance's own replies do (no network: parsers only)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import pytest

from hedgekeeper.venues.binance import payloads
from tests.emulators.dialects import binance_shapes as shapes

D = Decimal
NOW = 1_764_547_200_000


@pytest.fixture(scope="module")
def coinm() -> Any:
    ex = ccxt.binancecoinm()
    ex.set_markets(ex.parse_markets(shapes.coinm_exchange_info()["symbols"]))
    return ex


@pytest.fixture(scope="module")
def usdm() -> Any:
    ex = ccxt.binanceusdm()
    ex.set_markets(ex.parse_markets(shapes.usdm_exchange_info()["symbols"]))
    return ex


def test_markets_as_ccxt_reads_them(coinm: Any, usdm: Any) -> None:
    inverse = coinm.market("BTC/USD:BTC")
    assert (inverse["id"], inverse["inverse"], inverse["swap"]) == ("BTCUSD_PERP", True, True)
    assert (inverse["contractSize"], inverse["precision"]["amount"]) == (100, 1)
    linear = usdm.market("BTC/USDT:USDT")
    assert (linear["linear"], linear["contractSize"], linear["precision"]["amount"]) == (
        True, 1, 0.001
    )  # fmt: skip
    assert linear["limits"]["cost"]["min"] == 100
    plain = ccxt.binance()
    plain.options.update(crossMarginPairsData=[], isolatedMarginPairsData=[])
    spot = plain.parse_markets(shapes.spot_exchange_info()["symbols"])
    assert spot[0]["symbol"] == "BTC/USDT" and spot[0]["spot"]


def test_ccxt_truncates_amounts_so_the_adapter_must_not_send_fractions(coinm: Any) -> None:
    assert coinm.amount_to_precision("BTC/USD:BTC", 2.5) == "2"


def position(amount: str, linear: bool = False) -> shapes.PositionRow:
    symbol = shapes.USDM_ID if linear else shapes.COINM_ID
    return shapes.PositionRow(symbol, D(amount), D(100000), D(98000), D("-0.0001"), 1, False,
                              D(196000), D("-0.4"), NOW)  # fmt: skip


def test_flat_rows_as_binance_sends_them() -> None:
    coinm_rows = shapes.position_risk(False, [position("0")])
    assert coinm_rows[0]["entryPrice"] == "0"  # ccxt's fetch_positions drops these rows
    assert shapes.position_risk(True, [position("0", linear=True)]) == []  # v3 lists none


def test_positions_parse_in_ccxt_and_in_ours(coinm: Any, usdm: Any) -> None:
    for ex, linear, symbol, market_id in (
        (coinm, False, "BTC/USD:BTC", shapes.COINM_ID),
        (usdm, True, "BTC/USDT:USDT", shapes.USDM_ID),
    ):
        ex.options["leverageBrackets"] = {}
        raw = shapes.position_risk(linear, [position("-4" if not linear else "-0.004", linear)])
        parsed = [ex.parse_position_risk(r) for r in raw]
        assert parsed[0]["symbol"] == symbol and parsed[0]["side"] == "short"
        ours = payloads.position(parsed, symbol, market_id, 1.0)
        assert ours.contracts == (D(-4) if not linear else D("-0.004"))


def test_futures_account_parses_in_ccxt_and_in_ours(coinm: Any) -> None:
    asset = shapes.AssetRow("BTC", D("0.5"), D("-0.01"), D("0.4"), D("0.09"), NOW)
    never = shapes.AssetRow("ETH", D(0), D(0), D(0), D(0), 0)
    raw = shapes.futures_account(False, [never, asset], [position("-400")])
    balance = coinm.parse_balance_custom(raw, "inverse")
    assert balance["BTC"]["total"] == 0.49 and "ETH" not in balance  # updateTime 0: skipped
    c = payloads.futures_collateral(raw, "BTC", 1.0)
    assert (c.wallet, c.equity, c.free) == (D("0.5"), D("0.49"), D("0.09"))
    s = payloads.settings(raw["positions"], {"dualSidePosition": False}, shapes.COINM_ID,
                          "BTC/USD:BTC", 1.0)  # fmt: skip
    assert (s.leverage, s.margin_mode, s.one_way) == (D(1), "cross", True)


def test_order_parses_in_ccxt(coinm: Any, usdm: Any) -> None:
    row = shapes.OrderRow(17, "hkabc1230000000001", shapes.COINM_ID, "SELL", "LIMIT", D(40),
                          D(99000), D(40), D("99012.3"), "FILLED", False, "IOC", NOW, NOW + 5,
                          D("0.0404"))  # fmt: skip
    o = coinm.parse_order(shapes.order(False, row))
    assert (o["id"], o["clientOrderId"], o["status"], o["amount"], o["filled"]) == (
        "17", "hkabc1230000000001", "closed", 40, 40
    )  # fmt: skip
    assert o["average"] == 99012.3 and o["symbol"] == "BTC/USD:BTC"
    linear = usdm.parse_order(shapes.order(True, row))
    assert linear["symbol"] is None or linear["clientOrderId"] == "hkabc1230000000001"


def test_mark_price_parses_in_ccxt(coinm: Any) -> None:
    raw = shapes.premium_index(shapes.COINM_ID, "BTCUSD", D(98000), D("97990.5"), D("0.0001"),
                               NOW + 1000, NOW)  # fmt: skip
    t = coinm.parse_ticker(raw)
    assert (t["symbol"], t["markPrice"], t["indexPrice"]) == ("BTC/USD:BTC", 98000, 97990.5)


def test_account_update_feeds_ours() -> None:
    ours = (shapes.COINM_ID, D(-400), D(100000), D("-0.0001"), False)
    push = shapes.account_update("ORDER", NOW, [("BTC", D("0.49"))], [ours])
    update = payloads.account_update(push, "BTC", "BTC/USD:BTC", shapes.COINM_ID)
    c = update.collateral(1.0)
    assert c is not None and c.equity == D("0.4899")
    assert update.position is not None and update.position.contracts == -400


def test_spot_shapes_feed_ours() -> None:
    account = shapes.spot_account({"BTC": D("1.5"), "USDT": D(0)}, {"BTC": D("0.5")})
    assert payloads.spot_total(account, "BTC") == 2
    push = shapes.outbound_account_position(NOW, [("BTC", D(3), D(0))])
    assert payloads.spot_push_total(push, "BTC") == 3


def test_signature_check() -> None:
    import hashlib
    import hmac

    query = "symbol=BTCUSD_PERP&timestamp=1"
    sig = hmac.new(b"secret", query.encode(), hashlib.sha256).hexdigest()
    assert shapes.signature_ok(f"{query}&signature={sig}", "secret")
    assert not shapes.signature_ok(f"{query}&signature={sig}", "other")
    assert not shapes.signature_ok(query, "secret")
