"""An in-process Bybit v5 exchange for tests: REST and websockets on one loopback port.

Good enough that the real `ccxt.async_support.bybit` and `ccxt.pro.bybit` work against it once
`exchange.urls['api']` points here (`BybitV5Emulator.configure(exchange)` does that). Requests are
signed-checked with the emulator's dummy key and secret, so an adapter that loses its secrets fails.

Control (all in-process): `set_price`, `deposit`, `withdraw`, `apply_funding`, and faults
(`drop_websockets`, `fail_next`, `rate_limit_next`, `delay_next_order`, `drop_coin_once`,
`silence_private`, `silence_public`). `order_log` records every create-order request with its
arrival time; `order_hooks` and `wait_for_orders` let a test react to an arrival.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import inspect
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from tests.emulators import bybit_v5_shapes as shapes
from tests.emulators.bybit_v5_rest import TICKER_SYMBOLS, RestEndpoints
from tests.emulators.bybit_v5_shapes import Json, envelope
from tests.emulators.bybit_v5_state import Account, BybitError, Change, Order, now_ms

PUBLIC_STREAMS = ("spot", "linear", "inverse", "option")


@dataclass
class OrderLogEntry:
    """One create-order request: `received` is `time.monotonic()` at arrival, before any work."""

    received: float
    wall: float
    params: dict[str, Any]
    ret_code: int | None = None
    order_id: str | None = None
    answered: float | None = None  # monotonic time the reply was sent


@dataclass
class RequestLogEntry:
    method: str
    path: str
    params: dict[str, Any]
    status: int = 200
    ret_code: int | None = None


@dataclass
class _Fault:
    kind: str  # "http" | "retcode"
    remaining: int
    path: str | None
    status: int = 502


@dataclass(eq=False)
class _Conn:
    ws: web.WebSocketResponse
    stream: str  # "spot" | "linear" | "inverse" | "option" | "private"
    conn_id: str
    topics: set[str] = field(default_factory=set)
    authed: bool = False


class BybitV5Emulator(RestEndpoints):
    def __init__(
        self,
        account: Account | None = None,
        *,
        api_key: str = "emu-api-key",
        secret: str = "emu-api-secret",
    ) -> None:
        """`account` defaults to a UTA with 1 BTC + 10,000 USDT, BTC at 65,000, leverage 10."""
        self.account = account if account is not None else Account()
        self.api_key = api_key
        self.secret = secret
        self.order_log: list[OrderLogEntry] = []
        self.order_hooks: list[Callable[[OrderLogEntry], object]] = []
        self.requests: list[RequestLogEntry] = []
        self._faults: list[_Fault] = []
        self._order_delays: list[float] = []
        self._drop_coins: set[str] = set()
        self.private_silent = False
        self.public_silent = False
        self._conns: set[_Conn] = set()
        self._conn_ids = itertools.count(1)
        self._cs = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self.order_arrived = asyncio.Event()
        self.port = 0
        self._routes = self.routes()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        for stream in PUBLIC_STREAMS:
            app.router.add_get(f"/v5/public/{stream}", self._ws_handler)
        app.router.add_get("/v5/private", self._ws_handler)
        app.router.add_post("/v5/order/create", self._rest_handler)
        app.router.add_route("*", "/{tail:.*}", self._rest_handler)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        self._stopping.set()
        await self.drop_websockets()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> BybitV5Emulator:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def ccxt_urls(self) -> dict[str, Any]:
        """A replacement for a ccxt bybit's `urls['api']` (REST sections and the `ws` dict)."""
        http, ws = self.rest_url, self.ws_url
        urls: dict[str, Any] = {k: http for k in ("spot", "futures", "v2", "public", "private")}
        urls["ws"] = {
            "public": {c: f"{ws}/v5/public/{c}" for c in PUBLIC_STREAMS},
            "private": {
                "spot": {"unified": f"{ws}/v5/private", "nonUnified": f"{ws}/spot/private/v3"},
                "contract": f"{ws}/v5/private",
                "usdc": f"{ws}/trade/option/usdc/private/v1",
                "trade": f"{ws}/v5/trade",
            },
        }
        return urls

    def configure(self, exchange: Any) -> Any:
        """Point a ccxt (or ccxt.pro) bybit at this emulator, with its keys; returns it."""
        exchange.urls["api"] = self.ccxt_urls()
        exchange.apiKey = self.api_key
        exchange.secret = self.secret
        exchange.options["maxRetriesOnFailure"] = 0
        return exchange

    # -- control ------------------------------------------------------------------------------

    async def set_price(self, mark: Decimal, index: Decimal | None = None) -> None:
        self.account.set_price(Decimal(mark), None if index is None else Decimal(index))
        await self._push_tickers()
        await self._flush()

    async def deposit(self, coin: str, amount: Decimal, account: str | None = None) -> None:
        self.account.credit(account or self.account.spot_account, coin, Decimal(amount))
        await self._flush()

    async def withdraw(self, coin: str, amount: Decimal, account: str | None = None) -> None:
        wallet = account or self.account.spot_account
        if Decimal(amount) > self.account.available(wallet, coin):
            raise ValueError(f"cannot withdraw {amount} {coin}: not that much available")
        self.account.credit(wallet, coin, -Decimal(amount))
        await self._flush()

    async def apply_funding(self, rate: Decimal) -> Decimal:
        received = self.account.apply_funding(Decimal(rate))
        await self._flush()
        return received

    async def drop_websockets(self) -> None:
        conns = list(self._conns)
        self._conns.clear()
        await asyncio.gather(
            *(c.ws.close(code=WSCloseCode.GOING_AWAY) for c in conns), return_exceptions=True
        )

    def fail_next(self, count: int, status: int = 502, path: str | None = None) -> None:
        """The next `count` REST calls (to `path` only, when given) answer HTTP `status`."""
        self._faults.append(_Fault("http", count, path, status))

    def rate_limit_next(self, count: int, path: str | None = None) -> None:
        """The next `count` REST calls answer retCode 10006 "Too many visits!"."""
        self._faults.append(_Fault("retcode", count, path))

    def delay_next_order(self, seconds: float) -> None:
        """The next create-order is executed at once but answered only after `seconds`."""
        self._order_delays.append(seconds)

    def drop_coin_once(self, coin: str) -> None:
        """The next wallet-balance reply leaves `coin` out of its coin list."""
        self._drop_coins.add(coin)

    def silence_private(self, silent: bool = True) -> None:
        self.private_silent = silent

    def silence_public(self, silent: bool = True) -> None:
        self.public_silent = silent

    async def wait_for_orders(self, count: int, timeout: float = 5.0) -> list[OrderLogEntry]:
        async with asyncio.timeout(timeout):
            while len(self.order_log) < count:
                self.order_arrived.clear()
                await self.order_arrived.wait()
        return self.order_log

    def duplicate_link_ids(self) -> list[str]:
        seen: dict[str, int] = {}
        for entry in self.order_log:
            link = str(entry.params.get("orderLinkId") or "")
            if link:
                seen[link] = seen.get(link, 0) + 1
        return [link for link, n in seen.items() if n > 1]

    def request_count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)

    @property
    def private_connections(self) -> int:
        return sum(1 for c in self._conns if c.stream == "private")

    # -- REST ---------------------------------------------------------------------------------

    async def _rest_handler(self, request: web.Request) -> web.StreamResponse:
        raw = await request.text() if request.method == "POST" else request.query_string
        try:
            params: dict[str, Any] = (
                json.loads(raw or "{}") if request.method == "POST" else dict(request.query)
            )
        except ValueError:
            params = {}
        entry = RequestLogEntry(request.method, request.path, params)
        self.requests.append(entry)
        fault = self._take_fault(request.path)
        if fault is not None and fault.kind == "http":
            entry.status = fault.status
            return web.Response(status=fault.status, text="<html>502 Bad Gateway</html>")
        if fault is not None:
            return self._reply(entry, envelope({}, 10006, "Too many visits!"))
        if request.path == "/v5/order/create":
            return await self._create_order(request, raw, params, entry)
        handler = self._routes.get((request.method, request.path))
        if handler is None:
            entry.status = 404
            return web.Response(status=404, text=f"emulator: no route {request.path}")
        try:
            if not request.path.startswith("/v5/market/"):
                self._check_signature(request, raw)
            body = envelope(await handler(params))
        except BybitError as exc:
            body = envelope({}, exc.code, exc.msg)
        await self._flush()
        return self._reply(entry, body)

    def _reply(self, entry: RequestLogEntry, body: Json) -> web.Response:
        entry.ret_code = body["retCode"]
        return web.json_response(body)

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.path in (None, path):
                fault.remaining -= 1
                return fault
        return None

    def _check_signature(self, request: web.Request, raw: str) -> None:
        key = request.headers.get("X-BAPI-API-KEY", "")
        if key != self.api_key:
            raise BybitError(10003, "API key is invalid.")
        stamp = request.headers.get("X-BAPI-TIMESTAMP", "")
        window = request.headers.get("X-BAPI-RECV-WINDOW", "")
        payload = f"{stamp}{key}{window}{raw}".encode()
        expected = hmac.new(self.secret.encode(), payload, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-BAPI-SIGN", "")):
            raise BybitError(10004, "error sign! origin_string[...]")

    async def _create_order(
        self, request: web.Request, raw: str, params: dict[str, Any], entry: RequestLogEntry
    ) -> web.Response:
        log = OrderLogEntry(received=time.monotonic(), wall=time.time(), params=params)
        self.order_log.append(log)
        self.order_arrived.set()
        for hook in list(self.order_hooks):
            result = hook(log)
            if inspect.isawaitable(result):
                await result
        try:
            self._check_signature(request, raw)
            order = self.account.place(params)
            log.order_id = order.order_id
            body = envelope({"orderId": order.order_id, "orderLinkId": order.link_id})
        except BybitError as exc:
            body = envelope({}, exc.code, exc.msg)
        log.ret_code = body["retCode"]
        await self._flush()
        if self._order_delays:
            delay = self._order_delays.pop(0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
        log.answered = time.monotonic()
        return self._reply(entry, body)

    # -- websockets ---------------------------------------------------------------------------

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(timeout=1.0)
        await ws.prepare(request)
        stream = request.path.rsplit("/", 1)[-1]
        conn = _Conn(ws, stream, f"emu-conn-{next(self._conn_ids)}")
        self._conns.add(conn)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_ws_message(conn, json.loads(msg.data))
        finally:
            self._conns.discard(conn)
        return ws

    async def _on_ws_message(self, conn: _Conn, msg: Json) -> None:
        op, req_id = msg.get("op"), msg.get("req_id")
        base = {"conn_id": conn.conn_id, "req_id": req_id, "op": op}
        if op == "ping":
            if conn.stream == "private":
                await self._send(conn, {**base, "op": "pong", "args": [str(now_ms())]})
            else:
                await self._send(conn, {**base, "success": True, "ret_msg": "pong"})
        elif op == "auth":
            conn.authed = self._ws_auth_ok(msg.get("args") or [])
            message = "" if conn.authed else "Request not authorized"
            await self._send(conn, {**base, "success": conn.authed, "ret_msg": message})
        elif op in ("subscribe", "unsubscribe"):
            topics = [str(t) for t in msg.get("args") or []]
            if conn.stream == "private" and not conn.authed:
                await self._send(
                    conn, {**base, "success": False, "ret_msg": "Request not authorized"}
                )
                return
            if op == "unsubscribe":
                conn.topics.difference_update(topics)
            else:
                conn.topics.update(topics)
            await self._send(conn, {**base, "success": True, "ret_msg": ""})
            if op == "subscribe":
                await self._ticker_snapshots(conn, topics)

    def _ws_auth_ok(self, args: list[Any]) -> bool:
        if len(args) != 3 or args[0] != self.api_key:
            return False
        expected = hmac.new(
            self.secret.encode(), f"GET/realtime{args[1]}".encode(), hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(expected, str(args[2]))

    async def _send(self, conn: _Conn, message: Json) -> None:
        if conn.ws.closed:
            return
        try:
            await conn.ws.send_str(json.dumps(message))
        except (ConnectionError, RuntimeError):
            self._conns.discard(conn)

    def _ticker_message(self, stream: str, kind: str) -> Json:
        data = shapes.ticker(self.account, stream)
        if kind == "delta":
            keep = ("symbol", "markPrice", "indexPrice", "lastPrice", "bid1Price", "ask1Price")
            data = {k: data[k] for k in keep}
        return {
            "topic": f"tickers.{data['symbol']}",
            "type": kind,
            "data": data,
            "cs": next(self._cs),
            "ts": now_ms(),
        }

    async def _ticker_snapshots(self, conn: _Conn, topics: list[str]) -> None:
        symbol = TICKER_SYMBOLS.get(conn.stream)
        if symbol is not None and f"tickers.{symbol}" in topics and not self.public_silent:
            await self._send(conn, self._ticker_message(conn.stream, "snapshot"))

    async def _push_tickers(self) -> None:
        if self.public_silent:
            return
        for conn in list(self._conns):
            symbol = TICKER_SYMBOLS.get(conn.stream)
            if symbol is not None and f"tickers.{symbol}" in conn.topics:
                kind = "snapshot" if conn.stream == "spot" else "delta"
                await self._send(conn, self._ticker_message(conn.stream, kind))

    def _private_messages(self, changes: list[Change]) -> list[Json]:
        orders: dict[str, Order] = {}
        executions, wallets, position = [], [], False
        for change in changes:
            if change.topic == "order" and isinstance(change.subject, Order):
                orders[change.subject.order_id] = change.subject
            elif change.topic == "execution":
                executions.append(change.subject)
            elif change.topic == "position":
                position = True
            elif change.topic == "wallet" and change.subject not in wallets:
                wallets.append(change.subject)
        stamp = {"creationTime": now_ms()}
        messages: list[Json] = []
        if orders:
            data = [shapes.order(o, ws=True) for o in orders.values()]
            messages.append({"id": f"o-{next(self._cs)}", "topic": "order", **stamp, "data": data})
        if executions:
            data = [shapes.execution(e, ws=True) for e in executions]  # type: ignore[arg-type]
            messages.append(
                {"id": f"e-{next(self._cs)}", "topic": "execution", **stamp, "data": data}
            )
        if position:
            data = shapes.positions(self.account, ws=True)
            messages.append(
                {"id": f"p-{next(self._cs)}", "topic": "position", **stamp, "data": data}
            )
        for wallet in wallets:
            data = [shapes.wallet_entry(self.account, str(wallet))]
            messages.append({"id": f"w-{next(self._cs)}", "topic": "wallet", **stamp, "data": data})
        return messages

    async def _flush(self) -> None:
        changes, self.account.changes = self.account.changes, []
        if not changes or self.private_silent:
            return
        for message in self._private_messages(changes):
            for conn in list(self._conns):
                if conn.stream == "private" and conn.authed and message["topic"] in conn.topics:
                    await self._send(conn, message)
