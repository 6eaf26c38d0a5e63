"""Fuzz: malformed exchange payloads through the adapter's parsers, then through a leg's loop.

The parsers (`ccxt_parse`, `bybit`) promise a domain value or `BadReply`, never another exception;
the first tests feed them over 10,000 mangled versions of real ccxt-unified and Bybit v5 payloads
(captured from ccxt 4.5 against the Bybit emulator): keys removed, values replaced by None,
numbers-as-strings, "NaN"/"inf", negative or absurd numbers, wrong symbols, wrong types and nested
junk. A value that comes back must also be usable: the arithmetic the daemon does on it may not
raise either. Each of those tests also feeds a valid payload with a drawn number in it and checks
the exact value that comes back, so a parser that refused everything would fail them.

The last tests run a `LegEngine` against a real `CcxtVenue` (Bybit quirks) whose ccxt client is a
fake serving those payloads: with malformed ones the leg holds as degraded and never orders; with
anything at all, no exception escapes the loop's step.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgekeeper import config, contracts
from hedgekeeper.domain import (
    AccountSettings,
    Collateral,
    ContractKind,
    FundingEvent,
    MarketSpec,
    OrderReport,
    OrderState,
    Position,
    Prices,
    Side,
    Stamped,
)
from hedgekeeper.engine import LegEngine
from hedgekeeper.journal import Journal
from hedgekeeper.metrics import Metrics
from hedgekeeper.venues.base import BadReply, SpotReading
from hedgekeeper.venues.bybit import TRAITS, BybitQuirks
from hedgekeeper.venues.bybit import parse as bybit
from hedgekeeper.venues.ccxt import parse
from hedgekeeper.venues.ccxt.quirks import Ctx, StreamSpec, balance_collateral
from hedgekeeper.venues.ccxt.traits import Stream
from hedgekeeper.venues.ccxt.venue import CcxtVenue
from tests.emulators.bybit_venue import FAST

SYMBOL = "BTC/USD:BTC"
TS = 1_795_000_000.0
PER_PARSER = 1250  # x 9 parser targets = 11,250 payloads
FUZZ = settings(
    max_examples=PER_PARSER,
    deadline=None,
    derandomize=True,  # the same examples on every run
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LOOP_FUZZ = settings(FUZZ, max_examples=150)  # each a fresh leg driven for up to 12 steps

# ---- real payloads (ccxt 4.5 bybit against tests/emulators, trimmed of fields nobody reads) ----

MARKET: dict[str, Any] = {
    "id": "BTCUSD", "symbol": SYMBOL, "base": "BTC", "quote": "USD", "settle": "BTC",
    "type": "swap", "spot": False, "swap": True, "future": False, "option": False,
    "active": True, "contract": True, "linear": False, "inverse": True, "subType": "inverse",
    "taker": 0.0006, "maker": 0.0001, "contractSize": 1.0,
    "precision": {"amount": 1.0, "price": 0.5},
    "limits": {"leverage": {"min": 1.0, "max": 100.0}, "amount": {"min": 1.0, "max": 1000000.0},
               "price": {"min": 0.5, "max": 1999999.0}, "cost": {"min": None, "max": None}},
}  # fmt: skip
TICKER: dict[str, Any] = {
    "symbol": SYMBOL, "timestamp": None, "high": 60000.0, "low": 60000.0, "bid": 59999.5,
    "ask": 60000.0, "last": 60000.0, "markPrice": 60000.0, "indexPrice": 60000.0,
}  # fmt: skip
POSITION_INFO: dict[str, Any] = {
    "positionIdx": 0, "riskId": 1, "symbol": "BTCUSD", "side": "Sell", "size": "108000",
    "positionValue": "1.8", "tradeMode": 0, "leverage": "1", "markPrice": "60000",
    "liqPrice": "", "bustPrice": "", "positionIM": "1.8", "unrealisedPnl": "0",
    "createdTime": "1795337927083", "updatedTime": "1795337927134", "seq": 2,
    "avgPrice": "60000",
}  # fmt: skip
POSITION: dict[str, Any] = {
    "id": None, "symbol": SYMBOL, "timestamp": 1795337927083, "initialMargin": 1.8,
    "entryPrice": 60000.0, "notional": 1.8, "leverage": 1.0, "unrealizedPnl": 0.0,
    "contracts": 108000.0, "contractSize": 1.0, "liquidationPrice": None, "markPrice": 60000.0,
    "marginMode": None, "side": "short", "hedged": False, "info": POSITION_INFO,
}  # fmt: skip
ORDER: dict[str, Any] = {
    "id": "00000001-emu-1795337927134", "clientOrderId": "hk1", "timestamp": 1795337927134,
    "symbol": SYMBOL, "type": "limit", "timeInForce": "IOC", "reduceOnly": False,
    "side": "sell", "price": 59700.0, "amount": 1000.0, "cost": 0.01666667, "average": 60000.0,
    "filled": 1000.0, "remaining": 0.0, "status": "closed",
    "fee": {"cost": 1e-05, "currency": "BTC"}, "trades": [],
    "fees": [{"cost": 1e-05, "currency": "BTC"}],
}  # fmt: skip
COIN: dict[str, Any] = {
    "coin": "BTC", "equity": "2", "usdValue": "120000", "walletBalance": "2", "locked": "0",
    "availableToWithdraw": "0.2", "totalOrderIM": "0", "totalPositionIM": "1.8",
    "unrealisedPnl": "0", "marginCollateral": True,
}  # fmt: skip
WALLET: dict[str, Any] = {"accountType": "UNIFIED", "totalEquity": "120000", "coin": [COIN]}
BALANCE: dict[str, Any] = {
    "info": {"retCode": 0, "retMsg": "OK", "result": {"list": [WALLET]}, "time": 1795337927140},
    "BTC": {"free": 0.2, "used": 1.8, "total": 2.0}, "total": {"BTC": 2.0}, "free": {"BTC": 0.2},
}  # fmt: skip
ACCOUNT_INFO: dict[str, Any] = {
    "retCode": 0, "retMsg": "OK",
    "result": {"marginMode": "REGULAR_MARGIN", "unifiedMarginStatus": 6},
}  # fmt: skip
FUNDING_INFO: dict[str, Any] = {
    "symbol": "BTCUSD", "side": "Sell", "execFee": "-0.00000154", "execId": "exec-00000003",
    "execPrice": "60000", "execQty": "108000", "execType": "Funding", "execTime": "1795337927140",
    "feeRate": "0.0001",
}  # fmt: skip
FUNDING: list[Any] = [
    {"info": FUNDING_INFO, "symbol": SYMBOL, "code": "USD", "timestamp": 1795337927140,
     "id": "exec-00000003", "amount": -1.54e-06, "rate": 0.0001},
]  # fmt: skip

# ---- strategies ---------------------------------------------------------------------------------

SPECIAL_TEXT = (
    "", " ", "NaN", "nan", "-NaN", "sNaN", "inf", "-inf", "Infinity", "-Infinity", "0", "-0",
    "-1", "0.0", "1e30", "-1e30", "1e-30", "1e999999999", "1e-999999999", "1E+1000000",
    "0x10", "1_000", "1,5", "١٢٣", "12abc", "None", "null", "true", "[]", "{}",
    "BTC", "USD", "BTCUSD", "ETH/USD:ETH", "BTC/USDT:USDT", SYMBOL, "UNIFIED", "CONTRACT",
    "long", "short", "Sell", "closed", "open", "canceled", "rejected", "Funding", "Trade",
)  # fmt: skip
SPECIAL_NUMBERS = (
    0, -1, 1, 10**13, 10**30, -(10**30), 0.0, -0.0, 1e-300, 5e-324, 1e300,
    float("nan"), float("inf"), float("-inf"), Decimal("NaN"), Decimal("sNaN"),
    Decimal("-Infinity"), Decimal("1e-999999999"), Decimal("1e999999999"),
)  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.text(max_size=10),
    st.sampled_from(SPECIAL_TEXT),
    st.sampled_from(SPECIAL_NUMBERS),
    st.builds(pow, st.just(10), st.just(5000)),  # an int too long for str()
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(str),
)
keys = st.one_of(st.text(max_size=8), st.sampled_from(sorted({*MARKET, *POSITION, *COIN, *ORDER})))
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
# What no field accepts: the malformed values the loop test uses (no in-range number among them).
invalid = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(
        ("", "NaN", "inf", "-Infinity", "sNaN", "1e30", "-1e30", "1e999999999", "1e-999999999",
         "1e-40", "abc", "ETH/USD:ETH", "12abc", 10**30, float("nan"), float("inf"), 1e-300)
    ),
    st.lists(scalars, max_size=2),
    st.dictionaries(st.text(max_size=4), scalars, max_size=2),
)  # fmt: skip

Path_ = tuple[Any, ...]


def paths(value: object, here: Path_ = ()) -> Iterator[Path_]:
    """Every key or index path inside nested dicts and lists."""
    if isinstance(value, dict):
        for key in value:
            yield (*here, key)
            yield from paths(value[key], (*here, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield (*here, i)
            yield from paths(item, (*here, i))


def _parent(root: Any, path: Path_) -> Any:
    for step in path[:-1]:
        root = root[step]
    return root


@st.composite
def mangled(draw: st.DrawFn, base: object, values: st.SearchStrategy[Any] = junk) -> object:
    """`base` with one to four of its keys deleted or values replaced (or all of it replaced)."""
    if values is junk and draw(st.integers(0, 19)) == 0:
        return draw(junk)
    value = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        options = list(paths(value))
        if not options:
            break
        path = draw(st.sampled_from(options))
        parent = _parent(value, path)
        action = draw(st.sampled_from(("delete", "replace", "replace", "stringify")))
        if action == "delete" and (isinstance(parent, dict) or values is junk):
            del parent[path[-1]]  # the loop test never shortens a list: [] is a flat position
        elif action == "stringify" and values is junk:
            with contextlib.suppress(ValueError):  # an int too long for str() stays as it is
                parent[path[-1]] = str(parent[path[-1]])
        else:
            parent[path[-1]] = draw(values)
    return value


D = Decimal
Valid = tuple[Any, Decimal]


@st.composite
def valid(draw: st.DrawFn, base: object, path: Path_, values: st.SearchStrategy[Any]) -> Valid:
    """`base` with the number at `path` replaced by a drawn one: (payload, the number)."""
    raw = copy.deepcopy(base)
    value = draw(values)
    _parent(raw, path)[path[-1]] = value
    return raw, D(str(value))


def numbers(low: str, high: str, places: int, as_text: bool) -> st.SearchStrategy[Any]:
    """Valid numbers as ccxt gives them: floats in unified fields, strings in raw `info`."""
    drawn = st.decimals(min_value=D(low), max_value=D(high), places=places)
    return drawn.map(str) if as_text else drawn.map(float)


# ---- what a usable value is -----------------------------------------------------------------


def finite(*numbers: Decimal | None) -> None:
    for n in numbers:
        assert n is None or (isinstance(n, Decimal) and n.is_finite()), n


def parsed(call: Callable[[], Any]) -> Any:
    """The parser's value, or None when it said BadReply; any other exception fails the test."""
    try:
        return call()
    except BadReply:
        return None


