"""The installed `hedgekeeper` command (`check`, `run`) with the shipped config/deribit.toml against
the Deribit emulator: only the URLs, keys, journal and REST interval are overridden through the
environment. Starting state: 2.0 BTC in the BTC account, BTC at 60,000 (120,000 USD to short)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.emulators.core.account import Account
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import deribit
from tests.test_e2e_bybit import ROOT, env_for, hk, wait_for

CONFIG = ROOT / "config" / "deribit.toml"
D = Decimal


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    account = Account(price=D(60000), balances={"BTC": D(2), "USDC": D(0)})
    async with deribit.emulator(account) as emulator:
        yield emulator


async def test_check_reports_the_margin_model_and_the_polled_positions(
    emu: Emulator, tmp_path: Path
) -> None:
    proc = await hk(
        "check", "--config", str(CONFIG), env=env_for(emu, tmp_path, "deribit"), cwd=tmp_path
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert "market BTC/USD:BTC inverse, contract size 10" in text
    assert "leverage none (no such setting), margin cross, position mode one-way" in text
    assert "btc: streams ticker, balance; polled over REST every 2 s: positions" in text
    assert "check: ok" in text and emu.order_log == []


async def test_run_hedges_in_usd_multiples_of_ten_under_labels(
    emu: Emulator, tmp_path: Path
) -> None:
    """The example caps the short at 10,000 contracts (100,000 USD) in orders of <= 2,000."""
    proc = await hk(
        "run", "--config", str(CONFIG), env=env_for(emu, tmp_path, "deribit"), cwd=tmp_path
    )
    try:
        await wait_for(proc, '"event": "daemon_ready"')
        await wait_for(proc, '"event": "decision"', '"action": "hold"')
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0, err.decode()[-2000:]
    amounts = [D(e.params["amount"]) for e in emu.order_log]
    assert all(e.params["_side"] == "sell" and e.params["label"] for e in emu.order_log)
    assert all(a % 10 == 0 and 0 < a <= 20000 for a in amounts), amounts
    assert sum(amounts) == 100000
    assert emu.account.positions[deribit.INVERSE.id].size == -10000  # contracts of 10 USD
    assert emu.duplicate_client_ids() == []
    assert emu.secret not in err.decode()
