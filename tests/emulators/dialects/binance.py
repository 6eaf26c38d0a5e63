"""The Binance dialect: COIN-M (dapi, BTCUSD_PERP, 100 USD contracts, BTC margin) or USDⓈ-M
(fapi, BTCUSDT, 0.001 BTC steps, USDT margin), with the spot wallet and universal transfers.

Good enough that the real `ccxt.async_support.binancecoinm` / `binanceusdm` / `binance` and their
ccxt.pro classes work against it once their `urls['api']` point here (`Emulator.configure`).
Binance keeps spot and futures wallets apart, so the account is a split one (`Account(unified=
False)`): SPOT is MAIN, DERIVATIVES the family's futures wallet. Requests are signed as Binance
signs them (HMAC-SHA256 of the query string or form body, `signature` last, key in X-MBX-APIKEY);
errors are `{"code": -NNNN, "msg": ...}` with HTTP 400 (429 for the rate limit). Streams:
- market `/ws/<n>` (COIN-M) or `/market/ws/<n>` (USDⓈ-M): SUBSCRIBE `<symbol>@markPrice@1s`,
  a markPriceUpdate after every price change;
- futures user data on a listenKey (`POST .../listenKey`, kept alive with PUT): `/ws/<key>`
  (COIN-M) or `/private/ws?listenKey=<key>` (USDⓈ-M), pushing ORDER_TRADE_UPDATE for each
  order change and ACCOUNT_UPDATE (`B` wallets; `P` positions, only when a trade moved them:
  a funding fee or a transfer pushes the wallet alone, as Binance does);
- spot user data over the WebSocket API (`/ws-api/v3`, `userDataStream.subscribe.signature`):
  outboundAccountPosition after every spot wallet change.
`expire_listen_keys()` lets a test see what an expired listenKey does to a client.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from tests.emulators.core.account import Account
from tests.emulators.core.dialect import Answer, Call, Conn, Placed, Push
from tests.emulators.core.model import (
    DERIVATIVES,
    SPOT,
    UNIFIED,
    Change,
    Execution,
    Instrument,
    Order,
    Reason,
    Refusal,
    now_ms,
)
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import binance_shapes as shapes
from tests.emulators.dialects.binance_rest import BinanceRest, number
from tests.emulators.dialects.binance_shapes import Json

D = Decimal
COINM = Instrument(shapes.COINM_ID, "inverse", "BTC", "USD", "BTC", shapes.COINM_CONTRACT, D(1),
                   D(1), shapes.TICK)  # fmt: skip
USDM = Instrument(shapes.USDM_ID, "linear", "BTC", "USDT", "USDT", D(1), shapes.USDM_STEP,
                  shapes.USDM_STEP, shapes.TICK)  # fmt: skip
CODES = {
    Reason.INVALID: "-1100",
    Reason.DUPLICATE: "-4116",
    Reason.MARGIN: "-2019",
    Reason.REDUCE_ONLY: "-2022",
    Reason.NOT_FOUND: "-2013",
    Reason.NOT_MODIFIED: "-4059",
    Reason.POSITION_OPEN: "-4068",
    Reason.BALANCE: "-5013",
    Reason.UNSUPPORTED: "-9000",
    Reason.AUTH: "-2015",
}
PUBLIC = ("/exchangeInfo", "/premiumIndex", "/time")
USER, SPOT_USER = "user", "spot-user"
REST_PATHS = {
    "sapi": "/sapi/v1", "sapiV2": "/sapi/v2", "sapiV3": "/sapi/v3", "sapiV4": "/sapi/v4",
    "dapiPublic": "/dapi/v1", "dapiPrivate": "/dapi/v1", "dapiPrivateV2": "/dapi/v2",
    "dapiData": "/futures/data", "fapiPublic": "/fapi/v1", "fapiPublicV2": "/fapi/v2",
    "fapiPublicV3": "/fapi/v3", "fapiPrivate": "/fapi/v1", "fapiPrivateV2": "/fapi/v2",
    "fapiPrivateV3": "/fapi/v3", "fapiData": "/futures/data", "public": "/api/v3",
    "private": "/api/v3", "v1": "/api/v1", "papi": "/papi/v1", "papiV2": "/papi/v2",
    "eapiPublic": "/eapi/v1", "eapiPrivate": "/eapi/v1",
}  # fmt: skip


def compact(body: Json) -> str:
    """Binance's error bodies are compact JSON: `{"code":-2019,"msg":"Margin is insufficient."}`."""
    return json.dumps(body, separators=(",", ":"))


