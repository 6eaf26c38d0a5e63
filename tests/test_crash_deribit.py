"""Deribit's label recovery under SIGKILL: 20 kills mid-order, no order placed twice.

Deribit keeps no client order id; the daemon's id travels as the order's `label`, which Deribit
does not keep unique, and a restarted daemon finds its unanswered order by label. The exchange is
the Deribit dialect living in this test process (inverse BTC-PERPETUAL), so its state survives
each kill; the daemon is a real `hedgekeeper run` on a journal in `tmp_path`. Before it starts,
the exchange already holds orders whose labels share a prefix with every id the journal will use
(the id with a digit more, the id with one less, the id itself on the linear perp), as a sloppy
label match would confuse. Each cycle deposits a little BTC, kills the daemon the moment its sell
reaches the exchange (executed after the client is dead: the reply never comes) or once its reply
has come back (killed during the lookup), restarts it, and checks the recovery: that order
settled as filled, by its label, before any decision; then the leg holds on target again. One
restart is the next cycle's daemon, so 20 kills cost 21 daemon starts.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from hedgekeeper.domain import OrderState
from hedgekeeper.journal import Journal, client_id_for
from tests.emulators.core.account import Account
from tests.emulators.core.model import OrderSpec
from tests.emulators.core.server import Emulator, OrderLogEntry
from tests.emulators.dialects import deribit
from tests.processes import WAIT, DaemonProcess, config_text, is_event, is_recovery, reap
from tests.processes import start_daemon as start

KILLS = 20
FINAL = {s.value for s in OrderState if s.final}


def on_target(line: dict[str, Any]) -> bool:
    return (
        line.get("event") == "decision"
        and line.get("action") == "hold"
        and str(line.get("reason", "")).startswith(("on target", "within deadband"))
    )


def upcoming(journal: Path, epochs: int, rows: int) -> list[str]:
    """The client ids the journal may use next: its current lease epoch (and the following ones,
    as each daemon start takes a new one) and its next intent row ids."""
    db = sqlite3.connect(journal)
    try:
        [(prefix, epoch)] = db.execute("SELECT prefix, epoch FROM accounts").fetchall()
        [(last,)] = db.execute("SELECT COALESCE(MAX(id), 0) FROM intents").fetchall()
    finally:
        db.close()
    return [client_id_for(prefix, e, n) for e in range(epoch, epoch + epochs)
            for n in range(last + 1, last + 1 + rows)]  # fmt: skip


def seed_lookalikes(emu: Emulator, ids: list[str]) -> None:
    """Cancelled orders (no fill, no margin) whose labels share a prefix with `ids`, or are one of
    them on the other perp (the lookup by currency BTC returns both perps' orders)."""
    account = emu.account
    for ours in ids:
        for label, instrument in ((f"{ours}0", deribit.INVERSE), (ours[:-1], deribit.INVERSE),
                                  (ours, deribit.LINEAR)):  # fmt: skip
            order = account.place(
                OrderSpec(instrument, "sell", Decimal(1), Decimal(120000), "GTC", False, label)
            )
            account.cancel(order.order_id, None)
    account.changes.clear()


def arm(kind: str, emu: Emulator, running: DaemonProcess) -> None:
    base = len(emu.order_log)
    if kind == "arrival":

        def at_arrival(entry: OrderLogEntry) -> None:
            running.kill()  # the emulator executes the order after this returns

        emu.order_hooks.append(at_arrival)
    else:

        def after_answer(path: str) -> None:
            answered = [e for e in emu.order_log[base:] if e.answered is not None]
            if answered and path not in emu.dialect.order_paths:
                running.kill()  # the reply reached the client: this is its label lookup

        emu.request_hooks.append(after_answer)


def check_books(emu: Emulator, journal: Path) -> None:
    assert emu.duplicate_client_ids() == [], "a label reached the exchange twice"
    db = sqlite3.connect(journal)
    try:
        intents = dict(db.execute("SELECT client_id, state FROM intents").fetchall())
        fills = dict(db.execute(
            "SELECT i.client_id, f.contracts FROM fills f JOIN intents i ON i.id = f.intent_id"
        ).fetchall())  # fmt: skip
    finally:
        db.close()
    sent = [e.client_id for e in emu.order_log]
    assert [c for c in sent if c not in intents] == [], "an order without its intent"
    assert {c: s for c, s in intents.items() if s not in FINAL} == {}, "unsettled intents"
    ours = [o for o in emu.account.orders.values() if o.client_id in intents and o.cum_qty]
    executed = {o.client_id: -o.cum_qty if o.side == "sell" else o.cum_qty for o in ours}
    assert {c: Decimal(v) for c, v in fills.items()} == executed, "fills differ"
    assert sum(executed.values(), Decimal(0)) == emu.account.positions["BTC-PERPETUAL"].size


async def test_label_recovery_survives_20_sigkills(tmp_path: Path) -> None:
    account = Account(price=Decimal(60000), balances={"BTC": Decimal(2), "USDC": Decimal(500)})
    async with deribit.emulator(account) as emu:
        journal = tmp_path / "journal.sqlite"
        Journal(journal).close()
        seed_lookalikes(emu, upcoming(journal, 2, 10))  # for the opening hedge's orders
        path = tmp_path / "hk.toml"
        path.write_text(config_text(journal, [("btc", "dx", emu)], "hedge_ratio = 1"))
        running = await start(path, tmp_path)
        try:
            async with asyncio.timeout(WAIT * 4):
                await running.wait_for(on_target, await running.wait_for(is_event("daemon_ready")))
            for cycle in range(KILLS):
                kind = ("arrival", "answered")[cycle % 2]
                seed_lookalikes(emu, upcoming(journal, 1, 2))  # the daemon holds its epoch
                base = len(emu.order_log)
                arm(kind, emu, running)
                async with asyncio.timeout(WAIT):
                    await emu.deposit("BTC", Decimal("0.05"))  # ~3,000 USD more to short
                    assert await running.proc.wait() == -signal.SIGKILL, running.log()
                    await reap(running)
                    emu.order_hooks.clear()
                    emu.request_hooks.clear()
                    lost = emu.order_log[base]
                    assert lost.order_id is not None, "the exchange did not execute the order"
                    running = await start(path, tmp_path)
                    ready = await running.wait_for(is_event("daemon_ready"))
                    recovered = {x["client_id"]: x["state"] for x in running.lines[:ready]
                                 if is_recovery(x)}  # fmt: skip
                    assert recovered == {lost.client_id: "filled"}, (cycle, kind, recovered)
                    await running.wait_for(on_target, ready)
            running.proc.send_signal(signal.SIGTERM)
            assert await running.proc.wait() == 0, running.log()
        finally:
            await reap(running)
        ours = [o for o in emu.account.orders.values() if o.status != "cancelled"]
        assert len(ours) == len(emu.order_log)  # every order the daemon placed, and only those
        check_books(emu, journal)
        assert emu.account.positions["BTC-PERPETUAL"].size < 0
