"""Funding in the live daemon: every payment the exchange made is journaled once, summed in
`status`, and counted in the metrics, including those settled after the last periodic read."""

from __future__ import annotations

import json
import re
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from hedgekeeper import cli
from hedgekeeper.config import Settings
from hedgekeeper.supervisor import Daemon
from tests.test_supervisor import run_to_the_end, sim_settings

D = Decimal


def with_rest_interval(settings: Settings, seconds: float) -> Settings:
    venue = settings.venues["sim"]
    sim = venue.sim
    assert sim is not None
    sim = sim.model_copy(update={"funding_rate": D("0.0003"), "events": ()})
    venue = venue.model_copy(update={"rest_interval": seconds, "sim": sim})
    return settings.model_copy(update={"venues": {"sim": venue}})


def counter(text: str, name: str) -> Decimal:
    found = re.search(rf'^hedgekeeper_{name}_total{{leg="btc"}} (\S+)$', text, re.MULTILINE)
    assert found, name
    return D(found.group(1))


@pytest.mark.parametrize("rest_interval", [0.05, 3600.0])
async def test_every_funding_payment_is_journaled_summed_and_counted(
    tmp_path: Path, rest_interval: float, capsys: pytest.CaptureFixture[str]
) -> None:
    # With a REST read every hour of wall time, funding is only ever collected at shutdown.
    settings = with_rest_interval(sim_settings(tmp_path), rest_interval)
    daemon = Daemon(settings)
    ex = (await run_to_the_end(daemon)).exchange

    paid = [(e.ts, e.amount) for e in ex.funding_log if e.symbol == "BTC/USD:BTC"]
    assert len(paid) >= 10  # 96 hours, every 8 hours, from the first hour with a short
    assert all(amount > 0 for _, amount in paid)  # a positive rate: the short receives
    db = sqlite3.connect(settings.journal)
    rows = db.execute("SELECT ts, amount FROM funding WHERE leg='btc' ORDER BY ts").fetchall()
    assert [(ts, D(amount)) for ts, amount in rows] == paid
    db.close()
    total = sum((amount for _, amount in paid), D(0))

    metrics = daemon.metrics.render().decode()
    assert counter(metrics, "funding_received") == pytest.approx(total, rel=D("1e-12"))

    assert await cli.status(settings, as_json=True) == 0
    out = capsys.readouterr().out
    (leg,) = json.loads(out[out.index("{\n") :])["legs"]  # after any log lines
    assert D(leg["funding_total"]) == total
