"""The real daemon on the embedded sim, held degraded: for deploy/ci/prometheus-check.sh.

It hedges normally for a moment (so orders, funding and every leg's series exist), then the
sim's price feed freezes: every read, streamed or REST, returns the same old price, as a stuck
exchange feed would. From then on the daemon holds every leg "degraded" until it is stopped
(SIGTERM, or --duration). Prometheus scraping it must see HedgekeeperDegraded fire.

    python deploy/ci/degraded_daemon.py --port 9108 --journal /tmp/j.sqlite [--duration 120]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from hedgekeeper import config, logs
from hedgekeeper.supervisor import Daemon
from hedgekeeper.venues.sim import SimVenue


async def main(port: int, journal: Path, hedge_hours: float, duration: float) -> int:
    default = config.load(None)
    settings = default.model_copy(
        update={
            "journal": journal,
            "ops": default.ops.model_copy(update={"port": port}),
            "alerts": default.alerts.model_copy(update={"degraded_seconds": 0.0}),
        }
    )
    daemon = Daemon(settings, duration)
    task = asyncio.create_task(daemon.run())
    while not daemon.engines or daemon.engines[0].feed is None:
        if task.done():
            return task.result()
        await asyncio.sleep(0.01)
    venue = daemon.venues["sim"]
    assert isinstance(venue, SimVenue)
    ex = venue.exchange
    start = ex.now()
    await venue.wait_for(lambda: ex.now() >= start + hedge_hours * 3600)
    frozen = ex.prices()
    ex.prices = lambda symbol=None: frozen  # type: ignore[method-assign]
    print(f"degraded_daemon: price feed frozen at {frozen.mark}", file=sys.stderr, flush=True)
    return await task


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    parser.add_argument("--hedge-hours", type=float, default=12.0, help="simulated, before")
    parser.add_argument("--duration", type=float, default=120.0, help="real seconds in all")
    args = parser.parse_args()
    logs.configure("warning", True, [])
    sys.exit(asyncio.run(main(args.port, args.journal, args.hedge_hours, args.duration)))
