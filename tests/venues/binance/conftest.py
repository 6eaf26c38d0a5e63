"""Binance venues (real ccxt, loopback only) on the Binance dialect of the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from hedgekeeper.config import Urls, VenueConfig
from hedgekeeper.venues.binance import QUIRKS
from hedgekeeper.venues.ccxt.transport import Backoff
from hedgekeeper.venues.ccxt.venue import CcxtVenue
from tests.emulators.core.server import Emulator
from tests.emulators.dialects.binance import emulator

FAST = Backoff(attempts=4, initial=0.001, maximum=0.01, stream_attempts=6)
EXCHANGE = {"inverse": "binancecoinm", "linear": "binanceusdm"}


def make_binance_venue(emu: Emulator, mode: str = "live", **cfg: Any) -> CcxtVenue:
    """A Binance `CcxtVenue` pointed at `emu` (not opened), fast retries, no throttle."""
    options = {"enableRateLimit": False, "timeout": 3000, **cfg.pop("options", {})}
    config = VenueConfig(
        exchange=emu.dialect.exchange,
        api_key=SecretStr(emu.api_key),
        secret=SecretStr(emu.secret),
        urls=Urls(rest=emu.rest_url, ws=emu.ws_url),
        options=options,
        **cfg,
    )
    return CcxtVenue("binance", config, mode, QUIRKS, FAST)


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
    venue = make_binance_venue(coinm_emu)
    await venue.open()
    yield venue
    await venue.close()


@pytest.fixture
async def venue(family_emu: Emulator) -> AsyncIterator[CcxtVenue]:
    venue = make_binance_venue(family_emu)
    await venue.open()
    yield venue
    await venue.close()