def check_market(m: MarketSpec) -> None:
    finite(m.contract_size, m.amount_step, m.min_amount, m.price_step, m.taker_fee)
    assert min(m.contract_size, m.amount_step, m.min_amount, m.price_step) > 0
    for price in (Decimal(1), Decimal(60000), parse.MAX_PRICE - 1):
        m.round_amount(Decimal(108000))
        m.floor_amount(Decimal(108000) / 7)
        m.round_price(price * Decimal("0.995"), Side.SELL)
        m.round_price(price, Side.BUY)
        contracts.coin_per_contract(m, price)
        contracts.quote_per_contract(m, price)


def check_prices(p: Prices) -> None:
    finite(p.mark, p.index)
    assert 0 < p.mark < parse.MAX_PRICE
    Decimal(1) / p.mark * Decimal(10) ** 13  # an inverse target at the largest amount


def check_position(p: Position) -> None:
    assert p.symbol == SYMBOL
    finite(p.contracts, p.entry_price, p.liquidation_price, p.leverage)
    assert abs(p.contracts) < parse.MAX_AMOUNT


def check_collateral(c: Collateral) -> None:
    finite(c.wallet, c.equity, c.free)  # a negative free is possible (debt): guards floor it
    max(c.free, Decimal(0)) / Decimal("1e-9")  # what a contract's margin divides it by


