"""The journal: the daemon's memory across crashes, on SQLite or on a fleet's PostgreSQL.

An intent is committed before its order is sent, with a client order id derived from the intent's
row id and the lease epoch, so after any crash the daemon (or the standby that takes over) can ask
the exchange about exactly the orders it may have sent. The transaction that writes an intent
first proves that this daemon still holds the account's lease (fencing): a daemon that lost it
cannot open an intent, so it cannot send an order. The logic and the SQL are the same over both
stores (`journal_store.py`); only where the rows live differs.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from hedgekeeper.domain import (
    AccountIdentity,
    FundingEvent,
    Intent,
    OrderReport,
    OrderState,
    Plan,
    Side,
)
from hedgekeeper.journal_schema import Dialect
from hedgekeeper.journal_store import (
    JournalError,
    JournalLocked,
    JournalUnavailable,
    LeaseLost,
    SqliteStore,
    Store,
    Tx,
    is_postgres,
    migrate,
)

__all__ = [
    "Journal",
    "JournalError",
    "JournalLocked",
    "JournalMismatch",
    "JournalUnavailable",
    "LeaseLost",
    "OpenIntent",
    "open_store",
]
from hedgekeeper.valuation import Valuation


class JournalMismatch(JournalError):
    """The journal was kept for another account: continuing it would mix two accounts' books."""


TABLES = frozenset(
    {"decisions", "intents", "orders", "fills", "funding", "transfers", "events", "valuations"}
)


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
    exchange_id: str | None = None  # the exchange's order id, once an answer has given it


