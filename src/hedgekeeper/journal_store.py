"""Where a journal lives: a SQLite file, or a PostgreSQL database shared by a fleet.

A store runs SQL (written once, with `?` parameters), transactions and migrations; it also holds
the account lease, the promise that only one daemon trades an account. On SQLite the lease is the
file lock beside the journal (one machine); on PostgreSQL it is a session-level advisory lock
(`journal_pg.py`). The journal's logic (`journal.py`) is the same over both.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from hedgekeeper.journal_schema import LATEST, MIGRATIONS, Dialect

Row = tuple[Any, ...]
SCHEMES = ("postgresql://", "postgres://")


def is_postgres(target: str) -> bool:
    return target.startswith(SCHEMES)


def redact(url: str) -> str:
    """The URL with any password replaced, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


class JournalError(Exception):
    """The journal cannot vouch for what it would record: nothing may be traded on it."""


class JournalLocked(JournalError):
    """Another daemon holds this journal: two daemons on one account would double every order."""


class JournalUnavailable(JournalError):
    """The journal's database cannot be reached (or the session holding the lease is gone)."""


class LeaseLost(JournalError):
    """This daemon no longer holds the account's lease: another one may be trading it."""


class SchemaTooNew(JournalError):
    """The journal was migrated by a newer hedgekeeper: this one must not write to it."""


class Tx(Protocol):
    def execute(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...


class Store(Protocol):
    dialect: Dialect
    where: str
    """The journal's location for messages (never with a password)."""

    def tx(self) -> AbstractContextManager[Tx]: ...

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """One statement in its own transaction."""
        ...

    def report(self, sql: str, params: Sequence[object] = ()) -> None:
        """A reporting row (a decision, an event): committed at once, its flush to disk left
        to the next durable commit (an intent's), which flushes everything before it. An order
        waits only for its intent's flush; a power cut may lose the last few reports, never an
        intent, and a process crash loses nothing."""
        ...

    def try_lease(self, account: str) -> bool:
        """Take the account's lease if it is free (or already ours); True when held."""
        ...

    def fence(self, tx: Tx, account: str) -> str | None:
        """Inside `tx`: why this session cannot prove it holds the lease, or None if it does."""
        ...

    def close(self) -> None: ...


def migrate(store: Store) -> int:
    """Bring the store's schema to the latest version in one transaction; returns that version."""
    with store.tx() as tx:
        store_lock(store, tx)
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL,"
            " applied DOUBLE PRECISION NOT NULL, why TEXT NOT NULL)"
        )
        [(current,)] = tx.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        latest = int(current)
        if latest > LATEST:
            raise SchemaTooNew(
                f"journal {store.where} is at schema version {latest}, newer than this "
                f"hedgekeeper (which knows versions up to {LATEST}): run the newer hedgekeeper, "
                "or restore the journal's backup from before the upgrade"
            )
        for migration in [m for m in MIGRATIONS if m.version > latest]:
            for statement in migration.sql(store.dialect):
                if not _column_exists(tx, store.dialect, statement):
                    tx.execute(statement)
            tx.execute(
                "INSERT INTO schema_version (version, applied, why) VALUES (?,?,?)",
                (migration.version, time.time(), migration.why),
            )
            latest = migration.version
    return latest


_ADD_COLUMN = re.compile(r"ALTER TABLE (\w+) ADD COLUMN (\w+) ")


def _column_exists(tx: Tx, dialect: Dialect, statement: str) -> bool:
    """Whether `statement` adds a column that is already there: journals made before schema
    versions had columns added by hand-written checks, so their version 1 varies."""
    match = _ADD_COLUMN.match(statement)
    if match is None:
        return False
    table, column = match.groups()
    if dialect is Dialect.SQLITE:
        rows = tx.execute(f"SELECT name FROM pragma_table_info('{table}')")
    else:
        rows = tx.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
    return column in {str(name) for (name,) in rows}


def store_lock(store: Store, tx: Tx) -> None:
    """Serialise migrations of daemons starting together on one PostgreSQL database (SQLite's
    BEGIN IMMEDIATE already does)."""
    if store.dialect is Dialect.POSTGRESQL:
        tx.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))


MIGRATION_LOCK = 0x686B_6D69_6772  # "hkmigr": any constant other applications are unlikely to use


PENDING_LIMIT = 4096  # report rows a non-durable journal holds before writing them


class _SqliteTx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self.db.execute(sql, tuple(params)).fetchall()


class SqliteStore:
    """A journal file; `lock` takes the account lease as an exclusive lock on `<file>.lock`."""

    dialect = Dialect.SQLITE

    def __init__(
        self, path: Path, *, lock: bool = True, durable: bool = True, fresh: bool = False
    ) -> None:
        """`durable=False` skips the fsync per commit: for a simulation's journal, which no
        exchange depends on and which would otherwise spend most of a replay waiting on disk.
        `fresh=True` starts it empty (once the lock is held, so never under a running daemon)."""
        self.path = path
        self.where = str(path)
        self.locked = lock
        self.durable = durable
        self._lock_file: IO[str] | None = self._acquire(path) if lock else None
        if fresh:
            for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                stale.unlink(missing_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # An intent must be on disk before its order is sent.
        self.db.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
        self.db.execute("PRAGMA busy_timeout=5000")
        self._pending: list[tuple[str, tuple[object, ...]]] = []  # report rows not yet written

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

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        self.db.execute("BEGIN IMMEDIATE")
        pending, self._pending = self._pending, []
        try:
            for sql, params in pending:  # the report rows waiting go in with this commit
                self.db.execute(sql, params)
            yield _SqliteTx(self.db)
        except BaseException:
            self.db.execute("ROLLBACK")
            self._pending[:0] = pending  # not lost with the transaction that failed
            raise
        self.db.execute("COMMIT")

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        self._flush()
        return self.db.execute(sql, tuple(params)).fetchall()

    def report(self, sql: str, params: Sequence[object] = ()) -> None:
        if not self.durable:
            # A simulation writes a valuation and a decision row at every point; one commit
            # each was a fifth of a replay. They wait here until anything reads or writes the
            # journal, so every read still sees them, and go in one transaction.
            self._pending.append((sql, tuple(params)))
            if len(self._pending) >= PENDING_LIMIT:
                self._flush()
            return
        self.db.execute("PRAGMA synchronous=NORMAL")
        try:
            self.db.execute(sql, tuple(params))
        finally:
            self.db.execute("PRAGMA synchronous=FULL")

    def try_lease(self, account: str) -> bool:
        """The file lock was taken on opening (a second daemon is refused there, at once)."""
        return self.locked

    def fence(self, tx: Tx, account: str) -> str | None:
        """The file lock is held for the life of the store: nothing to prove per transaction."""
        return None

    def _flush(self) -> None:
        if self._pending:
            with self.tx():  # a transaction writes the waiting rows first
                pass

    def close(self) -> None:
        self._flush()
        self.db.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
