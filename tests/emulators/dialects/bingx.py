"""The BingX dialect: coin-M BTC-USD (cswap v1, 100 USD contracts, BTC collateral) and USDT-M
BTC-USDT (swap v2/v3, amounts in BTC, USDT collateral), spot and perpetual wallets apart.

A Binance-style wire, as ccxt's `bingx` speaks it: every parameter (POSTs and DELETEs too) in the
query string with a `timestamp`, signed by an HMAC-SHA256 of that query appended as `signature`,
the key in `X-BX-APIKEY`; replies `{code, msg, data}`, errors a non-zero `code` in an HTTP 200
(BingX's throttle: HTTP 429). No websockets: ccxt has no coin-M private streams and the adapter
polls both markets over REST. Payload shapes follow the ones ccxt's `bingx.py` documents.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote

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

D = Decimal
Json = dict[str, Any]
COINM = Instrument("BTC-USD", "inverse", "BTC", "USD", "BTC", D(100), D(1), D(1), D("0.1"))
USDTM = Instrument("BTC-USDT", "linear", "BTC", "USDT", "USDT", D(1), D("0.0001"), D("0.0001"),
                   D("0.1"))  # fmt: skip
SWAP, CSWAP = "/openApi/swap", "/openApi/cswap/v1"
CODES = {
    Reason.INVALID: ("109400", "Invalid parameters"),
    Reason.DUPLICATE: ("101481", "duplicate clientOrderID"),
    Reason.MARGIN: ("101204", "Insufficient margin"),
    Reason.REDUCE_ONLY: ("101205", "No position to close"),
    Reason.NOT_FOUND: ("80016", "order not exist"),
    Reason.NOT_MODIFIED: ("80001", "not modified"),
    Reason.POSITION_OPEN: ("80001", "position or open order exists"),
    Reason.BALANCE: ("100202", "Insufficient balance"),
    Reason.UNSUPPORTED: ("100400", "not supported"),
    Reason.AUTH: ("100001", "Signature verification failed"),
}
STATUS = {"new": "NEW", "partially_filled": "PARTIALLY_FILLED", "filled": "FILLED",
          "cancelled": "CANCELLED", "partially_filled_cancelled": "CANCELLED"}  # fmt: skip


def number(value: object, name: str) -> Decimal:
    try:
        found = Decimal(str(value))
    except (InvalidOperation, ValueError):
        found = Decimal("NaN")
    if not found.is_finite():
        raise Refusal(Reason.INVALID, f"{name} invalid")
    return found


def flag(value: object) -> bool:
    return str(value).lower() == "true"


class Bingx(RestOnly):
    exchange = "bingx"
    order_methods = frozenset({"POST"})  # DELETE cancels and GET looks up on the same path
    wallet_paths = frozenset(
        {"/openApi/spot/v1/account/balance", f"{SWAP}/v3/user/balance", f"{CSWAP}/user/balance"}
    )

    def __init__(self, kinds: tuple[str, ...] = ("inverse", "linear")) -> None:
        """`kinds`: the markets listed (a conformance row lists its own, so that the
        create-order faults land on its create path)."""
        self.instruments = tuple(i for i in (COINM, USDTM) if i.kind in kinds)
        paths = {"inverse": f"{CSWAP}/trade/order", "linear": f"{SWAP}/v2/trade/order"}
        self.order_paths = frozenset(paths[k] for k in kinds)
        self.hedge_mode = False

    def bind(self, emu: Emulator) -> None:
        self.emu = emu

    def routes(self) -> Mapping[tuple[str, str], Handler]:
        routes: dict[tuple[str, str], Handler] = {
            ("GET", "/openApi/spot/v1/common/symbols"): self._spot_symbols,
            ("GET", f"{SWAP}/v2/quote/contracts"): self._linear_contracts,
            ("GET", f"{CSWAP}/market/contracts"): self._inverse_contracts,
            ("GET", "/openApi/wallets/v1/capital/config/getall"): self._currencies,
            ("GET", "/openApi/spot/v1/account/balance"): self._spot_balance,
            ("GET", f"{SWAP}/v3/user/balance"): self._contract_balance,
            ("GET", f"{CSWAP}/user/balance"): self._contract_balance,
            ("GET", f"{SWAP}/v1/positionSide/dual"): self._get_dual,
            ("POST", f"{SWAP}/v1/positionSide/dual"): self._set_dual,
            ("GET", f"{SWAP}/v2/user/income"): self._income,
        }
        for prefix, api in ((f"{SWAP}/v2/quote", "linear"), (f"{CSWAP}/market", "inverse")):
            routes[("GET", f"{prefix}/premiumIndex")] = self._kind(api, self._premium)
        for prefix, api in ((f"{SWAP}/v2", "linear"), (CSWAP, "inverse")):
            cancel = f"{prefix}/trade/order" if api == "linear" else f"{prefix}/trade/cancelOrder"
            history = "allOrders" if api == "linear" else "orderHistory"
            routes.update({
                ("GET", f"{prefix}/user/positions"): self._all(api, self._positions),
                ("POST", f"{prefix}/trade/order"): self._kind(api, self._create),
                ("DELETE", cancel): self._kind(api, self._cancel),
                ("GET", f"{prefix}/trade/openOrders"): self._kind(api, self._open_orders),
                ("GET", f"{prefix}/trade/{history}"): self._kind(api, self._past_orders),
                ("GET", f"{prefix}/trade/leverage"): self._kind(api, self._get_leverage),
                ("POST", f"{prefix}/trade/leverage"): self._kind(api, self._set_leverage),
                ("GET", f"{prefix}/trade/marginType"): self._kind(api, self._get_margin),
                ("POST", f"{prefix}/trade/marginType"): self._kind(api, self._set_margin),
            })  # fmt: skip
        return routes

    def _kind(self, kind: str, handler: Callable[[Instrument, Call], Any]) -> Handler:
        async def handle(call: Call) -> object:
            symbol = call.params.get("symbol")
            found = self.emu.account.instruments.get(str(symbol))
            if found is None or found.kind != kind:
                raise Refusal(Reason.INVALID, f"symbol {symbol} is not a {kind} contract")
            return await handler(found, call)

        return handle

    def _all(self, kind: str, handler: Callable[[Instrument, Call], Any]) -> Handler:
        """A read of every `kind` contract, or of the one `symbol` names."""

        async def handle(call: Call) -> object:
            symbol = call.params.get("symbol")
            rows: list[Json] = []
            for i in self.emu.account.instruments.values():
                if i.kind == kind and symbol in (None, i.id):
                    rows += await handler(i, call)
            return rows

        return handle

    # -- the wire -------------------------------------------------------------------------------

    def params(self, method: str, query: Mapping[str, str], body: str) -> dict[str, Any]:
        return {k: v for k, v in query.items() if k != "signature"}

    def public(self, path: str) -> bool:
        return "/quote/" in path or "/market/" in path or path.endswith("/common/symbols")

    def authenticate(self, call: Call) -> None:
        if call.headers.get("X-BX-APIKEY", "") != self.emu.api_key:
            raise Refusal(Reason.AUTH, "Incorrect apiKey", "100413")
        query, _, signature = unquote(call.raw).rpartition("&signature=")
        expected = hmac.new(self.emu.secret.encode(), query.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise Refusal(Reason.AUTH, "Signature verification failed", "100001")

    def answer(self, result: object, call: Call) -> Answer:
        return Answer(200, {"code": 0, "msg": "", "timestamp": now_ms(), "data": result})

    def refuse(self, refusal: Refusal, call: Call) -> Answer:
        code, message = CODES[refusal.reason]
        code = refusal.code or code
        return Answer(200, {"code": int(code), "msg": f"{message}: {refusal.detail}"}, code)

    def rate_limited(self, call: Call) -> Answer:
        body = {"code": 100410, "msg": "The current system is busy, please try again later"}
        return Answer(429, body, "100410")

    def summary(self, params: Mapping[str, Any]) -> Placed:
        return Placed(
            client_id=str(params.get("clientOrderID") or ""),
            side=str(params.get("side", "")).lower(),
            qty=number(params.get("quantity"), "quantity"),
            reduce_only=flag(params.get("reduceOnly")),
        )

    def empty_wallet(self, result: object, coins: frozenset[str] | None) -> object:
        rows = result["balances"] if isinstance(result, dict) else result
        assert isinstance(rows, list)
        rows[:] = [r for r in rows if coins is not None and r["asset"] not in coins]
        return result

    def ccxt_urls(self, rest: str, ws: str) -> dict[str, Any]:
        keys = ("fund", "spot", "swap", "contract", "wallets", "user", "subAccount", "account",
                "copyTrading", "cswap", "api")  # fmt: skip
        return {k: f"{rest}/openApi" for k in keys}

    def configure(self, exchange: Any) -> Any:
        return exchange

    # -- markets --------------------------------------------------------------------------------

    async def _spot_symbols(self, call: Call) -> object:
        row = {"symbol": "BTC-USDT", "minQty": 0.00001, "maxQty": 100, "minNotional": 5,
               "maxNotional": 1000000, "status": 1, "tickSize": 0.01, "stepSize": 0.000001,
               "apiStateSell": True, "apiStateBuy": True, "timeOnline": 0, "offTime": 0,
               "maintainTime": 0}  # fmt: skip
        return {"symbols": [row]}

    async def _linear_contracts(self, call: Call) -> object:
        i = USDTM
        return [{
            "contractId": "100", "symbol": i.id, "size": str(i.qty_step),
            "quantityPrecision": 4, "pricePrecision": 1, "feeRate": "0.0005",
            "makerFeeRate": "0.0002", "takerFeeRate": str(self.emu.account.taker_fee),
            "tradeMinLimit": 0, "tradeMinQuantity": float(i.min_qty), "tradeMinUSDT": 2,
            "maxLongLeverage": 125, "maxShortLeverage": 125, "currency": "USDT", "asset": "BTC",
            "status": 1, "apiStateOpen": "true", "apiStateClose": "true", "ensureTrigger": True,
            "triggerFeeRate": "0.00020000",
        }]  # fmt: skip

    async def _inverse_contracts(self, call: Call) -> object:
        i = COINM
        return [{"symbol": i.id, "pricePrecision": 1, "minTickSize": str(i.contract_size),
                 "minTradeValue": str(i.contract_size), "minQty": "1.00000000", "status": 1,
                 "timeOnline": 1713175200000}]  # fmt: skip

    async def _currencies(self, call: Call) -> object:
        return [{"coin": c, "name": c, "networkList": []} for c in ("BTC", "USDT")]

    async def _premium(self, i: Instrument, call: Call) -> object:
        a = self.emu.account
        row = {"symbol": i.id, "markPrice": str(a.mark), "indexPrice": str(a.index),
               "lastFundingRate": "0.0001", "nextFundingTime": now_ms() + 3_600_000}  # fmt: skip
        return [row] if i.inverse else row

    # -- wallets and positions -----------------------------------------------------------------

    async def _spot_balance(self, call: Call) -> object:
        a = self.emu.account
        rows = [{"asset": c, "free": str(a.available(SPOT, c)),
                 "locked": str(a.wallet(SPOT, c) - a.available(SPOT, c))}
                for c in a.wallets[SPOT]]  # fmt: skip
        return {"balances": rows}

    async def _contract_balance(self, call: Call) -> object:
        a = self.emu.account
        rows = []
        for coin in a.wallets[DERIVATIVES]:
            rows.append({
                "userId": "116***295", "asset": coin, "balance": str(a.wallet(DERIVATIVES, coin)),
                "equity": str(a.equity(DERIVATIVES, coin)), "unrealizedProfit": str(a.upnl(coin)),
                "realisedProfit": "0", "availableMargin": str(a.available(DERIVATIVES, coin)),
                "usedMargin": str(a.position_im(coin)), "freezedMargin": str(a.order_im(coin)),
                "shortUid": "12851936",
            })  # fmt: skip
        return rows

    async def _positions(self, i: Instrument, call: Call) -> object:
        a, p = self.emu.account, self.emu.account.positions[i.id]
        if p.size == 0:
            return []
        value = i.value(p.size, a.mark)
        return [{
            "symbol": i.id, "positionId": f"pos-{i.id}", "positionSide": "BOTH",
            "isolated": p.isolated, "positionAmt": str(p.size), "availableAmt": str(p.size),
            "unrealizedProfit": str(i.pnl(p.size, p.entry, a.mark) if p.entry else 0),
            "initialMargin": str(value / p.leverage), "liquidationPrice": 0,
            "avgPrice": str(p.entry), "leverage": int(p.leverage), "markPrice": str(a.mark),
            "positionValue": str(value), "updateTime": p.updated_ms, "currency": i.settle,
        }]  # fmt: skip

    async def _income(self, call: Call) -> object:
        rows = []
        for e in self.emu.account.executions:
            if e.kind != "funding" or e.instrument.kind != "linear":
                continue
            rows.append({"symbol": e.instrument.id, "incomeType": "FUNDING_FEE",
                         "income": str(-e.fee), "asset": e.instrument.settle, "info": "Funding",
                         "time": e.time_ms, "tranId": e.exec_id, "tradeId": ""})  # fmt: skip
        return rows

    # -- settings ------------------------------------------------------------------------------

    async def _get_dual(self, call: Call) -> object:
        return {"dualSidePosition": "true" if self.hedge_mode else "false"}

    async def _set_dual(self, call: Call) -> object:
        hedge = flag(call.params.get("dualSidePosition"))
        if hedge != self.hedge_mode:
            self.emu.account.set_hedge_mode(hedge)
            self.hedge_mode = hedge
        return {"dualSidePosition": str(hedge).lower()}

    async def _get_leverage(self, i: Instrument, call: Call) -> object:
        lev = int(self.emu.account.positions[i.id].leverage)
        return {"symbol": i.id, "longLeverage": lev, "shortLeverage": lev,
                "maxLongLeverage": 125, "maxShortLeverage": 125}  # fmt: skip

    async def _set_leverage(self, i: Instrument, call: Call) -> object:
        if call.params.get("side") not in ("LONG", "SHORT", "BOTH"):
            raise Refusal(Reason.INVALID, "side must be LONG, SHORT or BOTH")
        leverage = number(call.params.get("leverage"), "leverage")
        if leverage != self.emu.account.positions[i.id].leverage:
            self.emu.account.set_leverage(i, leverage)
        return {"leverage": int(leverage), "symbol": i.id}

    async def _get_margin(self, i: Instrument, call: Call) -> object:
        isolated = self.emu.account.positions[i.id].isolated
        return {"symbol": i.id, "marginType": "ISOLATED" if isolated else "CROSSED"}

    async def _set_margin(self, i: Instrument, call: Call) -> object:
        wanted = call.params.get("marginType")
        if wanted not in ("ISOLATED", "CROSSED"):
            raise Refusal(Reason.INVALID, f"marginType {wanted}")
        position = self.emu.account.positions[i.id]
        if (wanted == "ISOLATED") != position.isolated:
            self.emu.account.set_isolated(i, wanted == "ISOLATED", position.leverage)
        return {}

    # -- orders --------------------------------------------------------------------------------

    def _order(self, o: Order) -> Json:
        fee = -o.cum_fee
        return {
            "symbol": o.instrument.id, "orderId": int(o.order_id.split("-")[0]),
            "side": o.side.upper(), "positionSide": "BOTH",
            "type": "MARKET" if o.price is None else "LIMIT", "origQty": str(o.qty),
            "price": str(o.price or 0), "executedQty": str(o.cum_qty),
            "avgPrice": str(o.avg_price or 0), "cumQuote": str(o.cum_value), "stopPrice": "",
            "profit": "0", "commission": str(fee), "status": STATUS[o.status],
            "time": o.created_ms, "updateTime": o.updated_ms, "clientOrderId": o.client_id,
            "leverage": "1X", "workingType": "MARK_PRICE", "onlyOnePosition": True,
            "reduceOnly": o.reduce_only, "timeInForce": o.tif,
        }  # fmt: skip

    def _by_id(self, order_id: object) -> Order | None:
        for o in self.emu.account.orders.values():
            if str(int(o.order_id.split("-")[0])) == str(order_id):
                return o
        return None

    async def _create(self, i: Instrument, call: Call) -> object:
        p = call.params
        if p.get("positionSide", "BOTH") != "BOTH":
            raise Refusal(Reason.INVALID, "positionSide must be BOTH in one-way mode")
        kind = str(p.get("type", ""))
        if kind not in ("MARKET", "LIMIT"):
            raise Refusal(Reason.INVALID, f"type {kind}")
        price = number(p.get("price"), "price") if kind == "LIMIT" else None
        spec = OrderSpec(i, str(p.get("side", "")).lower(), number(p.get("quantity"), "quantity"),
                         price, str(p.get("timeInForce", "GTC")), flag(p.get("reduceOnly")),
                         str(p.get("clientOrderID", "")))  # fmt: skip
        order = self._order(self.emu.account.place(spec))
        return order if i.inverse else {"order": order}

    async def _cancel(self, i: Instrument, call: Call) -> object:
        p = call.params
        found = self._by_id(p.get("orderId")) if p.get("orderId") else None
        client = p.get("clientOrderID") or p.get("clientOrderId")
        order = self.emu.account.cancel(found.order_id if found else None, client)
        return {"order": self._order(order)}

    def _orders(self, i: Instrument, open_: bool) -> list[Json]:
        rows = [o for o in self.emu.account.orders.values()
                if o.instrument is i and o.open == open_]  # fmt: skip
        return [self._order(o) for o in reversed(rows)]

    async def _open_orders(self, i: Instrument, call: Call) -> object:
        return {"orders": self._orders(i, True)}

    async def _past_orders(self, i: Instrument, call: Call) -> object:
        return {"orders": self._orders(i, False)}


class BingxEmulator(Emulator):
    """Deposits and withdrawals of the coin-M collateral go to the perpetual wallet (the user
    moves them there; the adapter counts that wallet as the hedged coin)."""

    funds: str | None = None

    async def deposit(self, coin: str, amount: Decimal, wallet: str | None = None) -> None:
        await super().deposit(coin, amount, wallet or self.funds)

    async def withdraw(self, coin: str, amount: Decimal, wallet: str | None = None) -> None:
        await super().withdraw(coin, amount, wallet or self.funds)


def emulator(
    account: Account | None = None, kinds: tuple[str, ...] = ("inverse", "linear"), **keys: str
) -> BingxEmulator:
    """An emulated BingX (not started); `account` defaults to spot 1 BTC + 10,000 USDT."""
    return BingxEmulator(Bingx(kinds), account or Account(unified=False), **keys)


def conformance(kind: str) -> Callable[[Account], Emulator]:
    """The conformance table's factory: its (unified) starting balances laid out as BingX keeps
    them: the margin coin (BTC for coin-M, USDT for USDT-M) in the perpetual wallet, the rest in
    spot; on coin-M deposits and withdrawals go to the perpetual wallet."""

    def make(start: Account) -> Emulator:
        balances = dict(start.wallets[UNIFIED])
        account = Account(unified=False, price=start.mark, balances=balances)
        margin = "BTC" if kind == "inverse" else "USDT"
        if balances.get(margin):
            account.transfer(margin, balances[margin], SPOT, DERIVATIVES)
        emu = emulator(account, (kind,))
        emu.funds = DERIVATIVES if kind == "inverse" else None
        return emu

    return make


__all__ = ["COINM", "USDTM", "Bingx", "BingxEmulator", "conformance", "emulator"]
