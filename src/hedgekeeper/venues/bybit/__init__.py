"""Bybit (ccxt id `bybit`): inverse (`BTC/USD:BTC`) and linear (`BTC/USDT:USDT`) perps.

`traits`-as-data and the hooks that differ from ccxt's unified behaviour are in `quirks.py`, the
payload parsers in `parse.py`. The registry imports `QUIRKS` from here.
"""

from hedgekeeper.venues.bybit.quirks import TRAITS, BybitQuirks

QUIRKS = BybitQuirks()

__all__ = ["QUIRKS", "TRAITS", "BybitQuirks"]
