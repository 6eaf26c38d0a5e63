"""The real daemon against the Bybit v5 emulator: the hedge, its changes, and every fault.

The scenario tests run `hedgekeeper.supervisor.Daemon` in-process, in the emulator's event loop,
with the real ccxt and ccxt.pro talking to the emulator over loopback; they wait on the engine's
`settled` event and the emulator's order log, never on a sleep. Two tests drive the installed
`hedgekeeper` command (`run` and `check`) against the shipped `config/bybit-testnet.toml`, with
only the URLs, keys, journal and REST interval overridden through the environment.

Starting state everywhere: a unified (UTA) account holding 2.0 BTC, BTC at 60,000, leverage 10x
(the daemon puts it at 1x). Orders are IOC limits 0.1 % through the mark, so the guards size an
increase at that limit: each contract costs (1/59,940) * (1 + 0.0006 taker fee) BTC of margin.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from hedgekeeper.config import Settings
from hedgekeeper.domain import Plan
from hedgekeeper.engine import LegEngine
from hedgekeeper.supervisor import Daemon
from tests.conformance.daemon import held
from tests.emulators.core.account import Account
from tests.emulators.core.model import OrderSpec, Position
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import bybit

D = Decimal
SYMBOL = "BTC/USD:BTC"
ROOT = Path(__file__).resolve().parents[1]
TESTNET = ROOT / "config" / "bybit-testnet.toml"

# 2.0 BTC at 60,000: 120,000 USD to short, but 1x margin plus the opening fee at the 59,940
# limit affords floor(2 / (1.0006 / 59940)) = 119,808 contracts (Bybit refuses the whole equity).
FIRST_HEDGE = D(-119808)
# + 0.5 BTC: the free 0.5 (plus the fee's rounding) affords 30,071 more, for 149,879 in all,
# 31 contracts short of the 149,910 target: inside the 0.5 % deadband.
AFTER_DEPOSIT = D(-149879)
ORDER_CREATE = "/v5/order/create"
WALLET = "/v5/account/wallet-balance"


def inverse(emu: Emulator) -> Position:
    """The emulator's BTCUSD position."""
    return emu.account.positions[bybit.INVERSE.id]


def settings_for(emu: Emulator, tmp_path: Path, timeout_ms: int = 3000) -> Settings:
    return Settings.model_validate(
        {
            "mode": "testnet",
            "journal": str(tmp_path / "journal.sqlite"),
            "ops": {"enabled": False},
            "venues": {
                "bybit": {
                    "exchange": "bybit",
                    "api_key": emu.api_key,
                    "secret": emu.secret,
                    "urls": {"rest": emu.rest_url, "ws": emu.ws_url},
                    "unified": True,
                    "rest_interval": 0.5,
                    # The emulator has no request quota: ccxt's client-side throttle off.
                    "options": {"timeout": timeout_ms, "enableRateLimit": False},
                }
            },
            "legs": [
                {
                    "name": "btc",
                    "asset": "BTC",
                    "perp": {"venue": "bybit", "symbol": SYMBOL},
                    "spot": [{"venue": "bybit"}],
                    "hedge_ratio": "1",
                    "max_order": "200000",
                    "max_slippage": "0.1",
                    "guards": {"orders_per_minute": 30},
                }
            ],
        }
    )


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    account = Account(unified=True, price=D(60000), balances={"BTC": D(2), "USDT": D(0)})
    async with bybit.emulator(account) as emulator:
        yield emulator


@asynccontextmanager
async def daemon_on(emu: Emulator, settings: Settings) -> AsyncIterator[LegEngine]:
    """The daemon running in this loop; yields its leg engine once the opening hedge is done."""
    daemon = Daemon(settings)
    task = asyncio.create_task(daemon.run())
    try:
        await emu.wait_for_orders(1, timeout=15)  # the first run imports ccxt.pro
        engine = daemon.engines[0]
        await quiet(engine, emu)
        yield engine
    finally:
        daemon.stop.set()
        assert await asyncio.wait_for(task, 10) == 0


