"""Failover: two `hedgekeeper run` processes on one account and one PostgreSQL journal, against
the Bybit v5 emulator living in this test process.

The first to take the account's lease trades; the other waits as standby. A chain SIGKILLs the
active daemon at one of its orders (the kinds of tests/test_crash.py: at the order's arrival, after
its answer, after its log line, or at a random moment), deposits more coin to hedge, and checks
that the standby took over within 10 s: it recovered the killed daemon's order from the shared
journal as that order, placed no duplicate, and holds on target; the journal and the exchange
agree order by order. A fresh process then joins as the next standby, as a Deployment's
replacement pod would. Two chains of ten kills: 20 kills. A last test cuts the active daemon's
database session (`pg_terminate_backend`) mid-order: it opens no further intent and exits, and the
standby finishes the job under the next lease epoch.
"""

from __future__ import annotations

import asyncio
import random
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekeeper.config import LegConfig
from hedgekeeper.fleet import LEASE_LOST_EXIT
from tests import processes
from tests.emulators.core.account import Account
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import bybit
from tests.postgres import PgServer, pg, pg_url
from tests.processes import DaemonProcess, config_text, start_daemon
from tests.test_crash import (
    FILLS,
    INTENTS,
    KINDS,
    OPENING,
    TOP_UP,
    arm,
    check_records,
    on_target,
)

__all__ = ["pg", "pg_url"]  # fixtures
CHAINS = 2
KILLS = 10  # per chain: 20 kills in all
TAKEOVER = 10.0  # seconds from the active's death to the standby holding on target (the issue's)
FLEET = """
journal_password_file = "{password_file}"
[fleet]
lease_poll = 0.2
"""


def is_role(role: str) -> Any:
    return lambda line: line.get("event") == "role" and line.get("role") == role


class Fleet:
    """The emulator, the journal's database and the daemons of one account."""

    def __init__(self, emu: Emulator, pg: PgServer, url: str, tmp_path: Path) -> None:
        self.emu, self.pg, self.tmp_path = emu, pg, tmp_path
        (password_file := tmp_path / "pgpass").write_text(pg.password)
        text = config_text(url, [("btc", "bybit", emu)], "hedge_ratio = 0.9\nmax_order = 25000")
        # The journal line comes first: the fleet's keys go before the first table.
        head, tables = text.split("[ops]", 1)
        text = head + FLEET.format(password_file=password_file) + "[ops]" + tables
        self.config = tmp_path / "hk.toml"
        self.config.write_text(text)
        from hedgekeeper import config

        self.settings = config.parse(text, "failover test")
        self.leg: LegConfig = self.settings.legs[0]
        self.database = url.rsplit("/", 1)[1]

    async def start(self) -> DaemonProcess:
        return await start_daemon(self.config, self.tmp_path)

    def books(self) -> None:
        with self.pg.connect(self.database) as db:
            intents = dict(db.execute(INTENTS).fetchall())
            fills = {c: Decimal(n) for c, n in db.execute(FILLS).fetchall()}
        check_records(self.emu, intents, fills, self.leg)

    def holder_session(self) -> int:
        """The server process of the session holding this database's one account lease."""
        with self.pg.connect(self.database) as db:
            [(pid,)] = db.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND objsubid = 1 AND database ="
                " (SELECT oid FROM pg_database WHERE datname = current_database())"
            ).fetchall()
        return int(pid)


def account(btc: int) -> Account:
    return Account(price=Decimal(60000), balances={"BTC": Decimal(btc), "USDT": Decimal(0)})


async def took_over(standbys: list[DaemonProcess]) -> tuple[DaemonProcess, set[tuple[str, str]]]:
    """Wait for one of the standbys to become active and hold on target; returns it and what it
    recovered before its `daemon_ready` line."""
    waits = {
        asyncio.ensure_future(d.wait_for(processes.is_event("daemon_ready"))): d for d in standbys
    }
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for waiting in pending:
        waiting.cancel()
    first = next(iter(done))
    active, ready = waits[first], first.result()
    await active.wait_for(on_target, ready)
    return active, {
        (x["client_id"], x["state"]) for x in active.lines[:ready] if processes.is_recovery(x)
    }


