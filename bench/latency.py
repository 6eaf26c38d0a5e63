"""Reaction latency: a deposit at the exchange -> the daemon's order request arriving there.

The Bybit v5 emulator runs in this process; the daemon runs as a subprocess (`hedgekeeper run`
with a generated testnet config pointed at the emulator), so the RSS printed is the daemon's own
and the two do not share an event loop. Two cases, each with its own daemon:

- small: deposits and withdrawals of 0.04 BTC (about 1.5 % of the holding, below the glitch
  guard's threshold): the path is the websocket wallet push -> feed -> decision -> journal ->
  order request.
- large: deposits of 30 % of the holding (h = 0.5, so the margin allows it), above the glitch
  threshold: the decision waits for a fresh REST read of price, position, collateral and spot to
  confirm the jump before the order. Each is followed by an unmeasured withdrawal (23 % of the
  larger holding, below the threshold) that brings the holding back.

The latency is the emulator's arrival time of the order request minus a monotonic time taken
just before the control call. Between events the bench waits until the daemon's /status shows
the fill, then `--gap` seconds more, so one event's REST reads never queue in front of the next
event's order (ccxt's client-side throttle stays on, as in production).

    python bench/latency.py [--exchange bybit|binance] [--case small|large|both] [--events 200]
                            [--gap 0.3] [--no-throttle]

`--exchange binance`: BTC in the spot wallet hedged on COIN-M (the Binance dialect), the deposit
arriving as a spot user-data push; p99 target 20 ms for the small case.

Runs from the repository root (the emulator lives in tests/emulators); loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.emulators.core.account import Account  # noqa: E402
from tests.emulators.core.model import DERIVATIVES, SPOT  # noqa: E402
from tests.emulators.core.server import Emulator  # noqa: E402
from tests.emulators.dialects import binance, bybit  # noqa: E402

D = Decimal

SMALL = Decimal("0.04")  # BTC per small event
CONFIG = """
mode = "testnet"
journal = "{journal}"
[ops]
port = 0
[log]
level = "info"
[venues.{venue}]
exchange = "{exchange}"
{unified}
rest_interval = 30.0
urls = {{ rest = "{rest}", ws = "{ws}" }}
options = {{ timeout = 10000, enableRateLimit = {throttle} }}
[[legs]]
name = "btc"
asset = "BTC"
perp = {{ venue = "{venue}", symbol = "BTC/USD:BTC" }}
spot = [{{ venue = "{venue}" }}]
hedge_ratio = {ratio}
max_order = 1000000
max_slippage = "0.1"
[legs.guards]
orders_per_minute = 100000
"""


@dataclass(frozen=True)
class Setup:
    """What differs per exchange: its venue table, its emulator, its instrument."""

    venue: str
    exchange: str
    unified: str  # a line of the venue table
    ratios: dict[str, str]  # hedge ratio per case
    instrument: str
    drift: Decimal  # contracts: settled once the leg's drift is below this
    price: Decimal | None  # moved there after the opening hedge (to free margin), or None
    targets: dict[str, float]  # p99 ms per case
    gap: float  # seconds between events

    def emulator(self) -> Emulator:
        if self.exchange == "bybit":
            return bybit.emulator(Account(unified=True, price=D(60000), balances={"BTC": D(2)}))
        # 2 BTC in spot and 2 in the COIN-M wallet: at h = 0.25 the 1 BTC short leaves margin
        # free, so each event is one order, no transfer on its path.
        account = binance.binance_account(price=D(60000), balances={"BTC": D(4)})
        account.transfer("BTC", D(2), SPOT, DERIVATIVES)
        return binance.emulator("inverse", account)


SETUPS = {
    # At 50,000 the short's profit frees about 0.4 BTC of margin, so withdrawals of the small
    # amount can be paid out while every coin else backs the 1x short.
    "bybit": Setup("bybit", "bybit", "unified = true", {"small": "1.0", "large": "0.5"},
                   "BTCUSD", D(1000), D(50000), {"small": 10.0, "large": 40.0}, 0.3),
    # Binance weighs a mark-price read at 10 and the spot account at 20: the reads after a fill
    # use most of the throttle's two-second burst, refilled between events.
    "binance": Setup("binance", "binancecoinm", "", {"small": "0.25", "large": "0.25"},
                     binance.COINM.id, D(3), None, {"small": 20.0, "large": 40.0}, 1.2),
}  # fmt: skip


class Daemon:
    """The `hedgekeeper run` subprocess: its log lines, its ops port, its memory."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict[str, Any]] = []
        self.ready = asyncio.Event()
        self.port: int | None = None
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            self.lines.append(line)
            if line.get("event") == "daemon_ready":
                self.port = line.get("ops_port")
                self.ready.set()

    def count(self, event: str, **fields: object) -> int:
        return sum(
            1
            for line in self.lines
            if line.get("event") == event and all(line.get(k) == v for k, v in fields.items())
        )

    def memory_kib(self) -> dict[str, int]:
        found = {}
        for row in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = row.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
        return found


