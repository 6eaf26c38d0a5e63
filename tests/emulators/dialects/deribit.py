"""The Deribit v2 dialect: JSON-RPC over HTTP GET (/api/v2/public|private/<method>) and over one
websocket (/ws/api/v2) with subscriptions; inverse BTC-PERPETUAL (10 USD contracts, BTC margin)
and linear BTC_USDC-PERPETUAL (0.001 BTC contracts, USDC margin).

Good enough that the real `ccxt.async_support.deribit` and `ccxt.pro.deribit` work against it.
Requests are signature-checked (`deri-hmac-sha256` over timestamp, nonce and the request line;
the websocket's `public/auth` with `client_signature`). What Deribit does differently, kept here:
- orders carry a `label`, which Deribit does NOT keep unique (the account is told so); the
  by-label lookups return every order with exactly that label;
- there is no leverage setting: positions stand at 1x of margin (stricter than Deribit's ~2 %
  initial margin, so what fits here fits there) and the account has a `margin_model`;
- no "duplicate id" error exists: the duplicate fault answers 11094 internal_server_error after
  executing, as a failing gateway would;
- the websocket pushes `ticker.<instrument>.<interval>` after every price change and
  `user.portfolio.<currency>` after every account change; an unknown method is an error reply,
  which ccxt.pro raises in its receive loop (the pending watch never resolves).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tests.emulators.core.account import Account
from tests.emulators.core.dialect import Answer, Call, Conn, Handler, Placed, Push
from tests.emulators.core.model import (
    Change,
    Instrument,
    Order,
    OrderSpec,
    Reason,
    Refusal,
    now_ms,
)
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import deribit_shapes as shapes
from tests.emulators.dialects.bybit_rest import number
from tests.emulators.dialects.deribit_shapes import Json

D = Decimal
INVERSE = Instrument("BTC-PERPETUAL", "inverse", "BTC", "USD", "BTC", D(10), D(1), D(1),
                     D("0.5"))  # fmt: skip
LINEAR = Instrument("BTC_USDC-PERPETUAL", "linear", "BTC", "USDC", "USDC", D("0.001"), D(1),
                    D(1), D(1))  # fmt: skip
API = "/api/v2"
WS_PATH = "/ws/api/v2"
CURRENCIES = ("BTC", "ETH", "SOL", "USDC")
CODES = {
    Reason.INVALID: (11029, "invalid_arguments"),
    Reason.DUPLICATE: (11094, "internal_server_error"),
    Reason.MARGIN: (10009, "not_enough_funds"),
    Reason.REDUCE_ONLY: (11029, "invalid_arguments"),
    Reason.NOT_FOUND: (10004, "order_not_found"),
    Reason.NOT_MODIFIED: (11029, "invalid_arguments"),
    Reason.POSITION_OPEN: (11029, "invalid_arguments"),
    Reason.BALANCE: (10009, "not_enough_funds"),
    Reason.UNSUPPORTED: (11029, "invalid_arguments"),
    Reason.AUTH: (13009, "unauthorized"),
}


class Deribit:
    exchange = "deribit"
    instruments = (INVERSE, LINEAR)
    order_paths = frozenset({f"{API}/private/buy", f"{API}/private/sell"})
    wallet_paths = frozenset({f"{API}/private/get_account_summary"})

    def __init__(self, margin_model: str = "cross_sm", user_id: int = 148510) -> None:
        self.margin_model = margin_model
        self.user_id = user_id
        self.refuse_subscriptions = False  # answer every subscribe with an error reply
        self.started = time.time()

    def bind(self, emu: Emulator) -> None:
        self.emu = emu
        emu.account.unique_client_ids = False  # labels repeat at will
        for instrument in self.instruments:  # no leverage setting: margin at 1x of the value
            emu.account.positions[instrument.id].leverage = D(1)

    # -- REST ---------------------------------------------------------------------------------

    def routes(self) -> Mapping[tuple[str, str], Handler]:
        public = {
            "get_currencies": self._currencies,
            "get_instruments": self._instruments,
            "ticker": self._ticker,
            "get_time": self._time,
            "test": self._test,
        }
        private = {
            "get_account_summary": self._summary, "get_position": self._position,
            "get_positions": self._positions, "buy": self._buy, "sell": self._sell,
            "cancel": self._cancel, "get_open_orders_by_label": self._open_by_label,
            "get_order_state_by_label": self._state_by_label,
            "get_order_state": self._order_state, "get_transaction_log": self._transaction_log,
        }  # fmt: skip
        routes: dict[tuple[str, str], Handler] = {}
        for scope, handlers in (("public", public), ("private", private)):
            for method, handler in handlers.items():
                routes[("GET", f"{API}/{scope}/{method}")] = handler
        return routes

    def instrument(self, p: Mapping[str, Any]) -> Instrument:
        found = self.emu.account.instruments.get(str(p.get("instrument_name")))
        if found is None:
            raise Refusal(Reason.INVALID, f"instrument_name {p.get('instrument_name')!r}")
        return found

    def _currency(self, p: Mapping[str, Any]) -> str:
        code = str(p.get("currency", ""))
        if code not in CURRENCIES:
            raise Refusal(Reason.INVALID, f"currency {code!r}")
        return code

    async def _currencies(self, call: Call) -> object:
        return [shapes.currency(c) for c in ("BTC", "USDC")]

    async def _instruments(self, call: Call) -> object:
        code = call.params.get("currency")
        return [shapes.instrument(i) for i in self.emu.account.instruments.values()
                if code in (None, "any", i.base, i.settle)]  # fmt: skip

    async def _ticker(self, call: Call) -> object:
        return shapes.ticker(self.emu.account, self.instrument(call.params))

    async def _time(self, call: Call) -> object:
        return now_ms()

    async def _test(self, call: Call) -> object:
        return {"version": "1.2.26"}

    async def _summary(self, call: Call) -> object:
        code = self._currency(call.params)
        return shapes.summary(self.emu.account, code, self.user_id, self.margin_model)

    async def _position(self, call: Call) -> object:
        return shapes.position(self.emu.account, self.instrument(call.params))

    async def _positions(self, call: Call) -> object:
        code = call.params.get("currency")
        account = self.emu.account
        return [shapes.position(account, i) for i in account.instruments.values()
                if code in (None, i.settle) and account.positions[i.id].size]  # fmt: skip

    def _spec(self, p: Mapping[str, Any], side: str) -> OrderSpec:
        instrument = self.instrument(p)
        amount = number(p.get("amount"), "amount")
        qty = amount / instrument.contract_size
        kind = str(p.get("type", "limit"))
        price = None if kind == "market" else number(p.get("price"), "price")
        tif = {v: k for k, v in shapes.TIF.items()}.get(str(p.get("time_in_force")), "GTC")
        reduce_only = str(p.get("reduce_only", "false")).lower() == "true"
        return OrderSpec(instrument, side, qty, price, tif if price else "IOC", reduce_only,
                         str(p.get("label", "")))  # fmt: skip

    async def _place(self, call: Call, side: str) -> object:
        order = self.emu.account.place(self._spec(call.params, side))
        trades = [shapes.trade(e) for e in self.emu.account.executions if e.order is order]
        return {"order": shapes.order(order), "trades": trades}

    async def _buy(self, call: Call) -> object:
        return await self._place(call, "buy")

    async def _sell(self, call: Call) -> object:
        return await self._place(call, "sell")

    async def _cancel(self, call: Call) -> object:
        return shapes.order(self.emu.account.cancel(str(call.params.get("order_id")), None))

    def _labelled(self, p: Mapping[str, Any]) -> list[Order]:
        code, label = self._currency(p), str(p.get("label", ""))
        # A currency's lookup also returns its coin's other perps (BTC_USDC under BTC): whether
        # Deribit does is not documented, so the emulator assumes it does.
        return [
            o
            for o in self.emu.account.orders.values()
            if o.client_id == label and code in (o.instrument.base, o.instrument.settle)
        ]

    async def _open_by_label(self, call: Call) -> object:
        return [shapes.order(o) for o in self._labelled(call.params) if o.open]

    async def _state_by_label(self, call: Call) -> object:
        return [shapes.order(o) for o in self._labelled(call.params)]

    async def _order_state(self, call: Call) -> object:
        found = self.emu.account.orders.get(str(call.params.get("order_id")))
        if found is None:
            raise Refusal(Reason.NOT_FOUND, "order_not_found")
        return shapes.order(found)

    async def _transaction_log(self, call: Call) -> object:
        p, account = call.params, self.emu.account
        code = self._currency(p)
        start = int(number(p.get("start_timestamp", 0), "start_timestamp"))
        end = int(number(p.get("end_timestamp", now_ms()), "end_timestamp"))
        logs = [shapes.settlement(e, account) for e in account.executions
                if e.kind == "funding" and e.instrument.settle == code
                and start <= e.time_ms <= end]  # fmt: skip
        return {"logs": logs[::-1], "continuation": None}

    # -- the REST wire ------------------------------------------------------------------------

    def params(self, method: str, query: Mapping[str, str], body: str) -> dict[str, Any]:
        found: dict[str, Any] = dict(query)
        side = self.emu.reading.removeprefix(f"{API}/private/")  # Deribit's side is the path
        if side in ("buy", "sell"):
            found["_side"] = side  # ours, not Deribit's: the order log's view of the side
        return found

    def public(self, path: str) -> bool:
        return path.startswith(f"{API}/public/")

    def authenticate(self, call: Call) -> None:
        header = call.headers.get("Authorization", "")
        scheme, _, rest = header.partition(" ")
        fields = dict(f.split("=", 1) for f in rest.split(",") if "=" in f)
        if scheme != "deri-hmac-sha256" or fields.get("id") != self.emu.api_key:
            raise Refusal(Reason.AUTH, "invalid_credentials")
        request = call.path + (f"?{call.raw}" if call.raw else "")
        payload = f"{fields.get('ts', '')}\n{fields.get('nonce', '')}\nGET\n{request}\n\n"
        expected = hmac.new(self.emu.secret.encode(), payload.encode(), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), fields.get("sig", "")):
            raise Refusal(Reason.AUTH, "bad signature")

    def answer(self, result: object, call: Call) -> Answer:
        return Answer(200, shapes.envelope(result, started=time.time()))

    def refuse(self, refusal: Refusal, call: Call) -> Answer:
        code, message = CODES[refusal.reason]
        status = 401 if refusal.reason is Reason.AUTH else 400
        body = shapes.error(code, message, refusal.detail)
        return Answer(status, body, str(code))

    def rate_limited(self, call: Call) -> Answer:
        return Answer(429, shapes.error(10028, "too_many_requests", "rate"), "10028")

    def summary(self, params: Mapping[str, Any]) -> Placed:
        instrument = self.emu.account.instruments.get(str(params.get("instrument_name")))
        size = instrument.contract_size if instrument is not None else D(1)
        return Placed(
            client_id=str(params.get("label") or ""),
            side=self._side(params),
            qty=number(params.get("amount"), "amount") / size,
            reduce_only=str(params.get("reduce_only", "false")).lower() == "true",
        )

    def _side(self, params: Mapping[str, Any]) -> str:
        """Deribit's side is the method; the core logs params only, so the path is re-read."""
        return str(params.get("_side", ""))

    def empty_wallet(self, result: object, coins: frozenset[str] | None) -> object:
        assert isinstance(result, dict)
        if coins is None or result.get("currency") in coins:
            return {k: v for k, v in result.items()
                    if k not in ("equity", "balance", "available_funds")}  # fmt: skip
        return result

    # -- websockets ---------------------------------------------------------------------------

    def ws_stream(self, path: str) -> tuple[str, bool, bool] | None:
        return ("jsonrpc", False, False) if path == WS_PATH else None

    async def on_message(self, conn: Conn, message: Json) -> list[Json]:
        method, req_id = message.get("method"), message.get("id")
        params = message.get("params") or {}
        base = {"jsonrpc": "2.0", "id": req_id, "testnet": True}
        if method == "public/auth":
            conn.authed = self._ws_auth_ok(params)
            if not conn.authed:
                return [{**base, "error": {"code": 13004, "message": "invalid_credentials"}}]
            token = {"access_token": "emu-token", "expires_in": 900, "refresh_token": "emu-r",
                     "scope": "connection trade:read_write", "token_type": "bearer"}  # fmt: skip
            return [{**base, "result": token}]
        if method in ("public/test", "public/set_heartbeat", "public/disable_heartbeat"):
            return [{**base, "result": "ok"}]
        if method in ("public/subscribe", "private/subscribe"):
            channels = [str(c) for c in params.get("channels") or []]
            if any(c.startswith("user.") for c in channels) and not conn.authed:
                return [{**base, "error": {"code": 13778, "message": "raw_subscriptions_not_"
                                           "available_for_unauthorized"}}]  # fmt: skip
            if self.refuse_subscriptions:  # ccxt.pro raises it in its loop; the watch hangs
                return [{**base, "error": {"code": 11050, "message": "bad_request"}}]
            conn.topics.update(channels)
            return [{**base, "result": channels}, *self._snapshots(channels)]
        if method in ("public/unsubscribe", "private/unsubscribe"):
            channels = [str(c) for c in params.get("channels") or []]
            conn.topics.difference_update(channels)
            return [{**base, "result": channels}]
        return [{**base, "error": {"code": -32601, "message": "Method not found"}}]

    def _ws_auth_ok(self, params: Mapping[str, Any]) -> bool:
        if params.get("grant_type") != "client_signature":
            return False
        if params.get("client_id") != self.emu.api_key:
            return False
        payload = f"{params.get('timestamp')}\n{params.get('nonce')}\n{params.get('data', '')}"
        expected = hmac.new(self.emu.secret.encode(), payload.encode(), hashlib.sha256)
        return hmac.compare_digest(expected.hexdigest(), str(params.get("signature", "")))

    def _snapshots(self, channels: list[str]) -> list[Json]:
        """What Deribit sends at once on a new subscription (its first notification)."""
        wanted, found = set(channels), []
        if not self.emu.public_silent:
            found += [p.message for p in self.ticker_pushes() if p.topic in wanted]
        if not self.emu.private_silent:
            found += [p.message for p in self._portfolio() if p.topic in wanted]
        return found

    @staticmethod
    def _note(channel: str, data: Json) -> Json:
        return {"jsonrpc": "2.0", "method": "subscription",
                "params": {"channel": channel, "data": data}}  # fmt: skip

    def ticker_pushes(self) -> list[Push]:
        account = self.emu.account
        return [
            Push(f"ticker.{i.id}.{interval}", self._note(f"ticker.{i.id}.{interval}",
                 shapes.ticker(account, i)), private=False)
            for i in account.instruments.values() for interval in ("100ms", "raw")
        ]  # fmt: skip

    def _portfolio(self) -> list[Push]:
        account, pushes = self.emu.account, []
        for code in ("BTC", "USDC"):
            data = shapes.summary(account, code, self.user_id, self.margin_model)
            for channel in (f"user.portfolio.{code}", f"user.portfolio.{code.lower()}"):
                pushes.append(Push(channel, self._note(channel, data), private=False))
        return pushes

    def pushes(self, changes: list[Change]) -> list[Push]:
        return self._portfolio() if changes else []

    # -- ccxt ---------------------------------------------------------------------------------

    def ccxt_urls(self, rest: str, ws: str) -> dict[str, Any]:
        return {"rest": rest, "ws": f"{ws}{WS_PATH}"}

    def configure(self, exchange: Any) -> Any:
        return exchange


def emulator(account: Account | None = None, **keys: str) -> Emulator:
    """An emulated Deribit (not started): `account` defaults to 1 BTC + 10,000 USDT."""
    return Emulator(Deribit(), account, **keys)


__all__ = ["INVERSE", "LINEAR", "Deribit", "emulator"]
