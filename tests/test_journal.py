"""The journal on SQLite and on PostgreSQL: intents before orders, client ids from row ids and
lease epochs, the same records on both, the SQLite file lock, and schema versions."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from hedgekeeper import journal_store
from hedgekeeper.domain import AccountIdentity, FundingEvent, Intent, OrderReport, OrderState, Side
from hedgekeeper.journal import Journal, JournalLocked, JournalMismatch, client_id_for, prefix_of
from hedgekeeper.journal_pg import PostgresStore
from hedgekeeper.journal_schema import LATEST, MIGRATIONS
from hedgekeeper.journal_store import SchemaTooNew, SqliteStore, Store
from tests.postgres import PgServer, pg, pg_url

__all__ = ["pg", "pg_url"]  # fixtures
D = Decimal
Opener = Callable[[], Journal]


def intent(side: Side = Side.SELL, contracts: str = "100") -> Intent:
    return Intent("btc", "BTC/USD:BTC", side, D(contracts), side is Side.BUY, None, "test")


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the journal of one account as a daemon does: locked (SQLite) or leased (PG)."""
    opened: list[Journal] = []

    def sqlite() -> Journal:
        opened.append(Journal(tmp_path / "j.sqlite"))
        return opened[-1]

    def postgresql() -> Journal:
        server: PgServer = request.getfixturevalue("pg")
        url = request.getfixturevalue("pg_url")
        journal = Journal(PostgresStore(url, server.password), account="bybit:1001")
        assert journal.take_lease() is not None
        opened.append(journal)
        return journal

    yield sqlite if request.param == "sqlite" else postgresql
    for journal in opened:
        journal.close()


def test_client_ids_derive_from_the_row_and_the_epoch_and_survive_reopening(
    opener: Opener,
) -> None:
    journal = opener()
    first = journal.open_intent(intent(), 1.0, "ex")
    assert first.client_id == f"hk{journal.prefix}{journal.epoch:04d}{first.id:010d}"
    assert first.client_id.isalnum() and len(first.client_id) <= 32  # okx's clOrdId limit
    assert prefix_of(first.client_id) == journal.prefix
    journal.close()
    again = opener()
    assert again.epoch == (journal.epoch or 0) + 1  # a new holder of the account's lease
    second = again.open_intent(intent(), 2.0, "ex")
    assert second.id == first.id + 1 and second.client_id.startswith(f"hk{journal.prefix}")
    assert [o.client_id for o in again.unfinished()] == [first.client_id, second.client_id]


def test_a_final_report_closes_the_intent_and_books_a_signed_fill(opener: Opener) -> None:
    journal = opener()
    sell = journal.open_intent(intent(Side.SELL, "100"), 1, "ex")
    buy = journal.open_intent(intent(Side.BUY, "40"), 2, "ex")
    filled = OrderReport(sell.client_id, OrderState.FILLED, D(100), D(65000), D("0.0001"), 3)
    assert journal.record(sell, filled) == D(-100)
    part = OrderReport(buy.client_id, OrderState.PARTIAL, D(30), D(64000), D(0), 4)
    assert journal.record(buy, part) == D(30)
    assert journal.record(buy, part) == D(30)  # a repeated final report books no second fill
    assert journal.filled_position("btc") == D(-70)
    assert journal.unfinished() == []
    assert journal.count("orders") == 3 and journal.count("fills") == 2


def test_an_open_report_books_no_fill(opener: Opener) -> None:
    journal = opener()
    sell = journal.open_intent(intent(), 1, "ex")
    report = OrderReport(sell.client_id, OrderState.OPEN, D(0), None, D(0), 2)
    assert journal.record(sell, report) == 0
    assert [o.state for o in journal.unfinished()] == [OrderState.OPEN]
    journal.mark(sell, OrderState.UNKNOWN, 3)
    assert [o.state for o in journal.unfinished()] == [OrderState.UNKNOWN]


def test_the_exchange_id_is_kept_on_the_intent_from_the_first_answer_on(opener: Opener) -> None:
    journal = opener()
    sell = journal.open_intent(intent(), 1, "ex")
    assert sell.exchange_id is None
    kept = journal.keep_exchange_id(sell, "737001", 2)
    assert kept.exchange_id == "737001" and kept.client_id == sell.client_id
    # A later report that does not repeat the id (a lookup by client id) keeps it.
    journal.record(kept, OrderReport(sell.client_id, OrderState.OPEN, D(0), None, D(0), 3))
    journal.close()
    again = opener()
    assert [(o.client_id, o.exchange_id) for o in again.unfinished()] == [
        (sell.client_id, "737001")
    ]


def test_a_final_report_gives_the_intent_its_exchange_id(opener: Opener) -> None:
    journal = opener()
    sell = journal.open_intent(intent(), 1, "ex")
    done = OrderReport(sell.client_id, OrderState.FILLED, D(100), D(65000), D(0), 2, "737002")
    journal.record(sell, done)
    assert journal.store.query("SELECT exchange_id FROM intents") == [("737002",)]


