"""MEXC perp legs: refused plainly without the user's consent, and with it, by what MEXC says
to a probe order: error 1002 refuses the leg, an accepted probe is cancelled at once and the leg
may trade. Through the real ccxt client against the MEXC dialect; reads work either way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from hedgekeeper import cli
from hedgekeeper.config import Settings, VenueConfig
from hedgekeeper.domain import OrderRequest, Side
from hedgekeeper.venues.base import OrderRejected, VenueError
from hedgekeeper.venues.ccxt.venue import CcxtVenue
from hedgekeeper.venues.registry import make_venue
from tests.emulators.core.account import Account
from tests.emulators.core.server import Emulator
from tests.emulators.dialects import mexc

SUBMIT = "/api/v1/private/order/create"
CANCEL = "/api/v1/private/order/cancel"


def venue_config(emu: Emulator, probe: bool) -> dict[str, object]:
    return {"exchange": "mexc", "api_key": emu.api_key, "secret": emu.secret,
            "urls": {"rest": emu.rest_url, "ws": emu.ws_url}, "probe_orders": probe,
            "options": {"enableRateLimit": False, "timeout": 3000}}  # fmt: skip


@pytest.fixture
async def refusing() -> AsyncIterator[Emulator]:
    account = Account(unified=False, price=D(60000), balances={"BTC": D(1), "USDT": D(0)})
    async with mexc.emulator(account, refuse_futures=True) as emu:
        yield emu


@pytest.fixture
async def accepting() -> AsyncIterator[Emulator]:
    account = Account(unified=False, price=D(60000), balances={"BTC": D(1), "USDT": D(0)})
    account.transfer("BTC", D("0.5"), "spot", "derivatives")
    async with mexc.emulator(account, refuse_futures=False) as emu:
        yield emu


async def opened(emu: Emulator, probe: bool, mode: str = "live") -> CcxtVenue:
    venue = make_venue("mexc", VenueConfig.model_validate(venue_config(emu, probe)), mode)
    assert isinstance(venue, CcxtVenue)
    await venue.open()
    return venue


async def test_without_consent_the_leg_is_refused_plainly_and_nothing_is_sent(
    refusing: Emulator,
) -> None:
    venue = await opened(refusing, probe=False)
    try:
        why = await venue.trading_refusal("BTC/USD:BTC")
        assert why is not None and "error 1002" in why and "probe_orders = true" in why
        with pytest.raises(VenueError, match="refusing to trade BTC/USD:BTC"):
            await venue.ensure_settings("BTC/USD:BTC", D(1), "cross")
        request = OrderRequest("BTC/USD:BTC", Side.SELL, D(1), False, None, "hk1")
        with pytest.raises(OrderRejected, match="not sent"):
            await venue.place(request)
        assert (await venue.spot("BTC")).value == D(1)  # reads work
        assert (await venue.position("BTC/USD:BTC")).contracts == 0
        assert (await venue.prices("BTC/USD:BTC")).mark == D(60000)
    finally:
        await venue.close()
    assert refusing.request_count(SUBMIT) == 0


async def test_a_probe_answered_1002_refuses_the_leg_in_mexcs_words(refusing: Emulator) -> None:
    venue = await opened(refusing, probe=True)
    try:
        why = await venue.trading_refusal("BTC/USD:BTC")
        assert why is not None and "refused the probe order" in why and mexc.NOT_ALLOWED in why
        assert await venue.trading_refusal("BTC/USD:BTC") == why  # asked once
        with pytest.raises(OrderRejected, match="not sent"):
            await venue.place(OrderRequest("BTC/USD:BTC", Side.SELL, D(1), False, None, "hk1"))
    finally:
        await venue.close()
    assert refusing.request_count(SUBMIT) == 1 and refusing.request_count(CANCEL) == 0


async def test_an_accepted_probe_is_cancelled_at_once_and_the_leg_may_trade(
    accepting: Emulator,
) -> None:
    venue = await opened(accepting, probe=True)
    try:
        assert await venue.trading_refusal("BTC/USD:BTC") is None
        await venue.ensure_settings("BTC/USD:BTC", D(1), "cross")
    finally:
        await venue.close()
    (probe,) = accepting.order_log
    assert probe.placed is not None and probe.placed.side == "buy"
    assert probe.params["price"] == 30000.0  # half the mark: it cannot fill
    (order,) = accepting.account.orders.values()
    assert (order.status, order.cum_qty) == ("cancelled", 0)
    assert accepting.request_count(SUBMIT) == 1 and accepting.request_count(CANCEL) == 1


async def test_dry_run_never_probes_even_with_consent(accepting: Emulator) -> None:
    venue = await opened(accepting, probe=True, mode="dry-run")
    try:
        assert "error 1002" in (await venue.trading_refusal("BTC/USD:BTC") or "")
    finally:
        await venue.close()
    assert accepting.request_count(SUBMIT) == 0


@pytest.mark.parametrize("probe", [False, True])
async def test_check_says_so_and_fails(
    refusing: Emulator, probe: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.model_validate({
        "mode": "live", "journal": str(tmp_path / "j.sqlite"),
        "venues": {"mexc": venue_config(refusing, probe)},
        "legs": [{"name": "btc", "asset": "BTC", "perp": {"venue": "mexc",
                  "symbol": "BTC/USD:BTC"}, "spot": [{"venue": "mexc"}], "hedge_ratio": 1}],
    })  # fmt: skip
    assert await cli.check(settings) == 1
    out = capsys.readouterr().out
    assert "btc: trading refused: mexc: " in out
    assert ("refused the probe order" if probe else "error 1002") in out
    assert "check: FAILED" in out


async def test_check_passes_once_a_probe_is_accepted(
    accepting: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.model_validate({
        "mode": "live", "journal": str(tmp_path / "j.sqlite"),
        "venues": {"mexc": venue_config(accepting, True)},
        "legs": [{"name": "btc", "asset": "BTC", "perp": {"venue": "mexc",
                  "symbol": "BTC/USD:BTC"}, "spot": [{"venue": "mexc"}], "hedge_ratio": 1}],
    })  # fmt: skip
    assert await cli.check(settings) == 0
    assert "check: ok" in capsys.readouterr().out
