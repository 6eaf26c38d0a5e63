"""Crash recovery: SIGKILL the real daemon at random points of order placement, then restart it.

The exchange is an emulator dialect living in this test process (Bybit, OKX, Bitget: each one's
inverse perp), so its state survives the daemon's death; the daemon is a real `hedgekeeper run`
subprocess on a journal in `tmp_path`.
Each chain kills the daemon several times: first during the opening hedge (five orders), then,
after each restart has recovered and holds on target, during the orders a deposit calls for
(three orders). Each kill lands at one of its cycle's orders:

- arrival:  the k-th create-order request has reached the exchange, which executes it only after
            the client is dead (the reply never arrives);
- answered: the client received the k-th reply and is looking the order up (before it journals
            the fill);
- logged:   the daemon has logged the k-th `order_done` (it may be on its way to the next order);
- delay:    at a random moment within the cycle's first orders.

After every restart has recovered and holds on target: no client id reached the exchange twice,
every order the exchange saw has its intent in the journal, no intent is left unsettled, the
journal's fills match the exchange order by order and in sum, and the position is the
reconciler's target for the exchange's state (within the deadband). A chain ends with a SIGTERM
(exit 0). A restart doubles as the next cycle's daemon, so 50 kills cost ~60 daemon starts.
Bybit runs ten chains (50 kills), OKX and Bitget four each (20 kills apiece).
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
from typing import Any

import pytest

from hedgekeeper import config
from hedgekeeper.config import LegConfig
from hedgekeeper.domain import (
    Collateral,
    ContractKind,
    Holding,
    MarketSpec,
    OrderState,
    Position,
    Prices,
    Snapshot,
)
from hedgekeeper.reconcile import band, plan
from tests.emulators.core.account import Account
from tests.emulators.core.server import Emulator, OrderLogEntry
from tests.emulators.dialects import bitget, bybit, okx
from tests.processes import (
    WAIT,
    DaemonProcess,
    config_text,
    is_event,
    is_recovery,
    reap,
    start_daemon,
)

KILLS = 5  # per chain
OPENING = 5  # 2 BTC at 60,000 hedged at h = 0.9: 108,000 USD in pieces of <= 25,000
TOP_UP = 3  # each later cycle deposits 1 BTC: 54,000 USD more, three orders
KINDS = ("arrival", "answered", "logged", "delay")
FINAL = {s.value for s in OrderState if s.final}


def inverse(contract: int, step: str, minimum: int, tick: str) -> MarketSpec:
    """An inverse BTC perp as its adapter reads it (tests/venues/<exchange>/ check each)."""
    return MarketSpec("BTC/USD:BTC", ContractKind.INVERSE, Decimal(contract), Decimal(step),
                      Decimal(minimum), Decimal(tick), "BTC", "USD", "BTC")  # fmt: skip


def two_btc() -> Account:
    """2 BTC and no USDT at 60,000, as `Account` lays them out."""
    return Account(price=Decimal(60000), balances={"BTC": Decimal(2), "USDT": Decimal(0)})


@dataclass(frozen=True)
class Exchange:
    name: str
    emulator: Callable[[Account], Emulator]
    instrument: str  # the emulator's id of the inverse perp
    market: MarketSpec
    max_order: int  # contracts: 25,000 USD
    chains: int
    account: Callable[[], Account] = two_btc  # the 2 BTC to hedge, laid out as the exchange does
    deposit_wallet: str | None = None  # where a cycle's 1 BTC goes (None: the spot wallet)
    mode: str = "testnet"  # "live": an emulator in live's place, the consent given to `run`
    seed: int = 0  # chain n draws its kill points from random.Random(seed + n)


EXCHANGES = (
    Exchange("bybit", bybit.emulator, "BTCUSD", inverse(1, "1", 1, "0.5"), 25000, 10),
    Exchange("okx", okx.emulator, "BTC-USD-SWAP", inverse(100, "1", 1, "0.1"), 250, 4),
    # Bitget's coin-futures in USD of face; its minimum is 0.001 BTC x 1.25 x the 60,000 mark.
    Exchange("bitget", bitget.emulator, "BTCUSD", inverse(1, "1", 75, "0.1"), 25000, 4),
)
CHAINS = [
    pytest.param(ex, chain, id=f"{ex.name}-{chain}")
    for ex in EXCHANGES
    for chain in range(ex.chains)
]


def on_target(line: dict[str, Any]) -> bool:
    reason = str(line.get("reason", ""))
    return (
        line.get("event") == "decision"
        and line.get("action") == "hold"
        and line.get("guard") is None
        and reason.startswith(("on target", "within deadband"))
    )


def arm(
    kind: str, k: int, rng: random.Random, emu: Emulator, first: DaemonProcess
) -> asyncio.Task[None] | None:
    """Set up the kill of `first` at the k-th order from now; returns a task when timed."""
    base = len(emu.order_log)
    if kind == "arrival":

        def at_arrival(entry: OrderLogEntry) -> None:
            if len(emu.order_log) == base + k:
                first.kill()  # the emulator executes the order after this returns

        emu.order_hooks.append(at_arrival)
    elif kind == "answered":
        # Where a lookup shares the create's path (Binance: GET on it), the first request after
        # the k-th reply is the lookup whatever its path.
        shared = getattr(emu.dialect, "order_methods", None) is not None

        def after_answer(path: str) -> None:
            answered = [e for e in emu.order_log[base:] if e.answered is not None]
            if len(answered) >= k and (shared or path not in emu.dialect.order_paths):
                first.kill()  # the reply reached the client: this is its lookup of the order

        emu.request_hooks.append(after_answer)
    elif kind == "logged":
        done = [0]

        def after_log(line: dict[str, Any]) -> None:
            if line.get("event") == "order_done":
                done[0] += 1
                if done[0] == k:
                    first.kill()

        first.on_line.append(after_log)
    else:
        delay = rng.uniform(0.0, 0.04)  # a cycle's orders take ~30-50 ms on this machine

        async def later() -> None:
            await emu.wait_for_orders(base + 1, timeout=WAIT)
            await asyncio.sleep(delay)  # the random moment is the point of this kind
            first.kill()

        return asyncio.create_task(later())
    return None


def leg_config(text: str) -> LegConfig:
    return config.parse(text, "crash test").legs[0]


def final_plan(emu: Emulator, ex: Exchange, leg: LegConfig) -> tuple[Decimal, Decimal, Decimal]:
    """(target, band, position) of the reconciler for the exchange's final state: all the coin is
    the collateral's (counted once, as its equity), nothing else is spot."""
    account = emu.account
    wallet = account.derivatives_wallet
    equity = account.equity(wallet, "BTC")
    mark, market = account.mark, ex.market
    snap = Snapshot(
        leg=leg.name,
        now=0.0,
        perp_venue=ex.name,
        market=market,
        spot=(Holding(ex.name, Decimal(0), 0.0),),
        collateral=Collateral(
            wallet=account.wallet(wallet, "BTC"),
            equity=equity,
            free=account.available(wallet, "BTC"),
            ts=0.0,
        ),
        position=Position(market.symbol, account.positions[ex.instrument].size, 0.0),
        prices=Prices(mark=mark, ts=0.0),
    )
    p = plan(snap, leg)
    return p.target, band(p.target, mark, leg, market), p.position


