"""Every Bitget quirk the hedge depends on (ccxt 4.5.90, Bitget v2 classic account): coin-futures
(inverse `BTC/USD:BTC`) and USDT-futures (linear `BTC/USDT:USDT`).

- Amounts are in the base coin on both (ccxt's contractSize is 1). A coin-futures position is
  counted in USD of face (coin x entry, fixed until the next fill; see `bitget.parse`), so its
  market is one of 1 USD contracts; an order goes out as face / mark in coin (a cover as face /
  entry price: closing coin releases face at the entry), rounded down.
- `options['uta']` is set (False: a classic account) so ccxt never probes `/api/v3/account/settings`
  before the first private call; a unified (UTA) account is refused with what to do.
- Positions are read with the symbol: without it ccxt asks for marginCoin=USDT, which answers
  nothing for coin-futures. Websocket positions and balance need the product type
  (COIN-FUTURES) or ccxt.pro subscribes to USDT-FUTURES; ccxt's ticker push drops the mark price.
- Orders: `clientOid`; a duplicate is 40786, which ccxt leaves a plain ExchangeError (matched
  here: settled by lookup); 40762 / 43012 are margin. One-way mode, cross margin and leverage
  are read first and set only when they differ. Demo trading: ccxt's sandbox mode sends
  `PAPTRADING: 1`. Transfers: `spot` -> `future` (coin-futures) or `swap` (USDT-futures).
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
    MarketSpec,
    OrderReport,
    OrderRequest,
    Position,
    Stamped,
)
from hedgekeeper.venues.base import (
    DuplicateClientId,
    InsufficientMargin,
    OrderRejected,
    Reading,
    VenueError,
)
from hedgekeeper.venues.bitget import parse as bitget
from hedgekeeper.venues.ccxt import parse
from hedgekeeper.venues.ccxt.quirks import Ctx, Exchange, Quirks, StreamSpec
from hedgekeeper.venues.ccxt.traits import Account, ClientIds, Stream, Traits, Wallets, frozen

TRAITS = Traits(
    ccxt_options=frozen({"uta": False, "fetchMarkets": {"types": ["spot", "swap"]}}),
    error_code=bitget.ERROR_CODE,
    errors=frozen(
        {
            **dict.fromkeys(bitget.DUPLICATE_CODES, DuplicateClientId),
            **dict.fromkeys(bitget.MARGIN_CODES, InsufficientMargin),
        }
    ),
    accounts=frozen({"classic": Wallets(spot="spot", inverse="future", linear="swap")}),
    client_ids=ClientIds(param="clientOrderId", max_length=40, pattern=r"[A-Za-z0-9_-]+"),
    watch_snapshot=False,  # ticker, positions and account push a snapshot on subscribe
    amount_unit=frozen(
        {ContractKind.LINEAR: AmountUnit.COIN, ContractKind.INVERSE: AmountUnit.CONTRACTS}
    ),
)


ENTRY = "hedgekeeper_entry"  # the entry price a cover closed at, added by `find_order`


def _symbol(item: object) -> object:
    return item.get("symbol") if isinstance(item, dict) else None


def _inverse(market: MarketSpec) -> bool:
    return market.kind is ContractKind.INVERSE


class BitgetQuirks(Quirks):
    traits = TRAITS

    async def account(self, ex: Exchange, configured_unified: bool | None) -> Account:
        if configured_unified:
            raise VenueError(
                "bitget: unified trading accounts (UTA) are not supported yet; use a classic"
                " account (Bitget: Assets > switch account mode) and set unified = false"
            )
        return self.traits.account("classic")

    async def market(self, ctx: Ctx, spec: MarketSpec) -> MarketSpec:
        """A coin-futures market in USD of face (its minimum priced at the current mark)."""
        if not _inverse(spec):
            return spec
        step, minimum = self._coin_limits(ctx, spec.symbol)
        mark = (await self.prices(ctx, spec)).mark
        return bitget.face_market(spec, step, minimum, mark)

    @staticmethod
    def _coin_limits(ctx: Ctx, symbol: str) -> tuple[Decimal, Decimal]:
        raw = parse.mapping(ctx.ex.market(symbol), f"market {symbol}")
        step = parse.num(parse.mapping(raw.get("precision"), "precision"), "amount", symbol)
        limits = parse.mapping(parse.mapping(raw.get("limits"), "limits").get("amount"), "amount")
        return step, parse.opt_num(limits, "min", symbol, "positive") or step

    def order_params(self, traits: Traits, request: OrderRequest) -> dict[str, Any]:
        return {**super().order_params(traits, request), "marginMode": "cross",
                "oneWayMode": True}  # fmt: skip

    async def place(self, ctx: Ctx, market: MarketSpec, request: OrderRequest) -> object:
        if not _inverse(market):
            return await super().place(ctx, market, request)
        # Face added is coin x the fill price (about the mark); face closed is coin x the
        # position's entry price. Either way, rounded down: never more face than asked.
        if request.reduce_only:
            held = await self.position(ctx, market)
            price = held.entry_price
            if price is None:
                raise OrderRejected(f"bitget: nothing to reduce on {market.symbol}")
        else:
            price = (await self.prices(ctx, market)).mark
        step, minimum = self._coin_limits(ctx, market.symbol)
        amount = bitget.coin_amount(request.contracts, price, step, minimum)
        kind = "market" if request.limit_price is None else "limit"
        limit = None if request.limit_price is None else float(request.limit_price)
        params = self.order_params(ctx.traits, request)
        return await ctx.ex.create_order(
            market.symbol, kind, request.side.value, float(amount), limit, params
        )

    def own_position(self, market: MarketSpec, position: Position) -> Position:
        if _inverse(market):
            return bitget.face_position(position)
        return super().own_position(market, position)

    def report(self, ctx: Ctx, market: MarketSpec, raw: object, client_id: str) -> OrderReport:
        if not _inverse(market):
            return super().report(ctx, market, raw, client_id)
        report = parse.parse_order(raw, client_id, market.settle, ctx.now())
        order, where = parse.mapping(raw, "order"), f"order {client_id}"
        price = report.average_price
        if order.get("reduceOnly") and order.get(ENTRY) is not None:
            price = parse.decimal(order.get(ENTRY), f"{where}: entry", "positive", parse.MAX_PRICE)
        return replace(report, filled=bitget.face_filled(report.filled, price, where))

    async def collateral(self, ctx: Ctx, market: MarketSpec) -> Collateral:
        params = {"type": "swap", "productType": bitget.PRODUCT[market.kind]}
        raw = await ctx.ex.fetch_balance(params)
        row = bitget.futures_entry(parse.mapping(raw, "balance").get("info"), market.settle)
        return bitget.parse_collateral(row, market.settle, ctx.now())

    async def spot(self, ctx: Ctx, asset: str) -> Stamped:
        raw = await ctx.spot_ex.fetch_balance({"type": "spot"})
        info = parse.mapping(raw, "balance").get("info")
        return Stamped(bitget.spot_total(info, asset), ctx.now())

    async def settings(self, ctx: Ctx, market: MarketSpec) -> AccountSettings:
        raw = await ctx.ex.fetch_leverage(market.symbol)
        return bitget.parse_settings(raw, market.symbol, ctx.now())

    async def ensure_settings(
        self, ctx: Ctx, market: MarketSpec, leverage: Decimal, margin_mode: str
    ) -> None:
        """Read first, change only what differs: Bitget refuses a mode change (even to the same
        mode) while a position is open."""
        symbol = market.symbol
        now = await self.settings(ctx, market)
        if now.one_way is not True:
            await ctx.ex.set_position_mode(False, symbol)
        if now.margin_mode != margin_mode:
            await ctx.ex.set_margin_mode(margin_mode, symbol)
        if now.leverage != leverage:
            await ctx.ex.set_leverage(int(leverage), symbol)

    async def find_order(
        self, ctx: Ctx, market: MarketSpec, client_id: str, exchange_id: str | None = None
    ) -> object | None:
        """The order; a coin-futures cover carries the position's entry price too (`report`
        needs it: the face a cover closed is its coin at the entry, which closing leaves as is;
        a cover that closed the whole position leaves none, and its average price stands in)."""
        try:
            raw: object = await ctx.ex.fetch_order(
                None, market.symbol, {"clientOrderId": client_id}
            )
        except Exception as exc:
            if bitget.error_code(str(exc)) in bitget.ORDER_NOT_FOUND:
                return None
            raise
        order = parse.mapping(raw, "order")
        if _inverse(market) and order.get("reduceOnly"):
            held = await self.position(ctx, market)
            return {**order, ENTRY: held.entry_price or order.get("average")}
        return raw

    async def cancel(self, ctx: Ctx, market: MarketSpec, client_id: str, raw: object) -> None:
        await ctx.ex.cancel_order(None, market.symbol, {"clientOrderId": client_id})

    async def transfer(self, ctx: Ctx, asset: str, amount: Decimal) -> None:
        """Spot -> coin-futures for a coin, -> USDT-futures for USDT."""
        target = bitget.TRANSFER_TO[
            ContractKind.LINEAR if asset == "USDT" else ContractKind.INVERSE
        ]
        await ctx.ex.transfer(asset, float(amount), ctx.account.wallets.spot, target)

    def streams(self, ctx: Ctx, market: MarketSpec, asset: str) -> list[StreamSpec]:
        symbol, settle = market.symbol, market.settle
        params = {"type": "swap", "instType": bitget.PRODUCT[market.kind]}

        def prices(raw: object, ts: float) -> list[Reading]:
            return [bitget.ws_prices(raw, symbol, ts)]

        def position(raw: object, ts: float) -> list[Reading]:
            # Each push is the whole product's positions: ours missing from it means flat.
            ours = [p for p in parse.items(raw, "positions") if _symbol(p) == symbol]
            return [self.own_position(market, parse.parse_position(ours, symbol, ts))]

        def collateral(raw: object, ts: float) -> list[Reading]:
            row = bitget.futures_entry(parse.mapping(raw, "balance").get("info"), settle)
            return [] if row is None else [bitget.parse_collateral(row, settle, ts)]

        return [
            StreamSpec(Stream.TICKER, "ticker", lambda ex: ex.watch_ticker(symbol), prices),
            StreamSpec(Stream.POSITIONS, "positions",
                       lambda ex: ex.watch_positions([symbol]), position),
            StreamSpec(Stream.BALANCE, "account",
                       lambda ex: ex.watch_balance(dict(params)), collateral),
        ]  # fmt: skip
