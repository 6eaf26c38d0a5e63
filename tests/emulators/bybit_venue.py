"""A Bybit `CcxtVenue` wired to a Bybit `Emulator`, for adapter and engine tests."""

from __future__ import annotations

from typing import Any

from hedgekeeper.venues.ccxt.venue import CcxtVenue
from tests.emulators.core.server import Emulator
from tests.venues.wire_venue import FAST, wire_venue

__all__ = ["FAST", "make_bybit_venue"]


def make_bybit_venue(emulator: Emulator, mode: str = "testnet", **cfg: Any) -> CcxtVenue:
    """A `CcxtVenue` with Bybit quirks pointed at `emulator` (not opened), fast retries."""
    return wire_venue(emulator, mode, password=None, **cfg)