def check_order(o: OrderReport) -> None:
    finite(o.filled, o.average_price, o.fee)
    assert o.client_id == "hk1" and o.filled >= 0
    assert (o.average_price is not None) == bool(o.filled)


def check_funding(events: list[FundingEvent]) -> None:
    for e in events:
        finite(e.amount, e.rate)
        assert e.symbol == SYMBOL and e.ts > 0


# ---- the parsers ------------------------------------------------------------------------------


@FUZZ
@given(
    raw=mangled(MARKET),
    tick_size=st.booleans(),
    good=valid(MARKET, ("contractSize",), numbers("0.001", "1000", 3, False)),
)
def test_market(raw: object, tick_size: bool, good: Valid) -> None:
    payload, size = good
    assert parse.parse_market(payload, SYMBOL) == MarketSpec(
        SYMBOL, ContractKind.INVERSE, size, D(1), D(1), D("0.5"), "BTC", "USD", "BTC", D("0.0006")
    )
    if (m := parsed(lambda: parse.parse_market(raw, SYMBOL, tick_size))) is not None:
        check_market(m)


def with_index(good: Valid) -> Valid:
    payload, mark = good
    payload["indexPrice"] = payload["markPrice"]
    return payload, mark


@FUZZ
@given(
    raw=mangled(TICKER),
    good=valid(TICKER, ("markPrice",), numbers("0.5", "999999", 1, False)).map(with_index),
)
def test_ticker(raw: object, good: Valid) -> None:
    payload, mark = good
    assert parse.parse_prices(payload, SYMBOL, TS) == Prices(mark, TS, mark)
    if (p := parsed(lambda: parse.parse_prices(raw, SYMBOL, TS))) is not None:
        check_prices(p)


