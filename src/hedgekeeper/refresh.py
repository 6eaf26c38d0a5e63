"""A REST read of one leg's inputs: the truth the streams only speed up, with the collateral's
equity paired with the mark it was computed at.

An exchange computes the equity (wallet plus the position's unrealised PnL) at its own mark at the
instant it answers, and the feed carries that equity from its mark to the current one (feed.py).
A price read alongside the wallet read cannot vouch for that mark: the price may move between the
two answers, and the pair would carry PnL from the wrong basis. On an inverse perp at h = 1 that is
a drift of |q|·ΔP/P contracts out of a price move alone, and an order SPEC §1 forbids.

So the reads are bracketed: the opening mark is the one the feed holds before any request goes
(it was answered before the wallet's), the closing mark is read after the wallet answered. When
the two agree, the exchange's mark did not move between them (short of a move and its exact undo
within one round trip), and the equity is paired with it. When they disagree, the closing mark
opens the next round: the wallet read again, then the price. After `ROUNDS` rounds of a moving
mark the readings are applied but marked unpaired, and the guards hold the leg "degraded" (no
order on an exposure the daemon cannot vouch for) until a later read or a wallet push pairs them;
reading on in a fast market would only spend the rate limit.

The common case costs what a concurrent read did: the same requests (the opening mark is free),
one more round trip. Why not the alternatives: no exchange we trade reports the mark its wallet
figure is at (`Collateral.mark` takes one where an adapter can), and rebuilding the equity from
wallet and entry price would depend on each exchange's idea of "wallet" (fees, funding, other
positions in the same coin).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

from hedgekeeper.config import LegConfig
from hedgekeeper.domain import Collateral, Prices
from hedgekeeper.feed import Feed
from hedgekeeper.venues.base import Reading, SpotReading, Venue

ROUNDS = 3  # wallet-then-price rounds before the pair is given up as unpaired


async def read(
    leg: LegConfig, venues: dict[str, Venue], feed: Feed, exposure_only: bool = False
) -> None:
    """Read every input and apply it to `feed`, or apply nothing when a read fails. With
    `exposure_only`, only what X is made of (wallets, and the mark their PnL is at): what the
    glitch guard must confirm before an order may go (SPEC §2), and no more."""
    perp, symbol, asset = venues[leg.perp.venue], feed.market.symbol, leg.asset
    opening = feed.prices.mark if feed.prices else None  # answered before any request below
    (collateral, prices, marks), positions, amounts = await asyncio.gather(
        _paired(perp, symbol, opening),
        asyncio.gather(*([] if exposure_only else [perp.position(symbol)])),
        asyncio.gather(*(venues[v].spot(asset) for v in feed.spot_venues)),
    )
    venue = leg.perp.venue
    readings: list[Reading] = [prices, *positions, collateral]
    for reading in readings:
        feed.apply(venue, reading)
    if collateral.mark is None:  # applied at the closing mark, the best guess, and said so
        seen = " -> ".join(str(m) for m in marks if m is not None)
        feed.unpaired = (
            f"the mark moved during each of {ROUNDS} reads of the collateral ({seen}): "
            "its equity is not paired with a price"
        )
    for name, amount in zip(feed.spot_venues, amounts, strict=True):
        feed.apply(name, SpotReading(asset, amount))


async def _paired(
    perp: Venue, symbol: str, opening: Decimal | None
) -> tuple[Collateral, Prices, list[Decimal | None]]:
    """The wallet, then the price, up to `ROUNDS` times, until the price agrees with the one
    before the wallet read: the collateral then carries that mark (None: never paired)."""
    marks = [opening]
    for _ in range(ROUNDS):
        collateral = await perp.collateral(symbol)
        prices = await perp.prices(symbol)
        marks.append(prices.mark)
        if collateral.mark is not None:  # the exchange said which mark its PnL is at
            break
        if prices.mark == marks[-2]:
            collateral = replace(collateral, mark=prices.mark)
            break
    return collateral, prices, marks
