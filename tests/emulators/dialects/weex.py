"""The WEEX dialect: USDT-M linear BTCUSDT (`capi/v3`, amounts in BTC, USDT collateral), spot and
contract wallets apart, no transfers, no websockets (the adapter polls over REST).

A Binance-style wire as ccxt's `weex` speaks it: GET and DELETE parameters in the query, POST
parameters as a JSON body; every private request signed by ACCESS-KEY / ACCESS-PASSPHRASE /
ACCESS-TIMESTAMP and ACCESS-SIGN, the base64 HMAC-SHA256 of timestamp + method + path (+ "?"
query) (+ body). Replies are bare JSON (no envelope); errors `{"code": -N, "msg": "..."}` at HTTP
400 (WEEX's throttle: 429). Payload shapes follow ccxt's recorded WEEX responses
(ts/src/test/static/response/weex.json) and the ones `weex.py` documents. WEEX's own quirks:

- `contractVal` (ccxt's contractSize) is 0.0001 while quantities are whole BTC amounts;
- a contract order is looked up by `orderId` only: `origClientOrderId` alone is refused, as
  ccxt's client-id lookup is spot-only; open and history lists carry `clientOrderId`;
- orders say `positionSide` LONG/SHORT: a BUY on SHORT (or a SELL on LONG) closes. This
  emulator keeps one side at a time (the core's one signed position) and refuses the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tests.emulators.core.account import Account
from tests.emulators.core.dialect import Answer, Call, Handler, Placed, RestOnly
from tests.emulators.core.model import (
    DERIVATIVES,
    SPOT,
    UNIFIED,
    Instrument,
    Order,
    OrderSpec,
    Reason,
    Refusal,
    now_ms,
)
from tests.emulators.core.server import Emulator
from tests.emulators.dialects.binance_shapes import s
from tests.emulators.dialects.bingx import flag, number

D = Decimal
Json = dict[str, Any]
BTCUSDT = Instrument("BTCUSDT", "linear", "BTC", "USDT", "USDT", D(1), D("0.0001"), D("0.0001"),
                     D("0.1"))  # fmt: skip
CONTRACT_VAL = "0.0001"  # what WEEX says; amounts are in BTC all the same
C = "/capi/v3"
ORDER = f"{C}/order"
CODES = {
    Reason.INVALID: ("-1142", "PARAM_ERROR: Parameter is invalid"),
    # WEEX documents no code for a reused client id; its catch-all stands in for it.
    Reason.DUPLICATE: ("-1000", "UNKNOWN_ERROR: duplicate clientOrderId"),
    # The shape of WEEX's recorded margin shortfall (ccxt's broad 'amount not enough').
    Reason.MARGIN: ("-1054", "FAILED_PRECONDITION: available amount not enough"),
    Reason.REDUCE_ONLY: ("-1142", "PARAM_ERROR: no position to close"),
    Reason.NOT_FOUND: ("-3200", "CONTRACT_ORDER_NOT_EXIST: Order does not exist"),
    Reason.NOT_MODIFIED: ("-1142", "PARAM_ERROR: not modified"),
    Reason.POSITION_OPEN: ("-1142", "PARAM_ERROR: a position or an order is open"),
    Reason.BALANCE: ("-1142", "PARAM_ERROR: amount not available"),
    Reason.UNSUPPORTED: ("-1150", "REQUEST_METHOD_NOT_SUPPORTED"),
    Reason.AUTH: ("-1047", "API_AUTH_ERROR: API authentication failed"),
}
STATUS = {"new": "NEW", "partially_filled": "PARTIALLY_FILLED", "filled": "FILLED",
          "cancelled": "CANCELED", "partially_filled_cancelled": "CANCELED"}  # fmt: skip
PUBLIC = frozenset({"/api/v3/coins", "/api/v3/exchangeInfo", "/api/v3/time", "/api/v3/ping"})


def without_coins(result: object, coins: frozenset[str] | None) -> object:
    """A wallet reply (`{"balances": [...]}` or a list of rows) without `coins` (None: all)."""
    rows = result["balances"] if isinstance(result, dict) else result
    assert isinstance(rows, list)
    rows[:] = [r for r in rows if coins is not None and r["asset"] not in coins]
    return result


class Weex(RestOnly):
    exchange = "weex"
    instruments = (BTCUSDT,)
    order_paths = frozenset({ORDER})
    order_methods = frozenset({"POST"})  # DELETE cancels and GET looks up on the same path
    wallet_paths = frozenset({"/api/v3/account/", f"{C}/account/balance"})

    def __init__(self) -> None:
        self.separated = False  # SEPARATED: one position per order (COMBINED: one per side)

    def bind(self, emu: Emulator) -> None:
        self.emu = emu

    def routes(self) -> Mapping[tuple[str, str], Handler]:
        return {
            ("GET", "/api/v3/coins"): self._coins,
            ("GET", "/api/v3/exchangeInfo"): self._spot_info,
            ("GET", f"{C}/market/exchangeInfo"): self._contract_info,
            ("GET", f"{C}/market/premiumIndex"): self._premium,
            ("GET", "/api/v3/account/"): self._spot_balance,
            ("GET", f"{C}/account/balance"): self._contract_balance,
            ("GET", f"{C}/account/position/allPosition"): self._positions,
            ("GET", f"{C}/account/symbolConfig"): self._symbol_config,
            ("POST", f"{C}/account/marginType"): self._set_margin_type,
            ("POST", f"{C}/account/leverage"): self._set_leverage,
            ("POST", f"{C}/account/income"): self._income,
            ("POST", ORDER): self._create,
            ("DELETE", ORDER): self._cancel,
            ("GET", ORDER): self._order_by_id,
            ("GET", f"{C}/openOrders"): self._open_orders,
            ("GET", f"{C}/order/history"): self._history,
        }

    def _instrument(self, call: Call, required: bool = True) -> Instrument | None:
        symbol = call.params.get("symbol")
        if symbol is None and not required:
            return None
        return self.emu.account.instrument(str(symbol))

    # -- the wire -------------------------------------------------------------------------------

    def params(self, method: str, query: Mapping[str, str], body: str) -> dict[str, Any]:
        if method == "POST":
            try:
                found = json.loads(body) if body else {}
            except ValueError:
                found = {}  # read as no parameters: the handler names what is missing
            return dict(found) if isinstance(found, dict) else {}
        return dict(query)

    def public(self, path: str) -> bool:
        return path.startswith(f"{C}/market/") or path in PUBLIC

    def authenticate(self, call: Call) -> None:
        h = call.headers
        if h.get("ACCESS-KEY", "") != self.emu.api_key:
            raise Refusal(Reason.AUTH, "INVALID_ACCESS_KEY", "-1044")
        if h.get("ACCESS-PASSPHRASE", "") != self.emu.password:
            raise Refusal(Reason.AUTH, "API_KEY_OR_PASSPHRASE_INCORRECT", "-1049")
        query = f"?{call.raw}" if call.method in ("GET", "DELETE") and call.raw else ""
        body = call.raw if call.method == "POST" else ""
        payload = f"{h.get('ACCESS-TIMESTAMP', '')}{call.method}{call.path}{query}{body}"
        digest = hmac.new(self.emu.secret.encode(), payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), h.get("ACCESS-SIGN", "")):
            raise Refusal(Reason.AUTH, "API_AUTH_ERROR: signature mismatch", "-1047")

    def answer(self, result: object, call: Call) -> Answer:
        assert isinstance(result, dict | list), f"a reply is JSON, not {result!r}"
        return Answer(200, result)

    def refuse(self, refusal: Refusal, call: Call) -> Answer:
        code, message = CODES[refusal.reason]
        code = refusal.code or code
        return Answer(400, {"code": int(code), "msg": f"{message}: {refusal.detail}"}, code)

    def rate_limited(self, call: Call) -> Answer:
        return Answer(429, {"code": 429, "msg": "Requesting too frequently"}, "429")

    def summary(self, params: Mapping[str, Any]) -> Placed:
        side = str(params.get("side", "")).lower()
        closing = (side == "buy") == (params.get("positionSide") == "SHORT")
        return Placed(
            client_id=str(params.get("newClientOrderId") or ""),
            side=side,
            qty=number(params.get("quantity"), "quantity"),
            reduce_only=closing or flag(params.get("reduceOnly")),
        )

    def empty_wallet(self, result: object, coins: frozenset[str] | None) -> object:
        return without_coins(result, coins)

    def ccxt_urls(self, rest: str, ws: str) -> dict[str, Any]:
        return {k: rest for k in ("public", "private", "contract", "contractPrivate")}

    def configure(self, exchange: Any) -> Any:
        exchange.password = self.emu.password
        return exchange

    # -- markets --------------------------------------------------------------------------------

    async def _coins(self, call: Call) -> object:
        return [{"coin": c, "name": c, "depositAllEnable": True, "withdrawAllEnable": True,
                 "networkList": []} for c in ("BTC", "USDT")]  # fmt: skip

    async def _spot_info(self, call: Call) -> object:
        row = {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC",
               "baseAssetPrecision": "8", "quoteAsset": "USDT", "quoteAssetPrecision": "8",
               "tickSize": "0.01", "stepSize": "0.00001", "minTradeAmount": "0.0001",
               "maxTradeAmount": "99999", "takerFeeRate": "0.001", "makerFeeRate": "0.001",
               "enableTrade": True, "enableDisplay": True}  # fmt: skip
        return {"symbols": [row]}

    async def _contract_info(self, call: Call) -> object:
        i = BTCUSDT
        row = {"symbol": i.id, "baseAsset": "BTC", "quoteAsset": "USDT", "marginAsset": "USDT",
               "pricePrecision": "1", "quantityPrecision": "4", "baseAssetPrecision": "4",
               "quotePrecision": "8", "contractVal": CONTRACT_VAL,
               "delivery": ["00:00:00", "08:00:00", "16:00:00"], "forwardContractFlag": True,
               "minLeverage": "1", "maxLeverage": "400", "buyLimitPriceRatio": "0.01",
               "sellLimitPriceRatio": "0.01", "makerFeeRate": "0.0002",
               "takerFeeRate": str(self.emu.account.taker_fee), "minOrderSize": str(i.min_qty),
               "maxOrderSize": "1000000", "maxPositionSize": "5000000",
               "marketOpenLimitSize": "2300"}  # fmt: skip
        return {"symbols": [row]}

    async def _premium(self, call: Call) -> object:
        a = self.emu.account
        return [{"symbol": i.id, "markPrice": str(a.mark), "indexPrice": str(a.index),
                 "forecastFundingRate": "0.0001", "lastFundingRate": "0.0001",
                 "interestRate": "0.001", "nextFundingTime": now_ms() + 3_600_000,
                 "time": now_ms(), "collectCycle": 480}
                for i in a.instruments.values()
                if call.params.get("symbol") in (None, i.id)]  # fmt: skip

    # -- wallets and positions -----------------------------------------------------------------

    async def _spot_balance(self, call: Call) -> object:
        a = self.emu.account
        rows = [{"asset": c, "free": s(a.available(SPOT, c)),
                 "locked": s(a.wallet(SPOT, c) - a.available(SPOT, c))}
                for c in a.wallets[SPOT]]  # fmt: skip
        return {"makerCommission": "0", "takerCommission": "0", "canTrade": True,
                "canWithdraw": True, "canDeposit": True, "updateTime": str(now_ms()),
                "accountType": "SPOT", "balances": rows, "permissions": ["SPOT"],
                "uid": "8886281669"}  # fmt: skip

    async def _contract_balance(self, call: Call) -> object:
        a = self.emu.account
        return [{"asset": c, "balance": s(a.wallet(DERIVATIVES, c)),
                 "availableBalance": s(a.available(DERIVATIVES, c)), "frozen": s(a.order_im(c)),
                 "unrealizePnl": s(a.upnl(c))}
                for c in a.wallets[DERIVATIVES]]  # fmt: skip

    async def _positions(self, call: Call) -> object:
        a, rows = self.emu.account, []
        for i in a.instruments.values():
            p = a.positions[i.id]
            if p.size == 0 or p.entry is None:
                continue
            value = i.value(p.size, p.entry)
            rows.append({
                "id": "749422759074857895", "asset": i.settle, "symbol": i.id,
                "side": "SHORT" if p.size < 0 else "LONG",
                "marginType": "ISOLATED" if p.isolated else "CROSSED",
                "separatedMode": "SEPARATED" if self.separated else "COMBINED",
                "separatedOpenOrderId": "0", "leverage": s(p.leverage, 2),
                "size": s(abs(p.size), 4),
                "openValue": s(value, 5), "openFee": "0", "fundingFee": "0",
                "marginSize": s(value / p.leverage, 5), "isolatedMargin": "0",
                "isAutoAppendIsolatedMargin": False, "cumOpenSize": s(abs(p.size), 4),
                "cumOpenValue": s(value, 5), "cumOpenFee": "0", "cumCloseSize": "0",
                "cumCloseValue": "0", "cumCloseFee": "0", "cumFundingFee": "0",
                "cumLiquidateFee": "0", "createdMatchSequenceId": str(p.seq),
                "updatedMatchSequenceId": str(p.seq), "createdTime": str(p.created_ms),
                "updatedTime": str(p.updated_ms),
                "unrealizePnl": s(i.pnl(p.size, p.entry, a.mark), 5), "liquidatePrice": "0",
            })  # fmt: skip
        return rows

    def _config_row(self, i: Instrument) -> Json:
        p = self.emu.account.positions[i.id]
        lev = s(p.leverage, 2)
        return {"symbol": i.id, "marginType": "ISOLATED" if p.isolated else "CROSSED",
                "separatedType": "SEPARATED" if self.separated else "COMBINED",
                "crossLeverage": lev, "isolatedLongLeverage": lev,
                "isolatedShortLeverage": lev}  # fmt: skip

    async def _symbol_config(self, call: Call) -> object:
        only = self._instrument(call, required=False)
        return [self._config_row(i) for i in self.emu.account.instruments.values()
                if only in (None, i)]  # fmt: skip

    async def _set_margin_type(self, call: Call) -> object:
        i = self._instrument(call)
        assert i is not None
        wanted, separated = call.params.get("marginType"), call.params.get("separatedType")
        if wanted not in ("CROSSED", "ISOLATED") or separated not in (
            None,
            "COMBINED",
            "SEPARATED",
        ):
            raise Refusal(Reason.INVALID, f"marginType {wanted} separatedType {separated}")
        position = self.emu.account.positions[i.id]
        if (wanted == "ISOLATED") != position.isolated:
            self.emu.account.set_isolated(i, wanted == "ISOLATED", position.leverage)
        if separated is not None:
            self.separated = separated == "SEPARATED"
        return {"code": "200", "msg": "success", "requestTime": now_ms()}

    async def _set_leverage(self, call: Call) -> object:
        i = self._instrument(call)
        assert i is not None
        p = call.params
        wanted = p.get("crossLeverage") or p.get("isolatedShortLeverage")
        leverage = number(wanted, "leverage")
        if leverage != self.emu.account.positions[i.id].leverage:
            self.emu.account.set_leverage(i, leverage)
        return self._config_row(i)

    async def _income(self, call: Call) -> object:
        p, items = call.params, []
        start, end = int(p.get("startTime") or 0), int(p.get("endTime") or 10**15)
        for e in self.emu.account.executions:
            if e.kind != "funding" or not start <= e.time_ms <= end:
                continue
            items.append({"billId": e.exec_id, "asset": e.instrument.settle,
                          "symbol": e.instrument.id, "income": s(-e.fee),
                          "incomeType": "position_funding", "balance": "0", "fillFee": "0",
                          "time": str(e.time_ms),
                          "transferReason": "UNKNOWN_TRANSFER_REASON"})  # fmt: skip
        return {"hasNextPage": False, "nextKey": None, "items": items}

    # -- orders --------------------------------------------------------------------------------

    def _row(self, o: Order) -> Json:
        """An order as `openOrders`, `order/history` and `GET order` show it."""
        side = "LONG" if (o.side == "buy") != o.reduce_only else "SHORT"
        return {
            "avgPrice": s(o.avg_price, 1), "clientOrderId": o.client_id,
            "cumQuote": s(o.cum_value, 5), "executedQty": s(o.cum_qty, 4),
            "orderId": self._id(o), "origQty": s(o.qty, 4), "price": s(o.price, 1),
            "reduceOnly": o.reduce_only, "side": o.side.upper(), "positionSide": side,
            "status": STATUS[o.status], "stopPrice": "0", "symbol": o.instrument.id,
            "time": str(o.created_ms), "timeInForce": o.tif,
            "type": "MARKET" if o.price is None else "LIMIT", "updateTime": str(o.updated_ms),
            "workingType": "UNKNOWN_PRICE_TYPE",
        }  # fmt: skip

    @staticmethod
    def _id(o: Order) -> str:
        return str(737000000000000000 + int(o.order_id.split("-")[0]))

    def _by_id(self, order_id: object) -> Order | None:
        return next((o for o in self.emu.account.orders.values() if self._id(o) == order_id),
                    None)  # fmt: skip

    async def _create(self, call: Call) -> object:
        i = self._instrument(call)
        assert i is not None
        p = call.params
        side, position_side = str(p.get("side", "")).lower(), p.get("positionSide")
        kind = str(p.get("type", ""))
        if side not in ("buy", "sell") or position_side not in ("LONG", "SHORT"):
            raise Refusal(Reason.INVALID, f"side {side} positionSide {position_side}", "-1117")
        if kind not in ("MARKET", "LIMIT"):
            raise Refusal(Reason.INVALID, f"type {kind}", "-1116")
        closing = (side == "buy") == (position_side == "SHORT")
        if flag(p.get("reduceOnly")) and not closing:
            raise Refusal(Reason.INVALID, "reduceOnly on an opening order")
        size = self.emu.account.positions[i.id].size
        if not closing and ((position_side == "LONG" and size < 0) or
                            (position_side == "SHORT" and size > 0)):  # fmt: skip
            raise Refusal(Reason.UNSUPPORTED, "this emulator holds one position side at a time")
        price = number(p.get("price"), "price") if kind == "LIMIT" else None
        tif = str(p.get("timeInForce") or ("GTC" if price is not None else "IOC"))
        spec = OrderSpec(i, side, number(p.get("quantity"), "quantity"), price, tif, closing,
                         str(p.get("newClientOrderId", "")))  # fmt: skip
        order = self.emu.account.place(spec)
        return {"orderId": self._id(order), "clientOrderId": order.client_id, "success": True,
                "errorCode": "", "errorMessage": ""}  # fmt: skip

    async def _cancel(self, call: Call) -> object:
        p = call.params
        found = self._by_id(p.get("orderId")) if p.get("orderId") else None
        order = self.emu.account.cancel(found.order_id if found else None,
                                        p.get("origClientOrderId"))  # fmt: skip
        return {"orderId": self._id(order), "success": True, "errorCode": "",
                "errorMessage": ""}  # fmt: skip

    async def _order_by_id(self, call: Call) -> object:
        order_id = call.params.get("orderId")
        if not order_id:  # contract orders are looked up by WEEX's id only
            raise Refusal(Reason.INVALID, "orderId cannot be empty", "-1141")
        found = self._by_id(order_id)
        if found is None:
            raise Refusal(Reason.NOT_FOUND, f"order {order_id}")
        return self._row(found)

    def _orders(self, call: Call, open_: bool) -> list[Json]:
        only = self._instrument(call, required=False)
        rows = [o for o in self.emu.account.orders.values()
                if o.open == open_ and only in (None, o.instrument)]  # fmt: skip
        limit = int(call.params.get("limit") or 1000)
        return [self._row(o) for o in reversed(rows)][:limit]

    async def _open_orders(self, call: Call) -> object:
        return self._orders(call, True)

    async def _history(self, call: Call) -> object:
        return self._orders(call, False)


def emulator(account: Account | None = None, **keys: str) -> Emulator:
    """An emulated WEEX (not started); `account` defaults to spot 1 BTC + 10,000 USDT."""
    return Emulator(Weex(), account or Account(unified=False), **keys)


def conformance(start: Account) -> Emulator:
    """The conformance table's factory: its (unified) starting balances laid out as WEEX keeps
    them: the USDT collateral in the contract wallet, the BTC in spot."""
    balances = dict(start.wallets[UNIFIED])
    account = Account(unified=False, price=start.mark, balances=balances)
    if balances.get("USDT"):
        account.transfer("USDT", balances["USDT"], SPOT, DERIVATIVES)
    return emulator(account)


__all__ = ["BTCUSDT", "CONTRACT_VAL", "Weex", "conformance", "emulator", "without_coins"]
