"""The emulator core's account, without a wire: the arithmetic every dialect relies on."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.emulators.core.account import Account
from tests.emulators.core.model import UNIFIED, Instrument, OrderSpec, Reason, Refusal
from tests.emulators.dialects.bybit import INVERSE, LINEAR

D = Decimal


def account(**balances: str) -> Account:
    found = Account(price=D(60000), leverage=D(1),
                    balances={k: D(v) for k, v in balances.items()})  # fmt: skip
    for instrument in (INVERSE, LINEAR):
        found.list_instrument(instrument)
    return found


def sell(
    instrument: Instrument, qty: str, client_id: str = "", reduce_only: bool = False
) -> OrderSpec:
    return OrderSpec(instrument, "sell", D(qty), None, "IOC", reduce_only, client_id)


def test_margin_is_checked_as_the_exchange_prices_the_order() -> None:
    acc = account(BTC="1")
    # 1x inverse: 60,000 contracts cost 1 BTC of margin plus the 0.0006 fee: more than 1 BTC.
    with pytest.raises(Refusal) as refused:
        acc.place(sell(INVERSE, "60000"))
    assert refused.value.reason is Reason.MARGIN
    acc.place(sell(INVERSE, "59964"))  # floor(1 / (1.0006 / 60000))
    assert acc.positions[INVERSE.id].size == -59964


def test_linear_pnl_and_funding_are_in_the_quote_coin() -> None:
    acc = account(BTC="1", USDT="10000")
    acc.place(sell(LINEAR, "0.1"))
    acc.set_price(D(50000))
    assert acc.upnl("USDT") == D(1000)  # 0.1 * (60,000 - 50,000)
    assert acc.upnl("BTC") == 0 and acc.equity(UNIFIED, "BTC") == 1
    received = acc.apply_funding(D("0.0001"))  # longs pay shorts
    assert received == D("0.5")  # 0.1 BTC at 50,000 * 0.0001


def test_duplicate_client_ids_and_reduce_only_are_refused() -> None:
    acc = account(BTC="1")
    acc.place(sell(INVERSE, "1000", "a"))
    with pytest.raises(Refusal) as duplicate:
        acc.place(sell(INVERSE, "1000", "a"))
    assert duplicate.value.reason is Reason.DUPLICATE
    with pytest.raises(Refusal) as reduce:
        acc.place(sell(INVERSE, "10", reduce_only=True))  # a sell does not reduce a short
    assert reduce.value.reason is Reason.REDUCE_ONLY
    cover = OrderSpec(INVERSE, "buy", D(5000), None, "IOC", True, "b")
    assert acc.place(cover).cum_qty == 1000  # capped to the position


def test_below_maintenance_every_position_in_that_coin_is_liquidated() -> None:
    acc = account(BTC="1", USDT="1000")
    acc.positions[LINEAR.id].leverage = D(10)
    acc.place(sell(LINEAR, "0.1"))  # 6,000 USDT of short on 1,000 USDT
    acc.set_price(D(69000))  # a 900 USDT loss: still above maintenance
    assert acc.positions[LINEAR.id].size == D("-0.1")
    acc.set_price(D(70000))  # 1,000 USDT lost: below 0.5 % of 7,000
    assert acc.positions[LINEAR.id].size == 0
    assert acc.executions[-1].kind == "liquidation"
    assert acc.positions[INVERSE.id].size == 0 and acc.wallet(UNIFIED, "BTC") == 1
