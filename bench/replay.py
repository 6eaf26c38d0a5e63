"""Replay throughput: the 16,008 hours of Deribit BTC-PERPETUAL through the real engine.

1 BTC in the derivatives wallet, h = 1, 10-USD inverse contracts: the issue's benchmark. Prints
the wall time of loading the file and replaying it (not the interpreter's start), hours per
second, orders and peak RSS. The data file lives outside the repository (../shared/data); when
it is absent this says so and exits 0, so the benchmark never fails a fresh checkout.

    python bench/replay.py [--ratio 0.5] [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

from hedgekeeper import logs
from hedgekeeper.report import figures
from hedgekeeper.simulate import prepare, run

DATA = Path(__file__).resolve().parents[1].parent / "shared/data/deribit_btc_perpetual_1h.csv"
TARGET_SECONDS = 2.0


def once(ratio: Decimal) -> tuple[float, int, int]:
    started = time.perf_counter()
    replay = run(prepare(None, DATA, ratio, Decimal(1), Decimal(10)))
    elapsed = time.perf_counter() - started
    return elapsed, len(replay.hours), figures(replay).orders


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratio", type=Decimal, default=Decimal(1))
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--profile", action="store_true", help="cProfile one run, top 25")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"bench/replay.py: {DATA} is not there; nothing to measure")
        return 0
    logs.configure("error", False, [])
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(once, args.ratio)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return 0
    runs = [once(args.ratio) for _ in range(max(args.repeat, 1))]
    best, hours, orders = min(runs)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"replay {DATA.name}: h = {args.ratio}, 1 BTC, 10-USD contracts")
    print(f"  hours          {hours:,}")
    print(
        f"  wall time      {best:.2f} s (best of {len(runs)}; all: "
        f"{', '.join(f'{r[0]:.2f}' for r in runs)})"
    )
    print(f"  hours/s        {hours / best:,.0f}")
    print(f"  orders         {orders:,}")
    print(f"  peak RSS       {rss_mib:.0f} MiB")
    verdict = "ok" if best <= TARGET_SECONDS else "SLOWER than"
    print(f"  target         {verdict} {TARGET_SECONDS:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
