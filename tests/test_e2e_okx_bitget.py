"""The real daemon process on OKX's and Bitget's inverse perps, with the shipped example configs.

`hedgekeeper run --config config/okx.toml` (and `config/bitget.toml`) as a subprocess against the
exchange's emulator dialect, only the URLs, keys, journal and REST interval overridden through
the environment. One BTC at 60,000 in the perp's collateral account: the opening hedge, a
deposit of 0.5 (one more sell), the price down to 48,000 and 36,000 (no order: at h = 1 with
the collateral counted the target does not move), then a withdrawal of 0.3 (a reduce-only buy).
Waits are on the emulator's order arrivals and on the daemon's REST reads, never on a sleep.
`hedgekeeper check` on the same files reports the market and refuses what it must.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from tests.emulators.core.account import Account
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import bitget, okx
from tests.test_e2e_bybit import env_for as shipped_env
from tests.test_e2e_bybit import hk

D = Decimal
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Exchange:
    name: str  # the venue's name in its example config
    config: Path
    emulator: Callable[[Account], Emulator]
    instrument: str  # the emulator's id of the inverse perp
    per_btc: Decimal  # the core's position units per BTC of hedge at 60,000
    contract: str  # what `check` prints about the contract
    wallets: str  # what `check` prints about the wallets


OKX = Exchange(
    "okx",
    ROOT / "config" / "okx.toml",
    okx.emulator,
    "BTC-USD-SWAP",
    D(600),
    "contract size 100(\\.0)? USD per contract",
    "wallet separate spot/contract",
)
BITGET = Exchange(
    "bitget",
    ROOT / "config" / "bitget.toml",
    bitget.emulator,
    "BTCUSD",
    D(60000),
    "contract size 1(\\.0)? USD per contract",
    "wallet separate spot/contract",
)
EXCHANGES = [pytest.param(OKX, id="okx"), pytest.param(BITGET, id="bitget")]


@pytest.fixture(params=EXCHANGES)
async def exchange(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Exchange, Emulator]]:
    ex: Exchange = request.param
    account = Account(price=D(60000), balances={"BTC": D(1), "USDT": D(0)})
    async with ex.emulator(account) as emu:
        yield ex, emu


def env_for(ex: Exchange, emu: Emulator, tmp_path: Path) -> dict[str, str]:
    """The shipped example pointed at `emu` (tests/test_e2e_bybit.py's), with the passphrase."""
    env = shipped_env(emu, tmp_path, ex.name)
    env[f"HEDGEKEEPER_VENUES__{ex.name.upper()}__PASSWORD"] = emu.password
    return env


HOLD, TRADE = '"action": "hold"', '"action": "trade"'
# The daemon's REST cycle reads price, position and collateral together, then the spot: a spot
# read's arrival is the end of a cycle, a safe moment to move the price (mid-cycle, the price and
# the equity of one snapshot would come from either side of the move).
SPOT_READS = ("/api/v5/asset/balances", "/api/v2/spot/account/assets")


class Watch:
    """The daemon's log as it comes, and its REST cycles (their spot reads) at the emulator."""

    def __init__(self, proc: asyncio.subprocess.Process, emu: Emulator) -> None:
        self.proc, self.emu = proc, emu
        self.lines: list[str] = []
        self.reads = 0
        self.read = asyncio.Event()
        emu.request_hooks.append(self._on_request)
        self.reader = asyncio.create_task(self._read())

    def _on_request(self, path: str) -> None:
        if path in SPOT_READS:
            self.reads += 1
            self.read.set()

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.lines.append(raw.decode(errors="replace"))
        self.read.set()  # the daemon ended: wake any waiter to say so

    def log(self) -> str:
        return "".join(self.lines)[-4000:]

    def position(self, ex: Exchange) -> Decimal:
        return self.emu.account.positions[ex.instrument].size

    async def rest_cycles(self, count: int = 2) -> None:
        """Until the daemon has ended `count` more REST cycles."""
        wanted = self.reads + count
        async with asyncio.timeout(20):
            while self.reads < wanted:
                if self.reader.done():
                    raise AssertionError(f"the daemon ended:\n{self.log()}")
                self.read.clear()
                await self.read.wait()

    def _held_after_trades(self, orders: int) -> bool:
        """The daemon logged a trade decision per order and a hold after the last of them (a
        hold is logged whenever the decision's kind changes, as it does after a trade)."""
        trades = [i for i, line in enumerate(self.lines) if TRADE in line]
        if len(trades) < orders:
            return False
        return any(HOLD in line for line in self.lines[trades[-1] if trades else 0 :])

    async def settled(self, orders: int) -> None:
        """At least `orders` orders have arrived, the daemon holds after the last one, and two
        more REST cycles passed without another order."""
        while True:
            await self.emu.wait_for_orders(orders, timeout=30)
            orders = len(self.emu.order_log)
            while not self._held_after_trades(orders):
                await self.rest_cycles(1)
            await self.rest_cycles(2)
            if len(self.emu.order_log) == orders:
                return


def sides(emu: Emulator) -> list[tuple[str, bool]]:
    return [(e.placed.side, e.placed.reduce_only) for e in emu.order_log if e.placed is not None]


async def test_the_daemon_hedges_deposits_ignores_prices_and_covers_withdrawals(
    exchange: tuple[Exchange, Emulator], tmp_path: Path
) -> None:
    ex, emu = exchange
    proc = await hk("run", "--config", str(ex.config), env=env_for(ex, emu, tmp_path), cwd=tmp_path)
    watch = Watch(proc, emu)
    try:
        # The opening hedge: sells at 1x to about 1 BTC x 60,000 (what 1x margin affords).
        await watch.settled(1)
        opening = watch.position(ex)
        assert -ex.per_btc <= opening < -ex.per_btc * D("0.98"), (opening, watch.log())
        assert emu.account.positions[ex.instrument].leverage == 1
        assert set(sides(emu)) == {("sell", False)}

        # A deposit of 0.5 BTC: one more sell, about half as much again.
        count = len(emu.order_log)
        await emu.deposit("BTC", D("0.5"))
        await watch.settled(count + 1)
        grown = watch.position(ex)
        assert -ex.per_btc * D("1.5") <= grown < opening - ex.per_btc * D("0.45"), grown
        assert set(sides(emu)[count:]) == {("sell", False)}

        # The price alone, down to 48,000 and 36,000: the target stays, no order.
        count = len(emu.order_log)
        for price in (D(48000), D(36000)):
            await emu.set_price(price)
            await watch.rest_cycles(3)
        assert len(emu.order_log) == count and watch.position(ex) == grown

        # At 36,000 the short's profit frees margin: withdraw 0.3 BTC, covered reduce-only.
        await emu.withdraw("BTC", D("0.3"))
        await watch.settled(count + 1)
        assert set(sides(emu)[count:]) == {("buy", True)}
        assert grown < watch.position(ex) < 0
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 15)
        await watch.reader
    assert code == 0, watch.log()
    assert '"event": "daemon_stopped"' in "".join(watch.lines)
    assert emu.duplicate_client_ids() == []
    assert emu.secret not in "".join(watch.lines) and emu.password not in "".join(watch.lines)
    db = sqlite3.connect(tmp_path / "journal.sqlite")
    try:
        states = {s for (s,) in db.execute("SELECT state FROM intents")}
    finally:
        db.close()
    assert states == {"filled"}


async def test_check_reports_the_market_and_the_account(
    exchange: tuple[Exchange, Emulator], tmp_path: Path
) -> None:
    ex, emu = exchange
    proc = await hk(
        "check", "--config", str(ex.config), env=env_for(ex, emu, tmp_path), cwd=tmp_path
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    text = out.decode()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert re.search(f"market BTC/USD:BTC inverse, {ex.contract}", text), text
    assert "margin cross, position mode one-way" in text and "check: ok" in text
    assert emu.order_log == []


async def test_check_refuses_an_okx_account_in_spot_mode(tmp_path: Path) -> None:
    async with okx.emulator(Account(price=D(60000))) as emu:
        dialect = emu.dialect
        assert isinstance(dialect, okx.Okx)
        dialect.acct_level = "1"
        env = env_for(OKX, emu, tmp_path)
        proc = await hk("check", "--config", str(OKX.config), env=env, cwd=tmp_path)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode != 0
    said = out.decode() + err.decode()
    assert "acctLv 1" in said and "Spot and futures" in said and "51010" in said
