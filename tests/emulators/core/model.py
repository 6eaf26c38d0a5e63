"""The emulated exchange's values, in no exchange's words: instruments, orders, positions.

A `Refusal` names why a request is refused (`Reason`); each dialect turns it into the exchange's
own error code. Contract arithmetic, as exchanges do it (K = contract size, q signed contracts):
inverse (K in quote, settled in the base coin) value = |q|·K / price, PnL = q·K·(1/entry - 1/mark);
linear (K in base, settled in the quote coin) value = |q|·K·price, PnL = q·K·(mark - entry).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)
SATOSHI = Decimal("0.00000001")
UNIFIED, SPOT, DERIVATIVES = "unified", "spot", "derivatives"


class Reason(enum.Enum):
    """Why the exchange refuses a request; each dialect has its own code for each."""

    INVALID = "invalid"  # a parameter is wrong (qty step, tick, side, ...)
    DUPLICATE = "duplicate"  # the client order id was used before
    MARGIN = "margin"  # not enough available collateral for the order's cost
    REDUCE_ONLY = "reduce_only"  # a reduce-only order that would not reduce
    NOT_FOUND = "not_found"  # no such order
    NOT_MODIFIED = "not_modified"  # a setting already has that value
    POSITION_OPEN = "position_open"  # a mode switch with a position or an order open
    BALANCE = "balance"  # a transfer larger than the available balance
    UNSUPPORTED = "unsupported"  # this account (or emulator) does not do that
    AUTH = "auth"  # a wrong key or signature


class Refusal(Exception):
    """`code`: the exchange's own code, when a dialect's handler knows a more specific one."""

    def __init__(self, reason: Reason, detail: str, code: str | None = None) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.code = code


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Instrument:
    """One perpetual; `id` is the exchange's own symbol (BTCUSD, BTC-USD-SWAP, ...)."""

    id: str
    kind: str  # "inverse" | "linear"
    base: str
    quote: str
    settle: str
    contract_size: Decimal
    qty_step: Decimal
    min_qty: Decimal
    tick: Decimal

    @property
    def inverse(self) -> bool:
        return self.kind == "inverse"

    def value(self, qty: Decimal, price: Decimal) -> Decimal:
        """|qty| contracts at `price`, in the settle coin."""
        size = abs(qty) * self.contract_size
        return size / price if self.inverse else size * price

    def pnl(self, size: Decimal, entry: Decimal, price: Decimal) -> Decimal:
        if self.inverse:
            return size * self.contract_size * (1 / entry - 1 / price)
        return size * self.contract_size * (price - entry)


@dataclass
class Order:
    order_id: str
    client_id: str
    instrument: Instrument
    side: str  # "buy" | "sell"
    qty: Decimal
    price: Decimal | None  # None: a market order
    tif: str  # "GTC" | "IOC" | "FOK" | "PostOnly"
    reduce_only: bool
    created_ms: int
    status: str = "new"  # new | partially_filled | filled | cancelled | partially_filled_cancelled
    cum_qty: Decimal = ZERO
    cum_value: Decimal = ZERO  # in the settle coin
    cum_fee: Decimal = ZERO
    updated_ms: int = 0

    @property
    def open(self) -> bool:
        return self.status in ("new", "partially_filled")

    @property
    def avg_price(self) -> Decimal | None:
        if self.cum_qty == 0:
            return None
        size = self.cum_qty * self.instrument.contract_size
        return size / self.cum_value if self.instrument.inverse else self.cum_value / size


@dataclass
class Execution:
    exec_id: str
    order: Order | None
    instrument: Instrument
    side: str
    kind: str  # "trade" | "funding" | "liquidation"
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
    isolated: bool = False
    cur_realised: Decimal = ZERO
    cum_realised: Decimal = ZERO
    created_ms: int = field(default_factory=now_ms)
    updated_ms: int = field(default_factory=now_ms)
    seq: int = 1


@dataclass(frozen=True)
class Change:
    """Something a private stream reports: "order" | "execution" | "position" | "wallet"."""

    topic: str
    subject: object = None  # the Order, Execution, Instrument or wallet name


@dataclass(frozen=True)
class OrderSpec:
    """A create-order request, once the dialect has read it."""

    instrument: Instrument
    side: str
    qty: Decimal
    price: Decimal | None
    tif: str
    reduce_only: bool
    client_id: str
