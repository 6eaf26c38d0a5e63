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

    python bench/latency.py [--case small|large|both] [--events 200] [--gap 0.3] [--no-throttle]

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
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.emulators.core.account import Account  # noqa: E402
from tests.emulators.core.server import Emulator  # noqa: E402
from tests.emulators.dialects import bybit  # noqa: E402

TARGET_P99_MS = {"small": 10.0, "large": 40.0}
SMALL = Decimal("0.04")  # BTC per small event
CONFIG = """
mode = "testnet"
journal = "{journal}"
[ops]
port = 0
[log]
level = "info"
[venues.bybit]
exchange = "bybit"
unified = true
rest_interval = 30.0
urls = {{ rest = "{rest}", ws = "{ws}" }}
options = {{ timeout = 10000, enableRateLimit = {throttle} }}
[[legs]]
name = "btc"
asset = "BTC"
perp = {{ venue = "bybit", symbol = "BTC/USD:BTC" }}
spot = [{{ venue = "bybit" }}]
hedge_ratio = {ratio}
max_order = 1000000
max_slippage = "0.1"
[legs.guards]
orders_per_minute = 100000
"""


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


async def settled(http: aiohttp.ClientSession, port: int, emu: Emulator) -> None:
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
                and Decimal(position) == emu.account.positions["BTCUSD"].size
                and Decimal(leg["drift"]).copy_abs() < Decimal(1000)
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


async def bench(case: str, events: int, gap: float, throttle: bool) -> int:
    large = case == "large"
    account = Account(unified=True, price=Decimal(60000), balances={"BTC": Decimal(2)})
    async with bybit.emulator(account) as emu, aiohttp.ClientSession() as http:
        tmp = Path(tempfile.mkdtemp(prefix="hk-latency-"))
        config = tmp / "bench.toml"
        config.write_text(
            CONFIG.format(
                journal=tmp / "journal.sqlite",
                rest=emu.rest_url,
                ws=emu.ws_url,
                throttle=str(throttle).lower(),
                ratio="0.5" if large else "1.0",
            )
        )
        env = {
            **os.environ,
            "HEDGEKEEPER_VENUES__BYBIT__API_KEY": emu.api_key,
            "HEDGEKEEPER_VENUES__BYBIT__SECRET": emu.secret,
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
            await settled(http, daemon.port, emu)
            # At 50,000 the short's profit frees about 0.4 BTC of margin, so withdrawals of
            # the small amount can be paid out while every coin else backs the 1x short.
            await emu.set_price(Decimal(50000))
            await settled(http, daemon.port, emu)
            await asyncio.sleep(1.0)  # startup's burst of requests paid off: the throttle refills
            glitches_before = daemon.count("exposure_confirmed")
            latencies = []
            holding = emu.account.wallet(emu.account.spot_wallet, "BTC")
            amount = (holding * Decimal("0.3")).quantize(Decimal("0.0001")) if large else SMALL
            for i in range(events * 2 if large else events):
                await asyncio.sleep(gap)
                latency = await one_event(emu, i % 2 == 0, amount)
                if not large or i % 2 == 0:
                    latencies.append(latency)
                await settled(http, daemon.port, emu)
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
    print(f"{case}: {len(latencies)} events ({what}), gap {gap} s")
    print(f"client-side throttle: {'on' if throttle else 'off'}; REST confirmations: {confirmed}")
    print(
        f"deposit -> order request (ms): p50 {p50:.2f}  p95 {p95:.2f}  p99 {p99:.2f}  "
        f"max {max(latencies):.2f}  min {min(latencies):.2f}"
    )
    print(
        f"daemon RSS: {memory.get('VmRSS', 0) / 1024:.1f} MiB "
        f"(peak {memory.get('VmHWM', 0) / 1024:.1f} MiB)"
    )
    target = TARGET_P99_MS[case]
    ok = p99 <= target and (not large or confirmed == len(latencies))
    print(f"target p99 <= {target:.0f} ms: {'ok' if ok else 'OVER TARGET'}\n")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.3, help="seconds between events")
    parser.add_argument("--case", choices=["small", "large", "both"], default="both")
    parser.add_argument("--no-throttle", action="store_true", help="ccxt enableRateLimit off")
    args = parser.parse_args()
    cases = ["small", "large"] if args.case == "both" else [args.case]
    failed = 0
    for case in cases:
        failed |= asyncio.run(bench(case, args.events, args.gap, not args.no_throttle))
    return failed


if __name__ == "__main__":
    sys.exit(main())