def test_funding_is_recorded_once(opener: Opener) -> None:
    journal = opener()
    event = FundingEvent("BTC/USD:BTC", D("0.0001"), 100.0, D("0.0001"))
    later = FundingEvent("BTC/USD:BTC", D("-0.00003"), 200.0, None)
    assert journal.funding("btc", event) is True
    assert journal.funding("btc", event) is False
    assert journal.fundings("btc", [event, later]) == [later]
    assert journal.funding_total("btc") == D("0.00007")
    assert journal.last_funding_ts("btc") == 200.0
    assert journal.last_funding_ts("eth") is None


def test_decisions_transfers_and_events_are_counted(opener: Opener) -> None:
    journal = opener()
    journal.decision(1.0, "btc", "hold", "on target", None, None)
    journal.transfer(2.0, "btc", "BTC", D("0.1"), "done", "spot -> derivatives")
    journal.event(3.0, "btc", "halted", "why")
    assert [journal.count(t) for t in ("decisions", "transfers", "events")] == [1, 1, 1]


def test_unfinished_intents_by_leg_and_venue_and_older_journals(opener: Opener) -> None:
    journal = opener()
    at_a = journal.open_intent(intent(), 1, "a")
    at_b = journal.open_intent(intent(), 2, "b")
    # An intent written before intents recorded their venue: its leg's executor still asks.
    journal.store.query("UPDATE intents SET venue=NULL WHERE id=?", (at_b.id,))
    journal.close()
    again = opener()
    assert [o.client_id for o in again.unfinished("btc", "a")] == [at_a.client_id, at_b.client_id]
    assert [o.client_id for o in again.unfinished("btc", "c")] == [at_b.client_id]
    assert again.unfinished("eth", "a") == []
    assert [(o.venue) for o in again.unfinished()] == ["a", None]


def test_unknown_table_is_refused(opener: Opener) -> None:
    with pytest.raises(ValueError, match="no journal table"):
        opener().count("intents; DROP TABLE intents")


def test_a_journal_newer_than_the_code_is_refused(opener: Opener) -> None:
    journal = opener()
    journal.store.query(
        "INSERT INTO schema_version (version, applied, why) VALUES (?,?,?)",
        (LATEST + 1, 0.0, "from the future"),
    )
    journal.close()
    with pytest.raises(SchemaTooNew, match=rf"schema version {LATEST + 1}, newer than this"):
        opener()


def test_client_id_prefixes_tell_our_orders_from_anyone_elses() -> None:
    assert prefix_of(client_id_for("a1b2c3", 7, 42)) == "a1b2c3"
    assert prefix_of("hka1b2c30000000042") == "a1b2c3"  # made before lease epochs
    assert prefix_of("web-order-1") is None and prefix_of("hk1") is None


# ---- SQLite: the file lock, and journals made before schema versions ------------------------


def test_two_journals_never_share_client_ids(tmp_path: Path) -> None:
    a, b = Journal(tmp_path / "a.sqlite"), Journal(tmp_path / "b.sqlite")
    assert a.open_intent(intent(), 1, "ex").client_id != b.open_intent(intent(), 1, "ex").client_id


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


LEGACY = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE intents (
  id INTEGER PRIMARY KEY, ts REAL NOT NULL, leg TEXT NOT NULL, symbol TEXT NOT NULL,
  side TEXT NOT NULL, contracts TEXT NOT NULL, reduce_only INTEGER NOT NULL, limit_price TEXT,
  client_id TEXT UNIQUE, state TEXT NOT NULL, reason TEXT NOT NULL, updated REAL NOT NULL);
CREATE TABLE fills (
  id INTEGER PRIMARY KEY, intent_id INTEGER NOT NULL UNIQUE REFERENCES intents(id),
  ts REAL NOT NULL, leg TEXT NOT NULL, contracts TEXT NOT NULL, price TEXT, fee TEXT NOT NULL);
CREATE TABLE funding (
  id INTEGER PRIMARY KEY, leg TEXT NOT NULL, symbol TEXT NOT NULL, ts REAL NOT NULL,
  amount TEXT NOT NULL, rate TEXT, UNIQUE (leg, symbol, ts));
INSERT INTO meta VALUES ('prefix', 'abc123');
INSERT INTO intents VALUES (1, 1.0, 'btc', 'BTC/USD:BTC', 'sell', '5', 0, NULL,
  'hkabc1230000000001', 'unknown', 'opening', 1.0);
INSERT INTO intents VALUES (2, 2.0, 'btc', 'BTC/USD:BTC', 'sell', '7', 0, NULL,
  'hkabc1230000000002', 'filled', 'more', 2.0);
