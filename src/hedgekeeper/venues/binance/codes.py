"""Binance's numeric error codes as venue-neutral meanings, and the client-id format it accepts.

ccxt chooses Binance's error tables by the request URL's host (`get_exceptions_by_url`: the
dapi / fapi / api hosts). Pointed at any other host (a proxy, the test emulator) only the common
table applies and -2019 (margin), -2022 (reduce-only) and -4116 (duplicate) come out as plain
`ExchangeError`; on COIN-M -4116 is plain `ExchangeError` even on Binance's own host. So the
adapter reads the code from the reply body ccxt quotes in its message and decides by the code,
never by ccxt's class.
"""

from __future__ import annotations

import re
from enum import Enum

from hedgekeeper.venues.base import (
    DuplicateClientId,
    InsufficientMargin,
    OrderRejected,
    OutcomeUnknown,
    RateLimited,
    VenueError,
    VenueUnavailable,
)

CODE = re.compile(r'"code"\s*:\s*"?(-\d+)')
CLIENT_ID = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")  # Binance's own pattern for newClientOrderId


class Meaning(Enum):
    MARGIN = "insufficient margin"
    REDUCE_ONLY = "reduce-only order rejected"
    DUPLICATE = "client order id used before"
    NOT_FOUND = "no such order"
    UNCHANGED = "already so"
    RATE_LIMITED = "rate limited"
    UNKNOWN_OUTCOME = "execution status unknown"
    UNAVAILABLE = "server busy"
    AUTH = "key, IP or permission refused"
    REFUSED = "order refused"


CODES: dict[str, Meaning] = {
    "-2019": Meaning.MARGIN,  # Margin is insufficient.
    "-2022": Meaning.REDUCE_ONLY,  # ReduceOnly Order is rejected.
    "-4116": Meaning.DUPLICATE,  # DUPLICATED_CLIENT_ORDER_ID
    "-2013": Meaning.NOT_FOUND,  # Order does not exist.
    "-2011": Meaning.NOT_FOUND,  # Unknown order sent (cancel).
    "-4059": Meaning.UNCHANGED,  # No need to change position side.
    "-4046": Meaning.UNCHANGED,  # No need to change margin type.
    "-1003": Meaning.RATE_LIMITED,  # Too many requests.
    "-1015": Meaning.RATE_LIMITED,  # Too many new orders.
    "-1007": Meaning.UNKNOWN_OUTCOME,  # Timeout waiting for backend: execution status unknown.
    "-1006": Meaning.UNKNOWN_OUTCOME,  # Unexpected response from the message bus: status unknown.
    "-1001": Meaning.UNAVAILABLE,  # Internal error; unable to process your request.
    "-1008": Meaning.UNAVAILABLE,  # Server is currently overloaded.
    "-1002": Meaning.AUTH,  # Not authorized.
    "-1022": Meaning.AUTH,  # Signature not valid.
    "-2014": Meaning.AUTH,  # API-key format invalid.
    "-2015": Meaning.AUTH,  # Invalid API-key, IP, or permissions for action.
    "-1111": Meaning.REFUSED,  # Precision is over the maximum defined for this asset.
    "-4003": Meaning.REFUSED,  # Quantity less than or equal to zero.
    "-4005": Meaning.REFUSED,  # Quantity greater than max quantity.
    "-4061": Meaning.REFUSED,  # Order's position side does not match user's setting.
    "-4164": Meaning.REFUSED,  # Order's notional must be no smaller than the minimum.
    "-2010": Meaning.REFUSED,  # New order rejected.
}
AUTH_ADVICE = (
    "check the key: futures trading enabled, the IP allow-list holding this host, and the"
    " spot/transfer permissions auto_transfer needs"
)


def error_code(exc: BaseException | str) -> str | None:
    """Binance's code (e.g. "-2019") from an error reply ccxt quotes in its message."""
    found = CODE.search(str(exc))
    return found.group(1) if found else None


def meaning(code: str | None) -> Meaning | None:
    return None if code is None else CODES.get(code)


def neutral_error(code: str | None, message: str, *, order: bool) -> VenueError | None:
    """The venue-neutral error for a Binance code, or None to fall back on ccxt's class.

    On an order, only codes that prove the order was refused become `OrderRejected`; a code
    that says the outcome is unknown stays `OutcomeUnknown` so the executor looks it up.
    """
    kind = meaning(code)
    if kind is None or kind in (Meaning.UNCHANGED, Meaning.NOT_FOUND):
        return None
    if kind is Meaning.RATE_LIMITED:
        return RateLimited(message)
    if kind is Meaning.UNKNOWN_OUTCOME:
        return OutcomeUnknown(message) if order else VenueUnavailable(message)
    if kind is Meaning.UNAVAILABLE:
        return OutcomeUnknown(message) if order else VenueUnavailable(message)
    if kind is Meaning.AUTH:
        return VenueError(f"{message}; {AUTH_ADVICE}")
    if not order:
        return VenueError(message)
    if kind is Meaning.MARGIN:
        return InsufficientMargin(message, code)
    if kind is Meaning.DUPLICATE:
        return DuplicateClientId(message, code)
    return OrderRejected(f"{message} ({kind.value})", code)


def check_client_id(client_id: str) -> str:
    """Ours, as Binance takes it: ccxt would otherwise invent a broker id we never learn."""
    if not CLIENT_ID.fullmatch(client_id):
        raise OrderRejected(
            f"client id {client_id!r} is not a Binance newClientOrderId"
            " (1-36 characters of A-Z a-z 0-9 . : / _ -)"
        )
    return client_id
