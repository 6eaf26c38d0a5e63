"""The emulator core: one aiohttp app on one loopback port for REST and websockets, any dialect.

Control (in-process): `set_price`, `deposit`, `withdraw`, `apply_funding`. Faults:
`drop_websockets`, `fail_next` (HTTP 5xx), `rate_limit_next` (the exchange's own rate-limit
error), `delay_next_order` (executed at once, answered late), `duplicate_next_order` (executed,
then answered "duplicate client order id", as when a gateway retried it), `refuse_next_orders`
(refused for margin, nothing executed), `empty_wallet` (the next wallet replies without the
coin), `silence_private` / `silence_public` (connected, subscribed, and saying nothing),
`clear_faults`. `order_log` records every create-order request that passed the gateway (no 5xx,
no rate limit), on arrival; `requests` every REST request; `order_hooks` and `request_hooks` run
on arrival, before any work, and `wait_for_orders` lets a test wait for one.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from tests.emulators.core.account import Account
from tests.emulators.core.dialect import Answer, Call, Conn, Dialect, Placed, Push
from tests.emulators.core.model import Reason, Refusal


@dataclass
class OrderLogEntry:
    """One create-order request: `received` is `time.monotonic()` at arrival, before any work."""

    received: float
    wall: float
    params: dict[str, Any]
    placed: Placed | None  # None when the request could not be read
    status: int = 0
    error: str | None = None  # the exchange's error code, None when accepted
    order_id: str | None = None
    answered: float | None = None  # monotonic time the reply was sent

    @property
    def client_id(self) -> str:
        return self.placed.client_id if self.placed else ""


@dataclass
class RequestLogEntry:
    """One REST request; `received` is `time.monotonic()` at arrival."""

    method: str
    path: str
    params: dict[str, Any]
    received: float = 0.0
    status: int = 200
    error: str | None = None


ORDERS = "<create-order>"  # a fault's path: every create-order path of the dialect


@dataclass
class _Fault:
    kind: str  # "http" | "rate" | "margin"
    remaining: int
    path: str | None
    status: int = 502


class Emulator:
    def __init__(
        self,
        dialect: Dialect,
        account: Account | None = None,
        *,
        api_key: str = "emu-api-key",
        secret: str = "emu-api-secret",
        password: str = "emu-passphrase",
    ) -> None:
        """`account` defaults to a unified one: 1 BTC + 10,000 USDT, BTC at 65,000, 10x."""
        self.account = account if account is not None else Account()
        self.dialect = dialect
        self.api_key, self.secret, self.password = api_key, secret, password
        for instrument in dialect.instruments:
            self.account.list_instrument(instrument)
        self.order_log: list[OrderLogEntry] = []
        self.order_hooks: list[Callable[[OrderLogEntry], object]] = []
        self.request_hooks: list[Callable[[str], object]] = []
        self.requests: list[RequestLogEntry] = []
        self._faults: list[_Fault] = []
        self._order_delays: list[float] = []
        self._duplicates = 0
        self._empty: list[frozenset[str] | None] = []
        self.private_silent = False
        self.public_silent = False
        self.conns: set[Conn] = set()
        self._conn_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self.order_arrived = asyncio.Event()
        self.port = 0
        self.reading = ""  # the path of the REST request whose params are being read
        self._routes = dialect.routes()
        dialect.bind(self)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
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

    async def __aenter__(self) -> Emulator:
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
        """A replacement for a ccxt client's `urls['api']`."""
        return self.dialect.ccxt_urls(self.rest_url, self.ws_url)

    def configure(self, exchange: Any) -> Any:
        """Point a ccxt (or ccxt.pro) client at this emulator, with its keys; returns it."""
        exchange.urls["api"] = self.ccxt_urls()
        exchange.apiKey, exchange.secret = self.api_key, self.secret
        exchange.options["maxRetriesOnFailure"] = 0
        return self.dialect.configure(exchange)

    # -- control ------------------------------------------------------------------------------

    async def set_price(self, mark: Decimal, index: Decimal | None = None) -> None:
        self.account.set_price(Decimal(mark), None if index is None else Decimal(index))
        if not self.public_silent:
            await self._deliver(self.dialect.ticker_pushes())
        await self.flush()

    async def deposit(self, coin: str, amount: Decimal, wallet: str | None = None) -> None:
        self.account.credit(wallet or self.account.spot_wallet, coin, Decimal(amount))
        await self.flush()

    async def withdraw(self, coin: str, amount: Decimal, wallet: str | None = None) -> None:
        name = wallet or self.account.spot_wallet
        if Decimal(amount) > self.account.available(name, coin):
            raise ValueError(f"cannot withdraw {amount} {coin}: not that much available")
        self.account.credit(name, coin, -Decimal(amount))
        await self.flush()

    async def apply_funding(self, rate: Decimal, instrument: str | None = None) -> Decimal:
        received = self.account.apply_funding(Decimal(rate), instrument)
        await self.flush()
        return received

    async def drop_websockets(self) -> None:
        conns = list(self.conns)
        self.conns.clear()
        await asyncio.gather(
            *(c.ws.close(code=WSCloseCode.GOING_AWAY) for c in conns), return_exceptions=True
        )

    def fail_next(self, count: int, status: int = 502, path: str | None = None) -> None:
        """The next `count` REST calls (to `path` only, when given) answer HTTP `status`."""
        self._faults.append(_Fault("http", count, path, status))

    def rate_limit_next(self, count: int, path: str | None = None) -> None:
        """The next `count` REST calls answer the exchange's own rate-limit error."""
        self._faults.append(_Fault("rate", count, path))

    def rate_limit_next_order(self, count: int = 1) -> None:
        """The next `count` create-orders, on whichever order path (Deribit has two), answer the
        exchange's own rate-limit error."""
        self._faults.append(_Fault("rate", count, ORDERS))

    def refuse_next_orders(self, count: int) -> None:
        """The next `count` create-orders are refused for margin; nothing is executed."""
        self._faults.append(_Fault("margin", count, None))

    def delay_next_order(self, seconds: float) -> None:
        """The next create-order is executed at once but answered only after `seconds`."""
        self._order_delays.append(seconds)

    def duplicate_next_order(self) -> None:
        """The next create-order is executed, and answered "duplicate client order id"."""
        self._duplicates += 1

    def empty_wallet(self, count: int = 1, coin: str | None = None) -> None:
        """The next `count` wallet replies leave out `coin` (None: every coin)."""
        self._empty += [None if coin is None else frozenset({coin})] * count

    def clear_faults(self) -> None:
        """Every fault not yet taken is forgotten (the streams' silence too)."""
        self._faults.clear()
        self._order_delays.clear()
        self._duplicates = 0
        self._empty.clear()
        self.private_silent = self.public_silent = False

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

    def duplicate_client_ids(self) -> list[str]:
        seen: dict[str, int] = {}
        for entry in self.order_log:
            if entry.client_id:
                seen[entry.client_id] = seen.get(entry.client_id, 0) + 1
        return [client_id for client_id, n in seen.items() if n > 1]

    def request_count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)

    @property
    def private_connections(self) -> int:
        return sum(1 for c in self.conns if c.private)

    def is_create(self, method: str, path: str) -> bool:
        """A create-order request: to an order path, by one of the dialect's `order_methods`
        when it names them (BingX cancels and looks up by DELETE and GET on the create path)."""
        methods = getattr(self.dialect, "order_methods", None)
        return path in self.dialect.order_paths and (methods is None or method in methods)

    # -- REST ---------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._ws_handler(request)
        for hook in list(self.request_hooks):
            hook(request.path)
        body = await request.text() if request.method != "GET" else ""
        self.reading = request.path  # a dialect whose path is a parameter (Deribit's buy | sell)
        params = self.dialect.params(request.method, request.query, body)
        call = Call(request.method, request.path, params, body or request.query_string,
                    request.headers)  # fmt: skip
        entry = RequestLogEntry(request.method, request.path, params, time.monotonic())
        self.requests.append(entry)
        fault = self._take_fault(call.path, ("http", "rate"))  # the gateway's, before all
        if fault is not None:
            answer = self._fault_answer(fault, call)
        elif self.is_create(request.method, request.path):
            answer = await self._create_order(call)
        else:
            answer = await self._rest(call)
        entry.status = answer.status
        entry.error = answer.error
        if isinstance(answer.body, str):
            return web.Response(status=answer.status, text=answer.body)
        return web.json_response(answer.body, status=answer.status)

    async def _rest(self, call: Call) -> Answer:
        handler = self._routes.get((call.method, call.path))
        if handler is None:
            return Answer(404, f"emulator: no route {call.method} {call.path}")
        try:
            if not self.dialect.public(call.path):
                self.dialect.authenticate(call)
            result = await handler(call)
            if call.path in self.dialect.wallet_paths and self._empty:
                result = self.dialect.empty_wallet(result, self._empty.pop(0))
            answer = self.dialect.answer(result, call)
        except Refusal as refusal:
            answer = self.dialect.refuse(refusal, call)
        await self.flush()
        return answer

    def _fault_answer(self, fault: _Fault, call: Call) -> Answer:
        if fault.kind == "http":
            return Answer(fault.status, f"<html>{fault.status} Bad Gateway</html>")
        return self.dialect.rate_limited(call)

    def _take_fault(self, path: str, kinds: tuple[str, ...]) -> _Fault | None:
        for fault in self._faults:
            orders = fault.path == ORDERS and path in self.dialect.order_paths
            if (
                fault.kind in kinds
                and fault.remaining > 0
                and (fault.path in (None, path) or orders)
            ):
                fault.remaining -= 1
                return fault
        return None

    async def _create_order(self, call: Call) -> Answer:
        try:
            placed: Placed | None = self.dialect.summary(call.params)
        except (Refusal, ValueError, ArithmeticError):
            placed = None
        log = OrderLogEntry(time.monotonic(), time.time(), call.params, placed)
        self.order_log.append(log)
        self.order_arrived.set()
        for hook in list(self.order_hooks):
            result = hook(log)
            if inspect.isawaitable(result):
                await result
        if self._take_fault(call.path, ("margin",)) is not None:
            answer = self.dialect.refuse(Refusal(Reason.MARGIN, "refused by a fault"), call)
        else:
            answer = await self._rest(call)
            order = self.account.by_client.get(log.client_id) if log.client_id else None
            if order is not None and answer.error is None:
                log.order_id = order.order_id
            if self._duplicates and log.order_id is not None:
                self._duplicates -= 1
                answer = self.dialect.refuse(Refusal(Reason.DUPLICATE, "gateway retry"), call)
        log.status, log.error = answer.status, answer.error
        if self._order_delays:
            delay = self._order_delays.pop(0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
        log.answered = time.monotonic()
        return answer

    # -- websockets ---------------------------------------------------------------------------

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        kind = self.dialect.ws_stream(request.path)
        if kind is None:
            return web.Response(status=404, text=f"emulator: no stream {request.path}")
        ws = web.WebSocketResponse(timeout=1.0)
        await ws.prepare(request)
        stream, private, authed = kind
        conn = Conn(ws, request.path, stream, private, f"emu-conn-{next(self._conn_ids)}", authed)
        self.conns.add(conn)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        message: Any = json.loads(msg.data)
                    except ValueError:  # a text frame: OKX's and Bitget's keep-alive "ping"
                        message = msg.data
                    for reply in await self.dialect.on_message(conn, message):
                        await self._send(conn, reply)
        finally:
            self.conns.discard(conn)
        return ws

    async def _send(self, conn: Conn, message: dict[str, Any] | str) -> None:
        if conn.ws.closed:
            return
        try:
            await conn.ws.send_str(message if isinstance(message, str) else json.dumps(message))
        except (ConnectionError, RuntimeError):
            self.conns.discard(conn)

    async def _deliver(self, pushes: list[Push]) -> None:
        for push in pushes:
            for conn in list(self.conns):
                if push.private != conn.private or push.topic not in conn.topics:
                    continue
                if (conn.private and not conn.authed) or push.stream not in (None, conn.stream):
                    continue
                await self._send(conn, push.message)

    async def flush(self) -> None:
        """Push what changed on the account to the private streams (unless they are silent)."""
        changes, self.account.changes = self.account.changes, []
        if changes and not self.private_silent:
            await self._deliver(self.dialect.pushes(changes))
