"""Crash recovery with two legs on two exchanges: each intent is settled where it was sent.

Two Bybit v5 emulators in this process (venues "a" and "b"), one leg on each, and a real
`hedgekeeper run` that is SIGKILLed the moment its first order reaches exchange b, which executes
it after the daemon is dead. The restarted daemon must find that order at b. Asked at a (as every
leg's executor once asked about every intent), it is unknown there, and the journal would call it
never placed while b holds the position.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from decimal import Decimal
from pathlib import Path

from tests.emulators.core.account import Account
from tests.emulators.core.server import Emulator, OrderLogEntry
from tests.emulators.dialects import bybit
from tests.processes import WAIT, config_text, is_event, is_recovery, reap, start_daemon

HEDGE = "hedge_ratio = 0.9\nmax_order = 25000"


def on_target(leg: str) -> object:
    def match(line: dict[str, object]) -> bool:
        return (
            line.get("event") == "decision"
            and line.get("leg") == leg
            and line.get("action") == "hold"
            and str(line.get("reason", "")).startswith(("on target", "within deadband"))
        )

    return match


def journaled(journal: Path, leg: str) -> tuple[dict[str, str], dict[str, Decimal]]:
    """(client id -> state, client id -> signed fill) of one leg's intents."""
    db = sqlite3.connect(journal)
    try:
        states = dict(db.execute("SELECT client_id, state FROM intents WHERE leg=?", (leg,)))
        fills = {
            client_id: Decimal(contracts)
            for client_id, contracts in db.execute(
                "SELECT i.client_id, f.contracts FROM fills f JOIN intents i ON i.id = f.intent_id"
                " WHERE i.leg=?",
                (leg,),
            )
        }
    finally:
        db.close()
    return states, fills


def check_venue(emu: Emulator, journal: Path, leg: str) -> None:
    """The exchange's orders and the leg's journal agree order by order; nothing unsettled."""
    states, fills = journaled(journal, leg)
    assert emu.duplicate_client_ids() == []
    assert {e.client_id for e in emu.order_log} <= set(states)
    assert {c: s for c, s in states.items() if s not in ("filled", "rejected", "cancelled")} == {}
    executed = {
        link: -order.cum_qty if order.side == "sell" else order.cum_qty
        for link, order in emu.account.by_client.items()
        if order.cum_qty
    }
    assert fills == executed
    assert sum(fills.values(), Decimal(0)) == emu.account.positions[bybit.INVERSE.id].size < 0


async def test_sigkill_with_an_order_at_the_second_venue_then_restart(tmp_path: Path) -> None:
    def account() -> Account:
        return Account(price=Decimal(60000), balances={"BTC": Decimal(2), "USDT": Decimal(0)})

    async with bybit.emulator(account()) as a, bybit.emulator(account()) as b:
        journal = tmp_path / "journal.sqlite"
        path = tmp_path / "hk.toml"
        path.write_text(config_text(journal, [("a", "a", a), ("b", "b", b)], HEDGE))
        running = await start_daemon(path, tmp_path)
        try:
            async with asyncio.timeout(WAIT * 3):

                def at_arrival(entry: OrderLogEntry) -> None:
                    running.kill()  # b executes the order after this returns

                b.order_hooks.append(at_arrival)
                assert await running.proc.wait() == -signal.SIGKILL, running.log()
                await reap(running)
                b.order_hooks.clear()
                [lost] = b.order_log
                assert lost.error is None  # executed at b, unanswered, perhaps unjournaled
                running = await start_daemon(path, tmp_path)
                ready = await running.wait_for(is_event("daemon_ready"))
                await running.wait_for(on_target("a"), ready)  # type: ignore[arg-type]
                await running.wait_for(on_target("b"), ready)  # type: ignore[arg-type]
                recovered = {
                    x["client_id"]: x["state"] for x in running.lines[:ready] if is_recovery(x)
                }
                assert recovered[lost.client_id] == "filled"
                running.proc.send_signal(signal.SIGTERM)
                assert await running.proc.wait() == 0, running.log()
        finally:
            await reap(running)
        check_venue(a, journal, "a")
        check_venue(b, journal, "b")
