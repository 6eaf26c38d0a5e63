"""Shared test doubles: markets, leg configs and snapshots built from a few numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hedgekeeper.config import LegConfig
from hedgekeeper.domain import (
    AccountSettings,
    Collateral,
    ContractKind,
    Holding,
    MarketSpec,
    Position,
    Prices,
    Snapshot,
)

D = Decimal
NOW = 1_700_000_000.0


def sim_leg(**more: Any) -> dict[str, Any]:
    """A config leg hedging the sim venue's BTC on its inverse perp at h = 1, as the settings'
    dict; `more` adds keys (`sim_leg(...) | overrides` replaces them)."""
    return {
        "name": "btc",
        "asset": "BTC",
        "perp": {"venue": "sim", "symbol": "BTC/USD:BTC"},
        "spot": [{"venue": "sim"}],
        "hedge_ratio": "1",
        **more,
    }


def market(symbol: str, contract_size: str, step: str, fee: str, tick: str) -> MarketSpec:
    """A BTC perp from its unified symbol: inverse when it settles in the base coin."""
    base, rest = symbol.split("/")
    quote, settle = rest.split(":")
    kind = ContractKind.INVERSE if settle == base else ContractKind.LINEAR
    return MarketSpec(
        symbol, kind, D(contract_size), D(step), D(step), D(tick), base, quote, settle, D(fee)
    )


def inverse_market(contract_size: str = "1", step: str = "1", fee: str = "0.0006") -> MarketSpec:
    return market("BTC/USD:BTC", contract_size, step, fee, tick="0.5")


def linear_market(contract_size: str = "0.001", step: str = "1", fee: str = "0.0006") -> MarketSpec:
    return market("BTC/USDT:USDT", contract_size, step, fee, tick="0.1")


def leg(**overrides: Any) -> LegConfig:
    data: dict[str, Any] = {
        "name": "btc",
        "asset": "BTC",
        "perp": {"venue": "ex", "symbol": "BTC/USD:BTC"},
        "spot": [{"venue": "ex"}],
        "hedge_ratio": "1",
        "deadband": {"percent": "0"},
    }
    data.update(overrides)
    return LegConfig.model_validate(data)


def snapshot(
    market: MarketSpec,
    *,
    spot: str | Decimal = "0",
    equity: str | Decimal = "0",
    wallet: str | Decimal | None = None,
    free: str | Decimal | None = None,
    position: str | Decimal = "0",
    mark: str | Decimal = "65000",
    unified: bool = False,
    now: float = NOW,
    ts: float = NOW,
    liquidation: str | None = None,
    leverage: str = "1",
) -> Snapshot:
    eq = D(equity)
    return Snapshot(
        leg="btc",
        now=now,
        perp_venue="ex",
        market=market,
        spot=(Holding("ex", D(spot), ts),),
        collateral=Collateral(
            wallet=D(wallet) if wallet is not None else eq,
            equity=eq,
            free=D(free) if free is not None else eq,
            ts=ts,
            unified=unified,
        ),
        position=Position(
            market.symbol,
            D(position),
            ts,
            liquidation_price=D(liquidation) if liquidation else None,
        ),
        prices=Prices(D(mark), ts),
        settings=AccountSettings(D(leverage), "cross", True, unified, ts),
    )


class FaultyVenue:
    """Wraps a venue and injects order-path faults: the ways an exchange leaves us guessing."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.place_faults: list[tuple[Exception, bool]] = []  # (error, executed before raising)
        self.lookup_faults: list[Exception] = []
        self.placed: list[Any] = []

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    async def place(self, request: Any) -> Any:
        self.placed.append(request)
        if self.place_faults:
            error, executed = self.place_faults.pop(0)
            if executed:
                await self.inner.place(request)
            raise error
        return await self.inner.place(request)

    async def order(self, symbol: str, client_id: str, exchange_id: str | None = None) -> Any:
        if self.lookup_faults:
            raise self.lookup_faults.pop(0)
        return await self.inner.order(symbol, client_id, exchange_id)


class ReadCounting(FaultyVenue):
    """Records the REST reads, by kind."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.reads: list[str] = []

    async def prices(self, symbol: str) -> Prices:
        self.reads.append("prices")
        return await self.inner.prices(symbol)

    async def position(self, symbol: str) -> Any:
        self.reads.append("position")
        return await self.inner.position(symbol)

    async def collateral(self, symbol: str) -> Any:
        self.reads.append("collateral")
        return await self.inner.collateral(symbol)


class MovingMark(ReadCounting):
    """An exchange whose mark moves while it answers the wallet read: its equity (with the
    short's PnL) is computed at the new mark, after any price read that went before it."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.moves: list[Decimal] = []  # the marks the next wallet reads move the price to

    async def collateral(self, symbol: str) -> Any:
        if self.moves:
            self.inner.exchange.set_price(self.moves.pop(0))
        return await super().collateral(symbol)


def sim_config(**overrides: Any) -> Any:
    """A small deterministic sim: 2 BTC collateral, no spot, no events, no funding."""
    from hedgekeeper.config import SimConfig

    data: dict[str, Any] = {
        "steps": 48,
        "spot": {"BTC": "0"},
        "derivatives": {"BTC": "2", "USDT": "100000"},
        "funding_rate": "0",
        "volatility": "0",
    }
    data.update(overrides)
    return SimConfig.model_validate(data)


class Rig:
    """One leg engine on an in-process sim venue, with its journal and metrics: the real shell
    and core, minus the process, so a test can step it and look at everything."""

    def __init__(self, tmp_path: Any, venue: Any = None, **leg_overrides: Any) -> None:
        from hedgekeeper.engine import LegEngine
        from hedgekeeper.journal import Journal
        from hedgekeeper.metrics import Metrics
        from hedgekeeper.venues.sim import SimVenue

        self.sim = SimVenue("ex", sim_config())
        self.venue = venue(self.sim) if venue else self.sim
        self.journal = Journal(tmp_path / "journal.sqlite")
        self.metrics = Metrics()
        self.kill = False
        cfg = {"guards": {"orders_per_minute": 1000}, **leg_overrides}
        self.leg = leg(**cfg)
        self.engine = LegEngine(
            self.leg, {"ex": self.venue}, self.journal, self.metrics, lambda: self.kill
        )
        self.engine.executor.lookup_delay = 0

    @property
    def ex(self) -> Any:
        return self.sim.exchange

    async def start(self) -> Rig:
        await self.engine.start()
        return self

    async def step(self) -> Any:
        await self.engine.refresh()
        return await self.engine.step()

    async def settle(self, limit: int = 20) -> None:
        """Step until the engine holds twice in a row (a transfer is a hold before an order)."""
        quiet = 0
        for _ in range(limit):
            quiet = quiet + 1 if await self.step() is None else 0
            if quiet == 2:
                return
        raise AssertionError("the engine kept trading")

    def position(self) -> Decimal:
        return Decimal(self.ex.position(self.leg.perp.symbol).contracts)

    def trips(self, guard: str) -> float:
        text = self.metrics.render().decode()
        for line in text.splitlines():
            if (
                line.startswith("hedgekeeper_guard_trips_total{")
                and f'guard="{guard}"' in line
                and 'leg="btc"' in line
            ):
                return float(line.split()[-1])
        return 0.0
