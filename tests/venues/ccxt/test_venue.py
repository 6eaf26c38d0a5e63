"""Generic ccxt venue pieces: parsers fed malformed payloads, error mapping, URL overrides."""

from __future__ import annotations

import contextlib
import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from hedgekeeper.config import Urls, VenueConfig
from hedgekeeper.domain import ContractKind, OrderState
from hedgekeeper.venues.base import (
    BadReply,
    DuplicateClientId,
    InsufficientMargin,
    OrderRejected,
    OutcomeUnknown,
    RateLimited,
    VenueError,
    VenueUnavailable,
)
from hedgekeeper.venues.bitget import BitgetQuirks
from hedgekeeper.venues.bybit import BybitQuirks
from hedgekeeper.venues.bybit import parse as bybit
from hedgekeeper.venues.ccxt import parse as ccxt_parse
from hedgekeeper.venues.ccxt.quirks import Quirks
from hedgekeeper.venues.ccxt.transport import override_urls
from hedgekeeper.venues.ccxt.venue import CcxtVenue
from hedgekeeper.venues.okx import OkxQuirks
from hedgekeeper.venues.registry import make_venue
from hedgekeeper.venues.sim import SimVenue

SYMBOL = "BTC/USD:BTC"
MARKET = {
    "symbol": SYMBOL, "contract": True, "inverse": True, "linear": False, "contractSize": 1.0,
    "precision": {"amount": 1.0, "price": 0.5}, "limits": {"amount": {"min": 1.0}},
    "base": "BTC", "quote": "USD", "settle": "BTC", "taker": 0.00055,
}  # fmt: skip
TICKER = {"symbol": SYMBOL, "markPrice": 65000.5, "indexPrice": "65001"}
POSITION = {"symbol": SYMBOL, "contracts": 1000.0, "side": "short", "entryPrice": 64000.0,
            "liquidationPrice": None, "leverage": 1.0}  # fmt: skip
ORDER = {"id": "o1", "clientOrderId": "c1", "status": "closed", "amount": 10.0, "filled": 10.0,
         "average": 65000.0, "fee": {"cost": 9.2e-08, "currency": "BTC"}}  # fmt: skip
COIN = {"coin": "BTC", "walletBalance": "0.99", "equity": "1.01", "availableToWithdraw": "",
        "totalPositionIM": "0.1", "totalOrderIM": "0", "locked": "0"}  # fmt: skip
WALLET = {"retCode": 0, "result": {"list": [{"accountType": "UNIFIED", "coin": [COIN]}]}}
SETTINGS = [{"symbol": SYMBOL, "info": {"leverage": "1", "positionIdx": 0, "tradeMode": 0}}]
FUNDING = [{"info": {"symbol": "BTCUSD", "execType": "Funding", "execFee": "-0.00005",
                     "execTime": "1700000000000", "feeRate": "0.0001"}}]  # fmt: skip

PARSERS: dict[str, tuple[Any, Any]] = {
    "market": (MARKET, lambda raw: ccxt_parse.parse_market(raw, SYMBOL)),
    "ticker": (TICKER, lambda raw: ccxt_parse.parse_prices(raw, SYMBOL, 1.0)),
    "position": ([POSITION], lambda raw: ccxt_parse.parse_position(raw, SYMBOL, 1.0)),
    "order": (ORDER, lambda raw: ccxt_parse.parse_order(raw, "c1", "BTC", 1.0)),
    "wallet": (WALLET, lambda raw: bybit.parse_coin(bybit.wallet_coin(raw, "UNIFIED", "BTC"),
                                                    "BTC", 1.0, True)),
    "settings": (SETTINGS, lambda raw: bybit.parse_settings(raw, None, SYMBOL, False, 1.0)),
    "funding": (FUNDING, lambda raw: bybit.parse_funding(raw, SYMBOL, "BTCUSD", -1)),
}  # fmt: skip


def test_good_payloads_parse() -> None:
    spec = PARSERS["market"][1](MARKET)
    assert (spec.kind, spec.amount_step, spec.price_step) == (
        ContractKind.INVERSE,
        1,
        Decimal("0.5"),
    )
    assert spec.taker_fee == Decimal("0.00055")
    prices = PARSERS["ticker"][1](TICKER)
    assert (prices.mark, prices.index) == (Decimal("65000.5"), 65001)
    position = PARSERS["position"][1]([POSITION])
    assert (position.contracts, position.entry_price, position.liquidation_price) == (
        -1000, 64000, None)  # fmt: skip
    report = PARSERS["order"][1](ORDER)
    assert (report.state, report.filled, report.fee) == (OrderState.FILLED, 10, Decimal("9.2e-08"))
    wallet = PARSERS["wallet"][1](WALLET)
    assert (wallet.wallet, wallet.equity, wallet.free) == (Decimal("0.99"), Decimal("1.01"),
                                                           Decimal("0.91"))  # fmt: skip
    assert PARSERS["settings"][1](SETTINGS).one_way
    assert PARSERS["funding"][1](FUNDING)[0].amount == Decimal("0.00005")
    assert ccxt_parse.parse_position([], SYMBOL, 1.0).contracts == 0


