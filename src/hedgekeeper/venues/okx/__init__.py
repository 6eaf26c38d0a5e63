"""OKX (ccxt id `okx`): the inverse (`BTC/USD:BTC`, 100 USD contracts) and linear
(`BTC/USDT:USDT`, 0.01 BTC contracts) swaps on a unified trading account.

Traits as data and the hooks that differ from ccxt's unified behaviour are in `quirks.py`, the
payload parsers in `parse.py`. The registry imports `QUIRKS` from here.
"""

from hedgekeeper.venues.okx.quirks import TRAITS, OkxQuirks

QUIRKS = OkxQuirks()

__all__ = ["QUIRKS", "TRAITS", "OkxQuirks"]
