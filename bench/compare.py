"""`simulate --compare` on both histories in ../shared/data: wall time and the figures.

The issue's five policies (constant 1 and 0.5, CPPI, TIPP, the rolling put) over BitMEX XBTUSD
(8-hourly, 2018-06 to 2020-11) and Deribit BTC-PERPETUAL (hourly, 2019-04 to 2021-02), 1 BTC in
the derivatives wallet, 10-USD inverse contracts. Prints, per history, the wall time of the whole
comparison (loading the file, every replay, the figures; not the interpreter's start), the CPU
seconds of all its processes (summed: what idle cores would need) and the table. With --out DIR
the JSON, the table and the two plots go to DIR/<history>/ (the docs' figures and pictures come
from there). A missing data file is said and skipped (exit 0).

    python bench/compare.py [--out docs/img] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

from hedgekeeper import logs
from hedgekeeper.policy import parse_spec
from hedgekeeper.simulate_compare import compare, setups, table, to_json

DATA = Path(__file__).resolve().parents[1].parent / "shared/data"
HISTORIES = ("bitmex_xbtusd_8h.csv", "deribit_btc_perpetual_1h.csv")
SPECS = (
    "constant:1",
    "constant:0.5",
    "cppi:floor_pct=0.8,multiplier=3",
    "tipp:floor_pct=0.8,multiplier=4,lock_in=0.8",
    "put:strike_pct=0.9,horizon_days=30",
)
TARGET_SECONDS = 10.0


def _cpu() -> float:
    """User + system seconds of this process and of its finished children (the workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write compare.json/.txt and plots here")
    parser.add_argument("--jobs", type=int, help="processes (default: every core)")
    args = parser.parse_args()
    logs.configure("error", False, [])
    for name in HISTORIES:
        path = DATA / name
        if not path.exists():
            print(f"bench/compare.py: {path} is not there; skipped")
            continue
        started = time.perf_counter()
        cpu = _cpu()
        policies = [parse_spec(s) for s in SPECS]
        results = compare(setups(None, path, policies, Decimal(1), Decimal(10)), args.jobs)
        elapsed = time.perf_counter() - started
        cpu = _cpu() - cpu
        outcomes = [r[0] for r in results]
        doc = to_json(outcomes, results[0][1], path)
        text = table(outcomes, f"{name}: {doc['start']} to {doc['end']} UTC", "USD")
        verdict = "ok" if elapsed <= TARGET_SECONDS else "SLOWER than"
        print(f"{name}: {doc['points']:,} points x {len(SPECS)} policies")
        print(f"  wall time      {elapsed:.2f} s ({verdict} {TARGET_SECONDS:.0f} s)")
        print(
            f"  CPU time       {cpu:.2f} s in all processes; load average {os.getloadavg()[0]:.1f}"
        )
        print(text, end="")
        if args.out is not None:
            from hedgekeeper.compare_plots import plot

            where = args.out / path.stem
            where.mkdir(parents=True, exist_ok=True)
            (where / "compare.json").write_text(json.dumps(doc, indent=2) + "\n")
            (where / "compare.txt").write_text(text)
            plot([r[1] for r in results], where, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