@pytest.mark.parametrize(
    ("name", "path", "value", "message"),
    [
        ("ticker", ["markPrice"], None, "markPrice missing"),
        ("ticker", ["markPrice"], "abc", "not a number"),
        ("ticker", ["markPrice"], -1, "must be > 0"),
        ("ticker", ["markPrice"], 1e12, "absurd"),
        ("ticker", ["indexPrice"], 20000, "far from index"),
        ("ticker", ["symbol"], "ETH/USD:ETH", "asked for"),
        ("position", [0, "symbol"], "BTC/USDT:USDT", "asked for"),
        ("position", [0, "contracts"], -5, "must be >= 0"),
        ("position", [0, "contracts"], True, "not a number"),
        ("position", [0, "side"], None, "on side"),
        ("order", ["filled"], 11.0, "more than the amount"),
        ("order", ["clientOrderId"], "c2", "client id"),
        ("order", ["status"], "weird", "unknown status"),
        ("order", ["fee"], {"cost": 1.0, "currency": "USDT"}, "fee charged in"),
        ("market", ["contractSize"], 0, "must be > 0"),
        ("market", ["inverse"], False, "neither clearly"),
        ("wallet", ["result", "list", 0, "coin", 0, "coin"], "ETH", "BTC missing"),
        ("wallet", ["result", "list", 0, "coin", 0, "equity"], "NaN", "not a finite number"),
        ("wallet", ["result", "list", 0, "accountType"], "SPOT", "not in the reply"),
        ("settings", [0, "info", "positionIdx"], 7, "unknown positionIdx"),
        ("funding", [0, "info", "symbol"], "ETHUSD", "asked for"),
    ],
)
def test_malformed_fields_are_bad_replies(
    name: str, path: list[Any], value: Any, message: str
) -> None:
    good, parser = PARSERS[name]
    bad = copy.deepcopy(good)
    target = bad
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(BadReply, match=message):
        parser(bad)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += _paths(inner, (*prefix, i))
    return found


JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.sampled_from(["", "0", "-1", "1e400", "NaN", "Infinity", "null"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip


def _mutate(good: Any, choice: int, junk: Any, delete: bool) -> Any:
    bad = copy.deepcopy(good)
    paths = _paths(bad)
    path = paths[choice % len(paths)]
    target = bad
    for key in path[:-1]:
        target = target[key]
    if delete and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = junk
    return bad


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choice=st.integers(min_value=0), junk=JUNK, delete=st.booleans())
def test_fuzzed_payloads_parse_or_raise_bad_reply(
    name: str, choice: int, junk: Any, delete: bool
) -> None:
    good, parser = PARSERS[name]
    with contextlib.suppress(BadReply):
        parser(_mutate(good, choice, junk, delete))


@pytest.mark.parametrize("name", sorted(PARSERS))
@given(junk=JUNK)
def test_wholly_wrong_payloads_are_bad_replies(name: str, junk: Any) -> None:
    with contextlib.suppress(BadReply):
        PARSERS[name][1](junk)


def test_urls_override_hosts_and_keeps_paths() -> None:
    api = {
        "public": "https://api.{hostname}",
        "ws": {"public": {"inverse": "wss://stream.{hostname}/v5/public/inverse"}},
        "rate": 5,
    }
    got = override_urls(api, "http://127.0.0.1:9", "ws://127.0.0.1:9/")
    assert got == {
        "public": "http://127.0.0.1:9",
        "ws": {"public": {"inverse": "ws://127.0.0.1:9/v5/public/inverse"}},
        "rate": 5,
    }
    assert override_urls(api, None, None) == api


def _venue(mode: str = "testnet", **cfg: Any) -> CcxtVenue:
    config = VenueConfig(exchange="bybit", api_key=SecretStr("k3y-abc"),
                         secret=SecretStr("s3cret-xyz"), **cfg)  # fmt: skip
    return CcxtVenue("b", config, mode, BybitQuirks())


def test_testnet_then_override_wins_and_retries_are_off() -> None:
    import ccxt.async_support as ccxt_async

    plain = _venue()._client(ccxt_async)
    assert "testnet" in plain.urls["api"]["public"]
    moved = _venue(urls=Urls(rest="http://127.0.0.1:1", ws="ws://127.0.0.1:1"))._client(ccxt_async)
    assert moved.urls["api"]["private"] == "http://127.0.0.1:1"
    assert moved.options["maxRetriesOnFailure"] == 0
    assert moved.options["fetchMarkets"]["types"] == ["spot", "linear", "inverse"]
    live = _venue("live", options={"timeout": 1234, "recvWindow": 7000})._client(ccxt_async)
    assert "testnet" not in live.urls["api"]["public"]
    assert (live.timeout, live.options["recvWindow"]) == (1234, 7000)


def test_errors_map_to_venue_errors_and_hide_secrets() -> None:
    from ccxt.base import errors as e

    venue = _venue()
    venue._config()  # learns its secrets
    body = '{"retCode":110072,"retMsg":"OrderLinkedID is duplicate"}'
    cases: list[tuple[Exception, bool, type[VenueError]]] = [
        (e.InvalidOrder(f"bybit {body}"), True, DuplicateClientId),
        (e.InsufficientFunds('bybit {"retCode":110007}'), True, InsufficientMargin),
        (e.InvalidOrder('bybit {"retCode":110017}'), True, OrderRejected),
        (e.BadRequest("bybit x"), True, OrderRejected),
        (e.RateLimitExceeded("slow down"), False, RateLimited),
        (e.RateLimitExceeded("slow down"), True, RateLimited),
        (e.RequestTimeout("t"), True, OutcomeUnknown),
        (e.RequestTimeout("t"), False, VenueUnavailable),
        (e.ExchangeNotAvailable("502"), False, VenueUnavailable),
        (e.ExchangeError("unknown"), True, OutcomeUnknown),
        (e.AuthenticationError("no"), False, VenueError),
        (KeyError("coin"), False, BadReply),
    ]
    for exc, order, kind in cases:
        err = venue.error(exc, order=order)
        assert type(err) is kind, (exc, order, err)
    leaked = venue.error(e.ExchangeError("key k3y-abc secret s3cret-xyz"), order=False)
    assert "k3y-abc" not in str(leaked) and "s3cret-xyz" not in str(leaked)
    assert venue.error(e.InvalidOrder(f"bybit {body}"), order=True).code == "110072"  # type: ignore[attr-defined]


def test_registry_picks_quirks_and_the_sim() -> None:
    bybit_venue = make_venue("a", VenueConfig(exchange="bybit"), "testnet")
    assert isinstance(bybit_venue, CcxtVenue) and isinstance(bybit_venue.quirks, BybitQuirks)
    okx = make_venue("b", VenueConfig(exchange="okx"), "live")
    assert isinstance(okx, CcxtVenue) and isinstance(okx.quirks, OkxQuirks)
    bitget = make_venue("c", VenueConfig(exchange="bitget"), "live")
    assert isinstance(bitget, CcxtVenue) and isinstance(bitget.quirks, BitgetQuirks)
    other = make_venue("d", VenueConfig(exchange="kraken"), "live")
    assert isinstance(other, CcxtVenue) and type(other.quirks) is Quirks
    assert isinstance(make_venue("s", VenueConfig(exchange="sim"), "dry-run"), SimVenue)


async def test_dry_run_never_sends() -> None:
    from hedgekeeper.domain import OrderRequest, Side

    request = OrderRequest(SYMBOL, Side.SELL, Decimal(1), False, None, "c")
    with pytest.raises(OrderRejected, match="dry-run"):
        await _venue("dry-run").place(request)


@pytest.mark.parametrize("name", ["bybit-testnet.toml", "bybit-live.toml"])
def test_example_configs_make_bybit_venues(name: str) -> None:
    from pathlib import Path

    from hedgekeeper.config import load

    settings_ = load(Path(__file__).parents[3] / "config" / name)
    venue = make_venue("bybit", settings_.venues["bybit"], settings_.mode)
    assert isinstance(venue, CcxtVenue) and isinstance(venue.quirks, BybitQuirks)


def test_bybit_throttle_takes_a_seconds_worth_at_once() -> None:
    """A REST refresh (12 cost units) and an order (2.5) go out without queueing; the rate
    stays ccxt's (50 units a second), and an exchange without `burst_seconds` keeps ccxt's 1."""
    import ccxt.async_support as ccxt_async

    throttle = _venue()._client(ccxt_async).throttle
    assert (throttle.capacity, throttle.seconds_per_token) == (50, 0.02)
    plain = CcxtVenue("o", VenueConfig(exchange="okx"), "live", Quirks())._client(ccxt_async)
    assert plain.throttle.capacity == 1
