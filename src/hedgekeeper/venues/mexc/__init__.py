"""MEXC (ccxt id `mexc`): reads of the spot wallet, futures balances and positions; futures
orders only for a key the exchange is shown to accept (most keys are refused, error 1002).

The quirks and the refusal are in `quirks.py`. The registry imports `QUIRKS` from here.
"""

from hedgekeeper.venues.mexc.quirks import TRAITS, MexcQuirks

QUIRKS = MexcQuirks()

__all__ = ["QUIRKS", "TRAITS", "MexcQuirks"]