@FUZZ
@given(
    raw=mangled([POSITION]),
    good=valid([POSITION], (0, "contracts"), st.integers(1, 10**9)),
    side=st.sampled_from(("long", "short")),
)
def test_positions(raw: object, good: Valid, side: str) -> None:
    payload, size = good
    payload[0]["side"] = side
    signed = size if side == "long" else -size
    assert parse.parse_position(payload, SYMBOL, TS) == Position(
        SYMBOL, signed, TS, D(60000), None, D(1)
    )
    if (p := parsed(lambda: parse.parse_position(raw, SYMBOL, TS))) is not None:
        check_position(p)


@FUZZ
@given(raw=mangled(ORDER), good=valid(ORDER, ("filled",), st.integers(0, 1000)))
def test_order(raw: object, good: Valid) -> None:
    payload, filled = good
    state = OrderState.FILLED if filled == 1000 else OrderState.PARTIAL
    average = D(60000) if filled else None
    assert parse.parse_order(payload, "hk1", "BTC", TS) == OrderReport(
        "hk1", state, filled, average, D("0.00001"), TS, ORDER["id"]
    )
    if (o := parsed(lambda: parse.parse_order(raw, "hk1", "BTC", TS))) is not None:
        check_order(o)


@FUZZ
@given(
    raw=mangled(FUNDING),
    bybit_shape=st.booleans(),
    paid=valid(FUNDING, (0, "info", "execFee"), numbers("-1", "1", 8, True)),
    received=valid(FUNDING, (0, "amount"), numbers("-1", "1", 8, False)),
)
def test_funding(raw: object, bybit_shape: bool, paid: Valid, received: Valid) -> None:
    (by_bybit, fee), (by_ccxt, amount) = paid, received
    ts, rate = 1795337927.14, D("0.0001")
    assert bybit.parse_funding(by_bybit, SYMBOL, "BTCUSD", -1) == [
        FundingEvent(SYMBOL, -fee, ts, rate)
    ]
    assert parse.parse_funding(by_ccxt, SYMBOL) == [FundingEvent(SYMBOL, amount, ts, rate)]
    if bybit_shape:
        events = parsed(lambda: bybit.parse_funding(raw, SYMBOL, "BTCUSD", -1))
    else:
        events = parsed(lambda: parse.parse_funding(raw, SYMBOL))
    if events is not None:
        check_funding(events)


