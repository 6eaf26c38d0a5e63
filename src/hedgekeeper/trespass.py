"""Another trader on the account: orders this daemon did not send, positions it did not cause.

A second hedgekeeper with a journal of its own on the same account (another database, a SQLite
file on another machine) is invisible to the lease and would double every order. Its client ids
give it away: every hedgekeeper order starts with `hk` and its journal's prefix. Pure functions;
the engine reads the account's recent orders and acts on what these say.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from hedgekeeper.domain import Decision
from hedgekeeper.journal import prefix_of

LOOKBACK = 3600.0  # seconds of the account's order history read at each REST truth read


def foreign(client_ids: Iterable[str], prefix: str) -> list[str]:
    """The client ids of another hedgekeeper journal: `hk` ids with a prefix other than ours.
    Orders placed by hand or by other software are the owner's business, not a second daemon."""
    return sorted({c for c in client_ids if (p := prefix_of(c)) is not None and p != prefix})


def unexplained(
    seen: Decimal | None, now: Decimal, expected: Decimal | None, in_flight: bool
) -> bool:
    """Whether the position moved from `seen` to `now` with no order of ours to explain it."""
    return seen is not None and now != seen and expected is None and not in_flight


def what_it_does(decision: Decision) -> str:
    if decision.holds:
        return f"holds: {decision.reason}"
    return f"trades back to the target: {decision.intents[0].reason}"
