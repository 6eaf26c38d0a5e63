"""CPPI and TIPP pinned by numbers worked on paper, on inverse and linear legs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hedgekeeper.policy import LegValues, PolicyError, evaluate, parse_spec, rebalance

D = Decimal


def inverse(price: str, coins: str, now: float = 0.0) -> LegValues:
    return LegValues(now=now, price=D(price), coins=D(coins))


def test_cppi_starts_at_one_minus_m_times_the_cushion_share() -> None:
    # 1 BTC at 100,000: V0 = 100,000, F = 80,000, u = 3 * 20,000 / 100,000 = 0.6, h = 0.4.
    e = evaluate(parse_spec("cppi:floor_pct=0.8,multiplier=3"), inverse("100000", "1"), None)
    assert (e.value, e.floor, e.h) == (D(100000), D(80000), D("0.4"))
    assert (e.state.v0, e.state.hwm, e.cushion, e.value_over_floor) == (
        D(100000),
        D(100000),
        D(20000),
        D("1.25"),
    )


def test_cppi_after_a_ten_percent_fall_on_an_inverse_leg() -> None:
    spec = parse_spec("cppi:floor_pct=0.8,multiplier=3")
    first = evaluate(spec, inverse("100000", "1"), None)
    # 60 % exposed loses 6,000: V = 94,000, i.e. 94,000 / 90,000 coins of equity at 90,000.
    after = evaluate(spec, LegValues(1.0, D(90000), D(94000) / D(90000)), first.state)
    assert abs(after.value - D(94000)) < D("1e-20")
    # u = 3 * 14,000 / 94,000 = 42/94, h = 52/94
    assert abs(after.h - D(52) / D(94)) < D("1e-20")
    assert after.floor == D(80000)  # CPPI's floor does not move


def test_a_multiplier_above_one_over_one_minus_f_starts_unhedged() -> None:
    spec = parse_spec("cppi:floor_pct=0.8,multiplier=6")
    first = evaluate(spec, inverse("100000", "1"), None)
    assert first.h == 0  # u = min(1, 6 * 0.2) = 1
    # It hedges only below F·m/(m-1) = 96,000: at 95,000, u = 6 * 15/95.
    low = evaluate(spec, LegValues(1.0, D(95000), D(1)), first.state)
    assert abs(low.h - (1 - D(90) / D(95))) < D("1e-20")


def test_at_or_below_the_floor_it_is_fully_hedged_and_near_the_floor() -> None:
    spec = parse_spec("cppi:floor_pct=0.8,multiplier=3")
    first = evaluate(spec, inverse("100000", "1"), None)
    at = evaluate(spec, LegValues(1.0, D(80000), D(1)), first.state)
    assert (at.h, at.near_floor) == (D(1), True)
    back = evaluate(spec, LegValues(2.0, D(90000), D(1)), at.state)
    assert back.h == D(1) - D(3) * D(10000) / D(90000)  # CPPI re-arms by itself


def test_floor_buffer_makes_the_policy_work_against_a_higher_floor() -> None:
    spec = parse_spec("cppi:floor_pct=0.8,multiplier=3,floor_buffer=0.05")
    e = evaluate(spec, inverse("100000", "1"), None)
    assert e.h == D("0.52")  # u = 3 * (100,000 - 84,000) / 100,000 = 0.48
    near = evaluate(spec, LegValues(1.0, D(83000), D(1)), e.state)
    assert near.near_floor and near.h == 1


def test_tipp_ratchets_its_floor_up_and_never_down() -> None:
    spec = parse_spec("tipp:floor_pct=0.8,multiplier=4,lock_in=0.8")
    e = evaluate(spec, inverse("100000", "1"), None)
    assert (e.floor, e.h) == (D(80000), D("0.2"))  # u = 4 * 0.2 = 0.8
    up = evaluate(spec, LegValues(1.0, D(120000), D(1)), e.state)
    assert (up.floor, up.state.hwm) == (D(96000), D(120000))
    down = evaluate(spec, LegValues(2.0, D(110000), D(1)), up.state)
    assert down.floor == D(96000)
    assert abs(down.h - (1 - D(4) * D(14000) / D(110000))) < D("1e-20")


def test_linear_keeps_the_exposure_in_coin_against_the_quote_collateral() -> None:
    # 1 BTC at 100,000 and 50,000 USDT: V = 150,000, F = 120,000, u = 0.6,
    # exposure u·V/P = 0.9 BTC, so the short is 0.1 BTC: h = 0.1.
    spec = parse_spec("cppi:floor_pct=0.8,multiplier=3")
    e = evaluate(spec, LegValues(0.0, D(100000), D(1), quote=D(50000)), None)
    assert (e.value, e.h) == (D(150000), D("0.1"))
    # With 100,000 USDT the cushion wants 1.2 BTC exposed: more than held, so h = 0 (never long).
    rich = evaluate(spec, LegValues(0.0, D(100000), D(1), quote=D(100000)), None)
    assert rich.h == 0


def test_floor_usd_above_the_value_and_floor_pct_are_refused_naming_the_field() -> None:
    with pytest.raises(PolicyError, match="floor_usd") as exc:
        evaluate(parse_spec("cppi:floor_usd=120000"), inverse("100000", "1"), None)
    assert exc.value.field == "floor_usd"
    with pytest.raises(PolicyError, match="floor_pct"):
        evaluate(parse_spec("cppi:floor_pct=0.9,floor_buffer=0.2"), inverse("100000", "1"), None)


def test_floor_usd_is_an_absolute_floor() -> None:
    e = evaluate(parse_spec("cppi:floor_usd=90000,multiplier=5"), inverse("100000", "1"), None)
    assert (e.floor, e.h) == (D(90000), D("0.5"))


@pytest.mark.parametrize(
    ("target", "last", "held"),
    [
        ("0.98", None, "1"),  # within deadband_h of 1: exactly 1
        ("0.97", None, "0.97"),
        ("0.985", "0.97", "1"),
        ("0.41", "0.40", "0.40"),  # moved less than the band: keep the last h
        ("0.42", "0.40", "0.42"),  # moved by the band: trade
        ("0.38", "0.40", "0.38"),
        ("0.5", None, "0.5"),
    ],
)
def test_rebalancing_rule(target: str, last: str | None, held: str) -> None:
    assert rebalance(D(target), None if last is None else D(last), D("0.02")) == D(held)


def test_the_deadband_holds_the_last_h_through_evaluations() -> None:
    spec = parse_spec("cppi:floor_pct=0.8,multiplier=3")
    e = evaluate(spec, inverse("100000", "1"), None)
    small = evaluate(spec, LegValues(1.0, D(99500), D(99700) / D(99500)), e.state)
    assert small.h == D("0.4") and small.raw_h != D("0.4")
