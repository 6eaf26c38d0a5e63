"""A ccxt venue with its exchange's quirks (from the registry), pointed at an emulator dialect."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from hedgekeeper.config import Urls, VenueConfig
from hedgekeeper.domain import OrderRequest
from hedgekeeper.venues.base import DuplicateClientId, InsufficientMargin
from hedgekeeper.venues.ccxt.quirks import Quirks
from hedgekeeper.venues.ccxt.transport import Backoff
from hedgekeeper.venues.ccxt.venue import CcxtVenue
from hedgekeeper.venues.registry import quirks_for
from tests.emulators.core.server import Emulator

FAST = Backoff(attempts=4, initial=0.001, maximum=0.01, stream_attempts=6)


def wire_venue(
    emu: Emulator,
    mode: str = "testnet",
    name: str | None = None,
    quirks: Quirks | None = None,
    **cfg: Any,
) -> CcxtVenue:
    """Not opened; fast retries, no client-side throttle, the emulator's key, secret, passphrase
    (`password=None` for none). Named `name`, else by its ccxt exchange id; the exchange's
    quirks from the registry unless a test gives a variant of them."""
    exchange = emu.dialect.exchange
    options = {"enableRateLimit": False, "timeout": 3000, **cfg.pop("options", {})}
    settings = {"password": SecretStr(emu.password), **cfg}
    config = VenueConfig(
        exchange=exchange,
        api_key=SecretStr(emu.api_key),
        secret=SecretStr(emu.secret),
        urls=Urls(rest=emu.rest_url, ws=emu.ws_url),
        options=options,
        **settings,
    )
    return CcxtVenue(name or exchange, config, mode, quirks or quirks_for(exchange), FAST)


@contextlib.asynccontextmanager
async def opened(venue: CcxtVenue) -> AsyncIterator[CcxtVenue]:
    """`venue` opened for the block, closed after it."""
    await venue.open()
    try:
        yield venue
    finally:
        await venue.close()


async def refusal_codes(
    venue: CcxtVenue, once: OrderRequest, too_big: OrderRequest
) -> tuple[str | None, str | None]:
    """Place `once` twice, then `too_big`: the exchange codes of the `DuplicateClientId` and the
    `InsufficientMargin` that the second and the third raise."""
    await venue.place(once)
    with pytest.raises(DuplicateClientId) as dup:
        await venue.place(once)
    with pytest.raises(InsufficientMargin) as margin:
        await venue.place(too_big)
    return dup.value.code, margin.value.code
