"""The real `hedgekeeper` process: default run, signals, the lock, status, and secrets."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SECRET = "hk-test-SECRET-9f8e7d6c5b4a"

CONFIG = """
mode = "dry-run"
journal = "{journal}"
kill_file = "{kill}"
[ops]
enabled = false
[venues.sim]
exchange = "sim"
rest_interval = 0.2
[venues.sim.sim]
speed = 72000
spot = {{ BTC = "0" }}
derivatives = {{ BTC = "2", USDT = "1000" }}
events = [{{ at_hours = 3, asset = "BTC", amount = "0.5", wallet = "derivatives" }}]
[[legs]]
name = "btc"
asset = "BTC"
perp = {{ venue = "sim", symbol = "BTC/USD:BTC" }}
hedge_ratio = 1.0
"""


def hk(*args: str, env: dict[str, str] | None = None, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hedgekeeper.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        **kw,  # type: ignore[call-overload]
    )


def wait_for(proc: subprocess.Popen[str], event: str) -> list[str]:
    """Read the daemon's JSON log lines until `event` appears (no sleeping, no polling)."""
    seen = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if f'"event": "{event}"' in line:
            return seen
    raise AssertionError(f"{event} never came:\n{''.join(seen)}")


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "hk.toml"
    path.write_text(CONFIG.format(journal=tmp_path / "j.sqlite", kill=tmp_path / "STOP"))
    yield path


def test_default_run_says_so_hedges_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc = hk("run", "--duration", "60", cwd=tmp_path, env={"HEDGEKEEPER_OPS__PORT": "0"})
    lines = wait_for(proc, "order_done")
    assert "embedded default" in lines[0] and "dry-run" in lines[1]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert '"event": "daemon_stopped"' in err
    assert (tmp_path / "hedgekeeper-default.sqlite").exists()


def test_the_demo_starts_clean_and_journals_funding_on_every_run(tmp_path: Path) -> None:
    """The demo's sim restarts its clock each run: a journal kept from the last run would hold
    funding times after every new payment, and none would ever be journaled again."""
    journal = tmp_path / "hedgekeeper-default.sqlite"
    prefixes = []
    for _ in range(2):
        proc = hk("run", "--duration", "3", cwd=tmp_path, env={"HEDGEKEEPER_OPS__PORT": "0"})
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        db = sqlite3.connect(journal)
        try:
            assert db.execute("SELECT COUNT(*) FROM funding").fetchone()[0] > 0, err
            prefixes.append(db.execute("SELECT prefix FROM accounts").fetchone())
        finally:
            db.close()
    assert prefixes[0] != prefixes[1]  # a new journal, not the old one continued


def test_a_journal_kept_for_another_account_is_refused(config: Path) -> None:
    first = hk("run", "--config", str(config), "--duration", "1")
    _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    second = hk("run", "--config", str(config), "--duration", "1")
    _, err = second.communicate(timeout=60)
    assert second.returncode == 2, err
    assert "j.sqlite belongs to another account: venue 'sim' is sim account run " in err
    assert "own journal" in err and "the sim opens a new account on every run" in err


def test_a_second_daemon_on_the_same_journal_exits_naming_the_lock(config: Path) -> None:
    first = hk("run", "--config", str(config), "--duration", "60")
    wait_for(first, "daemon_ready")
    second = hk("run", "--config", str(config), "--duration", "60")
    _, err = second.communicate(timeout=30)
    assert second.returncode == 1
    assert "j.sqlite.lock" in err and "locked by another hedgekeeper" in err
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=20)
    assert first.returncode == 0


def test_kill_switch_by_file_and_by_signal(config: Path, tmp_path: Path) -> None:
    stop_file = tmp_path / "STOP"
    stop_file.write_text("")  # killed from the start: the opening hedge is refused
    proc = hk("run", "--config", str(config), "--duration", "60")
    lines = wait_for(proc, "decision")
    assert "kill switch is on" in lines[-1]
    proc.send_signal(signal.SIGUSR1)  # the signal holds it once the file is gone
    lines += wait_for(proc, "kill_switch")
    stop_file.unlink()
    proc.send_signal(signal.SIGUSR2)
    lines += wait_for(proc, "kill_switch")
    assert '"on": false' in lines[-1]
    assert not any('"order_sent"' in line for line in lines)  # nothing while killed
    wait_for(proc, "order_done")  # and trading resumes once both are lifted
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    db = sqlite3.connect(tmp_path / "j.sqlite")
    reasons = [r[0] for r in db.execute("SELECT detail FROM events WHERE kind='guard:kill_switch'")]
    assert reasons and all("kill switch" in r for r in reasons)


def test_secrets_never_reach_logs_journal_or_status(config: Path, tmp_path: Path) -> None:
    env = {"HEDGEKEEPER_VENUES__SIM__API_KEY": SECRET, "HEDGEKEEPER_VENUES__SIM__SECRET": SECRET}
    proc = hk("run", "--config", str(config), "--duration", "60", env=env)
    wait_for(proc, "order_done")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    status = hk("status", "--config", str(config), "--json", env=env)
    s_out, s_err = status.communicate(timeout=30)
    assert status.returncode == 0, s_err
    assert json.loads(s_out)["legs"][0]["leg"] == "btc"
    check = hk("check", "--config", str(config), env=env)
    c_out, c_err = check.communicate(timeout=30)
    assert check.returncode == 0, c_err
    bad = hk("check", "--config", str(config), env={**env, "HEDGEKEEPER_MODE": SECRET})
    b_out, b_err = bad.communicate(timeout=30)
    assert bad.returncode == 2 and "mode" in b_err
    for text in (out, err, s_out, s_err, c_out, c_err, b_out, b_err):
        assert SECRET not in text
    for path in tmp_path.iterdir():
        if path.name.startswith("j.sqlite"):
            assert SECRET.encode() not in path.read_bytes()


def test_status_one_shot_reports_what_it_would_do(config: Path) -> None:
    proc = hk("status", "--config", str(config))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "btc: one-shot" in out and "target -130000" in out
    assert "sell to add to the short" in out


def test_check_reports_market_and_account(config: Path) -> None:
    proc = hk("check", "--config", str(config))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "contract size 1 USD per contract" in out
    assert "wallet separate spot/contract, leverage 1x, margin cross, position mode one-way" in out
