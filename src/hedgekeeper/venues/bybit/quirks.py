"""Every Bybit quirk the hedge depends on (ccxt 4.5, Bybit v5 API), inverse and linear.

- Equity: REST `fetch_balance()['total']` is the wallet balance WITHOUT unrealised PnL; the equity
  is read from `info` (`result.list[].coin[].equity`).
- Accounts: on a unified trading account (UTA 2.0, `unifiedMarginStatus` >= 5) spot, inverse and
  linear collateral share the UNIFIED wallet (`spot()` is that wallet's equity and the coin is
  counted once); UTA 1.0 keeps inverse in CONTRACT and linear in UNIFIED; classic accounts use
  SPOT and CONTRACT. A transfer within one wallet is a no-op.
- Positions need the symbol (ccxt asks for linear ones otherwise). Linear amounts are in the coin
  (contract size 1, step 0.001); inverse ones in 1-USD contracts.
- Settings: one-way mode (110025 "not modified" is success), cross/isolated (account-wide on a
  UTA, set only when it differs; 110026 on classic), leverage (110043 "not modified" is success).
- Orders: `clientOrderId` -> `orderLinkId` (at most 36 of letters, digits, - and _); a reused one
  is 110072 -> `DuplicateClientId`; an order is found again by `orderLinkId` among open, then
  closed and cancelled orders, and cancelled by it.
- Funding: `execFee` of `execType=Funding` executions, positive when paid, in the settle coin
  (ccxt labels BTCUSD's in USD).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from hedgekeeper.contracts import AmountUnit
from hedgekeeper.domain import (
    AccountSettings,
    Collateral,
    ContractKind,
    FundingEvent,
    MarketSpec,
    OrderRequest,
    Stamped,
)
from hedgekeeper.venues.base import (
    BadReply,
    DuplicateClientId,
    InsufficientMargin,
    Reading,
    SpotReading,
)
from hedgekeeper.venues.bybit.parse import (
    balance_info,
    parse_coin,
    parse_funding,
    parse_settings,
    user_id,
    wallet_coin,
)
from hedgekeeper.venues.ccxt import parse
from hedgekeeper.venues.ccxt.quirks import Ctx, Exchange, Quirks, StreamSpec, unless_unchanged
from hedgekeeper.venues.ccxt.quirks import watch_balance as watching
from hedgekeeper.venues.ccxt.traits import (
    Account,
    ClientIds,
    MarkSource,
    Stream,
    Traits,
    Wallets,
    frozen,
)

TRAITS = Traits(
    lists_orders=True,
    ccxt_options=frozen(
        {"fetchMarkets": {"types": ["spot", "linear", "inverse"]}}  # thousands of options: skip
    ),
    shared_options=("enableUnifiedMargin", "enableUnifiedAccount", "unifiedMarginStatus"),
    error_code=r'"retCode"\s*:\s*"?(-?\d+)',
    errors=frozen({"110072": DuplicateClientId, "110007": InsufficientMargin}),
    unchanged=frozenset({"110043", "110025", "110026"}),
    accounts=frozen(
        {
            "classic": Wallets(spot="SPOT", inverse="CONTRACT", linear="CONTRACT"),
            "uta1": Wallets(spot="UNIFIED", inverse="CONTRACT", linear="UNIFIED"),
            "uta2": Wallets(spot="UNIFIED", inverse="UNIFIED", linear="UNIFIED"),
        }
    ),
    client_ids=ClientIds(param="clientOrderId", max_length=36, pattern=r"[A-Za-z0-9_-]+"),
    burst_seconds=1.0,  # Bybit limits each endpoint per second (position/list: 50/s per UID)
    mark=MarkSource.TICKER,
    funding_sign=-1,
    amount_unit=frozen(
        {ContractKind.INVERSE: AmountUnit.CONTRACTS, ContractKind.LINEAR: AmountUnit.COIN}
    ),
)


def _leverage_arg(leverage: Decimal) -> int | float:
    return int(leverage) if leverage == leverage.to_integral_value() else float(leverage)


def _spot_field(wallet: str) -> str:
    """A unified wallet's coin is margin too: its equity; a spot wallet has only a balance."""
    return "equity" if wallet == "UNIFIED" else "walletBalance"