INTENTS = "SELECT client_id, state FROM intents"
FILLS = "SELECT i.client_id, f.contracts FROM fills f JOIN intents i ON i.id = f.intent_id"


def check_books(emu: Emulator, ex: Exchange, journal: Path, leg: LegConfig) -> None:
    db = sqlite3.connect(journal)
    try:
        intents = dict(db.execute(INTENTS).fetchall())
        fills = {c: Decimal(contracts) for c, contracts in db.execute(FILLS).fetchall()}
    finally:
        db.close()
    check_records(emu, intents, fills, leg, ex)


def check_records(
    emu: Emulator,
    intents: dict[str, str],
    fills: dict[str, Decimal],
    leg: LegConfig,
    ex: Exchange = EXCHANGES[0],
) -> None:
    """The journal's intents (client id -> state) and fills agree with the exchange (`ex`'s
    inverse perp; Bybit's by default)."""
    assert emu.duplicate_client_ids() == []
    sent = [e.client_id for e in emu.order_log]
    assert [link for link in sent if link not in intents] == []  # no order without its intent
    assert {c: s for c, s in intents.items() if s not in FINAL} == {}  # all settled
    executed = {
        link: -order.cum_qty if order.side == "sell" else order.cum_qty
        for link, order in emu.account.by_client.items()
        if order.cum_qty
    }
    assert fills == executed  # order by order, not just in sum
    position = emu.account.positions[ex.instrument].size
    assert sum(fills.values(), Decimal(0)) == position
    target, needed, _ = final_plan(emu, ex, leg)
    assert abs(target - position) < needed, (target, position, needed)
    assert position < 0


@pytest.mark.parametrize(("ex", "chain"), CHAINS)
async def test_sigkill_during_order_placement_then_restart(
    ex: Exchange, chain: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await kill_chain(ex, chain, tmp_path, monkeypatch)


async def kill_chain(
    ex: Exchange, chain: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One chain of KILLS kills on `ex`, each restart checked (the module's docstring)."""
    if ex.mode == "live":
        monkeypatch.setenv("HEDGEKEEPER_CONFIRM_LIVE", "1")
    rng = random.Random(ex.seed + chain)
    async with ex.emulator(ex.account()) as emu:
        journal = tmp_path / "journal.sqlite"
        sizing = f"hedge_ratio = 0.9\nmax_order = {ex.max_order}"
        text = config_text(journal, [("btc", ex.name, emu)], sizing, mode=ex.mode)
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
                    timed = arm(kind, k, rng, emu, running)
                    if cycle:
                        await emu.deposit("BTC", Decimal(1), ex.deposit_wallet)  # new orders
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
