"""The REST endpoints of the Bybit v5 dialect: request params in, `result` objects out.

A handler raises `Refusal` to answer a non-zero retCode (the dialect picks the code); the core
checks signatures and injects faults before a handler runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from tests.emulators.core.dialect import Call, Handler
from tests.emulators.core.model import (
    Instrument,
    Order,
    OrderSpec,
    Reason,
    Refusal,
    now_ms,
)
from tests.emulators.dialects import bybit_shapes as shapes
from tests.emulators.dialects.bybit_shapes import WALLETS, Json

if TYPE_CHECKING:
    from tests.emulators.core.server import Emulator

ACCOUNT_TYPES = {theirs: ours for ours, theirs in WALLETS.items()}
MARGIN_MODES = ("REGULAR_MARGIN", "ISOLATED_MARGIN", "PORTFOLIO_MARGIN")


def number(value: object, name: str) -> Decimal:
    try:
        found = Decimal(str(value))
    except (InvalidOperation, ValueError):
        found = Decimal("NaN")
    if not found.is_finite():
        raise Refusal(Reason.INVALID, f"params error: {name} invalid", "10001")
    return found


class BybitRest:
    emu: Emulator
    margin_mode: str
    liq_override: Decimal | None

    def routes(self) -> Mapping[tuple[str, str], Handler]:
        return {
            ("GET", "/v5/market/instruments-info"): self._instruments,
            ("GET", "/v5/market/tickers"): self._tickers,
            ("GET", "/v5/market/time"): self._time,
            ("GET", "/v5/asset/coin/query-info"): self._coin_info,
            ("GET", "/v5/user/query-api"): self._query_api,
            ("GET", "/v5/account/info"): self._account_info,
            ("GET", "/v5/account/wallet-balance"): self._wallet_balance,
            ("GET", "/v5/position/list"): self._positions,
            ("GET", "/v5/order/realtime"): self._orders_realtime,
            ("GET", "/v5/order/history"): self._orders_history,
            ("GET", "/v5/execution/list"): self._executions,
            ("POST", "/v5/order/create"): self._create,
            ("POST", "/v5/order/cancel"): self._cancel,
            ("POST", "/v5/position/set-leverage"): self._set_leverage,
            ("POST", "/v5/position/switch-mode"): self._switch_mode,
            ("POST", "/v5/position/switch-isolated"): self._switch_isolated,
            ("POST", "/v5/account/set-margin-mode"): self._set_margin_mode,
            ("POST", "/v5/asset/transfer/inter-transfer"): self._transfer,
        }

    def contract(self, p: Mapping[str, Any]) -> Instrument:
        """The perpetual a request names by category and symbol."""
        category, symbol = p.get("category"), p.get("symbol")
        found = self.emu.account.instruments.get(str(symbol))
        if found is None or found.kind != category:
            raise Refusal(Reason.INVALID, f"no {category} contract {symbol}", "10001")
        return found

    def _category(self, p: Mapping[str, Any]) -> list[Instrument]:
        return [i for i in self.emu.account.instruments.values() if i.kind == p.get("category")]

    async def _instruments(self, call: Call) -> object:
        p = call.params
        category = p.get("category", "")
        rows: list[Json] = []
        if p.get("status") != "PreLaunch":
            rows = [shapes.SPOT_BTCUSDT] if category == "spot" else []
            rows += [shapes.instrument(i) for i in self._category(p)]
        if "symbol" in p:
            rows = [r for r in rows if r["symbol"] == p["symbol"]]
        return {"category": category, "list": rows, "nextPageCursor": ""}

    async def _tickers(self, call: Call) -> object:
        p, account = call.params, self.emu.account
        rows = [shapes.ticker(account, i) for i in self._category(p)]
        if p.get("category") == "spot":
            rows = [shapes.spot_ticker(account)]
        if "symbol" in p:
            rows = [r for r in rows if r["symbol"] == p["symbol"]]
        return {"category": p.get("category", ""), "list": rows}

    async def _time(self, call: Call) -> object:
        ms = now_ms()
        return {"timeSecond": str(ms // 1000), "timeNano": str(ms * 1_000_000)}

    async def _coin_info(self, call: Call) -> object:
        return {"rows": [shapes.coin_info(c) for c in ("BTC", "USDT")]}

    async def _query_api(self, call: Call) -> object:
        perms = {"ContractTrade": ["Order", "Position"], "Spot": ["SpotTrade"],
                 "Wallet": ["AccountTransfer"], "Options": [], "Derivatives": [],
                 "Exchange": [], "NFT": []}  # fmt: skip
        return {
            "id": "1", "note": "emulator", "apiKey": self.emu.api_key, "readOnly": 0,
            "secret": "", "permissions": perms, "ips": ["*"], "type": 1, "deadlineDay": 80,
            "expiredAt": "", "createdAt": "", "unified": 0,
            "uta": 1 if self.emu.account.unified else 0, "userID": 1, "inviterID": 0,
            "vipLevel": "No VIP", "mktMakerLevel": "0", "affiliateID": 0, "rsaPublicKey": "",
            "isMaster": True,
        }  # fmt: skip

    async def _account_info(self, call: Call) -> object:
        return {
            "marginMode": self.margin_mode,
            "updatedTime": str(now_ms()),
            "unifiedMarginStatus": 6 if self.emu.account.unified else 1,
            "dcpStatus": "OFF",
            "timeWindow": 10,
            "smpGroup": 0,
            "isMasterTrader": False,
            "spotHedgingStatus": "OFF",
        }

    async def _wallet_balance(self, call: Call) -> object:
        p, account = call.params, self.emu.account
        wallet = ACCOUNT_TYPES.get(str(p.get("accountType", "")))
        if wallet is None or wallet not in account.wallets:
            names = [WALLETS[w] for w in account.wallets]
            raise Refusal(Reason.INVALID, f"accountType only support {names}", "10001")
        entry = shapes.wallet_entry(account, wallet)
        if "coin" in p:
            wanted = str(p["coin"]).split(",")
            entry["coin"] = [c for c in entry["coin"] if c["coin"] in wanted]
        return {"list": [entry]}

    async def _positions(self, call: Call) -> object:
        p, account = call.params, self.emu.account
        rows: list[Json] = []
        for i in self._category(p):
            if "symbol" in p and p["symbol"] != i.id:
                continue
            if "settleCoin" in p and p["settleCoin"] != i.settle:
                continue
            found = shapes.positions(account, i, liq=self.liq_override)
            rows += found if "symbol" in p else [r for r in found if r["size"] != "0"]
        return {"category": p.get("category", ""), "list": rows, "nextPageCursor": ""}

    def _select_orders(self, p: Mapping[str, Any], closed: bool | None) -> list[Json]:
        wanted_id, wanted_link = p.get("orderId"), p.get("orderLinkId")
        rows: list[Order] = []
        for order in reversed(list(self.emu.account.orders.values())):
            if wanted_id and order.order_id != wanted_id:
                continue
            if wanted_link and order.client_id != wanted_link:
                continue
            if "symbol" in p and order.instrument.id != p["symbol"]:
                continue
            if order.instrument.kind != p.get("category", order.instrument.kind):
                continue
            if closed is not None and order.open == closed:
                continue
            rows.append(order)
        return [shapes.order(o) for o in rows]

    async def _orders_realtime(self, call: Call) -> object:
        # UTA: by id, an order of any status among the last 500; otherwise open ones only.
        p = call.params
        by_id = bool(p.get("orderId") or p.get("orderLinkId"))
        closed = None if by_id else str(p.get("openOnly", "0")) != "0"
        return {"category": p.get("category", ""), "list": self._select_orders(p, closed),
                "nextPageCursor": ""}  # fmt: skip

    async def _orders_history(self, call: Call) -> object:
        p = call.params
        return {"category": p.get("category", ""), "list": self._select_orders(p, True),
                "nextPageCursor": ""}  # fmt: skip

    async def _executions(self, call: Call) -> object:
        p = call.params
        rows = []
        for e in reversed(self.emu.account.executions):
            if "category" in p and e.instrument.kind != p["category"]:
                continue
            if "symbol" in p and e.instrument.id != p["symbol"]:
                continue
            if "execType" in p and shapes.EXEC_TYPE[e.kind] != p["execType"]:
                continue
            if "orderLinkId" in p and (e.order is None or e.order.client_id != p["orderLinkId"]):
                continue
            if "startTime" in p and e.time_ms < int(p["startTime"]):
                continue
            rows.append(shapes.execution(e))
        return {"category": p.get("category", ""), "list": rows, "nextPageCursor": ""}

    def order_spec(self, p: Mapping[str, Any]) -> OrderSpec:
        instrument = self.contract(p)
        side, order_type = p.get("side"), p.get("orderType")
        if side not in ("Buy", "Sell") or order_type not in ("Market", "Limit"):
            raise Refusal(Reason.INVALID, "params error: side or orderType invalid", "10001")
        price = number(p.get("price"), "price") if order_type == "Limit" else None
        if self.emu.account.hedge_mode and str(p.get("positionIdx", "0")) == "0":
            raise Refusal(Reason.INVALID, "position idx not match position mode", "10001")
        return OrderSpec(
            instrument=instrument,
            side="buy" if side == "Buy" else "sell",
            qty=number(p.get("qty"), "qty"),
            price=price,
            tif=str(p.get("timeInForce") or ("IOC" if order_type == "Market" else "GTC")),
            reduce_only=p.get("reduceOnly") in (True, "true", "True", 1),
            client_id=str(p.get("orderLinkId") or ""),
        )

    async def _create(self, call: Call) -> object:
        order = self.emu.account.place(self.order_spec(call.params))
        return {"orderId": order.order_id, "orderLinkId": order.client_id}

    async def _cancel(self, call: Call) -> object:
        p = call.params
        order = self.emu.account.cancel(p.get("orderId"), p.get("orderLinkId"))
        return {"orderId": order.order_id, "orderLinkId": order.client_id}

    async def _set_leverage(self, call: Call) -> object:
        p = call.params
        buy, sell = number(p.get("buyLeverage"), "buyLeverage"), number(p.get("sellLeverage"), "x")
        if buy != sell:
            raise Refusal(Reason.INVALID, "buy leverage must equal sell leverage", "10001")
        try:
            self.emu.account.set_leverage(self.contract(p), buy)
        except Refusal as r:
            if r.reason is not Reason.NOT_MODIFIED:
                raise
            raise Refusal(r.reason, "leverage not modified", "110043") from None
        return {}

    async def _switch_mode(self, call: Call) -> object:
        mode = int(call.params.get("mode", -1))
        if mode not in (0, 3):
            raise Refusal(Reason.INVALID, "mode invalid", "10001")
        try:
            self.emu.account.set_hedge_mode(mode == 3)
        except Refusal as r:
            if r.reason is Reason.NOT_MODIFIED:
                raise Refusal(r.reason, "Position mode is not modified", "110025") from None
            raise Refusal(r.reason, "You have an existing position", "110024") from None
        return {}

    async def _switch_isolated(self, call: Call) -> object:
        p = call.params
        if self.emu.account.unified:
            raise Refusal(Reason.UNSUPPORTED, "The API cannot be accessed by unified account "
                          "users.", "100028")  # fmt: skip
        isolated = int(p.get("tradeMode", -1)) == 1
        try:
            self.emu.account.set_isolated(
                self.contract(p), isolated, number(p.get("buyLeverage"), "buyLeverage")
            )
        except Refusal as r:
            raise Refusal(
                r.reason, "Cross/isolated margin mode is not modified", "110026"
            ) from None
        return {}

    async def _set_margin_mode(self, call: Call) -> object:
        if not self.emu.account.unified:
            raise Refusal(Reason.UNSUPPORTED, "Set margin mode failed: classic account", "3400045")
        mode = str(call.params.get("setMarginMode", ""))
        if mode not in MARGIN_MODES:
            raise Refusal(Reason.INVALID, "setMarginMode invalid", "10001")
        self.margin_mode = mode
        return {"reasons": []}

    async def _transfer(self, call: Call) -> object:
        p = call.params
        source = ACCOUNT_TYPES.get(str(p.get("fromAccountType")), "?")
        dest = ACCOUNT_TYPES.get(str(p.get("toAccountType")), "?")
        self.emu.account.transfer(str(p.get("coin", "")), number(p.get("amount"), "amount"),
                                  source, dest)  # fmt: skip
        return {"transferId": p.get("transferId", ""), "status": "SUCCESS"}
