"""Bybit's hooks one by one, inverse and linear, against a recording stand-in for ccxt's client.

Each hook gets a `Ctx` and returns values: these tests hand it canned ccxt replies, check what it
asked ccxt for and what it made of the answer, and that the quirks object learnt nothing (it is
shared by every Bybit venue, so a hook that stored an account fact would leak it between them).
"""

from __future__ import annotations

import copy
from decimal import Decimal as D
from typing import Any

import pytest

from hedgekeeper.domain import (
    Collateral,
    ContractKind,
    FundingEvent,
    MarketSpec,
    OrderRequest,
    Side,
    Stamped,
)
from hedgekeeper.venues.base import BadReply, DuplicateClientId, InsufficientMargin, SpotReading
from hedgekeeper.venues.bybit import QUIRKS, TRAITS
from hedgekeeper.venues.ccxt.quirks import Ctx
from hedgekeeper.venues.ccxt.traits import Stream
from hedgekeeper.venues.ccxt.transport import classify, is_unchanged

TS = 1_700_000_000.0
INVERSE = MarketSpec("BTC/USD:BTC", ContractKind.INVERSE, D(1), D(1), D(1), D("0.5"), "BTC", "USD",
                     "BTC")  # fmt: skip
LINEAR = MarketSpec("BTC/USDT:USDT", ContractKind.LINEAR, D(1), D("0.001"), D("0.001"), D("0.1"),
                    "BTC", "USDT", "USDT")  # fmt: skip


def coin(name: str, wallet: str, equity: str) -> dict[str, str]:
    return {"coin": name, "walletBalance": wallet, "equity": equity, "availableToWithdraw": "",
            "totalPositionIM": "0", "totalOrderIM": "0", "locked": "0"}  # fmt: skip


def wallet_reply(account: str, *coins: dict[str, str]) -> dict[str, Any]:
    return {"info": {"retCode": 0, "result": {"list": [{"accountType": account,
                                                        "coin": list(coins)}]}}}  # fmt: skip


class FakeBybit:
    """Records every call; answers `replies[method]`, or raises it when it is an exception."""

    def __init__(self, **replies: Any) -> None:
        self.replies = replies
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.options: dict[str, Any] = {}

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        async def call(*args: Any) -> Any:
            self.calls.append((method, copy.deepcopy(args)))
            reply = self.replies.get(method)
            if isinstance(reply, BaseException):
                raise reply
            return reply

        return call

    def market(self, symbol: str) -> dict[str, str]:
        return {"id": symbol.split(":")[0].replace("/", "")}


def ctx(ex: FakeBybit, kind: str = "uta2") -> Ctx:
    return Ctx(ex, ex, TRAITS.account(kind), TRAITS, lambda: TS)


@pytest.fixture(autouse=True)
def quirks_learn_nothing() -> Any:
    before = dict(vars(QUIRKS))
    yield
    assert vars(QUIRKS) == before == {}


@pytest.mark.parametrize(
    ("flags", "status", "kind", "unified"),
    [((False, False), None, "classic", False), ((True, False), 3, "uta1", False),
     ((False, True), 6, "uta2", True)],
)  # fmt: skip
async def test_the_account_is_returned_not_stored(
    flags: tuple[bool, bool], status: int | None, kind: str, unified: bool
) -> None:
    ex = FakeBybit(is_unified_enabled=list(flags),
                   private_get_v5_user_query_api={"result": {"userID": 1234567}})  # fmt: skip
    ex.options["unifiedMarginStatus"] = status
    account = await QUIRKS.account(ex, None)
    assert (account.kind, account.unified, account.id) == (kind, unified, "1234567")
    assert account.wallets == TRAITS.accounts[kind]


@pytest.mark.parametrize(
    ("kind", "market", "wallet", "shared"),
    [("uta2", LINEAR, "UNIFIED", True), ("uta1", LINEAR, "UNIFIED", True),
     ("classic", LINEAR, "CONTRACT", False), ("uta1", INVERSE, "CONTRACT", False),
     ("uta2", INVERSE, "UNIFIED", True)],
)  # fmt: skip
async def test_collateral_is_read_from_the_perps_wallet(
    kind: str, market: MarketSpec, wallet: str, shared: bool
) -> None:
    settle = market.settle
    ex = FakeBybit(fetch_balance=wallet_reply(wallet, coin("BTC", "1", "1.2"),
                                              coin(settle, "5000", "5100")))  # fmt: skip
    got = await QUIRKS.collateral(ctx(ex, kind), market)
    equity = D("1.2") if settle == "BTC" else D(5100)
    assert (got.equity, got.unified, got.ts) == (equity, shared, TS)
    params = {"type": "swap", "subType": market.kind.value, "coin": settle}
    assert ex.calls == [("fetch_balance", (params,))]


