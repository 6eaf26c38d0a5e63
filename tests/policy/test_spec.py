"""Policy parameters: the config table and the --compare syntax, and their one-line errors."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from hedgekeeper import config
from hedgekeeper.cli import main
from hedgekeeper.config import ConfigError
from hedgekeeper.policy import (
    ConstantPolicy,
    CppiPolicy,
    PutPolicy,
    SpecError,
    describe,
    parse_spec,
)

D = Decimal
BASE = """
mode = "dry-run"
journal = "hk.sqlite"
[ops]
enabled = false
[venues.sim]
exchange = "sim"
{venue}
[[legs]]
name = "btc"
asset = "BTC"
perp = {{ venue = "sim", symbol = "BTC/USD:BTC" }}
spot = [{{ venue = "sim" }}]
{policy}
"""


def parse(policy: str, venue: str = "") -> config.Settings:
    return config.parse(BASE.format(policy=policy, venue=venue), "hk.toml")


def problems(policy: str, venue: str = "") -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse(policy, venue)
    return exc.value.problems


def test_hedge_ratio_is_the_constant_policy() -> None:
    leg = parse("hedge_ratio = 0.5").legs[0]
    assert leg.policy == ConstantPolicy(ratio=D("0.5")) and leg.hedge_ratio == D("0.5")
    same = parse('policy = { kind = "constant", ratio = "0.5" }').legs[0]
    assert same.policy == leg.policy and same.hedge_ratio == D("0.5")


def test_floor_policies_parse_with_their_defaults() -> None:
    cppi = parse('policy = { kind = "cppi", floor_pct = "0.8", multiplier = "3" }').legs[0]
    assert isinstance(cppi.policy, CppiPolicy) and cppi.hedge_ratio is None
    assert (cppi.policy.deadband_h, cppi.policy.floor_buffer, cppi.policy.lock_in) == (
        D("0.02"),
        D(0),
        D(0),
    )
    tipp = parse('policy = { kind = "cppi", floor_pct = "0.8", multiplier = "3", lock_in = "0.9" }')
    assert isinstance(tipp.legs[0].policy, CppiPolicy) and tipp.legs[0].policy.ratchets
    put = parse(
        'policy = { kind = "put", strike_pct = "0.9", horizon_days = 30, vol_window_days = 30,'
        ' vol_floor = "0.8" }'
    ).legs[0]
    assert isinstance(put.policy, PutPolicy) and put.policy.vol_floor == D("0.8")


@pytest.mark.parametrize(
    ("policy", "venue", "expected"),
    [
        (
            'policy = { kind = "cppi", floor_pct = "0.8", floor_usd = "1000" }',
            "",
            "hk.toml: legs.0.policy: floor_pct, floor_usd: give one of them, not both",
        ),
        (
            'policy = { kind = "collar" }',
            "",
            "hk.toml: legs.0.policy.kind: unknown policy kind 'collar' (expected constant, "
            "cppi, tipp, put)",
        ),
        (
            'policy = { kind = "cppi", floor_pct = "1.1" }',
            "",
            "hk.toml: legs.0.policy.floor_pct: Input should be less than 1",
        ),
        (  # the sim evaluates once per hour of its path: a 20 % fall is plausible
            'policy = { kind = "cppi", floor_pct = "0.8", multiplier = "6" }',
            "",
            "hk.toml: legs.0.policy.multiplier: 6 cannot defend the floor when the leg is "
            "evaluated every 1 h: a fall of 20% between evaluations is plausible, so the "
            "multiplier must be at most 5",
        ),
        (
            'policy = { kind = "cppi", floor_pct = "0.8", multiplier = "3", bogus = 1 }',
            "",
            "hk.toml: legs.0.policy.bogus: unknown key",
        ),
        (
            'hedge_ratio = 1\npolicy = { kind = "put" }',
            "",
            "hk.toml: legs.0: hedge_ratio, policy: give one of them, not both",
        ),
    ],
)
def test_bad_parameters_name_the_field(policy: str, venue: str, expected: str) -> None:
    assert problems(policy, venue) == [expected]


def test_a_faster_evaluation_allows_a_larger_multiplier() -> None:
    fast = "[venues.sim.sim]\nstep_seconds = 60"
    leg = parse('policy = { kind = "cppi", floor_pct = "0.8", multiplier = "20" }', fast).legs[0]
    assert isinstance(leg.policy, CppiPolicy) and leg.policy.multiplier == 20


def test_the_cli_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hk.toml"
    path.write_text(BASE.format(policy='policy = { kind = "tipp", floor_usd = "5" }', venue=""))
    assert main(["check", "--config", str(path)]) == 2
    assert "legs.0.policy: lock_in: TIPP needs lock_in > 0" in capsys.readouterr().err


def test_a_floor_above_the_leg_value_exits_2_at_start(tmp_path: Path) -> None:
    # A process of its own: `run` configures logging for the whole process.
    # The default sim account: 2.1 BTC (spot and collateral) at 65,000 on the leg.
    path = tmp_path / "hk.toml"
    policy = 'policy = { kind = "cppi", floor_usd = "200000", multiplier = "3" }'
    path.write_text(BASE.format(policy=policy, venue=""))
    done = subprocess.run(
        [sys.executable, "-m", "hedgekeeper.cli", "run", "--config", str(path), "--duration", "5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "hedgekeeper: leg btc: policy.floor_usd: the floor 200,000.00" in done.stderr
    assert "is not below the leg's current value" in done.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("constant:1", "constant:1"),
        ("constant:ratio=0.5", "constant:0.5"),
        ("cppi:floor_pct=0.8,multiplier=3", "cppi:floor_pct=0.8,multiplier=3"),
        ("tipp:floor_pct=0.8,multiplier=4", "tipp:floor_pct=0.8,multiplier=4,lock_in=0.8"),
        ("put:strike_pct=0.9,horizon_days=30", "put:strike_pct=0.9,horizon_days=30"),
        ("put:strike_pct=0.9,vol_floor=1", "put:strike_pct=0.9,horizon_days=30,vol_floor=1"),
    ],
)
def test_compare_specs_parse_and_describe_themselves(text: str, expected: str) -> None:
    assert describe(parse_spec(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("collar:x=1", "kind: unknown policy kind"),
        ("cppi:floor_pct=0.8,floor_usd=1", "floor_pct, floor_usd: give one of them, not both"),
        ("cppi:floor_pct", "'floor_pct' is not key=value"),
        ("constant:2", "ratio: Input should be less than or equal to 1"),
        ("put:strike=0.9", "strike: unknown key"),
    ],
)
def test_bad_compare_specs_name_the_spec_and_field(text: str, expected: str) -> None:
    with pytest.raises(SpecError) as exc:
        parse_spec(text)
    assert str(exc.value).startswith(f"--compare {text!r}: ") and expected in str(exc.value)
