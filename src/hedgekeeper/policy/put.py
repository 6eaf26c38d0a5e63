"""A self-financing synthetic put on the leg (Leland & Rubinstein; Rubinstein & Leland 1981).

At each roll (time tr, price Pr, value Vr, volatility σ) the strike ratio x solves
x = k·(1 + p(x)), p the Black-Scholes put on spot 1 (r = 0, horizon T): buying n coins plus one
put each, n = Vr / (Pr + Put(Pr, Ks)), with Ks = x·Pr, costs exactly Vr and pays at least
n·Ks = k·Vr at expiry. Between rolls the coins left exposed are those of that portfolio,
n·N(d1), so u = min(1, n·N(d1)·P/V); while V tracks the portfolio this is
h = Ks·N(-d2) / (P·N(d1) + Ks·N(-d2)). (The tempting h = N(-d1) hedges a put nobody paid for
and lands one premium below the floor; it is not offered.)

The arithmetic is in floats (logarithms and the normal CDF); the state it leaves is Decimal.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from hedgekeeper.domain import ONE, ZERO
from hedgekeeper.policy.spec import PutPolicy
from hedgekeeper.policy.state import PolicyState, PutRoll
from hedgekeeper.policy.values import LegValues

__all__ = [
    "DEFAULT_VOL",
    "bs_put",
    "due",
    "exposed_share",
    "new_roll",
    "start",
    "step",
    "strike_ratio",
    "volatility",
]

YEAR = 365.0 * 86400.0  # the note annualises hourly returns by √8760
MIN_TAU = 3600.0  # τ never below one hour: at expiry the delta is a step
DEFAULT_VOL = Decimal("0.8")  # until ten returns exist (never below the spec's vol_floor)
MIN_RETURNS = 10


def _n(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _d(spot: float, strike: float, sigma: float, tau: float) -> tuple[float, float]:
    root = sigma * math.sqrt(tau)
    d1 = (math.log(spot / strike) + sigma * sigma * tau / 2.0) / root
    return d1, d1 - root


def bs_put(spot: float, strike: float, sigma: float, tau: float) -> float:
    """Black-Scholes put with r = 0; `tau` in years."""
    if sigma <= 0 or tau <= 0:
        return max(strike - spot, 0.0)
    d1, d2 = _d(spot, strike, sigma, tau)
    return strike * _n(-d2) - spot * _n(-d1)


def strike_ratio(k: float, sigma: float, tau: float) -> float:
    """The fixed point of x = k·(1 + p(x)): p grows with slope N(-d2) < 1, so k·p' < 1 and the
    iteration contracts from x = k."""
    x = k
    for _ in range(200):
        nxt = k * (1.0 + bs_put(1.0, x, sigma, tau))
        if abs(nxt - x) < 1e-15:
            return nxt
        x = nxt
    return x


def _dec(x: float) -> Decimal:
    return Decimal(f"{x:.15g}")


def new_roll(spec: PutPolicy, values: LegValues, sigma: Decimal) -> PutRoll:
    tau = spec.horizon_days * 86400.0 / YEAR
    p, v, s = float(values.price), float(values.value), float(sigma)
    x = strike_ratio(float(spec.strike_pct), s, tau)
    strike = x * p
    coins = v / (p + bs_put(p, strike, s, tau))
    return PutRoll(
        ts=values.now,
        price=values.price,
        strike=_dec(strike),
        coins=_dec(coins),
        sigma=sigma,
        floor=_dec(coins * strike),
    )


def due(spec: PutPolicy, state: PolicyState | None, now: float) -> bool:
    """A roll is due at the start and once the horizon has passed since the last one."""
    if state is None or state.roll is None:
        return True
    return now - state.roll.ts >= spec.horizon_days * 86400.0


def start(spec: PutPolicy, values: LegValues, sigma: Decimal) -> PolicyState:
    roll = new_roll(spec, values, sigma)
    v = values.value
    return PolicyState(v0=v, v0_ts=values.now, floor=roll.floor, hwm=v, roll=roll)


def exposed_share(spec: PutPolicy, roll: PutRoll, values: LegValues) -> Decimal:
    """u = min(1, n·N(d1)·P/V), τ = max(T - (t - tr), 1 h)."""
    v = values.value
    if v <= 0 or v <= roll.floor * (ONE + spec.floor_buffer):
        return ZERO
    left = max(spec.horizon_days * 86400.0 - (values.now - roll.ts), MIN_TAU) / YEAR
    p = float(values.price)
    d1, _ = _d(p, float(roll.strike), float(roll.sigma), left)
    u = float(roll.coins) * _n(d1) * p / float(v)
    return min(_dec(u), ONE)


def step(
    spec: PutPolicy, values: LegValues, state: PolicyState, sigma: Decimal | None
) -> tuple[Decimal, PolicyState]:
    """Roll when due (`sigma` must then be given), then the exposed share of the current put."""
    if due(spec, state, values.now):
        if sigma is None:
            raise ValueError("a put roll is due: the volatility must be given")
        fresh = new_roll(spec, values, sigma)
        state = replace(state, roll=fresh, floor=fresh.floor)
    roll = state.roll
    assert roll is not None  # `due` is true without one
    if values.value > state.hwm:
        state = replace(state, hwm=values.value)
    return exposed_share(spec, roll, values), state


def volatility(samples: Sequence[tuple[float, Decimal]], floor: Decimal) -> Decimal:
    """Annualised sample standard deviation of the log returns of `samples` (time, price),
    at their own step; DEFAULT_VOL until ten returns exist; never below `floor`."""
    if len(samples) <= MIN_RETURNS:
        return max(DEFAULT_VOL, floor)
    logs = [math.log(float(b[1]) / float(a[1])) for a, b in itertools.pairwise(samples)]
    mean = sum(logs) / len(logs)
    var = sum((r - mean) ** 2 for r in logs) / (len(logs) - 1)
    step = (samples[-1][0] - samples[0][0]) / len(logs)
    sigma = math.sqrt(var * YEAR / step) if step > 0 else 0.0
    return max(_dec(sigma), floor)
