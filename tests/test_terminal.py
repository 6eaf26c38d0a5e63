"""The terminal a person reads: the demo is quiet and narrow, alive, and sums itself up on exit."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hedgekeeper.journal import Journal
from hedgekeeper.terminal import RunSummary, achieved, heartbeat, status_table

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on a pseudo-terminal, as a person would see it."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hedgekeeper.cli", *args],
        stdout=slave,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env={**os.environ, **env},
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    code = proc.wait(timeout=60)
    return code, ANSI.sub("", b"".join(chunks).decode()).replace("\r\n", "\n")


def test_the_demo_is_quiet_fits_120_columns_and_shows_it_is_alive(tmp_path: Path) -> None:
    """`hedgekeeper run` with no config: deposits, a withdrawal, fee-trimmed increases, and not
    one warning; every line fits 120 columns; heartbeats and a summary; no Python reprs."""
    env = {"HEDGEKEEPER_OPS__PORT": "0", "HEDGEKEEPER_LOG__HEARTBEAT_SECONDS": "1"}
    code, text = on_a_terminal(["run", "--duration", "7"], tmp_path, env)
    assert code == 0, text
    lines = text.splitlines()
    assert lines, "nothing printed"
    too_wide = [line for line in lines if len(line) > 120]
    assert not too_wide, "\n".join(too_wide)
    assert not [line for line in lines if " WARN " in line or " ERROR " in line], text
    for repr_ in ("None", "False", "True", "Decimal(", "'"):
        assert repr_ not in text.replace("Ctrl", ""), (repr_, text)
    assert "exposure confirmed" in text  # the deposits were seen and believed, quietly
    assert re.search(r"alive, live, mark [\d,]+\.\d\d USD, X \d\.\d{8} BTC", text), text
    assert re.search(r"summary|this run: \d+ orders", text), text
    # Figures are rounded for people: no 28-digit fees on the terminal.
    assert not re.search(r"\d\.\d{9,}", text), text


def test_status_watch_draws_a_table_of_every_leg(tmp_path: Path) -> None:
    config = tmp_path / "hk.toml"
    config.write_text(
        f'journal = "{tmp_path / "j.sqlite"}"\n[ops]\nenabled = false\n'
        '[venues.sim]\nexchange = "sim"\n[[legs]]\nname = "btc"\nasset = "BTC"\n'
        'perp = { venue = "sim", symbol = "BTC/USD:BTC" }\nhedge_ratio = 1.0\n'
    )
    code, text = on_a_terminal(
        ["status", "--watch", "--count", "2", "--interval", "0.05", "--config", str(config)],
        tmp_path,
        {"COLUMNS": "140"},
    )
    assert code == 0, text
    assert "btc" in text and "one-shot" in text
    assert "65,000.00 USD" in text and "0.60000000 BTC" in text
    assert "-39,000" in text  # the target, whole contracts with separators


def leg_status(**over: Any) -> dict[str, Any]:
    base = {
        "leg": "btc",
        "symbol": "BTC/USD:BTC",
        "contract_kind": "inverse",
        "contract_size": "1",
        "state": "live",
        "mark": "50000",
        "exposure": "2",
        "position": "-99000",
        "target": "-100000",
        "drift": "-1000",
    }
    return {**base, **over}


def test_h_achieved_is_the_shorts_coin_value_over_the_exposure() -> None:
    assert achieved(leg_status()) == Decimal("0.99")
    linear = leg_status(
        contract_kind="linear", contract_size="0.001", position="-500", exposure="0.5"
    )
    assert achieved(linear) == Decimal(1)
    assert achieved(leg_status(exposure="0")) is None
    assert achieved(leg_status(mark=None)) is None


def test_status_table_rounds_with_units() -> None:
    from rich.console import Console

    console = Console(width=160, record=True, color_system=None)
    console.print(status_table({"mode": "dry-run", "source": "test", "legs": [leg_status()]}))
    text = console.export_text()
    assert "50,000.00 USD" in text and "2.00000000 BTC" in text
    assert "-99,000 / -100,000" in text and "0.9900" in text


async def test_heartbeat_logs_each_leg_until_stopped() -> None:
    from structlog.testing import capture_logs

    class Leg:
        def __init__(self) -> None:
            self.calls = 0

        def status(self) -> dict[str, Any]:
            self.calls += 1
            if self.calls == 2:
                stop.set()
            return leg_status()

    stop = asyncio.Event()
    leg = Leg()
    with capture_logs() as logs:
        await asyncio.wait_for(heartbeat([leg], stop, 0.001), 10)
    beats = [e for e in logs if e["event"] == "heartbeat"]
    assert len(beats) == 2
    assert Decimal(beats[0]["hedged"]) == Decimal("0.99") and beats[0]["mark"] == "50000"


def test_run_summary_counts_only_this_runs_orders(tmp_path: Path) -> None:
    from hedgekeeper.domain import Intent, OrderReport, OrderState, Side

    journal = Journal(tmp_path / "j.sqlite", lock=False)

    def fill(fee: str) -> None:
        intent = Intent("btc", "BTC/USD:BTC", Side.SELL, Decimal(10), False, None, "test")
        opened = journal.open_intent(intent, 1.0, "sim")
        report = OrderReport(
            opened.client_id, OrderState.FILLED, Decimal(10), Decimal(1), Decimal(fee), 1.0
        )
        journal.record(opened, report)

    fill("0.5")  # an earlier run's
    summary = RunSummary(journal)
    summary.begin()
    fill("0.00000001")
    fill("0.00000002")
    [line] = summary.lines([leg_status()])
    assert line["orders"] == 2 and line["fills"] == 2
    assert line["fee"] == "3E-8" or Decimal(line["fee"]) == Decimal("0.00000003")
    journal.close()


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            {
                "event": "order_done",
                "leg": "btc",
                "symbol": "BTC/USD:BTC",
                "client_id": "hk1",
                "state": "filled",
                "filled": "-32913",
                "price": "65508.72",
                "fee": "0.0002512108311687360094961403612",
            },
            "order filled: -32,913 contracts at 65,508.72 USD, fee 0.00025121 BTC (hk1)",
        ),
        (
            {
                "event": "order_done",
                "leg": "cold",
                "symbol": "BTC/USDT:USDT",
                "client_id": "hk2",
                "state": "filled",
                "filled": "-500",
                "price": "65000",
                "fee": "16.250000000",
            },
            "order filled: -500 contracts at 65,000.00 USDT, fee 16.25 USDT (hk2)",
        ),
        (
            {
                "event": "decision",
                "leg": "btc",
                "action": "hold",
                "guard": None,
                "reason": "free collateral 0.999500000000000000000000000 affords 3",
            },
            "hold: free collateral 0.99950000 affords 3",
        ),
        (
            {
                "event": "order_sent",
                "leg": "btc",
                "symbol": "BTC/USD:BTC",
                "client_id": "hk3",
                "side": "buy",
                "contracts": "12",
                "reduce_only": True,
                "limit": None,
            },
            "order buy 12 contracts at market reduce-only (hk3)",
        ),
    ],
)
def test_console_lines_read_like_sentences(event: dict[str, Any], expected: str) -> None:
    from hedgekeeper.console import ConsoleRenderer

    line = ConsoleRenderer()(
        None, "info", {"timestamp": "2026-01-01T10:20:30.1Z", "level": "info", **event}
    )
    assert line.startswith("10:20:30")
    assert line.endswith(expected), line
    assert "None" not in line


def test_console_wraps_long_lines_under_an_indent() -> None:
    from hedgekeeper.console import WIDTH, ConsoleRenderer

    reason = "word " * 80
    line = ConsoleRenderer()(
        None,
        "warning",
        {
            "event": "guard_tripped",
            "level": "warning",
            "leg": "btc",
            "guard": "margin",
            "reason": reason,
        },
    )
    rows = line.splitlines()
    assert len(rows) > 2 and all(len(r) <= WIDTH for r in rows)
    assert " WARN " in rows[0] and rows[1].startswith(" " * 22)