@pytest.mark.parametrize("chain", range(CHAINS))
async def test_sigkill_the_active_daemon_and_the_standby_takes_over(
    chain: int, pg: PgServer, pg_url: str, tmp_path: Path
) -> None:
    """Three replicas, so the next kill need not wait for a replacement to start."""
    rng = random.Random(1000 + chain)
    loop = asyncio.get_running_loop()
    takeovers: list[float] = []
    async with bybit.emulator(account(0)) as emu:  # the coin arrives once the daemons run
        fleet = Fleet(emu, pg, pg_url, tmp_path)
        daemons = [active := await fleet.start()]
        await active.wait_for(is_role("active"))
        daemons += [await fleet.start(), await fleet.start()]
        standbys = daemons[1:]
        try:
            async with asyncio.timeout(30 * KILLS):
                for cycle in range(KILLS):
                    kind = KINDS[(chain + cycle) % len(KINDS)]
                    k = rng.randint(1, OPENING if cycle == 0 else TOP_UP)
                    base = len(emu.order_log)
                    for standby in standbys:
                        await standby.wait_for(is_role("standby"))
                    timed = arm(kind, k, rng, emu, active)
                    # More to hedge, new orders: the opening hedge, then a top-up per cycle.
                    await emu.deposit("BTC", Decimal(2 if cycle == 0 else 1))
                    code = await active.proc.wait()
                    died = loop.time()
                    if timed is not None:
                        await timed
                    assert code == -signal.SIGKILL, (cycle, kind, k, active.log())
                    await processes.reap(active)
                    emu.order_hooks.clear()
                    emu.request_hooks.clear()
                    daemons.append(replacement := await fleet.start())
                    active, recovered = await took_over(standbys)
                    takeovers.append(loop.time() - died)
                    standbys = [*(d for d in standbys if d is not active), replacement]
                    if kind in ("arrival", "answered"):  # the k-th order went through unjournaled
                        link = emu.order_log[base + k - 1].params["orderLinkId"]
                        assert recovered == {(link, "filled")}, (cycle, kind, k)
                    fleet.books()
                active.proc.send_signal(signal.SIGTERM)
                assert await active.proc.wait() == 0, active.log()
        finally:
            for daemon in daemons:
                await processes.reap(daemon)
        fleet.books()
        epochs = {str(e.params["orderLinkId"])[8:12] for e in emu.order_log}
        assert len(epochs) > 1  # orders came from several holders of the lease, none twice
    assert max(takeovers) <= TAKEOVER, takeovers


async def test_a_cut_database_session_stops_the_active_at_once_and_the_standby_finishes(
    pg: PgServer, pg_url: str, tmp_path: Path
) -> None:
    async with bybit.emulator(account(2)) as emu:
        fleet = Fleet(emu, pg, pg_url, tmp_path)
        active = await fleet.start()
        standby: DaemonProcess | None = None
        try:
            async with asyncio.timeout(60):
                await active.wait_for(
                    on_target, await active.wait_for(processes.is_event("daemon_ready"))
                )
                standby = await fleet.start()
                await standby.wait_for(is_role("standby"))
                opening = len(emu.order_log)
                session = fleet.holder_session()
                cut: list[str] = []

                def cut_at_arrival(entry: Any) -> None:
                    if not cut:  # the deposit's first order has reached the exchange
                        cut.append(str(entry.params["orderLinkId"]))
                        with pg.connect() as admin:
                            admin.execute("SELECT pg_terminate_backend(%s)", (session,))

                emu.order_hooks.append(cut_at_arrival)
                await emu.deposit("BTC", Decimal(1))  # three orders' worth
                assert await active.proc.wait() == LEASE_LOST_EXIT, active.log()
                assert any(processes.is_event("lease_lost")(x) for x in active.lines)
                _, recovered = await took_over([standby])
        finally:
            await processes.reap(active)
            if standby is not None:
                standby.proc.send_signal(signal.SIGTERM)
                await standby.proc.wait()
                await processes.reap(standby)
        links = [str(e.params["orderLinkId"]) for e in emu.order_log]
        # The cut daemon sent nothing after the order in flight when its session went: every
        # later order is the new holder's (the next epoch), and that order was recovered as it.
        assert recovered == {(cut[0], "filled")}
        assert links[opening] == cut[0]
        assert {link[8:12] for link in links[: opening + 1]} == {"0001"}
        assert {link[8:12] for link in links[opening + 1 :]} == {"0002"}
        assert len(links) > opening + 1
        fleet.books()
