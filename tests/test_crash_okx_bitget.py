"""SIGKILL the real daemon during order placement on OKX and on Bitget, then restart it.

The same chains as tests/test_crash.py (whose process and kill helpers this reuses), on each
exchange's inverse perp through its emulator dialect: 2 BTC at 60,000 hedged at h = 0.9 in five
orders, then a deposit of 1 BTC per cycle (three orders); each kill lands at one order of its
cycle (on arrival, after the answer, after the log line, or at a random moment). Four chains of
five kills: 20 kills per exchange. After every restart has recovered and holds on target: no
client id reached the exchange twice, every order has its intent, none is left unsettled, the
journal's fills are the exchange's order by order, and the position is the reconciler's target
for the exchange's state.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from hedgekeeper import config
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
from tests.emulators.core.account import Account
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import bitget, okx
from tests.test_crash import (
    FINAL,
    KINDS,
    WAIT,
    arm,
    is_event,
    is_recovery,
    on_target,
    reap,
    start_daemon,
)

D = Decimal
CHAINS = 4
KILLS = 5  # per chain: 20 kills per exchange
OPENING, TOP_UP = 5, 3  # orders in the opening hedge, and per 1 BTC deposit

CONFIG = """
mode = "testnet"
journal = "{journal}"
[ops]
enabled = false
[log]
level = "info"
json = true
[venues.ex]
exchange = "{exchange}"
api_key = "{key}"
secret = "{secret}"
password = "{password}"
rest_interval = 0.5
urls = {{ rest = "{rest}", ws = "{ws}" }}
options = {{ enableRateLimit = false, timeout = 3000 }}
[[legs]]
name = "btc"
asset = "BTC"
perp = {{ venue = "ex", symbol = "BTC/USD:BTC" }}
spot = [{{ venue = "ex" }}]
hedge_ratio = 0.9
max_order = {max_order}
"""


@dataclass(frozen=True)
class Exchange:
    name: str
    emulator: Callable[[Account], Emulator]
    instrument: str
    max_order: int  # five opening orders of 2 BTC x 60,000 x 0.9
    market: MarketSpec  # the inverse perp as the adapter reads it (OKX: 100 USD contracts;
    # Bitget: USD of face, its minimum 0.001 BTC x 1.25 x the mark at start)


def inverse(contract: int, step: int, minimum: int) -> MarketSpec:
    return MarketSpec("BTC/USD:BTC", ContractKind.INVERSE, D(contract), D(step), D(minimum),
                      D("0.1"), "BTC", "USD", "BTC")  # fmt: skip


EXCHANGES = [
    pytest.param(Exchange("okx", okx.emulator, "BTC-USD-SWAP", 250, inverse(100, 1, 1)), id="okx"),
    pytest.param(
        Exchange("bitget", bitget.emulator, "BTCUSD", 25000, inverse(1, 1, 75)), id="bitget"
    ),
]


def final_plan(emu: Emulator, ex: Exchange, leg: LegConfig) -> tuple[Decimal, Decimal]:
    """(target, band) of the reconciler for the exchange's final state; the collateral account
    holds all the coin (the spot wallet or funding account is empty)."""
    account, market = emu.account, ex.market
    wallet = account.derivatives_wallet
    equity = account.equity(wallet, "BTC")
    snap = Snapshot(
        leg=leg.name, now=0.0, perp_venue="ex", market=market,
        spot=(Holding("ex", D(0), 0.0),),
        collateral=Collateral(account.wallet(wallet, "BTC"), equity,
                              account.available(wallet, "BTC"), 0.0),
        position=Position(market.symbol, account.positions[ex.instrument].size, 0.0),
        prices=Prices(mark=account.mark, ts=0.0),
    )  # fmt: skip
    p = plan(snap, leg)
    return p.target, band(p.target, account.mark, leg, market)


def check_books(emu: Emulator, ex: Exchange, journal: Path, leg: LegConfig) -> None:
    assert emu.duplicate_client_ids() == []
    db = sqlite3.connect(journal)
    try:
        intents = dict(db.execute("SELECT client_id, state FROM intents").fetchall())
        fills: dict[str, Decimal] = {}
        for client_id, contracts in db.execute(
            "SELECT i.client_id, f.contracts FROM fills f JOIN intents i ON i.id = f.intent_id"
        ):
            fills[client_id] = fills.get(client_id, D(0)) + D(contracts)
    finally:
        db.close()
    sent = [e.client_id for e in emu.order_log if e.client_id]
    assert [c for c in sent if c not in intents] == []  # no order without its intent
    assert {c: s for c, s in intents.items() if s not in FINAL} == {}  # all settled
    executed = {
        client_id: -order.cum_qty if order.side == "sell" else order.cum_qty
        for client_id, order in emu.account.by_client.items()
        if order.cum_qty
    }
    assert fills == executed  # order by order, not just in sum
    position = emu.account.positions[ex.instrument].size
    assert sum(fills.values(), D(0)) == position
    target, needed = final_plan(emu, ex, leg)
    assert abs(target - position) < needed, (target, position, needed)
    assert position < 0


@pytest.mark.parametrize("chain", range(CHAINS))
@pytest.mark.parametrize("ex", EXCHANGES)
async def test_sigkill_during_order_placement_then_restart(
    ex: Exchange, chain: int, tmp_path: Path
) -> None:
    rng = random.Random(chain)
    account = Account(price=D(60000), balances={"BTC": D(2), "USDT": D(0)})
    async with ex.emulator(account) as emu:
        journal = tmp_path / "journal.sqlite"
        text = CONFIG.format(
            journal=journal, exchange=ex.name, key=emu.api_key, secret=emu.secret,
            password=emu.password, rest=emu.rest_url, ws=emu.ws_url, max_order=ex.max_order,
        )  # fmt: skip
        path = tmp_path / "hk.toml"
        path.write_text(text)
        leg = config.parse(text, "crash test").legs[0]
        running = await start_daemon(path, tmp_path)
        try:
            async with asyncio.timeout(WAIT * KILLS):
                for cycle in range(KILLS):
                    kind = KINDS[(chain * KILLS + cycle) % len(KINDS)]
                    k = rng.randint(1, OPENING if cycle == 0 else TOP_UP)
                    base = len(emu.order_log)
                    timed = arm(kind, k, rng, emu, running)
                    if cycle:
                        await emu.deposit("BTC", D(1))  # more to hedge: new orders
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
                        client_id = emu.order_log[base + k - 1].client_id
                        assert recovered == {(client_id, "filled")}, (cycle, kind, k)
                    check_books(emu, ex, journal, leg)
                running.proc.send_signal(signal.SIGTERM)
                assert await running.proc.wait() == 0, running.log()
        finally:
            await reap(running)
        check_books(emu, ex, journal, leg)
