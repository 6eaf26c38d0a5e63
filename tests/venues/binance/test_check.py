"""`hedgekeeper check` on Binance COIN-M: what it reads, and what it says to change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from hedgekeeper import cli, config
from hedgekeeper.config import Settings
from tests.emulators.core.server import Emulator
from tests.emulators.dialects.binance import COINM, emulator

D = Decimal


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with emulator("inverse") as running:
        yield running


def settings(emu: Emulator) -> Settings:
    return Settings.model_validate({
        "mode": "live",
        "journal": "unused.sqlite",
        "ops": {"enabled": False},
        "venues": {"binance": {
            "exchange": "binancecoinm", "api_key": emu.api_key, "secret": emu.secret,
            "urls": {"rest": emu.rest_url, "ws": emu.ws_url},
            "options": {"enableRateLimit": False},
        }},
        "legs": [{"name": "btc", "asset": "BTC",
                  "perp": {"venue": "binance", "symbol": "BTC/USD:BTC"},
                  "spot": [{"venue": "binance"}], "hedge_ratio": "1"}],
    })  # fmt: skip


async def test_check_reports_the_account_and_what_to_change(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emu.account.hedge_mode = True
    assert await cli.check(settings(emu)) == 0
    out = capsys.readouterr().out
    assert "market BTC/USD:BTC inverse, contract size 100 USD per contract, step 1" in out
    assert "wallet separate" in out and "leverage 20x, margin cross, position mode hedge" in out
    assert "spot 1 BTC, BTC margin wallet 0" in out
    assert "to change: position mode is hedge (dual side) on COIN-M" in out
    assert "to change: leverage is 20x, the leg wants 1x" in out
    assert "margin mode is" not in out  # cross, as the leg wants
    assert emu.account.positions[COINM.id].leverage == 20  # check only reads


async def test_check_on_a_right_account_has_nothing_to_change(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emu.account.positions[COINM.id].leverage = D(1)
    assert await cli.check(settings(emu)) == 0
    out = capsys.readouterr().out
    assert "to change" not in out and "check: ok" in out


ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("name", "kind", "market"),
    [
        ("binance-coinm.toml", "inverse", "BTC/USD:BTC inverse, contract size 100 USD"),
        ("binance-usdm.toml", "linear", "BTC/USDT:USDT linear, contract size 1 BTC"),
    ],
)
async def test_shipped_configs_check_on_demo_trading(
    name: str, kind: str, market: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """The files as shipped (demo trading: no sapi host), with only URLs and keys overridden."""
    async with emulator(kind, demo=True) as emu:
        for key, value in (("URLS__REST", emu.rest_url), ("URLS__WS", emu.ws_url),
                           ("API_KEY", emu.api_key), ("SECRET", emu.secret)):  # fmt: skip
            monkeypatch.setenv(f"HEDGEKEEPER_VENUES__BINANCE__{key}", value)
        settings = config.load(ROOT / "config" / name)
        assert settings.mode == "testnet"
        assert await cli.check(settings) == 0
    out = capsys.readouterr().out
    assert market in out and "check: ok" in out
    assert "to change: leverage is 20x" in out  # Binance's default, until the daemon sets 1x
