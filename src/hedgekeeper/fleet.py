"""The account lease as a daemon lives it: standby until it holds the lease, active while it does,
and out at once when it does not.

On a PostgreSQL journal several daemons may be started on one account (two replicas of a
Deployment, say); the lease (`journal_pg.py`) lets one trade and keeps the others waiting. A
standby polls for the lease every `lease_poll` seconds, so it takes over that soon after the
holder's session ends. The holder checks every `lease_check` seconds that it still holds it, and
every intent it writes proves it again (fencing): a daemon that lost its session stops trading at
once and exits, for its supervisor to start it again, as a standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable, Mapping
from enum import Enum

import structlog

from hedgekeeper.config import Settings
from hedgekeeper.domain import AccountIdentity
from hedgekeeper.journal import Journal, LeaseLost

log = structlog.get_logger("hedgekeeper.fleet")

LEASE_LOST_EXIT = 3
"""The exit status of a daemon that lost its lease (systemd and Kubernetes start it again)."""


class Role(Enum):
    STARTING = "starting"
    STANDBY = "standby"
    ACTIVE = "active"
    STOPPING = "stopping"


def account_key(settings: Settings, identities: Mapping[str, AccountIdentity]) -> str:
    """The key of the account in a shared journal and its lease: the identity of the account
    each leg trades (the exchange and its account id; where the exchange gives no id, a digest
    of the API key, never the key itself). Two daemons given one account meet on one lease."""
    parts = []
    for name in sorted({leg.perp.venue for leg in settings.legs}):
        identity = identities[name]
        account = identity.account
        if not account:
            key = settings.venues[name].secret_value("api_key") or ""
            account = "key-" + (hashlib.sha256(key.encode()).hexdigest()[:16] if key else "none")
        parts.append(f"{identity.exchange}:{account}")
    return ",".join(parts)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def acquire(
    journal: Journal, poll: float, stop: asyncio.Event, waiting: Callable[[], None]
) -> bool:
    """Wait as a standby until the lease is ours; False when asked to stop first."""
    while not stop.is_set():
        epoch = journal.take_lease()
        if epoch is not None:
            log.info("lease_taken", epoch=epoch, journal=journal.path)
            return True
        waiting()
        await _pause(stop, poll)
    return False


async def keep(journal: Journal, interval: float, stop: asyncio.Event) -> None:
    """Return when asked to stop; raise as soon as the lease is gone (`JournalUnavailable` when
    the database cannot even be asked)."""
    while not stop.is_set():
        await _pause(stop, interval)
        if not stop.is_set() and not journal.lease_held():
            raise LeaseLost(f"journal {journal.path}: the lease of epoch {journal.epoch} is gone")
