"""Venue construction by exchange id: the built-in sim, or a ccxt venue with its exchange's quirks.

An exchange with quirks is a package `hedgekeeper.venues.<ccxt id>` exposing `QUIRKS`; it is
listed here by its ccxt id and imported only when a config names it. Any other ccxt id gets the
ccxt-unified `Quirks`.
"""

from __future__ import annotations

import importlib

from hedgekeeper.config import SimConfig, VenueConfig
from hedgekeeper.venues.base import Venue
from hedgekeeper.venues.ccxt.quirks import Quirks
from hedgekeeper.venues.ccxt.venue import CcxtVenue

EXCHANGES: dict[str, str] = {
    "bingx": "hedgekeeper.venues.bingx",
    "bitget": "hedgekeeper.venues.bitget",
    "bybit": "hedgekeeper.venues.bybit",
    "mexc": "hedgekeeper.venues.mexc",
    "deribit": "hedgekeeper.venues.deribit",
    "binancecoinm": "hedgekeeper.venues.binance",
    "binanceusdm": "hedgekeeper.venues.binance",
    "okx": "hedgekeeper.venues.okx",
    "weex": "hedgekeeper.venues.weex",
}


def quirks_for(exchange: str) -> Quirks:
    """The quirks of a ccxt exchange id: its package's `QUIRKS`, or the ccxt-unified default."""
    package = EXCHANGES.get(exchange)
    if package is None:
        return Quirks()
    quirks = importlib.import_module(package).QUIRKS
    assert isinstance(quirks, Quirks), f"{package}.QUIRKS is not a Quirks"
    return quirks


def make_venue(name: str, cfg: VenueConfig, mode: str) -> Venue:
    """The sim for exchange = "sim"; otherwise ccxt (REST + ccxt.pro streams), imported lazily."""
    if cfg.exchange == "sim":
        from hedgekeeper.venues.sim import SimVenue

        return SimVenue(name, cfg.sim or SimConfig())
    return CcxtVenue(name, cfg, mode, quirks_for(cfg.exchange))
