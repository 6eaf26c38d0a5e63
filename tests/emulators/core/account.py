"""The account an emulated exchange keeps: wallets, positions, orders, executions, changes.

No I/O and no wire format: a dialect translates requests into calls here and the `Change`s
recorded into its own pushes. Cross margin per settle coin: initial margin = value at entry /
leverage; the cost to open = value / leverage + the taker fee on the value, priced at the mark
when the order fills at once (at the limit when it would rest); available = equity - position IM
- open orders' IM. Below maintenance margin every position in that coin is liquidated at the mark.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

from tests.emulators.core.model import (
    DERIVATIVES,
    SATOSHI,
    SPOT,
    UNIFIED,
    ZERO,
    Change,
    Execution,
    Instrument,
    Order,
    OrderSpec,
    Position,
    Reason,
    Refusal,
    now_ms,
)


class Account:
    """A unified account (one wallet) or a split one (spot and derivatives wallets)."""

    def __init__(
        self,
        *,
        unified: bool = True,
        price: Decimal = Decimal(65000),
        balances: dict[str, Decimal] | None = None,
        taker_fee: Decimal = Decimal("0.0006"),
        leverage: Decimal = Decimal(10),
        maintenance: Decimal = Decimal("0.005"),
    ) -> None:
        """`balances` (default 1 BTC + 10,000 USDT) start in the spot (or the unified) wallet."""
        self.unified = unified
        self.mark = self.index = Decimal(price)
        self.taker_fee = taker_fee
        self.maintenance = maintenance
        self.start_leverage = leverage
        self.hedge_mode = False
        start = balances if balances is not None else {"BTC": Decimal(1), "USDT": Decimal(10000)}
        if unified:
            self.wallets: dict[str, dict[str, Decimal]] = {UNIFIED: dict(start)}
        else:
            self.wallets = {SPOT: dict(start), DERIVATIVES: dict.fromkeys(start, ZERO)}
        self.instruments: dict[str, Instrument] = {}
        self.positions: dict[str, Position] = {}
        self.orders: dict[str, Order] = {}
        self.by_client: dict[str, Order] = {}  # the latest order per client id
        self.unique_client_ids = True  # False: ids are labels the exchange lets repeat
        self.executions: list[Execution] = []
        self.changes: list[Change] = []
        self.max_fill: Decimal | None = None  # liquidity cap per order, None: unlimited
        self._ids = itertools.count(1)

    def list_instrument(self, instrument: Instrument) -> None:
        self.instruments.setdefault(instrument.id, instrument)
        self.positions.setdefault(instrument.id, Position(leverage=self.start_leverage))

    def instrument(self, instrument_id: str) -> Instrument:
        found = self.instruments.get(instrument_id)
        if found is None:
            raise Refusal(Reason.INVALID, f"unknown symbol {instrument_id!r}")
        return found

    # -- wallets ------------------------------------------------------------------------------

    @property
    def derivatives_wallet(self) -> str:
        return UNIFIED if self.unified else DERIVATIVES

    @property
    def spot_wallet(self) -> str:
        return UNIFIED if self.unified else SPOT

    def wallet(self, name: str, coin: str) -> Decimal:
        return self.wallets.get(name, {}).get(coin, ZERO)

    def credit(self, name: str, coin: str, amount: Decimal) -> None:
        if name not in self.wallets:
            raise Refusal(Reason.UNSUPPORTED, f"no {name} wallet on this account")
        self.wallets[name][coin] = self.wallet(name, coin) + amount
        self.changes.append(Change("wallet", name))

    def _settled_in(self, coin: str) -> list[tuple[Instrument, Position]]:
        return [(i, self.positions[i.id]) for i in self.instruments.values() if i.settle == coin]

    def upnl(self, coin: str) -> Decimal:
        return sum(
            (i.pnl(p.size, p.entry, self.mark) for i, p in self._settled_in(coin) if p.entry),
            ZERO,
        )

    def position_im(self, coin: str) -> Decimal:
        return sum(
            (i.value(p.size, p.entry) / p.leverage for i, p in self._settled_in(coin) if p.entry),
            ZERO,
        )

    def order_im(self, coin: str) -> Decimal:
        total = ZERO
        for o in self.orders.values():
            if o.open and not o.reduce_only and o.price is not None and o.instrument.settle == coin:
                total += self._open_cost(o.instrument, o.qty - o.cum_qty, o.price)
        return total

    def equity(self, name: str, coin: str) -> Decimal:
        equity = self.wallet(name, coin)
        if name == self.derivatives_wallet:
            equity += self.upnl(coin)
        return equity

    def available(self, name: str, coin: str) -> Decimal:
        free = self.equity(name, coin)
        if name == self.derivatives_wallet:
            free -= self.position_im(coin) + self.order_im(coin)
        return max(free, ZERO)

    def transfer(self, coin: str, amount: Decimal, source: str, dest: str) -> None:
        if source not in self.wallets or dest not in self.wallets or source == dest:
            raise Refusal(Reason.UNSUPPORTED, f"transfer {source} -> {dest}")
        if amount <= 0 or amount > self.available(source, coin):
            raise Refusal(Reason.BALANCE, f"{amount} {coin} is more than {source} can spare")
        self.credit(source, coin, -amount)
        self.credit(dest, coin, amount)

    # -- settings -----------------------------------------------------------------------------

    def set_leverage(self, instrument: Instrument, leverage: Decimal) -> None:
        if not Decimal(1) <= leverage <= Decimal(100):
            raise Refusal(Reason.INVALID, f"leverage {leverage}")
        position = self.positions[instrument.id]
        if leverage == position.leverage:
            raise Refusal(Reason.NOT_MODIFIED, "leverage not modified")
        position.leverage = leverage
        position.updated_ms = now_ms()
        self.changes.append(Change("position", instrument))

    def set_hedge_mode(self, hedge: bool) -> None:
        if hedge == self.hedge_mode:
            raise Refusal(Reason.NOT_MODIFIED, "position mode not modified")
        if any(p.size for p in self.positions.values()) or any(
            o.open for o in self.orders.values()
        ):
            raise Refusal(Reason.POSITION_OPEN, "a position or an order is open")
        self.hedge_mode = hedge

    def set_isolated(self, instrument: Instrument, isolated: bool, leverage: Decimal) -> None:
        position = self.positions[instrument.id]
        if isolated == position.isolated:
            raise Refusal(Reason.NOT_MODIFIED, "margin mode not modified")
        position.isolated = isolated
        position.leverage = leverage

    # -- prices, funding, liquidation ---------------------------------------------------------

    def set_price(self, mark: Decimal, index: Decimal | None = None) -> None:
        self.mark = mark
        self.index = index if index is not None else mark
        for order in list(self.orders.values()):
            if order.open and self._marketable(order):
                self._fill(order, order.qty - order.cum_qty)
        self._liquidate()

    def apply_funding(self, rate: Decimal, instrument_id: str | None = None) -> Decimal:
        """Longs pay shorts when `rate` > 0; returns what the account received (settle coin)."""
        total = ZERO
        for instrument in self.instruments.values():
            p = self.positions[instrument.id]
            if p.size == 0 or instrument_id not in (None, instrument.id):
                continue
            value = instrument.value(p.size, self.mark)
            received = (-p.size / abs(p.size) * value * rate).quantize(SATOSHI)
            self.credit(self.derivatives_wallet, instrument.settle, received)
            side = "sell" if p.size < 0 else "buy"
            self._record(None, instrument, side, "funding", abs(p.size), -received, rate, ZERO)
            self.changes.append(Change("position", instrument))
            total += received
        return total

    def _liquidate(self) -> None:
        """Cross margin per settle coin: below maintenance, every position in it is closed."""
        for coin in {i.settle for i, p in self._held()}:
            held = [(i, p) for i, p in self._held() if i.settle == coin]
            needed = sum((i.value(p.size, self.mark) for i, p in held), ZERO) * self.maintenance
            if self.equity(self.derivatives_wallet, coin) >= needed:
                continue
            for instrument, p in held:
                side = "buy" if p.size < 0 else "sell"
                spec = OrderSpec(instrument, side, abs(p.size), None, "IOC", True, "")
                order = self._new_order(spec)
                self._fill(order, order.qty, kind="liquidation")

    def _held(self) -> list[tuple[Instrument, Position]]:
        return [
            (i, self.positions[i.id])
            for i in self.instruments.values()
            if self.positions[i.id].size
        ]

    # -- orders -------------------------------------------------------------------------------

    def place(self, spec: OrderSpec) -> Order:
        """Validate, check the margin as the exchange does, fill at the mark what is marketable."""
        instrument = spec.instrument
        qty = spec.qty
        if spec.side not in ("buy", "sell"):
            raise Refusal(Reason.INVALID, f"side {spec.side!r}")
        if qty < instrument.min_qty or qty % instrument.qty_step != 0:
            raise Refusal(Reason.INVALID, f"qty {qty}")
        if spec.price is not None and (spec.price <= 0 or spec.price % instrument.tick != 0):
            raise Refusal(Reason.INVALID, f"price {spec.price}")
        if spec.client_id and self.unique_client_ids and spec.client_id in self.by_client:
            raise Refusal(Reason.DUPLICATE, f"client order id {spec.client_id} exists")
        if spec.reduce_only:
            qty = self._reduce_only_qty(instrument, spec.side, qty)
        order = self._new_order(spec, qty)
        fill = self._fill_qty(order)
        opening = self._opening_qty(instrument, spec.side, fill if fill > 0 else qty)
        cost_price = self.mark if fill > 0 or spec.price is None else spec.price
        cost = self._open_cost(instrument, opening, cost_price)
        if opening > 0 and cost > self.available(self.derivatives_wallet, instrument.settle):
            raise Refusal(Reason.MARGIN, f"{cost} {instrument.settle} needed")
        self.orders[order.order_id] = order
        if spec.client_id:
            self.by_client[spec.client_id] = order
        if fill > 0:
            self._fill(order, fill)
        self._finish(order)
        return order

    def cancel(self, order_id: str | None, client_id: str | None) -> Order:
        order = self.find(order_id, client_id)
        if order is None or not order.open:
            raise Refusal(Reason.NOT_FOUND, "order does not exist or is not open")
        order.status = "partially_filled_cancelled" if order.cum_qty > 0 else "cancelled"
        order.updated_ms = now_ms()
        self.changes.append(Change("order", order))
        self.changes.append(Change("wallet", self.derivatives_wallet))
        return order

    def find(self, order_id: str | None, client_id: str | None) -> Order | None:
        if order_id:
            return self.orders.get(order_id)
        if client_id:
            return self.by_client.get(client_id)
        return None

    def _new_order(self, spec: OrderSpec, qty: Decimal | None = None) -> Order:
        stamp = now_ms()
        return Order(
            order_id=f"{next(self._ids):08d}-emu-{stamp}",
            client_id=spec.client_id,
            instrument=spec.instrument,
            side=spec.side,
            qty=spec.qty if qty is None else qty,
            price=spec.price,
            tif=spec.tif,
            reduce_only=spec.reduce_only,
            created_ms=stamp,
            updated_ms=stamp,
        )

    def _reduce_only_qty(self, instrument: Instrument, side: str, qty: Decimal) -> Decimal:
        size = self.positions[instrument.id].size
        if not ((side == "buy" and size < 0) or (side == "sell" and size > 0)):
            raise Refusal(Reason.REDUCE_ONLY, "reduce-only order would not reduce the position")
        return min(qty, abs(size))

    def _opening_qty(self, instrument: Instrument, side: str, qty: Decimal) -> Decimal:
        size = self.positions[instrument.id].size
        signed = qty if side == "buy" else -qty
        if size == 0 or (size > 0) == (signed > 0):
            return qty
        return max(abs(signed) - abs(size), ZERO)

    def _open_cost(self, instrument: Instrument, qty: Decimal, price: Decimal) -> Decimal:
        value = instrument.value(qty, price)
        return value / self.positions[instrument.id].leverage + value * self.taker_fee

    def _marketable(self, order: Order) -> bool:
        if order.price is None:
            return True
        return order.price >= self.mark if order.side == "buy" else order.price <= self.mark

    def _fill_qty(self, order: Order) -> Decimal:
        if not self._marketable(order):
            return ZERO
        remaining = order.qty - order.cum_qty
        return remaining if self.max_fill is None else min(remaining, self.max_fill)

    def _fill(self, order: Order, qty: Decimal, kind: str = "trade") -> None:
        price, instrument = self.mark, order.instrument
        p = self.positions[instrument.id]
        signed = qty if order.side == "buy" else -qty
        closed = realised = ZERO
        if p.size != 0 and (p.size > 0) != (signed > 0) and p.entry is not None:
            closed = min(qty, abs(p.size))
            realised = instrument.pnl(closed if p.size > 0 else -closed, p.entry, price)
        value = instrument.value(qty, price)
        fee = (value * self.taker_fee).quantize(SATOSHI)
        realised = realised.quantize(SATOSHI)
        new_size = p.size + signed
        if new_size == 0:
            p.entry = None
        elif p.size == 0 or (p.size > 0) != (new_size > 0):
            p.entry = price  # opened, or flipped through zero
        elif abs(new_size) > abs(p.size) and p.entry is not None:
            p.entry = self._blend(instrument, p.size, p.entry, qty, price)
        p.size = new_size
        p.cur_realised += realised - fee
        p.cum_realised += realised - fee
        p.updated_ms = now_ms()
        p.seq += 1
        self.credit(self.derivatives_wallet, instrument.settle, realised - fee)
        order.cum_qty += qty
        order.cum_value += value
        order.cum_fee += fee
        order.updated_ms = now_ms()
        order.status = "filled" if order.cum_qty == order.qty else "partially_filled"
        self._record(order, instrument, order.side, kind, qty, fee, self.taker_fee, closed)
        self.changes += [Change("order", order), Change("position", instrument)]

    @staticmethod
    def _blend(
        instrument: Instrument, size: Decimal, entry: Decimal, qty: Decimal, price: Decimal
    ) -> Decimal:
        """The average entry after adding `qty` at `price` (harmonic for inverse contracts)."""
        total = abs(size) + qty
        if instrument.inverse:
            return total / (abs(size) / entry + qty / price)
        return (abs(size) * entry + qty * price) / total

    def _finish(self, order: Order) -> None:
        if order.open and (order.price is None or order.tif in ("IOC", "FOK")):
            order.status = "partially_filled_cancelled" if order.cum_qty > 0 else "cancelled"
            order.updated_ms = now_ms()
        self.changes.append(Change("order", order))
        if order.open:
            self.changes.append(Change("wallet", self.derivatives_wallet))

    def _record(
        self,
        order: Order | None,
        instrument: Instrument,
        side: str,
        kind: str,
        qty: Decimal,
        fee: Decimal,
        rate: Decimal,
        closed: Decimal,
    ) -> None:
        execution = Execution(
            exec_id=f"exec-{next(self._ids):08d}",
            order=order,
            instrument=instrument,
            side=side,
            kind=kind,
            qty=qty,
            price=self.mark,
            value=instrument.value(qty, self.mark),
            fee=fee,
            fee_rate=rate,
            closed_size=closed,
            time_ms=now_ms(),
        )
        self.executions.append(execution)
        self.changes.append(Change("execution", execution))
