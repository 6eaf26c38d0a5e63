"""BingX (ccxt id `bingx`): coin-M (`BTC/USD:BTC`, the cswap API) and USDT-M (`BTC/USDT:USDT`).

`traits`-as-data and the hooks that differ from ccxt's unified behaviour are in `quirks.py`, the
payload parsers in `parse.py`. The registry imports `QUIRKS` from here.
"""

from hedgekeeper.venues.bingx.quirks import TRAITS, BingxQuirks

QUIRKS = BingxQuirks()

__all__ = ["QUIRKS", "TRAITS", "BingxQuirks"]
