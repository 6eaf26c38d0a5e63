"""The SQLite journal: the daemon's memory across crashes, and its single-instance lock.

An intent is committed before its order is sent, with a client order id derived from the intent's
row id, so after any crash the daemon can ask the exchange about exactly the orders it may have
sent. WAL mode keeps readers (`status`) from blocking the writer. A journal belongs to the
accounts of its first run (`claim`): continued on another account, its intents would be looked up
where they were never sent and its funding and fills would describe someone else's position.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO

from hedgekeeper.domain import (
    AccountIdentity,
    FundingEvent,
    Intent,
    OrderReport,
    OrderState,
    Plan,
    Side,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
  id INTEGER PRIMARY KEY, ts REAL NOT NULL, leg TEXT NOT NULL, action TEXT NOT NULL,
  reason TEXT NOT NULL, guard TEXT, exposure TEXT, target TEXT, position TEXT, drift TEXT,
  mark TEXT);
CREATE TABLE IF NOT EXISTS intents (
  id INTEGER PRIMARY KEY, ts REAL NOT NULL, leg TEXT NOT NULL, symbol TEXT NOT NULL,
  side TEXT NOT NULL, contracts TEXT NOT NULL, reduce_only INTEGER NOT NULL, limit_price TEXT,
  client_id TEXT UNIQUE, state TEXT NOT NULL, reason TEXT NOT NULL, updated REAL NOT NULL,
  venue TEXT);
CREATE TABLE IF NOT EXISTS orders (
  id INTEGER PRIMARY KEY, intent_id INTEGER NOT NULL REFERENCES intents(id), ts REAL NOT NULL,
  exchange_id TEXT, state TEXT NOT NULL, filled TEXT NOT NULL, average_price TEXT,
  fee TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills (
  id INTEGER PRIMARY KEY, intent_id INTEGER NOT NULL UNIQUE REFERENCES intents(id),
  ts REAL NOT NULL, leg TEXT NOT NULL, contracts TEXT NOT NULL, price TEXT, fee TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS funding (
  id INTEGER PRIMARY KEY, leg TEXT NOT NULL, symbol TEXT NOT NULL, ts REAL NOT NULL,
  amount TEXT NOT NULL, rate TEXT, UNIQUE (leg, symbol, ts));
CREATE TABLE IF NOT EXISTS transfers (
  id INTEGER PRIMARY KEY, ts REAL NOT NULL, leg TEXT NOT NULL, asset TEXT NOT NULL,
  amount TEXT NOT NULL, state TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY, ts REAL NOT NULL, leg TEXT, kind TEXT NOT NULL, detail TEXT NOT NULL);
"""


class JournalLocked(Exception):
    """Another daemon holds this journal: two daemons on one account would double every order."""


class JournalMismatch(Exception):
    """The journal was kept for another account: continuing it would mix two accounts' books."""


@dataclass(frozen=True, slots=True)
class OpenIntent:
    id: int
    client_id: str
    leg: str
    symbol: str
    side: Side
    contracts: Decimal
    state: OrderState
    venue: str | None  # the venue it was sent to; None in journals older than the column


