"""The OKX-style wire family: what OKX v5 and Bitget v2 say the same way, for their dialects.

Both sign a REST request as base64(HMAC-SHA256(secret, timestamp + METHOD + path[?query] + body))
in four headers (key, sign, timestamp, passphrase), wrap replies in `{code, msg, data}`, log a
websocket in with `{"op": "login", "args": [{apiKey, passphrase, timestamp, sign}]}` (the sign
over timestamp + "GET" + a verify path), subscribe with `{"op": "subscribe", "args": [{channel,
...}]}`, answer `{"event": ...}`, push `{"arg": {...}, "data": [...]}`, keep alive with the text
"ping" -> "pong", and choose demo trading by a header. Only the header names, the verify path,
the success code and the envelope's extra fields differ: `Family` holds them.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tests.emulators.core.account import Account
from tests.emulators.core.dialect import Call, Conn
from tests.emulators.core.model import Instrument, Order, Reason, Refusal

if TYPE_CHECKING:
    from tests.emulators.core.server import Emulator

Json = dict[str, Any]
EIGHT = Decimal("0.00000001")
STATE = {  # the core's order status -> the family's order `state`
    "new": "live",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "cancelled": "canceled",
    "partially_filled_cancelled": "canceled",
}


@dataclass(frozen=True)
class Family:
    """One exchange's names in the family's wire."""

    key_header: str
    sign_header: str
    time_header: str
    passphrase_header: str
    demo_header: str
    verify_path: str  # what a websocket login signs after timestamp + "GET"
    auth_code: str  # a wrong key, passphrase or signature
    login_reply: Json  # what a successful websocket login answers
    streams: str  # the websocket paths' prefix; `<prefix>private` is the private stream
    topic_keys: tuple[str, ...]  # the subscription argument's fields that route a push


def s(value: Decimal | None) -> str:
    """A plain decimal string as the family sends numbers (no exponent), "" for None."""
    if value is None:
        return ""
    if value.as_tuple().exponent < -8:  # type: ignore[operator]
        value = value.quantize(EIGHT)
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def number(value: object, name: str) -> Decimal:
    """A request's decimal parameter, or a refusal naming it."""
    try:
        found = Decimal(str(value))
    except ArithmeticError:
        found = Decimal("NaN")
    if not found.is_finite():
        raise Refusal(Reason.INVALID, f"parameter {name} error: {value!r}")
    return found


@contextlib.contextmanager
def unchanged_is_success() -> Iterator[None]:
    """A setting asked for as it already is: both exchanges answer it as a success."""
    try:
        yield
    except Refusal as refusal:
        if refusal.reason is not Reason.NOT_MODIFIED:
            raise


