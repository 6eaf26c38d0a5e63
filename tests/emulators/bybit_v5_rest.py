"""The REST endpoints of the Bybit v5 emulator: request params in, `result` objects out.

A handler raises `BybitError` to answer a non-zero retCode; the server wraps results in Bybit's
envelope, checks signatures and injects faults before a handler runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from tests.emulators import bybit_v5_shapes as shapes
from tests.emulators.bybit_v5_shapes import Json
from tests.emulators.bybit_v5_state import Account, BybitError, Order, now_ms

TICKER_SYMBOLS = {"spot": "BTCUSDT", "linear": "BTCUSDT", "inverse": "BTCUSD"}
Handler = Callable[[dict[str, Any]], Awaitable[object]]


class RestEndpoints:
    account: Account
    api_key: str
    _drop_coins: set[str]

    def routes(self) -> dict[tuple[str, str], Handler]:
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
            ("POST", "/v5/order/cancel"): self._cancel,
            ("POST", "/v5/position/set-leverage"): self._set_leverage,
            ("POST", "/v5/position/switch-mode"): self._switch_mode,
            ("POST", "/v5/position/switch-isolated"): self._switch_isolated,
            ("POST", "/v5/account/set-margin-mode"): self._set_margin_mode,
            ("POST", "/v5/asset/transfer/inter-transfer"): self._transfer,
        }

    async def _instruments(self, p: dict[str, Any]) -> object:
        category = p.get("category", "")
        rows = [] if p.get("status") == "PreLaunch" else shapes.instruments(category)
        if "symbol" in p:
            rows = [r for r in rows if r["symbol"] == p["symbol"]]
        return {"category": category, "list": rows, "nextPageCursor": ""}

    async def _tickers(self, p: dict[str, Any]) -> object:
        category = p.get("category", "")
        rows = [shapes.ticker(self.account, category)] if category in TICKER_SYMBOLS else []
        if "symbol" in p:
            rows = [r for r in rows if r["symbol"] == p["symbol"]]
        return {"category": category, "list": rows}

    async def _time(self, p: dict[str, Any]) -> object:
        ms = now_ms()
        return {"timeSecond": str(ms // 1000), "timeNano": str(ms * 1_000_000)}

    async def _coin_info(self, p: dict[str, Any]) -> object:
        return {"rows": [shapes.coin_info(c) for c in ("BTC", "USDT")]}

    async def _query_api(self, p: dict[str, Any]) -> object:
        perms = ["Order", "Position"]
        return {
            "id": "1",
            "note": "emulator",
            "apiKey": self.api_key,
            "readOnly": 0,
            "secret": "",
            "permissions": {
                "ContractTrade": perms,
                "Spot": ["SpotTrade"],
                "Wallet": ["AccountTransfer"],
                "Options": [],
                "Derivatives": [],
                "Exchange": [],
                "NFT": [],
            },
            "ips": ["*"],
            "type": 1,
            "deadlineDay": 80,
            "expiredAt": "",
            "createdAt": "",
            "unified": 0,
            "uta": 1 if self.account.unified else 0,
            "userID": 1,
            "inviterID": 0,
            "vipLevel": "No VIP",
            "mktMakerLevel": "0",
            "affiliateID": 0,
            "rsaPublicKey": "",
            "isMaster": True,
        }

    async def _account_info(self, p: dict[str, Any]) -> object:
        return {
            "marginMode": self.account.margin_mode,
            "updatedTime": str(now_ms()),
            "unifiedMarginStatus": 6 if self.account.unified else 1,
            "dcpStatus": "OFF",
            "timeWindow": 10,
            "smpGroup": 0,
            "isMasterTrader": False,
            "spotHedgingStatus": "OFF",
        }

    async def _wallet_balance(self, p: dict[str, Any]) -> object:
        wallet_type = p.get("accountType", "")
        if wallet_type not in self.account.wallets:
            raise BybitError(10001, f"accountType only support {list(self.account.wallets)}")
        omit, self._drop_coins = frozenset(self._drop_coins), set()
        entry = shapes.wallet_entry(self.account, wallet_type, omit)
        if "coin" in p:
            wanted = str(p["coin"]).split(",")
            entry["coin"] = [c for c in entry["coin"] if c["coin"] in wanted]
        return {"list": [entry]}

    async def _positions(self, p: dict[str, Any]) -> object:
        category = p.get("category", "")
        rows = shapes.positions(self.account) if category == "inverse" else []
        if "symbol" in p:
            rows = [r for r in rows if r["symbol"] == p["symbol"]]
        elif category == "inverse":
            rows = [r for r in rows if r["size"] != "0"]
        return {"category": category, "list": rows, "nextPageCursor": ""}

    def _select_orders(self, p: dict[str, Any], closed: bool | None) -> list[Json]:
        wanted_id, wanted_link = p.get("orderId"), p.get("orderLinkId")
        rows: list[Order] = []
        for order in reversed(list(self.account.orders.values())):
            if wanted_id and order.order_id != wanted_id:
                continue
            if wanted_link and order.link_id != wanted_link:
                continue
            if "symbol" in p and order.symbol != p["symbol"]:
                continue
            if closed is not None and order.open == closed:
                continue
            rows.append(order)
        return [shapes.order(o) for o in rows]

    async def _orders_realtime(self, p: dict[str, Any]) -> object:
        # UTA: by id, an order of any status among the last 500; otherwise open ones only.
        by_id = bool(p.get("orderId") or p.get("orderLinkId"))
        closed = None if by_id else str(p.get("openOnly", "0")) != "0"
        rows = self._select_orders(p, closed)
        return {"category": p.get("category", ""), "list": rows, "nextPageCursor": ""}

    async def _orders_history(self, p: dict[str, Any]) -> object:
        rows = self._select_orders(p, closed=True)
        return {"category": p.get("category", ""), "list": rows, "nextPageCursor": ""}

    async def _executions(self, p: dict[str, Any]) -> object:
        rows = []
        for e in reversed(self.account.executions):
            if "execType" in p and e.exec_type != p["execType"]:
                continue
            if "orderLinkId" in p and (e.order is None or e.order.link_id != p["orderLinkId"]):
                continue
            if "startTime" in p and e.time_ms < int(p["startTime"]):
                continue
            rows.append(shapes.execution(e))
        return {"category": p.get("category", ""), "list": rows, "nextPageCursor": ""}

    async def _cancel(self, p: dict[str, Any]) -> object:
        order = self.account.cancel(p.get("orderId"), p.get("orderLinkId"))
        return {"orderId": order.order_id, "orderLinkId": order.link_id}

    async def _set_leverage(self, p: dict[str, Any]) -> object:
        self._require_inverse(p)
        self.account.set_leverage(
            Decimal(str(p.get("buyLeverage"))), Decimal(str(p.get("sellLeverage")))
        )
        return {}

    async def _switch_mode(self, p: dict[str, Any]) -> object:
        self.account.switch_mode(int(p.get("mode", -1)))
        return {}

    async def _switch_isolated(self, p: dict[str, Any]) -> object:
        self._require_inverse(p)
        self.account.switch_isolated(
            int(p.get("tradeMode", -1)), Decimal(str(p.get("buyLeverage")))
        )
        return {}

    async def _set_margin_mode(self, p: dict[str, Any]) -> object:
        if not self.account.unified:
            raise BybitError(3400045, "Set margin mode failed: classic account")
        mode = str(p.get("setMarginMode", ""))
        if mode not in ("REGULAR_MARGIN", "ISOLATED_MARGIN", "PORTFOLIO_MARGIN"):
            raise BybitError(10001, "setMarginMode invalid")
        self.account.margin_mode = mode
        return {"reasons": []}

    async def _transfer(self, p: dict[str, Any]) -> object:
        amount = Decimal(str(p.get("amount", "0")))
        coin = str(p.get("coin", ""))
        self.account.transfer(
            coin, amount, str(p.get("fromAccountType")), str(p.get("toAccountType"))
        )
        return {"transferId": p.get("transferId", ""), "status": "SUCCESS"}

    @staticmethod
    def _require_inverse(p: dict[str, Any]) -> None:
        if p.get("category") != "inverse" or p.get("symbol") != "BTCUSD":
            raise BybitError(10001, "emulator supports settings on inverse BTCUSD only")
