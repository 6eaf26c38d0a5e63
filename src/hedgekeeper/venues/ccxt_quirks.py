"""What a plain ccxt exchange does, and what ccxt's errors mean in venue-neutral terms.

`Quirks` is the ccxt-unified best effort that `CcxtVenue` falls back on; exchanges with quirks
(`bybit.BybitQuirks`) subclass it. `classify` maps ccxt's exception classes to `base.py`'s errors:
anything under NetworkError may have been executed, so for an order it is `OutcomeUnknown`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hedgekeeper.domain import (
    AccountSettings,
    Collateral,
    FundingEvent,
    MarketSpec,
    OrderRequest,
    Stamped,
)
from hedgekeeper.venues import ccxt_parse as parse
from hedgekeeper.venues.base import (
    BadReply,
    DuplicateClientId,
    InsufficientMargin,
    OrderRejected,
    OutcomeUnknown,
    RateLimited,
    Reading,
    VenueError,
    VenueUnavailable,
)

if TYPE_CHECKING:
    from hedgekeeper.venues.ccxt_venue import CcxtVenue

Exchange = Any  # a ccxt exchange instance (ccxt ships no type hints)
PARSE_ERRORS = (KeyError, TypeError, ValueError, ArithmeticError, IndexError, AttributeError)


def classify(exc: BaseException, *, order: bool, code: str | None, duplicate: bool) -> VenueError:
    """A ccxt (or parsing) failure as a venue-neutral error; `message` is set by the caller."""
    from ccxt.base import errors as ccxt_errors

    msg = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, VenueError):
        return exc
    if duplicate:
        return DuplicateClientId(msg, code)
    if isinstance(exc, ccxt_errors.InsufficientFunds):
        return InsufficientMargin(msg, code) if order else VenueError(msg)
    if isinstance(exc, ccxt_errors.RateLimitExceeded | ccxt_errors.DDoSProtection):
        return RateLimited(msg)
    if isinstance(exc, ccxt_errors.NetworkError):
        return OutcomeUnknown(msg) if order else VenueUnavailable(msg)
    refused = (
        ccxt_errors.InvalidOrder,
        ccxt_errors.BadRequest,
        ccxt_errors.OperationRejected,
        ccxt_errors.BadSymbol,
        ccxt_errors.ArgumentsRequired,
        ccxt_errors.AuthenticationError,
        ccxt_errors.PermissionDenied,
        ccxt_errors.AccountSuspended,
        ccxt_errors.NotSupported,
    )
    if isinstance(exc, refused):
        return OrderRejected(msg, code) if order else VenueError(msg)
    if isinstance(exc, ccxt_errors.ExchangeError):
        return OutcomeUnknown(msg) if order else VenueError(msg)
    if isinstance(exc, PARSE_ERRORS):
        return BadReply(msg)
    return OutcomeUnknown(msg) if order else VenueUnavailable(msg)


def calling(method: str, *args: object) -> Callable[[Exchange], Awaitable[Any]]:
    """`exchange.<method>(*args)`, for `CcxtVenue.read` and `CcxtVenue.write`."""

    def run(exchange: Exchange) -> Awaitable[Any]:
        return getattr(exchange, method)(*args)  # type: ignore[no-any-return]

    return run


class Quirks:
    """What a plain ccxt exchange does; exchanges with quirks subclass and override."""

    ccxt_options: dict[str, Any] = {}  # noqa: RUF012 - read only, copied into each client
    duplicate_codes: frozenset[str] = frozenset()  # exchange codes: client id used before
    unchanged_codes: frozenset[str] = frozenset()  # exchange codes: setting already so

    def error_code(self, exc: BaseException) -> str | None:
        return None

    async def on_open(self, venue: CcxtVenue) -> None:
        """Anything to learn about the account once markets are loaded."""

    def share_state(self, rest: Exchange, pro: Exchange) -> None:
        """Copy what the REST client learnt (account type...) into the streaming client."""

    def order_params(self, request: OrderRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"clientOrderId": request.client_id}
        if request.reduce_only:
            params["reduceOnly"] = True
        if request.limit_price is not None:
            params["timeInForce"] = "IOC"
        return params

    async def spot(self, venue: CcxtVenue, asset: str) -> Stamped:
        raw = await venue.read(lambda ex: ex.fetch_balance({"type": "spot"}))
        total = parse.mapping(parse.mapping(raw, "balance").get("total") or {}, "balance total")
        return Stamped(parse.num(total, asset, "spot balance", "nonneg"), venue.now())

    async def collateral(self, venue: CcxtVenue, market: MarketSpec) -> Collateral:
        raw = await venue.read(lambda ex: ex.fetch_balance({"type": "swap"}))
        return self.balance_collateral(raw, market.settle, venue.now())

    def balance_collateral(self, raw: object, settle: str, ts: float) -> Collateral:
        account = parse.mapping(parse.mapping(raw, "balance").get(settle), f"balance {settle}")
        total = parse.num(account, "total", f"balance {settle}")
        free = parse.opt_num(account, "free", f"balance {settle}") or parse.ZERO
        return Collateral(wallet=total, equity=total, free=free, ts=ts)

    async def settings(self, venue: CcxtVenue, symbol: str) -> AccountSettings:
        position = await venue.position(symbol)
        return AccountSettings(position.leverage, None, None, False, venue.now())

    async def ensure_settings(
        self, venue: CcxtVenue, symbol: str, leverage: Decimal, margin_mode: str
    ) -> None:
        await venue.write(lambda ex: ex.set_position_mode(False, symbol), unchanged=True)
        await venue.write(lambda ex: ex.set_margin_mode(margin_mode, symbol), unchanged=True)
        await venue.write(lambda ex: ex.set_leverage(float(leverage), symbol), unchanged=True)

    async def find_order(self, venue: CcxtVenue, symbol: str, client_id: str) -> object | None:
        for fetch in ("fetch_open_orders", "fetch_closed_orders"):
            found = await venue.read(calling(fetch, symbol))
            for order in parse.items(found, "orders"):
                if parse.mapping(order, "order").get("clientOrderId") == client_id:
                    return order
        return None

    async def cancel(self, venue: CcxtVenue, symbol: str, client_id: str, order: object) -> None:
        exchange_id = parse.text(parse.mapping(order, "order"), "id", "order")
        await venue.write(lambda ex: ex.cancel_order(exchange_id, symbol))

    async def funding(self, venue: CcxtVenue, symbol: str, since: float) -> list[FundingEvent]:
        raw = await venue.read(lambda ex: ex.fetch_funding_history(symbol, int(since * 1000)))
        return parse.parse_funding(raw, symbol)

    async def transfer(self, venue: CcxtVenue, asset: str, amount: Decimal) -> None:
        await venue.write(lambda ex: ex.transfer(asset, float(amount), "spot", "swap"))

    def balance_streams(
        self, market: MarketSpec, asset: str
    ) -> list[tuple[dict[str, Any], Callable[[object, float], list[Reading]]]]:
        """(watch_balance params, parser of its pushes) pairs for the collateral and the spot."""

        def collateral(raw: object, ts: float) -> list[Reading]:
            return [self.balance_collateral(raw, market.settle, ts)]

        return [({}, collateral)]