async def settled(http: aiohttp.ClientSession, port: int, emu: Emulator, setup: Setup) -> None:
    """Poll /status until the daemon's last decision holds on the emulator's position."""
    url = f"http://127.0.0.1:{port}/status"
    async with asyncio.timeout(30):
        while True:
            async with http.get(url) as reply:
                leg = (await reply.json())["legs"][0]
            position = leg.get("position")
            if (
                leg["state"] == "live"
                and position is not None
                and Decimal(position) == emu.account.positions[setup.instrument].size
                and Decimal(leg["drift"]).copy_abs() < setup.drift
            ):
                return
            await asyncio.sleep(0.01)


async def one_event(emu: Emulator, deposit: bool, amount: Decimal) -> float:
    """A deposit (or withdrawal) of `amount` BTC; returns ms until the order request arrived."""
    n = len(emu.order_log)
    started = time.monotonic()
    if deposit:
        await emu.deposit("BTC", amount)
    else:
        await emu.withdraw("BTC", amount)
    await emu.wait_for_orders(n + 1, timeout=10)
    return (emu.order_log[n].received - started) * 1000


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


async def bench(setup: Setup, case: str, events: int, gap: float | None, throttle: bool) -> int:
    large = case == "large"
    gap = setup.gap if gap is None else gap
    async with setup.emulator() as emu, aiohttp.ClientSession() as http:
        tmp = Path(tempfile.mkdtemp(prefix="hk-latency-"))
        config = tmp / "bench.toml"
        config.write_text(
            CONFIG.format(
                journal=tmp / "journal.sqlite",
                venue=setup.venue,
                exchange=setup.exchange,
                unified=setup.unified,
                rest=emu.rest_url,
                ws=emu.ws_url,
                throttle=str(throttle).lower(),
                ratio=setup.ratios[case],
            )
        )
        env = {
            **os.environ,
            f"HEDGEKEEPER_VENUES__{setup.venue.upper()}__API_KEY": emu.api_key,
            f"HEDGEKEEPER_VENUES__{setup.venue.upper()}__SECRET": emu.secret,
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hedgekeeper.cli", "run", "--config", str(config),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env, cwd=tmp,
        )  # fmt: skip
        daemon = Daemon(proc)
        try:
            await asyncio.wait_for(daemon.ready.wait(), 60)
            assert daemon.port is not None
            await emu.wait_for_orders(1, timeout=30)  # the opening hedge
            await settled(http, daemon.port, emu, setup)
            if setup.price is not None:
                await emu.set_price(setup.price)
                await settled(http, daemon.port, emu, setup)
            await asyncio.sleep(1.0)  # startup's burst of requests paid off: the throttle refills
            glitches_before = daemon.count("exposure_confirmed")
            latencies = []
            holding = sum((w.get("BTC", D(0)) for w in emu.account.wallets.values()), D(0))
            amount = (holding * Decimal("0.3")).quantize(Decimal("0.0001")) if large else SMALL
            for i in range(events * 2 if large else events):
                await asyncio.sleep(gap)
                latency = await one_event(emu, i % 2 == 0, amount)
                if not large or i % 2 == 0:
                    latencies.append(latency)
                await settled(http, daemon.port, emu, setup)
            memory = daemon.memory_kib()
            confirmed = daemon.count("exposure_confirmed") - glitches_before
        finally:
            proc.terminate()
            await proc.wait()
            daemon.reader.cancel()
    p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
    what = (
        f"deposits of {amount} BTC (30 %), each confirmed by a REST read"
        if large
        else f"deposits and withdrawals of {amount} BTC"
    )
    print(f"{setup.exchange} {case}: {len(latencies)} events ({what}), gap {gap} s")
    print(f"client-side throttle: {'on' if throttle else 'off'}; REST confirmations: {confirmed}")
    print(
        f"deposit -> order request (ms): p50 {p50:.2f}  p95 {p95:.2f}  p99 {p99:.2f}  "
        f"max {max(latencies):.2f}  min {min(latencies):.2f}"
    )
    print(
        f"daemon RSS: {memory.get('VmRSS', 0) / 1024:.1f} MiB "
        f"(peak {memory.get('VmHWM', 0) / 1024:.1f} MiB)"
    )
    target = setup.targets[case]
    ok = p99 <= target and (not large or confirmed == len(latencies))
    print(f"target p99 <= {target:.0f} ms: {'ok' if ok else 'OVER TARGET'}\n")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--exchange", choices=sorted(SETUPS), default="bybit")
    parser.add_argument("--gap", type=float, default=None, help="seconds between events")
    parser.add_argument("--case", choices=["small", "large", "both"], default="both")
    parser.add_argument("--no-throttle", action="store_true", help="ccxt enableRateLimit off")
    args = parser.parse_args()
    cases = ["small", "large"] if args.case == "both" else [args.case]
    failed = 0
    for case in cases:
        setup = SETUPS[args.exchange]
        failed |= asyncio.run(bench(setup, case, args.events, args.gap, not args.no_throttle))
    return failed


if __name__ == "__main__":
    sys.exit(main())
