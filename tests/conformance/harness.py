"""One (adapter, dialect, market) as the conformance checks see it: the exchange's state, its
control and its faults in neutral words, and the daemon's config for it.

`WireHarness` puts a ccxt adapter in front of an emulator dialect (the faults are on the wire);
`SimHarness` (sim.py) is the built-in sim venue, with the same faults injected at its port as a
correct adapter would report them. The daemon builds its venues itself (through the registry);
`wrap` receives each one, so a harness can reach the sim's exchange and a broken variant
(broken.py) can wrap the adapter.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from hedgekeeper.config import Settings
from hedgekeeper.venues.base import Venue
from tests.emulators.core.account import Account
from tests.emulators.core.dialect import Placed
from tests.emulators.core.server import Emulator
from tests.processes import config_text

VENUE = "ex"  # the venue's name in every conformance config


@dataclass(frozen=True)
class Market:
    """One row of the conformance table: an adapter on one market of one exchange."""

    id: str  # the test id: "<exchange>-<inverse|linear>"
    exchange: str  # "sim" or a ccxt id
    symbol: str  # ccxt's unified symbol
    kind: str  # "inverse" | "linear"
    balances: dict[str, Decimal]  # at the start, in the spot (or unified) wallet
    price: Decimal
    deposit: Decimal  # BTC; calls for an increase the collateral pays for
    withdraw: Decimal  # BTC, once the price has fallen 20 %
    make: Callable[[Market], Harness]
    emulator: Callable[[Account], Emulator] | None = None  # wire markets: the dialect's factory
    venue: dict[str, Any] = field(default_factory=dict)  # extra [venues.ex] settings
    # "live" where the exchange's testnet lacks the market (BingX's VST demo has no coin-M):
    # ccxt then loads it, and the emulator stands in for the exchange all the same.
    mode: str = "testnet"

    @property
    def external(self) -> bool:
        """The exchange outlives the daemon process (SIGKILL checks need that)."""
        return self.emulator is not None


@dataclass(frozen=True)
class Attempt:
    """A create-order request as it arrived, refused at the gateway or not."""

    client_id: str
    at: float  # time.monotonic()


class Harness(ABC):
    def __init__(self, market: Market) -> None:
        self.market = market
        self.timeout = 10.0  # for one awaited event; a hung daemon fails the check

    async def __aenter__(self) -> Harness:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    def settings(
        self, tmp_path: Path, *, rest_interval: float = 0.5, timeout_ms: int = 3000, **leg: Any
    ) -> Settings:
        guards = {"orders_per_minute": 100, "breaker_failures": 3, **leg.pop("guards", {})}
        return Settings.model_validate(
            {
                "mode": self.market.mode if self.mode == "testnet" else self.mode,
                "journal": str(tmp_path / "journal.sqlite"),
                "ops": {"enabled": False},
                "venues": {
                    VENUE: {**self.venue_config(timeout_ms), "rest_interval": rest_interval}
                },
                "legs": [
                    {
                        "name": "btc",
                        "asset": "BTC",
                        "perp": {"venue": VENUE, "symbol": self.market.symbol},
                        "spot": [{"venue": VENUE}],
                        "hedge_ratio": "1",
                        "max_slippage": "0.1",
                        "guards": guards,
                        **leg,
                    }
                ],
            }
        )

    mode = "testnet"

    @abstractmethod
    def venue_config(self, timeout_ms: int) -> dict[str, Any]: ...

    def wrap(self, venue: Venue) -> Venue:
        return venue

    # -- the exchange's state -----------------------------------------------------------------

    @abstractmethod
    def position(self) -> Decimal: ...

    @abstractmethod
    def leverage(self) -> Decimal: ...

    @abstractmethod
    def placements(self) -> list[Placed]:
        """Every create-order that reached the matching engine (executed or refused there)."""

    @abstractmethod
    def attempts(self) -> list[Attempt]:
        """Every create-order request, the ones the gateway refused (5xx, rate limit) too."""

    @abstractmethod
    def executed(self) -> dict[str, Decimal]:
        """Signed contracts executed, per client id."""

    async def wait_for_placements(self, count: int) -> list[Placed]:
        async with asyncio.timeout(self.timeout):
            while len(self.placements()) < count:
                await self._changed()
        return self.placements()

    @abstractmethod
    async def _changed(self) -> None: ...

    # -- control and faults -------------------------------------------------------------------

    @abstractmethod
    async def deposit(self, amount: Decimal) -> None: ...

    @abstractmethod
    async def withdraw(self, amount: Decimal) -> None: ...

    @abstractmethod
    async def set_price(self, price: Decimal) -> None: ...

    @abstractmethod
    async def drop_streams(self) -> None:
        """Every stream drops (the adapter must notice and reconnect)."""

    @abstractmethod
    def silence_private(self, silent: bool = True) -> None: ...

    @abstractmethod
    def rate_limit_next_order(self) -> None: ...

    @abstractmethod
    def answer_next_order_late(self) -> None:
        """Executed at once, answered after the client gave up on it."""

    @abstractmethod
    def duplicate_next_order(self) -> None:
        """Executed, then answered "duplicate client order id"."""

    @abstractmethod
    def refuse_orders(self, count: int) -> None:
        """The next `count` orders are refused for margin."""

    @abstractmethod
    def empty_wallet(self, empty: bool = True) -> None:
        """While on, every balance reply comes without its coins."""

    @abstractmethod
    def wallet_reads(self) -> int:
        """Balance reads (REST) so far."""


class WireHarness(Harness):
    """A ccxt adapter against an emulator dialect over loopback."""

    def __init__(self, market: Market) -> None:
        super().__init__(market)
        assert market.emulator is not None
        account = Account(unified=True, price=market.price, balances=dict(market.balances))
        self.emu = market.emulator(account)
        self.instrument = next(i for i in self.emu.dialect.instruments if i.kind == market.kind)

    async def __aenter__(self) -> WireHarness:
        await self.emu.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.emu.stop()

    def venue_config(self, timeout_ms: int) -> dict[str, Any]:
        emu = self.emu
        return {
            "exchange": emu.dialect.exchange,
            "api_key": emu.api_key,
            "secret": emu.secret,
            "password": emu.password,
            "urls": {"rest": emu.rest_url, "ws": emu.ws_url},
            # The emulator has no request quota: ccxt's client-side throttle off.
            "options": {"timeout": timeout_ms, "enableRateLimit": False},
            **self.market.venue,
        }

    def toml(self, journal: Path) -> str:
        """The same config as a file, for a `hedgekeeper run` subprocess."""
        more = 'hedge_ratio = 1\nmax_slippage = "0.1"'
        legs = [("btc", VENUE, self.emu)]
        return config_text(journal, legs, more, self.market.symbol, self.market.mode)

    def position(self) -> Decimal:
        return self.emu.account.positions[self.instrument.id].size

    def leverage(self) -> Decimal:
        return self.emu.account.positions[self.instrument.id].leverage

    def placements(self) -> list[Placed]:
        return [e.placed for e in self.emu.order_log if e.placed is not None]

    def attempts(self) -> list[Attempt]:
        return [
            Attempt(str(self.emu.dialect.summary(r.params).client_id), r.received)
            for r in self.emu.requests
            if self.emu.is_create(r.method, r.path)
        ]

    def executed(self) -> dict[str, Decimal]:
        return {
            client_id: order.cum_qty if order.side == "buy" else -order.cum_qty
            for client_id, order in self.emu.account.by_client.items()
            if order.cum_qty
        }

    async def _changed(self) -> None:
        self.emu.order_arrived.clear()
        await self.emu.order_arrived.wait()

    async def deposit(self, amount: Decimal) -> None:
        await self.emu.deposit("BTC", amount)

    async def withdraw(self, amount: Decimal) -> None:
        await self.emu.withdraw("BTC", amount)

    async def set_price(self, price: Decimal) -> None:
        await self.emu.set_price(price)

    async def drop_streams(self) -> None:
        await self.emu.drop_websockets()

    def silence_private(self, silent: bool = True) -> None:
        self.emu.silence_private(silent)

    def rate_limit_next_order(self) -> None:
        self.emu.rate_limit_next_order()

    def answer_next_order_late(self) -> None:
        self.emu.delay_next_order(3.0)  # the conformance config times out at 0.8 s here

    def duplicate_next_order(self) -> None:
        self.emu.duplicate_next_order()

    def refuse_orders(self, count: int) -> None:
        self.emu.refuse_next_orders(count)

    def empty_wallet(self, empty: bool = True) -> None:
        if empty:
            self.emu.empty_wallet(1_000_000)
        else:
            self.emu.clear_faults()

    def wallet_reads(self) -> int:
        return sum(1 for r in self.emu.requests if r.path in self.emu.dialect.wallet_paths)
