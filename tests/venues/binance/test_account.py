"""Binance wallets: where auto_transfer moves coin, and what `check` tells the owner to change."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hedgekeeper.domain import AccountSettings, ContractKind
from hedgekeeper.venues.base import VenueError
from hedgekeeper.venues.binance.account import advice, check_margin_asset, transfer_accounts

INVERSE, LINEAR = ContractKind.INVERSE, ContractKind.LINEAR


def test_transfer_goes_to_the_perps_futures_wallet() -> None:
    assert transfer_accounts(INVERSE, demo=False) == ("spot", "inverse")
    assert transfer_accounts(LINEAR, demo=False) == ("spot", "linear")


def test_demo_refuses_transfers_saying_what_to_do() -> None:
    with pytest.raises(VenueError, match=r"demo trading has no wallet transfers.*COIN-M"):
        transfer_accounts(INVERSE, demo=True)
    with pytest.raises(VenueError, match="auto_transfer = false"):
        transfer_accounts(LINEAR, demo=True)


def settings(leverage: str, mode: str, one_way: bool) -> AccountSettings:
    return AccountSettings(Decimal(leverage), mode, one_way, False, 0.0)


def test_nothing_to_change_when_all_is_as_the_leg_wants() -> None:
    assert advice(settings("1", "cross", True), INVERSE, Decimal(1), "cross") == []


def test_each_wrong_setting_gets_its_line() -> None:
    lines = advice(settings("20", "isolated", False), INVERSE, Decimal(1), "cross")
    assert len(lines) == 3
    assert "hedge (dual side) on COIN-M" in lines[0] and "one-way" in lines[0]
    assert "margin mode is isolated" in lines[1] and "-4048" in lines[1]
    assert "leverage is 20x" in lines[2]


def test_unknown_settings_are_not_called_wrong() -> None:
    found = AccountSettings(None, None, None, False, 0.0)
    assert advice(found, LINEAR, Decimal(1), "cross") == []


def test_only_the_quote_coin_goes_to_usdm() -> None:
    check_margin_asset(LINEAR, "USDT")
    check_margin_asset(INVERSE, "BTC")
    with pytest.raises(VenueError, match="USDⓈ-M margin is USDT or USDC, not BTC"):
        check_margin_asset(LINEAR, "BTC")