async def quiet(
    engine: LegEngine,
    emu: Emulator,
    check: Callable[[Plan], bool] = lambda plan: True,
    timeout: float = 5.0,
) -> Plan:
    """Wait until the engine has held on a plan that agrees with the emulator and `check`."""
    return await held(engine, lambda: inverse(emu).size, check, timeout)


def sent(emu: Emulator) -> list[tuple[str, str, bool]]:
    """(side, qty, reduce-only) of every order that reached the matching engine."""
    return [
        (e.params["side"], e.params["qty"], bool(e.params.get("reduceOnly"))) for e in emu.order_log
    ]


def journal_states(settings: Settings) -> list[str]:
    db = sqlite3.connect(settings.journal)
    try:
        return [row[0] for row in db.execute("SELECT state FROM intents ORDER BY id")]
    finally:
        db.close()


# ---- the hedge and how it follows the holding ---------------------------------------------------


async def test_hedge_follows_deposits_not_prices_and_withdraws_reduce_only(
    emu: Emulator, tmp_path: Path
) -> None:
    settings = settings_for(emu, tmp_path)
    async with daemon_on(emu, settings) as engine:
        # The opening hedge: one sell, at 1x, about 120,000 contracts.
        assert inverse(emu).leverage == 1
        assert inverse(emu).size == FIRST_HEDGE
        assert sent(emu) == [("Sell", "119808", False)]
        assert emu.order_log[0].params["timeInForce"] == "IOC"

        # Deposit 0.5 BTC: the short grows to about 150,000.
        await emu.deposit("BTC", D("0.5"))
        await emu.wait_for_orders(2)
        plan = await quiet(engine, emu)
        assert inverse(emu).size == AFTER_DEPOSIT
        assert sent(emu)[1] == ("Sell", "30071", False)
        assert abs(plan.drift) < 100

        # Price moves alone, down to 50,000 and 40,000: the target stays put, no order at all.
        for mark in (D(50000), D(40000)):
            await emu.set_price(mark)
            plan = await quiet(engine, emu, lambda p, m=mark: p.mark == m)
            assert abs(plan.target - AFTER_DEPOSIT) <= 32
        assert len(emu.order_log) == 2

        # At 40,000 the short's profit frees 1.25 BTC of margin: withdraw 1.0 of it. The target
        # falls to about 110,000 and the daemon buys the difference back, reduce-only.
        await emu.withdraw("BTC", D("1.0"))
        await emu.wait_for_orders(3)
        plan = await quiet(engine, emu)
        side, qty, reduce_only = sent(emu)[2]
        assert (side, reduce_only) == ("Buy", True)
        assert 39_000 < int(qty) < 41_000
        assert abs(plan.drift) < 100 and -111_000 < inverse(emu).size < -109_000
        assert len(emu.order_log) == 3 and emu.duplicate_client_ids() == []
    assert journal_states(settings) == ["filled", "filled", "filled"]


async def test_bybit_refuses_to_pay_out_the_margin_of_a_1x_short(emu: Emulator) -> None:
    """At 1x every coin backs the short: Bybit (and the emulator) keep it from being withdrawn.
    The daemon is not involved; this pins why the withdrawal above happens at 40,000."""
    inverse(emu).leverage = D(1)
    emu.account.place(OrderSpec(bybit.INVERSE, "sell", D(119000), None, "IOC", False, ""))
    with pytest.raises(ValueError, match="not that much available"):
        await emu.withdraw("BTC", D("1.0"))


# ---- faults: no duplicate order, no order on a glitch, the right position after ---------------


async def deposit_and_settle(emu: Emulator, engine: LegEngine, timeout: float = 5.0) -> Plan:
    await emu.deposit("BTC", D("0.5"))
    await emu.wait_for_orders(2, timeout=timeout)
    return await quiet(engine, emu, timeout=timeout)