def unified_balance_streams(market: MarketSpec) -> list[StreamSpec]:
    """The wallet streams of Bybit's hooks on a UTA 2.0 account (one wallet for everything)."""
    ctx = Ctx(None, None, TRAITS.account("uta2"), TRAITS, lambda: TS)
    streams = BybitQuirks().streams(ctx, market, "BTC")
    return [s for s in streams if s.kind is Stream.BALANCE]


EQUITY_PATH = ("info", "result", "list", 0, "coin", 0, "equity")


@FUZZ
@given(raw=mangled(BALANCE), good=valid(BALANCE, EQUITY_PATH, numbers("0", "1000", 8, True)))
def test_bybit_wallet_and_its_streams(raw: object, good: Valid) -> None:
    def collateral(raw: object) -> Collateral:
        entry = bybit.wallet_coin(bybit.balance_info(raw), "UNIFIED", "BTC")
        return bybit.parse_coin(entry, "BTC", TS, True)

    payload, equity = good
    expected = Collateral(D(2), equity, D("0.2"), TS, True)
    assert collateral(payload) == expected
    market = parse.parse_market(MARKET, SYMBOL)
    [stream] = unified_balance_streams(market)
    assert stream.parse(payload, TS) == [expected, SpotReading("BTC", Stamped(equity, TS))]
    if (c := parsed(lambda: collateral(raw))) is not None:
        check_collateral(c)
    for stream in unified_balance_streams(market):
        for reading in parsed(lambda p=stream.parse: p(raw, TS)) or []:  # type: ignore[misc]
            if isinstance(reading, Collateral):
                check_collateral(reading)
            else:
                finite(reading.amount.value)


@FUZZ
@given(raw=mangled(BALANCE), good=valid(BALANCE, ("BTC", "total"), numbers("0", "1000", 8, False)))
def test_plain_ccxt_balance(raw: object, good: Valid) -> None:
    payload, total = good
    assert balance_collateral(payload, "BTC", TS, False) == Collateral(total, total, D("0.2"), TS)
    if (c := parsed(lambda: balance_collateral(raw, "BTC", TS, False))) is not None:
        check_collateral(c)


@FUZZ
@given(
    positions=mangled([POSITION]),
    account=mangled(ACCOUNT_INFO),
    unified=st.booleans(),
    good=valid([POSITION], (0, "info", "leverage"), numbers("0.01", "100", 2, True)),
)
def test_bybit_settings(positions: object, account: object, unified: bool, good: Valid) -> None:
    payload, leverage = good
    info = account if unified else None
    known = ACCOUNT_INFO if unified else None
    expected = AccountSettings(leverage, "cross", True, unified, TS)
    assert bybit.parse_settings(payload, known, SYMBOL, unified, TS) == expected
    found = parsed(lambda: bybit.parse_settings(positions, info, SYMBOL, unified, TS))
    if found is not None:
        assert isinstance(found, AccountSettings)
        finite(found.leverage)


