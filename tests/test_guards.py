"""Each guard of SPEC §2 as a pure function: the intent passes, is trimmed, or is refused."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hedgekeeper import guards
from hedgekeeper.domain import AccountSettings, Intent, Side
from hedgekeeper.guards import GuardState, check
from tests.fakes import NOW, inverse_market, leg, linear_market, snapshot

D = Decimal


def sell(n: str, price: str | None = None) -> Intent:
    return Intent("btc", "BTC/USD:BTC", Side.SELL, D(n), False, D(price) if price else None, "t")


def cover(n: str) -> Intent:
    return Intent("btc", "BTC/USD:BTC", Side.BUY, D(n), True, None, "t")


# Two BTC of spot, 2 BTC of collateral: h·X = 4 BTC = 260,000 contracts at 65,000.
SNAP = snapshot(inverse_market(), spot="2", equity="2", free="2")


def test_a_sound_increase_passes_untouched() -> None:
    v = check(SNAP, leg(), sell("1000"), GuardState())
    assert v.intent == sell("1000") and v.guard is None


def test_kill_switch_refuses_everything() -> None:
    v = check(SNAP, leg(), cover("10"), GuardState(killed=True))
    assert v.intent is None and v.guard == "kill_switch"


def test_circuit_breaker_refuses_with_its_reason() -> None:
    v = check(SNAP, leg(), sell("10"), GuardState(halted="5 failures"))
    assert v.intent is None and v.guard == "circuit_breaker" and "5 failures" in v.reason


def test_one_order_in_flight_and_waiting_for_the_position() -> None:
    assert check(SNAP, leg(), sell("10"), GuardState(in_flight=True)).guard == "in_flight"
    assert check(SNAP, leg(), sell("10"), GuardState(awaiting_position=True)).guard == "in_flight"


def test_stale_inputs_hold_and_say_which_and_how_old() -> None:
    old = snapshot(inverse_market(), spot="2", equity="2", now=NOW + 500, ts=NOW)
    v = check(old, leg(), sell("10"), GuardState())
    assert v.intent is None and v.degraded and v.guard == "stale_data"
    assert "500s old (limit 120s)" in v.reason


def test_an_equity_not_paired_with_its_mark_holds_even_a_cover() -> None:
    unpaired = replace(SNAP, unpaired="the mark moved during each of 3 reads")
    v = check(unpaired, leg(), cover("10"), GuardState())
    assert v.intent is None and v.degraded and v.guard == "stale_data"
    assert v.reason == "the mark moved during each of 3 reads"


def test_glitch_asks_for_a_fresh_read_before_acting_on_a_jump() -> None:
    state = GuardState(last_exposure=D(10))  # X is 4 now: a 60 % drop
    v = check(SNAP, leg(), cover("10"), state)
    assert v.intent is None and v.confirm and v.guard == "glitch"
    assert check(SNAP, leg(), cover("10"), replace(state, exposure_confirmed=True)).intent
    assert check(SNAP, leg(), cover("10"), GuardState(last_exposure=D("3.5"))).intent


def test_rate_limit_counts_the_last_minute_only() -> None:
    cfg = leg(guards={"orders_per_minute": 2})
    busy = GuardState(order_times=(NOW - 10, NOW - 5))
    assert check(SNAP, cfg, sell("10"), busy).guard == "rate"
    calm = GuardState(order_times=(NOW - 120, NOW - 5))
    assert check(SNAP, cfg, sell("10"), calm).intent is not None


def test_wrong_leverage_refuses_increases_and_says_what_to_change() -> None:
    snap = snapshot(inverse_market(), spot="2", equity="2", leverage="5")
    v = check(snap, leg(), sell("10"), GuardState())
    assert v.intent is None and v.guard == "leverage" and "5x, not 1x" in v.reason
    assert check(snap, leg(), cover("10"), GuardState()).intent is not None  # covering is safe


def test_hedge_mode_and_margin_mode_are_refused() -> None:
    two_way = replace(SNAP, settings=AccountSettings(D(1), "cross", False, False, NOW))
    assert "one-way" in check(two_way, leg(), sell("10"), GuardState()).reason
    isolated = replace(SNAP, settings=AccountSettings(D(1), "isolated", True, False, NOW))
    assert "isolated" in check(isolated, leg(), sell("10"), GuardState()).reason
    unknown = replace(SNAP, settings=None)
    assert check(unknown, leg(), sell("10"), GuardState()).guard == "leverage"


def test_never_over_hedge_trims_to_hx_plus_a_step() -> None:
    snap = snapshot(inverse_market(), spot="2", equity="2", free="100", position="-259990")
    v = check(snap, leg(), sell("5000"), GuardState())
    assert v.intent is not None and v.intent.contracts == D(11) and v.guard == "over_hedge"
    full = snapshot(inverse_market(), spot="2", equity="2", free="100", position="-260001")
    assert check(full, leg(), sell("5"), GuardState()).guard == "over_hedge"


def test_absolute_cap_per_leg() -> None:
    cfg = leg(guards={"max_contracts": "1000"})
    v = check(SNAP, cfg, sell("5000"), GuardState())
    assert v.intent is not None and v.intent.contracts == D(1000)


def test_margin_sizes_an_increase_to_the_free_collateral_at_1x() -> None:
    # 0.1 BTC free at 65,000 buys 6,500 contracts less the fee: 6496 whole contracts.
    snap = snapshot(inverse_market(fee="0.0006"), spot="2", equity="2", free="0.1")
    v = check(snap, leg(), sell("10000"), GuardState())
    assert v.intent is not None and v.intent.contracts == D(6496)
    assert v.under_hedged and v.guard == "margin" and v.transfer is None
    broke = snapshot(inverse_market(), spot="2", equity="2", free="0")
    refused = check(broke, leg(), sell("10"), GuardState())
    assert refused.intent is None and refused.under_hedged


def test_margin_shortfall_proposes_a_transfer_when_allowed() -> None:
    snap = snapshot(inverse_market(), spot="2", equity="2", free="0.1")
    v = check(snap, leg(guards={"auto_transfer": True}), sell("10000"), GuardState())
    assert v.transfer is not None and D("0.0538") < v.transfer < D("0.0540")


def test_linear_margin_is_in_the_quote_coin() -> None:
    cfg = leg(perp={"venue": "ex", "symbol": "BTC/USDT:USDT"})
    snap = snapshot(linear_market("0.001", fee="0"), spot="2", equity="6500", free="6500")
    v = check(snap, cfg, sell("500"), GuardState())
    assert v.intent is not None and v.intent.contracts == D(100)  # 6,500 USDT = 0.1 BTC


def test_liquidation_close_to_the_mark_refuses_increases() -> None:
    near = snapshot(inverse_market(), spot="2", equity="2", position="-1000", liquidation="70000")
    v = check(near, leg(), sell("10"), GuardState())
    assert v.intent is None and v.guard == "liquidation" and "7.7%" in v.reason
    far = snapshot(inverse_market(), spot="2", equity="2", position="-1000", liquidation="200000")
    assert check(far, leg(), sell("10"), GuardState()).intent is not None


def test_own_liquidation_estimate_inverse_and_linear() -> None:
    # An inverse short fully backed by its coin has no finite liquidation price.
    backed = snapshot(inverse_market(), equity="1", position="-65000")
    assert guards.liquidation_estimate(backed) is None
    # Backed by half: liquidated where equity meets maintenance margin.
    half = snapshot(inverse_market(), equity="0.5", position="-65000")
    liq = guards.liquidation_estimate(half)
    assert liq is not None and abs(liq - D(129350)) < 1  # (1-0.005)·65000 / 0.5
    lin = snapshot(linear_market("0.001"), equity="6500", position="-1000", mark="65000")
    est = guards.liquidation_estimate(lin)
    assert est is not None and abs(est - D(71500) / D("1.005")) < D("0.01")  # (E + nK·P)/(nK·1.005)


def test_a_mark_far_from_the_index_holds_as_degraded() -> None:
    from hedgekeeper.domain import Prices

    off = replace(SNAP, prices=Prices(D(65000), NOW, index=D(50000)))
    v = check(off, leg(), cover("10"), GuardState())
    assert (
        v.intent is None
        and v.guard == "price"
        and v.degraded
        and "30.0% from the index" in v.reason
    )
    near = replace(SNAP, prices=Prices(D(65000), NOW, index=D(64000)))
    assert check(near, leg(), sell("10"), GuardState()).intent is not None
    assert check(off, leg(guards={"max_mark_index_gap": "0.5"}), sell("10"), GuardState()).intent


def test_one_jump_rule_for_the_guard_and_the_confirming_read() -> None:
    f = D("0.5")
    assert not guards.jumped(D(10), D(15), f)  # exactly half: not a jump
    assert guards.jumped(D(10), D("15.01"), f) and guards.jumped(D(10), D("4.99"), f)
    assert guards.jumped(D(0), D("0.001"), f)  # from nothing, any coin is a jump
    assert not guards.jumped(D(0), D(0), f)
