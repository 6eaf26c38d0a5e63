"""Binance venues (real ccxt, loopback only) on the Binance dialect of the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from hedgekeeper.venues.ccxt.venue import CcxtVenue
from tests.emulators.core.server import Emulator
from tests.emulators.dialects.binance import emulator
from tests.venues.wire_venue import opened, wire_venue


def make_binance_venue(emu: Emulator, mode: str = "live", **cfg: Any) -> CcxtVenue:
    """A Binance `CcxtVenue` pointed at `emu` (not opened), fast retries, no throttle."""
    return wire_venue(emu, mode, name="binance", password=None, **cfg)


@pytest.fixture(params=["inverse", "linear"])
async def family_emu(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    async with emulator(request.param) as emu:
        yield emu


@pytest.fixture
async def coinm_emu() -> AsyncIterator[Emulator]:
    async with emulator("inverse") as emu:
        yield emu


@pytest.fixture
async def coinm(coinm_emu: Emulator) -> AsyncIterator[CcxtVenue]:
    async with opened(make_binance_venue(coinm_emu)) as venue:
        yield venue


@pytest.fixture
async def venue(family_emu: Emulator) -> AsyncIterator[CcxtVenue]:
    async with opened(make_binance_venue(family_emu)) as venue:
        yield venue
