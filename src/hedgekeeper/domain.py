"""Value types shared by the pure core and the edges.

Everything here is frozen: the reconciler and the guards reason about one consistent moment, and a
value that could change under them would make their answers unrepeatable. Money and amounts are
`Decimal`; times are epoch seconds (`float`) taken at the edge that read the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Decimal,
    getcontext,
)
from enum import StrEnum

ZERO = Decimal(0)
ONE = Decimal(1)


class ContractKind(StrEnum):
    INVERSE = "inverse"  # K is quote per contract; collateral and PnL in the base coin
    LINEAR = "linear"  # K is base coin per contract; collateral and PnL in the quote coin


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """What the reconciler must know of a perp market to size orders in its own contracts."""

    symbol: str
    kind: ContractKind
    contract_size: Decimal
    amount_step: Decimal
    min_amount: Decimal
    price_step: Decimal
    base: str
    quote: str
    settle: str
    taker_fee: Decimal = Decimal("0.0006")
    maintenance_margin: Decimal = Decimal("0.005")

    def round_amount(self, contracts: Decimal) -> Decimal:
        """Nearest step: never more than half a step away from the exact figure (SPEC §1)."""
        steps = contracts / self.amount_step
        if steps.adjusted() < getcontext().prec:  # beyond the precision it is whole already
            steps = steps.quantize(ONE, rounding=ROUND_HALF_EVEN)
        return steps * self.amount_step

    def floor_amount(self, contracts: Decimal) -> Decimal:
        """Towards zero, for limits that must not be exceeded (margin, caps, reduce-only)."""
        steps = (contracts / self.amount_step).to_integral_value(rounding=ROUND_DOWN)
        return steps * self.amount_step

    def round_price(self, price: Decimal, side: Side) -> Decimal:
        """Round a limit price away from the book so the order stays marketable."""
        steps = price / self.price_step
        if side is Side.BUY:
            steps = steps.to_integral_value(rounding=ROUND_CEILING)
        else:
            steps = steps.to_integral_value(rounding=ROUND_FLOOR)
        return steps * self.price_step


@dataclass(frozen=True, slots=True)
class Stamped:
    """A number and the moment it was true; stale data is refused by its age, not by hope."""

    value: Decimal
    ts: float


@dataclass(frozen=True, slots=True)
class Holding:
    """A spot balance read from one venue's wallet; `source` is the venue name."""

    source: str
    amount: Decimal
    ts: float


@dataclass(frozen=True, slots=True)
class Collateral:
    """The derivatives wallet of the perp's settle coin.

    `equity` includes unrealised PnL (the figure the hedge needs); `wallet` does not; `free` is what
    a new order may spend. `unified` says the same wallet also holds the spot coin. `mark` is the
    mark that PnL is at, where the reader can vouch for it (refresh.py); None: the mark the feed
    held when the reading arrived (a push).
    """

    wallet: Decimal
    equity: Decimal
    free: Decimal
    ts: float
    unified: bool = False
    mark: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """Signed contracts (short < 0) on one symbol."""

    symbol: str
    contracts: Decimal
    ts: float
    entry_price: Decimal | None = None
    liquidation_price: Decimal | None = None
    leverage: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Prices:
    mark: Decimal
    ts: float
    index: Decimal | None = None


@dataclass(frozen=True, slots=True)
class AccountIdentity:
    """Which account a venue trades: the exchange (with its network: "bybit testnet", "bybit
    paper") and the exchange's own account id where it gives one; for the sim, the run's id,
    because the simulated account is born and dies with the process."""

    exchange: str
    account: str | None = None

    def __str__(self) -> str:
        return f"{self.exchange} account {self.account or '(id not given by the exchange)'}"


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """What the exchange says about how the perp is margined; guards refuse anything but 1x."""

    leverage: Decimal | None
    margin_mode: str | None  # "cross" | "isolated" | None when unknown
    one_way: bool | None
    unified: bool
    ts: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One leg's inputs at one moment. `now` is given, so the core never reads a clock."""

    leg: str
    now: float
    perp_venue: str
    market: MarketSpec
    spot: tuple[Holding, ...]  # one per exchange spot source; fixed amounts come from config
    collateral: Collateral
    position: Position
    prices: Prices
    open_orders: int = 0
    settings: AccountSettings | None = None
    unpaired: str | None = None  # why the equity cannot be paired with a mark: no order on it


@dataclass(frozen=True, slots=True)
class Intent:
    """An order the core wants; the executor gives it an id and a client order id."""

    leg: str
    symbol: str
    side: Side
    contracts: Decimal
    reduce_only: bool
    limit_price: Decimal | None  # None: market order
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """The arithmetic behind a decision, kept for the journal and `status`."""

    exposure: Decimal  # X, in the asset
    target: Decimal  # q*, contracts
    position: Decimal  # q, contracts
    drift: Decimal  # d = q* - q
    mark: Decimal
    ratio: Decimal | None = None  # the h the target was sized for


class Hold(StrEnum):
    """Why the reconciler sends nothing: the kinds a months-long run journals once each."""

    ON_TARGET = "on_target"
    WITHIN_DEADBAND = "within_deadband"
    NOTHING_TO_COVER = "nothing_to_cover"  # over target, but no short left to buy back


class LegState(StrEnum):
    """A leg as status, /status, /metrics and the health checks report it."""

    STARTING = "starting"
    LIVE = "live"  # deciding on fresh data
    GUARDED = "guarded"  # deciding, but a guard holds the order back
    KILLED = "killed"  # the kill switch is on
    HALTED = "halted"  # the circuit breaker tripped: a person must look
    DEGRADED = "degraded"  # the inputs cannot be vouched for


class Action(StrEnum):
    """What one decision did, as the journal's decisions table records it."""

    TRADE = "trade"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class Decision:
    """Hold (with why) or trade: `intents` holds the whole way to target, split at the max size.
    A hold names its kind in `hold`, so the shell tells holds apart without reading `reason`."""

    plan: Plan | None
    reason: str
    intents: tuple[Intent, ...] = field(default=())
    hold: Hold | None = None

    @property
    def holds(self) -> bool:
        return not self.intents


class OrderState(StrEnum):
    PENDING = "pending"  # written to the journal, not yet sent
    OPEN = "open"  # the exchange has it
    FILLED = "filled"
    PARTIAL = "partial"  # finished with only part filled (IOC remainder cancelled)
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"  # the request may or may not have been executed

    @property
    def final(self) -> bool:
        return self in (
            OrderState.FILLED,
            OrderState.PARTIAL,
            OrderState.REJECTED,
            OrderState.CANCELLED,
        )


@dataclass(frozen=True, slots=True)
class OrderRequest:
    symbol: str
    side: Side
    contracts: Decimal
    reduce_only: bool
    limit_price: Decimal | None
    client_id: str


@dataclass(frozen=True, slots=True)
class OrderReport:
    """What the exchange says of one order; `filled` is in contracts, `fee` in the settle coin."""

    client_id: str
    state: OrderState
    filled: Decimal
    average_price: Decimal | None
    fee: Decimal
    ts: float
    exchange_id: str | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class FundingEvent:
    """A funding payment: positive `amount` received, negative paid, in the settle coin."""

    symbol: str
    amount: Decimal
    ts: float
    rate: Decimal | None = None
