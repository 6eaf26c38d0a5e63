"""The journal: intents before orders, client ids from row ids, the instance lock."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from hedgekeeper.domain import AccountIdentity, Intent, OrderReport, OrderState, Side
from hedgekeeper.journal import Journal, JournalLocked, JournalMismatch

D = Decimal


def intent(side: Side = Side.SELL, contracts: str = "100") -> Intent:
    return Intent("btc", "BTC/USD:BTC", side, D(contracts), side is Side.BUY, None, "test")


def test_client_ids_derive_from_the_row_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    first = journal.open_intent(intent(), 1.0, "ex")
    assert first.client_id == f"hk{journal.prefix}{first.id:010d}"
    assert first.client_id.isalnum() and len(first.client_id) <= 32  # okx's clOrdId limit
    journal.close()
    again = Journal(path)
    second = again.open_intent(intent(), 2.0, "ex")
    assert second.id == first.id + 1 and second.client_id.startswith(f"hk{journal.prefix}")
    assert [o.client_id for o in again.unfinished()] == [first.client_id, second.client_id]
    again.close()


def test_two_journals_never_share_client_ids(tmp_path: Path) -> None:
    a, b = Journal(tmp_path / "a.sqlite"), Journal(tmp_path / "b.sqlite")
    assert a.open_intent(intent(), 1, "ex").client_id != b.open_intent(intent(), 1, "ex").client_id


def test_a_final_report_closes_the_intent_and_books_a_signed_fill(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    sell = journal.open_intent(intent(Side.SELL, "100"), 1, "ex")
    buy = journal.open_intent(intent(Side.BUY, "40"), 2, "ex")
    filled = OrderReport(sell.client_id, OrderState.FILLED, D(100), D(65000), D("0.0001"), 3)
    assert journal.record(sell, filled) == D(-100)
    part = OrderReport(buy.client_id, OrderState.PARTIAL, D(30), D(64000), D(0), 4)
    assert journal.record(buy, part) == D(30)
    assert journal.filled_position("btc") == D(-70)
    assert journal.unfinished() == []
    assert journal.count("orders") == 2 and journal.count("fills") == 2


def test_an_open_report_books_no_fill(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    sell = journal.open_intent(intent(), 1, "ex")
    report = OrderReport(sell.client_id, OrderState.OPEN, D(0), None, D(0), 2)
    assert journal.record(sell, report) == 0
    assert [o.state for o in journal.unfinished()] == [OrderState.OPEN]


def test_funding_is_recorded_once(tmp_path: Path) -> None:
    from hedgekeeper.domain import FundingEvent

    journal = Journal(tmp_path / "j.sqlite")
    event = FundingEvent("BTC/USD:BTC", D("0.0001"), 100.0, D("0.0001"))
    assert journal.funding("btc", event) is True
    assert journal.funding("btc", event) is False
    assert journal.funding_total("btc") == D("0.0001")
    assert journal.last_funding_ts("btc") == 100.0


def test_a_second_journal_on_the_same_file_is_refused_naming_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    holder = Journal(path)
    with pytest.raises(JournalLocked, match=r"j\.sqlite\.lock"):
        Journal(path)
    holder.close()
    Journal(path).close()  # free again once the holder is gone


def test_the_lock_holds_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    holder = Journal(path)
    code = (
        "import sys; from pathlib import Path; from hedgekeeper.journal import Journal, "
        "JournalLocked\ntry:\n Journal(Path(sys.argv[1]))\nexcept JournalLocked as e:\n "
        "print(e); sys.exit(3)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 3 and "locked by another hedgekeeper" in done.stdout
    holder.close()


def test_unknown_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no journal table"):
        Journal(tmp_path / "j.sqlite").count("intents; DROP TABLE intents")


def test_unfinished_intents_by_leg_and_venue_and_older_journals(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    at_a = journal.open_intent(intent(), 1, "a")
    at_b = journal.open_intent(intent(), 2, "b")
    # An intent written before intents recorded their venue: its leg's executor still asks.
    journal.db.execute("UPDATE intents SET venue=NULL WHERE id=?", (at_b.id,))
    journal.close()
    again = Journal(path)
    assert [o.client_id for o in again.unfinished("btc", "a")] == [at_a.client_id, at_b.client_id]
    assert [o.client_id for o in again.unfinished("btc", "c")] == [at_b.client_id]
    assert again.unfinished("eth", "a") == []
    assert [(o.venue) for o in again.unfinished()] == ["a", None]


def test_a_journal_from_before_the_venue_column_opens_and_keeps_its_intents(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE intents (id INTEGER PRIMARY KEY, ts REAL NOT NULL, leg TEXT NOT NULL,"
        " symbol TEXT NOT NULL, side TEXT NOT NULL, contracts TEXT NOT NULL,"
        " reduce_only INTEGER NOT NULL, limit_price TEXT, client_id TEXT UNIQUE,"
        " state TEXT NOT NULL, reason TEXT NOT NULL, updated REAL NOT NULL)"
    )
    db.execute(
        "INSERT INTO intents VALUES (1, 1, 'btc', 'BTC/USD:BTC', 'sell', '5', 0, NULL,"
        " 'hkold0000000001', 'unknown', 'x', 1)"
    )
    db.commit()
    db.close()
    journal = Journal(path)
    [old] = journal.unfinished("btc", "bybit")
    assert (old.client_id, old.venue) == ("hkold0000000001", None)


def test_a_journal_belongs_to_the_accounts_of_its_first_run(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    bybit, sim = AccountIdentity("bybit", "5501"), AccountIdentity("sim", "run 1")
    journal = Journal(path)
    journal.claim({"main": bybit})
    journal.claim({"main": bybit, "demo": sim})  # the same account again; a venue added
    journal.close()
    again = Journal(path)
    assert again.identity() == {"main": bybit, "demo": sim}
    with pytest.raises(JournalMismatch) as refused:
        again.claim({"main": AccountIdentity("bybit", "7777"), "demo": sim})
    message = str(refused.value)
    assert "venue 'main' is bybit account 7777" in message
    assert "kept for bybit account 5501" in message and str(path) in message
    assert "own journal" in message and "sim opens" not in message
    assert again.identity() == {"main": bybit, "demo": sim}  # nothing recorded on a refusal
    with pytest.raises(JournalMismatch, match="the sim opens a new account on every run"):
        again.claim({"demo": AccountIdentity("sim", "run 2")})


def test_a_fresh_journal_starts_empty_but_only_once_the_lock_is_held(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    old = Journal(path)
    old.claim({"sim": AccountIdentity("sim", "run 1")})
    with pytest.raises(JournalLocked):
        Journal(path, fresh=True)  # a running daemon's journal is never wiped
    assert old.identity() != {}
    old.close()
    assert Journal(path, fresh=True).identity() == {}


def test_reports_skip_the_fsync_that_an_intent_keeps(tmp_path: Path) -> None:
    """Decisions and events commit at once with synchronous=NORMAL; the next durable commit
    (an intent's) runs with FULL again, and its WAL fsync covers the reports written before it."""
    journal = Journal(tmp_path / "j.sqlite")
    seen: list[str] = []
    journal.db.set_trace_callback(seen.append)
    journal.decision(1.0, "btc", "trade", "sell", None, None)
    journal.event(2.0, "btc", "guard:glitch", "jump")
    assert [s for s in seen if s.startswith(("PRAGMA", "INSERT"))] == [
        "PRAGMA synchronous=NORMAL", seen[1], "PRAGMA synchronous=FULL",
        "PRAGMA synchronous=NORMAL", seen[4], "PRAGMA synchronous=FULL",
    ]  # fmt: skip
    assert seen[1].startswith("INSERT INTO decisions") and seen[4].startswith("INSERT INTO events")
    assert journal.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL for the intent
    other = sqlite3.connect(tmp_path / "j.sqlite")  # committed: visible to another reader
    assert other.execute("SELECT count(*) FROM decisions").fetchone()[0] == 1
    other.close()
    journal.close()
