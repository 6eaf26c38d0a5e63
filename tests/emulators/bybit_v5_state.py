"""The account the Bybit v5 emulator keeps: wallets, one inverse position, orders, executions.

No I/O here: the server module turns requests into calls on `Account` and the `Change`s it
records into websocket pushes. Inverse arithmetic (contract size K in USD, PnL and fees in the
base coin): unrealised PnL = q * K * (1/entry - 1/mark) for signed q; initial margin at leverage L
= |q| * K / (entry * L); Bybit's cost to open at 1x = initial margin + the opening fee.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)
INVERSE_SYMBOL = "BTCUSD"
CONTRACT_SIZE = Decimal(1)
QTY_STEP = Decimal(1)
MIN_QTY = Decimal(1)
TICK = Decimal("0.5")
SATOSHI = Decimal("0.00000001")


class BybitError(Exception):
    """A request the emulated exchange refuses: becomes `{"retCode": code, "retMsg": msg}`."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Order:
    order_id: str
    link_id: str
    symbol: str
    side: str  # "Buy" | "Sell"
    order_type: str  # "Market" | "Limit"
    qty: Decimal
    price: Decimal | None
    tif: str  # "GTC" | "IOC" | "FOK" | "PostOnly"
    reduce_only: bool
    created_ms: int
    status: str = "New"
    cum_qty: Decimal = ZERO
    cum_value: Decimal = ZERO  # in BTC for inverse: sum(qty * K / price)
    cum_fee: Decimal = ZERO
    updated_ms: int = 0
    reject_reason: str = "EC_NoError"

    @property
    def open(self) -> bool:
        return self.status in ("New", "PartiallyFilled")

    @property
    def avg_price(self) -> Decimal | None:
        if self.cum_qty == 0:
            return None
        return self.cum_qty * CONTRACT_SIZE / self.cum_value


@dataclass
class Execution:
    exec_id: str
    order: Order | None
    symbol: str
    side: str
    exec_type: str  # "Trade" | "Funding"
    qty: Decimal
    price: Decimal
    value: Decimal
    fee: Decimal  # positive: paid
    fee_rate: Decimal
    closed_size: Decimal
    time_ms: int


@dataclass
class Position:
    size: Decimal = ZERO  # signed contracts, short < 0
    entry: Decimal | None = None
    leverage: Decimal = Decimal(1)
    trade_mode: int = 0  # 0 cross, 1 isolated (classic accounts)
    cur_realised: Decimal = ZERO
    cum_realised: Decimal = ZERO
    created_ms: int = field(default_factory=now_ms)
    updated_ms: int = field(default_factory=now_ms)
    seq: int = 1


@dataclass(frozen=True)
class Change:
    """Something a private stream reports: topic and the object it concerns."""

    topic: str  # "order" | "execution" | "position" | "wallet"
    subject: object = None


