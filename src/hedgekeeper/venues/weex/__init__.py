"""WEEX (ccxt id `weex`): USDT-M linear perpetuals (`BTC/USDT:USDT`), amounts in coin.

`traits`-as-data and the hooks that differ from ccxt's unified behaviour are in `quirks.py`, the
payload parsers in `parse.py`. The registry imports `QUIRKS` from here.
"""

from hedgekeeper.venues.weex.quirks import TRAITS, WeexQuirks

QUIRKS = WeexQuirks()

__all__ = ["QUIRKS", "TRAITS", "WeexQuirks"]
