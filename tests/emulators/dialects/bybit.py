"""The Bybit v5 dialect: inverse BTCUSD (1 USD contracts, BTC collateral) and linear BTCUSDT
(0.001 BTC steps, USDT collateral), on a unified (UTA) or a classic account.

Good enough that the real `ccxt.async_support.bybit` and `ccxt.pro.bybit` work against it once
`exchange.urls['api']` points at the emulator (`Emulator.configure(exchange)` does that).
Requests are signature-checked (HMAC-SHA256 of timestamp + key + recv window + payload, in the
X-BAPI-* headers; websockets `auth` with "GET/realtime" + expiry), errors are Bybit's retCodes
in a 200 reply, and the private streams push `order`, `execution`, `position` and `wallet` after
every change, public `tickers.<symbol>` after every price change (a snapshot on subscribe).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tests.emulators.core.account import Account
from tests.emulators.core.dialect import Answer, Call, Conn, Placed, Push
from tests.emulators.core.model import Change, Execution, Instrument, Order, Reason, Refusal, now_ms
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import bybit_shapes as shapes
from tests.emulators.dialects.bybit_rest import ACCOUNT_TYPES, BybitRest, number
from tests.emulators.dialects.bybit_shapes import Json, envelope

D = Decimal
INVERSE = Instrument("BTCUSD", "inverse", "BTC", "USD", "BTC", D(1), D(1), D(1), D("0.5"))
LINEAR = Instrument("BTCUSDT", "linear", "BTC", "USDT", "USDT", D(1), D("0.001"), D("0.001"),
                    D("0.1"))  # fmt: skip
PUBLIC_STREAMS = ("spot", "linear", "inverse", "option")
CODES = {
    Reason.INVALID: ("10001", "params error"),
    Reason.DUPLICATE: ("110072", "OrderLinkedID is duplicate"),
    Reason.MARGIN: ("110007", "ab not enough for new order"),
    Reason.REDUCE_ONLY: ("110017", "Reduce-only rule not satisfied"),
    Reason.NOT_FOUND: ("110001", "Order does not exist"),
    Reason.NOT_MODIFIED: ("110043", "not modified"),
    Reason.POSITION_OPEN: ("110024", "You have an existing position"),
    Reason.BALANCE: ("131212", "insufficient balance"),
    Reason.UNSUPPORTED: ("10001", "not supported"),
    Reason.AUTH: ("10003", "API key is invalid."),
}


class BybitV5(BybitRest):
    exchange = "bybit"
    instruments = (INVERSE, LINEAR)
    order_paths = frozenset({"/v5/order/create"})
    wallet_paths = frozenset({"/v5/account/wallet-balance"})

    def __init__(self) -> None:
        self.margin_mode = "REGULAR_MARGIN"  # the UTA's account-wide margin mode
        self.liq_override: Decimal | None = None
        self._cs = itertools.count(1)

    def bind(self, emu: Emulator) -> None:
        self.emu = emu

    # -- REST wire ----------------------------------------------------------------------------

    def params(self, method: str, query: Mapping[str, str], body: str) -> dict[str, Any]:
        if method == "GET":
            return dict(query)
        try:
            found = json.loads(body or "{}")
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    def public(self, path: str) -> bool:
        return path.startswith("/v5/market/")

    def authenticate(self, call: Call) -> None:
        key = call.headers.get("X-BAPI-API-KEY", "")
        if key != self.emu.api_key:
            raise Refusal(Reason.AUTH, "API key is invalid.", "10003")
        stamp = call.headers.get("X-BAPI-TIMESTAMP", "")
        window = call.headers.get("X-BAPI-RECV-WINDOW", "")
        payload = f"{stamp}{key}{window}{call.raw}".encode()
        expected = hmac.new(self.emu.secret.encode(), payload, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, call.headers.get("X-BAPI-SIGN", "")):
            raise Refusal(Reason.AUTH, "error sign! origin_string[...]", "10004")

    def answer(self, result: object, call: Call) -> Answer:
        return Answer(200, envelope(result))

    def refuse(self, refusal: Refusal, call: Call) -> Answer:
        code, message = CODES[refusal.reason]
        code = refusal.code or code
        return Answer(200, envelope({}, int(code), f"{message}: {refusal.detail}"), code)

    def rate_limited(self, call: Call) -> Answer:
        return Answer(200, envelope({}, 10006, "Too many visits!"), "10006")

    def summary(self, params: Mapping[str, Any]) -> Placed:
        return Placed(
            client_id=str(params.get("orderLinkId") or ""),
            side=str(params.get("side", "")).lower(),
            qty=number(params.get("qty"), "qty"),
            reduce_only=params.get("reduceOnly") in (True, "true", "True", 1),
        )

    def empty_wallet(self, result: object, coins: frozenset[str] | None) -> object:
        assert isinstance(result, dict)
        for entry in result["list"]:
            entry["coin"] = [
                c for c in entry["coin"] if coins is not None and c["coin"] not in coins
            ]
        return result

    # -- websockets ---------------------------------------------------------------------------

    def ws_stream(self, path: str) -> tuple[str, bool, bool] | None:
        if path == "/v5/private":
            return "private", True, False
        stream = path.removeprefix("/v5/public/")
        return (stream, False, False) if stream in PUBLIC_STREAMS else None

    async def on_message(self, conn: Conn, message: Json) -> list[Json]:
        op, req_id = message.get("op"), message.get("req_id")
        base = {"conn_id": conn.conn_id, "req_id": req_id, "op": op}
        if op == "ping":
            if conn.private:
                return [{**base, "op": "pong", "args": [str(now_ms())]}]
            return [{**base, "success": True, "ret_msg": "pong"}]
        if op == "auth":
            conn.authed = self._ws_auth_ok(message.get("args") or [])
            return [{**base, "success": conn.authed,
                     "ret_msg": "" if conn.authed else "Request not authorized"}]  # fmt: skip
        if op not in ("subscribe", "unsubscribe"):
            return []
        topics = [str(t) for t in message.get("args") or []]
        if conn.private and not conn.authed:
            return [{**base, "success": False, "ret_msg": "Request not authorized"}]
        if op == "unsubscribe":
            conn.topics.difference_update(topics)
            return [{**base, "success": True, "ret_msg": ""}]
        conn.topics.update(topics)
        replies = [{**base, "success": True, "ret_msg": ""}]
        if not conn.private and not self.emu.public_silent:
            replies += [m for t, m in self._ticker_messages(conn.stream, "snapshot") if t in topics]
        return replies

    def _ws_auth_ok(self, args: list[Any]) -> bool:
        if len(args) != 3 or args[0] != self.emu.api_key:
            return False
        payload = f"GET/realtime{args[1]}".encode()
        expected = hmac.new(self.emu.secret.encode(), payload, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, str(args[2]))

    def _ticker_messages(self, stream: str, kind: str) -> list[tuple[str, Json]]:
        account = self.emu.account
        if stream == "spot":
            rows = [shapes.spot_ticker(account)]
        else:
            rows = [shapes.ticker(account, i) for i in account.instruments.values()
                    if i.kind == stream]  # fmt: skip
        found = []
        for data in rows:
            if kind == "delta":
                keep = ("symbol", "markPrice", "indexPrice", "lastPrice", "bid1Price", "ask1Price")
                data = {k: data[k] for k in keep}
            topic = f"tickers.{data['symbol']}"
            message = {"topic": topic, "type": kind, "data": data, "cs": next(self._cs),
                       "ts": now_ms()}  # fmt: skip
            found.append((topic, message))
        return found

    def ticker_pushes(self) -> list[Push]:
        pushes = []
        for stream in ("spot", "linear", "inverse"):
            kind = "snapshot" if stream == "spot" else "delta"
            for topic, message in self._ticker_messages(stream, kind):
                pushes.append(Push(topic, message, private=False, stream=stream))
        return pushes

    def pushes(self, changes: list[Change]) -> list[Push]:
        orders: dict[str, Order] = {}
        executions: list[Execution] = []
        contracts: dict[str, Instrument] = {}
        wallets: list[str] = []
        for change in changes:
            subject = change.subject
            if isinstance(subject, Order):
                orders[subject.order_id] = subject
            elif isinstance(subject, Execution):
                executions.append(subject)
            elif isinstance(subject, Instrument):
                contracts[subject.id] = subject
            elif change.topic == "wallet" and subject not in wallets:
                wallets.append(str(subject))
        found: list[tuple[str, list[Json]]] = []
        if orders:
            found.append(("order", [shapes.order(o, ws=True) for o in orders.values()]))
        if executions:
            found.append(("execution", [shapes.execution(e, ws=True) for e in executions]))
        if contracts:
            rows = [r for i in contracts.values() for r in shapes.positions(
                self.emu.account, i, ws=True, liq=self.liq_override)]  # fmt: skip
            found.append(("position", rows))
        found += [("wallet", [shapes.wallet_entry(self.emu.account, w)]) for w in wallets]
        stamp = now_ms()
        return [
            Push(
                topic,
                {
                    "id": f"{topic[0]}-{next(self._cs)}",
                    "topic": topic,
                    "creationTime": stamp,
                    "data": data,
                },
            )
            for topic, data in found
        ]

    # -- ccxt ---------------------------------------------------------------------------------

    def ccxt_urls(self, rest: str, ws: str) -> dict[str, Any]:
        urls: dict[str, Any] = {k: rest for k in ("spot", "futures", "v2", "public", "private")}
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
        return exchange


def emulator(account: Account | None = None, **keys: str) -> Emulator:
    """An emulated Bybit (not started): `account` defaults to a UTA with 1 BTC + 10,000 USDT."""
    return Emulator(BybitV5(), account, **keys)


__all__ = ["ACCOUNT_TYPES", "INVERSE", "LINEAR", "BybitV5", "emulator"]
