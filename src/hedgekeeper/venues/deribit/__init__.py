"""Deribit (ccxt id `deribit`): inverse `BTC/USD:BTC` (BTC-PERPETUAL) and linear `BTC/USDC:USDC`
(BTC_USDC-PERPETUAL).

The hooks that differ from ccxt's unified behaviour are in `quirks.py`, the JSON-RPC result
parsers in `parse.py`. The registry imports `QUIRKS` from here.
"""

from hedgekeeper.venues.deribit.quirks import TRAITS, DeribitQuirks

QUIRKS = DeribitQuirks()

__all__ = ["QUIRKS", "TRAITS", "DeribitQuirks"]
