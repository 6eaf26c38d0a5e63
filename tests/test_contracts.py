"""Contract arithmetic against SPEC §1's worked numbers and hand-computed inverse/linear cases."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from hedgekeeper import contracts
from hedgekeeper.contracts import AmountUnit
from hedgekeeper.domain import ContractKind, MarketSpec


def market(kind: ContractKind, k: str, fee: str = "0") -> MarketSpec:
    if kind is ContractKind.INVERSE:
        return MarketSpec("BTC/USD:BTC", kind, D(k), D(1), D(1), D("0.5"), "BTC", "USD", "BTC",
                          D(fee))  # fmt: skip
    return MarketSpec("BTC/USDT:USDT", kind, D(k), D("0.001"), D("0.001"), D("0.1"), "BTC",
                      "USDT", "USDT", D(fee))  # fmt: skip


BYBIT_INVERSE = market(ContractKind.INVERSE, "1")
COINM = market(ContractKind.INVERSE, "100")
LINEAR = market(ContractKind.LINEAR, "0.001")


def test_spec_worked_numbers_five_btc_at_65000() -> None:
    """5.0 BTC at 65,000 -> 325,000 USD: 325,000 one-USD contracts, or 3,250 of 100 USD."""
    price = D(65000)
    assert contracts.contracts_for_coin(BYBIT_INVERSE, D(5), price) == 325000
    assert contracts.contracts_for_coin(COINM, D(5), price) == 3250
    assert contracts.notional(COINM, D(-3250), price) == D(5)  # in the coin, whatever the sign
    assert contracts.contracts_for_coin(LINEAR, D(5), price) == 5000  # 0.001 BTC each


def test_spec_worked_numbers_half_hedge_halves_the_loss() -> None:
    """20,000 USD of BTC hedged at h = 0.5: BTC -10 % costs 1,000 net instead of 2,000."""
    price, fall = D(50000), D(45000)
    coins = D(20000) / price  # 0.4 BTC
    short = -contracts.contracts_for_coin(BYBIT_INVERSE, coins / 2, price)
    assert short == -10000  # 10,000 USD short
    spot_change = coins * (fall - price)  # -2,000 USD
    hedge_coin = contracts.pnl(BYBIT_INVERSE, short, price, fall)  # in BTC
    assert spot_change == -2000
    assert hedge_coin * fall == pytest.approx(D(1000), abs=D("1e-20"))
    assert spot_change + hedge_coin * fall == pytest.approx(D(-1000), abs=D("1e-20"))


def test_per_contract_values() -> None:
    price = D(40000)
    assert contracts.coin_per_contract(COINM, price) == D("0.0025")
    assert contracts.quote_per_contract(COINM, price) == 100
    assert contracts.coin_per_contract(LINEAR, price) == D("0.001")
    assert contracts.quote_per_contract(LINEAR, price) == 40
    assert (contracts.contract_unit(COINM), contracts.contract_unit(LINEAR)) == ("USD", "BTC")
    assert contracts.collateral_is_base(COINM) and not contracts.collateral_is_base(LINEAR)


def test_value_is_signed_and_notional_is_not() -> None:
    assert contracts.value(COINM, D(-4), D(40000)) == D("-0.01")
    assert contracts.value(LINEAR, D(-4), D(40000)) == D(-160)
    assert contracts.notional(LINEAR, D(-4), D(40000)) == 160


def test_pnl_inverse_and_linear() -> None:
    # 1,000 one-USD contracts short from 50,000 to 40,000: 1000·(1/50000 - 1/40000) = -0.005 BTC.
    assert contracts.pnl(BYBIT_INVERSE, D(-1000), D(50000), D(40000)) == D("0.005")
    assert contracts.pnl(BYBIT_INVERSE, D(1000), D(50000), D(40000)) == D("-0.005")
    # 2 BTC (2,000 linear contracts of 0.001) short from 50,000 to 40,000: +20,000 USDT.
    assert contracts.pnl(LINEAR, D(-2000), D(50000), D(40000)) == 20000
    assert contracts.pnl(LINEAR, D(0), D(50000), D(40000)) == 0


def test_pnl_from_basis_matches_pnl_from_an_entry() -> None:
    for spec in (BYBIT_INVERSE, COINM, LINEAR):
        basis = contracts.value(spec, D(-30), D(50000)) + contracts.value(spec, D(-10), D(30000))
        entry = contracts.blend_entry(spec, D(-30), D(50000), D(-10), D(30000))
        got = contracts.pnl_from_basis(spec, D(-40), basis, D(42000))
        assert got == pytest.approx(contracts.pnl(spec, D(-40), entry, D(42000)), rel=D("1e-20"))


def test_blend_entry_harmonic_for_inverse_arithmetic_for_linear() -> None:
    # Inverse: 100 at 50,000 and 100 at 25,000 -> 200 / (100/50000 + 100/25000) = 33,333.33...
    inverse = contracts.blend_entry(BYBIT_INVERSE, D(-100), D(50000), D(-100), D(25000))
    assert inverse == D(200) / (D(100) / D(50000) + D(100) / D(25000))
    assert round(inverse, 2) == D("33333.33")
    assert contracts.blend_entry(LINEAR, D(100), D(50000), D(100), D(25000)) == 37500


def test_order_cost_is_margin_plus_fee() -> None:
    inverse = market(ContractKind.INVERSE, "100", fee="0.0006")
    # 100 USD at 50,000 = 0.002 BTC; at 1x plus 0.06 % fee: 0.002 · 1.0006.
    assert contracts.order_cost(inverse, D(50000), D(1)) == D("0.0020012")
    linear = market(ContractKind.LINEAR, "0.001", fee="0.0006")
    assert contracts.order_cost(linear, D(50000), D(2)) == D("25.03")  # 50 USDT / 2 + 0.03


def test_funding_positive_rate_pays_shorts() -> None:
    assert contracts.funding(COINM, D(-10), D(50000), D("0.0001")) == D("0.000002")
    assert contracts.funding(LINEAR, D(1000), D(50000), D("0.0001")) == D("-5")


def test_liquidation_price_inverse_and_linear() -> None:
    mm = D("0.005")
    # A 1x inverse short backed by its coin: no positive mark liquidates it.
    assert contracts.liquidation_price(COINM, D(-500), D(1), D(50000), mm) is None
    # Half the coin backing it: (1 - mm)·n·K / (n·K/P - E) = 0.995·50000 / (1 - 0.5) = 99,500.
    liq = contracts.liquidation_price(COINM, D(-500), D("0.5"), D(50000), mm)
    assert liq == D(99500)
    # Linear short of 1 BTC at 50,000 with 10,000 USDT: (E + n·K·P) / (n·K·(1 + mm)).
    lin = contracts.liquidation_price(LINEAR, D(-1000), D(10000), D(50000), mm)
    assert lin == D(60000) / D("1.005")
    assert contracts.liquidation_price(LINEAR, D(0), D(10000), D(50000), mm) is None


def test_liquidation_from_an_entry_equals_the_estimate_from_equity() -> None:
    """rest + pnl(entry -> mark) is the equity at the mark: both forms give one price."""
    mm, mark, entry = D("0.005"), D(48000), D(52000)
    for spec, q, rest in ((COINM, D(-300), D("0.3")), (LINEAR, D(-800), D(20000))):
        equity = rest + contracts.pnl(spec, q, entry, mark)
        a = contracts.liquidation_price(spec, q, rest, entry, mm)
        b = contracts.liquidation_price(spec, q, equity, mark, mm)
        assert a is not None and b is not None
        assert a == pytest.approx(b, rel=D("1e-20"))


def test_amount_units() -> None:
    assert contracts.to_amount(COINM, D(7), AmountUnit.CONTRACTS) == 7
    assert contracts.to_amount(COINM, D(7), AmountUnit.QUOTE) == 700  # Deribit: USD face
    assert contracts.from_amount(COINM, D(700), AmountUnit.QUOTE) == 7
    assert contracts.to_amount(LINEAR, D(1500), AmountUnit.COIN) == D("1.5")
    assert contracts.from_amount(LINEAR, D("1.5"), AmountUnit.COIN) == 1500
    with pytest.raises(ValueError, match="need a price"):
        contracts.to_amount(COINM, D(7), AmountUnit.COIN)
    with pytest.raises(ValueError, match="need a price"):
        contracts.from_amount(LINEAR, D(7), AmountUnit.QUOTE)
