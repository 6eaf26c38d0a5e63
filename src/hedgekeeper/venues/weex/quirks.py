"""Every WEEX quirk the hedge depends on (ccxt 4.5, WEEX spot v3 and contract `capi/v3` APIs).

- Markets: USDT-M linear perpetuals only (`traits.kinds`): an inverse leg is refused by name.
  Amounts (orders, fills, positions) are in the base coin; ccxt's `contractSize` is WEEX's
  `contractVal`, which does not scale them, so a WEEX contract here is one coin (`market`).
- Wallets: spot and contract apart; no transfers in ccxt (`traits.transfers`): the user keeps
  the contract wallet funded, and `check` says so. The equity is the contract row's `balance`
  plus `unrealizePnl`, the free margin its `availableBalance`.
- Testnet: ccxt's WEEX demo mode reaches only `capi/v3/sim/*` (no settings, no open orders, no
  single order, no spot wallet): refused at open with that reason; rehearse in dry-run.
- Streams: ccxt.pro has WEEX websockets, but none is verified against an emulator here, so
  prices, positions and balances are polled over REST every `poll_interval`.
- Mark and index from `premiumIndex` (ccxt's funding rate: one cheap call; the 24 h ticker
  costs 40 times as much of the request weight).
- Settings: one `symbolConfig` row holds leverage, margin mode and COMBINED (one position per
  side) vs SEPARATED; they are changed only where they differ (WEEX's "unchanged" replies are
  not documented). ccxt sets the mode through the margin-type call, with the margin mode.
- Orders: `clientOrderId` -> `newClientOrderId` (at most 40 of letters, digits, - and _). A
  create reply with `success` false is a refusal. Contract orders are looked up only by WEEX's
  order id (ccxt's client-id lookup is spot-only): the id the create reply gives is kept (the
  executor journals it) and the order fetched by it. Without it (no reply came: a timeout, a
  crash between send and reply) or when WEEX does not know it (-3200), the order is found by
  scanning open orders, then the order history, for our client id; two orders under it make
  the lookup uncertain (`OutcomeUnknown`), never "not found". WEEX's PARTIALLY_FILLED is open.
- Errors: WEEX's `{"code", "msg"}`; its documented 429 ("requesting too frequently") is a rate
  limit. No code for a reused client id is documented: such a refusal is an unknown outcome and
  the order is looked up, which is what a duplicate calls for anyway.
- Funding: the `position_funding` income, received when positive.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hedgekeeper.contracts import AmountUnit
from hedgekeeper.domain import (
    AccountSettings,
    Collateral,
    ContractKind,
    MarketSpec,
    OrderReport,
    OrderRequest,
    Stamped,
)
from hedgekeeper.venues.base import OrderRejected, RateLimited, VenueError
from hedgekeeper.venues.ccxt import parse
from hedgekeeper.venues.ccxt.quirks import Ctx, Exchange, Quirks, whole
from hedgekeeper.venues.ccxt.traits import (
    Account,
    ClientIds,
    MarkSource,
    Traits,
    Wallets,
    frozen,
)
from hedgekeeper.venues.ccxt.transport import error_code
from hedgekeeper.venues.weex.parse import (
    contract_balance,
    one_order,
    open_while_partly_filled,
    ours,
    refused,
    spot_balance,
    symbol_config,
)

HISTORY = 100  # past orders read per lookup: far more than a leg places between two lookups
ORDER_NOT_FOUND = "-3200"  # CONTRACT_ORDER_NOT_EXIST (ccxt maps it to InvalidOrder)
NO_DEMO = (
    "WEEX demo trading (testnet mode) reaches only the capi/v3/sim endpoints: no settings, no open"
    " orders and no spot wallet, so a leg cannot be run there; rehearse in dry-run mode"
)

TRAITS = Traits(
    error_code=r'"code"\s*:\s*"?(-?\d+)',
    errors=frozen({"429": RateLimited}),
    accounts=frozen({"separate": Wallets(spot="spot", inverse="contract", linear="contract")}),
    burst_seconds=1.0,  # 500 private requests per 10 s
    client_ids=ClientIds(param="clientOrderId", max_length=40, pattern=r"[A-Za-z0-9_-]+"),
    mark=MarkSource.FUNDING_RATE,  # premiumIndex: mark and index together
    streams=frozenset(),  # every reading polled over REST
    poll_seconds=5.0,
    funding_sign=1,
    kinds=frozenset({ContractKind.LINEAR}),
    transfers=False,
    amount_unit=frozen(
        {ContractKind.INVERSE: AmountUnit.CONTRACTS, ContractKind.LINEAR: AmountUnit.COIN}
    ),
)


class WeexQuirks(Quirks):
    traits = TRAITS

    async def account(self, ex: Exchange, configured_unified: bool | None) -> Account:
        if (ex.options or {}).get("sandboxMode"):
            raise VenueError(NO_DEMO)
        return self.traits.account("separate")

    async def market(self, ctx: Ctx, spec: MarketSpec) -> MarketSpec:
        """One contract is one coin: WEEX counts amounts in coin whatever `contractVal` says."""
        return replace(spec, contract_size=Decimal(1))

    async def collateral(self, ctx: Ctx, market: MarketSpec) -> Collateral:
        raw = await ctx.ex.fetch_balance({"type": "swap"})
        return contract_balance(raw, market.settle, ctx.now())

    async def spot(self, ctx: Ctx, asset: str) -> Stamped:
        raw = await ctx.spot_ex.fetch_balance({"type": "spot"})
        return Stamped(spot_balance(raw, asset), ctx.now())

    async def settings(self, ctx: Ctx, market: MarketSpec) -> AccountSettings:
        symbol = market.symbol
        leverage, mode, one_way = symbol_config(await ctx.ex.fetch_leverage(symbol), symbol)
        return AccountSettings(leverage, mode, one_way, False, ctx.now())

    async def ensure_settings(
        self, ctx: Ctx, market: MarketSpec, leverage: Decimal, margin_mode: str
    ) -> None:
        """Only what differs is sent: the mode (with the margin mode, as ccxt sets them
        together), then the leverage of that margin mode."""
        symbol, ex = market.symbol, ctx.ex
        found, mode, one_way = symbol_config(await ex.fetch_leverage(symbol), symbol)
        if mode != margin_mode or not one_way:
            await ex.set_position_mode(False, symbol, {"marginMode": margin_mode})
        if found != leverage or mode != margin_mode:
            await ex.set_leverage(whole(leverage), symbol, {"marginMode": margin_mode})

    async def place(self, ctx: Ctx, market: MarketSpec, request: OrderRequest) -> object:
        """A reply saying `success: false` is WEEX refusing the order, nothing executed."""
        reply = await super().place(ctx, market, request)
        if (why := refused(reply)) is not None:
            raise OrderRejected(f"{market.symbol}: WEEX refused the order: {why}")
        return reply

    async def find_order(
        self, ctx: Ctx, market: MarketSpec, client_id: str, exchange_id: str | None = None
    ) -> object | None:
        """By WEEX's id when an answer gave it: one request, whatever the history holds. Else
        open orders first, then the history: an order that finishes between the two reads is
        still seen (in the history), never missed. Either way the order carries our client id."""
        symbol = market.symbol
        if exchange_id is not None:
            try:
                found: object = await ctx.ex.fetch_order(exchange_id, symbol)
            except Exception as exc:
                if error_code(ctx.traits, exc) != ORDER_NOT_FOUND:
                    raise
            else:
                return ours(found, exchange_id, client_id)
        open_ = parse.items(await ctx.ex.fetch_open_orders(symbol), f"open orders {symbol}")
        past = await ctx.ex.fetch_canceled_and_closed_orders(symbol, None, HISTORY)
        return one_order([*open_, *parse.items(past, f"order history {symbol}")], client_id)

    def report(self, ctx: Ctx, market: MarketSpec, raw: object, client_id: str) -> OrderReport:
        return super().report(ctx, market, open_while_partly_filled(raw), client_id)


__all__ = ["NO_DEMO", "TRAITS", "WeexQuirks"]
