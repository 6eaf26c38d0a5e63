"""Every Binance quirk the hedge depends on (ccxt 4.5): COIN-M (`binancecoinm`, dapi) and USDⓈ-M
(`binanceusdm`, fapi) perps, with the spot wallet read through a separate `binance` client.

- Sizing: COIN-M amounts are whole 100-USD contracts, USDⓈ-M amounts BTC in 0.001 steps; ccxt's
  `amount_to_precision` truncates (2.5 contracts would go out as 2), so an amount off the step is
  refused here before anything is sent (the reconciler rounds; this makes sure it did).
- Wallets: spot (MAIN) and the family's futures wallet (CMFUTURE / UMFUTURE) are apart.
  `binancecoinm.fetch_balance({'type': 'spot'})` still reads the futures wallet, so the spot
  wallet is read through `traits.spot_exchange` (a plain `binance` client) from its raw account.
- Equity = walletBalance + unrealizedProfit, from the raw futures account (REST) and from the
  ACCOUNT_UPDATE push (whose ccxt `total` is the wallet alone); a push without our position
  says nothing of the PnL and yields no collateral (the REST reads after a fill, a transfer and
  every rest_interval carry it).
- Positions: `fetch_positions([symbol])` is `[]` when flat (ccxt drops entryPrice 0 rows).
  Settings: leverage and margin type per symbol (COIN-M: the account's `positions[]`; USDⓈ-M:
  `symbolConfig`), position mode account-wide (`positionSide/dual`). Unchanged margin type is
  -4046 (ccxt raises MarginModeAlreadySet), unchanged position mode -4059: both "already so".
- Orders: our `clientOrderId` goes out as `newClientOrderId` (never ccxt's invented broker id);
  an order is found again with `origClientOrderId` (-2013: never seen). Binance keeps client
  ids unique among OPEN orders only: a re-sent create of a filled order fills again, so the
  daemon never re-sends, it looks up. Error codes decide the neutral error (codes.py).
- Streams: mark price from `<symbol>@markPrice@1s` (the 24 h ticker carries no mark), user data
  on a listenKey that ccxt creates and keeps alive (PUT every 20 minutes); after a drop the next
  watch asks for a listenKey again (an expired one would be refused). ccxt loads one REST
  positions snapshot per process; the venue reads REST itself before pushes and after drops.
- Funding: income history FUNDING_FEE rows, received > 0, in the settle coin, exact decimals.
- Transfers: universal transfer spot -> COIN-M (MAIN_CMFUTURE) or USDⓈ-M (MAIN_UMFUTURE); demo
  trading (the testnet mode) has no transfers and refuses them before sending.
"""

from __future__ import annotations

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
from hedgekeeper.venues.base import OrderRejected, Reading, SpotReading
from hedgekeeper.venues.binance import account as binance_account
from hedgekeeper.venues.binance import payloads
from hedgekeeper.venues.binance.codes import CODE, ERRORS, NOT_FOUND, UNCHANGED
from hedgekeeper.venues.ccxt import parse
from hedgekeeper.venues.ccxt.quirks import Ctx, Exchange, Quirks, StreamSpec, unless_unchanged
from hedgekeeper.venues.ccxt.traits import (
    Account,
    ClientIds,
    MarkSource,
    Stream,
    Traits,
    Wallets,
    frozen,
)
from hedgekeeper.venues.ccxt.transport import error_code

FAMILY_BY_ID = {"binancecoinm": ContractKind.INVERSE, "binanceusdm": ContractKind.LINEAR}
TRAITS = Traits(
    # No sapi calls at load: currencies come from the markets (a futures-only key may lack the
    # permission sapi asks for, and the margin pairs are of no use to a hedge).
    ccxt_options=frozen({"fetchCurrencies": False, "fetchMargins": False}),
    error_code=CODE,
    errors=frozen(ERRORS),
    unchanged=UNCHANGED,
    accounts=frozen({"separate": Wallets(spot="spot", inverse="inverse", linear="linear")}),
    spot_exchange="binance",
    client_ids=ClientIds(param="clientOrderId", max_length=36, pattern=r"[.A-Z:/a-z0-9_-]+"),
    demo_testnet=True,
    # Binance counts weight per minute: two seconds of ccxt's rate (40 weight at 50 ms) hold the
    # reads after a fill (mark price 10, account 5, positions 1; spot account 20) without the
    # next order waiting them out.
    burst_seconds=2.0,
    mark=MarkSource.MARK_PRICE,
    funding_sign=1,
    amount_unit=frozen(
        {ContractKind.INVERSE: AmountUnit.CONTRACTS, ContractKind.LINEAR: AmountUnit.COIN}
    ),
)