async def test_a_coin_missing_from_the_wallet_is_a_bad_reply() -> None:
    ex = FakeBybit(fetch_balance=wallet_reply("UNIFIED", coin("BTC", "1", "1")))
    with pytest.raises(BadReply, match="USDT missing"):
        await QUIRKS.collateral(ctx(ex), LINEAR)


@pytest.mark.parametrize(("kind", "wallet", "value"),
                         [("uta2", "UNIFIED", D("1.2")), ("classic", "SPOT", D(1))])  # fmt: skip
async def test_spot_is_the_unified_equity_or_the_spot_balance(
    kind: str, wallet: str, value: D
) -> None:
    ex = FakeBybit(fetch_balance=wallet_reply(wallet, coin("BTC", "1", "1.2")))
    assert await QUIRKS.spot(ctx(ex, kind), "BTC") == Stamped(value, TS)
    assert ex.calls == [("fetch_balance", ({"type": "spot", "coin": "BTC"},))]


async def test_a_linear_order_goes_out_in_coin_one_way_by_link_id() -> None:
    ex = FakeBybit(create_order={"id": "x1"})
    request = OrderRequest(LINEAR.symbol, Side.BUY, D("0.25"), True, D(60000), "hk1")
    assert await QUIRKS.place(ctx(ex), LINEAR, request) == {"id": "x1"}
    params = {"clientOrderId": "hk1", "reduceOnly": True, "timeInForce": "IOC", "positionIdx": 0}
    assert ex.calls == [("create_order", (LINEAR.symbol, "limit", "buy", 0.25, 60000.0, params))]


async def test_positions_are_asked_for_by_symbol_and_signed() -> None:
    raw = [{"symbol": LINEAR.symbol, "contracts": 0.5, "side": "short", "entryPrice": 60000.0,
            "liquidationPrice": None, "leverage": 1.0}]  # fmt: skip
    ex = FakeBybit(fetch_positions=raw)
    position = await QUIRKS.position(ctx(ex), LINEAR)
    assert (position.contracts, position.entry_price) == (D("-0.5"), D(60000))
    assert ex.calls == [("fetch_positions", ([LINEAR.symbol],))]


async def test_an_order_is_found_by_link_id_among_open_then_closed() -> None:
    fee = {"cost": 0.01, "currency": "USDT"}
    order = {"id": "o9", "clientOrderId": "hk7", "status": "closed", "amount": 0.5,
             "filled": 0.5, "average": 60000.0, "fee": fee}  # fmt: skip
    ex = FakeBybit(fetch_open_orders=[], fetch_canceled_and_closed_orders=[order])
    found = await QUIRKS.find_order(ctx(ex), LINEAR, "hk7")
    assert found == order
    params = {"orderLinkId": "hk7"}
    assert ex.calls == [
        ("fetch_open_orders", (LINEAR.symbol, None, None, params)),
        ("fetch_canceled_and_closed_orders", (LINEAR.symbol, None, None, params)),
    ]
    report = QUIRKS.report(ctx(ex), LINEAR, order, "hk7")
    assert (report.filled, report.fee, report.exchange_id) == (D("0.5"), D("0.01"), "o9")
    empty = FakeBybit(fetch_open_orders=[], fetch_canceled_and_closed_orders=[])
    assert await QUIRKS.find_order(ctx(empty), LINEAR, "hk7") is None


async def test_funding_paid_is_negative_in_the_settle_coin() -> None:
    raw = [{"info": {"symbol": "BTCUSDT", "execType": "Funding", "execFee": "0.6",
                     "execTime": "1700000000000", "feeRate": "0.0001"}},
           {"info": {"symbol": "BTCUSDT", "execType": "Trade", "execFee": "9",
                     "execTime": "1700000000000"}}]  # fmt: skip
    ex = FakeBybit(fetch_funding_history=raw)
    events = await QUIRKS.funding(ctx(ex), LINEAR, 1_699_999_000.0)
    assert events == [FundingEvent(LINEAR.symbol, D("-0.6"), 1_700_000_000.0, D("0.0001"))]
    assert ex.calls == [("fetch_funding_history", (LINEAR.symbol, 1_699_999_000_000))]


