"""Configuration: the documented shape loads; each bad input exits 2 naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgekeeper import config
from hedgekeeper.cli import main

GOOD = """
mode = "dry-run"
journal = "hk.sqlite"
[venues.sim]
exchange = "sim"
[[legs]]
name = "btc"
asset = "BTC"
perp = { venue = "sim", symbol = "BTC/USD:BTC" }
spot = [{ venue = "sim" }, { amount = "0.5" }]
hedge_ratio = 1.0
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hk.toml"
    path.write_text(text)
    return path


def test_the_documented_shape_loads(tmp_path: Path) -> None:
    settings = config.load(write(tmp_path, GOOD))
    leg = settings.legs[0]
    assert leg.perp.symbol == "BTC/USD:BTC"
    assert leg.count_collateral is True
    assert [s.amount for s in leg.spot] == [None, config.Decimal("0.5")]


def test_the_embedded_default_loads() -> None:
    settings = config.load(None)
    assert settings.mode == "dry-run"
    assert settings.venues["sim"].exchange == "sim"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGEKEEPER_VENUES__SIM__API_KEY", "k-from-env")
    monkeypatch.setenv("HEDGEKEEPER_MODE", "testnet")
    settings = config.load(write(tmp_path, GOOD))
    assert settings.mode == "testnet"
    assert settings.venues["sim"].secret_value("api_key") == "k-from-env"
    assert "k-from-env" not in repr(settings)


def test_secret_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("file-secret\n")
    text = GOOD.replace('exchange = "sim"', f'exchange = "sim"\napi_key_file = "{tmp_path}/key"')
    settings = config.load(write(tmp_path, text))
    assert settings.venues["sim"].secret_value("api_key") == "file-secret"


RATIO, MODE, SIM = "hedge_ratio = 1.0", 'mode = "dry-run"', 'exchange = "sim"'
PERP, SPOT = 'perp = { venue = "sim"', 'spot = [{ venue = "sim" }'
EDITS = {  # case: (a line of GOOD, what it becomes, what the error names)
    "unknown leg key": (RATIO, RATIO + "\nhedge_raito = 1", "legs.0.hedge_raito: unknown key"),
    "ratio above one": (RATIO, "hedge_ratio = 1.5", "legs.0.hedge_ratio"),
    "negative ratio": (RATIO, "hedge_ratio = -0.1", "legs.0.hedge_ratio"),
    "missing venue": (
        PERP,
        'perp = { venue = "bybit"',
        "legs.0.perp.venue: no venue named 'bybit'",
    ),
    "missing spot venue": (
        SPOT,
        'spot = [{ venue = "okx" }',
        "legs.0.spot.0.venue: no venue named 'okx'",
    ),
    "non-numeric amount": ('amount = "0.5"', 'amount = "lots"', "legs.0.spot.1.amount"),
    "wrong type": (MODE, "mode = 3", "mode"),
    "bad mode": (MODE, 'mode = "yolo"', "mode"),
}
BAD = {case: (GOOD.replace(old, new), named) for case, (old, new, named) in EDITS.items()} | {
    "unknown top-level key": (GOOD + 'colour = "blue"\n', "colour: unknown key"),
    "duplicate legs": (
        GOOD + GOOD[GOOD.index("[[legs]]") :],
        "legs.1.name: duplicate leg name 'btc'",
    ),
    "not toml": ("this is = not [toml", "not valid TOML"),
    "no legs": (GOOD[: GOOD.index("[[legs]]")], "legs"),
    "leverage above one": (GOOD + "leverage = 3\n", "legs.0.leverage"),
    "polled slower than the staleness limit": (
        GOOD.replace(SIM, SIM + "\npoll_interval = 120") + "[legs.guards]\nmax_age_seconds = 60\n",
        "legs.0.guards.max_age_seconds: 60 s is not longer than venue 'sim''s poll_interval",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_exits_2_naming_the_field(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = BAD[case]
    code = main(["check", "--config", str(write(tmp_path, text))])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err, err
    assert "Traceback" not in err


def test_every_problem_gets_its_own_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "colour = 1\n" + GOOD.replace("hedge_ratio = 1.0", "hedge_ratio = 7")
    assert main(["check", "--config", str(write(tmp_path, text))]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert any("legs.0.hedge_ratio" in line for line in lines)
    assert any("colour: unknown key" in line for line in lines)


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_live_without_confirmation_exits_2_after_saying_what_it_would_hedge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEDGEKEEPER_CONFIRM_LIVE", raising=False)
    path = write(tmp_path, GOOD.replace('mode = "dry-run"', 'mode = "live"'))
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "leg btc: hedge 100% of BTC" in err
    assert "--confirm-live" in err and "HEDGEKEEPER_CONFIRM_LIVE" in err


def test_live_confirmed_by_environment_passes_the_interlock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEDGEKEEPER_CONFIRM_LIVE", "1")
    assert config.live_confirmed(False)
    monkeypatch.delenv("HEDGEKEEPER_CONFIRM_LIVE")
    assert not config.live_confirmed(False)
    assert config.live_confirmed(True)
