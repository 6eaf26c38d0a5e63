"""WEEX's hooks one by one against a recording stand-in for ccxt's client.

The end-to-end behaviour (polling, orders, SIGKILL recovery) is the conformance suite's, on the
WEEX dialect; these pin each quirk: a contract is one coin whatever `contractVal` says, the
wallet's equity, the one `symbolConfig` row, settings sent only where they differ, a refused
create, the lookup by WEEX's order id when it is known (one fetch, no list), and by scanning
open and past orders when it is not (found in either, not found, or two orders under one
client id: unknown, never "not found").
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from hedgekeeper.domain import (
    ContractKind,
    MarketSpec,
    OrderRequest,
    OrderState,
    Position,
    Side,
)
from hedgekeeper.venues.base import BadReply, OrderRejected, OutcomeUnknown, RateLimited, VenueError
from hedgekeeper.venues.ccxt.quirks import Ctx
from hedgekeeper.venues.ccxt.transport import classify
from hedgekeeper.venues.weex import QUIRKS, TRAITS
from hedgekeeper.venues.weex.quirks import NO_DEMO
from tests.venues.bybit.test_quirks import FakeBybit as FakeCcxt

TS = 1_700_000_000.0
SYMBOL = "BTC/USDT:USDT"
# As ccxt parses WEEX's market: contractSize is contractVal (0.0001), amounts are BTC all the same.
CCXT_SPEC = MarketSpec(SYMBOL, ContractKind.LINEAR, D("0.0001"), D("0.0001"), D("0.0001"),
                       D("0.1"), "BTC", "USDT", "USDT")  # fmt: skip
USDTM = MarketSpec(SYMBOL, ContractKind.LINEAR, D(1), D("0.0001"), D("0.0001"), D("0.1"), "BTC",
                   "USDT", "USDT")  # fmt: skip


def ctx(ex: FakeCcxt) -> Ctx:
    return Ctx(ex, ex, TRAITS.account("separate"), TRAITS, lambda: TS)


async def test_a_contract_is_one_coin_whatever_contract_val_says() -> None:
    got = await QUIRKS.market(ctx(FakeCcxt()), CCXT_SPEC)
    assert got.contract_size == 1
    assert (got.amount_step, got.min_amount) == (D("0.0001"), D("0.0001"))
    assert QUIRKS.own_position(got, _position(D("-0.25"))).contracts == D("-0.25")


def _position(size: D) -> Position:
    return Position(SYMBOL, size, TS)


async def test_testnet_is_refused_at_open_with_the_reason() -> None:
    ex = FakeCcxt()
    ex.options["sandboxMode"] = True
    with pytest.raises(VenueError, match="capi/v3/sim"):
        await QUIRKS.account(ex, None)
    ex.options["sandboxMode"] = False
    assert (await QUIRKS.account(ex, None)).unified is False
    assert "dry-run" in NO_DEMO


def contract_rows(*rows: dict[str, str]) -> dict[str, Any]:
    return {"info": list(rows)}


async def test_collateral_is_the_balance_plus_unrealised_pnl() -> None:
    row = {"asset": "USDT", "balance": "1000", "availableBalance": "400", "frozen": "0",
           "unrealizePnl": "-25.5"}  # fmt: skip
    ex = FakeCcxt(fetch_balance=contract_rows({"asset": "BTC", "balance": "1"}, row))
    got = await QUIRKS.collateral(ctx(ex), USDTM)
    assert (got.wallet, got.equity, got.free, got.unified) == (D(1000), D("974.5"), D(400), False)
    assert ex.calls == [("fetch_balance", ({"type": "swap"},))]


@pytest.mark.parametrize(
    ("rows", "why"),
    [([{"asset": "BTC", "balance": "1", "availableBalance": "1"}], "no USDT row"),
     ([{"asset": "USDT", "availableBalance": "1"}], "balance"),
     ([{"asset": "USDT", "balance": "-1", "availableBalance": "1"}], "balance"),
     ([{"asset": "USDT", "balance": "1"}], "availableBalance"),
     ("oops", "expected a list")],
)  # fmt: skip
async def test_a_bad_contract_wallet_reply_is_named(rows: Any, why: str) -> None:
    ex = FakeCcxt(fetch_balance={"info": rows})
    with pytest.raises(BadReply, match=why):
        await QUIRKS.collateral(ctx(ex), USDTM)


def spot_reply(*rows: dict[str, str]) -> dict[str, Any]:
    return {"info": {"accountType": "SPOT", "balances": list(rows)}}


@pytest.mark.parametrize(
    ("rows", "held"),
    [([{"asset": "BTC", "free": "1.5", "locked": "0.25"}], D("1.75")),
     ([{"asset": "USDT", "free": "20", "locked": "0"}], D(0))],  # lists only coins it held
)  # fmt: skip
async def test_spot_is_free_plus_locked(rows: list[dict[str, str]], held: D) -> None:
    ex = FakeCcxt(fetch_balance=spot_reply(*rows))
    assert (await QUIRKS.spot(ctx(ex), "BTC")).value == held
    assert ex.calls == [("fetch_balance", ({"type": "spot"},))]


@pytest.mark.parametrize(
    ("reply", "why"),
    [(spot_reply(), "no coin at all"), ({"info": {}}, "balances"),
     (spot_reply({"asset": "BTC", "free": "x"}), "free")],
)  # fmt: skip
async def test_a_bad_spot_reply_is_named(reply: Any, why: str) -> None:
    with pytest.raises(BadReply, match=why):
        await QUIRKS.spot(ctx(FakeCcxt(fetch_balance=reply)), "BTC")


def config(mode: str = "cross", leverage: float = 1, separated: str = "COMBINED") -> Any:
    info = {"symbol": "BTCUSDT", "marginType": "CROSSED" if mode == "cross" else "ISOLATED",
            "separatedType": separated, "crossLeverage": str(leverage)}  # fmt: skip
    return {"symbol": SYMBOL, "marginMode": mode, "longLeverage": leverage,
            "shortLeverage": leverage, "info": info}  # fmt: skip


async def test_settings_come_from_one_symbol_config_row() -> None:
    ex = FakeCcxt(fetch_leverage=config("isolated", 3, "SEPARATED"))
    got = await QUIRKS.settings(ctx(ex), USDTM)
    assert (got.leverage, got.margin_mode, got.one_way, got.unified) == (3, "isolated", False,
                                                                          False)  # fmt: skip
    assert ex.calls == [("fetch_leverage", (SYMBOL,))]


@pytest.mark.parametrize(
    ("reply", "why"),
    [({**config(), "marginMode": "portfolio"}, "margin mode"),
     ({**config(), "shortLeverage": 0}, "shortLeverage"),
     ({**config(), "info": {"separatedType": "BOTH"}}, "separatedType")],
)  # fmt: skip
async def test_a_bad_symbol_config_is_named(reply: Any, why: str) -> None:
    with pytest.raises(BadReply, match=why):
        await QUIRKS.settings(ctx(FakeCcxt(fetch_leverage=reply)), USDTM)


@pytest.mark.parametrize(
    ("found", "sent"),
    [(config(), []),
     (config(leverage=10), [("set_leverage", (1, SYMBOL, {"marginMode": "cross"}))]),
     (config("isolated"), [("set_position_mode", (False, SYMBOL, {"marginMode": "cross"})),
                           ("set_leverage", (1, SYMBOL, {"marginMode": "cross"}))]),
     (config(separated="SEPARATED"),
      [("set_position_mode", (False, SYMBOL, {"marginMode": "cross"}))])],
)  # fmt: skip
async def test_only_what_differs_is_set(found: Any, sent: list[Any]) -> None:
    ex = FakeCcxt(fetch_leverage=found)
    await QUIRKS.ensure_settings(ctx(ex), USDTM, D(1), "cross")
    assert ex.calls[1:] == sent


REQUEST = OrderRequest(SYMBOL, Side.SELL, D("0.25"), False, D(59000), "hk1")


async def test_an_order_goes_out_in_coin_with_our_client_id() -> None:
    ex = FakeCcxt(create_order={"id": "7", "info": {"orderId": "7", "success": True}})
    await QUIRKS.place(ctx(ex), USDTM, REQUEST)
    params = {"clientOrderId": "hk1", "timeInForce": "IOC"}
    assert ex.calls == [("create_order", (SYMBOL, "limit", "sell", 0.25, 59000.0, params))]


async def test_a_create_reply_without_success_is_a_refusal() -> None:
    info = {"orderId": None, "success": False, "errorCode": "-1054", "errorMessage": "no margin"}
    ex = FakeCcxt(create_order={"id": None, "info": info})
    with pytest.raises(OrderRejected, match="-1054 no margin"):
        await QUIRKS.place(ctx(ex), USDTM, REQUEST)


def order(order_id: str, client_id: str, status: str = "closed", filled: float = 0.25) -> Any:
    return {"id": order_id, "clientOrderId": client_id, "symbol": SYMBOL, "status": status,
            "amount": 0.25, "filled": filled, "average": 60000 if filled else None,
            "fee": None, "info": {}}  # fmt: skip


async def lookup(open_: list[Any], past: list[Any], client_id: str = "hk1") -> Any:
    ex = FakeCcxt(fetch_open_orders=open_, fetch_canceled_and_closed_orders=past)
    found = await QUIRKS.find_order(ctx(ex), USDTM, client_id)
    assert [c[0] for c in ex.calls] == ["fetch_open_orders", "fetch_canceled_and_closed_orders"]
    assert ex.calls[1] == ("fetch_canceled_and_closed_orders", (SYMBOL, None, 100))
    return found


async def test_found_among_open_orders() -> None:
    found = await lookup([order("5", "other", "open"), order("7", "hk1", "open", 0)], [])
    assert found["id"] == "7"
    assert QUIRKS.report(ctx(FakeCcxt()), USDTM, found, "hk1").state is OrderState.OPEN


async def test_found_in_the_history() -> None:
    found = await lookup([order("5", "other", "open")], [order("3", "x"), order("7", "hk1")])
    report = QUIRKS.report(ctx(FakeCcxt()), USDTM, found, "hk1")
    assert (report.state, report.filled, report.exchange_id) == (OrderState.FILLED, D("0.25"),
                                                                 "7")  # fmt: skip


async def test_not_found_in_either_list_is_none() -> None:
    assert await lookup([order("5", "other", "open")], [order("3", "x")]) is None


async def test_finished_between_the_two_reads_is_one_order_the_later_read_wins() -> None:
    found = await lookup([order("7", "hk1", "open", 0)], [order("7", "hk1")])
    assert found["status"] == "closed"


async def test_two_orders_under_one_client_id_are_unknown_never_not_found() -> None:
    with pytest.raises(OutcomeUnknown, match="2 orders carry this client id"):
        await lookup([order("7", "hk1", "open", 0)], [order("9", "hk1")])


async def test_an_unreadable_list_is_an_error_never_not_found() -> None:
    ex = FakeCcxt(fetch_open_orders=[], fetch_canceled_and_closed_orders={"orders": []})
    with pytest.raises(BadReply, match="order history BTC/USDT:USDT: expected a list"):
        await QUIRKS.find_order(ctx(ex), USDTM, "hk1")


async def test_a_listed_order_without_an_id_is_a_bad_reply() -> None:
    with pytest.raises(BadReply, match="id"):
        await lookup([], [{**order("7", "hk1"), "id": None}])


async def test_a_known_order_id_is_one_fetch_by_it_and_no_list() -> None:
    ex = FakeCcxt(fetch_order=order("7", "hk1", "open", 0))
    found = await QUIRKS.find_order(ctx(ex), USDTM, "hk1", "7")
    assert found["id"] == "7" and ex.calls == [("fetch_order", ("7", SYMBOL))]


async def test_an_id_weex_does_not_know_falls_back_to_the_scan() -> None:
    from ccxt.base.errors import InvalidOrder  # ccxt's class for -3200

    gone = InvalidOrder('weex {"code":-3200,"msg":"CONTRACT_ORDER_NOT_EXIST"}')
    ex = FakeCcxt(fetch_order=gone, fetch_open_orders=[],
                  fetch_canceled_and_closed_orders=[order("7", "hk1")])  # fmt: skip
    found = await QUIRKS.find_order(ctx(ex), USDTM, "hk1", "7")
    assert found["status"] == "closed"
    assert [c[0] for c in ex.calls] == [
        "fetch_order", "fetch_open_orders", "fetch_canceled_and_closed_orders"
    ]  # fmt: skip


async def test_any_other_failure_of_the_fetch_by_id_is_raised_not_scanned() -> None:
    from ccxt.base.errors import NetworkError

    ex = FakeCcxt(fetch_order=NetworkError("timed out"))
    with pytest.raises(NetworkError):
        await QUIRKS.find_order(ctx(ex), USDTM, "hk1", "7")
    assert [c[0] for c in ex.calls] == ["fetch_order"]


@pytest.mark.parametrize("carried", ["hk2", None])
async def test_an_order_by_id_without_our_client_id_is_a_bad_reply(carried: str | None) -> None:
    """The id came from the journal: an order of someone else's is neither ours nor cancelled."""
    ex = FakeCcxt(fetch_order={**order("7", "hk1", "open", 0), "clientOrderId": carried})
    with pytest.raises(BadReply, match=r"order 7: WEEX says it carries client id .*, not hk1"):
        await QUIRKS.find_order(ctx(ex), USDTM, "hk1", "7")


def test_partially_filled_is_open() -> None:
    raw = order("7", "hk1", "partially_filled", 0.1)
    report = QUIRKS.report(ctx(FakeCcxt()), USDTM, raw, "hk1")
    assert (report.state, report.filled) == (OrderState.OPEN, D("0.1"))


def test_weexs_rate_limit_and_unknown_codes() -> None:
    from ccxt.base.errors import ExchangeError

    limited = ExchangeError('weex {"code":429,"msg":"Requesting too frequently"}')
    assert isinstance(classify(limited, TRAITS, order=True), RateLimited)
    unknown = ExchangeError('weex {"code":-1000,"msg":"UNKNOWN_ERROR"}')
    assert isinstance(classify(unknown, TRAITS, order=True), OutcomeUnknown)


def test_traits_say_linear_only_and_no_transfers() -> None:
    assert TRAITS.kinds == {ContractKind.LINEAR}
    assert TRAITS.transfers is False
    assert "linear perpetuals only" in TRAITS.unlisted("weex", "BTC/USD:BTC")
    assert "lists no market BTC/USDC:USDC" in TRAITS.unlisted("weex", "BTC/USDC:USDC")