def _market_id(ex: Exchange, market: MarketSpec) -> str:
    return str(ex.market(market.symbol)["id"])


def _demo(ex: Exchange) -> bool:
    return bool(ex.options.get("enableDemoTrading"))


def _family(ex: Exchange) -> ContractKind:
    kind = FAMILY_BY_ID.get(str(ex.id))
    if kind is None:
        raise OrderRejected(f"Binance quirks serve binancecoinm and binanceusdm, not {ex.id!r}")
    return kind


def whole_steps(market: MarketSpec, amount: Decimal) -> Decimal:
    """`amount` if it is a positive multiple of the step; ccxt would truncate anything else."""
    if amount <= 0 or amount % market.amount_step:
        raise OrderRejected(
            f"{market.symbol}: amount {amount} is not a whole number of {market.amount_step}"
            " steps (ccxt truncates it; refusing rather than sending less)"
        )
    return amount


class BinanceQuirks(Quirks):
    traits = TRAITS

    async def account(self, ex: Exchange, configured_unified: bool | None) -> Account:
        """Separate wallets always; the account id (for the journal) is the spot account's uid,
        read through the futures client (its `private` API is Binance's spot one)."""
        _family(ex)
        uid = parse.mapping(await ex.privateGetAccount(), "spot account").get("uid")
        return replace(
            self.traits.account("separate"), id=None if uid is None else parse.label(uid)
        )

    # -- reads ---------------------------------------------------------------------------------

    async def spot(self, ctx: Ctx, asset: str) -> Stamped:
        raw = await ctx.spot_ex.privateGetAccount()
        return Stamped(payloads.spot_total(raw, asset), ctx.now())

    async def collateral(self, ctx: Ctx, market: MarketSpec) -> Collateral:
        raw = await ctx.ex.fetch_balance()
        info = parse.mapping(raw, "balance").get("info")
        return payloads.futures_collateral(info, market.settle, ctx.now())

    async def position(self, ctx: Ctx, market: MarketSpec) -> Position:
        raw = await ctx.ex.fetch_positions([market.symbol])
        found = payloads.position(raw, market.symbol, _market_id(ctx.ex, market), ctx.now())
        return self.own_position(market, found)

    async def settings(self, ctx: Ctx, market: MarketSpec) -> AccountSettings:
        ex, market_id = ctx.ex, _market_id(ctx.ex, market)
        if market.kind is ContractKind.INVERSE:
            rows = parse.mapping(await ex.dapiPrivateGetAccount(), "account").get("positions")
            dual = await ex.dapiPrivateGetPositionSideDual()
        else:
            rows = await ex.fapiPrivateGetSymbolConfig({"symbol": market_id})
            dual = await ex.fapiPrivateGetPositionSideDual()
        return payloads.settings(rows, dual, market_id, market.symbol, ctx.now())

    async def funding(self, ctx: Ctx, market: MarketSpec, since: float) -> list[FundingEvent]:
        raw = await ctx.ex.fetch_funding_history(market.symbol, int(since * 1000))
        return payloads.funding(raw, market.symbol, _market_id(ctx.ex, market), market.settle)

    # -- orders --------------------------------------------------------------------------------

    async def place(self, ctx: Ctx, market: MarketSpec, request: OrderRequest) -> object:
        whole_steps(market, contracts.to_amount(market, request.contracts, self.unit(market)))
        return await super().place(ctx, market, request)

    async def find_order(
        self, ctx: Ctx, market: MarketSpec, client_id: str, exchange_id: str | None = None
    ) -> object | None:
        try:
            found: object = await ctx.ex.fetch_order(
                None, market.symbol, {"clientOrderId": client_id}
            )
        except Exception as exc:
            from ccxt.base.errors import OrderNotFound

            if isinstance(exc, OrderNotFound) or error_code(ctx.traits, exc) in NOT_FOUND:
                return None
            raise
        return found

    async def cancel(self, ctx: Ctx, market: MarketSpec, client_id: str, raw: object) -> None:
        await ctx.ex.cancel_order(None, market.symbol, {"origClientOrderId": client_id})

    # -- settings and transfers ----------------------------------------------------------------

    async def ensure_settings(
        self, ctx: Ctx, market: MarketSpec, leverage: Decimal, margin_mode: str
    ) -> None:
        ex, symbol, traits = ctx.ex, market.symbol, ctx.traits
        await unless_unchanged(traits, ex.set_position_mode(False, symbol))
        await unless_unchanged(traits, ex.set_margin_mode(margin_mode, symbol))
        if leverage != leverage.to_integral_value():
            raise OrderRejected(f"Binance leverage is a whole number, not {leverage}")
        await ex.set_leverage(int(leverage), symbol)  # unchanged leverage is success here

    async def transfer(self, ctx: Ctx, asset: str, amount: Decimal) -> None:
        family = _family(ctx.ex)
        binance_account.check_margin_asset(family, asset)
        source, dest = binance_account.transfer_accounts(family, _demo(ctx.ex))
        await ctx.ex.transfer(asset, float(amount), source, dest)

    def advice(
        self, market: MarketSpec, found: AccountSettings, leverage: Decimal, margin_mode: str
    ) -> list[str]:
        return binance_account.advice(found, market.kind, leverage, margin_mode)

    # -- streams -------------------------------------------------------------------------------

    def streams(self, ctx: Ctx, market: MarketSpec, asset: str) -> list[StreamSpec]:
        symbol, settle = market.symbol, market.settle
        market_id = _market_id(ctx.ex, market)
        family = "inverse" if market.kind is ContractKind.INVERSE else "linear"

        def prices(raw: object, ts: float) -> list[Reading]:
            return [parse.parse_prices(raw, symbol, ts)]

        def position(raw: object, ts: float) -> list[Reading]:
            return [self.own_position(market, payloads.position(raw, symbol, market_id, ts))]

        def wallet(raw: object, ts: float) -> list[Reading]:
            info = parse.mapping(raw, "balance").get("info")
            update = payloads.account_update(info, settle, symbol, market_id)
            collateral = update.collateral(ts)
            return [] if collateral is None else [collateral]

        def spot(raw: object, ts: float) -> list[Reading]:
            info = parse.mapping(raw, "balance").get("info")
            total = payloads.spot_push_total(info, asset)
            return [] if total is None else [SpotReading(asset, Stamped(total, ts))]

        return [
            StreamSpec(Stream.TICKER, "mark price", lambda ex: ex.watch_mark_price(symbol),
                       prices),
            StreamSpec(Stream.POSITIONS, "positions",
                       user_data(family, lambda ex: ex.watch_positions([symbol])), position),
            StreamSpec(Stream.BALANCE, "futures wallet",
                       user_data(family, lambda ex: ex.watch_balance()), wallet),
            StreamSpec(Stream.BALANCE, "spot wallet", lambda ex: ex.watch_balance(), spot,
                       spot=True),
        ]  # fmt: skip


def user_data(family: str, call: Any) -> Any:
    """A user-data watch that, after any failure, makes the next one ask for a listenKey again.

    ccxt re-creates the key only 20 minutes after the last one; a key that expired (a keep-alive
    that failed) is refused when the connection is re-opened with it, and the stream would stay
    down. Forgetting ccxt's authentication time makes the next watch POST listenKey first
    (Binance answers with the live key, extended, or a fresh one).
    """

    async def watch(ex: Exchange) -> object:
        try:
            return await call(ex)
        except Exception:
            state = ex.options.get(family)
            if isinstance(state, dict):
                ex.options[family] = {**state, "listenKey": None, "lastAuthenticatedTime": 0}
            raise

    return watch
