"""Two daemons on one account and one PostgreSQL journal, in this process, against the Bybit
emulator: one trades, the other reports `standby` everywhere and takes over when the first stops,
recovering from the shared journal and continuing its client ids under a new lease epoch."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import aiohttp
from pydantic import SecretStr

from hedgekeeper.config import FleetConfig, OpsConfig, Settings
from hedgekeeper.fleet import Role
from hedgekeeper.journal import client_id_for
from hedgekeeper.supervisor import Daemon
from tests.emulators.core.model import OrderSpec
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import bybit
from tests.postgres import PgServer, pg, pg_url
from tests.test_e2e_bybit import FIRST_HEDGE, SYMBOL, daemon_on, emu, inverse, quiet, settings_for

__all__ = ["emu", "pg", "pg_url"]  # fixtures
D = Decimal


def fleet_settings(emu: Emulator, tmp_path: Path, url: str, password: str) -> Settings:
    return settings_for(emu, tmp_path).model_copy(
        update={
            "journal": url,
            "journal_password": SecretStr(password),
            "ops": OpsConfig(enabled=True, port=0),
            "fleet": FleetConfig(lease_poll=0.1),
        }
    )


async def until(daemon: Daemon, role: Role) -> None:
    async with asyncio.timeout(15):
        while daemon.role is not role:
            daemon.role_changed.clear()
            await daemon.role_changed.wait()


async def probe(daemon: Daemon, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{daemon.ops_port}{path}") as reply,
    ):
        return reply.status, await reply.text()


async def test_the_standby_reports_standby_and_takes_over_from_the_shared_journal(
    emu: Emulator, pg: PgServer, pg_url: str, tmp_path: Path
) -> None:
    settings = fleet_settings(emu, tmp_path, pg_url, pg.password)
    first, second = Daemon(settings), Daemon(settings)
    running = asyncio.create_task(first.run())
    waiting: asyncio.Task[int] | None = None
    try:
        await until(first, Role.ACTIVE)
        await emu.wait_for_orders(1, timeout=15)
        await quiet(first.engines[0], emu)
        waiting = asyncio.create_task(second.run())
        await until(second, Role.STANDBY)

        assert await probe(second, "/healthz") == (200, "standby\n")  # alive: not restarted
        assert (await probe(second, "/readyz"))[0] == 503  # and not the one in service
        assert (await probe(first, "/readyz")) == (200, "ok\n")
        _, status = await probe(second, "/status")
        assert '"role": "standby"' in status and '"legs": []' in status
        _, metrics = await probe(second, "/metrics")
        assert 'hedgekeeper_role{role="standby"} 1.0' in metrics
        assert second.engines == [] and inverse(emu).size == FIRST_HEDGE

        first.stop.set()
        assert await running == 0
        await until(second, Role.ACTIVE)
        engine = second.engines[0]
        await quiet(engine, emu)
        assert len(emu.order_log) == 1  # the hedge was on target: the new holder sends nothing

        await emu.deposit("BTC", D("0.5"))
        await emu.wait_for_orders(2)
        await quiet(engine, emu)
        assert second.status()["role"] == "active" and second.status()["lease_epoch"] == 2
        links = [str(e.params["orderLinkId"]) for e in emu.order_log]
        assert [link[8:12] for link in links] == ["0001", "0002"]  # the epoch of each holder
        assert links[0][:8] == links[1][:8]  # one account, one prefix
        assert emu.duplicate_client_ids() == []
    finally:
        first.stop.set()
        second.stop.set()
        await asyncio.gather(running, *([waiting] if waiting else []), return_exceptions=True)


async def test_another_hedgekeepers_order_on_the_account_halts_the_leg(
    emu: Emulator, tmp_path: Path
) -> None:
    """A second daemon with a journal of its own on this account: its order, seen in the
    account's order history at the next REST read, halts the leg before it doubles anything."""
    intruder = client_id_for("ffffff", 1, 1)
    async with daemon_on(emu, settings_for(emu, tmp_path)) as engine:
        venue = engine.perp
        assert await venue.recent_client_ids(SYMBOL, 0.0) == [
            emu.order_log[0].params["orderLinkId"]
        ]
        emu.account.place(OrderSpec(bybit.INVERSE, "buy", D(1000), None, "IOC", True, intruder))
        async with asyncio.timeout(5):
            while engine.memory.halted is None:
                engine.settled.clear()
                await engine.settled.wait()
        assert intruder in engine.memory.halted and intruder in str(engine.memory.foreign)
        await emu.deposit("BTC", D("0.5"))  # more to hedge, and the leg stays halted
        engine.settled.clear()
        await asyncio.wait_for(engine.settled.wait(), 5)
        assert engine.state == "halted" and len(emu.order_log) == 1
