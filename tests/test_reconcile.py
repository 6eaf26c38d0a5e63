"""The reconciler against SPEC §1's worked numbers and its properties."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hedgekeeper.domain import Collateral, Decision, Hold, Side, Snapshot
from hedgekeeper.reconcile import band, exact_target, exposure, reconcile
from tests.fakes import inverse_market, leg, linear_market, snapshot

D = Decimal


def sells(decision: Decision) -> Decimal:
    return sum((i.contracts for i in decision.intents if i.side is Side.SELL), D(0))


def test_five_btc_at_65000_on_one_usd_contracts_is_325000_contracts() -> None:
    d = reconcile(snapshot(inverse_market("1"), spot="5"), leg())
    assert d.plan is not None and d.plan.target == D(-325000)
    assert sells(d) == D(325000)


def test_five_btc_at_65000_on_hundred_usd_contracts_is_3250_contracts() -> None:
    d = reconcile(snapshot(inverse_market("100"), spot="5"), leg())
    assert d.plan is not None and d.plan.target == D(-3250)


def test_five_btc_linear_is_five_thousand_contracts_of_a_thousandth() -> None:
    cfg = leg(perp={"venue": "ex", "symbol": "BTC/USDT:USDT"})
    d = reconcile(snapshot(linear_market("0.001"), spot="5", equity="400000"), cfg)
    assert d.plan is not None and d.plan.target == D(-5000)
    assert d.plan.exposure == D(5)  # the quote collateral is not exposure to the coin


def test_half_hedge_of_20000_usd_halves_a_ten_percent_fall() -> None:
    price, fallen = D(50000), D(45000)
    coin = D(20000) / price
    d = reconcile(snapshot(inverse_market("1"), spot=coin, mark=price), leg(hedge_ratio="0.5"))
    assert d.plan is not None and d.plan.target == D(-10000)
    short_usd = -d.plan.target * inverse_market("1").contract_size
    hedge_pnl_coin = short_usd * (1 / fallen - 1 / price)
    spot_change = coin * fallen - D(20000)
    net = spot_change + hedge_pnl_coin * fallen
    assert spot_change == D(-2000)
    assert abs(net - D(-1000)) < D("0.000001")


def test_linear_half_hedge_in_coin() -> None:
    cfg = leg(hedge_ratio="0.5", perp={"venue": "ex", "symbol": "BTC/USDT:USDT"})
    d = reconcile(snapshot(linear_market("0.001"), spot="0.4", mark="50000"), cfg)
    assert d.plan is not None and d.plan.target == D(-200)  # 0.2 BTC of 0.001 contracts


def test_inverse_collateral_counted_by_default_and_not_when_off() -> None:
    snap = snapshot(inverse_market(), spot="5", equity="0.5")
    assert exposure(snap, leg()) == D("5.5")
    assert exposure(snap, leg(count_collateral=False)) == D(5)


def test_unified_wallet_is_counted_once() -> None:
    # On a unified account the spot reading of the perp's venue IS the collateral equity.
    snap = snapshot(inverse_market(), spot="5", equity="5", unified=True)
    assert exposure(snap, leg()) == D(5)
    d = reconcile(snap, leg())
    assert d.plan is not None and d.plan.target == D(-325000)


def test_unified_wallet_counted_even_with_collateral_off_when_listed_as_spot() -> None:
    snap = snapshot(inverse_market(), spot="5", equity="5", unified=True)
    assert exposure(snap, leg(count_collateral=False)) == D(5)


def test_fixed_cold_amounts_and_reserve() -> None:
    cfg = leg(spot=[{"venue": "ex"}, {"amount": "2"}], reserve="0.5")
    assert exposure(snapshot(inverse_market(), spot="1"), cfg) == D("2.5")


def test_reserve_larger_than_holding_gives_no_short() -> None:
    d = reconcile(snapshot(inverse_market(), spot="1"), leg(reserve="3"))
    assert d.plan is not None and d.plan.target == 0 and d.holds


def test_within_deadband_holds_and_outside_trades_all_the_way() -> None:
    cfg = leg(deadband={"percent": "1"})
    inside = reconcile(snapshot(inverse_market(), spot="5", position="-322000"), cfg)
    assert inside.holds and "deadband" in inside.reason
    outside = reconcile(snapshot(inverse_market(), spot="5", position="-320000"), cfg)
    assert sells(outside) == D(5000)  # to q*, not to the band's edge


def test_quote_deadband() -> None:
    cfg = leg(deadband={"quote": "1000", "percent": "0"})
    assert reconcile(snapshot(inverse_market(), spot="5", position="-324100"), cfg).holds
    assert not reconcile(snapshot(inverse_market(), spot="5", position="-323900"), cfg).holds


def test_cover_is_reduce_only_buy() -> None:
    d = reconcile(snapshot(inverse_market(), spot="4", position="-325000"), leg())
    assert [(i.side, i.contracts, i.reduce_only) for i in d.intents] == [(Side.BUY, D(65000), True)]


def test_zero_ratio_closes_the_short_and_never_goes_long() -> None:
    d = reconcile(snapshot(inverse_market(), spot="5", position="-1000"), leg(hedge_ratio="0"))
    assert [(i.side, i.contracts) for i in d.intents] == [(Side.BUY, D(1000))]


def test_flat_with_nothing_to_hedge_holds() -> None:
    d = reconcile(snapshot(inverse_market(), spot="0"), leg())
    assert d.holds and "on target" in d.reason


def test_large_orders_are_split_evenly() -> None:
    d = reconcile(snapshot(inverse_market(), spot="5"), leg(max_order="100000"))
    sizes = [i.contracts for i in d.intents]
    assert sum(sizes) == D(325000) and max(sizes) <= D(100000) and len(sizes) == 4


def test_limit_price_is_bounded_by_slippage_and_on_tick() -> None:
    d = reconcile(snapshot(inverse_market(), spot="5", mark="65000"), leg(max_slippage="0.5"))
    assert d.intents[0].limit_price == D("64675.0")
    cover = reconcile(
        snapshot(inverse_market(), spot="4", position="-325000", mark="65001"),
        leg(max_slippage="0.5"),
    )
    assert cover.intents[0].limit_price == D("65326.5")  # 65326.005 rounded up to the tick
    market = reconcile(snapshot(inverse_market(), spot="5"), leg(order_type="market"))
    assert market.intents[0].limit_price is None


def test_nearest_step_rounding() -> None:
    # 0.00001 BTC at 65,000 is 0.65 contracts of 1 USD: rounds to 1, not 0 and not 2.
    snap = snapshot(inverse_market(), spot="0.00001")
    d = reconcile(snap, leg())
    assert d.plan is not None and d.plan.target == D(-1)


# ---- properties ------------------------------------------------------------------------------

amounts = st.decimals(min_value=D("0.01"), max_value=D(500), places=8)
prices = st.decimals(min_value=D(1000), max_value=D(200000), places=1)
ratios = st.decimals(min_value=D(0), max_value=D(1), places=3)
sizes = st.sampled_from(["1", "10", "100"])


def apply(snap: Snapshot, decision: Decision) -> Snapshot:
    """Fill every intent at the mark: the position moves, equity does not (zero uPnL at entry)."""
    q = snap.position.contracts
    for i in decision.intents:
        q += -i.contracts if i.side is Side.SELL else i.contracts
    return replace(snap, position=replace(snap.position, contracts=q))


def inverse_after_move(
    spot: Decimal, wallet: Decimal, p0: Decimal, p1: Decimal, k: str
) -> Snapshot:
    """A hedged inverse book at p0, then the price moves to p1 with no deposit or withdrawal."""
    market = inverse_market(k)
    q = market.round_amount(-(spot + wallet) * p0 / market.contract_size)
    upnl = q * market.contract_size * (1 / p0 - 1 / p1)
    base = snapshot(market, spot=spot, equity=wallet + upnl, mark=p1, position=q)
    return replace(base, collateral=Collateral(wallet, wallet + upnl, wallet, base.now))


@settings(max_examples=300, deadline=None)
@given(spot=amounts, wallet=amounts, p0=prices, factor=st.floats(0.5, 2.0), k=sizes)
def test_h1_inverse_price_moves_alone_never_trade(
    spot: Decimal, wallet: Decimal, p0: Decimal, factor: float, k: str
) -> None:
    p1 = (p0 * D(str(factor))).quantize(D("0.1"))
    snap = inverse_after_move(spot, wallet, p0, p1, k)
    d = reconcile(snap, leg())
    assert d.plan is not None
    assert abs(d.plan.drift) <= snap.market.amount_step  # within one step...
    banded = reconcile(snap, leg(deadband={"percent": "0.1"}))
    if abs(d.plan.target) >= 2000 * snap.market.amount_step:
        assert banded.holds  # ...so any deadband wider than a step holds


@settings(max_examples=300, deadline=None)
@given(
    spot=amounts,
    equity=amounts,
    mark=prices,
    h=ratios,
    q=st.integers(min_value=-10_000_000, max_value=0),
    linear=st.booleans(),
    counted=st.booleans(),
    over=st.decimals(min_value=D(0), max_value=D(3), places=3),
)
@example(spot=D(1), equity=D(1), mark=D(65000), h=D(1), q=-130000, linear=False, counted=True,
         over=D(2))  # fmt: skip
def test_never_net_long_never_above_hx_and_replanning_holds(
    spot: Decimal,
    equity: Decimal,
    mark: Decimal,
    h: Decimal,
    q: int,
    linear: bool,
    counted: bool,
    over: Decimal,
) -> None:
    market = linear_market() if linear else inverse_market()
    # The reserve ranges from nothing to three times the holding: above it (over > 1) the
    # exposure would be negative, and only the reconciler's floors keep the short from flipping.
    reserve = (spot + equity) * over
    cfg = leg(hedge_ratio=str(h), count_collateral=counted, reserve=str(reserve))
    snap = snapshot(market, spot=spot, equity=equity, mark=mark, position=D(q))
    d = reconcile(snap, cfg)
    after = apply(snap, d)
    q1 = after.position.contracts
    assert q1 <= 0
    limit = abs(exact_target(exposure(snap, cfg), mark, cfg, market)) + market.amount_step
    assert abs(q1) <= max(limit, abs(snap.position.contracts))  # an order never adds beyond h·X
    if d.intents:
        assert abs(q1) <= limit
        assert reconcile(after, cfg).holds


@settings(max_examples=300, deadline=None)
@given(spot=amounts, mark=prices, q=st.integers(-5_000_000, 0), pct=st.decimals(0, 5, places=2))
def test_rounding_never_crosses_the_deadband_the_wrong_way(
    spot: Decimal, mark: Decimal, q: int, pct: Decimal
) -> None:
    market = inverse_market()
    cfg = leg(deadband={"percent": str(pct)})
    snap = snapshot(market, spot=spot, mark=mark, position=D(q))
    exact = exact_target(exposure(snap, cfg), mark, cfg, market)
    d = reconcile(snap, cfg)
    assert d.plan is not None
    half = market.amount_step / 2
    needed = band(d.plan.target, mark, cfg, market)
    if d.holds:
        assert abs(exact - q) < needed + half
    else:
        assert abs(exact - q) >= needed - half
        assert abs(exact - apply(snap, d).position.contracts) <= half


def test_stale_prices_do_not_change_the_arithmetic() -> None:
    # The reconciler does not read clocks; staleness is the guards' business.
    snap = snapshot(inverse_market(), spot="1", now=0.0, ts=-1e9)
    assert reconcile(snap, leg()).plan == reconcile(replace(snap, now=1e12), leg()).plan


def test_a_hold_names_its_kind_and_a_trade_has_none() -> None:
    cfg = leg(deadband={"percent": "1"})
    on = reconcile(snapshot(inverse_market(), spot="0"), leg())
    inside = reconcile(snapshot(inverse_market(), spot="5", position="-322000"), cfg)
    over = reconcile(snapshot(inverse_market(), spot="5", position="0"), leg(hedge_ratio="0"))
    trade = reconcile(snapshot(inverse_market(), spot="5", position="-320000"), cfg)
    assert (on.hold, inside.hold, trade.hold) == (Hold.ON_TARGET, Hold.WITHIN_DEADBAND, None)
    assert over.hold is Hold.ON_TARGET  # h = 0 and flat: nothing to do
