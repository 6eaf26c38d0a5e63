"""A loopback Binance COIN-M market-data server: klines and funding-rate history, paged.

Only what `ccxt.async_support.binancecoinm.fetch_ohlcv` and `fetch_funding_rate_history` ask of
an inverse perp (GET /dapi/v1/klines, GET /dapi/v1/fundingRate), answered like Binance does:
rows from `startTime` up to `endTime`, at most `limit` of them, oldest first. The history is
made up and deterministic; `requests` records every query so a test can check the paging.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

SYMBOL_ID = "BTCUSD_PERP"
HOUR_MS = 3_600_000

MARKET: dict[str, Any] = {
    "id": SYMBOL_ID,
    "symbol": "BTC/USD:BTC",
    "base": "BTC",
    "quote": "USD",
    "settle": "BTC",
    "baseId": "BTC",
    "quoteId": "USD",
    "settleId": "BTC",
    "type": "swap",
    "spot": False,
    "margin": False,
    "swap": True,
    "future": False,
    "option": False,
    "contract": True,
    "linear": False,
    "inverse": True,
    "contractSize": 100,
    "active": True,
    "precision": {"amount": 1, "price": 0.1},
    "limits": {"amount": {"min": 1}},
    "info": {},
}


class BinanceCoinM:
    """`candles` maps an hour's start (ms) to its open price; `rates` a funding time to its rate."""

    def __init__(self, candles: dict[int, str], rates: dict[int, str]) -> None:
        self.candles = candles
        self.rates = rates
        self.requests: list[tuple[str, dict[str, str]]] = []
        app = web.Application()
        app.router.add_get("/dapi/v1/klines", self._klines)
        app.router.add_get("/dapi/v1/fundingRate", self._funding)
        self.server = TestServer(app, host="127.0.0.1")

    async def __aenter__(self) -> BinanceCoinM:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()

    def configure(self, exchange: Any) -> None:
        """Point a ccxt binancecoinm at this server and give it the market without a request."""
        exchange.urls["api"]["dapiPublic"] = str(self.server.make_url("/dapi/v1"))
        exchange.enableRateLimit = False
        exchange.set_markets([MARKET])

    @staticmethod
    def _window(query: Any, default_limit: int, max_limit: int) -> tuple[int, int, int]:
        start = int(query.get("startTime", 0))
        end = int(query.get("endTime", 2**62))
        limit = min(int(query.get("limit", default_limit)), max_limit)
        return start, end, limit

    async def _klines(self, request: web.Request) -> web.Response:
        self.requests.append(("klines", dict(request.query)))
        if request.query.get("symbol") != SYMBOL_ID or request.query.get("interval") != "1h":
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        start, end, limit = self._window(request.query, 500, 1500)
        rows = []
        for ts in sorted(t for t in self.candles if start <= t <= end)[:limit]:
            price = self.candles[ts]
            rows.append([ts, price, price, price, price, "10", ts + HOUR_MS - 1, "1", 1])
        return web.json_response(rows)

    async def _funding(self, request: web.Request) -> web.Response:
        self.requests.append(("funding", dict(request.query)))
        start, end, limit = self._window(request.query, 100, 1000)
        times = sorted(t for t in self.rates if start <= t <= end)[:limit]
        return web.json_response(
            [{"symbol": SYMBOL_ID, "fundingTime": t, "fundingRate": self.rates[t]} for t in times]
        )
