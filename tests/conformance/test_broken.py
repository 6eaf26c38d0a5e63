"""The test of the suite: every conformance check fails against an adapter broken its way.

Run on the sim (fast, and the breakage sits at the port, below the engine, as in any adapter)
and, for the breakages a wire adapter can have too, on Bybit inverse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.broken import BREAKERS
from tests.conformance.checks import CHECKS
from tests.conformance.harness import Market
from tests.conformance.markets import MARKETS

SIM = next(m for m in MARKETS if m.id == "sim-inverse")
BYBIT = next(m for m in MARKETS if m.id == "bybit-inverse")
ON_THE_WIRE = ("answered_late_placed_once", "duplicate_is_settled", "rate_limit_backs_off",
               "withdrawal_covers_reduce_only", "empty_wallet_no_order")  # fmt: skip


def test_every_check_has_a_breaker() -> None:
    assert set(BREAKERS) == set(CHECKS)


@pytest.mark.parametrize(
    ("market", "name"),
    [(SIM, name) for name in CHECKS] + [(BYBIT, name) for name in ON_THE_WIRE],
    ids=[f"sim-{n}" for n in CHECKS] + [f"bybit-{n}" for n in ON_THE_WIRE],
)
async def test_check_fails_on_a_broken_adapter(market: Market, name: str, tmp_path: Path) -> None:
    variant, failure = BREAKERS[name]
    async with market.make(market) as harness:
        if not market.external:
            harness.timeout = 2.5  # the variants caught by a wait that runs out are the sim's
        with pytest.raises(AssertionError, match=failure):
            await CHECKS[name](harness, tmp_path, variant)
