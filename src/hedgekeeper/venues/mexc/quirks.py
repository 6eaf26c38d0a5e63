"""Every MEXC quirk the hedge depends on (ccxt 4.5, MEXC spot v3 and contract v1 APIs).

- Futures orders: since July 2022 MEXC refuses futures orders from ordinary API keys with error
  1002 ("Contract not allow place order"); reads work. A MEXC perp leg is therefore refused, by
  `check` and at `run`'s start, with that reason, unless the key is shown to trade: with the
  venue's `probe_orders = true` (the user's consent), in testnet or live mode, one limit buy of the
  minimum size at half the mark (it cannot fill) is sent and cancelled at once. Accepted: the leg
  trades. 1002: refused, in MEXC's words. Anything else: refused too, since nothing was shown.
- Reads: the spot wallet (`/api/v3/account`) is a spot source for any leg; futures balances and
  positions (`account/assets`, `position/open_positions`) serve `status`.
- Mark: the contract ticker's `fairPrice` (ccxt's unified ticker has no mark), index `indexPrice`.
- Streams: ccxt has no MEXC position stream; every reading is polled over REST.
- Amounts are contracts (`vol`) on both kinds; the client id travels as `externalOid`.
- Settings are not changed (set 1x cross on MEXC's site); the guards check what is read.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from hedgekeeper.domain import MarketSpec, Prices, Side
from hedgekeeper.venues.ccxt import parse
from hedgekeeper.venues.ccxt.quirks import Ctx, Quirks
from hedgekeeper.venues.ccxt.traits import ClientIds, Traits, Wallets, frozen
from hedgekeeper.venues.ccxt.transport import error_code

REFUSED = "1002"  # "Contract not allow place order"
NO_CONSENT = (
    "MEXC refuses futures orders from ordinary API keys (error 1002, 'Contract not allow place"
    " order'); reads work, so status can watch this leg, but it will not be traded. If your key"
    " may trade futures, set probe_orders = true on the venue: in testnet or live mode one order"
    " that cannot fill is sent and cancelled at once to show it"
)

TRAITS = Traits(
    error_code=r'"code"\s*:\s*"?(-?\d+)',
    accounts=frozen({"separate": Wallets(spot="spot", inverse="swap", linear="swap")}),
    client_ids=ClientIds(param="clientOrderId", max_length=32, pattern=r"[A-Za-z0-9_-]+"),
    streams=frozenset(),  # no position stream in ccxt: everything polled over REST
)


class MexcQuirks(Quirks):
    traits = TRAITS

    async def prices(self, ctx: Ctx, market: MarketSpec) -> Prices:
        raw = await ctx.ex.fetch_ticker(market.symbol)
        where = f"ticker {market.symbol}"
        info = parse.mapping(parse.mapping(raw, where).get("info"), f"{where}: info")
        mark = parse.price(info, "fairPrice", where)
        return Prices(mark=mark, ts=ctx.now(), index=parse.opt_price(info, "indexPrice", where))

    async def trading(self, ctx: Ctx, market: MarketSpec) -> str | None:
        """Refused unless the user consented to a probe and MEXC accepted it."""
        if not ctx.probe:
            return NO_CONSENT
        mark = (await self.prices(ctx, market)).mark
        steps = (mark / 2 / market.price_step).to_integral_value(rounding=ROUND_DOWN)
        price = steps * market.price_step
        try:
            placed = await ctx.ex.create_order(
                market.symbol, "limit", Side.BUY.value, float(market.min_amount), float(price)
            )
        except Exception as exc:
            if error_code(ctx.traits, exc) == REFUSED:
                return f"MEXC refused the probe order: this key may not trade futures ({exc})"
            return f"the probe order failed, so nothing shows this key may trade ({exc})"
        order_id = parse.text(parse.mapping(placed, "probe order"), "id", "probe order")
        await ctx.ex.cancel_order(order_id, market.symbol)
        return None

    async def ensure_settings(
        self, ctx: Ctx, market: MarketSpec, leverage: Decimal, margin_mode: str
    ) -> None:
        """Nothing is changed on MEXC: its leverage call needs the position's side and margin
        type, which is not written here; set 1x cross on MEXC's site (the guards verify it)."""


__all__ = ["NO_CONSENT", "TRAITS", "MexcQuirks"]