@pytest.mark.parametrize(("kind", "calls"), [
    ("uta2", []),
    ("uta1", [("transfer", ("BTC", 0.5, "unified", "contract"))]),
    ("classic", [("transfer", ("BTC", 0.5, "spot", "contract"))]),
])  # fmt: skip
async def test_transfer_only_between_two_wallets(kind: str, calls: list[Any]) -> None:
    ex = FakeBybit()
    await QUIRKS.transfer(ctx(ex, kind), "BTC", D("0.5"))
    assert ex.calls == calls


async def test_settings_on_a_unified_account_set_margin_only_when_it_differs() -> None:
    from ccxt.base.errors import BadRequest

    positions = [{"symbol": LINEAR.symbol, "info": {"leverage": "1", "positionIdx": 0}}]
    ex = FakeBybit(
        set_position_mode=BadRequest('bybit {"retCode":110025,"retMsg":"not modified"}'),
        set_leverage=BadRequest('bybit {"retCode":110043,"retMsg":"leverage not modified"}'),
        fetch_positions=positions,
        private_get_v5_account_info={"result": {"marginMode": "REGULAR_MARGIN"}},
    )  # fmt: skip
    await QUIRKS.ensure_settings(ctx(ex), LINEAR, D(1), "cross")
    assert [name for name, _ in ex.calls] == [
        "set_position_mode", "fetch_positions", "private_get_v5_account_info", "set_leverage"
    ]  # fmt: skip
    ex.replies["private_get_v5_account_info"] = {"result": {"marginMode": "ISOLATED_MARGIN"}}
    ex.calls.clear()
    await QUIRKS.ensure_settings(ctx(ex), LINEAR, D(1), "cross")
    assert ("set_margin_mode", ("cross",)) in ex.calls
    settings = await QUIRKS.settings(ctx(ex), LINEAR)
    assert (settings.leverage, settings.margin_mode, settings.one_way) == (1, "isolated", True)


def test_error_codes_by_the_traits() -> None:
    from ccxt.base import errors as e

    duplicate = e.InvalidOrder('bybit {"retCode":110072,"retMsg":"OrderLinkedID is duplicate"}')
    assert type(classify(duplicate, TRAITS, order=True)) is DuplicateClientId
    poor = e.ExchangeError('bybit {"retCode":"110007","retMsg":"ab not enough"}')
    assert type(classify(poor, TRAITS, order=True)) is InsufficientMargin
    assert type(classify(poor, TRAITS, order=False)) is not InsufficientMargin  # a read's failure
    assert is_unchanged(TRAITS, e.BadRequest('bybit {"retCode":110043}'))
    assert not is_unchanged(TRAITS, e.BadRequest('bybit {"retCode":110007}'))


def balance_streams(kind: str, market: MarketSpec) -> list[Any]:
    streams = QUIRKS.streams(ctx(FakeBybit(), kind), market, "BTC")
    assert {s.kind for s in streams} == set(Stream)
    return [s for s in streams if s.kind is Stream.BALANCE]


def test_a_unified_linear_wallet_push_gives_collateral_and_the_held_coin() -> None:
    [stream] = balance_streams("uta2", LINEAR)
    push = wallet_reply("UNIFIED", coin("USDT", "5000", "5100"), coin("BTC", "1", "1"))
    collateral, spot = stream.parse(push, TS)
    assert isinstance(collateral, Collateral) and collateral.equity == 5100
    assert spot == SpotReading("BTC", Stamped(D(1), TS))
    only_usdt = wallet_reply("UNIFIED", coin("USDT", "5000", "5050"))
    [alone] = stream.parse(only_usdt, TS)  # a push of the margin coin alone: no spot reading
    assert isinstance(alone, Collateral) and alone.equity == 5050


def test_an_inverse_unified_push_must_carry_the_coin() -> None:
    [stream] = balance_streams("uta2", INVERSE)
    with pytest.raises(BadReply, match="BTC missing"):
        stream.parse(wallet_reply("UNIFIED", coin("USDT", "1", "1")), TS)


def test_a_classic_account_watches_its_two_wallets_apart() -> None:
    collateral, spot = balance_streams("classic", LINEAR)
    push = wallet_reply("CONTRACT", coin("USDT", "5000", "5100"))
    [reading] = collateral.parse(push, TS)
    assert isinstance(reading, Collateral) and not reading.unified
    assert spot.parse(wallet_reply("SPOT", coin("BTC", "2", "2")), TS) == [
        SpotReading("BTC", Stamped(D(2), TS))
    ]
