"""Every Deribit quirk the hedge depends on (ccxt 4.5, Deribit API v2, JSON-RPC over HTTP GET).

- Amounts: BTC-PERPETUAL (inverse, contract size 10 USD) takes and reports amounts in USD, in
  multiples of 10; BTC_USDC-PERPETUAL (linear, 0.001 BTC) in BTC. ccxt's market lists the step in
  that unit, so `market` turns it into contracts.
- No client order id: ccxt would put `clientOrderId` into the URL, and Deribit ignores it. Our id
  travels as `label`, which Deribit does NOT keep unique: an order is found by label through the
  raw `get_open_orders_by_label` and `get_order_state_by_label`, keeping only the exact label on
  our instrument; two such orders are an uncertain lookup (`OutcomeUnknown`), never a resend.
- Positions: `get_position` gives the signed size in the amount unit; a flat one says direction
  "zero" (ccxt: side "short"), so the sign of the size is read, never the direction.
- No leverage, margin-mode or position-mode setters: `ensure_settings` verifies the account's
  margin model (`get_account_summary`: `portfolio_margining_enabled`, `margin_model`) and refuses,
  with the reason, what it cannot verify or what differs from the config.
- Streams: ticker and `user.portfolio.<currency>` over the websocket; no position stream, so
  positions are polled over REST every `poll_seconds` (tighter than the usual 5 s). An error
  reply on the websocket never resolves ccxt.pro's pending watch: every watch is guarded by a
  timeout, after which the reading comes from REST.
- Funding: `interest_pl` of the perpetual's settlement rows in `get_transaction_log`.
- Accounts: one account per currency (BTC holds the coin and the inverse margin, USDC the linear
  margin); `transfer` has nothing to move for the inverse perp and is refused for the linear one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from hedgekeeper import contracts
from hedgekeeper.contracts import AmountUnit
from hedgekeeper.domain import (
    AccountSettings,
    Collateral,
    ContractKind,
    FundingEvent,
    MarketSpec,
    OrderRequest,
    Position,
    Stamped,
)
from hedgekeeper.venues.base import (
    InsufficientMargin,
    OutcomeUnknown,
    Reading,
    SpotReading,
    VenueError,
)
from hedgekeeper.venues.ccxt import parse
from hedgekeeper.venues.ccxt.quirks import Ctx, Exchange, Quirks, StreamSpec
from hedgekeeper.venues.ccxt.traits import (
    Account,
    ClientIds,
    MarkSource,
    Stream,
    Traits,
    Wallets,
    frozen,
)
from hedgekeeper.venues.deribit import parse as deribit

# How long a websocket watch may stay silent before the reading is taken over REST instead: an
# error reply on Deribit's socket leaves ccxt.pro's watch pending for ever.
WATCH_GUARD = 20.0
FUNDING_PAGES = 10

TRAITS = Traits(
    ccxt_options=frozen({"fetchMarkets": {"fetchAllMarkets": True}}),
    error_code=r'"code"\s*:\s*(-?\d+)',
    errors=frozen({"10009": InsufficientMargin}),
    accounts=frozen({"per-currency": Wallets(spot="coin", inverse="coin", linear="USDC")}),
    client_ids=ClientIds(param=None, max_length=64, pattern=r"[A-Za-z0-9_-]+"),
    mark=MarkSource.TICKER,
    streams=frozenset({Stream.TICKER, Stream.BALANCE}),
    poll_seconds=2.0,
    funding_sign=1,
    amount_unit=frozen(
        {ContractKind.INVERSE: AmountUnit.QUOTE, ContractKind.LINEAR: AmountUnit.COIN}
    ),
)


def _guarded(
    call: Callable[[Exchange], Awaitable[object]], rest: Callable[[Exchange], Awaitable[object]]
) -> Callable[[Exchange], Awaitable[object]]:
    """A watch that falls back to a REST read (tagged "rest") when no push comes in time."""

    async def watch(ex: Exchange) -> object:
        try:
            return await asyncio.wait_for(call(ex), WATCH_GUARD)
        except TimeoutError:
            return {"rest": await rest(ex)}

    return watch


class DeribitQuirks(Quirks):
    traits = TRAITS

    async def account(self, ex: Exchange, configured_unified: bool | None) -> Account:
        raw = await ex.private_get_get_account_summary({"currency": "BTC", "extended": "true"})
        return self.traits.account("per-currency", deribit.account_id(raw, "BTC"))

    async def market(self, ctx: Ctx, spec: MarketSpec) -> MarketSpec:
        """ccxt's step and minimum are in the amount unit (10 USD, 0.001 BTC): in contracts."""
        unit = self.unit(spec)
        return replace(
            spec,
            amount_step=contracts.from_amount(spec, spec.amount_step, unit),
            min_amount=contracts.from_amount(spec, spec.min_amount, unit),
        )

    # -- reads ---------------------------------------------------------------------------------

    async def _summary(self, ctx: Ctx, currency: str) -> object:
        return await ctx.ex.private_get_get_account_summary(
            {"currency": currency, "extended": "true"}
        )

    async def position(self, ctx: Ctx, market: MarketSpec) -> Position:
        instrument = ctx.ex.market(market.symbol)["id"]
        raw = await ctx.ex.private_get_get_position({"instrument_name": instrument})
        size, entry, liquidation = deribit.position_size(raw, instrument)
        contracts_ = contracts.from_amount(market, size, self.unit(market))
        return Position(market.symbol, contracts_, ctx.now(), entry, liquidation, None)

    async def collateral(self, ctx: Ctx, market: MarketSpec) -> Collateral:
        raw = await self._summary(ctx, market.settle)
        shared = ctx.account.wallets.shares_spot(market.kind)
        return deribit.collateral(raw, market.settle, ctx.now(), shared)

    async def spot(self, ctx: Ctx, asset: str) -> Stamped:
        """The coin's own account: its equity (the inverse perp's margin is that coin too)."""
        raw = await ctx.spot_ex.private_get_get_account_summary({"currency": asset})
        s = deribit.summary(raw, asset)
        return Stamped(parse.num(s, "equity", f"account summary {asset}", "nonneg"), ctx.now())

    async def settings(self, ctx: Ctx, market: MarketSpec) -> AccountSettings:
        """Deribit has no leverage and no position mode: leverage unknown, always one-way."""
        mode = deribit.margin_mode(await self._summary(ctx, market.settle), market.settle)
        shared = ctx.account.wallets.shares_spot(market.kind)
        return AccountSettings(None, mode, True, shared, ctx.now())

    async def funding(self, ctx: Ctx, market: MarketSpec, since: float) -> list[FundingEvent]:
        instrument = ctx.ex.market(market.symbol)["id"]
        since_ms = int(since * 1000)
        request: dict[str, Any] = {
            "currency": market.settle, "start_timestamp": since_ms,
            "end_timestamp": int(ctx.now() * 1000), "query": "settlement", "count": 250,
        }  # fmt: skip
        events: list[FundingEvent] = []
        for _ in range(FUNDING_PAGES):
            raw = await ctx.ex.private_get_get_transaction_log(request)
            events += deribit.funding(raw, market.symbol, instrument, since_ms)
            more = parse.mapping(deribit.result(raw, "transaction log"), "transaction log")
            continuation = more.get("continuation")
            if continuation in (None, "", "none"):
                return events
            request["continuation"] = continuation
        raise VenueError(f"transaction log {market.symbol}: more than {FUNDING_PAGES} pages")

    # -- orders --------------------------------------------------------------------------------

    def order_params(self, traits: Traits, request: OrderRequest) -> dict[str, Any]:
        return {**super().order_params(traits, request), "label": request.client_id}

    async def find_order(
        self, ctx: Ctx, market: MarketSpec, client_id: str, exchange_id: str | None = None
    ) -> object | None:
        """The one order labelled `client_id` on this instrument, as a ccxt order.

        Deribit keeps labels non-unique: orders of other instruments or with other labels are
        dropped, and two orders left mean the lookup cannot tell ours: `OutcomeUnknown`.
        """
        ex = ctx.ex
        ccxt_market = ex.market(market.symbol)
        request = {"currency": market.settle, "label": client_id}
        found: dict[str, dict[str, object]] = {}
        for fetch in (ex.private_get_get_open_orders_by_label,
                      ex.private_get_get_order_state_by_label):  # fmt: skip
            for order in deribit.orders(await fetch(request), f"orders labelled {client_id}"):
                if (
                    order.get("label") == client_id
                    and order.get("instrument_name") == ccxt_market["id"]
                ):
                    found.setdefault(parse.text(order, "order_id", "order"), dict(order))
        if not found:
            return None
        if len(found) > 1:
            raise OutcomeUnknown(
                f"{len(found)} orders carry the label {client_id} on {market.symbol}"
                f" ({', '.join(sorted(found))}): cannot tell which one is ours"
            )
        unified = dict(ex.parse_order(next(iter(found.values())), ccxt_market))
        unified["clientOrderId"] = client_id
        if unified.get("fee"):  # ccxt names the base coin; Deribit charges the settle coin
            unified["fee"] = {**unified["fee"], "currency": market.settle}
        return unified

    async def cancel(self, ctx: Ctx, market: MarketSpec, client_id: str, raw: object) -> None:
        exchange_id = parse.text(parse.mapping(raw, "order"), "id", "order")
        await ctx.ex.private_get_cancel({"order_id": exchange_id})

    # -- settings and transfers ----------------------------------------------------------------

    async def ensure_settings(
        self, ctx: Ctx, market: MarketSpec, leverage: Decimal, margin_mode: str
    ) -> None:
        """Nothing can be set: verify the margin model, and refuse it with the reason."""
        raw = await self._summary(ctx, market.settle)
        try:
            mode = deribit.margin_mode(raw, market.settle)
        except VenueError as exc:
            raise VenueError(f"deribit has no margin-mode setter and {exc}: refusing") from None
        if mode != margin_mode:
            raise VenueError(
                f"deribit has no margin-mode setter: the {market.settle} account is on {mode}"
                f" margin, the config asks for {margin_mode}; switch the account to standard"
                " (cross) margin on deribit.com, or change the config"
            )

    async def transfer(self, ctx: Ctx, asset: str, amount: Decimal) -> None:
        if ctx.account.wallets.shares_spot(ContractKind.INVERSE):
            return  # the coin's account is the inverse perp's margin already
        raise VenueError("deribit: moving coin into the USDC account is not supported")

    # -- streams -------------------------------------------------------------------------------

    def streams(self, ctx: Ctx, market: MarketSpec, asset: str) -> list[StreamSpec]:
        """The ticker as ccxt has it; the portfolio push of the margin currency; both guarded."""
        symbol, settle = market.symbol, market.settle
        shared = ctx.account.wallets.shares_spot(market.kind)

        def prices(raw: object, ts: float) -> list[Reading]:
            found = parse.mapping(raw, "ticker")
            ticker = found.get("rest", found)
            return [parse.parse_prices(ticker, symbol, ts)]

        def collateral(raw: object, ts: float) -> list[Reading]:
            found = parse.mapping(raw, "balance")
            if "rest" in found:
                return [deribit.collateral(found["rest"], settle, ts, shared)]
            readings: list[Reading] = []
            # ccxt.pro keeps each currency's last push in its own balance's `info` (the top
            # `info` is whichever currency pushed last); a currency not pushed yet is no reading.
            if settle in found:
                data = deribit.push(found[settle], settle)
                readings.append(deribit.portfolio(data, settle, ts, shared))
            if asset in found:
                equity = parse.num(deribit.push(found[asset], asset), "equity", f"{asset} push")
                readings.append(SpotReading(asset, Stamped(equity, ts)))
            return readings

        async def summary(ex: Exchange) -> object:
            return await ex.private_get_get_account_summary({"currency": settle})

        return [
            StreamSpec(Stream.TICKER, "ticker", _guarded(
                lambda ex: ex.watch_ticker(symbol), lambda ex: ex.fetch_ticker(symbol)), prices),
            StreamSpec(Stream.BALANCE, "portfolio", _guarded(
                lambda ex: ex.watch_balance({}), summary), collateral),
        ]  # fmt: skip
