"""The PostgreSQL journal: many accounts in one database, the lease, and fencing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from hedgekeeper.domain import Intent, Side
from hedgekeeper.journal import Journal, JournalError, LeaseLost, open_store
from hedgekeeper.journal_pg import PostgresStore, lease_key
from hedgekeeper.journal_store import JournalUnavailable, redact
from tests.postgres import PgServer, pg, pg_url

__all__ = ["pg", "pg_url"]  # fixtures
SELL = Intent("btc", "BTC/USD:BTC", Side.SELL, Decimal(10), False, None, "test")


@pytest.fixture
def daemons(pg: PgServer, pg_url: str) -> Iterator[list[Journal]]:
    """Journals as separate daemons open them (a session each); closed after the test."""
    made: list[Journal] = []
    yield made
    for journal in made:
        journal.close()


def daemon(made: list[Journal], pg: PgServer, url: str, account: str = "bybit:1001") -> Journal:
    made.append(Journal(PostgresStore(url, pg.password), account=account))
    return made[-1]


def taken(journal: Journal) -> int:
    """Poll for the lease as a standby does: a closed or killed session's lock is freed when its
    server process has ended, a moment after the client lets go."""
    for _ in range(500):
        if (epoch := journal.take_lease()) is not None:
            return epoch
        time.sleep(0.01)
    raise AssertionError("the lease was never freed")


def test_many_accounts_share_one_database_and_see_only_their_rows(
    pg: PgServer, pg_url: str, daemons: list[Journal]
) -> None:
    a = daemon(daemons, pg, pg_url, "bybit:1001")
    b = daemon(daemons, pg, pg_url, "bybit:2002")
    assert a.take_lease() == 1 and b.take_lease() == 1  # a lease per account, not per database
    opened = a.open_intent(SELL, 1.0, "bybit")
    b.open_intent(SELL, 1.0, "bybit")
    assert a.prefix != b.prefix
    assert [o.client_id for o in a.unfinished()] == [opened.client_id]
    assert a.count("intents") == 1 and b.count("intents") == 1


def test_one_holder_per_account_and_the_standby_takes_over_with_a_new_epoch(
    pg: PgServer, pg_url: str, daemons: list[Journal]
) -> None:
    active = daemon(daemons, pg, pg_url)
    standby = daemon(daemons, pg, pg_url)
    assert active.take_lease() == 1
    assert standby.take_lease() is None  # asked again and again while the active lives
    with pytest.raises(LeaseLost, match="does not hold the account's lease"):
        standby.open_intent(SELL, 1.0, "bybit")  # no intent, so no order, without the lease
    left = active.open_intent(SELL, 1.0, "bybit")
    active.close()  # the session ends: PostgreSQL frees the lock at once
    assert taken(standby) == 2
    opened = standby.open_intent(SELL, 2.0, "bybit")
    assert opened.client_id[8:12] == "0002" and left.client_id[8:12] == "0001"
    assert [o.client_id for o in standby.unfinished()] == [left.client_id, opened.client_id]
    [(epoch,)] = standby.store.query("SELECT epoch FROM intents WHERE id=?", (opened.id,))
    assert epoch == 2


def test_a_terminated_session_opens_no_intent_and_frees_the_lease(
    pg: PgServer, pg_url: str, daemons: list[Journal]
) -> None:
    active = daemon(daemons, pg, pg_url)
    standby = daemon(daemons, pg, pg_url)
    active.take_lease()
    assert active.lease_held()
    assert isinstance(active.store, PostgresStore)
    with pg.connect() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (active.store.session,))
    with pytest.raises(JournalUnavailable, match="session lost"):
        active.open_intent(SELL, 1.0, "bybit")
    with pytest.raises(JournalError):
        active.lease_held()
    assert taken(standby) == 2
    assert standby.count("intents") == 0


def test_an_intent_is_fenced_by_the_epoch_too(
    pg: PgServer, pg_url: str, daemons: list[Journal]
) -> None:
    """Belt and braces: a holder whose epoch was moved on (by hand, or by a row lease) stops."""
    active = daemon(daemons, pg, pg_url)
    active.take_lease()
    active.store.query("UPDATE accounts SET epoch = epoch + 1 WHERE account = ?", (active.account,))
    with pytest.raises(LeaseLost, match="moved to epoch 2"):
        active.open_intent(SELL, 1.0, "bybit")
    assert not active.lease_held() and active.count("intents") == 0


def test_the_lease_key_is_stable_and_per_account() -> None:
    assert lease_key("bybit:1001") == lease_key("bybit:1001") != lease_key("bybit:1002")
    assert 0 < lease_key("x") < 2**63


def test_credentials_stay_out_of_messages(pg: PgServer, pg_url: str) -> None:
    with pytest.raises(JournalUnavailable, match="cannot connect") as caught:
        open_store(pg_url, "wrong-password-123")
    assert "wrong-password-123" not in str(caught.value)
    with_password = pg_url.replace("postgres@", f"postgres:{pg.password}@")
    assert pg.password not in redact(with_password) and ":***@127.0.0.1" in redact(with_password)
    store = open_store(with_password)
    assert pg.password not in store.where
    store.close()
