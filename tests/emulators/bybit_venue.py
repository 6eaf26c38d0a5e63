"""A Bybit `CcxtVenue` wired to a Bybit `Emulator`, for adapter and engine tests."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from hedgekeeper.config import Urls, VenueConfig
from hedgekeeper.venues.bybit import BybitQuirks
from hedgekeeper.venues.ccxt.transport import Backoff
from hedgekeeper.venues.ccxt.venue import CcxtVenue
from tests.emulators.core.server import Emulator

FAST = Backoff(attempts=4, initial=0.001, maximum=0.01, stream_attempts=6)


def make_bybit_venue(emulator: Emulator, mode: str = "testnet", **cfg: Any) -> CcxtVenue:
    """A `CcxtVenue` with Bybit quirks pointed at `emulator` (not opened), fast retries."""
    options = {"enableRateLimit": False, "timeout": 3000, **cfg.pop("options", {})}
    config = VenueConfig(
        exchange="bybit",
        api_key=SecretStr(emulator.api_key),
        secret=SecretStr(emulator.secret),
        urls=Urls(rest=emulator.rest_url, ws=emulator.ws_url),
        options=options,
        **cfg,
    )
    return CcxtVenue("bybit", config, mode, BybitQuirks(), FAST)