class BinanceFutures(BinanceRest):
    """One futures family (`kind` "inverse" or "linear") with the account's spot wallet."""

    order_paths: frozenset[str]
    order_methods = frozenset({"POST"})  # GET looks up and DELETE cancels on the same path
    wallet_paths: frozenset[str]

    def __init__(self, kind: str = "inverse", *, demo: bool = False) -> None:
        if kind not in ("inverse", "linear"):
            raise ValueError(f"kind must be inverse or linear, not {kind!r}")
        self.kind, self.demo = kind, demo
        self.exchange = "binanceusdm" if kind == "linear" else "binancecoinm"
        self.instruments = (USDM,) if kind == "linear" else (COINM,)
        self.funding_rate = D("0.0001")
        prefix = "/fapi" if kind == "linear" else "/dapi"
        self.order_paths = frozenset({f"{prefix}/v1/order"})
        account = "/fapi/v3/account" if kind == "linear" else "/dapi/v1/account"
        self.wallet_paths = frozenset({account, "/api/v3/account"})
        self._ids()

    def bind(self, emu: Emulator) -> None:
        self.emu = emu

    # -- REST wire ----------------------------------------------------------------------------

    def params(self, method: str, query: Mapping[str, str], body: str) -> dict[str, Any]:
        found = dict(query)
        if method in ("POST", "PUT"):
            found.update(parse_qsl(body, keep_blank_values=True))
        return found

    def public(self, path: str) -> bool:
        return path.endswith(PUBLIC)

    def authenticate(self, call: Call) -> None:
        if call.headers.get("X-MBX-APIKEY", "") != self.emu.api_key:
            raise Refusal(Reason.AUTH, "Invalid API-key, IP, or permissions for action.", "-2015")
        if call.path.endswith("/listenKey"):
            return  # the key alone, as Binance's user-data endpoints take it
        if "timestamp" not in call.params or not shapes.signature_ok(call.raw, self.emu.secret):
            raise Refusal(Reason.AUTH, "Signature for this request is not valid.", "-1022")

    def answer(self, result: object, call: Call) -> Answer:
        return Answer(200, result)  # type: ignore[arg-type]

    def refuse(self, refusal: Refusal, call: Call) -> Answer:
        code = refusal.code or CODES[refusal.reason]
        status = 401 if refusal.reason is Reason.AUTH else 400
        message = shapes.ERRORS.get(int(code), refusal.detail)
        return Answer(status, compact(shapes.error(int(code), message)), code)

    def rate_limited(self, call: Call) -> Answer:
        return Answer(429, compact(shapes.error(-1003, shapes.ERRORS[-1003])), "-1003")

    def summary(self, params: Mapping[str, Any]) -> Placed:
        return Placed(
            client_id=str(params.get("newClientOrderId") or ""),
            side=str(params.get("side", "")).lower(),
            qty=number(params.get("quantity"), "quantity"),
            reduce_only=str(params.get("reduceOnly", "false")).lower() == "true",
        )

    def empty_wallet(self, result: object, coins: frozenset[str] | None) -> object:
        assert isinstance(result, dict)
        key, name = ("balances", "asset") if "balances" in result else ("assets", "asset")
        result[key] = [r for r in result[key] if coins is not None and r[name] not in coins]
        return result

    # -- control ------------------------------------------------------------------------------

    async def expire_listen_keys(self) -> None:
        """What Binance does after 60 minutes without a keep-alive: a listenKeyExpired event,
        then the key is gone (a connection with it is refused; POST listenKey makes a new one)."""
        stamp = now_ms()
        for key in list(self.listen_keys):
            for conn in [c for c in self.emu.conns if c.stream == USER]:
                await conn.ws.send_json(shapes.listen_key_expired(stamp, key))
                await conn.ws.close()
        self.listen_keys.clear()

    # -- websockets ---------------------------------------------------------------------------

    def ws_stream(self, path: str) -> tuple[str, bool, bool] | None:
        if path == "/ws-api/v3":
            return SPOT_USER, True, False
        head, _, last = path.rpartition("/")
        if self.linear:
            if path == "/private/ws":  # the listenKey travels in the query string
                return (USER, True, True) if self.listen_keys else None
            return ("market", False, False) if head in ("/market/ws", "/public/ws") else None
        if head != "/ws":
            return None
        if last in self.listen_keys:
            return USER, True, True
        return ("market", False, False) if last.isdigit() else None

    async def on_message(self, conn: Conn, message: Json) -> list[Json]:
        method, request_id = message.get("method"), message.get("id")
        if conn.stream == SPOT_USER:
            if method != "userDataStream.subscribe.signature":
                return [{"id": request_id, "status": 400,
                         "error": {"code": -1100, "msg": f"unknown method {method}"}}]  # fmt: skip
            conn.authed = self._ws_api_signed(message.get("params") or {})
            if not conn.authed:
                return [{"id": request_id, "status": 401,
                         "error": {"code": -1022, "msg": shapes.ERRORS[-1022]}}]  # fmt: skip
            conn.topics.add(SPOT_USER)
            return [shapes.ws_api_reply(str(request_id), {"subscriptionId": 0})]
        if conn.private or method not in ("SUBSCRIBE", "UNSUBSCRIBE"):
            return []
        streams = [str(s) for s in message.get("params") or []]
        if method == "SUBSCRIBE":
            conn.topics.update(streams)
        else:
            conn.topics.difference_update(streams)
        return [{"result": None, "id": request_id}]

    def _ws_api_signed(self, params: Mapping[str, Any]) -> bool:
        if params.get("apiKey") != self.emu.api_key:
            return False
        signed = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")
        want = hmac.new(self.emu.secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(want, str(params.get("signature", "")))

    def ticker_pushes(self) -> list[Push]:
        account, stamp = self.emu.account, now_ms()
        pushes = []
        for i in account.instruments.values():
            next_funding = stamp + 28_800_000
            message = shapes.mark_price_update(i.id, account.mark, account.index,
                                               self.funding_rate, next_funding, stamp)  # fmt: skip
            for topic in (f"{i.id.lower()}@markPrice@1s", f"{i.id.lower()}@markPrice"):
                pushes.append(Push(topic, message, private=False, stream="market"))
        return pushes

    def pushes(self, changes: list[Change]) -> list[Push]:
        for conn in self.emu.conns:  # a listenKey connection carries the user stream unasked
            if conn.stream == USER:
                conn.topics.add(USER)
        orders: dict[str, Order] = {}
        trades: dict[str, list[Execution]] = {}
        moved: dict[str, Instrument] = {}
        funded = False
        wallets: set[str] = set()
        for change in changes:
            subject = change.subject
            if isinstance(subject, Order):
                orders[subject.order_id] = subject
            elif isinstance(subject, Execution):
                if subject.kind == "funding":
                    funded = True
                    continue
                moved[subject.instrument.id] = subject.instrument
                if subject.order is not None:
                    trades.setdefault(subject.order.order_id, []).append(subject)
            elif change.topic == "wallet":
                wallets.add(str(subject))
        stamp = now_ms()
        pushes = [Push(USER, self._order_update(o, trades.get(o.order_id, []), stamp))
                  for o in orders.values()]  # fmt: skip
        if DERIVATIVES in wallets or moved:
            reason = "ORDER" if moved else "FUNDING_FEE" if funded else "DEPOSIT"
            pushes.append(Push(USER, self._account_update(reason, list(moved.values()), stamp)))
        if SPOT in wallets:
            balances = [(c, v, D(0)) for c, v in self.emu.account.wallets[SPOT].items()]
            event = shapes.outbound_account_position(stamp, balances)
            pushes.append(Push(SPOT_USER, shapes.ws_api_event(0, event)))
        return pushes

    def _order_update(self, order: Order, fills: list[Execution], stamp: int) -> Json:
        row = self.row(order)
        if fills:
            last = fills[-1]
            execution = "TRADE"
            fee = sum((f.fee for f in fills), D(0))
            last_qty, last_price = sum((f.qty for f in fills), D(0)), last.price
        else:
            execution = {"FILLED": "TRADE", "PARTIALLY_FILLED": "TRADE"}.get(row.status,
                                                                            row.status)  # fmt: skip
            fee, last_qty, last_price = D(0), D(0), D(0)
        settle = order.instrument.settle
        return shapes.order_trade_update(self.linear, row, last_qty, last_price, fee, settle,
                                         execution, stamp)  # fmt: skip

    def _account_update(self, reason: str, moved: list[Instrument], stamp: int) -> Json:
        account = self.emu.account
        coins = sorted({i.settle for i in account.instruments.values()})
        wallets = [(c, account.wallet(DERIVATIVES, c)) for c in coins]
        positions = []
        for i in moved:
            p = account.positions[i.id]
            upl = i.pnl(p.size, p.entry, account.mark) if p.entry else D(0)
            positions.append((i.id, p.size, p.entry or D(0), upl, p.isolated))
        return shapes.account_update(reason, stamp, wallets, positions)

    # -- ccxt ---------------------------------------------------------------------------------

    def ccxt_urls(self, rest: str, ws: str) -> dict[str, Any]:
        urls: dict[str, Any] = {name: rest + path for name, path in REST_PATHS.items()}
        base = {k: f"{ws}/ws" for k in ("spot", "margin", "linear", "inverse")}
        urls["ws"] = {**base, "ws-api": {"spot": f"{ws}/ws-api/v3", "linear": f"{ws}/ws-fapi/v1",
                                         "inverse": f"{ws}/ws-dapi/v1"},
                      "papi": f"{ws}/pm/ws"}  # fmt: skip
        return urls

    def configure(self, exchange: Any) -> Any:
        return exchange


class BinanceEmulator(Emulator):
    """The core emulator; `funds` is the wallet `deposit` and `withdraw` use when none is named
    (None: spot, as on Binance). The conformance table sets the COIN-M wallet there, where a
    coin-margined hedge's coin counts and pays, as a unified account's does elsewhere."""

    funds: str | None = None

    async def deposit(self, coin: str, amount: Decimal, wallet: str | None = None) -> None:
        await super().deposit(coin, amount, wallet or self.funds)

    async def withdraw(self, coin: str, amount: Decimal, wallet: str | None = None) -> None:
        await super().withdraw(coin, amount, wallet or self.funds)


def binance_account(**overrides: Any) -> Account:
    """Spot 1 BTC + 10,000 USDT, futures wallets empty, BTC at 65,000, leverage 20 (Binance's
    default), taker fee 0.05 %."""
    settings: dict[str, Any] = {"unified": False, "taker_fee": D("0.0005"), "leverage": D(20)}
    return Account(**{**settings, **overrides})


def emulator(kind: str = "inverse", account: Account | None = None, *, demo: bool = False,
             **keys: str) -> BinanceEmulator:  # fmt: skip
    """An emulated Binance futures family with its spot wallet (not started)."""
    dialect = BinanceFutures(kind, demo=demo)
    return BinanceEmulator(dialect, account or binance_account(), **keys)


def conformance(kind: str) -> Callable[[Account], Emulator]:
    """The conformance table's factory: its (unified) starting balances laid out as Binance
    keeps them. The margin coin (BTC for COIN-M, USDT for USDⓈ-M) starts in the futures wallet,
    the rest in spot; on COIN-M deposits and withdrawals go to the COIN-M wallet."""

    def make(start: Account) -> Emulator:
        balances = dict(start.wallets[UNIFIED])
        account = binance_account(price=start.mark, balances=balances)
        margin = "BTC" if kind == "inverse" else "USDT"
        if balances.get(margin):
            account.transfer(margin, balances[margin], SPOT, DERIVATIVES)
        emu = emulator(kind, account)
        emu.funds = DERIVATIVES if kind == "inverse" else None
        return emu

    return make


__all__ = ["COINM", "USDM", "BinanceEmulator", "BinanceFutures", "binance_account", "conformance",
           "emulator"]  # fmt: skip
