"""Binance (ccxt ids `binancecoinm`, `binanceusdm`): COIN-M (`BTC/USD:BTC`) and USDⓈ-M
(`BTC/USDT:USDT`) perps, with the spot wallet through a plain `binance` client.

Traits and hooks in `quirks.py`, error codes in `codes.py`, payload parsers in `payloads.py`, the
account's wallets and what `check` advises in `account.py`. The registry imports `QUIRKS`.
"""

from hedgekeeper.venues.binance.quirks import TRAITS, BinanceQuirks

QUIRKS = BinanceQuirks()

__all__ = ["QUIRKS", "TRAITS", "BinanceQuirks"]