class Account:
    """A unified (UTA: one UNIFIED wallet) or classic (SPOT + CONTRACT wallets) Bybit account."""

    def __init__(
        self,
        *,
        unified: bool = True,
        price: Decimal = Decimal(65000),
        balances: dict[str, Decimal] | None = None,
        taker_fee: Decimal = Decimal("0.0006"),
        leverage: Decimal = Decimal(10),
    ) -> None:
        self.unified = unified
        self.mark = price
        self.index = price
        self.taker_fee = taker_fee
        self.margin_mode = "REGULAR_MARGIN"  # UTA account-wide margin mode
        self.hedge_mode = False
        self.position = Position(leverage=leverage)
        self.liq_price_override: Decimal | None = None
        start = balances if balances is not None else {"BTC": Decimal(1), "USDT": Decimal(10000)}
        if unified:
            self.wallets: dict[str, dict[str, Decimal]] = {"UNIFIED": dict(start)}
        else:
            self.wallets = {"SPOT": dict(start), "CONTRACT": {"BTC": ZERO, "USDT": ZERO}}
        self.orders: dict[str, Order] = {}
        self.by_link: dict[str, Order] = {}
        self.executions: list[Execution] = []
        self.changes: list[Change] = []
        self.max_fill: Decimal | None = None  # liquidity cap per order, None: unlimited
        self._ids = itertools.count(1)

    # -- wallets ------------------------------------------------------------------------------

    @property
    def derivatives_account(self) -> str:
        return "UNIFIED" if self.unified else "CONTRACT"

    @property
    def spot_account(self) -> str:
        return "UNIFIED" if self.unified else "SPOT"

    def wallet(self, account: str, coin: str) -> Decimal:
        return self.wallets.get(account, {}).get(coin, ZERO)

    def credit(self, account: str, coin: str, amount: Decimal) -> None:
        if account not in self.wallets:
            raise BybitError(10001, f"accountType {account} not supported")
        self.wallets[account][coin] = self.wallet(account, coin) + amount
        self.changes.append(Change("wallet", account))

    def upnl(self) -> Decimal:
        p = self.position
        if p.size == 0 or p.entry is None:
            return ZERO
        return p.size * CONTRACT_SIZE * (1 / p.entry - 1 / self.mark)

    def position_im(self) -> Decimal:
        p = self.position
        if p.size == 0 or p.entry is None:
            return ZERO
        return abs(p.size) * CONTRACT_SIZE / (p.entry * p.leverage)

    def order_im(self) -> Decimal:
        total = ZERO
        for o in self.orders.values():
            if o.open and not o.reduce_only and o.price is not None:
                total += self._open_cost(o.qty - o.cum_qty, o.price)
        return total

    def coin_equity(self, account: str, coin: str) -> Decimal:
        equity = self.wallet(account, coin)
        if account == self.derivatives_account and coin == "BTC":
            equity += self.upnl()
        return equity

    def available(self, account: str, coin: str) -> Decimal:
        free = self.coin_equity(account, coin)
        if account == self.derivatives_account and coin == "BTC":
            free -= self.position_im() + self.order_im()
        return max(free, ZERO)

    def transfer(self, coin: str, amount: Decimal, source: str, dest: str) -> None:
        if source not in self.wallets or dest not in self.wallets or source == dest:
            raise BybitError(10001, f"transfer {source} -> {dest} not supported")
        if amount <= 0 or amount > self.available(source, coin):
            raise BybitError(131212, "insufficient balance")
        self.credit(source, coin, -amount)
        self.credit(dest, coin, amount)

    # -- settings -----------------------------------------------------------------------------

    def set_leverage(self, buy: Decimal, sell: Decimal) -> None:
        if buy != sell:
            raise BybitError(10001, "buy leverage must equal sell leverage in one-way mode")
        if not Decimal(1) <= buy <= Decimal(100):
            raise BybitError(10001, "leverage invalid")
        if buy == self.position.leverage:
            raise BybitError(110043, "leverage not modified")
        self.position.leverage = buy
        self.position.updated_ms = now_ms()
        self.changes.append(Change("position"))

    def switch_mode(self, mode: int) -> None:
        hedge = mode == 3
        if mode not in (0, 3):
            raise BybitError(10001, "mode invalid")
        if hedge == self.hedge_mode:
            raise BybitError(110025, "Position mode is not modified")
        if self.position.size != 0 or any(o.open for o in self.orders.values()):
            raise BybitError(
                110024, "You have an existing position, so position mode cannot be switched"
            )
        self.hedge_mode = hedge

    def switch_isolated(self, trade_mode: int, leverage: Decimal) -> None:
        if self.unified:
            raise BybitError(100028, "The API cannot be accessed by unified account users.")
        if trade_mode == self.position.trade_mode:
            raise BybitError(110026, "Cross/isolated margin mode is not modified")
        self.position.trade_mode = trade_mode
        self.position.leverage = leverage

    # -- prices, funding ----------------------------------------------------------------------

    def set_price(self, mark: Decimal, index: Decimal | None = None) -> None:
        self.mark = mark
        self.index = index if index is not None else mark
        for order in list(self.orders.values()):
            if order.open and self._marketable(order):
                self._fill(order, order.qty - order.cum_qty)

    def apply_funding(self, rate: Decimal) -> Decimal:
        """Longs pay shorts when `rate` > 0; returns what the account received (BTC)."""
        p = self.position
        if p.size == 0:
            return ZERO
        value = abs(p.size) * CONTRACT_SIZE / self.mark
        received = (-p.size / abs(p.size) * value * rate).quantize(SATOSHI)
        self.credit(self.derivatives_account, "BTC", received)
        side = "Sell" if p.size < 0 else "Buy"
        self._record(None, side, "Funding", abs(p.size), self.mark, -received, rate, ZERO)
        self.changes.append(Change("position"))
        return received

    # -- orders -------------------------------------------------------------------------------

    def next_id(self) -> str:
        return f"{next(self._ids):08d}-emu-{now_ms()}"

    def place(self, req: dict[str, object]) -> Order:
        symbol = str(req.get("symbol", ""))
        if req.get("category") != "inverse" or symbol != INVERSE_SYMBOL:
            raise BybitError(10001, f"emulator trades only inverse {INVERSE_SYMBOL}, not {symbol}")
        side = str(req.get("side", ""))
        order_type = str(req.get("orderType", ""))
        if side not in ("Buy", "Sell") or order_type not in ("Market", "Limit"):
            raise BybitError(10001, "params error: side or orderType invalid")
        qty = _decimal(req.get("qty"), "qty")
        if qty < MIN_QTY or qty % QTY_STEP != 0:
            raise BybitError(10001, f"Qty invalid: {req.get('qty')}")
        price: Decimal | None = None
        if order_type == "Limit":
            price = _decimal(req.get("price"), "price")
            if price <= 0 or price % TICK != 0:
                raise BybitError(10001, f"Price invalid: {req.get('price')}")
        if self.hedge_mode and str(req.get("positionIdx", "0")) == "0":
            raise BybitError(10001, "position idx not match position mode")
        link = str(req.get("orderLinkId") or "")
        if link and link in self.by_link:
            raise BybitError(110072, "OrderLinkedID is duplicate")
        reduce_only = req.get("reduceOnly") in (True, "true", "True", 1)
        if reduce_only:
            qty = self._reduce_only_qty(side, qty)
        tif = str(req.get("timeInForce") or ("IOC" if order_type == "Market" else "GTC"))
        order = Order(
            order_id=self.next_id(),
            link_id=link,
            symbol=symbol,
            side=side,
            order_type=order_type,
            qty=qty,
            price=price,
            tif=tif,
            reduce_only=reduce_only,
            created_ms=now_ms(),
        )
        order.updated_ms = order.created_ms
        fill = self._fill_qty(order)
        opening = self._opening_qty(side, fill if fill > 0 else qty)
        cost_price = self.mark if fill > 0 or price is None else price
        if opening > 0 and self._open_cost(opening, cost_price) > self.available(
            self.derivatives_account, "BTC"
        ):
            raise BybitError(110007, "ab not enough for new order")
        self.orders[order.order_id] = order
        if link:
            self.by_link[link] = order
        if fill > 0:
            self._fill(order, fill)
        self._finish(order)
        return order

    def cancel(self, order_id: str | None, link_id: str | None) -> Order:
        order = self.find(order_id, link_id)
        if order is None or not order.open:
            raise BybitError(110001, "Order does not exist")
        order.status = "PartiallyFilledCanceled" if order.cum_qty > 0 else "Cancelled"
        order.updated_ms = now_ms()
        self.changes.append(Change("order", order))
        self.changes.append(Change("wallet", self.derivatives_account))
        return order

    def find(self, order_id: str | None, link_id: str | None) -> Order | None:
        if order_id:
            return self.orders.get(order_id)
        if link_id:
            return self.by_link.get(link_id)
        return None

    def _reduce_only_qty(self, side: str, qty: Decimal) -> Decimal:
        size = self.position.size
        closes = (side == "Buy" and size < 0) or (side == "Sell" and size > 0)
        if not closes:
            raise BybitError(110017, "Reduce-only rule not satisfied")
        return min(qty, abs(size))

    def _opening_qty(self, side: str, qty: Decimal) -> Decimal:
        size = self.position.size
        signed = qty if side == "Buy" else -qty
        if size == 0 or (size > 0) == (signed > 0):
            return qty
        return max(abs(signed) - abs(size), ZERO)

    def _open_cost(self, qty: Decimal, price: Decimal) -> Decimal:
        notional = qty * CONTRACT_SIZE / price
        return notional / self.position.leverage + notional * self.taker_fee

    def _marketable(self, order: Order) -> bool:
        if order.price is None:
            return True
        return order.price >= self.mark if order.side == "Buy" else order.price <= self.mark

    def _fill_qty(self, order: Order) -> Decimal:
        if not self._marketable(order):
            return ZERO
        remaining = order.qty - order.cum_qty
        return remaining if self.max_fill is None else min(remaining, self.max_fill)

    def _fill(self, order: Order, qty: Decimal) -> None:
        price = self.mark
        p = self.position
        signed = qty if order.side == "Buy" else -qty
        closed = ZERO
        realised = ZERO
        if p.size != 0 and (p.size > 0) != (signed > 0) and p.entry is not None:
            closed = min(qty, abs(p.size))
            sign = 1 if p.size > 0 else -1
            realised = sign * closed * CONTRACT_SIZE * (1 / p.entry - 1 / price)
        value = qty * CONTRACT_SIZE / price
        fee = (value * self.taker_fee).quantize(SATOSHI)
        realised = realised.quantize(SATOSHI)
        new_size = p.size + signed
        if new_size == 0:
            p.entry = None
        elif p.size == 0 or (p.size > 0) != (new_size > 0):
            p.entry = price  # opened, or flipped through zero
        elif abs(new_size) > abs(p.size) and p.entry is not None:
            held = abs(p.size) / p.entry + qty / price
            p.entry = abs(new_size) / held
        p.size = new_size
        p.cur_realised += realised - fee
        p.cum_realised += realised - fee
        p.updated_ms = now_ms()
        p.seq += 1
        self.wallets[self.derivatives_account]["BTC"] = (
            self.wallet(self.derivatives_account, "BTC") + realised - fee
        )
        order.cum_qty += qty
        order.cum_value += value
        order.cum_fee += fee
        order.updated_ms = now_ms()
        order.status = "Filled" if order.cum_qty == order.qty else "PartiallyFilled"
        self._record(order, order.side, "Trade", qty, price, fee, self.taker_fee, closed)
        self.changes += [
            Change("order", order),
            Change("position"),
            Change("wallet", self.derivatives_account),
        ]

    def _finish(self, order: Order) -> None:
        if order.open and (order.order_type == "Market" or order.tif in ("IOC", "FOK")):
            order.status = "PartiallyFilledCanceled" if order.cum_qty > 0 else "Cancelled"
            order.updated_ms = now_ms()
        self.changes.append(Change("order", order))
        if order.open:
            self.changes.append(Change("wallet", self.derivatives_account))

    def _record(
        self,
        order: Order | None,
        side: str,
        kind: str,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        rate: Decimal,
        closed: Decimal,
    ) -> None:
        execution = Execution(
            exec_id=f"exec-{next(self._ids):08d}",
            order=order,
            symbol=INVERSE_SYMBOL,
            side=side,
            exec_type=kind,
            qty=qty,
            price=price,
            value=qty * CONTRACT_SIZE / price,
            fee=fee,
            fee_rate=rate,
            closed_size=closed,
            time_ms=now_ms(),
        )
        self.executions.append(execution)
        self.changes.append(Change("execution", execution))


def _decimal(value: object, name: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        number = Decimal("NaN")
    if not number.is_finite():
        raise BybitError(10001, f"params error: {name} invalid")
    return number