class BybitQuirks(Quirks):
    traits = TRAITS

    async def account(self, ex: Exchange, configured_unified: bool | None) -> Account:
        margin, account = await ex.is_unified_enabled()
        status = ex.options.get("unifiedMarginStatus") or 0
        uta = bool(margin or account)
        kind = "uta2" if uta and status >= 5 else "uta1" if uta else "classic"
        return replace(
            self.traits.account(kind), id=user_id(await ex.private_get_v5_user_query_api())
        )

    def order_params(self, traits: Traits, request: OrderRequest) -> dict[str, Any]:
        return {**super().order_params(traits, request), "positionIdx": 0}

    async def spot(self, ctx: Ctx, asset: str) -> Stamped:
        raw = await ctx.spot_ex.fetch_balance({"type": "spot", "coin": asset})
        wallet = ctx.account.wallets.spot
        entry = wallet_coin(balance_info(raw), wallet, asset)
        return Stamped(parse.num(entry, _spot_field(wallet), f"spot {asset}"), ctx.now())

    async def collateral(self, ctx: Ctx, market: MarketSpec) -> Collateral:
        params = {"type": "swap", "subType": market.kind.value, "coin": market.settle}
        raw = await ctx.ex.fetch_balance(params)
        wallets = ctx.account.wallets
        entry = wallet_coin(balance_info(raw), wallets.derivatives(market.kind), market.settle)
        return parse_coin(entry, market.settle, ctx.now(), wallets.shares_spot(market.kind))

    async def settings(self, ctx: Ctx, market: MarketSpec) -> AccountSettings:
        positions = await ctx.ex.fetch_positions([market.symbol])
        wallets = ctx.account.wallets
        account = None
        if wallets.spot == "UNIFIED":  # margin mode is account-wide there
            account = await ctx.ex.private_get_v5_account_info()
        shared = wallets.shares_spot(market.kind)
        return parse_settings(positions, account, market.symbol, shared, ctx.now())

    async def ensure_settings(
        self, ctx: Ctx, market: MarketSpec, leverage: Decimal, margin_mode: str
    ) -> None:
        ex, symbol, traits = ctx.ex, market.symbol, ctx.traits
        await unless_unchanged(traits, ex.set_position_mode(False, symbol))
        lev = _leverage_arg(leverage)
        if ctx.account.wallets.spot == "UNIFIED":  # account-wide: change it only when it differs
            if (await self.settings(ctx, market)).margin_mode != margin_mode:
                await ex.set_margin_mode(margin_mode)
        else:
            params = {"leverage": lev}
            await unless_unchanged(traits, ex.set_margin_mode(margin_mode, symbol, params))
        await unless_unchanged(traits, ex.set_leverage(lev, symbol))

    async def find_order(
        self, ctx: Ctx, market: MarketSpec, client_id: str, exchange_id: str | None = None
    ) -> object | None:
        for fetch in (ctx.ex.fetch_open_orders, ctx.ex.fetch_canceled_and_closed_orders):
            found = await fetch(market.symbol, None, None, {"orderLinkId": client_id})
            for order in parse.items(found, f"orders {client_id}"):
                if parse.mapping(order, "order").get("clientOrderId") == client_id:
                    return order
        return None

    async def cancel(self, ctx: Ctx, market: MarketSpec, client_id: str, raw: object) -> None:
        await ctx.ex.cancel_order(None, market.symbol, {"orderLinkId": client_id})

    async def funding(self, ctx: Ctx, market: MarketSpec, since: float) -> list[FundingEvent]:
        market_id = ctx.ex.market(market.symbol)["id"]
        raw = await ctx.ex.fetch_funding_history(market.symbol, int(since * 1000))
        return parse_funding(raw, market.symbol, market_id, ctx.traits.funding_sign)

    async def transfer(self, ctx: Ctx, asset: str, amount: Decimal) -> None:
        wallets = ctx.account.wallets
        if wallets.shares_spot(ContractKind.INVERSE):
            return  # one wallet: the coin is already collateral
        await ctx.ex.transfer(asset, float(amount), wallets.spot.lower(), "contract")

    def streams(self, ctx: Ctx, market: MarketSpec, asset: str) -> list[StreamSpec]:
        """Ticker and positions as ccxt has them; the wallet from Bybit's own push shape."""
        settle, kind, wallets = market.settle, market.kind, ctx.account.wallets
        derivatives, shared = wallets.derivatives(kind), wallets.shares_spot(kind)

        def spot(raw: object, ts: float) -> list[Reading]:
            entry = wallet_coin(balance_info(raw), wallets.spot, asset)
            amount = parse.num(entry, _spot_field(wallets.spot), f"spot {asset}")
            return [SpotReading(asset, Stamped(amount, ts))]

        def collateral(raw: object, ts: float) -> list[Reading]:
            entry = wallet_coin(balance_info(raw), derivatives, settle)
            readings: list[Reading] = [parse_coin(entry, settle, ts, shared)]
            if not shared:
                return readings
            if asset == settle:
                return readings + spot(raw, ts)
            try:  # a linear margin coin's push need not carry the held coin: none is no reading
                return readings + spot(raw, ts)
            except BadReply:
                return readings

        own = [s for s in super().streams(ctx, market, asset) if s.kind is not Stream.BALANCE]
        if shared:
            return [*own, StreamSpec(Stream.BALANCE, "balance0", watching({}), collateral)]
        params = {"type": "swap", "subType": kind.value}
        return [
            *own,
            StreamSpec(Stream.BALANCE, "balance0", watching(params), collateral),
            StreamSpec(Stream.BALANCE, "balance1", watching({"type": "spot"}), spot),
        ]
