"""The simulated exchange's state machine: wallets, positions, fills, funding, liquidation.

Synchronous and deterministic on purpose: tests drive it step by step and pin its arithmetic to
the satoshi, and a replay of years of history must cost microseconds a step. The async `Venue`
face lives in `venue.py`. The venue's price path drives the clock and every market that has no
path of its own; a market with its own (another coin) is priced from it as of that clock.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal

from hedgekeeper import contracts
from hedgekeeper.config import SimConfig, SimMarket
from hedgekeeper.domain import (
    ZERO,
    AccountSettings,
    Collateral,
    FundingEvent,
    MarketSpec,
    OrderReport,
    OrderRequest,
    OrderState,
    Position,
    Prices,
    Side,
)
from hedgekeeper.pricepath import PricePoint, load_csv, random_walk
from hedgekeeper.venues.base import DuplicateClientId, InsufficientMargin, OrderRejected, VenueError
from hedgekeeper.venues.sim.book import Book, OwnPath, SimFill, SimTransfer, spec_of

__all__ = ["SimExchange", "SimFill", "SimTransfer"]


def _path(cfg: SimConfig) -> Iterable[PricePoint]:
    if cfg.prices is not None:
        return load_csv(cfg.prices)
    return random_walk(
        cfg.seed, cfg.start_price, cfg.volatility, cfg.step_seconds, cfg.start_time, cfg.steps
    )


def _market_path(
    market: SimMarket, position: int, cfg: SimConfig, start: float
) -> Iterable[PricePoint]:
    """A market's own path: its CSV, or a walk of its own on the venue's clock from `start`."""
    if market.prices is not None:
        return load_csv(market.prices)
    seed = cfg.seed + position + 1 if market.seed is None else market.seed
    price = cfg.start_price if market.start_price is None else market.start_price
    sigma = cfg.volatility if market.volatility is None else market.volatility
    return random_walk(seed, price, sigma, cfg.step_seconds, start, cfg.steps)


class SimExchange:
    """One simulated account. Mutating calls invoke `on_change` so the async face can wake."""

    def __init__(self, cfg: SimConfig, path: Iterable[PricePoint] | None = None) -> None:
        self._cfg = cfg
        self._fee = cfg.taker_fee
        self._mm = cfg.maintenance_margin
        self.on_change: Callable[[], None] | None = None
        self._books = {m.symbol: Book(spec_of(m, cfg)) for m in cfg.markets}
        self._rates = {
            m.symbol: cfg.funding_rate if m.funding_rate is None else m.funding_rate
            for m in cfg.markets
        }
        self.unified = cfg.unified
        self._spot: dict[str, Decimal] = dict(cfg.spot)
        self._deriv: dict[str, Decimal] = dict(cfg.derivatives)
        if self.unified:  # one wallet under both names, so every path below sees the same coins
            for coin, amount in self._deriv.items():
                self._spot[coin] = self._spot.get(coin, ZERO) + amount
            self._deriv = self._spot
        self._orders: dict[str, tuple[str, OrderReport]] = {}
        self._ids = itertools.count(1)
        # Read-only views for reports and tests: the same lists, typed so callers cannot append.
        self._fills: list[SimFill] = []
        self._funding: list[FundingEvent] = []
        self._transfers: list[SimTransfer] = []
        self._liquidations: list[SimFill] = []
        self.fills: Sequence[SimFill] = self._fills
        self.funding_log: Sequence[FundingEvent] = self._funding
        self.transfers: Sequence[SimTransfer] = self._transfers
        self.liquidations: Sequence[SimFill] = self._liquidations
        source = path if path is not None else _path(cfg)
        points: Iterator[PricePoint] = iter(source)
        first = next(points, None)
        if first is None:
            raise VenueError("sim: the price path is empty")
        self._points = points
        self._next: PricePoint | None = next(points, None)
        # A recorded path says what funding was paid; a walk says nothing, so the config's rate is
        # paid on the config's schedule instead (never both, which would pay twice).
        self._path_funds = isinstance(source, Sequence) and any(
            p.funding_rate is not None for p in source
        )
        # A market's own walk steps with the venue's path, from its first point.
        self._own = {
            m.symbol: OwnPath(m.symbol, _market_path(m, i, cfg, first.ts))
            for i, m in enumerate(cfg.markets)
            if m.own_path
        }
        self.start = first.ts
        self._interval = cfg.funding_interval_hours * 3600.0
        self._next_funding = first.ts + self._interval
        self._events = sorted(cfg.events, key=lambda e: e.at_hours)
        self._event_at = [first.ts + e.at_hours * 3600.0 for e in self._events]
        self._event_index = 0
        self.mark = self.index = first.price
        self.clock = first.ts
        self._arrive(first)

    # -- reads ---------------------------------------------------------------------------------

    def _book(self, symbol: str) -> Book:
        try:
            return self._books[symbol]
        except KeyError:
            known = ", ".join(self._books)
            raise VenueError(f"sim: unknown symbol {symbol!r}; markets: {known}") from None

    def market(self, symbol: str) -> MarketSpec:
        return self._book(symbol).spec

    def now(self) -> float:
        return self.clock

    @property
    def next_ts(self) -> float | None:
        """When the next step will land; None at the end of the path."""
        return None if self._next is None else self._next.ts

    @property
    def finished(self) -> bool:
        return self._next is None

    def prices(self, symbol: str | None = None) -> Prices:
        """A market's prices; without a symbol, the venue's path (every market's by default)."""
        own = self._own.get(symbol) if symbol is not None else None
        if own is not None:
            return Prices(mark=own.price, ts=self.clock, index=own.price)
        return Prices(mark=self.mark, ts=self.clock, index=self.index)

    def mark_of(self, symbol: str) -> Decimal:
        """A market's mark alone (what a replay values its books at, point after point)."""
        own = self._own.get(symbol)
        return self.mark if own is None else own.price

    def _mark(self, b: Book) -> Decimal:
        return self.mark_of(b.spec.symbol)

    def wallet(self, asset: str, wallet: str = "derivatives") -> Decimal:
        return (self._deriv if wallet == "derivatives" else self._spot).get(asset, ZERO)

    def _open(self, coin: str) -> list[Book]:
        return [b for b in self._books.values() if b.contracts and b.spec.settle == coin]

    def equity(self, coin: str) -> Decimal:
        """Derivatives wallet of `coin` plus the unrealised PnL of every position settled in it."""
        pnl = (b.pnl(b.contracts, self._mark(b)) for b in self._open(coin))
        return sum(pnl, self._deriv.get(coin, ZERO))

    def spot_balance(self, asset: str) -> Decimal:
        """The spot wallet; on a unified account its equity, as Bybit's UTA reports it."""
        return self.equity(asset) if self.unified else self._spot.get(asset, ZERO)

    def collateral(self, symbol: str) -> Collateral:
        return self.account(symbol)[0]

    def position(self, symbol: str) -> Position:
        return self.account(symbol)[1]

    def account(self, symbol: str) -> tuple[Collateral, Position]:
        """The collateral and the position of one market, from one pass over the open books
        (a replay reads both at every point)."""
        b = self._book(symbol)
        coin = b.spec.settle
        wallet = equity = self._deriv.get(coin, ZERO)
        margin = own_pnl = ZERO
        for book in self._open(coin):
            mark = self._mark(book)
            gain = book.pnl(book.contracts, mark)
            equity += gain
            margin += book.notional(book.contracts, mark) / book.leverage
            if book is b:
                own_pnl = gain
        liq = b.liquidation(equity - own_pnl, self._mm) if b.contracts else None
        return (
            Collateral(wallet, equity, equity - margin, self.clock, self.unified),
            Position(symbol, b.contracts, self.clock, b.entry, liq, b.leverage),
        )

    def settings(self, symbol: str) -> AccountSettings:
        return AccountSettings(self._book(symbol).leverage, "cross", True, self.unified, self.clock)

    def set_leverage(self, symbol: str, leverage: Decimal) -> AccountSettings:
        if leverage <= 0:
            raise OrderRejected(f"sim: leverage must be positive, got {leverage}", "leverage")
        self._book(symbol).leverage = leverage
        return self.settings(symbol)

    def order(self, symbol: str, client_id: str) -> OrderReport | None:
        found = self._orders.get(client_id)
        return found[1] if found is not None and found[0] == symbol else None

    def funding(self, symbol: str, since: float) -> list[FundingEvent]:
        return [f for f in self._funding if f.symbol == symbol and f.ts >= since]

    @property
    def orders(self) -> tuple[OrderReport, ...]:
        return tuple(report for _, report in self._orders.values())

    # -- orders --------------------------------------------------------------------------------

    def client_ids(self, symbol: str, since: float) -> list[str]:
        return [c for c, (s, r) in self._orders.items() if s == symbol and r.ts >= since]

    def place(self, req: OrderRequest) -> OrderReport:
        """Fill at the mark at once, or refuse with the exchange-like error; never rests."""
        b = self._book(req.symbol)
        spec, mark, amount = b.spec, self._mark(b), req.contracts
        if req.client_id in self._orders:
            raise DuplicateClientId(f"sim: client id {req.client_id!r} was used before", "dup")
        if amount <= 0 or amount % spec.amount_step or amount < spec.min_amount:
            raise OrderRejected(
                f"sim: {amount} contracts is not a positive multiple of {spec.amount_step} "
                f"of at least {spec.min_amount}",
                "amount",
            )
        q = b.contracts
        delta = amount if req.side is Side.BUY else -amount
        reducing = bool(q) and (q > 0) != (delta > 0)
        if req.reduce_only:
            if not reducing:
                raise OrderRejected(
                    f"sim: reduce-only {req.side.value} of {amount} would increase position {q}",
                    "reduce_only",
                )
            delta = max(delta, -q) if delta < 0 else min(delta, -q)
        closing = min(abs(delta), abs(q)) if reducing else ZERO
        opening = abs(delta) - closing
        if opening:
            cost = b.notional(opening, mark) / b.leverage + b.notional(delta, mark) * self._fee
            free = self.collateral(req.symbol).free + b.notional(closing, mark) / b.leverage
            if cost > free:
                raise InsufficientMargin(
                    f"sim: {spec.settle} {cost} needed for {amount} contracts, {free} free",
                    "margin",
                )
        limit = req.limit_price
        if limit is not None and (limit < mark if req.side is Side.BUY else limit > mark):
            state, filled, price, fee, note = OrderState.CANCELLED, ZERO, None, ZERO, "IOC unfilled"
        else:
            state, filled, price = OrderState.FILLED, abs(delta), mark
            fee = self._fill(b, req.client_id, delta, mark)
            note = "reduce-only capped to the position" if filled < amount else ""
        exchange_id = f"sim-{next(self._ids)}"
        report = OrderReport(
            req.client_id, state, filled, price, fee, self.clock, exchange_id, note
        )
        self._orders[req.client_id] = (req.symbol, report)
        self._changed()
        return report

    def _fill(self, b: Book, client_id: str, delta: Decimal, price: Decimal) -> Decimal:
        """Move the position by `delta` at `price`; book realised PnL and fee; return the fee."""
        q = b.contracts
        fee = b.notional(delta, price) * self._fee
        realized = ZERO
        if not q or (q > 0) == (delta > 0):
            b.entry = b.blend(delta, price)
        else:
            closed = -delta if abs(delta) <= abs(q) else q
            realized = b.pnl(closed, price)
            remaining = q + delta
            if not remaining:
                b.entry = None
            elif (remaining > 0) != (q > 0):
                b.entry = price
        b.contracts = q + delta
        self._credit(b.spec.settle, realized - fee)
        side = Side.BUY if delta > 0 else Side.SELL
        self._fills.append(
            SimFill(self.clock, b.spec.symbol, client_id, side, abs(delta), price, fee, realized)
        )
        return fee

    # -- money in and out ----------------------------------------------------------------------

    def deposit(self, asset: str, amount: Decimal, wallet: str = "spot") -> None:
        if amount <= 0:
            raise ValueError(f"sim: a deposit must be positive, got {amount}")
        self._move(asset, amount, wallet)
        self._changed()

    def withdraw(self, asset: str, amount: Decimal, wallet: str = "spot") -> Decimal:
        """Take up to `amount` out; more than the balance is clamped, recorded, and returned."""
        if amount <= 0:
            raise ValueError(f"sim: a withdrawal must be positive, got {amount}")
        taken = self._move(asset, -amount, wallet)
        self._changed()
        return taken

    def _move(self, asset: str, amount: Decimal, wallet: str) -> Decimal:
        if wallet not in ("spot", "derivatives"):
            raise ValueError(f"sim: wallet must be 'spot' or 'derivatives', got {wallet!r}")
        coins = self._spot if wallet == "spot" else self._deriv
        have = coins.get(asset, ZERO)
        applied = max(amount, -max(have, ZERO))
        coins[asset] = have + applied
        self._transfers.append(SimTransfer(self.clock, asset, applied, wallet, amount))
        return -applied

    def transfer_to_derivatives(self, asset: str, amount: Decimal) -> None:
        """Internal move; on a unified account there is nothing to move."""
        if amount <= 0:
            raise VenueError(f"sim: a transfer must be positive, got {amount}")
        if self.unified:
            return
        have = self._spot.get(asset, ZERO)
        if amount > have:
            raise VenueError(f"sim: cannot move {amount} {asset}: the spot wallet holds {have}")
        self._spot[asset] = have - amount
        self._credit(asset, amount)
        self._transfers.append(SimTransfer(self.clock, asset, amount, "spot->derivatives", amount))
        self._changed()

    # -- the clock -----------------------------------------------------------------------------

    def set_price(self, price: Decimal, symbol: str | None = None) -> None:
        """The venue's path price, or with `symbol` the price of a market on a path of its own."""
        if price <= 0:
            raise ValueError(f"sim: price must be positive, got {price}")
        if symbol is not None and symbol in self._own:
            self._own[symbol].price = price
        else:
            self.mark = self.index = price
        self._liquidate()
        self._changed()

    def apply_funding(self, symbol: str, rate: Decimal) -> None:
        self._pay_funding(self._book(symbol), rate)
        self._changed()

    def _pay_funding(self, b: Book, rate: Decimal) -> None:
        """Positive rate: longs pay shorts, in proportion to the position's notional at the mark."""
        if not b.contracts:
            return
        amount = contracts.funding(b.spec, b.contracts, self._mark(b), rate)
        self._credit(b.spec.settle, amount)
        self._funding.append(FundingEvent(b.spec.symbol, amount, self.clock, rate))

    def step(self) -> bool:
        """Advance to the next point of the path; False (and nothing changes) at its end."""
        point = self._next
        if point is None:
            return False
        self._next = next(self._points, None)
        self.mark = self.index = point.price
        self.clock = point.ts
        self._arrive(point)
        self._changed()
        return True

    def _arrive(self, point: PricePoint) -> None:
        """Funding, scheduled events and the liquidation check that belong to this moment.

        Each market is funded by its own path when that path records funding, else by the
        venue's path when that one does, else at its configured rate on the schedule."""
        recorded = {s: own.advance(self.clock) for s, own in self._own.items()}
        for symbol, rates in recorded.items():
            for rate in rates:
                self._pay_funding(self._books[symbol], rate)
        if self._path_funds and point.funding_rate is not None:
            for b in self._books.values():
                if b.spec.symbol not in self._own:
                    self._pay_funding(b, point.funding_rate)
        while self.clock >= self._next_funding:
            for b in self._books.values():
                own = self._own.get(b.spec.symbol)
                if not (own.funds if own is not None else self._path_funds):
                    self._pay_funding(b, self._rates[b.spec.symbol])
            self._next_funding += self._interval
        while self._event_index < len(self._events) and (
            self._event_at[self._event_index] <= self.clock
        ):
            event = self._events[self._event_index]
            self._move(event.asset, event.amount, event.wallet)
            self._event_index += 1
        self._liquidate()

    def _liquidate(self) -> None:
        """Cross margin per settle coin: below maintenance, every position in that coin closes."""
        for coin in {b.spec.settle for b in self._books.values() if b.contracts}:
            books = self._open(coin)
            equity, maintenance = self._deriv.get(coin, ZERO), ZERO
            for b in books:  # one pass: a replay checks this at every point
                mark = self._mark(b)
                equity += b.pnl(b.contracts, mark)
                maintenance += b.notional(b.contracts, mark)
            if equity >= maintenance * self._mm:
                continue
            for b in books:
                self._fill(b, "liquidation", -b.contracts, self._mark(b))
                self._liquidations.append(self._fills[-1])
                shortfall = -min(self._deriv[coin], ZERO)
                if shortfall:  # the insurance fund covers a bankrupt account, as exchanges do
                    self._credit(coin, shortfall)
                    self._transfers.append(
                        SimTransfer(self.clock, coin, shortfall, "insurance", shortfall)
                    )

    def _credit(self, coin: str, amount: Decimal) -> None:
        self._deriv[coin] = self._deriv.get(coin, ZERO) + amount

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()
