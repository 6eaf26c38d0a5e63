"""Properties of the floor policies on generated paths (no funding, no fees, no rounding)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hedgekeeper.policy import LegValues, evaluate, parse_spec, rescale

D = Decimal
HOUR = 3600.0

multipliers = st.sampled_from(["1.5", "2", "3", "4", "5"])
floors = st.sampled_from(["0.5", "0.7", "0.8", "0.9"])
# A move per evaluation as a share of 1/m: at most 0.99 of it down, anything up to +50 %.
shares = st.lists(st.floats(min_value=-0.99, max_value=2.0), min_size=1, max_size=80)


def path_values(
    linear: bool,
    price: Decimal,
    value: Decimal,
    h: Decimal,
    coins: Decimal,
    quote: Decimal,
    new_price: Decimal,
    now: float,
) -> tuple[LegValues, Decimal]:
    """The leg after the price moves with the short at h: inverse V = X·P with X in coin
    equity, linear V = Q·P + C with the short's PnL landing in C."""
    if linear:
        short = h * coins  # coins shorted
        quote = quote - short * (new_price - price)
        return LegValues(now, new_price, coins, quote), quote
    v = value + (1 - h) * value * (new_price / price - 1)  # only the unhedged part moves
    return LegValues(now, new_price, v / new_price), quote


@settings(max_examples=150, deadline=None)
@given(multipliers, floors, shares, st.booleans(), st.sampled_from(["0", "0.05"]))
def test_cppi_never_falls_below_its_floor_while_moves_stay_below_one_over_m(
    m: str, f: str, moves: list[float], linear: bool, buffer: str
) -> None:
    spec = parse_spec(f"cppi:floor_pct={f},multiplier={m},deadband_h=0,floor_buffer={buffer}")
    price, coins, quote = D(50000), D(1), D(20000) if linear else D(0)
    values = LegValues(0.0, price, coins, quote)
    e = evaluate(spec, values, None)
    floor = e.floor
    assert floor is not None
    for i, share in enumerate(moves):
        move = D(share) / D(m)  # a fall of at most 0.99/m
        new_price = price * (1 + move)
        values, quote = path_values(
            linear, price, values.value, e.h, values.coins, quote, new_price, (i + 1) * HOUR
        )
        price = new_price
        assert values.value >= floor, (i, values.value, floor)
        e = evaluate(spec, values, e.state)
        assert 0 <= e.h <= 1


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(min_value=0.5, max_value=1.6), min_size=1, max_size=60), floors)
def test_tipp_floor_never_decreases(ratios: list[float], lock: str) -> None:
    spec = parse_spec(f"tipp:floor_pct=0.8,multiplier=4,lock_in={lock}")
    value = D(100000)
    e = evaluate(spec, LegValues(0.0, D(100), value / 100), None)
    for i, r in enumerate(ratios):
        value = max(value * D(r), D(1))
        before = e.floor
        e = evaluate(spec, LegValues((i + 1) * HOUR, D(100), value / 100), e.state)
        assert e.floor is not None and before is not None and e.floor >= before
        assert e.floor >= D(lock) * e.state.hwm


specs = st.sampled_from(
    [
        "cppi:floor_pct=0.8,multiplier=3",
        "tipp:floor_pct=0.7,multiplier=5,lock_in=0.9",
        "cppi:floor_usd=1000,multiplier=2,floor_buffer=0.1",
        "put:strike_pct=0.9,horizon_days=7",
        "put:strike_pct=0.5,horizon_days=1,deadband_h=0",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    specs,
    st.lists(
        st.tuples(
            st.floats(min_value=1, max_value=1e6),  # price
            st.floats(min_value=0, max_value=10),  # coins
            st.floats(min_value=0, max_value=1e6),  # quote collateral
            st.floats(min_value=0, max_value=20 * 86400),  # time step
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_h_stays_in_zero_one(
    spec_text: str, steps: list[tuple[float, float, float, float]]
) -> None:
    spec = parse_spec(spec_text)
    state, now = None, 0.0
    first = LegValues(0.0, D(100), D(100))  # V0 = 10,000: any floor above starts fine
    e = evaluate(spec, first, state, D("0.8"))
    state = e.state
    for price, coins, quote, dt in steps:
        now += dt
        values = LegValues(now, D(price), D(coins), D(quote))
        e = evaluate(spec, values, state, D("0.8"))
        assert 0 <= e.h <= 1 and 0 <= e.raw_h <= 1
        state = e.state


@settings(max_examples=150, deadline=None)
@given(
    specs,
    st.floats(min_value=2000, max_value=1e6),
    st.floats(min_value=-0.9, max_value=10),
    st.floats(min_value=0.5, max_value=2),
)
def test_a_deposit_or_withdrawal_does_not_move_v_over_f(
    spec_text: str, value: float, flow_share: float, move: float
) -> None:
    spec = parse_spec(spec_text)
    start = evaluate(spec, LegValues(0.0, D(100), D(value) / 100), None, D("0.8"))
    now = LegValues(3600.0, D(100) * D(move), D(value) * D(move) / D(100) / D(move))
    e = evaluate(spec, now, start.state)
    assert e.value_over_floor is not None
    assume(abs(e.value_over_floor - 1) > D("1e-9"))  # on the floor itself h jumps to 1
    flow = D(flow_share) * e.value
    after = evaluate(
        spec,
        LegValues(3600.0, now.price, (e.value + flow) / now.price),
        rescale(e.state, e.value, flow),
    )
    assert e.value_over_floor is not None and after.value_over_floor is not None
    assert abs(after.value_over_floor - e.value_over_floor) < D("1e-20")
    assert abs(after.raw_h - e.raw_h) < D("1e-12")
