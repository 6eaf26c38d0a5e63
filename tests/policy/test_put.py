"""The self-financing synthetic put: its fixed point, its floor, its h and its roll."""

from __future__ import annotations

import math
from decimal import Decimal
from statistics import NormalDist

import pytest

from hedgekeeper.policy import LegValues, evaluate, parse_spec
from hedgekeeper.policy import put as p

D = Decimal
N = NormalDist().cdf
DAY = 86400.0
T = 30 / 365  # years


def put_1(x: float, sigma: float, tau: float) -> float:
    """An independent Black-Scholes put on spot 1, for the checks."""
    d1 = (math.log(1 / x) + sigma**2 * tau / 2) / (sigma * math.sqrt(tau))
    return x * N(-(d1 - sigma * math.sqrt(tau))) - N(-d1)


def test_bs_put_matches_a_textbook_value() -> None:
    # S = 100, K = 100, σ = 0.2, τ = 1, r = 0: 7.9656 (put = call at the money with r = 0).
    assert p.bs_put(100, 100, 0.2, 1.0) == pytest.approx(7.965567455, abs=1e-8)


def test_the_strike_is_the_fixed_point_of_x_equals_k_times_one_plus_p() -> None:
    x = p.strike_ratio(0.9, 0.8, T)
    assert x == pytest.approx(0.9 * (1 + put_1(x, 0.8, T)), abs=1e-13)
    assert x == pytest.approx(0.96668366, abs=1e-8)
    # Bisection, another way to the same root.
    lo, hi = 0.9, 1.5
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mid - 0.9 * (1 + put_1(mid, 0.8, T)) < 0 else (lo, mid)
    assert x == pytest.approx(lo, abs=1e-12)
    assert p.strike_ratio(0.9, 0.0, T) == pytest.approx(0.9)  # no volatility: the put is free


def test_a_roll_buys_n_coins_and_puts_for_exactly_v_and_floors_at_k_times_v() -> None:
    spec = parse_spec("put:strike_pct=0.9,horizon_days=30")
    e = evaluate(spec, LegValues(0.0, D(100000), D(1)), None, sigma=D("0.8"))
    roll = e.state.roll
    assert roll is not None
    x = p.strike_ratio(0.9, 0.8, T)
    assert float(roll.strike) == pytest.approx(x * 100000, rel=1e-12)
    cost = float(roll.coins) * (100000 + p.bs_put(100000, float(roll.strike), 0.8, T))
    assert cost == pytest.approx(100000, rel=1e-12)
    assert float(e.floor or 0) == pytest.approx(90000, rel=1e-12)
    # h = Ks·N(-d2) / (P·N(d1) + Ks·N(-d2)) while V is the put portfolio's value.
    ks, s = float(roll.strike), 0.8 * math.sqrt(T)
    d1 = (math.log(100000 / ks) + 0.8**2 * T / 2) / s
    closed = ks * N(-(d1 - s)) / (100000 * N(d1) + ks * N(-(d1 - s)))
    assert float(e.h) == pytest.approx(closed, abs=1e-12)
    assert float(e.h) == pytest.approx(0.43813173, abs=1e-8)


def test_between_rolls_h_follows_the_portfolio_and_linear_matches_inverse() -> None:
    spec = parse_spec("put:strike_pct=0.9,horizon_days=30,deadband_h=0")
    e = evaluate(spec, LegValues(0.0, D(100000), D(1)), None, sigma=D("0.8"))
    roll = e.state.roll
    assert roll is not None
    now, price = 10 * DAY, 85000.0
    tau = 20 / 365
    ks, n = float(roll.strike), float(roll.coins)
    v = n * (price + p.bs_put(price, ks, 0.8, tau))  # the replicating portfolio's value
    s = 0.8 * math.sqrt(tau)
    d1 = (math.log(price / ks) + 0.8**2 * tau / 2) / s
    closed = ks * N(-(d1 - s)) / (price * N(d1) + ks * N(-(d1 - s)))
    inv = evaluate(spec, LegValues(now, D(price), D(v) / D(price)), e.state)
    assert float(inv.h) == pytest.approx(closed, abs=1e-9)
    # The same value held as 0.5 BTC plus quote collateral: the same coins left exposed.
    coins = D("0.5")
    quote = D(v) - coins * D(price)
    lin = evaluate(spec, LegValues(now, D(price), coins, quote=quote), e.state)
    exposed_inverse = (1 - inv.h) * D(v) / D(price)
    exposed_linear = (1 - lin.h) * coins
    assert abs(exposed_inverse - exposed_linear) < D("1e-9")


def test_the_put_rolls_at_its_horizon_at_the_price_and_value_of_then() -> None:
    spec = parse_spec("put:strike_pct=0.9,horizon_days=30")
    e = evaluate(spec, LegValues(0.0, D(100000), D(1)), None, sigma=D("0.8"))
    assert e.state.roll is not None
    before = evaluate(spec, LegValues(30 * DAY - 1, D(120000), D("0.9")), e.state)
    assert before.state.roll == e.state.roll  # not yet
    with pytest.raises(ValueError, match="volatility"):
        evaluate(spec, LegValues(30 * DAY, D(120000), D("0.9")), before.state)
    rolled = evaluate(spec, LegValues(30 * DAY, D(120000), D("0.9")), before.state, D("0.6"))
    roll = rolled.state.roll
    assert roll is not None and roll.ts == 30 * DAY and roll.sigma == D("0.6")
    assert float(rolled.floor or 0) == pytest.approx(0.9 * 108000, rel=1e-12)  # k·V at the roll
    x = p.strike_ratio(0.9, 0.6, T)
    assert float(roll.strike) == pytest.approx(x * 120000, rel=1e-12)


def test_volatility_is_annualised_floored_and_defaulted() -> None:
    hourly = [(i * 3600.0, D(100) * D(1.01) ** (i % 2)) for i in range(25)]
    # log returns alternate +-ln(1.01): sample sd ln(1.01)·sqrt(24/23), annualised by √8760.
    want = math.log(1.01) * math.sqrt(24 / 23) * math.sqrt(8760)
    assert float(p.volatility(hourly, D(0))) == pytest.approx(want, rel=1e-9)
    assert p.volatility(hourly, D(5)) == D(5)  # never below the floor
    assert p.volatility(hourly[:5], D("0.5")) == p.DEFAULT_VOL  # fewer than ten returns
