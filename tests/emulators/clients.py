"""Real ccxt clients of an emulator dialect, for the dialects' own tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro

from tests.emulators.core.server import Emulator


def ccxt_client(emu: Emulator, pro: bool = False, name: str = "", **options: Any) -> Any:
    """A real ccxt (or ccxt.pro) client of `name` (default: `emu`'s exchange), pointed at `emu`,
    no client-side throttle, with `options` (none: ccxt's own)."""
    config: dict[str, Any] = {"enableRateLimit": False}
    if options:
        config["options"] = options
    module = ccxt_pro if pro else ccxt_async
    return emu.configure(getattr(module, name or emu.dialect.exchange)(config))


@contextlib.asynccontextmanager
async def loaded(exchange: Any) -> AsyncIterator[Any]:
    """A ccxt client with its markets loaded for the block, closed after it."""
    try:
        await exchange.load_markets()
        yield exchange
    finally:
        await exchange.close()
