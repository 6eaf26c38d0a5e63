"""The built-in exchange: a deterministic simulated account (`SimExchange`) behind the port."""

from hedgekeeper.venues.sim.book import SimFill, SimTransfer
from hedgekeeper.venues.sim.exchange import SimExchange
from hedgekeeper.venues.sim.venue import SimVenue

__all__ = ["SimExchange", "SimFill", "SimTransfer", "SimVenue"]
