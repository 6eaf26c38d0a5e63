"""`hedgekeeper report` on the journal of a real daemon run: 30 simulated days on the sim, the
journal copied away from any exchange, funding and fees equal to the sim's own books."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from hedgekeeper import cli
from hedgekeeper.supervisor import Daemon
from hedgekeeper.valuation import HOUR, due
from tests.test_supervisor import run_to_the_end, sim_settings

D = Decimal


def thirty_days(tmp_path: Path) -> Daemon:
    settings = sim_settings(tmp_path)
    venue = settings.venues["sim"]
    assert venue.sim is not None
    sim = venue.sim.model_copy(update={"steps": 30 * 24, "funding_rate": D("0.00015")})
    cold = settings.legs[0].model_copy(
        update={
            "name": "cold",
            "perp": settings.legs[0].perp.model_copy(update={"symbol": "BTC/USDT:USDT"}),
            "spot": (),
            "count_collateral": False,
        }
    )
    fields = cold.model_dump(exclude={"policy"})
    cold = cold.model_validate({**fields, "spot": [{"amount": "0.5"}]})
    return Daemon(
        settings.model_copy(
            update={
                "venues": {"sim": venue.model_copy(update={"sim": sim})},
                "legs": (settings.legs[0], cold),
            }
        )
    )


COPY = """
journal = "{journal}"
[venues.exchange]
exchange = "bybit"   # no keys, no network: the report reads the journal only
[[legs]]
name = "btc"
asset = "BTC"
perp = {{ venue = "exchange", symbol = "BTC/USD:BTC" }}
hedge_ratio = 1
[[legs]]
name = "cold"
asset = "BTC"
perp = {{ venue = "exchange", symbol = "BTC/USDT:USDT" }}
spot = [{{ amount = "0.5" }}]
count_collateral = false
hedge_ratio = 1
"""


async def test_report_of_a_30_day_run_matches_the_sims_books_to_the_satoshi(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "run").mkdir()
    daemon = thirty_days(tmp_path / "run")
    ex = (await run_to_the_end(daemon)).exchange

    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(daemon.settings.journal, copy / "journal.sqlite")
    config = copy / "hk.toml"
    config.write_text(COPY.format(journal=copy / "journal.sqlite"))
    capsys.readouterr()
    assert cli.main(["report", "--json", "--config", str(config), "--out", str(copy / "r")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"btc", "cold", "total"}

    for leg, symbol in (("btc", "BTC/USD:BTC"), ("cold", "BTC/USDT:USDT")):
        funding = [e.amount for e in ex.funding_log if e.symbol == symbol]
        fees = [f.fee for f in ex.fills if f.symbol == symbol]
        assert len(funding) >= 80 and fees  # 30 days of 8-hourly settlements
        figures = report[leg]
        if leg == "btc":  # settled in BTC: to the satoshi, and exactly
            assert D(figures["funding_coin"]) == sum(funding, D(0))
            assert D(figures["fees_coin"]) == sum(fees, D(0))
            assert D(figures["funding_received_coin"]) == sum((a for a in funding if a > 0), D(0))
        else:  # settled in USDT: to the cent, and exactly
            assert D(figures["funding_quote"]) == sum(funding, D(0))
            assert D(figures["fees_quote"]) == sum(fees, D(0))
        assert D(figures["journal_funding_coin"]) == sum(funding, D(0))
        # At most one valuation an hour; at 400 x 3600 real speed the daemon does not get to
        # decide in every simulated hour, so not every hour has one.
        assert 100 <= figures["points"] <= 30 * 24 + 1
        assert figures["fills"] == len(fees)
    btc = report["btc"]
    # The deposits (0.5 + 0.3 BTC) and the withdrawal (0.6 BTC) are the only flows.
    assert abs(D(btc["unhedged_final_coin"]) - D("2.2")) < D("0.00001")
    # At h = 1 the hedged value stays near start + flows + funding - fees (the gaps are the
    # hours a deposit waited for its hedge while the sped-up sim ran ahead of the daemon).
    assert D(btc["deviation_max_fraction"]) < D("0.02")
    assert {p.name for p in (copy / "r" / "btc").iterdir()} >= {"value.png", "ratio.png"}

    # --since: only what came after.
    assert cli.main(["report", "--json", "--config", str(config), "--since", "2023-11-30"]) == 0
    later = json.loads(capsys.readouterr().out)
    assert later["btc"]["points"] < btc["points"]
    assert later["btc"]["start"] >= "2023-11-30"


def test_a_journal_without_valuations_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "hk.toml"
    config.write_text(COPY.format(journal=tmp_path / "none.sqlite"))
    assert cli.main(["report", "--config", str(config)]) == 1
    assert "no journal at" in capsys.readouterr().err
    assert cli.main(["report", "--config", str(config), "--since", "yesterday"]) == 2


def test_a_valuation_is_due_once_an_hour() -> None:
    assert due(0.0, -HOUR)
    assert not due(3599.0, 0.0)
    assert due(3600.0, 3599.0)
