"""Crash recovery on Binance COIN-M: SIGKILL the real daemon during order placement, restart.

The chains, kill points and checks of tests/test_crash.py (read it first), on the Binance
dialect: 4 chains of 5 kills. Binance matters here because a `newClientOrderId` is unique only
among OPEN orders: a restart that re-sent the create of an order that filled unseen would fill
it again, where Bybit would refuse it. Recovery must look the order up (`origClientOrderId`)
and never re-send. The margin sits in the COIN-M wallet (no transfers, so each kill is cheap);
deposits go there too. "answered" kills at the lookup that follows the k-th reply (Binance's
lookup is a GET on the create's own path).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.emulators.core.account import Account
from tests.emulators.core.model import DERIVATIVES, SPOT
from tests.emulators.dialects.binance import COINM, binance_account, emulator
from tests.test_crash import Exchange, inverse, kill_chain

CHAINS = 4  # of 5 kills: 20 kills in all


def coinm_account() -> Account:
    """2 BTC at 60,000, all of it in the COIN-M wallet."""
    account = binance_account(price=Decimal(60000), balances={"BTC": Decimal(2)})
    account.transfer("BTC", Decimal(2), SPOT, DERIVATIVES)
    return account


# 1,080 contracts to open (2 BTC at 60,000, h = 0.9) in pieces of <= 250; 540 more a deposit.
BINANCE = Exchange(
    "binance", lambda account: emulator("inverse", account), COINM.id,
    inverse(100, "1", 1, "0.1"), 250, CHAINS, account=coinm_account,
    deposit_wallet=DERIVATIVES, mode="live", seed=100,
)  # fmt: skip


@pytest.mark.parametrize("chain", range(CHAINS))
async def test_sigkill_during_binance_order_placement_then_restart(
    chain: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await kill_chain(BINANCE, chain, tmp_path, monkeypatch)
