"""The PostgreSQL store: one database for a fleet's journals, and the lease on each account.

The lease is a session-level advisory lock keyed by the account: PostgreSQL releases it the moment
the holder's session ends (process killed, connection cut, `pg_terminate_backend`), so a standby
polling for it takes over within its poll interval, and no timer has to guess whether the holder
is still alive. Every intent is written on the same session, in a transaction that first checks
that the session still holds the lock (`fence`): a daemon whose session is gone cannot write an
intent, so it cannot send an order. Keepalives on both ends bound how long a silently dead peer
(a cut network cable) can look alive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache

import psycopg
from psycopg.conninfo import make_conninfo

from hedgekeeper.journal_schema import Dialect
from hedgekeeper.journal_store import JournalUnavailable, Row, Tx, redact

KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 2}
# The server notices a dead client (and frees its lease) as fast as the client notices the server.
SERVER_KEEPALIVE = (
    "SET tcp_keepalives_idle = 5",
    "SET tcp_keepalives_interval = 2",
    "SET tcp_keepalives_count = 2",
)
_BROKEN = (psycopg.OperationalError, psycopg.InterfaceError)


def lease_key(account: str) -> int:
    """A stable positive 63-bit advisory-lock key for the account (the same in every daemon)."""
    digest = hashlib.sha256(b"hedgekeeper lease\0" + account.encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


@cache
def _pg(sql: str) -> str:
    """The shared SQL's `?` parameters in psycopg's style (no statement has a literal `?`)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _PgTx:
    def __init__(self, cur: psycopg.Cursor[Row]) -> None:
        self.cur = cur

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        self.cur.execute(_pg(sql), tuple(params))
        return self.cur.fetchall() if self.cur.description else []


class PostgresStore:
    dialect = Dialect.POSTGRESQL

    def __init__(self, url: str, password: str | None = None, timeout: float = 5.0) -> None:
        self.where = redact(url)
        params: dict[str, str | int] = {
            **KEEPALIVE,
            "connect_timeout": max(1, round(timeout)),
            "application_name": "hedgekeeper",
            "tcp_user_timeout": round(timeout * 1000),
        }
        if password:
            params["password"] = password
        try:
            self.conn: psycopg.Connection[Row] = psycopg.connect(
                make_conninfo(url, **params), autocommit=True
            )
            for statement in SERVER_KEEPALIVE:
                self.conn.execute(statement)
        except _BROKEN as exc:
            raise JournalUnavailable(
                f"journal {self.where}: cannot connect: {_first(exc)}"
            ) from None
        self.session = self.conn.info.backend_pid
        """The server process of this daemon's session (what `pg_terminate_backend` takes)."""

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                yield _PgTx(cur)
        except _BROKEN as exc:
            raise self._gone(exc) from None

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        try:
            cur = self.conn.execute(_pg(sql), tuple(params))
            return cur.fetchall() if cur.description else []
        except _BROKEN as exc:
            raise self._gone(exc) from None

    def report(self, sql: str, params: Sequence[object] = ()) -> None:
        with self.tx() as tx:
            tx.execute("SET LOCAL synchronous_commit TO OFF")
            tx.execute(sql, params)

    def try_lease(self, account: str) -> bool:
        [(held,)] = self.query("SELECT pg_try_advisory_lock(?)", (lease_key(account),))
        return bool(held)

    def fence(self, tx: Tx, account: str) -> str | None:
        key = lease_key(account)
        [(held,)] = tx.execute(
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND pid = pg_backend_pid() AND objsubid = 1 AND classid::bigint = ?"
            " AND objid::bigint = ?",
            (key >> 32, key & 0xFFFF_FFFF),
        )
        return None if held else "this session does not hold the account's lease"

    def close(self) -> None:
        self.conn.close()

    def _gone(self, exc: Exception) -> JournalUnavailable:
        return JournalUnavailable(f"journal {self.where}: session lost: {_first(exc)}")


def _first(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
