"""A wallet reading paired with the mark its equity is at, through the venue port.

An exchange computes a wallet's equity (balance plus the positions' unrealised PnL) at its own
mark at the instant it answers, and says nothing of that mark. A price read alongside cannot vouch
for it, since the price may move between the two answers. Bracketing can: a mark answered before
the wallet request was sent (`opening`), the wallet, then a mark read after the wallet answered;
when the two marks agree, the exchange's mark did not move between them (short of a move and its
exact undo within one round trip), and the equity is at that mark. When they disagree the closing
mark opens the next round. Used by the REST refresh (refresh.py); a venue's own REST poll of its
wallet (BingX, MEXC, WEEX poll it apart from the ticker) is not paired yet: see feed.py.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from hedgekeeper.domain import Collateral, Prices
from hedgekeeper.venues.base import Venue

ROUNDS = 3  # wallet-then-price rounds before the pair is given up: the mark is moving too fast


@dataclass(frozen=True, slots=True)
class Pair:
    """The last wallet read and the price read after it. `collateral.mark` is set when they
    pair (by the brackets, or by the exchange itself); `marks` are the marks seen, in order."""

    collateral: Collateral
    prices: Prices
    marks: tuple[Decimal, ...]

    @property
    def paired(self) -> bool:
        return self.collateral.mark is not None

    def why_unpaired(self) -> str:
        seen = " -> ".join(str(m) for m in self.marks)
        return (
            f"the mark moved during each of {ROUNDS} reads of the collateral ({seen}): "
            "its equity is not paired with a price"
        )


async def read_pair(venue: Venue, symbol: str, opening: Decimal | None = None) -> Pair:
    """The wallet, then the price, up to `ROUNDS` times, until the price agrees with the one
    before the wallet read. Without an `opening` mark (answered before this call), one is read
    first: the common case then costs two price reads, one with it."""
    marks = [(await venue.prices(symbol)).mark] if opening is None else [opening]
    for _ in range(ROUNDS):
        collateral = await venue.collateral(symbol)
        prices = await venue.prices(symbol)
        marks.append(prices.mark)
        if collateral.mark is None and prices.mark == marks[-2]:
            collateral = replace(collateral, mark=prices.mark)
        if collateral.mark is not None:  # paired here, or the exchange said which mark
            break
    return Pair(collateral, prices, tuple(marks))
