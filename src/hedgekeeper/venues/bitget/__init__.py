"""Bitget (ccxt id `bitget`): coin-futures (`BTC/USD:BTC`, inverse, amounts in coin) and
USDT-futures (`BTC/USDT:USDT`) on a classic account.

Traits as data and the hooks that differ from ccxt's unified behaviour are in `quirks.py`, the
payload parsers and the USD-face arithmetic in `parse.py`. The registry imports `QUIRKS` here.
"""

from hedgekeeper.venues.bitget.quirks import TRAITS, BitgetQuirks

QUIRKS = BitgetQuirks()

__all__ = ["QUIRKS", "TRAITS", "BitgetQuirks"]