def signature(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_payload(call: Call) -> str:
    """What the client signed: timestamp + METHOD + path (+ ?query for a GET) + body."""
    stamp = call.headers.get("OK-ACCESS-TIMESTAMP") or call.headers.get("ACCESS-TIMESTAMP") or ""
    if call.method == "GET":
        query = f"?{call.raw}" if call.raw else ""
        return f"{stamp}{call.method}{call.path}{query}"
    return f"{stamp}{call.method}{call.path}{call.raw}"


def params(method: str, query: Mapping[str, str], body: str) -> dict[str, Any]:
    """A request's parameters; a JSON list body (OKX batch-orders) comes as {"items": [...]}."""
    if method == "GET":
        return dict(query)
    try:
        found = json.loads(body or "{}")
    except ValueError:
        return {}
    if isinstance(found, list):
        return {"items": found}
    return found if isinstance(found, dict) else {}


def check_rest(family: Family, call: Call, key: str, secret: str, passphrase: str) -> None:
    """Refuse a request without our key, passphrase and a valid signature."""
    headers = call.headers
    if headers.get(family.key_header) != key:
        raise Refusal(Reason.AUTH, "Invalid API key", family.auth_code)
    if headers.get(family.passphrase_header) != passphrase:
        raise Refusal(Reason.AUTH, "Invalid passphrase", family.auth_code)
    expected = signature(secret, signed_payload(call))
    if not hmac.compare_digest(expected, headers.get(family.sign_header, "")):
        raise Refusal(Reason.AUTH, "Invalid sign", family.auth_code)


def check_demo(family: Family, call: Call, demo: bool) -> None:
    """A demo account answers only requests carrying the demo header, a live one only others."""
    flagged = call.headers.get(family.demo_header) == "1"
    if flagged != demo:
        wanted = "demo" if demo else "live"
        raise Refusal(Reason.AUTH, f"this is a {wanted} account ({family.demo_header})",
                      family.auth_code)  # fmt: skip


def login_ok(family: Family, args: object, key: str, secret: str, passphrase: str) -> bool:
    """A websocket `login` op's first argument, checked as the exchange checks it."""
    if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
        return False
    arg = args[0]
    if arg.get("apiKey") != key or arg.get("passphrase") != passphrase:
        return False
    expected = signature(secret, f"{arg.get('timestamp')}GET{family.verify_path}")
    return hmac.compare_digest(expected, str(arg.get("sign", "")))


def topic(arg: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    """A subscription's routing key: the channel and the given fields of its argument."""
    return "|".join(str(arg.get(k, "")) for k in keys)


async def on_message(
    family: Family,
    conn: Conn,
    message: object,
    keys: tuple[str, str, str],
    topic_keys: tuple[str, ...],
) -> tuple[list[Json | str], list[Mapping[str, Any]]]:
    """Login, subscribe, unsubscribe and ping for one connection.

    Returns the replies and the subscription arguments just added (the dialect answers those with
    a snapshot, as both exchanges do on subscribe).
    """
    if message == "ping":
        return ["pong"], []
    if not isinstance(message, dict):
        return [{"event": "error", "code": "60012", "msg": f"Illegal request: {message!r}"}], []
    op = message.get("op")
    if op == "login":
        conn.authed = login_ok(family, message.get("args"), *keys)
        if conn.authed:
            return [dict(family.login_reply)], []
        return [{"event": "error", "code": family.auth_code, "msg": "Invalid sign"}], []
    if op not in ("subscribe", "unsubscribe"):
        return [{"event": "error", "code": "60012", "msg": f"Illegal request: {op!r}"}], []
    if conn.private and not conn.authed:
        return [{"event": "error", "code": "60011", "msg": "Please log in"}], []
    args = [a for a in message.get("args") or [] if isinstance(a, dict)]
    replies: list[Json | str] = []
    for arg in args:
        key = topic(arg, topic_keys)
        if op == "subscribe":
            conn.topics.add(key)
        else:
            conn.topics.discard(key)
        replies.append({"event": op, "arg": arg, "connId": conn.conn_id})
    return replies, args if op == "subscribe" else []


class FamilyDialect:
    """What the OKX-style dialects do alike: binding, parameters, signatures and the demo header,
    refusals' codes, finding and cancelling an order, the position mode, transfers between the
    exchange's named accounts, websocket paths, login, subscriptions and the snapshot each
    subscription is answered with (`snapshot`, the dialect's), a client's passphrase and demo
    trading."""

    wire: Family
    demo: bool
    codes: Mapping[Reason, tuple[str, str]]  # a refusal's code and message
    order_keys: tuple[str, str]  # the parameters naming an order: its id, its client id
    position_modes: tuple[str, str]  # the `posMode` values: one-way, hedge
    transfer_keys: tuple[str, str, str, str]  # a transfer's from, to, coin and amount
    wallets: Mapping[str, str]  # the exchange's account names -> the core's wallets

    def bind(self, emu: Emulator) -> None:
        self.emu = emu

    @property
    def account(self) -> Account:
        return self.emu.account

    def params(self, method: str, query: Mapping[str, str], body: str) -> dict[str, Any]:
        return params(method, query, body)

    def refusal(self, refusal: Refusal) -> tuple[str, str]:
        """The code and message the exchange answers `refusal` with."""
        code, message = self.codes[refusal.reason]
        return refusal.code or code, f"{message}: {refusal.detail}"

    def _instrument(self, params: Mapping[str, Any]) -> Instrument:
        raise NotImplementedError

    def _find(self, params: Mapping[str, Any]) -> Order:
        instrument = self._instrument(params)
        by_id, by_client = self.order_keys
        order = self.account.find(params.get(by_id), params.get(by_client))
        if order is None or order.instrument is not instrument:
            raise Refusal(Reason.NOT_FOUND, "no such order")
        return order

    def _cancel_order(self, params: Mapping[str, Any]) -> Order:
        order = self._find(params)
        self.account.cancel(order.order_id, None)
        return order

    def _position_mode(self, params: Mapping[str, Any]) -> str:
        """Set the account's position mode from `posMode`; returns it."""
        mode = params.get("posMode")
        one_way, hedge = self.position_modes
        if mode not in (one_way, hedge):
            raise Refusal(Reason.INVALID, f"posMode {mode!r}")
        with unchanged_is_success():
            self.account.set_hedge_mode(mode == hedge)
        return str(mode)

    def _move(self, params: Mapping[str, Any]) -> tuple[str, Decimal]:
        """A transfer between two of the exchange's accounts; returns its coin and amount."""
        source_key, dest_key, coin_key, amount_key = self.transfer_keys
        source, dest = params.get(source_key), params.get(dest_key)
        if str(source) not in self.wallets or str(dest) not in self.wallets:
            raise Refusal(Reason.INVALID, f"transfer {source} -> {dest}")
        coin, amount = str(params.get(coin_key, "")), number(params.get(amount_key), amount_key)
        self.account.transfer(coin, amount, self.wallets[str(source)], self.wallets[str(dest)])
        return coin, amount

    def authenticate(self, call: Call) -> None:
        emu = self.emu
        check_rest(self.wire, call, emu.api_key, emu.secret, emu.password)
        check_demo(self.wire, call, self.demo)

    def ws_stream(self, path: str) -> tuple[str, bool, bool] | None:
        stream = path.removeprefix(self.wire.streams)
        if stream == path or not stream:
            return None
        return stream, stream == "private", False

    async def on_message(self, conn: Conn, message: Json | str) -> list[Json | str]:
        emu = self.emu
        keys = (emu.api_key, emu.secret, emu.password)
        replies, added = await on_message(self.wire, conn, message, keys, self.wire.topic_keys)
        for arg in added:
            replies += self.snapshot(conn, arg)
        return replies

    def snapshot(self, conn: Conn, arg: Mapping[str, Any]) -> list[Json]:
        """What the exchange pushes right after a subscription to `arg`."""
        raise NotImplementedError

    def configure(self, exchange: Any) -> Any:
        exchange.password = self.emu.password
        if self.demo:
            exchange.set_sandbox_mode(True)
        return exchange
