"""The conformance table: one row per (adapter, exchange dialect, market).

A new exchange joins with one row per market it supports: its ccxt id, the unified symbol, the
starting balances (enough collateral for a 1x short of the BTC, and for the deposit), the price,
and its dialect's emulator factory. Every check in checks.py then runs against it.
"""

from __future__ import annotations

from decimal import Decimal

from tests.conformance.harness import Market, WireHarness
from tests.conformance.sim import SimHarness
from tests.emulators.dialects import binance, bingx, bitget, bybit, deribit, okx, weex

D = Decimal
INVERSE = {"BTC": D(2), "USDT": D(0)}  # the coin is its own collateral
LINEAR = {"BTC": D(2), "USDT": D(200000)}  # USDT collateral for 2.5 BTC of short at 60,000
USDC = {"BTC": D(2), "USDC": D(200000)}  # Deribit's linear perp settles in USDC
POLLED = {"poll_interval": 1.0}  # polled over REST; the 0.5 s REST truth reads come between

MARKETS = (
    Market("sim-inverse", "sim", "BTC/USD:BTC", "inverse", INVERSE, D(60000), D("0.5"),
           D("0.3"), SimHarness),
    Market("sim-linear", "sim", "BTC/USDT:USDT", "linear", LINEAR, D(60000), D("0.5"),
           D("1"), SimHarness),
    Market("bybit-inverse", "bybit", "BTC/USD:BTC", "inverse", INVERSE, D(60000), D("0.5"),
           D("0.3"), WireHarness, bybit.emulator, {"unified": True}),
    Market("bybit-linear", "bybit", "BTC/USDT:USDT", "linear", LINEAR, D(60000), D("0.5"),
           D("1"), WireHarness, bybit.emulator, {"unified": True}),
    Market("deribit-inverse", "deribit", "BTC/USD:BTC", "inverse", INVERSE, D(60000), D("0.5"),
           D("0.3"), WireHarness, deribit.emulator),
    Market("deribit-linear", "deribit", "BTC/USDC:USDC", "linear", USDC, D(60000), D("0.5"),
           D("1"), WireHarness, deribit.emulator),
    Market("bingx-inverse", "bingx", "BTC/USD:BTC", "inverse", INVERSE, D(60000), D("0.5"),
           D("0.3"), WireHarness, bingx.conformance("inverse"), POLLED, mode="live"),
    Market("bingx-linear", "bingx", "BTC/USDT:USDT", "linear", LINEAR, D(60000), D("0.5"),
           D("1"), WireHarness, bingx.conformance("linear"), POLLED),
    Market("binance-inverse", "binancecoinm", "BTC/USD:BTC", "inverse", INVERSE, D(60000),
           D("0.5"), D("0.3"), WireHarness, binance.conformance("inverse")),
    Market("binance-linear", "binanceusdm", "BTC/USDT:USDT", "linear", LINEAR, D(60000),
           D("0.5"), D("1"), WireHarness, binance.conformance("linear")),
    # OKX: the unified trading account holds it all (the funding account stays empty).
    Market("okx-inverse", "okx", "BTC/USD:BTC", "inverse", INVERSE, D(60000), D("0.5"),
           D("0.3"), WireHarness, okx.emulator),
    Market("okx-linear", "okx", "BTC/USDT:USDT", "linear", LINEAR, D(60000), D("0.5"),
           D("1"), WireHarness, okx.emulator),
    # Bitget classic: the BTC in coin-futures (inverse) or in spot (linear), USDT in USDT-futures.
    Market("bitget-inverse", "bitget", "BTC/USD:BTC", "inverse", INVERSE, D(60000), D("0.5"),
           D("0.3"), WireHarness, bitget.emulator),
    Market("bitget-linear", "bitget", "BTC/USDT:USDT", "linear", LINEAR, D(60000), D("0.5"),
           D("1"), WireHarness, bitget.linear_emulator),
    # WEEX: linear only; its demo reaches only the capi/v3/sim endpoints, so "live" on the
    # emulator. USDT in the contract wallet, the BTC in spot; everything polled over REST.
    Market("weex-linear", "weex", "BTC/USDT:USDT", "linear", LINEAR, D(60000), D("0.5"),
           D("1"), WireHarness, weex.conformance, POLLED, mode="live"),
)  # fmt: skip
EXTERNAL = tuple(m for m in MARKETS if m.external)