def _stored(account: AccountIdentity) -> dict[str, str | None]:
    return {"exchange": account.exchange, "account": account.account}


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class Journal:
    def __init__(
        self, path: Path, *, lock: bool = True, durable: bool = True, fresh: bool = False
    ) -> None:
        """`durable=False` skips the fsync per commit: for a simulation's journal, which no
        exchange depends on and which would otherwise spend most of a replay waiting on disk.
        `fresh=True` starts it empty (once the lock is held, so never under a running daemon)."""
        self.path = path
        self._lock_file: IO[str] | None = self._acquire(path) if lock else None
        if fresh:
            for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                stale.unlink(missing_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # An intent must be on disk before its order is sent.
        self.durable = durable
        self.db.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(SCHEMA)
        self._migrate()
        self.prefix = self._instance_prefix()

    @staticmethod
    def _acquire(path: Path) -> IO[str]:
        lock_path = Path(f"{path}.lock")
        handle = lock_path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise JournalLocked(
                f"journal {path} is locked by another hedgekeeper (pid {holder}, lock file "
                f"{lock_path}): one daemon per account; stop the other one first"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        return handle

    def close(self) -> None:
        self.db.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        """Columns added since a journal was created, so an old journal keeps its history."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(intents)")}
        if "venue" not in columns:
            self.db.execute("ALTER TABLE intents ADD COLUMN venue TEXT")

    def _instance_prefix(self) -> str:
        """Random per journal, so client ids never collide across journals on one account."""
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key='prefix'").fetchone()
            if row:
                return str(row[0])
            prefix = secrets.token_hex(3)
            db.execute("INSERT INTO meta (key, value) VALUES ('prefix', ?)", (prefix,))
            return prefix

    # ---- whose journal it is ----------------------------------------------------------------

    def identity(self) -> dict[str, AccountIdentity]:
        """The account each venue (by its config name) had when the journal was first used."""
        rows = self.db.execute("SELECT key, value FROM meta WHERE key LIKE 'account:%'")
        return {
            key.removeprefix("account:"): AccountIdentity(**json.loads(value))
            for key, value in rows.fetchall()
        }

    def claim(self, identity: Mapping[str, AccountIdentity]) -> None:
        """Record each venue's account on first use; refuse a journal kept for other accounts."""
        with self._tx() as db:
            kept = self.identity()
            wrong = sorted(n for n, a in identity.items() if n in kept and kept[n] != a)
            if wrong:
                sim = any(kept[n].exchange == "sim" for n in wrong)
                which = "; ".join(
                    f"venue {n!r} is {identity[n]} now, but the journal was kept for {kept[n]}"
                    for n in wrong
                )
                raise JournalMismatch(
                    f"journal {self.path} belongs to another account: {which}. "
                    "A journal holds one account's orders, fills and funding: give this account "
                    f"its own journal (`journal = ` in the config), or delete {self.path} if the "
                    "account it was kept for is gone"
                    + (" (the sim opens a new account on every run)" if sim else "")
                )
            for name, account in identity.items():
                if name not in kept:
                    db.execute(
                        "INSERT INTO meta (key, value) VALUES (?, ?)",
                        (f"account:{name}", json.dumps(_stored(account))),
                    )

    # ---- intents and orders ---------------------------------------------------------------

    def open_intent(self, intent: Intent, ts: float, venue: str) -> OpenIntent:
        """Commit the intent, its client id and the venue it goes to; only after this may the
        order be sent, and only that venue can later say what became of it."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO intents (ts, leg, symbol, side, contracts, reduce_only, limit_price,"
                " state, reason, updated, venue) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    ts,
                    intent.leg,
                    intent.symbol,
                    intent.side.value,
                    str(intent.contracts),
                    int(intent.reduce_only),
                    _str(intent.limit_price),
                    OrderState.PENDING.value,
                    intent.reason,
                    ts,
                    venue,
                ),
            )
            row_id = int(cur.lastrowid or 0)
            client_id = f"hk{self.prefix}{row_id:010d}"
            db.execute("UPDATE intents SET client_id=? WHERE id=?", (client_id, row_id))
        return OpenIntent(
            row_id,
            client_id,
            intent.leg,
            intent.symbol,
            intent.side,
            intent.contracts,
            OrderState.PENDING,
            venue,
        )

    def mark(self, intent: OpenIntent, state: OrderState, ts: float) -> None:
        self.db.execute(
            "UPDATE intents SET state=?, updated=? WHERE id=?", (state.value, ts, intent.id)
        )

    def record(self, intent: OpenIntent, report: OrderReport) -> Decimal:
        """Journal the exchange's report; on a final one, the signed fill. Returns the fill."""
        signed = report.filled if intent.side is Side.BUY else -report.filled
        with self._tx() as db:
            db.execute(
                "INSERT INTO orders (intent_id, ts, exchange_id, state, filled, average_price,"
                " fee, message) VALUES (?,?,?,?,?,?,?,?)",
                (
                    intent.id,
                    report.ts,
                    report.exchange_id,
                    report.state.value,
                    str(report.filled),
                    _str(report.average_price),
                    str(report.fee),
                    report.message,
                ),
            )
            db.execute(
                "UPDATE intents SET state=?, updated=? WHERE id=?",
                (report.state.value, report.ts, intent.id),
            )
            if report.state.final and report.filled > 0:
                db.execute(
                    "INSERT OR IGNORE INTO fills (intent_id, ts, leg, contracts, price, fee)"
                    " VALUES (?,?,?,?,?,?)",
                    (
                        intent.id,
                        report.ts,
                        intent.leg,
                        str(signed),
                        _str(report.average_price),
                        str(report.fee),
                    ),
                )
        return signed if report.state.final else Decimal(0)

    def unfinished(self, leg: str | None = None, venue: str | None = None) -> list[OpenIntent]:
        """Intents that may have reached the exchange without our knowing how they ended; with
        `leg` and `venue`, only that leg's sent to that venue (or to an unrecorded one)."""
        final = tuple(s.value for s in OrderState if s.final)
        rows = self.db.execute(
            "SELECT id, client_id, leg, symbol, side, contracts, state, venue FROM intents"
            f" WHERE state NOT IN ({','.join('?' * len(final))})"
            " AND (? IS NULL OR leg = ?) AND (? IS NULL OR venue IS NULL OR venue = ?)"
            " ORDER BY id",
            (*final, leg, leg, venue, venue),
        ).fetchall()
        return [
            OpenIntent(r[0], r[1], r[2], r[3], Side(r[4]), Decimal(r[5]), OrderState(r[6]), r[7])
            for r in rows
        ]

    # ---- decisions, funding, events -------------------------------------------------------

    def _report(self, sql: str, args: tuple[object, ...]) -> None:
        """A reporting row (a decision, an event): committed at once, its fsync left to the next
        durable commit, which flushes the whole WAL. An order waits only for its intent's fsync
        (4-8 ms each on a loaded disk); a power cut may lose the last few reports, never an
        intent, and a process crash loses nothing (the OS holds the written pages)."""
        if not self.durable:
            self.db.execute(sql, args)
            return
        self.db.execute("PRAGMA synchronous=NORMAL")
        try:
            self.db.execute(sql, args)
        finally:
            self.db.execute("PRAGMA synchronous=FULL")

    def decision(
        self, ts: float, leg: str, action: str, reason: str, plan: Plan | None, guard: str | None
    ) -> None:
        self._report(
            "INSERT INTO decisions (ts, leg, action, reason, guard, exposure, target, position,"
            " drift, mark) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                ts,
                leg,
                action,
                reason,
                guard,
                *(
                    (
                        str(plan.exposure),
                        str(plan.target),
                        str(plan.position),
                        str(plan.drift),
                        str(plan.mark),
                    )
                    if plan
                    else (None,) * 5
                ),
            ),
        )

    def funding(self, leg: str, event: FundingEvent) -> bool:
        """Record a funding payment once; returns False when it was already journaled."""
        return bool(self.fundings(leg, [event]))

    def fundings(self, leg: str, events: list[FundingEvent]) -> list[FundingEvent]:
        """Record payments once each, in one commit (a replay settles thousands); returns the
        ones that were new."""
        new = []
        with self._tx() as db:
            for event in events:
                cur = db.execute(
                    "INSERT OR IGNORE INTO funding (leg, symbol, ts, amount, rate)"
                    " VALUES (?,?,?,?,?)",
                    (leg, event.symbol, event.ts, str(event.amount), _str(event.rate)),
                )
                if cur.rowcount == 1:
                    new.append(event)
        return new

    def funding_total(self, leg: str) -> Decimal:
        rows = self.db.execute("SELECT amount FROM funding WHERE leg=?", (leg,)).fetchall()
        return sum((Decimal(r[0]) for r in rows), Decimal(0))

    def last_funding_ts(self, leg: str) -> float | None:
        row = self.db.execute("SELECT MAX(ts) FROM funding WHERE leg=?", (leg,)).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def transfer(
        self, ts: float, leg: str, asset: str, amount: Decimal, state: str, message: str
    ) -> None:
        self.db.execute(
            "INSERT INTO transfers (ts, leg, asset, amount, state, message) VALUES (?,?,?,?,?,?)",
            (ts, leg, asset, str(amount), state, message),
        )

    def event(self, ts: float, leg: str | None, kind: str, detail: str) -> None:
        self._report(
            "INSERT INTO events (ts, leg, kind, detail) VALUES (?,?,?,?)", (ts, leg, kind, detail)
        )

    # ---- a leg's hedge policy state (policy/state.py), one row per leg -------------------

    def policy_state(self, leg: str) -> str | None:
        """The JSON last saved for the leg's policy, or None before its first evaluation."""
        row = self.db.execute(
            "SELECT value FROM meta WHERE key=?", (f"policy_state:{leg}",)
        ).fetchone()
        return None if row is None else str(row[0])

    def save_policy_state(self, leg: str, state: str) -> None:
        """Replace the leg's policy state: V0, F, the high-water mark, the put's roll, last h."""
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (f"policy_state:{leg}", state),
        )

    def filled_position(self, leg: str) -> Decimal:
        """The sum of all journaled fills: what the position should be if it started flat."""
        rows = self.db.execute("SELECT contracts FROM fills WHERE leg=?", (leg,)).fetchall()
        return sum((Decimal(r[0]) for r in rows), Decimal(0))

    def count(self, table: str) -> int:
        if table not in {
            "decisions",
            "intents",
            "orders",
            "fills",
            "funding",
            "transfers",
            "events",
        }:
            raise ValueError(f"no journal table {table!r}")
        return int(self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
