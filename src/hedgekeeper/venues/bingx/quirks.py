"""Every BingX quirk the hedge depends on (ccxt 4.5, BingX swap v2/v3 and cswap v1 APIs).

- Markets: coin-M `BTC/USD:BTC` (cswap, contracts of `minTickSize` USD, settled in BTC) and USDT-M
  `BTC/USDT:USDT` (amounts in BTC). ccxt leaves coin-M's amount precision None and sends the
  quantity unrounded: we give those markets a step of one whole contract at open, the engine
  rounds to it, and `place` refuses anything that is not a whole multiple before sending.
- The VST demo (testnet) serves USDT-M only: ccxt loads no coin-M market there.
- Streams: ccxt has no private websockets for coin-M, and we watch no BingX stream at all:
  prices, positions and balances are polled over REST every `poll_interval` of the venue's
  config (`traits.poll_seconds` by default); the staleness guard must allow that interval.
- Wallets: spot and each perpetual wallet are separate (no unified account); the equity is the
  wallet's `equity` (with unrealised PnL) from `info`, ccxt's `total` being the withdrawable sum.
- Positions: one-way positions say side 'BOTH'; the direction is the size's sign.
- Settings: position mode exists for USDT-M only (one-way is set there); margin mode and
  leverage per symbol, the leverage for both sides.
- Orders: `clientOrderId` -> `clientOrderID` (at most 40 of letters, digits, - and _); a reused one
  is 101481/109201 -> `DuplicateClientId`; margin 80012/101204 -> `InsufficientMargin`; 100410
  (system busy, BingX's throttle) -> `RateLimited`. Found again among open, then past orders.
- Funding: USDT-M from the income log (`FUNDING_FEE`, received when positive). Coin-M funding is
  not in ccxt (no income endpoint): `funding` raises `FundingUnknown`, so it is reported as
  unknown, never as zero.
"""

from __future__ import annotations

from decimal import Decimal

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
    DuplicateClientId,
    FundingUnknown,
    InsufficientMargin,
    OrderRejected,
    RateLimited,
)
from hedgekeeper.venues.bingx.parse import (
    contract_balance,
    leverage_of,
    margin_mode_of,
    signed_position,
    spot_balance,
)
from hedgekeeper.venues.ccxt import parse
from hedgekeeper.venues.ccxt.quirks import Ctx, Exchange, Quirks, unless_unchanged, whole
from hedgekeeper.venues.ccxt.traits import (
    Account,
    ClientIds,
    MarkSource,
    Traits,
    Wallets,
    frozen,
)

TRAITS = Traits(
    error_code=r'"code"\s*:\s*"?(-?\d+)',
    errors=frozen(
        {
            "101481": DuplicateClientId,
            "109201": DuplicateClientId,
            "80012": InsufficientMargin,
            "101204": InsufficientMargin,
            "100410": RateLimited,
        }
    ),
    accounts=frozen({"separate": Wallets(spot="spot", inverse="inverse", linear="linear")}),
    client_ids=ClientIds(param="clientOrderId", max_length=40, pattern=r"[A-Za-z0-9_-]+"),
    mark=MarkSource.MARK_PRICE,  # premiumIndex: mark and index together
    streams=frozenset(),  # every reading polled over REST
    poll_seconds=5.0,
    funding_sign=1,
    amount_unit=frozen(
        {ContractKind.INVERSE: AmountUnit.CONTRACTS, ContractKind.LINEAR: AmountUnit.COIN}
    ),
)


class BingxQuirks(Quirks):
    traits = TRAITS

    async def account(self, ex: Exchange, configured_unified: bool | None) -> Account:
        """Separate wallets always; coin-M markets get their one-contract step (ccxt has none)."""
        for market in (ex.markets or {}).values():
            precision = market.get("precision") or {}
            if market.get("inverse") and market.get("swap") and precision.get("amount") is None:
                precision["amount"] = 1.0
        return self.traits.account("separate")

    async def collateral(self, ctx: Ctx, market: MarketSpec) -> Collateral:
        raw = await ctx.ex.fetch_balance({"type": "swap", "subType": market.kind.value})
        return contract_balance(raw, market.settle, ctx.now())

    async def spot(self, ctx: Ctx, asset: str) -> Stamped:
        raw = await ctx.spot_ex.fetch_balance({"type": "spot"})
        return Stamped(spot_balance(raw, asset), ctx.now())

    async def position(self, ctx: Ctx, market: MarketSpec) -> Position:
        raw = await ctx.ex.fetch_positions([market.symbol])
        return self.own_position(market, signed_position(raw, market.symbol, ctx.now()))

    async def settings(self, ctx: Ctx, market: MarketSpec) -> AccountSettings:
        symbol = market.symbol
        leverage = leverage_of(await ctx.ex.fetch_leverage(symbol), symbol)
        mode = margin_mode_of(await ctx.ex.fetch_margin_mode(symbol), symbol)
        one_way = None  # coin-M has no position-mode endpoint: the sign of the size decides
        if market.kind is ContractKind.LINEAR:
            hedged = parse.mapping(await ctx.ex.fetch_position_mode(symbol), "position mode")
            one_way = hedged.get("hedged") is False
        return AccountSettings(leverage, mode, one_way, False, ctx.now())

    async def ensure_settings(
        self, ctx: Ctx, market: MarketSpec, leverage: Decimal, margin_mode: str
    ) -> None:
        ex, symbol, traits = ctx.ex, market.symbol, ctx.traits
        linear = market.kind is ContractKind.LINEAR
        if linear:
            await unless_unchanged(traits, ex.set_position_mode(False, symbol))
        await unless_unchanged(traits, ex.set_margin_mode(margin_mode, symbol))
        lev = whole(leverage)
        for side in ("BOTH",) if linear else ("LONG", "SHORT"):
            await unless_unchanged(traits, ex.set_leverage(lev, symbol, {"side": side}))

    async def place(self, ctx: Ctx, market: MarketSpec, request: OrderRequest) -> object:
        """ccxt sends coin-M quantities as given: a fraction of a step is refused here."""
        amount = contracts.to_amount(market, request.contracts, self.unit(market))
        step = contracts.to_amount(market, market.amount_step, self.unit(market))
        if amount <= 0 or amount % step != 0:
            raise OrderRejected(f"{market.symbol}: {amount} is not a multiple of the step {step}")
        kind = "market" if request.limit_price is None else "limit"
        price = None if request.limit_price is None else float(request.limit_price)
        params = self.order_params(ctx.traits, request)
        return await ctx.ex.create_order(
            market.symbol, kind, request.side.value, whole(amount), price, params
        )

    async def funding(self, ctx: Ctx, market: MarketSpec, since: float) -> list[FundingEvent]:
        if market.kind is ContractKind.INVERSE:
            raise FundingUnknown(f"{market.symbol}: BingX coin-M funding is not readable")
        return await super().funding(ctx, market, since)

    async def transfer(self, ctx: Ctx, asset: str, amount: Decimal) -> None:
        """Spot -> the coin-M wallet (`coinMPerp`), the one the coin is collateral in."""
        wallets = ctx.account.wallets
        await ctx.ex.transfer(asset, float(amount), wallets.spot, wallets.inverse)