INSERT INTO fills VALUES (1, 2, 2.0, 'btc', '-7', '60000', '0');
INSERT INTO funding VALUES (1, 'btc', 'BTC/USD:BTC', 50.0, '0.01', NULL);
"""


def test_a_journal_made_before_schema_versions_is_migrated_keeping_its_records(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(LEGACY)
    db.close()
    journal = Journal(path)
    assert journal.prefix == "abc123"  # its orders at the exchange are still recognised as ours
    assert [(o.client_id, o.state, o.venue) for o in journal.unfinished("btc", "bybit")] == [
        ("hkabc1230000000001", OrderState.UNKNOWN, None)  # made before intents had a venue
    ]
    assert journal.filled_position("btc") == D(-7) and journal.funding_total("btc") == D("0.01")
    assert journal.open_intent(intent(), 3, "ex").id == 3
    versions = journal.store.query("SELECT version FROM schema_version ORDER BY version")
    assert [v for (v,) in versions] == list(range(1, LATEST + 1))
    journal.close()
    Journal(path).close()  # already at the latest version: nothing to apply twice


SCHEMA_3_INTENT = (
    "INSERT INTO intents (account, epoch, ts, leg, symbol, side, contracts, reduce_only, state,"
    " reason, updated, venue, client_id) VALUES ('', 1, 1.0, 'btc', 'BTC/USDT:USDT', 'sell',"
    " '0.1', 0, ?, 'x', 1.0, 'weex', ?) RETURNING id"
)
SCHEMA_3_REPORT = (
    "INSERT INTO orders (account, intent_id, ts, exchange_id, state, filled, fee, message)"
    " VALUES ('', ?, 2.0, ?, ?, '0', '0', '')"
)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_journal_of_schema_3_gives_its_open_intents_the_exchange_id_of_their_reports(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before version 4 the id was kept only with each report: an intent a report left open (a
    resting order whose end was never read) is looked up by it after the upgrade."""

    def store() -> Store:
        if kind == "sqlite":
            return SqliteStore(tmp_path / "j.sqlite")
        server: PgServer = request.getfixturevalue("pg")
        return PostgresStore(request.getfixturevalue("pg_url"), server.password)

    old = store()
    with monkeypatch.context() as previous:  # the hedgekeeper before this one
        previous.setattr(journal_store, "MIGRATIONS", MIGRATIONS[:3])
        previous.setattr(journal_store, "LATEST", 3)
        assert journal_store.migrate(old) == 3
    with old.tx() as tx:
        ids = [tx.execute(SCHEMA_3_INTENT, (state, f"hkold{n}"))[0][0]
               for n, state in enumerate(("open", "unknown", "filled"))]  # fmt: skip
        for intent_id, exchange_id, state in [(ids[0], None, "open"), (ids[0], "737001", "open"),
                                              (ids[2], "737003", "filled")]:  # fmt: skip
            tx.execute(SCHEMA_3_REPORT, (intent_id, exchange_id, state))
    old.close()
    journal = Journal(store())
    assert [(o.client_id, o.exchange_id) for o in journal.unfinished()] == [
        ("hkold0", "737001"),
        ("hkold1", None),  # never answered: found by scanning, as before
    ]
    done = journal.store.query("SELECT exchange_id FROM intents WHERE client_id='hkold2'")
    assert done == [("737003",)]
    versions = journal.store.query("SELECT version FROM schema_version ORDER BY version")
    assert [v for (v,) in versions] == list(range(1, LATEST + 1)) and LATEST == 4
    journal.close()


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


def test_a_journal_belongs_to_the_accounts_of_its_first_run(opener: Opener) -> None:
    bybit, sim = AccountIdentity("bybit", "5501"), AccountIdentity("sim", "run 1")
    journal = opener()
    path = journal.path
    journal.claim({"main": bybit})
    journal.claim({"main": bybit, "demo": sim})  # the same account again; a venue added
    journal.close()
    again = opener()
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
    journal.store.db.set_trace_callback(seen.append)
    journal.decision(1.0, "btc", "trade", "sell", None, None)
    journal.event(2.0, "btc", "guard:glitch", "jump")
    assert [s for s in seen if s.startswith(("PRAGMA", "INSERT"))] == [
        "PRAGMA synchronous=NORMAL", seen[1], "PRAGMA synchronous=FULL",
        "PRAGMA synchronous=NORMAL", seen[4], "PRAGMA synchronous=FULL",
    ]  # fmt: skip
    assert seen[1].startswith("INSERT INTO decisions") and seen[4].startswith("INSERT INTO events")
    assert journal.store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL for the intent
    other = sqlite3.connect(tmp_path / "j.sqlite")  # committed: visible to another reader
    assert other.execute("SELECT count(*) FROM decisions").fetchone()[0] == 1
    other.close()
    journal.close()


def test_a_simulation_journal_keeps_its_waiting_rows_through_a_failed_transaction(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "sim.sqlite", durable=False)
    store.query("CREATE TABLE t (x INTEGER)")
    store.report("INSERT INTO t (x) VALUES (?)", (1,))
    with pytest.raises(RuntimeError), store.tx() as tx:
        tx.execute("INSERT INTO t (x) VALUES (?)", (2,))
        raise RuntimeError("the order's transaction fails")
    with store.tx() as tx:
        tx.execute("INSERT INTO t (x) VALUES (?)", (3,))
    assert store.query("SELECT x FROM t ORDER BY x") == [(1,), (3,)]
    store.close()
