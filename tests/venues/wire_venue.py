"""A ccxt venue with its exchange's quirks (from the registry), pointed at an emulator dialect."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from hedgekeeper.config import Urls, VenueConfig
from hedgekeeper.venues.ccxt.transport import Backoff
from hedgekeeper.venues.ccxt.venue import CcxtVenue
from hedgekeeper.venues.registry import quirks_for
from tests.emulators.core.server import Emulator

FAST = Backoff(attempts=4, initial=0.001, maximum=0.01, stream_attempts=6)


def wire_venue(emu: Emulator, mode: str = "testnet", **cfg: Any) -> CcxtVenue:
    """Not opened; fast retries, no client-side throttle, the emulator's key, secret, passphrase."""
    exchange = emu.dialect.exchange
    options = {"enableRateLimit": False, "timeout": 3000, **cfg.pop("options", {})}
    config = VenueConfig(
        exchange=exchange,
        api_key=SecretStr(emu.api_key),
        secret=SecretStr(emu.secret),
        password=SecretStr(emu.password),
        urls=Urls(rest=emu.rest_url, ws=emu.ws_url),
        options=options,
        **cfg,
    )
    return CcxtVenue(exchange, config, mode, quirks_for(exchange), FAST)
