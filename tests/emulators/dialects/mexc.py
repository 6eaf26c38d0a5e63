"""A small MEXC dialect: enough for reads (markets, the contract ticker, the spot wallet, futures
assets and positions) and for the two answers MEXC gives a futures order.

`refuse_futures` (default True) answers every `order/create` with error 1002, "Contract not allow
place order", as MEXC does for ordinary API keys; False accepts it as a resting limit order that a
`order/cancel` cancels. Signing as ccxt's `mexc.py` does it: spot private calls sign the query
(`signature`, key in `X-MEXC-APIKEY`); contract private calls sign key + `Request-Time` + the JSON
body (POST) or the sorted query (GET) in the `Signature` header. No websockets.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from tests.emulators.core.account import Account
from tests.emulators.core.dialect import Answer, Call, Handler, Placed, RestOnly
from tests.emulators.core.model import (
    DERIVATIVES,
    SPOT,
    Instrument,
    OrderSpec,
    Reason,
    Refusal,
    now_ms,
)
from tests.emulators.core.server import Emulator
from tests.emulators.dialects.bingx import number

D = Decimal
Json = dict[str, Any]
INVERSE = Instrument("BTC_USD", "inverse", "BTC", "USD", "BTC", D(100), D(1), D(1), D("0.5"))
LINEAR = Instrument("BTC_USDT", "linear", "BTC", "USDT", "USDT", D("0.0001"), D(1), D(1),
                    D("0.1"))  # fmt: skip
CONTRACT = "/api/v1/private"
CODES = {
    Reason.INVALID: "600", Reason.DUPLICATE: "2003", Reason.MARGIN: "2005",
    Reason.REDUCE_ONLY: "2009", Reason.NOT_FOUND: "2001", Reason.NOT_MODIFIED: "600",
    Reason.POSITION_OPEN: "600", Reason.BALANCE: "2005", Reason.UNSUPPORTED: "1002",
    Reason.AUTH: "602",
}  # fmt: skip
NOT_ALLOWED = "Contract not allow place order!"


class Mexc(RestOnly):
    exchange = "mexc"
    instruments = (INVERSE, LINEAR)
    order_paths = frozenset({f"{CONTRACT}/order/create"})
    wallet_paths = frozenset({"/api/v3/account", f"{CONTRACT}/account/assets"})

    def __init__(self, refuse_futures: bool = True) -> None:
        self.refuse_futures = refuse_futures
        self.cancelled: list[str] = []

    def bind(self, emu: Emulator) -> None:
        self.emu = emu

    def routes(self) -> Mapping[tuple[str, str], Handler]:
        return {
            ("GET", "/api/v3/exchangeInfo"): self._spot_symbols,
            ("GET", "/api/v1/contract/detail"): self._contracts,
            ("GET", "/api/v1/contract/ticker"): self._ticker,
            ("GET", "/api/v3/capital/config/getall"): self._currencies,
            ("GET", "/api/v3/account"): self._spot_account,
            ("GET", f"{CONTRACT}/account/assets"): self._assets,
            ("GET", f"{CONTRACT}/position/open_positions"): self._positions,
            ("POST", f"{CONTRACT}/order/create"): self._submit,
            ("POST", f"{CONTRACT}/order/cancel"): self._cancel,
            ("POST", f"{CONTRACT}/position/change_leverage"): self._leverage,
        }

    # -- the wire -------------------------------------------------------------------------------

    def params(self, method: str, query: Mapping[str, str], body: str) -> dict[str, Any]:
        found: dict[str, Any] = {k: v for k, v in query.items() if k != "signature"}
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                return found
            found.update(parsed if isinstance(parsed, dict) else {"list": parsed})
        return found

    def public(self, path: str) -> bool:
        return path in ("/api/v3/exchangeInfo",) or path.startswith("/api/v1/contract/")

    def authenticate(self, call: Call) -> None:
        secret = self.emu.secret.encode()
        if call.path.startswith(CONTRACT):
            key, stamp = call.headers.get("ApiKey", ""), call.headers.get("Request-Time", "")
            payload = call.raw if call.method == "POST" else unquote(call.raw)
            signed = f"{key}{stamp}{payload}"
            given = call.headers.get("Signature", "")
        else:
            key = call.headers.get("X-MEXC-APIKEY", "")
            signed, _, given = unquote(call.raw).rpartition("&signature=")
        if key != self.emu.api_key:
            raise Refusal(Reason.AUTH, "Api key info invalid")
        expected = hmac.new(secret, signed.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, given):
            raise Refusal(Reason.AUTH, "Signature verification failed")

    def answer(self, result: object, call: Call) -> Answer:
        if call.path.startswith("/api/v1/"):
            return Answer(200, {"success": True, "code": 0, "data": result})
        return Answer(200, result if isinstance(result, dict | list) else {"data": result})

    def refuse(self, refusal: Refusal, call: Call) -> Answer:
        code = refusal.code or CODES[refusal.reason]
        body = {"success": False, "code": int(code), "message": refusal.detail}
        return Answer(200, body, code)

    def rate_limited(self, call: Call) -> Answer:
        return Answer(200, {"success": False, "code": 510, "message": "Requests are too frequent"},
                      "510")  # fmt: skip

    def summary(self, params: Mapping[str, Any]) -> Placed:
        side = int(params.get("side", 0))
        return Placed(str(params.get("externalOid") or ""), "buy" if side in (1, 2) else "sell",
                      number(params.get("vol"), "vol"), side in (2, 4))  # fmt: skip

    def empty_wallet(self, result: object, coins: frozenset[str] | None) -> object:
        rows = result["balances"] if isinstance(result, dict) else result
        assert isinstance(rows, list)
        key = "asset" if isinstance(result, dict) else "currency"
        rows[:] = [r for r in rows if coins is not None and r[key] not in coins]
        return result

    def ccxt_urls(self, rest: str, ws: str) -> dict[str, Any]:
        return {
            "spot": {"public": rest, "private": rest},
            "spot2": {"public": f"{rest}/open/api/v2", "private": f"{rest}/open/api/v2"},
            "contract": {"public": f"{rest}/api/v1/contract", "private": f"{rest}{CONTRACT}"},
            "broker": {"private": f"{rest}/api/v3/broker"},
        }

    def configure(self, exchange: Any) -> Any:
        return exchange

    # -- reads ----------------------------------------------------------------------------------

    async def _spot_symbols(self, call: Call) -> object:
        row = {"symbol": "BTCUSDT", "status": "1", "baseAsset": "BTC", "quoteAsset": "USDT",
               "baseAssetPrecision": 6, "quotePrecision": 2, "quoteAssetPrecision": 2,
               "baseCommissionPrecision": 6, "quoteCommissionPrecision": 6, "orderTypes": [
                   "LIMIT", "MARKET"], "isSpotTradingAllowed": True,
               "isMarginTradingAllowed": False, "quoteAmountPrecision": "1",
               "baseSizePrecision": "0.000001", "permissions": ["SPOT"], "filters": [],
               "maxQuoteAmount": "2000000", "makerCommission": "0", "takerCommission": "0.0005",
               "fullName": "Bitcoin"}  # fmt: skip
        return {"timezone": "CST", "serverTime": now_ms(), "symbols": [row]}

    async def _contracts(self, call: Call) -> object:
        return [{
            "symbol": i.id, "displayName": i.id, "baseCoin": i.base, "quoteCoin": i.quote,
            "settleCoin": i.settle, "contractSize": float(i.contract_size),
            "minLeverage": 1, "maxLeverage": 125, "priceScale": 1, "volScale": 0,
            "amountScale": 4, "priceUnit": float(i.tick), "volUnit": float(i.qty_step),
            "minVol": float(i.min_qty), "maxVol": 1000000, "takerFeeRate": 0.0004,
            "makerFeeRate": 0, "state": 0, "isNew": False, "isHot": True, "isHidden": False,
        } for i in self.instruments]  # fmt: skip

    async def _ticker(self, call: Call) -> object:
        a, symbol = self.emu.account, call.params.get("symbol")
        self.emu.account.instrument(str(symbol))
        return {"symbol": symbol, "lastPrice": float(a.mark), "fairPrice": float(a.mark),
                "indexPrice": float(a.index), "bid1": float(a.mark), "ask1": float(a.mark),
                "volume24": 1000, "amount24": 1000, "timestamp": now_ms()}  # fmt: skip

    async def _currencies(self, call: Call) -> object:
        return []

    async def _spot_account(self, call: Call) -> object:
        a = self.emu.account
        rows = [{"asset": c, "free": str(a.available(SPOT, c)), "locked": "0"}
                for c in a.wallets[SPOT]]  # fmt: skip
        return {"canTrade": True, "accountType": "SPOT", "balances": rows}

    async def _assets(self, call: Call) -> object:
        a = self.emu.account
        return [{"currency": c, "positionMargin": float(a.position_im(c)),
                 "availableBalance": float(a.available(DERIVATIVES, c)),
                 "cashBalance": float(a.wallet(DERIVATIVES, c)), "frozenBalance": 0,
                 "equity": float(a.equity(DERIVATIVES, c)), "unrealized": float(a.upnl(c)),
                 "bonus": 0} for c in a.wallets[DERIVATIVES]]  # fmt: skip

    async def _positions(self, call: Call) -> object:
        a, rows = self.emu.account, []
        for i in self.instruments:
            p = a.positions[i.id]
            if p.size:
                rows.append({"positionId": 1, "symbol": i.id, "holdVol": float(abs(p.size)),
                             "positionType": 1 if p.size > 0 else 2, "openType": 2, "state": 1,
                             "frozenVol": 0, "closeVol": 0, "holdAvgPrice": float(p.entry or 0),
                             "openAvgPrice": float(p.entry or 0), "liquidatePrice": 0,
                             "oim": 0, "im": 0, "holdFee": 0, "realised": 0,
                             "leverage": int(p.leverage), "createTime": p.created_ms,
                             "updateTime": p.updated_ms, "autoAddIm": False})  # fmt: skip
        return rows

    # -- orders ---------------------------------------------------------------------------------

    async def _submit(self, call: Call) -> object:
        if self.refuse_futures:
            raise Refusal(Reason.UNSUPPORTED, NOT_ALLOWED, "1002")
        p = call.params
        side = int(p.get("side", 0))
        spec = OrderSpec(self.emu.account.instrument(str(p.get("symbol"))),
                         "buy" if side in (1, 2) else "sell", number(p.get("vol"), "vol"),
                         number(p.get("price"), "price") if "price" in p else None, "GTC",
                         side in (2, 4), str(p.get("externalOid") or ""))  # fmt: skip
        order = self.emu.account.place(spec)
        return {"orderId": order.order_id, "ts": now_ms()}

    async def _cancel(self, call: Call) -> object:
        ids = [str(i) for i in call.params.get("list") or []]
        for order_id in ids:
            self.emu.account.cancel(order_id, None)
            self.cancelled.append(order_id)
        return [{"orderId": i, "errorCode": 0, "errorMsg": "success"} for i in ids]

    async def _leverage(self, call: Call) -> object:
        return {}


def emulator(account: Account | None = None, refuse_futures: bool = True) -> Emulator:
    """An emulated MEXC (not started): spot and futures wallets apart."""
    start = account or Account(unified=False)
    return Emulator(Mexc(refuse_futures), start)


__all__ = ["INVERSE", "LINEAR", "NOT_ALLOWED", "Mexc", "emulator"]
