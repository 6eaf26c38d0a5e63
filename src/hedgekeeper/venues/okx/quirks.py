"""Every OKX quirk the hedge depends on (ccxt 4.5.90, OKX v5), inverse and linear swaps.

- Wallets: the trading account is unified (spot and swaps share it): its coin is the inverse
  swap's collateral, read as its equity `eq` (cash + upl) and counted once. The funding account,
  where deposits land, is the spot source; `auto_transfer` moves coin from funding to trading.
- The account mode must allow derivatives: the spot-only mode (acctLv 1) answers every swap order
  with 51010, so it is refused at open (and by `check`) with what to change.
- Settings: net (one-way) position mode, set only when it differs (59000 when positions or
  orders are open: the message says so); leverage per instrument in cross (`mgnMode`); every
  order goes out with `tdMode` cross. Unchanged settings succeed on OKX.
- Orders: ccxt posts to `/trade/batch-orders`, so a refusal is per item (`sCode`); `clOrdId` is 1-32
  letters and digits (ccxt would invent one otherwise); a duplicate (51016) is settled by looking
  the order up by `clOrdId`; 51008 is margin; 51603 "does not exist" is a lookup's "never seen".
- Positions through `fetch_positions([symbol])` (`fetch_position` raises when flat).
- Prices: OKX tickers carry no mark: `/public/mark-price` and the `mark-price` channel do.
- Websockets push a snapshot on subscribe (no REST snapshot needed); funding comes from the bills
  (type 8); demo trading is ccxt's sandbox mode (`x-simulated-trading: 1`, the wspap host).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hedgekeeper.domain import (
    AccountSettings,
    Collateral,
    ContractKind,
    MarketSpec,
    OrderRequest,
    Stamped,
)
from hedgekeeper.venues.base import (
    DuplicateClientId,
    InsufficientMargin,
    Reading,
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
from hedgekeeper.venues.okx import parse as okx

TRAITS = Traits(
    ccxt_options=frozen({"fetchMarkets": {"types": ["spot", "swap"]}}),  # no futures, no options
    error_code=okx.ERROR_CODE,
    errors=frozen(
        {
            **dict.fromkeys(okx.DUPLICATE_CODES, DuplicateClientId),
            **dict.fromkeys(okx.MARGIN_CODES, InsufficientMargin),
        }
    ),
    accounts=frozen({"trading": Wallets(spot="funding", inverse="trading", linear="trading")}),
    client_ids=ClientIds(param="clientOrderId", max_length=32, pattern=r"[A-Za-z0-9]+"),
    mark=MarkSource.MARK_PRICE,
    watch_snapshot=False,  # the mark-price, positions and account channels push one on subscribe
)


class OkxQuirks(Quirks):
    traits = TRAITS

    async def account(self, ex: Exchange, configured_unified: bool | None) -> Account:
        config = okx.parse_account_config(await ex.fetch_accounts())
        okx.require_derivatives(config, "okx")
        return self.traits.account("trading", config.uid or None)

    def order_params(self, traits: Traits, request: OrderRequest) -> dict[str, Any]:
        return {**super().order_params(traits, request), "marginMode": "cross"}

    async def spot(self, ctx: Ctx, asset: str) -> Stamped:
        """The funding account's coin, plus the trading account's unless that is the collateral
        of an inverse swap this venue hedges with (then it is counted there, as equity)."""
        raw = await ctx.ex.fetch_balance({"type": okx.FUNDING_ACCOUNT})
        amount = okx.funding_balance(parse.mapping(raw, "balance").get("info"), asset)
        collateral = {m.settle for m in ctx.markets.values() if m.kind is ContractKind.INVERSE}
        if asset not in collateral:
            trading = await ctx.ex.fetch_balance({"type": okx.TRADING_ACCOUNT})
            info = parse.mapping(trading, "balance").get("info")
            amount += okx.trading_spot(okx.trading_detail(info, asset), asset)
        return Stamped(amount, ctx.now())

    async def collateral(self, ctx: Ctx, market: MarketSpec) -> Collateral:
        raw = await ctx.ex.fetch_balance({"type": okx.TRADING_ACCOUNT})
        detail = okx.trading_detail(parse.mapping(raw, "balance").get("info"), market.settle)
        return okx.parse_collateral(detail, market.settle, ctx.now())

    async def settings(self, ctx: Ctx, market: MarketSpec) -> AccountSettings:
        config = okx.parse_account_config(await ctx.ex.fetch_accounts())
        leverage = await ctx.ex.fetch_leverage(market.symbol, {"marginMode": "cross"})
        return okx.parse_settings(leverage, config, market.symbol, ctx.now())

    async def ensure_settings(
        self, ctx: Ctx, market: MarketSpec, leverage: Decimal, margin_mode: str
    ) -> None:
        if margin_mode != "cross":
            raise VenueError("okx: hedgekeeper sends every OKX order in cross margin (tdMode)")
        if leverage != leverage.to_integral_value():
            raise VenueError(f"okx: leverage must be a whole number, got {leverage}")
        config = okx.parse_account_config(await ctx.ex.fetch_accounts())
        okx.require_derivatives(config, "okx")
        if not config.one_way:
            try:
                await ctx.ex.set_position_mode(False, market.symbol)
            except Exception as exc:
                if okx.error_code(str(exc)) == okx.POSITION_MODE_LOCKED:
                    raise VenueError(okx.position_mode_message("okx")) from None
                raise
        await ctx.ex.set_leverage(int(leverage), market.symbol, {"marginMode": "cross"})

    async def find_order(
        self, ctx: Ctx, market: MarketSpec, client_id: str, exchange_id: str | None = None
    ) -> object | None:
        try:
            found: object = await ctx.ex.fetch_order(
                None, market.symbol, {"clientOrderId": client_id}
            )
        except Exception as exc:
            if okx.error_code(str(exc)) == okx.ORDER_NOT_FOUND:
                return None
            raise
        return found

    async def cancel(self, ctx: Ctx, market: MarketSpec, client_id: str, raw: object) -> None:
        await ctx.ex.cancel_order(None, market.symbol, {"clientOrderId": client_id})

    def streams(self, ctx: Ctx, market: MarketSpec, asset: str) -> list[StreamSpec]:
        """The `mark-price` channel instead of tickers (no mark there); the account channel's
        push read for the settle coin (a push without it says nothing, not zero)."""
        symbol, settle = market.symbol, market.settle

        def prices(raw: object, ts: float) -> list[Reading]:
            return [parse.parse_prices(raw, symbol, ts)]

        def collateral(raw: object, ts: float) -> list[Reading]:
            details = okx.trading_details(parse.mapping(raw, "balance").get("info"))
            detail = okx.find_coin(details, settle)
            return [] if detail is None else [okx.parse_collateral(detail, settle, ts)]

        generic = {s.kind: s for s in super().streams(ctx, market, asset)}
        return [
            StreamSpec(Stream.TICKER, "mark-price", lambda ex: ex.watch_mark_price(symbol), prices),
            generic[Stream.POSITIONS],
            StreamSpec(Stream.BALANCE, "account", lambda ex: ex.watch_balance({}), collateral),
        ]
