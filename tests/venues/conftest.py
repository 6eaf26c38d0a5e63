"""Builders for a sim exchange on a short handwritten path, so each test states its own prices;
and `venue`, an opened wire venue on the test module's `emu` fixture (an emulator dialect)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest

from hedgekeeper.config import SimConfig
from hedgekeeper.pricepath import PricePoint
from hedgekeeper.venues.ccxt.venue import CcxtVenue
from hedgekeeper.venues.sim import SimExchange
from tests.emulators.core.server import Emulator
from tests.venues.wire_venue import opened, wire_venue

T0 = 1_700_000_000.0
HOUR = 3600.0
INVERSE = "BTC/USD:BTC"
LINEAR = "BTC/USDT:USDT"

MakeExchange = Callable[..., SimExchange]


def hourly(*prices: str | int, funding: dict[int, str] | None = None) -> list[PricePoint]:
    """One point an hour from T0; `funding` maps a point's index to the rate settled there."""
    rates = funding or {}
    return [
        PricePoint(T0 + i * HOUR, Decimal(p), Decimal(rates[i]) if i in rates else None)
        for i, p in enumerate(prices)
    ]


def sim_config(**overrides: Any) -> SimConfig:
    """Fee-free, funding-free, with round balances, unless the test says otherwise."""
    base: dict[str, Any] = {
        "spot": {"BTC": Decimal(0)},
        "derivatives": {"BTC": Decimal(1), "USDT": Decimal(100000)},
        "taker_fee": Decimal(0),
        "funding_rate": Decimal(0),
    }
    base.update(overrides)
    return SimConfig(**base)


@pytest.fixture
def make() -> MakeExchange:
    def build(*prices: str | int, **overrides: Any) -> SimExchange:
        return SimExchange(sim_config(**overrides), hourly(*(prices or (50000,))))

    return build


@pytest.fixture
async def venue(emu: Emulator) -> AsyncIterator[CcxtVenue]:
    async with opened(wire_venue(emu)) as found:
        yield found
