"""The Bitget v2 dialect (classic account): coin-futures BTCUSD (amounts in BTC, BTC collateral)
and USDT-futures BTCUSDT (amounts in BTC, USDT collateral), a spot wallet apart.

Good enough that the real `ccxt.async_support.bitget` and `ccxt.pro.bitget` work against it once
`exchange.urls['api']` points at the emulator. Same OKX-style family as OKX: signed requests with
a passphrase, `{code, msg, data}` replies ("00000" is success, HTTP 400 a refusal), a websocket
`login` op, snapshots on subscribe, and demo trading by the `PAPTRADING: 1` header.

A coin-futures order of `size` BTC adds size x fill price USD of face to the position and closes
size x entry price: the core keeps the face (an inverse instrument of 1 USD contracts) and this
dialect speaks in coin. The unified
account probe (`/api/v3/account/settings`) is answered as a classic account would be.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tests.emulators.core.account import Account
from tests.emulators.core.dialect import Answer, Call, Conn, Handler, Placed, Push
from tests.emulators.core.model import (
    DERIVATIVES,
    SPOT,
    Change,
    Execution,
    Instrument,
    Order,
    OrderSpec,
    Reason,
    Refusal,
)
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import bitget_shapes as shapes
from tests.emulators.dialects import okx_style as family
from tests.emulators.dialects.bitget_shapes import PRODUCT, envelope
from tests.emulators.dialects.okx_style import Json, number

D = Decimal
FACE_STEP = D("0.00000001")  # the core keeps a coin-futures position as its USD face
INVERSE = Instrument("BTCUSD", "inverse", "BTC", "USD", "BTC", D(1), FACE_STEP, FACE_STEP,
                     D("0.1"))  # fmt: skip
LINEAR = Instrument("BTCUSDT", "linear", "BTC", "USDT", "USDT", D(1), D("0.001"), D("0.001"),
                    D("0.1"))  # fmt: skip
COIN_STEP = D("0.001")  # both markets trade in steps of 0.001 BTC
SUB_KEYS = ("instType", "channel", "instId", "coin")
WIRE = family.Family(
    key_header="ACCESS-KEY",
    sign_header="ACCESS-SIGN",
    time_header="ACCESS-TIMESTAMP",
    passphrase_header="ACCESS-PASSPHRASE",
    demo_header="PAPTRADING",
    verify_path="/user/verify",
    auth_code="40009",
    login_reply={"event": "login", "code": 0},
    streams="/v2/ws/",
    topic_keys=SUB_KEYS,
)
CODES = {
    Reason.INVALID: ("40017", "Parameter verification failed"),
    Reason.DUPLICATE: ("40786", "Duplicate clientOid"),
    Reason.MARGIN: ("40762", "The order amount exceeds the balance"),
    Reason.REDUCE_ONLY: ("22002", "No position to close"),
    Reason.NOT_FOUND: ("40109", "The data of the order cannot be found"),
    Reason.NOT_MODIFIED: ("00000", "success"),
    Reason.POSITION_OPEN: ("40920", "Position or order exists, the position mode cannot be set"),
    Reason.BALANCE: ("43012", "Insufficient balance"),
    Reason.UNSUPPORTED: ("40054", "The request is not supported"),
    Reason.AUTH: ("40009", "sign signature error"),
}
ORDER_PATH = "/api/v2/mix/order/place-order"
WALLETS = {"spot": SPOT, "coin_futures": DERIVATIVES, "usdt_futures": DERIVATIVES}


class Bitget(family.FamilyDialect):
    exchange = "bitget"
    wire = WIRE
    instruments = (INVERSE, LINEAR)
    order_paths = frozenset({ORDER_PATH})
    wallet_paths = frozenset({"/api/v2/mix/account/accounts"})
    codes = CODES
    order_keys = ("orderId", "clientOid")
    position_modes = ("one_way_mode", "hedge_mode")
    transfer_keys = ("fromType", "toType", "coin", "amount")
    wallets = WALLETS

    def __init__(self, *, demo: bool = True) -> None:
        self.demo = demo
        self.sizes: dict[str, Decimal] = {}  # order id -> the size asked for, in coin

    # -- REST wire ----------------------------------------------------------------------------

    def public(self, path: str) -> bool:
        return "/public/" in path or "/market/" in path or path == "/api/v2/margin/currencies"

    def answer(self, result: object, call: Call) -> Answer:
        return Answer(200, envelope(result))

    def refuse(self, refusal: Refusal, call: Call) -> Answer:
        code, text = self.refusal(refusal)
        return Answer(400, envelope(None, code, text), code)

    def rate_limited(self, call: Call) -> Answer:
        return Answer(429, envelope(None, "429", "Too Many Requests"), "429")

    def summary(self, params: Mapping[str, Any]) -> Placed:
        return Placed(
            client_id=str(params.get("clientOid") or ""),
            side=str(params.get("side", "")),
            qty=number(params.get("size"), "size"),
            reduce_only=params.get("reduceOnly") == "YES",
        )

    def empty_wallet(self, result: object, coins: frozenset[str] | None) -> object:
        assert isinstance(result, list)
        return [r for r in result if coins is not None and r["marginCoin"] not in coins]

    # -- REST routes --------------------------------------------------------------------------

    def routes(self) -> Mapping[tuple[str, str], Handler]:
        v2 = "/api/v2"
        return {
            ("GET", f"{v2}/mix/market/contracts"): self._contracts,
            ("GET", f"{v2}/spot/public/symbols"): self._spot_symbols,
            ("GET", f"{v2}/spot/public/coins"): self._nothing,
            ("GET", f"{v2}/margin/currencies"): self._nothing,
            ("GET", f"{v2}/public/time"): self._time,
            ("GET", f"{v2}/mix/market/ticker"): self._ticker,
            ("GET", f"{v2}/mix/market/symbol-price"): self._ticker,
            ("GET", "/api/v3/account/settings"): self._uta_probe,
            ("GET", f"{v2}/mix/account/accounts"): self._accounts,
            ("GET", f"{v2}/mix/account/account"): self._leverage_account,
            ("GET", f"{v2}/spot/account/assets"): self._spot_assets,
            ("GET", f"{v2}/mix/position/all-position"): self._positions,
            ("POST", f"{v2}/mix/account/set-leverage"): self._set_leverage,
            ("POST", f"{v2}/mix/account/set-margin-mode"): self._set_margin_mode,
            ("POST", f"{v2}/mix/account/set-position-mode"): self._set_position_mode,
            ("POST", ORDER_PATH): self._place,
            ("GET", f"{v2}/mix/order/detail"): self._order,
            ("POST", f"{v2}/mix/order/cancel-order"): self._cancel,
            ("GET", f"{v2}/mix/account/bill"): self._bills,
            ("POST", f"{v2}/spot/wallet/transfer"): self._transfer,
        }

    def _product(self, params: Mapping[str, Any]) -> str:
        product = str(params.get("productType", ""))
        if product.upper() not in PRODUCT.values():
            raise Refusal(Reason.INVALID, f"productType {product!r}")
        return product.upper()

    def _instrument(self, params: Mapping[str, Any]) -> Instrument:
        i = self.account.instrument(str(params.get("symbol", "")))
        if PRODUCT[i.kind] != self._product(params):
            raise Refusal(Reason.INVALID, f"{i.id} is not in {params.get('productType')}")
        return i

    def _margin_coin(self, params: Mapping[str, Any], i: Instrument) -> None:
        coin = str(params.get("marginCoin", "")).upper()
        if coin != i.settle:
            raise Refusal(Reason.INVALID, f"marginCoin {coin!r} is not {i.settle}")

    async def _nothing(self, call: Call) -> object:
        return []

    async def _time(self, call: Call) -> object:
        return {"serverTime": str(shapes.now_ms())}

    async def _contracts(self, call: Call) -> object:
        product = str(call.params.get("productType", "")).upper()
        return [
            shapes.contract(i, COIN_STEP, COIN_STEP)
            for i in self.account.instruments.values()
            if PRODUCT[i.kind] == product
        ]

    async def _spot_symbols(self, call: Call) -> object:
        return [shapes.spot_symbol("BTC", "USDT")]

    async def _ticker(self, call: Call) -> object:
        return [shapes.ticker(self.account, self._instrument(call.params))]

    async def _uta_probe(self, call: Call) -> object:
        raise Refusal(Reason.UNSUPPORTED, "classic account: not a unified trading account")

    async def _accounts(self, call: Call) -> object:
        product = self._product(call.params)
        coins = sorted({i.settle for i in self.account.instruments.values()
                        if PRODUCT[i.kind] == product})  # fmt: skip
        return [shapes.futures_account(self.account, c) for c in coins]

    async def _leverage_account(self, call: Call) -> object:
        i = self._instrument(call.params)
        self._margin_coin(call.params, i)
        return shapes.leverage_account(self.account, i, self.account.hedge_mode)

    async def _spot_assets(self, call: Call) -> object:
        return shapes.spot_assets(self.account, call.params.get("coin"))

    async def _positions(self, call: Call) -> object:
        product = self._product(call.params)
        coin = str(call.params.get("marginCoin", "")).upper()
        hedge = self.account.hedge_mode
        return [
            shapes.position(self.account, i, hedge)
            for i in self.account.instruments.values()
            if PRODUCT[i.kind] == product and i.settle == coin
            and self.account.positions[i.id].size
        ]  # fmt: skip

    async def _set_leverage(self, call: Call) -> object:
        i = self._instrument(call.params)
        self._margin_coin(call.params, i)
        lever = number(call.params.get("leverage"), "leverage")
        with family.unchanged_is_success():
            self.account.set_leverage(i, lever)
        return {"symbol": i.id, "marginCoin": i.settle, "longLeverage": s_(lever),
                "shortLeverage": s_(lever), "crossMarginLeverage": s_(lever),
                "marginMode": "crossed"}  # fmt: skip

    async def _set_margin_mode(self, call: Call) -> object:
        i = self._instrument(call.params)
        mode = call.params.get("marginMode")
        if mode not in ("crossed", "isolated"):
            raise Refusal(Reason.INVALID, f"marginMode {mode!r}")
        if self.account.positions[i.id].size:
            raise Refusal(Reason.POSITION_OPEN, "margin mode with a position open", "40920")
        self.account.positions[i.id].isolated = mode == "isolated"
        return {"symbol": i.id, "marginCoin": i.settle, "marginMode": mode}

    async def _set_position_mode(self, call: Call) -> object:
        self._product(call.params)
        return {"posMode": self._position_mode(call.params)}

    async def _place(self, call: Call) -> object:
        p = call.params
        i = self._instrument(p)
        self._margin_coin(p, i)
        if p.get("marginMode") != "crossed":
            raise Refusal(Reason.INVALID, f"marginMode {p.get('marginMode')!r}")
        if self.account.hedge_mode and p.get("tradeSide") is None:
            raise Refusal(Reason.INVALID, "one-way order on a hedge-mode account", "40774")
        size = number(p.get("size"), "size")
        if size < COIN_STEP or size % COIN_STEP:
            raise Refusal(Reason.INVALID, f"size {size}: steps of {COIN_STEP}", "40808")
        kind = p.get("orderType")
        price = None if kind == "market" else number(p.get("price"), "price")
        force = str(p.get("force") or "gtc").lower()
        tif = {"ioc": "IOC", "fok": "FOK", "gtc": "GTC", "post_only": "PostOnly"}.get(force)
        if kind not in ("market", "limit") or tif is None:
            raise Refusal(Reason.INVALID, f"orderType {kind!r} force {force!r}")
        spec = OrderSpec(
            instrument=i,
            side=str(p.get("side", "")),
            qty=self._face(i, str(p.get("side", "")), size, price) if i.inverse else size,
            price=price,
            tif="IOC" if price is None else tif,
            reduce_only=p.get("reduceOnly") == "YES",
            client_id=str(p.get("clientOid") or ""),
        )
        order = self.account.place(spec)
        self.sizes[order.order_id] = size
        return {"clientOid": order.client_id, "orderId": order.order_id}

    def _face(self, i: Instrument, side: str, size: Decimal, price: Decimal | None) -> Decimal:
        """The USD face `size` coin adds (at the fill price) or closes (at the entry price)."""
        held = self.account.positions[i.id]
        closing = held.entry is not None and (held.size < 0) == (side == "buy")
        if closing:
            assert held.entry is not None
            return min(size * held.entry, abs(held.size))
        mark = self.account.mark
        marketable = price is None or (price >= mark if side == "buy" else price <= mark)
        return size * (mark if marketable else price)

    async def _order(self, call: Call) -> object:
        order = self._find(call.params)
        size = self.sizes.get(order.order_id, order.qty)
        return shapes.order(order, size, self.account.hedge_mode)

    async def _cancel(self, call: Call) -> object:
        order = self._cancel_order(call.params)
        return {"orderId": order.order_id, "clientOid": order.client_id}

    async def _bills(self, call: Call) -> object:
        p = call.params
        i = self._instrument(p)
        since = int(p.get("startTime") or 0)
        balance = self.account.wallet(DERIVATIVES, i.settle)
        rows = [
            shapes.bill(e, balance)
            for e in reversed(self.account.executions)
            if e.kind == "funding" and e.instrument is i and e.time_ms >= since
        ]
        if p.get("businessType") not in (None, "contract_settle_fee"):
            rows = []
        return {"bills": rows[: int(p.get("limit") or 100)], "endId": ""}

    async def _transfer(self, call: Call) -> object:
        self._move(call.params)
        return {"transferId": str(shapes.now_ms()), "clientOid": None}

    # -- websockets ---------------------------------------------------------------------------

    def snapshot(self, conn: Conn, arg: Mapping[str, Any]) -> list[Json]:
        channel, product = arg.get("channel"), arg.get("instType")
        account = self.account
        if channel == "ticker" and not conn.private and not self.emu.public_silent:
            i = account.instruments.get(str(arg.get("instId")))
            if i is None or PRODUCT[i.kind] != product:
                return []
            return [self._message(arg, [shapes.ticker(account, i, ws=True)], "snapshot")]
        if not conn.private or self.emu.private_silent:
            return []
        if channel == "account":
            coins = sorted({i.settle for i in account.instruments.values()
                            if PRODUCT[i.kind] == product})  # fmt: skip
            rows = [shapes.ws_account(account, c) for c in coins]
            return [self._message(arg, rows, "snapshot")]
        if channel == "positions":
            rows = [
                shapes.position(account, i, account.hedge_mode, ws=True)
                for i in account.instruments.values()
                if PRODUCT[i.kind] == product and account.positions[i.id].size
            ]
            return [self._message(arg, rows, "snapshot")]
        return []

    @staticmethod
    def _message(arg: Mapping[str, Any], data: list[Json], action: str) -> Json:
        return {"action": action, "arg": dict(arg), "data": data, "ts": shapes.now_ms()}

    def ticker_pushes(self) -> list[Push]:
        pushes = []
        for i in self.account.instruments.values():
            arg = {"instType": PRODUCT[i.kind], "channel": "ticker", "instId": i.id}
            message = self._message(arg, [shapes.ticker(self.account, i, ws=True)], "snapshot")
            pushes.append(Push(family.topic(arg, SUB_KEYS), message, private=False))
        return pushes

    def pushes(self, changes: list[Change]) -> list[Push]:
        products: set[str] = set()
        for change in changes:
            subject = change.subject
            if isinstance(subject, Instrument):
                products.add(PRODUCT[subject.kind])
            elif isinstance(subject, Order | Execution):
                products.add(PRODUCT[subject.instrument.kind])
            elif change.topic == "wallet" and subject == DERIVATIVES:
                products.update(PRODUCT.values())
        pushes = []
        account = self.account
        for product in sorted(products):
            held = [i for i in account.instruments.values() if PRODUCT[i.kind] == product]
            arg = {"instType": product, "channel": "positions", "instId": "default"}
            rows = [shapes.position(account, i, account.hedge_mode, ws=True) for i in held]
            message = self._message(arg, rows, "snapshot")
            pushes.append(Push(family.topic(arg, SUB_KEYS), message))
            arg = {"instType": product, "channel": "account", "coin": "default"}
            rows = [shapes.ws_account(account, c) for c in sorted({i.settle for i in held})]
            pushes.append(Push(family.topic(arg, SUB_KEYS), self._message(arg, rows, "snapshot")))
        return pushes

    # -- ccxt ---------------------------------------------------------------------------------

    def ccxt_urls(self, rest: str, ws: str) -> dict[str, Any]:
        sections = ("spot", "mix", "user", "p2p", "broker", "margin", "common", "tax",
                    "convert", "copy", "earn", "uta")  # fmt: skip
        urls: dict[str, Any] = dict.fromkeys(sections, rest)
        streams = {
            "public": f"{ws}/v2/ws/public",
            "private": f"{ws}/v2/ws/private",
            "utaPublic": f"{ws}/v3/ws/public",
            "utaPrivate": f"{ws}/v3/ws/private",
        }
        urls["ws"] = streams
        urls["demo"] = dict(streams)
        return urls

    def configure(self, exchange: Any) -> Any:
        super().configure(exchange)
        exchange.options["uta"] = False
        return exchange


def s_(value: Decimal) -> str:
    return family.s(value)


class ClassicAccount(Account):
    """A classic Bitget account: the spot wallet and the futures accounts apart. The BTC held
    (`start`'s, and the emulator's own deposits and withdrawals: its control, not Bitget's API)
    sits in `holding`: the futures account for a coin-futures hedge (the coin is the collateral),
    the spot wallet for a USDT-futures one; every other coin is in the futures account."""

    def __init__(self, start: Account, holding: str = DERIVATIVES) -> None:
        super().__init__(unified=False, price=start.mark, balances={}, taker_fee=start.taker_fee,
                         leverage=start.start_leverage, maintenance=start.maintenance)  # fmt: skip
        self.holding = holding
        for coin, amount in next(iter(start.wallets.values())).items():
            self.wallets[holding if coin == "BTC" else DERIVATIVES][coin] = amount

    @property
    def spot_wallet(self) -> str:
        return self.holding


def emulator(
    account: Account | None = None, *, demo: bool = True, holding: str = DERIVATIVES, **keys: str
) -> Emulator:
    """An emulated Bitget classic account (not started), demo trading: `account`'s price, fees,
    leverage and starting balances (default 1 BTC + 10,000 USDT, BTC at 65,000, leverage 10),
    the BTC in `holding` (the futures account, or SPOT), the rest in the futures account."""
    return Emulator(Bitget(demo=demo), ClassicAccount(account or Account(), holding), **keys)


def linear_emulator(account: Account | None = None) -> Emulator:
    """The BTC held in the spot wallet, USDT collateral in the USDT-futures account."""
    return emulator(account, holding=SPOT)


__all__ = ["INVERSE", "LINEAR", "Bitget", "ClassicAccount", "emulator", "linear_emulator"]
