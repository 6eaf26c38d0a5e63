"""The shell's side of a policy: journaled state, recovery, deposits and withdrawals."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from hedgekeeper.journal import Journal
from hedgekeeper.policy import PolicyError, PolicyState, PutRoll
from hedgekeeper.policy.keeper import PolicyKeeper, status_line
from tests.fakes import inverse_market, leg, linear_market, snapshot

D = Decimal
CPPI = {"kind": "cppi", "floor_pct": "0.8", "multiplier": "3"}


def cppi_leg(**kw: object) -> object:
    return leg(hedge_ratio=None, policy=CPPI, **kw)


def test_state_round_trips_through_json() -> None:
    roll = PutRoll(1.5, D("100.5"), D("96.1"), D("0.93"), D("0.8"), D("90"))
    state = PolicyState(D("100"), 2.0, D("80"), D("120"), D("0.4"), roll)
    assert PolicyState.from_json(state.to_json()) == state
    bare = PolicyState(D("100"), 2.0, None, D("100"))
    assert PolicyState.from_json(bare.to_json()) == bare


def test_the_state_is_journaled_and_recovered_by_a_new_keeper(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    cfg = cppi_leg()
    keeper = PolicyKeeper(cfg, journal)  # type: ignore[arg-type]
    # 1 BTC (spot) + 0.5 BTC collateral at 100,000: V0 = 150,000, F = 120,000, h = 0.4.
    assert keeper.ratio(snapshot(inverse_market(), spot="1", equity="0.5", mark="100000")) == D(
        "0.4"
    )
    assert not keeper.recovered
    # The price rises: a new high-water mark, journaled.
    keeper.ratio(snapshot(inverse_market(), spot="1", equity="0.5", mark="110000"))
    saved = keeper.state
    again = PolicyKeeper(cfg, journal)  # type: ignore[arg-type]
    assert again.recovered and again.state == saved
    assert saved is not None and (saved.v0, saved.floor, saved.hwm) == (
        D(150000),
        D(120000),
        D(165000),
    )
    # Recovered at a lower price, the floor stays where it was: h from F = 120,000, not 0.8·V.
    h = again.ratio(snapshot(inverse_market(), spot="1", equity="0.5", mark="90000"))
    assert h == D(1) - D(3) * D(15000) / D(135000)
    journal.close()


def test_a_readonly_keeper_writes_nothing(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    keeper = PolicyKeeper(cppi_leg(), journal, readonly=True)  # type: ignore[arg-type]
    keeper.ratio(snapshot(inverse_market(), spot="1", mark="100000"))
    assert journal.policy_state("btc") is None
    journal.close()


def test_stale_data_keeps_the_last_h_and_the_state() -> None:
    keeper = PolicyKeeper(cppi_leg(), None)  # type: ignore[arg-type]
    h = keeper.ratio(snapshot(inverse_market(), spot="1", mark="100000"))
    state = keeper.state
    assert keeper.ratio(snapshot(inverse_market(), spot="1", mark="50000"), fresh=False) == h
    assert keeper.state == state


@pytest.mark.parametrize("linear", [False, True])
def test_a_deposit_rescales_the_state_and_leaves_v_over_f(linear: bool) -> None:
    market = linear_market() if linear else inverse_market()
    perp = {"venue": "ex", "symbol": market.symbol}
    keeper = PolicyKeeper(cppi_leg(perp=perp), None)  # type: ignore[arg-type]
    equity = "30000" if linear else "0"
    keeper.ratio(snapshot(market, spot="1", equity=equity, mark="100000"))
    keeper.ratio(snapshot(market, spot="1", equity=equity, mark="95000"))  # performance
    before = keeper.last
    assert before is not None and before.value_over_floor is not None
    keeper.ratio(snapshot(market, spot="1.5", equity=equity, mark="95000"))  # + 0.5 BTC
    after = keeper.last
    assert after is not None and after.value_over_floor is not None
    assert abs(after.value_over_floor - before.value_over_floor) < D("1e-20")
    assert keeper.flows == D(47500)
    assert after.floor is not None and before.floor is not None and after.floor > before.floor


def test_price_moves_on_a_partly_hedged_inverse_leg_are_performance_not_flows() -> None:
    keeper = PolicyKeeper(cppi_leg(), None)  # type: ignore[arg-type]
    market = inverse_market("1")
    keeper.ratio(snapshot(market, spot="1", mark="100000"))  # h = 0.4: short 40,000 contracts
    # At 80,000 the short made 40,000·(1/80,000 - 1/100,000) = 0.1 BTC, counted in equity.
    keeper.ratio(snapshot(market, spot="1", equity="0.1", position="-40000", mark="80000"))
    assert keeper.flows == 0
    assert keeper.state is not None and keeper.state.floor == D(80000)


def test_an_inverse_floor_policy_needs_the_collateral_counted() -> None:
    keeper = PolicyKeeper(cppi_leg(count_collateral=False), None)  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="count_collateral"):
        keeper.ratio(snapshot(inverse_market(), spot="1", mark="100000"))


def test_status_shows_the_policy_v_f_cushion_and_near_floor() -> None:
    keeper = PolicyKeeper(cppi_leg(), None)  # type: ignore[arg-type]
    keeper.ratio(snapshot(inverse_market(), spot="1", mark="100000"))
    keeper.ratio(snapshot(inverse_market(), spot="1", mark="79000"))
    view = keeper.view()
    assert view["policy"] == "cppi:floor_pct=0.8,multiplier=3"
    assert (view["value"], view["floor"], view["near_floor"]) == (D(79000), D(80000), True)
    line = status_line({k: str(v) if isinstance(v, D) else v for k, v in view.items()})
    assert line is not None
    assert "V 79,000.00" in line and "F 80,000.00" in line and "NEAR FLOOR" in line
    assert "target h 1.0000" in line