def assert_recovered(emu: Emulator, plan: Plan) -> None:
    assert emu.duplicate_client_ids() == []
    assert sent(emu) == [("Sell", "119808", False), ("Sell", "30071", False)]
    assert inverse(emu).size == AFTER_DEPOSIT and abs(plan.drift) < 100


async def test_dropped_websockets_reconnect_and_rest_fills_the_gap(
    emu: Emulator, tmp_path: Path
) -> None:
    async with daemon_on(emu, settings_for(emu, tmp_path)) as engine:
        await emu.drop_websockets()
        # The deposit lands while the streams are down: the REST re-read after the reconnect
        # (or the periodic one) sees it, and the daemon orders once.
        plan = await deposit_and_settle(emu, engine)
        assert_recovered(emu, plan)
        async with asyncio.timeout(5):
            while emu.private_connections == 0:  # and the private stream is back
                engine.settled.clear()
                await engine.settled.wait()


async def test_http_502_on_reads_and_on_the_order(emu: Emulator, tmp_path: Path) -> None:
    settings = settings_for(emu, tmp_path)
    async with daemon_on(emu, settings) as engine:
        emu.fail_next(1, path=ORDER_CREATE)  # the order request dies at the gateway
        emu.fail_next(2)  # and so do the next two reads, whatever they are
        plan = await deposit_and_settle(emu, engine)
        assert_recovered(emu, plan)
    # The 502'd request never reached the matching engine: looked up by its client id, found
    # nowhere, journaled as rejected; the next intent (a new client id) filled.
    assert emu.request_count(ORDER_CREATE) == 3
    assert journal_states(settings) == ["filled", "rejected", "filled"]


async def test_rate_limit_answers_retcode_10006(emu: Emulator, tmp_path: Path) -> None:
    settings = settings_for(emu, tmp_path)
    async with daemon_on(emu, settings) as engine:
        emu.rate_limit_next(1, path=ORDER_CREATE)
        emu.rate_limit_next(2)
        plan = await deposit_and_settle(emu, engine)
        assert_recovered(emu, plan)
    rate_limited = [r for r in emu.requests if r.path == ORDER_CREATE and r.error == "10006"]
    assert len(rate_limited) == 1
    assert journal_states(settings) == ["filled", "rejected", "filled"]


async def test_an_order_answered_after_the_client_timeout_is_found_not_resent(
    emu: Emulator, tmp_path: Path
) -> None:
    settings = settings_for(emu, tmp_path, timeout_ms=800)
    async with daemon_on(emu, settings) as engine:
        # Executed at once, answered only when the emulator shuts down, long after the client
        # gave up: the daemon settles it by looking the client id up, not from the reply.
        emu.delay_next_order(60.0)
        plan = await deposit_and_settle(emu, engine)
        assert_recovered(emu, plan)
        late = emu.order_log[1]
        assert late.error is None and late.order_id is not None  # the exchange executed it
        assert late.answered is None  # settled and on target before any answer was sent
    assert emu.request_count(ORDER_CREATE) == 2  # never re-sent
    assert journal_states(settings) == ["filled", "filled"]


async def test_a_balance_reply_missing_the_coin_is_not_a_zero(
    emu: Emulator, tmp_path: Path
) -> None:
    async with daemon_on(emu, settings_for(emu, tmp_path)) as engine:
        # Read as zero, the missing coin would mean "X = 0: buy the whole short back".
        reads = emu.request_count(WALLET)
        emu.empty_wallet(coin="BTC")
        async with asyncio.timeout(5):
            while emu.request_count(WALLET) == reads:  # the periodic REST read takes it
                engine.settled.clear()
                await engine.settled.wait()
        engine.settled.clear()
        await asyncio.wait_for(engine.settled.wait(), 5)  # a full decision after it
        assert len(emu.order_log) == 1 and engine.state == "live"
        # And the same fault on the REST read that confirms a jump in exposure: held, then
        # confirmed by the next read and acted on once.
        emu.empty_wallet(coin="BTC")
        plan = await deposit_and_settle(emu, engine)
        assert_recovered(emu, plan)


