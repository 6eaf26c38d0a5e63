"""Venue construction by exchange id: the built-in sim, or a ccxt venue with its quirks."""

from __future__ import annotations

from hedgekeeper.config import SimConfig, VenueConfig
from hedgekeeper.venues.base import Venue
from hedgekeeper.venues.ccxt_quirks import Quirks
from hedgekeeper.venues.ccxt_venue import CcxtVenue


def quirks_for(exchange: str) -> Quirks:
    """A fresh quirks object (it may learn account facts on open) for a ccxt exchange id."""
    if exchange == "bybit":
        from hedgekeeper.venues.bybit import BybitQuirks

        return BybitQuirks()
    return Quirks()


def make_venue(name: str, cfg: VenueConfig, mode: str) -> Venue:
    """The sim for exchange = "sim"; otherwise ccxt (REST + ccxt.pro streams), imported lazily."""
    if cfg.exchange == "sim":
        from hedgekeeper.venues.sim import SimVenue

        return SimVenue(name, cfg.sim or SimConfig())
    return CcxtVenue(name, cfg, mode, quirks_for(cfg.exchange))
