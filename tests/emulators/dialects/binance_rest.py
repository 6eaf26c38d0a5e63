"""The REST endpoints of the Binance dialect: dapi (COIN-M) or fapi (USDⓈ-M), api (spot), sapi.

A handler returns the reply body and raises `Refusal` (with Binance's code where the reason has
more than one) to refuse; the core checks signatures and injects faults before it runs. Binance
semantics kept on purpose: a `newClientOrderId` is unique only among OPEN orders (re-sending the
id of a filled order executes again), unchanged leverage is success, unchanged margin type is
-4046 and unchanged position mode -4059.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from tests.emulators.core.dialect import Call, Handler
from tests.emulators.core.model import (
    DERIVATIVES,
    SPOT,
    ZERO,
    Instrument,
    Order,
    OrderSpec,
    Reason,
    Refusal,
    now_ms,
)
from tests.emulators.dialects import binance_shapes as shapes

if TYPE_CHECKING:
    from tests.emulators.core.server import Emulator

STATUS = {"new": "NEW", "partially_filled": "PARTIALLY_FILLED", "filled": "FILLED",
          "cancelled": "CANCELED", "partially_filled_cancelled": "CANCELED"}  # fmt: skip
TRANSFER_TYPES = {"MAIN_CMFUTURE": (SPOT, DERIVATIVES, "inverse"),
                  "CMFUTURE_MAIN": (DERIVATIVES, SPOT, "inverse"),
                  "MAIN_UMFUTURE": (SPOT, DERIVATIVES, "linear"),
                  "UMFUTURE_MAIN": (DERIVATIVES, SPOT, "linear")}  # fmt: skip


def number(value: object, name: str) -> Decimal:
    try:
        found = Decimal(str(value))
    except (InvalidOperation, ValueError):
        found = Decimal("NaN")
    if not found.is_finite():
        raise Refusal(Reason.INVALID, f"Illegal characters found in parameter '{name}'.", "-1100")
    return found


class BinanceRest:
    """REST for one futures family (`kind`), plus the spot account and universal transfers."""

    emu: Emulator
    kind: str  # "inverse" | "linear"
    funding_rate: Decimal
    demo: bool

    def _ids(self) -> None:
        self.order_ids: dict[int, str] = {}
        self._numbers = itertools.count(1001)
        self._tran_ids = itertools.count(5_000_000)
        self.listen_keys: dict[str, int] = {}  # key -> last keep-alive (ms)
        self.cancelled: set[str] = set()  # orders cancelled by request (not expired)

    @property
    def linear(self) -> bool:
        return self.kind == "linear"

    @property
    def prefix(self) -> str:
        return "/fapi" if self.linear else "/dapi"

    def routes(self) -> Mapping[tuple[str, str], Handler]:
        p, v1 = self.prefix, f"{self.prefix}/v1"
        routes: dict[tuple[str, str], Handler] = {
            ("GET", f"{v1}/exchangeInfo"): self._exchange_info,
            ("GET", f"{v1}/premiumIndex"): self._premium_index,
            ("GET", f"{v1}/time"): self._time,
            ("GET", f"{p}/v3/account" if self.linear else f"{v1}/account"): self._account,
            ("GET", f"{p}/v3/positionRisk" if self.linear else f"{v1}/positionRisk"):
                self._position_risk,
            ("GET", f"{v1}/leverageBracket" if self.linear else f"{p}/v2/leverageBracket"):
                self._brackets,
            ("GET", f"{v1}/symbolConfig"): self._symbol_config,
            ("GET", f"{v1}/positionSide/dual"): self._dual,
            ("POST", f"{v1}/positionSide/dual"): self._set_dual,
            ("POST", f"{v1}/marginType"): self._margin_type,
            ("POST", f"{v1}/leverage"): self._leverage,
            ("POST", f"{v1}/order"): self._create,
            ("GET", f"{v1}/order"): self._order,
            ("DELETE", f"{v1}/order"): self._cancel,
            ("GET", f"{v1}/openOrders"): self._open_orders,
            ("GET", f"{v1}/allOrders"): self._all_orders,
            ("GET", f"{v1}/income"): self._income,
            ("POST", f"{v1}/listenKey"): self._new_listen_key,
            ("PUT", f"{v1}/listenKey"): self._keep_listen_key,
            ("DELETE", f"{v1}/listenKey"): self._drop_listen_key,
            ("GET", "/api/v3/exchangeInfo"): self._spot_exchange_info,
            ("GET", "/api/v3/account"): self._spot_account,
        }  # fmt: skip
        if not self.demo:  # Binance's demo has no sapi host at all
            routes[("POST", "/sapi/v1/asset/transfer")] = self._transfer
        return routes

    # -- market data ------------------------------------------------------------------------------

    def instrument(self, p: Mapping[str, Any]) -> Instrument:
        found = self.emu.account.instruments.get(str(p.get("symbol")))
        if found is None:
            raise Refusal(Reason.INVALID, "Invalid symbol.", "-1121")
        return found

    async def _exchange_info(self, call: Call) -> object:
        return shapes.usdm_exchange_info() if self.linear else shapes.coinm_exchange_info()

    async def _spot_exchange_info(self, call: Call) -> object:
        return shapes.spot_exchange_info()

    async def _time(self, call: Call) -> object:
        return {"serverTime": now_ms()}

    async def _premium_index(self, call: Call) -> object:
        account, now = self.emu.account, now_ms()
        rows = [
            shapes.premium_index(i.id, None if self.linear else "BTCUSD", account.mark,
                                 account.index, self.funding_rate,
                                 now - now % 28_800_000 + 28_800_000, now)
            for i in account.instruments.values()
            if call.params.get("symbol") in (None, i.id)
        ]  # fmt: skip
        return rows[0] if self.linear and "symbol" in call.params and rows else rows

    # -- accounts -----------------------------------------------------------------------------

    def positions(self) -> list[shapes.PositionRow]:
        account, rows = self.emu.account, []
        for i in account.instruments.values():
            p = account.positions[i.id]
            entry = p.entry or ZERO
            upl = i.pnl(p.size, entry, account.mark) if p.entry else ZERO
            notional = i.value(p.size, account.mark) * (1 if p.size > 0 else -1)
            rows.append(shapes.PositionRow(
                i.id, p.size, entry, account.mark, upl, int(p.leverage), p.isolated, ZERO,
                notional if p.size else ZERO, p.updated_ms if p.size else 0))  # fmt: skip
        return rows

    def assets(self) -> list[shapes.AssetRow]:
        account, rows = self.emu.account, []
        coins = ["USDT", "BNB"] if self.linear else ["BTC", "ETH"]
        for coin in coins:
            wallet = account.wallet(DERIVATIVES, coin)
            upl = account.upnl(coin)
            im = account.position_im(coin) + account.order_im(coin)
            used = bool(wallet or upl or im)
            rows.append(shapes.AssetRow(coin, wallet, upl, im,
                                        account.available(DERIVATIVES, coin),
                                        now_ms() if used else 0))  # fmt: skip
        return rows

    async def _account(self, call: Call) -> object:
        return shapes.futures_account(self.linear, self.assets(), self.positions())

    async def _position_risk(self, call: Call) -> object:
        rows = shapes.position_risk(self.linear, self.positions())
        wanted = call.params.get("symbol")
        pair = call.params.get("pair")
        return [r for r in rows if wanted in (None, r["symbol"])
                and (pair is None or r["symbol"].startswith(pair))]  # fmt: skip

    async def _brackets(self, call: Call) -> object:
        return [b for i in self.emu.account.instruments.values()
                for b in shapes.leverage_brackets(self.linear, i.id)]  # fmt: skip

    async def _symbol_config(self, call: Call) -> object:
        account, rows = self.emu.account, []
        for i in account.instruments.values():
            if call.params.get("symbol") in (None, i.id):
                p = account.positions[i.id]
                rows += shapes.symbol_config(i.id, int(p.leverage), p.isolated)
        return rows

    async def _spot_account(self, call: Call) -> object:
        return shapes.spot_account(dict(self.emu.account.wallets[SPOT]), {})

    async def _transfer(self, call: Call) -> object:
        p = call.params
        route = TRANSFER_TYPES.get(str(p.get("type")))
        if route is None or route[2] != self.kind:
            raise Refusal(Reason.UNSUPPORTED, f"transfer type {p.get('type')}", "-9000")
        source, dest, _ = route
        try:
            self.emu.account.transfer(str(p.get("asset")), number(p.get("amount"), "amount"),
                                      source, dest)  # fmt: skip
        except Refusal as refusal:
            raise Refusal(refusal.reason, "Asset transfer failed: insufficient balance",
                          "-5013") from None  # fmt: skip
        return shapes.transfer_reply(next(self._tran_ids))

    async def _income(self, call: Call) -> object:
        p, rows = call.params, []
        since = int(p.get("startTime", 0))
        for n, e in enumerate(self.emu.account.executions):
            if e.kind != "funding" or p.get("symbol") not in (None, e.instrument.id):
                continue
            if p.get("incomeType") not in (None, "FUNDING_FEE") or e.time_ms < since:
                continue
            rows.append(shapes.income_row(e.instrument.id, e.instrument.settle, -e.fee,
                                          e.time_ms, 900_000 + n))  # fmt: skip
        return rows[: int(p.get("limit", 100))]

    # -- settings -----------------------------------------------------------------------------

    async def _dual(self, call: Call) -> object:
        return {"dualSidePosition": self.emu.account.hedge_mode}

    async def _set_dual(self, call: Call) -> object:
        hedge = str(call.params.get("dualSidePosition")).lower() == "true"
        try:
            self.emu.account.set_hedge_mode(hedge)
        except Refusal as refusal:
            if refusal.reason is Reason.NOT_MODIFIED:
                raise Refusal(Reason.NOT_MODIFIED, "No need to change position side.",
                              "-4059") from None  # fmt: skip
            raise Refusal(refusal.reason, "The position side cannot be changed if there"
                          " exists position.", "-4068") from None  # fmt: skip
        return {"code": 200, "msg": "success"}

    async def _margin_type(self, call: Call) -> object:
        instrument = self.instrument(call.params)
        isolated = str(call.params.get("marginType")).upper() == "ISOLATED"
        position = self.emu.account.positions[instrument.id]
        if isolated != position.isolated and position.size:
            raise Refusal(Reason.POSITION_OPEN, "Margin type cannot be changed if there exists"
                          " position.", "-4048")  # fmt: skip
        try:
            self.emu.account.set_isolated(instrument, isolated, position.leverage)
        except Refusal:
            raise Refusal(Reason.NOT_MODIFIED, "No need to change margin type.", "-4046") from None
        return {"code": 200, "msg": "success"}

    async def _leverage(self, call: Call) -> object:
        instrument = self.instrument(call.params)
        leverage = number(call.params.get("leverage"), "leverage")
        try:
            self.emu.account.set_leverage(instrument, leverage)
        except Refusal as refusal:
            if refusal.reason is not Reason.NOT_MODIFIED:  # unchanged is success on Binance
                raise Refusal(Reason.INVALID, "Leverage is not valid", "-4028") from None
        cap = {"maxNotionalValue": "1000000"} if self.linear else {"maxQty": "1000"}
        return {"leverage": int(leverage), "symbol": instrument.id, **cap}

    # -- orders -------------------------------------------------------------------------------

    def number_of(self, order: Order) -> int:
        for number_, order_id in self.order_ids.items():
            if order_id == order.order_id:
                return number_
        found = next(self._numbers)
        self.order_ids[found] = order.order_id
        return found

    def row(self, order: Order) -> shapes.OrderRow:
        status = STATUS[order.status]
        if status == "CANCELED" and order.order_id not in self.cancelled:
            status = "EXPIRED"  # IOC and market remainders expire; only a cancel cancels
        return shapes.OrderRow(
            self.number_of(order), order.client_id, order.instrument.id, order.side.upper(),
            "MARKET" if order.price is None else "LIMIT", order.qty, order.price,
            order.cum_qty, order.avg_price, status, order.reduce_only,
            "GTC" if order.price is None else order.tif, order.created_ms, order.updated_ms,
            order.cum_value,
        )  # fmt: skip

    def order_json(self, order: Order) -> shapes.Json:
        return shapes.order(self.linear, self.row(order))

    async def _create(self, call: Call) -> object:
        p, account = call.params, self.emu.account
        instrument = self.instrument(p)
        side = str(p.get("side", "")).lower()
        kind = str(p.get("type", "")).upper()
        qty = number(p.get("quantity"), "quantity")
        price = number(p["price"], "price") if kind == "LIMIT" else None
        if kind not in ("MARKET", "LIMIT") or (kind == "LIMIT" and "timeInForce" not in p):
            raise Refusal(Reason.INVALID, "Invalid orderType or timeInForce.", "-1116")
        if qty % instrument.qty_step:
            raise Refusal(Reason.INVALID, "Precision is over the maximum defined for this asset.",
                          "-1111")  # fmt: skip
        reduce_only = str(p.get("reduceOnly", "false")).lower() == "true"
        side_mode = str(p.get("positionSide", "BOTH"))
        if (side_mode == "BOTH") == account.hedge_mode:
            raise Refusal(Reason.INVALID, "Order's position side does not match user's"
                          " setting.", "-4061")  # fmt: skip
        client_id = str(p.get("newClientOrderId") or f"emu{next(self._numbers)}")
        previous = account.by_client.get(client_id)
        if previous is not None and not previous.open:
            del account.by_client[client_id]  # unique among open orders only, as Binance says
        notional = qty * (price or account.mark)
        if self.linear and not reduce_only and notional < shapes.USDM_MIN_NOTIONAL:
            raise Refusal(Reason.INVALID, shapes.ERRORS[-4164], "-4164")
        tif = str(p.get("timeInForce", "GTC"))
        order = account.place(OrderSpec(instrument, side, qty, price, tif, reduce_only, client_id))
        return self.order_json(order)

    def find(self, p: Mapping[str, Any]) -> Order:
        account = self.emu.account
        order = None
        if "orderId" in p:
            order_id = self.order_ids.get(int(number(p["orderId"], "orderId")))
            order = account.orders.get(order_id or "")
        elif "origClientOrderId" in p:
            order = account.by_client.get(str(p["origClientOrderId"]))
        if order is None or order.instrument.id != p.get("symbol"):
            raise Refusal(Reason.NOT_FOUND, "Order does not exist.", "-2013")
        return order

    async def _order(self, call: Call) -> object:
        return self.order_json(self.find(call.params))

    async def _cancel(self, call: Call) -> object:
        order = self.find(call.params)
        if not order.open:
            raise Refusal(Reason.NOT_FOUND, "Unknown order sent.", "-2011")
        self.emu.account.cancel(order.order_id, None)
        self.cancelled.add(order.order_id)
        return self.order_json(order)

    async def _open_orders(self, call: Call) -> object:
        return [self.order_json(o) for o in self.emu.account.orders.values()
                if o.open and call.params.get("symbol") in (None, o.instrument.id)]  # fmt: skip

    async def _all_orders(self, call: Call) -> object:
        return [self.order_json(o) for o in self.emu.account.orders.values()
                if o.instrument.id == call.params.get("symbol")]  # fmt: skip

    # -- user data streams --------------------------------------------------------------------

    async def _new_listen_key(self, call: Call) -> object:
        key = next(iter(self.listen_keys), None) or f"emuListenKey{next(self._numbers)}x" * 2
        self.listen_keys[key] = now_ms()  # Binance hands out the live key again, extended
        return {"listenKey": key}

    async def _keep_listen_key(self, call: Call) -> object:
        if not self.listen_keys:
            raise Refusal(Reason.NOT_FOUND, "This listenKey does not exist.", "-1125")
        for key in self.listen_keys:
            self.listen_keys[key] = now_ms()
        return {}

    async def _drop_listen_key(self, call: Call) -> object:
        self.listen_keys.clear()
        return {}
