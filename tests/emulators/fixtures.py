"""Pytest fixtures for the Bybit v5 emulator.

Use them from a test module with `pytest_plugins = ["tests.emulators.fixtures"]` (in a conftest at
the root only) or by importing the names: `from tests.emulators.fixtures import bybit_emulator`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from hedgekeeper.venues.ccxt.venue import CcxtVenue
from tests.emulators.bybit_venue import make_bybit_venue
from tests.emulators.core.account import Account
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import bybit
from tests.venues.wire_venue import opened


@pytest.fixture
async def bybit_emulator() -> AsyncIterator[Emulator]:
    """A started unified-account (UTA) emulator: 1 BTC + 10,000 USDT, BTC at 65,000, 10x."""
    async with bybit.emulator() as emulator:
        yield emulator


@pytest.fixture
async def bybit_classic_emulator() -> AsyncIterator[Emulator]:
    """A classic account: SPOT and CONTRACT wallets kept apart (1 BTC + 10,000 USDT in SPOT)."""
    async with bybit.emulator(Account(unified=False)) as emulator:
        yield emulator


@pytest.fixture
async def ccxt_bybit(
    bybit_emulator: Emulator,
) -> AsyncIterator[Callable[..., Any]]:
    """A factory of real ccxt bybit clients pointed at `bybit_emulator`; closed after the test.

    `ccxt_bybit(pro=False, **config)` returns a ccxt.async_support (or ccxt.pro) bybit.
    """
    made: list[Any] = []

    def make(pro: bool = False, **config: Any) -> Any:
        if pro:
            import ccxt.pro as module
        else:
            import ccxt.async_support as module
        options = {"fetchMarkets": {"types": ["spot", "linear", "inverse"]}}
        exchange = module.bybit({"options": options, "enableRateLimit": False, **config})
        made.append(bybit_emulator.configure(exchange))
        return exchange

    yield make
    for exchange in made:
        await exchange.close()


@pytest.fixture
async def bybit_venue(bybit_emulator: Emulator) -> AsyncIterator[CcxtVenue]:
    """An opened Bybit venue (testnet mode, URLs overridden) on the UTA `bybit_emulator`."""
    async with opened(make_bybit_venue(bybit_emulator)) as venue:
        yield venue