def _stored(account: AccountIdentity) -> dict[str, str | None]:
    return {"exchange": account.exchange, "account": account.account}


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def open_store(target: str | Path, password: str | None = None, fresh: bool = False) -> Store:
    """A PostgreSQL store for a `postgresql://` URL, else the SQLite file at that path (`fresh`:
    started empty, for the embedded demo's new simulated account)."""
    if isinstance(target, str) and is_postgres(target):
        from hedgekeeper.journal_pg import PostgresStore  # psycopg only for a fleet

        return PostgresStore(target, password)
    return SqliteStore(Path(target), fresh=fresh)


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Journal:
    def __init__(
        self,
        where: str | Path | Store,
        *,
        lock: bool = True,
        durable: bool = True,
        fresh: bool = False,
        account: str = "",
    ) -> None:
        """A path opens a SQLite journal (locked for this process unless `lock=False`); a store
        is used as it is. `account` scopes every row: one PostgreSQL database holds many
        accounts' journals. The SQLite file lock is its lease, so such a journal trades at once;
        on PostgreSQL `take_lease` must succeed first. `durable=False` skips the fsync per
        commit (a simulation's journal); `fresh=True` starts a SQLite journal empty (once the
        lock is held, so never under a running daemon)."""
        if isinstance(where, str) and is_postgres(where):
            where = open_store(where)
        self.store: Store = (
            SqliteStore(Path(where), lock=lock, durable=durable, fresh=fresh)
            if isinstance(where, str | Path)
            else where
        )
        self.account = account
        self.epoch: int | None = None
        migrate(self.store)
        self.prefix = self._instance_prefix()
        if self.store.dialect is Dialect.SQLITE:  # the file lock (if taken) is the lease
            self.epoch = self.take_lease() or self._epoch()

    @property
    def path(self) -> str:
        return self.store.where

    def close(self) -> None:
        self.store.close()

    def _instance_prefix(self) -> str:
        """Random per account, so client ids never collide across journals on one account, and
        an order of another hedgekeeper on the account is told apart from ours."""
        with self.store.tx() as tx:
            tx.execute(
                "INSERT INTO accounts (account, prefix, epoch) VALUES (?,?,0)"
                " ON CONFLICT (account) DO NOTHING",
                (self.account, secrets.token_hex(3)),
            )
            [(prefix,)] = tx.execute("SELECT prefix FROM accounts WHERE account=?", (self.account,))
        return str(prefix)

    # ---- whose journal it is ----------------------------------------------------------------

    def _meta(self, key: str) -> str:
        """Meta keys of this account (a SQLite journal's single account keeps the bare keys)."""
        return f"{self.account}/{key}" if self.account else key

    def identity(self) -> dict[str, AccountIdentity]:
        """The account each venue (by its config name) had when the journal was first used."""
        rows = self.store.query(
            "SELECT key, value FROM meta WHERE key LIKE ?", (self._meta("account:") + "%",)
        )
        return {
            str(key).removeprefix(self._meta("account:")): AccountIdentity(**json.loads(value))
            for key, value in rows
        }

    def claim(self, identity: Mapping[str, AccountIdentity]) -> None:
        """Record each venue's account on first use; refuse a journal kept for other accounts."""
        with self.store.tx() as tx:
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
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES (?, ?)",
                        (self._meta(f"account:{name}"), json.dumps(_stored(account))),
                    )

    # ---- the lease --------------------------------------------------------------------------

    def _epoch(self) -> int:
        [(epoch,)] = self.store.query("SELECT epoch FROM accounts WHERE account=?", (self.account,))
        return int(epoch)

    def take_lease(self) -> int | None:
        """Try once to become the account's active daemon; returns the new lease epoch."""
        if self.epoch is not None:
            return self.epoch
        if not self.store.try_lease(self.account):
            return None
        with self.store.tx() as tx:
            [(epoch,)] = tx.execute(
                "UPDATE accounts SET epoch = epoch + 1, holder = ?, since = ? WHERE account = ?"
                " RETURNING epoch",
                (holder_name(), time.time(), self.account),
            )
        self.epoch = int(epoch)
        return self.epoch

    def _fence(self, tx: Tx) -> None:
        if self.epoch is None:
            raise LeaseLost(f"journal {self.path}: this daemon does not hold the account's lease")
        why = self.store.fence(tx, self.account)
        [(epoch,)] = tx.execute("SELECT epoch FROM accounts WHERE account=?", (self.account,))
        if why is None and int(epoch) != self.epoch:
            why = f"the lease moved to epoch {epoch} (this daemon's is {self.epoch})"
        if why is not None:
            raise LeaseLost(f"journal {self.path}: {why}")

    def lease_held(self) -> bool:
        """Whether this daemon still holds the lease (raises `JournalUnavailable` when the
        database cannot be asked: that is not holding it either)."""
        try:
            with self.store.tx() as tx:
                self._fence(tx)
        except LeaseLost:
            return False
        return True

    # ---- intents and orders ---------------------------------------------------------------

    def open_intent(self, intent: Intent, ts: float, venue: str) -> OpenIntent:
        """Commit the intent, its client id and the venue it goes to, proving the lease; only
        then may the order be sent, and only that venue can later say what became of it."""
        with self.store.tx() as tx:
            self._fence(tx)
            [(row_id,)] = tx.execute(
                "INSERT INTO intents (account, epoch, ts, leg, symbol, side, contracts,"
                " reduce_only, limit_price, state, reason, updated, venue)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                (
                    self.account,
                    self.epoch,
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
            client_id = client_id_for(self.prefix, self.epoch or 0, int(row_id))
            tx.execute("UPDATE intents SET client_id=? WHERE id=?", (client_id, row_id))
        return OpenIntent(
            int(row_id),
            client_id,
            intent.leg,
            intent.symbol,
            intent.side,
            intent.contracts,
            OrderState.PENDING,
            venue,
        )

    def mark(self, intent: OpenIntent, state: OrderState, ts: float) -> None:
        self.store.query(
            "UPDATE intents SET state=?, updated=? WHERE id=?", (state.value, ts, intent.id)
        )

    def keep_exchange_id(self, intent: OpenIntent, exchange_id: str, ts: float) -> OpenIntent:
        """Commit the exchange's order id the moment an answer gives it (a resting order is
        then polled and cancelled): an exchange that looks orders up by its own id only (WEEX)
        finds the order by it after any crash. Returns the intent carrying the id."""
        self.store.query(
            "UPDATE intents SET exchange_id=?, updated=? WHERE id=?", (exchange_id, ts, intent.id)
        )
        return replace(intent, exchange_id=exchange_id)

    def record(self, intent: OpenIntent, report: OrderReport) -> Decimal:
        """Journal the exchange's report; on a final one, the signed fill. Returns the fill.
        The intent keeps the report's exchange order id (or the one it had)."""
        signed = report.filled if intent.side is Side.BUY else -report.filled
        with self.store.tx() as tx:
            tx.execute(
                "INSERT INTO orders (account, intent_id, ts, exchange_id, state, filled,"
                " average_price, fee, message) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    self.account,
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
            tx.execute(
                "UPDATE intents SET state=?, updated=?, exchange_id=COALESCE(?, exchange_id)"
                " WHERE id=?",
                (report.state.value, report.ts, report.exchange_id, intent.id),
            )
            if report.state.final and report.filled > 0:
                tx.execute(
                    "INSERT INTO fills (account, intent_id, ts, leg, contracts, price, fee)"
                    " VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                    (
                        self.account,
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
        """Intents that may have reached the exchange without our knowing how they ended,
        whichever daemon of the account opened them; with `leg` and `venue`, only that leg's
        sent to that venue (or to an unrecorded one)."""
        final = tuple(s.value for s in OrderState if s.final)
        rows = self.store.query(
            "SELECT id, client_id, leg, symbol, side, contracts, state, venue, exchange_id"
            " FROM intents"
            f" WHERE account=? AND state NOT IN ({','.join('?' * len(final))})"
            " AND (CAST(? AS TEXT) IS NULL OR leg = ?)"
            " AND (CAST(? AS TEXT) IS NULL OR venue IS NULL OR venue = ?) ORDER BY id",
            (self.account, *final, leg, leg, venue, venue),
        )
        return [
            OpenIntent(
                r[0], r[1], r[2], r[3], Side(r[4]), Decimal(r[5]), OrderState(r[6]), r[7], r[8]
            )
            for r in rows
        ]

    # ---- decisions, funding, events -------------------------------------------------------

    def decision(
        self, ts: float, leg: str, action: str, reason: str, plan: Plan | None, guard: str | None
    ) -> None:
        figures = (
            (str(plan.exposure), str(plan.target), str(plan.position), str(plan.drift))
            if plan
            else (None,) * 4
        )
        self.store.report(
            "INSERT INTO decisions (account, ts, leg, action, reason, guard, exposure, target,"
            " position, drift, mark) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                self.account,
                ts,
                leg,
                str(action),  # plain text: a driver may write an enum by its name
                reason,
                None if guard is None else str(guard),
                *figures,
                str(plan.mark) if plan else None,
            ),
        )

    def funding(self, leg: str, event: FundingEvent) -> bool:
        """Record a funding payment once; returns False when it was already journaled."""
        return bool(self.fundings(leg, [event]))

    def fundings(self, leg: str, events: list[FundingEvent]) -> list[FundingEvent]:
        """Record payments once each, in one commit (a replay settles thousands); returns the
        ones that were new."""
        new = []
        with self.store.tx() as tx:
            for event in events:
                inserted = tx.execute(
                    "INSERT INTO funding (account, leg, symbol, ts, amount, rate)"
                    " VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id",
                    (self.account, leg, event.symbol, event.ts, *_amounts(event)),
                )
                if inserted:
                    new.append(event)
        return new

    def funding_total(self, leg: str) -> Decimal:
        rows = self.store.query(
            "SELECT amount FROM funding WHERE account=? AND leg=?", (self.account, leg)
        )
        return sum((Decimal(r[0]) for r in rows), Decimal(0))

    def last_funding_ts(self, leg: str) -> float | None:
        [(last,)] = self.store.query(
            "SELECT MAX(ts) FROM funding WHERE account=? AND leg=?", (self.account, leg)
        )
        return None if last is None else float(last)

    def transfer(
        self, ts: float, leg: str, asset: str, amount: Decimal, state: str, message: str
    ) -> None:
        self.store.query(
            "INSERT INTO transfers (account, ts, leg, asset, amount, state, message)"
            " VALUES (?,?,?,?,?,?,?)",
            (self.account, ts, leg, asset, str(amount), state, message),
        )

    def event(self, ts: float, leg: str | None, kind: str, detail: str) -> None:
        self.store.report(
            "INSERT INTO events (account, ts, leg, kind, detail) VALUES (?,?,?,?,?)",
            (self.account, ts, leg, kind, detail),
        )

    # ---- a leg's hedge policy state (policy/state.py), one row per leg -------------------

    def policy_state(self, leg: str) -> str | None:
        """The JSON last saved for the leg's policy, or None before its first evaluation."""
        rows = self.store.query(
            "SELECT value FROM meta WHERE key=?", (self._meta(f"policy_state:{leg}"),)
        )
        return None if not rows else str(rows[0][0])

    def save_policy_state(self, leg: str, state: str) -> None:
        """Replace the leg's policy state: V0, F, the high-water mark, the put's roll, last h."""
        self.store.query(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (self._meta(f"policy_state:{leg}"), state),
        )

    def valuation(self, v: Valuation) -> None:
        """The hourly row `hedgekeeper report` reads: enough to value the leg with no exchange."""
        self.store.report(
            "INSERT INTO valuations (account, ts, leg, symbol, kind, contract_size, mark, holdings,"
            " equity, position, exposure, target, band, hedge_ratio)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (self.account, v.ts, v.leg, v.symbol, v.kind, *(str(x) for x in v.figures())),
        )

    def last_valuation_ts(self, leg: str) -> float | None:
        [(last,)] = self.store.query(
            "SELECT MAX(ts) FROM valuations WHERE account=? AND leg=?", (self.account, leg)
        )
        return None if last is None else float(last)

    def filled_position(self, leg: str) -> Decimal:
        """The sum of all journaled fills: what the position should be if it started flat."""
        rows = self.store.query(
            "SELECT contracts FROM fills WHERE account=? AND leg=?", (self.account, leg)
        )
        return sum((Decimal(r[0]) for r in rows), Decimal(0))

    def last_funding(self, leg: str) -> tuple[Decimal, Decimal | None] | None:
        """The latest funding payment of the leg: (amount, rate)."""
        rows = self.store.query(
            "SELECT amount, rate FROM funding WHERE account=? AND leg=? ORDER BY ts DESC LIMIT 1",
            (self.account, leg),
        )
        return None if not rows else (Decimal(rows[0][0]), _dec(rows[0][1]))

    def high_water(self) -> tuple[int, int]:
        """The last intent id and the last funding id: where a run's own records start."""
        [(intent, funding)] = self.store.query(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM intents WHERE account=?),"
            " (SELECT COALESCE(MAX(id), 0) FROM funding WHERE account=?)",
            (self.account, self.account),
        )
        return int(intent), int(funding)

    def run_totals(self, leg: str, after: tuple[int, int]) -> tuple[int, int, Decimal, Decimal]:
        """Orders, fills, fees and net funding of the leg since `high_water()` said `after`."""
        first_intent, first_funding = after
        [(orders,)] = self.store.query(
            "SELECT COUNT(*) FROM intents WHERE account=? AND leg=? AND id>?",
            (self.account, leg, first_intent),
        )
        fees = self.store.query(
            "SELECT fee FROM fills WHERE account=? AND leg=? AND intent_id>?",
            (self.account, leg, first_intent),
        )
        funding = self.store.query(
            "SELECT amount FROM funding WHERE account=? AND leg=? AND id>?",
            (self.account, leg, first_funding),
        )
        return (
            int(orders),
            len(fees),
            sum((Decimal(f) for (f,) in fees), Decimal(0)),
            sum((Decimal(a) for (a,) in funding), Decimal(0)),
        )

    def guard_trips(self) -> dict[str, int]:
        """How often each guard tripped, by guard name."""
        rows = self.store.query(
            "SELECT kind, COUNT(*) FROM events WHERE account=? AND kind LIKE 'guard:%'"
            " GROUP BY kind",
            (self.account,),
        )
        return {str(kind).removeprefix("guard:"): int(n) for kind, n in rows}

    def count(self, table: str) -> int:
        if table not in TABLES:
            raise ValueError(f"no journal table {table!r}")
        [(n,)] = self.store.query(f"SELECT COUNT(*) FROM {table} WHERE account=?", (self.account,))
        return int(n)


def _amounts(event: FundingEvent) -> tuple[str, str | None]:
    return str(event.amount), _str(event.rate)


def client_id_for(prefix: str, epoch: int, row_id: int) -> str:
    """`hk`, the account's prefix, the lease epoch that opened it and the intent's row id:
    alphanumeric and at most 32 characters (OKX's limit) for the next ten billion intents."""
    return f"hk{prefix}{epoch:04d}{row_id:010d}"


def prefix_of(client_id: str) -> str | None:
    """The journal prefix of a hedgekeeper client id, or None for anyone else's order."""
    if len(client_id) >= 18 and client_id.startswith("hk") and client_id[2:].isalnum():
        return client_id[2:8]
    return None
