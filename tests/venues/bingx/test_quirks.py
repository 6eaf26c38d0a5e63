"""BingX's hooks one by one, coin-M and USDT-M, against a recording stand-in for ccxt's client.

The end-to-end behaviour (polling, orders, recovery) is the conformance suite's, on the BingX
dialect; these pin each quirk: the sign of a one-way position, the wallet's equity, whole coin-M
contracts, settings without a coin-M position mode, and funding that is unknown, not zero.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from hedgekeeper.domain import ContractKind, MarketSpec, OrderRequest, Side
from hedgekeeper.venues.base import (
    BadReply,
    DuplicateClientId,
    FundingUnknown,
    InsufficientMargin,
    OrderRejected,
    RateLimited,
)
from hedgekeeper.venues.bingx import QUIRKS, TRAITS
from hedgekeeper.venues.ccxt.quirks import Ctx
from hedgekeeper.venues.ccxt.transport import classify
from tests.venues.bybit.test_quirks import FakeBybit as FakeCcxt

TS = 1_700_000_000.0
COINM = MarketSpec("BTC/USD:BTC", ContractKind.INVERSE, D(100), D(1), D(1), D("0.1"), "BTC", "USD",
                   "BTC")  # fmt: skip
USDTM = MarketSpec("BTC/USDT:USDT", ContractKind.LINEAR, D(1), D("0.0001"), D("0.0001"),
                   D("0.1"), "BTC", "USDT", "USDT")  # fmt: skip


def ctx(ex: FakeCcxt) -> Ctx:
    return Ctx(ex, ex, TRAITS.account("separate"), TRAITS, lambda: TS)


def position(symbol: str, amount: str, side: str = "both") -> dict[str, Any]:
    return {"symbol": symbol, "side": side, "contracts": abs(float(amount)), "leverage": 1,
            "entryPrice": 60000, "liquidationPrice": None,
            "info": {"positionAmt": amount}}  # fmt: skip


@pytest.mark.parametrize(
    ("amount", "side", "signed"),
    [("-25", "both", D(-25)), ("7", "both", D(7)), ("25", "short", D(-25)), ("3", "long", D(3)),
     ("0", "both", D(0))],
)  # fmt: skip
async def test_the_direction_comes_from_the_sign(amount: str, side: str, signed: D) -> None:
    ex = FakeCcxt(fetch_positions=[position("BTC/USD:BTC", amount, side)])
    got = await QUIRKS.position(ctx(ex), COINM)
    assert got.contracts == signed
    assert ex.calls == [("fetch_positions", (["BTC/USD:BTC"],))]


async def test_an_unknown_side_is_a_bad_reply() -> None:
    ex = FakeCcxt(fetch_positions=[position("BTC/USD:BTC", "-5", "hedge")])
    with pytest.raises(BadReply, match="unknown side"):
        await QUIRKS.position(ctx(ex), COINM)


def balance(*rows: dict[str, str]) -> dict[str, Any]:
    return {"info": {"code": 0, "data": list(rows)}}


async def test_collateral_is_the_wallets_equity_not_ccxts_total() -> None:
    row = {"asset": "BTC", "balance": "2", "equity": "2.1", "availableMargin": "0.4"}
    ex = FakeCcxt(fetch_balance=balance({"asset": "USDT", "balance": "9"}, row))
    got = await QUIRKS.collateral(ctx(ex), COINM)
    assert (got.wallet, got.equity, got.free, got.unified) == (D(2), D("2.1"), D("0.4"), False)
    assert ex.calls == [("fetch_balance", ({"type": "swap", "subType": "inverse"},))]


async def test_a_wallet_without_the_settle_coin_is_a_bad_reply() -> None:
    ex = FakeCcxt(fetch_balance=balance({"asset": "USDT", "balance": "9", "equity": "9"}))
    with pytest.raises(BadReply, match="no BTC row"):
        await QUIRKS.collateral(ctx(ex), COINM)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [([{"asset": "BTC", "free": "1.5", "locked": "0.5"}], D(2)),
     ([{"asset": "USDT", "free": "10", "locked": "0"}], D(0))],
)  # fmt: skip
async def test_spot_is_free_plus_locked_and_an_unlisted_coin_is_none(
    rows: list[dict[str, str]], expected: D
) -> None:
    ex = FakeCcxt(fetch_balance={"info": {"code": 0, "data": {"balances": rows}}})
    assert (await QUIRKS.spot(ctx(ex), "BTC")).value == expected


async def test_an_empty_spot_reply_is_no_reading() -> None:
    ex = FakeCcxt(fetch_balance={"info": {"code": 0, "data": {"balances": []}}})
    with pytest.raises(BadReply, match="no coin at all"):
        await QUIRKS.spot(ctx(ex), "BTC")


async def test_coin_m_orders_go_as_whole_contracts() -> None:
    ex = FakeCcxt(create_order={"id": "1"})
    request = OrderRequest("BTC/USD:BTC", Side.SELL, D(30), False, D(59000), "hk1")
    await QUIRKS.place(ctx(ex), COINM, request)
    ((method, args),) = ex.calls
    assert method == "create_order" and args[3] == 30 and isinstance(args[3], int)
    assert args[5] == {"clientOrderId": "hk1", "timeInForce": "IOC"}


async def test_a_fraction_of_a_step_is_refused_before_sending() -> None:
    ex = FakeCcxt()
    request = OrderRequest("BTC/USD:BTC", Side.SELL, D("2.5"), False, None, "hk1")
    with pytest.raises(OrderRejected, match="not a multiple"):
        await QUIRKS.place(ctx(ex), COINM, request)
    assert ex.calls == []


async def test_the_account_gives_coin_m_markets_a_whole_contract_step() -> None:
    markets = {
        "BTC/USD:BTC": {"inverse": True, "swap": True, "precision": {"amount": None}},
        "BTC/USDT:USDT": {"inverse": False, "swap": True, "precision": {"amount": 0.0001}},
    }
    ex = FakeCcxt()
    ex.markets = markets  # type: ignore[attr-defined]
    account = await QUIRKS.account(ex, None)
    assert not account.unified
    assert markets["BTC/USD:BTC"]["precision"] == {"amount": 1.0}
    assert markets["BTC/USDT:USDT"]["precision"] == {"amount": 0.0001}


async def test_coin_m_settings_set_no_position_mode() -> None:
    ex = FakeCcxt()
    await QUIRKS.ensure_settings(ctx(ex), COINM, D(1), "cross")
    assert [c[0] for c in ex.calls] == ["set_margin_mode", "set_leverage", "set_leverage"]
    assert [c[1][2] for c in ex.calls[1:]] == [{"side": "LONG"}, {"side": "SHORT"}]


async def test_usdt_m_settings_are_one_way_first() -> None:
    ex = FakeCcxt()
    await QUIRKS.ensure_settings(ctx(ex), USDTM, D(1), "cross")
    assert [c[0] for c in ex.calls] == ["set_position_mode", "set_margin_mode", "set_leverage"]
    assert ex.calls[0][1] == (False, "BTC/USDT:USDT")


async def test_settings_read_the_short_leverage_and_coin_m_mode_stays_unknown() -> None:
    ex = FakeCcxt(fetch_leverage={"shortLeverage": 1, "longLeverage": 3},
                  fetch_margin_mode={"marginMode": "cross"})  # fmt: skip
    got = await QUIRKS.settings(ctx(ex), COINM)
    assert (got.leverage, got.margin_mode, got.one_way) == (D(1), "cross", None)


async def test_coin_m_funding_is_unknown_and_usdt_m_funding_is_read() -> None:
    ex = FakeCcxt(fetch_funding_history=[
        {"symbol": "BTC/USDT:USDT", "timestamp": 1_700_000_000_000, "amount": 0.5}])  # fmt: skip
    with pytest.raises(FundingUnknown):
        await QUIRKS.funding(ctx(ex), COINM, 0)
    (event,) = await QUIRKS.funding(ctx(ex), USDTM, 0)
    assert event.amount == D("0.5")


@pytest.mark.parametrize(
    ("code", "kind"),
    [("101481", DuplicateClientId), ("109201", DuplicateClientId),
     ("101204", InsufficientMargin), ("80012", InsufficientMargin), ("100410", RateLimited)],
)  # fmt: skip
def test_bingx_codes_name_the_error(code: str, kind: type[Exception]) -> None:
    from ccxt.base.errors import ExchangeError

    exc = ExchangeError(f'bingx {{"code": {code}, "msg": "x"}}')
    assert isinstance(classify(exc, TRAITS, order=True), kind)