@FUZZ
@given(raw=mangled(ORDER), good=valid(ORDER, ("fee", "cost"), numbers("0", "1", 8, False)))
def test_order_fee(raw: object, good: Valid) -> None:
    payload, fee = good
    assert parse.order_fee(payload, "BTC", "order") == fee
    if isinstance(raw, dict):
        finite(parsed(lambda: parse.order_fee(raw, "BTC", "order")))


EXTREMES = (
    "1e-999999999", "-1e-999999999", "1e-1000000", "1e-40", "1e999999999", "1e-30", "9" * 40,
    "0." + "0" * 40 + "1", 1e-300, 5e-324, 1e300, -1e-300, 10**18, Decimal("1e-999999"),
)  # fmt: skip
TICKER_NO_INDEX = {k: v for k, v in TICKER.items() if k != "indexPrice"}
TARGETS: dict[str, tuple[object, Callable[[Any], None]]] = {
    "market": (MARKET, lambda raw: check_market(parse.parse_market(raw, SYMBOL))),
    "ticker": (TICKER, lambda raw: check_prices(parse.parse_prices(raw, SYMBOL, TS))),
    "ticker without index": (
        TICKER_NO_INDEX,
        lambda raw: check_prices(parse.parse_prices(raw, SYMBOL, TS)),
    ),
    "positions": ([POSITION], lambda raw: check_position(parse.parse_position(raw, SYMBOL, TS))),
    "order": (ORDER, lambda raw: check_order(parse.parse_order(raw, "hk1", "BTC", TS))),
    "funding": (FUNDING, lambda raw: check_funding(bybit.parse_funding(raw, SYMBOL, "BTCUSD", -1))),
    "wallet": (
        BALANCE,
        lambda raw: check_collateral(
            bybit.parse_coin(
                bybit.wallet_coin(bybit.balance_info(raw), "UNIFIED", "BTC"), "BTC", TS, True
            )
        ),
    ),
}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_extreme_numbers_in_every_field(target: str) -> None:
    """Every field, every extreme: the rare combinations random examples may not reach."""
    base, check = TARGETS[target]
    check(copy.deepcopy(base))  # the real payload passes: a parser refusing all would not
    for path in list(paths(base)):
        for extreme in EXTREMES:
            raw = copy.deepcopy(base)
            _parent(raw, path)[path[-1]] = extreme
            with contextlib.suppress(BadReply):
                check(raw)


# ---- the leg's loop ---------------------------------------------------------------------------

LEG_TOML = """
mode = "testnet"
[venues.bybit]
exchange = "bybit"
[[legs]]
name = "btc"
asset = "BTC"
perp = { venue = "bybit", symbol = "BTC/USD:BTC" }
spot = [{ venue = "bybit" }]
hedge_ratio = 0.9
max_order = 25000
"""
READS = ("balance", "positions", "ticker", "account", "funding", "orders")


class FakeBybit:
    """What `CcxtVenue` calls on a ccxt bybit, serving the payloads above (on target: 108,000
    short of 2 BTC at 60,000, h = 0.9) unless a test has queued a mangled one for the next call."""

    precisionMode = 4  # ccxt TICK_SIZE (ccxt's attribute name)

    def __init__(self) -> None:
        self.markets: dict[str, Any] = {SYMBOL: MARKET}
        self.currencies: dict[str, Any] = {}
        self.options: dict[str, Any] = {"unifiedMarginStatus": 6}
        self.next: dict[str, list[object]] = {name: [] for name in READS}
        self.orders: list[tuple[Any, ...]] = []

    def market(self, symbol: str) -> dict[str, Any]:
        return dict(self.markets[symbol])

    def _serve(self, name: str, good: object) -> Any:
        queue = self.next[name]
        raw = queue.pop(0) if queue else copy.deepcopy(good)
        if isinstance(raw, BaseException):
            raise raw
        return raw

    async def fetch_balance(self, params: dict[str, Any] | None = None) -> Any:
        return self._serve("balance", BALANCE)

    async def fetch_positions(self, symbols: list[str] | None = None) -> Any:
        return self._serve("positions", [POSITION])

    async def fetch_ticker(self, symbol: str) -> Any:
        return self._serve("ticker", TICKER)

    async def private_get_v5_account_info(self) -> Any:
        return self._serve("account", ACCOUNT_INFO)

    async def fetch_funding_history(self, symbol: str, since: int | None = None) -> Any:
        return self._serve("funding", FUNDING)

    async def fetch_open_orders(self, *args: Any) -> Any:
        return self._serve("orders", [])

    async def fetch_canceled_and_closed_orders(self, *args: Any) -> Any:
        return self._serve("orders", [])

    async def create_order(self, *args: Any) -> Any:
        self.orders.append(args)
        return {"id": f"fake-{len(self.orders)}"}

    async def cancel_order(self, *args: Any) -> Any:
        return {}

    async def set_position_mode(self, *args: Any) -> Any:
        return {}

    async def set_margin_mode(self, *args: Any) -> Any:
        return {}

    async def set_leverage(self, *args: Any) -> Any:
        return {}

    async def close(self) -> None:
        return None


