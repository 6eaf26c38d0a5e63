"""The OKX v5 dialect: inverse BTC-USD-SWAP (100 USD contracts, BTC collateral) and linear
BTC-USDT-SWAP (0.01 BTC contracts, USDT collateral) on a unified trading account, with the
funding account beside it.

Good enough that the real `ccxt.async_support.okx` and `ccxt.pro.okx` work against it once
`exchange.urls['api']` points at the emulator. Requests are signature- and passphrase-checked
(the OKX-style family), demo trading answers only requests with `x-simulated-trading: 1`, orders
go through `/trade/batch-orders` with per-item `sCode` errors, an unchanged setting succeeds, the
account level (`acct_level`) "1" refuses swap orders with 51010, and websockets push a snapshot
on every subscribe (`mark-price`, `account`, `positions`), then after every change.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tests.emulators.core.account import Account
from tests.emulators.core.dialect import Answer, Call, Conn, Handler, Placed, Push
from tests.emulators.core.model import (
    UNIFIED,
    Change,
    Execution,
    Instrument,
    Order,
    OrderSpec,
    Reason,
    Refusal,
    now_ms,
)
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import okx_shapes as shapes
from tests.emulators.dialects import okx_style as family
from tests.emulators.dialects.okx_shapes import FUNDING, envelope
from tests.emulators.dialects.okx_style import Json, number

D = Decimal
INVERSE = Instrument("BTC-USD-SWAP", "inverse", "BTC", "USD", "BTC", D(100), D(1), D(1), D("0.1"))
LINEAR = Instrument("BTC-USDT-SWAP", "linear", "BTC", "USDT", "USDT", D("0.01"), D(1), D(1),
                    D("0.1"))  # fmt: skip
SUB_KEYS = ("channel", "instId")
WIRE = family.Family(
    key_header="OK-ACCESS-KEY",
    sign_header="OK-ACCESS-SIGN",
    time_header="OK-ACCESS-TIMESTAMP",
    passphrase_header="OK-ACCESS-PASSPHRASE",
    demo_header="x-simulated-trading",
    verify_path="/users/self/verify",
    auth_code="50113",
    login_reply={"event": "login", "code": "0", "msg": ""},
    streams="/ws/v5/",
    topic_keys=SUB_KEYS,
)
CODES = {
    Reason.INVALID: ("51000", "Parameter error"),
    Reason.DUPLICATE: ("51016", "Duplicated clOrdId"),
    Reason.MARGIN: ("51008", "Order failed. Insufficient USDT margin in account"),
    Reason.REDUCE_ONLY: ("51169", "Order failed because you don't have any positions to reduce"),
    Reason.NOT_FOUND: ("51603", "Order does not exist"),
    Reason.NOT_MODIFIED: ("0", ""),
    Reason.POSITION_OPEN: ("59000", "Settings failed. Close any open positions or orders"),
    Reason.BALANCE: ("58350", "Insufficient balance"),
    Reason.UNSUPPORTED: ("51010", "Operation is not supported under the current account mode"),
    Reason.AUTH: ("50113", "Invalid Sign"),
}
ORDER_PATH = "/api/v5/trade/batch-orders"
ACCOUNT_IDS = {"6": FUNDING, "18": UNIFIED}


class Okx(family.FamilyDialect):
    exchange = "okx"
    wire = WIRE
    instruments = (INVERSE, LINEAR)
    order_paths = frozenset({ORDER_PATH})
    wallet_paths = frozenset({"/api/v5/account/balance"})
    codes = CODES
    order_keys = ("ordId", "clOrdId")
    position_modes = ("net_mode", "long_short_mode")
    transfer_keys = ("from", "to", "ccy", "amt")
    wallets = ACCOUNT_IDS

    def __init__(self, *, demo: bool = True, acct_level: str = "2") -> None:
        """`demo`: a demo-trading account (requests must carry the demo header)."""
        self.demo = demo
        self.acct_level = acct_level
        self.uid = "44705892343619584"

    def bind(self, emu: Emulator) -> None:
        super().bind(emu)
        emu.account.wallets.setdefault(FUNDING, {})

    # -- REST wire ----------------------------------------------------------------------------

    def public(self, path: str) -> bool:
        return path.startswith(("/api/v5/public/", "/api/v5/market/"))

    def answer(self, result: object, call: Call) -> Answer:
        if call.path == ORDER_PATH and isinstance(result, list):
            failed = [r for r in result if r.get("sCode") != "0"]
            if failed:
                code = str(failed[0]["sCode"])
                return Answer(200, envelope(result, "1", "All operations failed"), code)
        return Answer(200, envelope(result))

    def refuse(self, refusal: Refusal, call: Call) -> Answer:
        code, text = self.refusal(refusal)
        if call.path == ORDER_PATH:
            client_id = self._client_id(call.params)
            body = envelope([shapes.failed(client_id, code, text)], "1", "All operations failed")
            return Answer(200, body, code)
        status = 401 if refusal.reason is Reason.AUTH else 200
        return Answer(status, envelope([], code, text), code)

    def rate_limited(self, call: Call) -> Answer:
        return Answer(429, envelope([], "50011", "Too Many Requests"), "50011")

    @staticmethod
    def _items(params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        items = params.get("items")
        if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
            raise Refusal(Reason.INVALID, "batch-orders takes one order here")
        return items

    def _client_id(self, params: Mapping[str, Any]) -> str:
        try:
            return str(self._items(params)[0].get("clOrdId") or "")
        except Refusal:
            return ""

    def summary(self, params: Mapping[str, Any]) -> Placed:
        item = self._items(params)[0]
        return Placed(
            client_id=str(item.get("clOrdId") or ""),
            side=str(item.get("side", "")),
            qty=number(item.get("sz"), "sz"),
            reduce_only=item.get("reduceOnly") in (True, "true"),
        )

    def empty_wallet(self, result: object, coins: frozenset[str] | None) -> object:
        assert isinstance(result, list)
        for row in result:
            row["details"] = [
                d for d in row["details"] if coins is not None and d["ccy"] not in coins
            ]
        return result

    # -- REST routes --------------------------------------------------------------------------

    def routes(self) -> Mapping[tuple[str, str], Handler]:
        v5 = "/api/v5"
        return {
            ("GET", f"{v5}/public/instruments"): self._instruments,
            ("GET", f"{v5}/public/mark-price"): self._mark_price,
            ("GET", f"{v5}/market/ticker"): self._ticker,
            ("GET", f"{v5}/public/time"): self._time,
            ("GET", f"{v5}/asset/currencies"): self._currencies,
            ("GET", f"{v5}/account/config"): self._config,
            ("GET", f"{v5}/account/balance"): self._balance,
            ("GET", f"{v5}/asset/balances"): self._funding,
            ("GET", f"{v5}/account/positions"): self._positions,
            ("GET", f"{v5}/account/leverage-info"): self._leverage_info,
            ("POST", f"{v5}/account/set-leverage"): self._set_leverage,
            ("POST", f"{v5}/account/set-position-mode"): self._set_position_mode,
            ("POST", ORDER_PATH): self._batch_orders,
            ("GET", f"{v5}/trade/order"): self._order,
            ("POST", f"{v5}/trade/cancel-order"): self._cancel,
            ("GET", f"{v5}/account/bills-archive"): self._bills_archive,
            ("GET", f"{v5}/account/bills"): self._bills_archive,
            ("POST", f"{v5}/asset/transfer"): self._transfer,
        }

    def _instrument(self, params: Mapping[str, Any]) -> Instrument:
        return self.account.instrument(str(params.get("instId", "")))

    async def _instruments(self, call: Call) -> object:
        kind = call.params.get("instType")
        if kind == "SWAP":
            return [shapes.instrument(i) for i in self.account.instruments.values()]
        if kind == "SPOT":
            return [shapes.spot_instrument("BTC", "USDT")]
        return []

    async def _mark_price(self, call: Call) -> object:
        found = self.account.instruments.values()
        wanted = call.params.get("instId")
        return [shapes.mark_price(self.account, i) for i in found if wanted in (None, i.id)]

    async def _ticker(self, call: Call) -> object:
        return [shapes.ticker(self.account, self._instrument(call.params))]

    async def _time(self, call: Call) -> object:
        return [{"ts": str(now_ms())}]

    async def _currencies(self, call: Call) -> object:
        return []

    async def _config(self, call: Call) -> object:
        return [shapes.account_config(self.uid, self.acct_level, self.account.hedge_mode)]

    async def _balance(self, call: Call) -> object:
        coins = call.params.get("ccy")
        return [shapes.balance(self.account, coins.split(",") if coins else None)]

    async def _funding(self, call: Call) -> object:
        coins = call.params.get("ccy")
        return shapes.funding_balances(self.account, coins.split(",") if coins else None)

    async def _positions(self, call: Call) -> object:
        wanted = str(call.params.get("instId") or "").split(",")
        return [
            shapes.position(self.account, i)
            for i in self.account.instruments.values()
            if self.account.positions[i.id].size and (wanted == [""] or i.id in wanted)
        ]

    async def _leverage_info(self, call: Call) -> object:
        mode = str(call.params.get("mgnMode", ""))
        if mode not in ("cross", "isolated"):
            raise Refusal(Reason.INVALID, f"mgnMode {mode!r}")
        return shapes.leverage_info(self.account, self._instrument(call.params), mode)

    async def _set_leverage(self, call: Call) -> object:
        p = call.params
        instrument = self._instrument(p)
        if p.get("mgnMode") != "cross":
            raise Refusal(Reason.INVALID, "the emulator keeps cross margin only")
        with family.unchanged_is_success():
            self.account.set_leverage(instrument, number(p.get("lever"), "lever"))
        return [{"instId": instrument.id, "lever": str(p.get("lever")), "mgnMode": "cross",
                 "posSide": "net"}]  # fmt: skip

    async def _set_position_mode(self, call: Call) -> object:
        return [{"posMode": self._position_mode(call.params)}]

    async def _batch_orders(self, call: Call) -> object:
        item = self._items(call.params)[0]
        if self.acct_level == "1":
            raise Refusal(Reason.UNSUPPORTED, "account mode Spot")
        if item.get("tdMode") != "cross":
            raise Refusal(Reason.INVALID, f"tdMode {item.get('tdMode')!r}")
        if self.account.hedge_mode and item.get("posSide") in (None, "", "net"):
            raise Refusal(Reason.INVALID, "posSide required in long/short mode", "51000")
        kind = item.get("ordType")
        price = None if kind == "market" else number(item.get("px"), "px")
        tif = {"market": "IOC", "ioc": "IOC", "fok": "FOK", "limit": "GTC"}.get(str(kind))
        if tif is None:
            raise Refusal(Reason.INVALID, f"ordType {kind!r}")
        spec = OrderSpec(
            instrument=self._instrument(item),
            side=str(item.get("side", "")),
            qty=number(item.get("sz"), "sz"),
            price=price,
            tif=tif,
            reduce_only=item.get("reduceOnly") in (True, "true"),
            client_id=str(item.get("clOrdId") or ""),
        )
        return [shapes.placed(self.account.place(spec))]

    async def _order(self, call: Call) -> object:
        return [shapes.order(self._find(call.params))]

    async def _cancel(self, call: Call) -> object:
        order = self._cancel_order(call.params)
        return [{"clOrdId": order.client_id, "ordId": order.order_id, "sCode": "0", "sMsg": ""}]

    async def _bills_archive(self, call: Call) -> object:
        p = call.params
        if str(p.get("type", "")) != "8":
            return []
        coin = p.get("ccy")
        rows = []
        running = {c: self.account.wallet(UNIFIED, c) for c in self.account.wallets[UNIFIED]}
        for n, e in enumerate(reversed(self.account.executions)):
            if e.kind != "funding" or coin not in (None, e.instrument.settle):
                continue
            if p.get("ctType") not in (None, e.instrument.kind):
                continue
            rows.append(shapes.bill(e, running.get(e.instrument.settle, D(0)), n))
        return rows[: int(p.get("limit") or 100)]

    async def _transfer(self, call: Call) -> object:
        p = call.params
        if str(p.get("type", "0")) != "0":  # within the account, not to or from a sub-account
            raise Refusal(Reason.INVALID, f"transfer {p.get('from')} -> {p.get('to')}")
        coin, _ = self._move(p)
        return [{"transId": str(now_ms()), "ccy": coin, "clientId": "", "from": p.get("from"),
                 "amt": p.get("amt"), "to": p.get("to")}]  # fmt: skip

    # -- websockets ---------------------------------------------------------------------------

    def snapshot(self, conn: Conn, arg: Mapping[str, Any]) -> list[Json]:
        """What OKX pushes right after a subscribe: the current state of that channel."""
        channel, inst_id = arg.get("channel"), arg.get("instId")
        account = self.account
        if channel == "mark-price" and not conn.private and not self.emu.public_silent:
            i = account.instruments.get(str(inst_id))
            return [] if i is None else [self._message(arg, [shapes.mark_price(account, i)])]
        if channel == "tickers" and not conn.private and not self.emu.public_silent:
            i = account.instruments.get(str(inst_id))
            return [] if i is None else [self._message(arg, [shapes.ticker(account, i)])]
        if not conn.private or self.emu.private_silent:
            return []
        if channel == "account":
            return [self._message(arg, [shapes.balance(account)], "snapshot")]
        if channel == "positions":
            held = [i for i in account.instruments.values()
                    if account.positions[i.id].size and inst_id in (None, i.id)]  # fmt: skip
            rows = [shapes.position(account, i) for i in held]
            return [self._message(arg, rows, "snapshot")]
        return []

    @staticmethod
    def _message(arg: Mapping[str, Any], data: list[Json], event: str | None = None) -> Json:
        message: Json = {"arg": dict(arg), "data": data}
        if event is not None:
            message["eventType"] = event
        return message

    def ticker_pushes(self) -> list[Push]:
        pushes = []
        for i in self.account.instruments.values():
            for channel, row in (("mark-price", shapes.mark_price(self.account, i)),
                                 ("tickers", shapes.ticker(self.account, i))):  # fmt: skip
                arg = {"channel": channel, "instId": i.id}
                topic = family.topic(arg, SUB_KEYS)
                pushes.append(Push(topic, self._message(arg, [row]), private=False))
        return pushes

    def pushes(self, changes: list[Change]) -> list[Push]:
        contracts: dict[str, Instrument] = {}
        wallet = False
        for change in changes:
            subject = change.subject
            if isinstance(subject, Instrument):
                contracts[subject.id] = subject
            elif isinstance(subject, Order):
                contracts[subject.instrument.id] = subject.instrument
                wallet = True
            elif isinstance(subject, Execution) or subject == UNIFIED:
                wallet = True
        pushes = []
        for i in contracts.values():
            arg = {"channel": "positions", "instType": "ANY", "instId": i.id}
            message = self._message(arg, [shapes.position(self.account, i)], "event_update")
            pushes.append(Push(family.topic(arg, SUB_KEYS), message))
        if wallet or contracts:
            arg = {"channel": "account", "uid": self.uid}
            message = self._message(arg, [shapes.balance(self.account)], "event_update")
            pushes.append(Push(family.topic({"channel": "account"}, SUB_KEYS), message))
        return pushes

    # -- ccxt ---------------------------------------------------------------------------------

    def ccxt_urls(self, rest: str, ws: str) -> dict[str, Any]:
        return {"rest": rest, "ws": f"{ws}/ws/v5"}

    def configure(self, exchange: Any) -> Any:
        super().configure(exchange)
        if self.demo:
            exchange.urls["api"] = self.ccxt_urls(self.emu.rest_url, self.emu.ws_url)
        return exchange


def emulator(account: Account | None = None, *, demo: bool = True, **keys: str) -> Emulator:
    """An emulated OKX (not started): a unified trading account with 1 BTC + 10,000 USDT, an
    empty funding account, BTC at 65,000, leverage 10, demo trading."""
    return Emulator(Okx(demo=demo), account, **keys)


__all__ = ["INVERSE", "LINEAR", "Okx", "emulator"]
