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

import asyncio
import random
import signal
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from hedgekeeper.config import LegConfig
from hedgekeeper.domain import (
    Collateral,
    ContractKind,
    Holding,
    MarketSpec,
    Position,
    Prices,
    Snapshot,
)
from hedgekeeper.reconcile import band, plan
from tests.emulators.core.model import DERIVATIVES, SPOT
from tests.emulators.core.server import Emulator
from tests.emulators.dialects.binance import COINM, binance_account, emulator
from tests.processes import WAIT, DaemonProcess, is_event, is_recovery, reap, start_daemon
from tests.test_crash import FINAL, KINDS, arm, leg_config, on_target

CHAINS = 4
KILLS = 5  # per chain: 20 kills in all
OPENING = 5  # 2 BTC at 60,000 hedged at h = 0.9: 1,080 contracts in pieces of <= 250
TOP_UP = 3  # each later cycle deposits 1 BTC: 540 contracts more, three orders
CONFIG = """
mode = "live"
journal = "{journal}"
[ops]
enabled = false
[log]
level = "info"
json = true
[venues.binance]
exchange = "binancecoinm"
api_key = "{key}"
secret = "{secret}"
rest_interval = 0.5
urls = {{ rest = "{rest}", ws = "{ws}" }}
options = {{ enableRateLimit = false, timeout = 3000 }}
[[legs]]
name = "btc"
asset = "BTC"
perp = {{ venue = "binance", symbol = "BTC/USD:BTC" }}
spot = [{{ venue = "binance" }}]
hedge_ratio = 0.9
max_order = 250
"""
BTCUSD_PERP = MarketSpec(
    symbol="BTC/USD:BTC",
    kind=ContractKind.INVERSE,
    contract_size=Decimal(100),
    amount_step=Decimal(1),
    min_amount=Decimal(1),
    price_step=Decimal("0.1"),
    base="BTC",
    quote="USD",
    settle="BTC",
)


def arm_binance(
    kind: str, k: int, rng: random.Random, emu: Emulator, first: DaemonProcess
) -> asyncio.Task[None] | None:
    """`arm`, but "answered" kills at the first request after the k-th reply: Binance's lookup
    is a GET on the create's own path, which `arm` takes for an order."""
    if kind != "answered":
        return arm(kind, k, rng, emu, first)
    base = len(emu.order_log)

    def after_answer(path: str) -> None:
        if len([e for e in emu.order_log[base:] if e.answered is not None]) >= k:
            first.kill()  # the k-th reply reached the client: this is its lookup of the order

    emu.request_hooks.append(after_answer)
    return None


def check_books(emu: Emulator, journal: Path, leg: LegConfig) -> None:
    assert emu.duplicate_client_ids() == []
    db = sqlite3.connect(journal)
    try:
        intents = dict(db.execute("SELECT client_id, state FROM intents").fetchall())
        fills = {
            client_id: Decimal(contracts)
            for client_id, contracts in db.execute(
                "SELECT i.client_id, f.contracts FROM fills f JOIN intents i ON i.id = f.intent_id"
            ).fetchall()
        }
    finally:
        db.close()
    sent = [str(e.params.get("newClientOrderId")) for e in emu.order_log]
    assert [c for c in sent if c not in intents] == []  # no order without its intent
    assert {c: s for c, s in intents.items() if s not in FINAL} == {}  # all settled
    executed = {
        c: -o.cum_qty if o.side == "sell" else o.cum_qty
        for c, o in emu.account.by_client.items()
        if o.cum_qty
    }
    assert fills == executed  # order by order, not just in sum
    position = emu.account.positions[COINM.id].size
    assert sum(fills.values(), Decimal(0)) == position
    account, mark = emu.account, emu.account.mark
    equity = account.equity(DERIVATIVES, "BTC")
    snap = Snapshot(
        leg=leg.name, now=0.0, perp_venue="binance", market=BTCUSD_PERP,
        spot=(Holding("binance", account.wallet(SPOT, "BTC"), 0.0),),
        collateral=Collateral(account.wallet(DERIVATIVES, "BTC"), equity,
                              account.available(DERIVATIVES, "BTC"), 0.0),
        position=Position(BTCUSD_PERP.symbol, position, 0.0), prices=Prices(mark=mark, ts=0.0),
    )  # fmt: skip
    target = plan(snap, leg).target
    assert abs(target - position) < band(target, mark, leg, BTCUSD_PERP), (target, position)
    assert position < 0


@pytest.mark.parametrize("chain", range(CHAINS))
async def test_sigkill_during_binance_order_placement_then_restart(
    chain: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEDGEKEEPER_CONFIRM_LIVE", "1")  # transfers off; live only for the URLs
    rng = random.Random(100 + chain)
    account = binance_account(price=Decimal(60000), balances={"BTC": Decimal(2)})
    account.transfer("BTC", Decimal(2), SPOT, DERIVATIVES)
    async with emulator("inverse", account) as emu:
        journal = tmp_path / "journal.sqlite"
        text = CONFIG.format(journal=journal, key=emu.api_key, secret=emu.secret,
                             rest=emu.rest_url, ws=emu.ws_url)  # fmt: skip
        path = tmp_path / "hk.toml"
        path.write_text(text)
        leg = leg_config(text)
        running = await start_daemon(path, tmp_path)
        try:
            async with asyncio.timeout(WAIT * KILLS):
                for cycle in range(KILLS):
                    kind = KINDS[(chain * KILLS + cycle) % len(KINDS)]
                    k = rng.randint(1, OPENING if cycle == 0 else TOP_UP)
                    base = len(emu.order_log)
                    timed = arm_binance(kind, k, rng, emu, running)
                    if cycle:
                        await emu.deposit("BTC", Decimal(1), DERIVATIVES)  # new orders
                    code = await running.proc.wait()
                    if timed is not None:
                        await timed
                    assert code == -signal.SIGKILL, (cycle, kind, k, running.log())
                    await reap(running)
                    emu.order_hooks.clear()
                    emu.request_hooks.clear()
                    running = await start_daemon(path, tmp_path)
                    ready = await running.wait_for(is_event("daemon_ready"))
                    await running.wait_for(on_target, ready)
                    recovered = {
                        (x["client_id"], x["state"])
                        for x in running.lines[:ready]
                        if is_recovery(x)
                    }
                    if kind in ("arrival", "answered"):  # the k-th order went through unjournaled
                        client_id = emu.order_log[base + k - 1].params["newClientOrderId"]
                        assert recovered == {(client_id, "filled")}, (cycle, kind, k)
                    check_books(emu, journal, leg)
                running.proc.send_signal(signal.SIGTERM)
                assert await running.proc.wait() == 0, running.log()
        finally:
            await reap(running)
        check_books(emu, journal, leg)