class Clock:
    def __init__(self) -> None:
        self.t = TS

    def __call__(self) -> float:
        return self.t


async def started_leg(tmp: Path) -> tuple[LegEngine, FakeBybit, Clock, Journal]:
    settings_ = config.parse(LEG_TOML, "fuzz")
    fake, clock = FakeBybit(), Clock()
    venue = CcxtVenue("bybit", settings_.venues["bybit"], "testnet", BybitQuirks(), FAST)
    venue._rest = fake  # the adapter's ccxt client: here the fake
    venue._account = TRAITS.account("uta2")  # as `open` learns it from a UTA 2.0 account
    venue.now = clock  # type: ignore[method-assign]
    journal = Journal(tmp / "fuzz.sqlite", lock=False, durable=False)
    engine = LegEngine(settings_.legs[0], {"bybit": venue}, journal, Metrics())
    engine.executor.lookup_delay = 0.0
    await engine.start()
    return engine, fake, clock, journal


async def drive(
    tmp: Path, steps: list[tuple[str, object, float, int]]
) -> tuple[LegEngine, FakeBybit, list[str]]:
    """Run the loop's two calls (`_periodic`, `_guarded_step`) once per queued payload."""
    engine, fake, clock, journal = await started_leg(tmp)
    states = []
    try:
        assert (await engine._guarded_step()) is None and engine.state == "live", engine.why
        for name, raw, advance, reads in steps:
            fake.next[name] += [raw] * reads  # the next `reads` calls get it
            clock.t += advance
            await engine._periodic()
            await engine._guarded_step()
            states.append(engine.state)
    finally:
        journal.close()
    return engine, fake, states


def loop_steps(
    values: st.SearchStrategy[Any],
) -> st.SearchStrategy[list[tuple[str, Any, float, int]]]:
    bases = {"balance": BALANCE, "positions": [POSITION], "ticker": TICKER, "funding": FUNDING}
    step = st.sampled_from(sorted(bases)).flatmap(
        lambda name: st.tuples(
            st.just(name),
            mangled(bases[name], values),
            st.sampled_from((0.0, 1.0, 200.0)),  # 200 s: everything older than the age limit
            st.integers(1, 3),
        )
    )
    return st.lists(step, min_size=1, max_size=12)


@LOOP_FUZZ
@given(steps=loop_steps(invalid))
def test_malformed_payloads_never_crash_the_loop_nor_order(
    steps: list[tuple[str, object, float, int]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("loop")
    _, fake, states = asyncio.run(drive(tmp, steps))
    assert fake.orders == []
    assert set(states) <= {"live", "degraded"}


@LOOP_FUZZ
@given(steps=loop_steps(junk))
def test_any_payload_never_crashes_the_loop(
    steps: list[tuple[str, object, float, int]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("loop")
    asyncio.run(drive(tmp, steps))  # no exception out of the loop's calls
