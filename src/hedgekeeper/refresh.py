"""A REST read of one leg's inputs: the truth the streams only speed up, with the collateral's
equity paired with the mark it was computed at.

The feed carries a wallet's equity from the mark its PnL is at to the current one (feed.py). Read
concurrently with the price, as it once was, the wallet could be answered after the mark moved:
the pair then carries PnL from the wrong basis, on an inverse perp at h = 1 a drift of |q|·ΔP/P
contracts out of a price move alone, and an order SPEC §1 forbids. So the wallet is bracketed by
two marks (venues/pairing.py); the opening one is the mark the feed holds before any request goes,
so the common case costs the requests a concurrent read did, and one more round trip.

After `pairing.ROUNDS` rounds of a moving mark the readings are applied but marked unpaired, and
the guards hold the leg "degraded" (no order on an exposure the daemon cannot vouch for) until a
later read or a wallet push pairs them; reading on in a fast market would only spend the rate
limit. Why not the alternatives: no exchange we trade reports the mark its wallet figure is at
(`Collateral.mark` takes one where an adapter can), and rebuilding the equity from wallet and
entry price would depend on each exchange's idea of "wallet" (fees, funding, other positions in
the same coin).
"""

from __future__ import annotations

import asyncio

from hedgekeeper.config import LegConfig
from hedgekeeper.feed import Feed
from hedgekeeper.venues.base import Reading, SpotReading, Venue
from hedgekeeper.venues.pairing import read_pair


async def read(
    leg: LegConfig, venues: dict[str, Venue], feed: Feed, exposure_only: bool = False
) -> None:
    """Read every input and apply it to `feed`, or apply nothing when a read fails. With
    `exposure_only`, only what X is made of (wallets, and the mark their PnL is at): what the
    glitch guard must confirm before an order may go (SPEC §2), and no more."""
    perp, symbol, asset = venues[leg.perp.venue], feed.market.symbol, leg.asset
    opening = feed.prices.mark if feed.prices else None  # answered before any request below
    pair, positions, amounts = await asyncio.gather(
        read_pair(perp, symbol, opening),
        asyncio.gather(*([] if exposure_only else [perp.position(symbol)])),
        asyncio.gather(*(venues[v].spot(asset) for v in feed.spot_venues)),
    )
    venue = leg.perp.venue
    readings: list[Reading] = [pair.prices, *positions, pair.collateral]
    for reading in readings:
        feed.apply(venue, reading)
    if not pair.paired:  # applied at the closing mark, the best guess, and said so
        feed.unpaired = pair.why_unpaired()
    for name, amount in zip(feed.spot_venues, amounts, strict=True):
        feed.apply(name, SpotReading(asset, amount))
