"""The real daemon process on Binance: the holding in the spot wallet, the hedge on COIN-M.

`hedgekeeper run` runs as a subprocess (live mode, confirmed through the environment: demo
trading, the testnet mode, has no transfers) against the Binance dialect in this process, so
what is checked is the exchange's own state and the daemon's journal, never its internals.

The account starts with 2 BTC in spot and an empty COIN-M wallet, BTC at 60,000, leverage 20x
(the daemon puts it at 1x). At h = 0.5 the opening short of 1 BTC (600 contracts of 100 USD)
needs about 1 BTC of margin in the COIN-M wallet: the daemon moves it there from spot with a
universal transfer (MAIN_CMFUTURE) and then shorts. A 1 BTC spot deposit calls for 300 more
contracts (funded by a second transfer); a 1 BTC withdrawal from spot for a reduce-only cover.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.emulators.core.model import DERIVATIVES, SPOT
from tests.emulators.core.server import Emulator
from tests.emulators.dialects.binance import COINM, binance_account, emulator
from tests.processes import WAIT, DaemonProcess, config_text, reap, start_daemon

D = Decimal
LEG = """hedge_ratio = 0.5
max_slippage = "0.1"
[legs.guards]
auto_transfer = true
orders_per_minute = 30"""


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    account = binance_account(price=D(60000), balances={"BTC": D(2), "USDT": D(0)})
    async with emulator("inverse", account) as running:
        yield running


def position(emu: Emulator) -> Decimal:
    return emu.account.positions[COINM.id].size


async def settles_at(emu: Emulator, daemon: DaemonProcess, contracts: int) -> None:
    """Wait until the exchange holds `contracts` and the daemon says it is on target there."""
    start = 0
    async with asyncio.timeout(WAIT):
        while True:
            start = await daemon.wait_for(on_target, start) + 1
            if position(emu) == contracts:
                return


def on_target(line: dict[str, Any]) -> bool:
    reason = str(line.get("reason", ""))
    return (
        line.get("event") == "decision"
        and line.get("action") == "hold"
        and reason.startswith(("on target", "within deadband"))
    )


def journal_rows(journal: Path, sql: str) -> list[Any]:
    db = sqlite3.connect(journal)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


async def test_spot_holding_hedged_on_coinm_with_transfers(emu: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    path = tmp_path / "binance.toml"
    path.write_text(config_text(journal, [("btc", "binance", emu)], LEG, mode="live"))
    os.environ["HEDGEKEEPER_CONFIRM_LIVE"] = "1"
    try:
        daemon = await start_daemon(path, tmp_path)
    finally:
        del os.environ["HEDGEKEEPER_CONFIRM_LIVE"]
    try:
        # The opening short: spot -> COIN-M first, then 600 contracts (1 BTC at 60,000).
        await settles_at(emu, daemon, -600)
        transfers = [r for r in emu.requests if r.path == "/sapi/v1/asset/transfer"]
        assert transfers and {r.params["type"] for r in transfers} == {"MAIN_CMFUTURE"}
        first = emu.order_log[0]
        assert first.params["side"] == "SELL" and first.params["newClientOrderId"].startswith("hk")
        moved = sum((D(r.params["amount"]) for r in transfers), D(0))
        assert D("0.99") < moved < D("1.05")  # about the short's 1x margin, not the whole coin
        assert emu.account.wallet(SPOT, "BTC") + moved == 2
        assert emu.account.wallet(DERIVATIVES, "BTC") < moved  # less the opening fee
        assert emu.account.positions[COINM.id].leverage == 1

        # A spot deposit grows the short, paid by another transfer.
        await emu.deposit("BTC", D(1))
        await settles_at(emu, daemon, -900)
        assert len([r for r in emu.requests if r.path == "/sapi/v1/asset/transfer"]) > len(
            transfers
        )
        assert emu.order_log[-1].params["side"] == "SELL"

        # A withdrawal from spot: a reduce-only cover.
        await emu.withdraw("BTC", D(1))
        await settles_at(emu, daemon, -600)
        cover = emu.order_log[-1].params
        assert cover["side"] == "BUY" and cover["reduceOnly"] == "true"

        daemon.proc.send_signal(signal.SIGTERM)
        assert await daemon.proc.wait() == 0, daemon.log()
    finally:
        await reap(daemon)
    assert emu.duplicate_client_ids() == []
    done = journal_rows(journal, "SELECT asset, state FROM transfers")
    assert done and set(done) == {("BTC", "done")}
    fills = journal_rows(journal, "SELECT contracts FROM fills")
    assert sum((D(c) for (c,) in fills), D(0)) == position(emu) == -600
