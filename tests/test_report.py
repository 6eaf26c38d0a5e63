"""The report of a replay: its figures by hand, the table, exact JSON, the plots, the command."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from hedgekeeper import cli
from hedgekeeper.report import drawdown, figures, table, to_json
from hedgekeeper.simulate import prepare, run
from tests.test_simulate import prices_csv, settings

D = Decimal


def test_drawdown_is_the_worst_fall_from_a_running_peak() -> None:
    worst = drawdown([D(100), D(120), D(90), D(130), D(117)])
    assert (worst.fraction, worst.amount) == (D("0.25"), D(30))
    assert drawdown([D(1), D(2), D(3)]).fraction == 0


def test_figures_of_a_crash_and_a_funding_payment_hedged_at_h1(tmp_path: Path) -> None:
    # 50000 -> 25000 (a halving) with funding of +0.1 % settled at the bottom.
    rows = [("50000", ""), ("25000", "0.001"), ("25000", "")]
    fig = figures(run(prepare(settings(), prices_csv(tmp_path, rows)), None))
    assert (fig.unhedged_start, fig.unhedged_final) == (50000, 25000)
    assert fig.unhedged_drawdown.fraction == D("0.5")
    assert (fig.worst_day_unhedged, fig.worst_day_hedged) == (D("-0.5"), D("0.001"))  # funding
    # Short 5000 contracts = 50000 USD; at 25000 that is 2 BTC of notional, so funding pays
    # 0.002 BTC = 50 USD, which the daemon hedges at once with 5 more contracts.
    assert fig.funding_coin == D("0.002") and fig.funding_quote == 50
    assert fig.hedged_final == 50050 and fig.hedged_drawdown.fraction == 0
    assert fig.orders == 2 and fig.fees_coin == 0 and fig.deviation_max_quote == 0
    assert fig.residual_max_coin == 0 and fig.guard_trips == {"glitch": 1}  # X doubled
    # 50 USD over a mean notional of (50000 + 50050 + 50050)/3, over two hours, per year.
    mean = (D(50000) + D(50050) + D(50050)) / 3
    assert fig.funding_annualised == D(50) / mean * D(365.25 * 24 * 3600) / D(7200)
    data = to_json(fig)
    assert data["funding_coin"] == "0.002" and data["hedged_final"] == "5.005E+4"
    assert json.loads(json.dumps(data)) == data
    text = table(fig)
    for needle in ("unhedged", "50,050.00 USD", "-50.00 %", "0.00200000 BTC = 50.00 USD"):
        assert needle in text


def test_the_command_prints_the_table_and_writes_report_plots_and_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = prices_csv(tmp_path, [("50000", ""), ("40000", "0.0002"), ("45000", "")])
    out = tmp_path / "out"
    argv = ["simulate", f"--prices={prices}", "--start-coin=2", "--ratio=0.5", f"--out={out}"]
    assert cli.main(argv) == 0
    assert "the insurance" in capsys.readouterr().out
    for name in ("report.json", "report.txt", "journal.sqlite"):
        assert (out / name).stat().st_size > 0
    for name in ("value.png", "ratio.png", "funding.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((out / "report.json").read_text())
    assert saved["hedge_ratio"] == "0.5" and saved["start_coin"] == "2"
    assert cli.main(["simulate", f"--prices={prices}", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["points"] == 3


def test_a_bad_prices_file_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,price\n1704067200,-5\n")
    assert cli.main(["simulate", f"--prices={bad}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "line 2, column 'price': price must be positive" in err
