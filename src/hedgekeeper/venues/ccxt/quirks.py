"""The hooks an exchange package overrides: one per read and write, ccxt-unified by default.

A hook gets what it needs in a `Ctx` (the ccxt client, the account learnt at open, the traits,
the clock) plus the market and its arguments, and returns domain values. It never sees the venue
object: retries, error mapping, secret scrubbing and streaming belong to the venue, and the hook
cannot set anything on it. `Quirks` is stateless, so one instance serves every venue of its
exchange; its `traits` say what is data, its methods what is code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from hedgekeeper import contracts
from hedgekeeper.domain import (
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
from hedgekeeper.venues.base import Reading
from hedgekeeper.venues.ccxt import parse
from hedgekeeper.venues.ccxt.traits import Account, MarkSource, Stream, Traits
from hedgekeeper.venues.ccxt.transport import is_unchanged

Exchange = Any  # a ccxt exchange instance (ccxt ships no type hints)

__all__ = ["Ctx", "Exchange", "Quirks", "StreamSpec", "unless_unchanged", "whole"]


@dataclass(frozen=True, slots=True)
class Ctx:
    """What a hook may use: the REST client (ccxt.pro in stream calls), the spot wallet's client
    (`ex` unless the traits name a second exchange class), the account, the traits, the clock,
    and the markets the venue serves so far (OKX's spot read needs to know whether a coin is an
    inverse swap's collateral there)."""

    ex: Exchange
    spot_ex: Exchange
    account: Account
    traits: Traits
    now: Callable[[], float]
    markets: Mapping[str, MarketSpec] = field(default_factory=dict)
    probe: bool = False  # the user consents to a probe order (testnet or live only)


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One websocket subscription: `call` awaits the next push on the ccxt.pro client and `parse`
    turns it into readings stamped `ts`. `kind` says which REST read replaces it after a drop.
    `spot`: the call runs on the spot wallet's streaming client (`traits.spot_exchange`)."""

    kind: Stream
    name: str
    call: Callable[[Exchange], Awaitable[object]]
    parse: Callable[[object, float], list[Reading]]
    spot: bool = False


async def unless_unchanged(traits: Traits, call: Awaitable[object]) -> None:
    """A setter whose "already so" reply (by the traits) is success."""
    try:
        await call
    except Exception as exc:
        if not is_unchanged(traits, exc):
            raise


def whole(amount: Decimal) -> int | float:
    """An amount as an exchange's JSON wants it: 1, not 1.0, when it is whole (a leverage, a
    number of contracts), else a float."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def balance_collateral(raw: object, settle: str, ts: float, unified: bool) -> Collateral:
    """ccxt's unified balance: total as both wallet and equity (ccxt has no unified equity)."""
    account = parse.mapping(parse.mapping(raw, "balance").get(settle), f"balance {settle}")
    total = parse.num(account, "total", f"balance {settle}")
    free = parse.opt_num(account, "free", f"balance {settle}") or parse.ZERO
    return Collateral(wallet=total, equity=total, free=free, ts=ts, unified=unified)


class Quirks:
    """What a plain ccxt exchange does; an exchange package subclasses it with its traits."""

    traits = Traits()

    # -- the account -----------------------------------------------------------------------------

    async def account(self, ex: Exchange, configured_unified: bool | None) -> Account:
        """The account at open, after markets are loaded. ccxt has no unified way to ask whether
        it is unified, so the config says; an exchange that can tell overrides this."""
        return self.traits.account("unified" if configured_unified else "separate")

    async def market(self, ctx: Ctx, spec: MarketSpec) -> MarketSpec:
        """The market as hedgekeeper counts it, from ccxt's (parsed into `spec`). An exchange
        whose amounts need a price to become contracts (Bitget's coin-futures, in coin on an
        inverse perp) overrides this."""
        return spec

    def unit(self, market: MarketSpec) -> contracts.AmountUnit:
        return self.traits.amount_unit[market.kind]

    # -- reads ---------------------------------------------------------------------------------

    async def prices(self, ctx: Ctx, market: MarketSpec) -> Prices:
        symbol = market.symbol
        if ctx.traits.mark is MarkSource.MARK_PRICE:
            raw = await ctx.ex.fetch_mark_price(symbol)
        elif ctx.traits.mark is MarkSource.FUNDING_RATE:
            raw = await ctx.ex.fetch_funding_rate(symbol)
        else:
            raw = await ctx.ex.fetch_ticker(symbol)
        return parse.parse_prices(raw, symbol, ctx.now())

    async def position(self, ctx: Ctx, market: MarketSpec) -> Position:
        raw = await ctx.ex.fetch_positions([market.symbol])
        return self.own_position(market, parse.parse_position(raw, market.symbol, ctx.now()))

    def own_position(self, market: MarketSpec, position: Position) -> Position:
        """A parsed position with its size in our contracts (the exchange's unit may differ)."""
        size = contracts.from_amount(market, position.contracts, self.unit(market))
        return position if size == position.contracts else replace(position, contracts=size)

    async def collateral(self, ctx: Ctx, market: MarketSpec) -> Collateral:
        raw = await ctx.ex.fetch_balance({"type": "swap"})
        shared = ctx.account.wallets.shares_spot(market.kind)
        return balance_collateral(raw, market.settle, ctx.now(), shared)

    async def spot(self, ctx: Ctx, asset: str) -> Stamped:
        raw = await ctx.spot_ex.fetch_balance({"type": "spot"})
        total = parse.mapping(parse.mapping(raw, "balance").get("total") or {}, "balance total")
        return Stamped(parse.num(total, asset, "spot balance", "nonneg"), ctx.now())

    async def settings(self, ctx: Ctx, market: MarketSpec) -> AccountSettings:
        position = await self.position(ctx, market)
        return AccountSettings(position.leverage, None, None, ctx.account.unified, ctx.now())

    async def funding(self, ctx: Ctx, market: MarketSpec, since: float) -> list[FundingEvent]:
        raw = await ctx.ex.fetch_funding_history(market.symbol, int(since * 1000))
        return parse.parse_funding(raw, market.symbol, ctx.traits.funding_sign)

    async def trading(self, ctx: Ctx, market: MarketSpec) -> str | None:
        """Why this key may not trade `market` (None: it may). Asked once per venue and market,
        before settings are changed and before the first order; a reason refuses both."""
        return None

    # -- orders --------------------------------------------------------------------------------

    def order_params(self, traits: Traits, request: OrderRequest) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if traits.client_ids.param is not None:
            params[traits.client_ids.param] = request.client_id
        if request.reduce_only:
            params["reduceOnly"] = True
        if request.limit_price is not None:
            params["timeInForce"] = "IOC"
        return params

    async def place(self, ctx: Ctx, market: MarketSpec, request: OrderRequest) -> object:
        """Send the order once; returns ccxt's reply (the venue then looks the order up)."""
        amount = contracts.to_amount(market, request.contracts, self.unit(market))
        kind = "market" if request.limit_price is None else "limit"
        price = None if request.limit_price is None else float(request.limit_price)
        params = self.order_params(ctx.traits, request)
        return await ctx.ex.create_order(
            market.symbol, kind, request.side.value, float(amount), price, params
        )

    async def find_order(
        self, ctx: Ctx, market: MarketSpec, client_id: str, exchange_id: str | None = None
    ) -> object | None:
        """The raw ccxt order carrying `client_id`, or None when the exchange never saw it.
        `exchange_id` is the exchange's id of it when an answer gave it (None after a crash
        between send and reply); lookups by client id need not use it."""
        for fetch in (ctx.ex.fetch_open_orders, ctx.ex.fetch_closed_orders):
            for order in parse.items(await fetch(market.symbol), "orders"):
                if parse.mapping(order, "order").get("clientOrderId") == client_id:
                    return order
        return None

    def report(self, ctx: Ctx, market: MarketSpec, raw: object, client_id: str) -> OrderReport:
        """A found order as a report, its fill in our contracts."""
        report = parse.parse_order(raw, client_id, market.settle, ctx.now())
        filled = contracts.from_amount(market, report.filled, self.unit(market))
        return report if filled == report.filled else replace(report, filled=filled)

    async def cancel(self, ctx: Ctx, market: MarketSpec, client_id: str, raw: object) -> None:
        exchange_id = parse.text(parse.mapping(raw, "order"), "id", "order")
        await ctx.ex.cancel_order(exchange_id, market.symbol)

    # -- settings and transfers ----------------------------------------------------------------

    async def ensure_settings(
        self, ctx: Ctx, market: MarketSpec, leverage: Decimal, margin_mode: str
    ) -> None:
        """One-way mode, the margin mode and the leverage, each sent once; "already so" is fine."""
        symbol, traits = market.symbol, ctx.traits
        await unless_unchanged(traits, ctx.ex.set_position_mode(False, symbol))
        await unless_unchanged(traits, ctx.ex.set_margin_mode(margin_mode, symbol))
        await unless_unchanged(traits, ctx.ex.set_leverage(float(leverage), symbol))

    async def transfer(self, ctx: Ctx, asset: str, amount: Decimal) -> None:
        """Spot -> the perp's wallet; nothing to move when they are one wallet."""
        wallets = ctx.account.wallets
        if ctx.account.unified:
            return
        await ctx.ex.transfer(asset, float(amount), wallets.spot, wallets.inverse)

    def advice(
        self, market: MarketSpec, found: AccountSettings, leverage: Decimal, margin_mode: str
    ) -> list[str]:
        """What `hedgekeeper check` tells the owner to change: one line per wrong setting."""
        lines = []
        if found.one_way is False:
            lines.append("position mode is hedge (two-way): switch the account to one-way")
        if found.margin_mode is not None and found.margin_mode != margin_mode:
            lines.append(f"margin mode is {found.margin_mode}, the leg wants {margin_mode}")
        if found.leverage is not None and found.leverage != leverage:
            lines.append(f"leverage is {found.leverage}x, the leg wants {leverage}x")
        return lines

    # -- streams -------------------------------------------------------------------------------

    def streams(self, ctx: Ctx, market: MarketSpec, asset: str) -> list[StreamSpec]:
        """The subscriptions that keep a leg's readings current (those the traits list)."""
        symbol = market.symbol
        shared = ctx.account.wallets.shares_spot(market.kind)

        def prices(raw: object, ts: float) -> list[Reading]:
            return [parse.parse_prices(raw, symbol, ts)]

        def position(raw: object, ts: float) -> list[Reading]:
            return [self.own_position(market, parse.parse_position(raw, symbol, ts))]

        def collateral(raw: object, ts: float) -> list[Reading]:
            return [balance_collateral(raw, market.settle, ts, shared)]

        specs = [
            StreamSpec(Stream.TICKER, "ticker", lambda ex: ex.watch_ticker(symbol), prices),
            StreamSpec(Stream.POSITIONS, "positions",
                       lambda ex: ex.watch_positions([symbol]), position),
            StreamSpec(Stream.BALANCE, "balance", lambda ex: ex.watch_balance({}), collateral),
        ]  # fmt: skip
        return [s for s in specs if s.kind in ctx.traits.streams]


def watch_balance(params: Mapping[str, Any]) -> Callable[[Exchange], Awaitable[object]]:
    """`ex.watch_balance(params)` with a fresh copy each call (ccxt may add keys to it)."""
    return lambda ex: ex.watch_balance(dict(params))
