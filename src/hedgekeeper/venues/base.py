"""The venue port: what the engine needs of an exchange, in domain types only.

Adapters (the built-in sim, the ccxt venues, test fakes) translate their own payloads into these
types and their own failures into the errors below, so nothing above this line knows an exchange's
field names or error codes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from hedgekeeper.domain import (
    AccountIdentity,
    AccountSettings,
    Collateral,
    FundingEvent,
    MarketSpec,
    OrderReport,
    OrderRequest,
    Position,
    Prices,
    Stamped,
)


class VenueError(Exception):
    """Base of every venue-neutral failure."""


class VenueUnavailable(VenueError):
    """Network trouble, 5xx, maintenance: reads may be retried; an order's fate is then unknown."""


class RateLimited(VenueUnavailable):
    """The exchange asked us to slow down."""


class OutcomeUnknown(VenueError):
    """An order request may or may not have been executed; look it up by client id before more."""


class OrderRejected(VenueError):
    """The exchange refused the order; nothing was executed. `code` is the exchange's own."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class InsufficientMargin(OrderRejected):
    """Refused for lack of collateral."""


class DuplicateClientId(OrderRejected):
    """The client order id was used before: the earlier request reached the exchange."""


class BadReply(VenueError):
    """A reply the daemon cannot vouch for (missing fields, nonsense numbers, wrong symbol)."""


class FundingUnknown(VenueError):
    """The exchange does not say what funding this market paid: unknown, never zero."""


@dataclass(frozen=True, slots=True)
class SpotReading:
    asset: str
    amount: Stamped


Reading = SpotReading | Collateral | Position | Prices


@runtime_checkable
class Venue(Protocol):
    """One account at one exchange."""

    name: str

    async def open(self) -> None:
        """Connect, load markets; raise VenueError if the venue cannot be used."""

    async def close(self) -> None: ...

    def now(self) -> float:
        """The venue's clock: wall time for exchanges, simulated time for the sim."""

    async def identity(self) -> AccountIdentity:
        """The account this venue trades, so a journal is never continued on another one."""

    async def market(self, symbol: str) -> MarketSpec: ...

    async def settings(self, symbol: str) -> AccountSettings: ...

    async def ensure_settings(
        self, symbol: str, leverage: Decimal, margin_mode: str
    ) -> AccountSettings:
        """Set leverage, margin and one-way mode where the exchange allows; report the result."""

    async def spot(self, asset: str) -> Stamped:
        """Total of `asset` in the spot wallet (free + locked). On a unified account, its equity."""

    async def collateral(self, symbol: str) -> Collateral: ...

    async def position(self, symbol: str) -> Position: ...

    async def prices(self, symbol: str) -> Prices: ...

    async def place(self, request: OrderRequest) -> OrderReport:
        """Send one order; raise OrderRejected, OutcomeUnknown or VenueUnavailable on failure."""

    async def order(
        self, symbol: str, client_id: str, exchange_id: str | None = None
    ) -> OrderReport | None:
        """Look an order up by client id; None when the exchange has never seen it.
        `exchange_id`: the exchange's own id of it, when an answer gave it (the journal keeps
        it), for an exchange that looks orders up by its id only; others may ignore it."""

    async def cancel(
        self, symbol: str, client_id: str, exchange_id: str | None = None
    ) -> OrderReport | None:
        """Cancel the order if it is still open; what became of it (None: never seen)."""

    async def recent_client_ids(self, symbol: str, since: float) -> list[str]:
        """Client ids of the account's orders on `symbol`, open or done since `since`: whoever
        placed them (how another trader on the account is noticed)."""
        ...

    async def transfer_to_derivatives(self, asset: str, amount: Decimal) -> None:
        """Move coin from the spot wallet to the perp's wallet; exposure is unchanged."""

    async def funding(self, symbol: str, since: float) -> list[FundingEvent]: ...

    def watch(self, symbol: str, asset: str) -> AsyncIterator[Reading]:
        """Push updates as they happen; ends or raises VenueUnavailable when the stream drops."""
        ...
