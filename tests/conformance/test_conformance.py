"""Every adapter on every market it supports passes every check (table: markets.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.checks import CHECKS
from tests.conformance.harness import Market
from tests.conformance.markets import MARKETS


@pytest.mark.parametrize("name", list(CHECKS))
@pytest.mark.parametrize("market", MARKETS, ids=[m.id for m in MARKETS])
async def test_conformance(market: Market, name: str, tmp_path: Path) -> None:
    async with market.make(market) as harness:
        await CHECKS[name](harness, tmp_path)
