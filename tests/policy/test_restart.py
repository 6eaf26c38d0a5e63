"""SIGKILL the real daemon while a CPPI leg is partly hedged, then restart it: the restarted
daemon carries on with the same V0, floor and high-water mark and places no order.

The price moves up (a new high-water mark) and down (the floor now sits well below 0.8 of the
value) before the kill, so a daemon that started its policy afresh from today's value would
want h = 0.4 again and trade; one that recovered its state holds."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.emulators.core.account import Account
from tests.emulators.dialects import bybit
from tests.processes import WAIT, config_text, is_event, reap, start_daemon
from tests.test_crash import on_target

CPPI = 'policy = { kind = "cppi", floor_pct = "0.8", multiplier = "3" }'


def state(journal: Path) -> dict[str, Any]:
    db = sqlite3.connect(journal)
    try:
        (text,) = db.execute("SELECT value FROM meta WHERE key='policy_state:btc'").fetchone()
    finally:
        db.close()
    result: dict[str, Any] = json.loads(text)
    return result


def traded_at(price: str) -> Any:
    return lambda line: (
        line.get("event") == "decision"
        and line.get("action") == "trade"
        and f" at {price}" in str(line.get("reason"))
    )


async def test_sigkill_with_a_cppi_leg_partly_hedged_then_restart(tmp_path: Path) -> None:
    account = Account(price=Decimal(60000), balances={"BTC": Decimal(2), "USDT": Decimal(0)})
    async with bybit.emulator(account) as emu:
        journal = tmp_path / "journal.sqlite"
        path = tmp_path / "hk.toml"
        path.write_text(config_text(journal, [("btc", "bybit", emu)], CPPI))
        running = await start_daemon(path, tmp_path)
        try:
            async with asyncio.timeout(WAIT):
                ready = await running.wait_for(is_event("daemon_ready"))
                at = await running.wait_for(on_target, ready)
                # V0 = 120,000, F = 96,000: h = 0.4 of 2 BTC at 60,000 = 48,000 contracts.
                assert emu.account.positions["BTCUSD"].size == Decimal(-48000)
                for price in ("63000", "54000"):
                    await emu.set_price(Decimal(price))
                    at = await running.wait_for(traded_at(price), at)
                    at = await running.wait_for(on_target, at)
                before = state(journal)
                position = emu.account.positions["BTCUSD"].size
                orders = len(emu.order_log)
                assert Decimal(before["floor"]) == Decimal(96000)
                assert Decimal(before["hwm"]) > Decimal(120000)  # the high at 63,000
                assert Decimal("0.5") < Decimal(before["last_h"]) < Decimal("0.7")  # partly
                running.kill()
                assert await running.proc.wait() == -signal.SIGKILL
                await reap(running)

                running = await start_daemon(path, tmp_path)
                ready = await running.wait_for(is_event("daemon_ready"))
                await running.wait_for(on_target, ready)
                assert len(emu.order_log) == orders  # no order
                assert emu.account.positions["BTCUSD"].size == position
                after = state(journal)
                for key in ("v0", "v0_ts", "floor", "hwm", "last_h"):
                    assert after[key] == before[key], key
                assert not [x for x in running.lines if x.get("event") == "policy_started"]
                running.proc.send_signal(signal.SIGTERM)
                assert await running.proc.wait() == 0, running.log()
        finally:
            await reap(running)
