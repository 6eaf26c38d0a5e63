"""Binance's numeric error codes as venue-neutral errors, decided by code, not by ccxt's class.

ccxt chooses Binance's error tables by the request URL's host (`get_exceptions_by_url`: the
dapi / fapi / api hosts). Pointed at any other host (a proxy, the test emulator) only the common
table applies and -2019 (margin), -2022 (reduce-only) and -4116 (duplicate) come out as plain
`ExchangeError`, which for an order would read as "outcome unknown"; on COIN-M -4116 is plain
`ExchangeError` even on Binance's own host. The code is in the reply body ccxt quotes in its
message (`binancecoinm {"code":-2019,"msg":"Margin is insufficient."}`).
"""

from __future__ import annotations

from collections.abc import Mapping

from hedgekeeper.venues.base import (
    DuplicateClientId,
    InsufficientMargin,
    OrderRejected,
    RateLimited,
    VenueError,
)

CODE = r'"code"\s*:\s*"?(-\d+)'
NOT_FOUND = frozenset({"-2013", "-2011"})  # Order does not exist / Unknown order sent (cancel)
UNCHANGED = frozenset({"-4059", "-4046"})  # No need to change position side / margin type
KEY_ADVICE = (
    "Binance refused the key: check that futures trading is enabled on it, that the IP"
    " allow-list holds this host, and (auto_transfer only) that universal transfer is allowed"
)


class ReduceOnlyRejected(OrderRejected):
    """-2022: Binance refused a reduce-only order (nothing to reduce, or it would flip)."""


class KeyRefused(VenueError):
    """-2015 / -2014 / -1022: key, IP or permission refused; says what to check."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{message}; {KEY_ADVICE}")


ERRORS: Mapping[str, type[VenueError]] = {
    "-2019": InsufficientMargin,  # Margin is insufficient.
    "-4116": DuplicateClientId,  # DUPLICATED_CLIENT_ORDER_ID
    "-2022": ReduceOnlyRejected,  # ReduceOnly Order is rejected.
    "-4164": OrderRejected,  # Order's notional must be no smaller than the minimum.
    "-4061": OrderRejected,  # Order's position side does not match user's setting (hedge mode).
    "-1111": OrderRejected,  # Precision is over the maximum defined for this asset.
    "-1003": RateLimited,  # Too many requests.
    "-1015": RateLimited,  # Too many new orders.
    "-2015": KeyRefused,  # Invalid API-key, IP, or permissions for action.
    "-2014": KeyRefused,  # API-key format invalid.
    "-1022": KeyRefused,  # Signature for this request is not valid.
}