async def test_a_silent_private_stream_is_covered_by_rest(emu: Emulator, tmp_path: Path) -> None:
    async with daemon_on(emu, settings_for(emu, tmp_path)) as engine:
        emu.silence_private()  # connected, subscribed, and saying nothing
        plan = await deposit_and_settle(emu, engine)
        assert_recovered(emu, plan)
        emu.silence_private(False)


# ---- the installed command -------------------------------------------------------------------


def env_for(emu: Emulator, tmp_path: Path, venue: str = "bybit") -> dict[str, str]:
    """The environment pointing the shipped example's venue `venue` at `emu`."""
    prefix = f"HEDGEKEEPER_VENUES__{venue.upper()}__"
    return {
        **os.environ,
        f"{prefix}URLS__REST": emu.rest_url,
        f"{prefix}URLS__WS": emu.ws_url,
        f"{prefix}API_KEY": emu.api_key,
        f"{prefix}SECRET": emu.secret,
        f"{prefix}REST_INTERVAL": "0.5",
        # The options table as JSON: the file's timeout, and no client-side throttle (the
        # emulator has no request quota; against Bybit it must stay on).
        f"{prefix}OPTIONS": '{"timeout": 10000, "enableRateLimit": false}',
        "HEDGEKEEPER_JOURNAL": str(tmp_path / "journal.sqlite"),
        "HEDGEKEEPER_OPS__ENABLED": "false",
    }


async def hk(*args: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hedgekeeper.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=cwd,
    )  # fmt: skip


async def wait_for(
    proc: asyncio.subprocess.Process, *needles: str, timeout: float = 20
) -> list[str]:
    """The daemon's JSON log lines up to and including the first one holding every needle."""
    assert proc.stderr is not None
    seen: list[str] = []
    async with asyncio.timeout(timeout):
        async for raw in proc.stderr:
            line = raw.decode()
            seen.append(line)
            if all(needle in line for needle in needles):
                return seen
    raise AssertionError(f"{needles} never came:\n{''.join(seen)}")


async def test_hedgekeeper_run_with_the_testnet_example(emu: Emulator, tmp_path: Path) -> None:
    """The shipped example, as it is: 2.0 BTC wants a 120,000-contract short, but the example
    caps the leg at 100,000 contracts and splits orders into equal pieces of at most 20,000."""
    proc = await hk("run", "--config", str(TESTNET), env=env_for(emu, tmp_path), cwd=tmp_path)
    try:
        await wait_for(proc, '"event": "daemon_ready"')
        # Five equal pieces, a sixth trimmed to the cap, then a hold (the rate guard's, as the
        # example allows six orders a minute; the over-hedge guard's after that).
        await wait_for(proc, '"event": "decision"', '"action": "hold"')
        assert inverse(emu).size == -100000 and inverse(emu).leverage == 1
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b'"event": "daemon_stopped"' in err
    orders = sent(emu)
    assert all(side == "Sell" and int(qty) <= 20000 and not ro for side, qty, ro in orders)
    assert sum(int(qty) for _, qty, _ in orders) == 100000 and len(orders) == 6
    assert inverse(emu).size == -100000  # nothing after the SIGTERM
    assert emu.duplicate_client_ids() == []
    assert emu.secret not in err.decode()


async def test_hedgekeeper_check_reports_what_it_found(emu: Emulator, tmp_path: Path) -> None:
    proc = await hk("check", "--config", str(TESTNET), env=env_for(emu, tmp_path), cwd=tmp_path)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert re.search(r"market BTC/USD:BTC inverse, contract size 1(\.0)? USD per contract", text)
    # What is there, not what the daemon would set: the emulator starts at 10x.
    assert "wallet unified, leverage 10x, margin cross, position mode one-way" in text
    assert "position 0" in text and "check: ok" in text
    assert inverse(emu).leverage == 10 and emu.order_log == []
