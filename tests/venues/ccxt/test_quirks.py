"""The generic hooks and the traits the venue reads, on a `CcxtVenue` over a stand-in ccxt client:
amounts in another unit, client ids the exchange would refuse, streams an exchange lacks."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal as D
from typing import Any

import pytest

from hedgekeeper.config import VenueConfig
from hedgekeeper.contracts import AmountUnit
from hedgekeeper.domain import Collateral, ContractKind, OrderRequest, Position, Prices, Side
from hedgekeeper.venues.base import OrderRejected
from hedgekeeper.venues.ccxt.quirks import Quirks
from hedgekeeper.venues.ccxt.traits import ClientIds, MarkSource, Traits, frozen
from hedgekeeper.venues.ccxt.venue import CcxtVenue
from tests.emulators.bybit_venue import FAST

SYMBOL = "BTC/USD:BTC"
MARKET = {"symbol": SYMBOL, "contract": True, "inverse": True, "linear": False,
          "contractSize": 10.0, "precision": {"amount": 1.0, "price": 0.5},
          "base": "BTC", "quote": "USD", "settle": "BTC"}  # fmt: skip
TICKER = {"symbol": SYMBOL, "markPrice": 50000.0}


class FakeClient:
    """A ccxt client that answers reads from canned replies and records every call."""

    precisionMode = 4  # ccxt's TICK_SIZE

    def __init__(self) -> None:
        self.markets = {SYMBOL: MARKET}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.replies: dict[str, Any] = {
            "fetch_ticker": TICKER,
            "fetch_mark_price": TICKER,
            "fetch_positions": [{"symbol": SYMBOL, "contracts": 1200.0, "side": "short"}],
            "fetch_balance": {"BTC": {"total": 1.5, "free": 0.5}, "total": {"BTC": 2.0}},
            "create_order": {"id": "x1"},
            "transfer": {},
            "fetch_open_orders": [],
            "fetch_closed_orders": [{"id": "x1", "clientOrderId": "hk1", "status": "closed",
                                     "amount": 1200.0, "filled": 1200.0, "average": 50000.0}],
        }  # fmt: skip

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        async def call(*args: Any) -> Any:
            self.calls.append((method, args))
            return self.replies[method]

        return call


class QuoteUnits(Quirks):
    """Deribit-like: inverse amounts in USD face, the mark from its own call, no streams."""

    traits = Traits(
        amount_unit=frozen(
            {ContractKind.INVERSE: AmountUnit.QUOTE, ContractKind.LINEAR: AmountUnit.COIN}
        ),
        mark=MarkSource.MARK_PRICE,
        client_ids=ClientIds(max_length=8, pattern=r"[a-z0-9]+"),
        streams=frozenset(),
        poll_seconds=0.0,
    )


def venue(quirks: Quirks | None = None, mode: str = "live") -> tuple[CcxtVenue, FakeClient]:
    made = CcxtVenue("x", VenueConfig(exchange="deribit"), mode, quirks or QuoteUnits(), FAST)
    client = FakeClient()
    made._rest = client  # instead of `open`: the stand-in is the client
    made._account = made.traits.account("separate")
    return made, client


async def test_amounts_travel_in_the_exchanges_unit_and_come_back_in_contracts() -> None:
    v, client = venue()
    request = OrderRequest(SYMBOL, Side.SELL, D(120), False, None, "hk1")
    report = await v.place(request)
    assert client.calls[0] == ("create_order", (SYMBOL, "market", "sell", 1200.0, None,
                                                {"clientOrderId": "hk1"}))  # fmt: skip
    assert report.filled == 120  # 1,200 USD of 10-USD contracts
    assert (await v.position(SYMBOL)).contracts == -120


async def test_the_mark_comes_from_where_the_traits_say() -> None:
    v, client = venue()
    assert (await v.prices(SYMBOL)).mark == 50000
    assert [name for name, _ in client.calls] == ["fetch_mark_price"]


async def test_a_client_id_the_exchange_would_refuse_is_never_sent() -> None:
    v, client = venue()
    for bad in ("hk123456789", "HK1"):  # too long; outside the alphabet
        with pytest.raises(OrderRejected, match="client id"):
            await v.place(OrderRequest(SYMBOL, Side.SELL, D(1), False, None, bad))
    assert client.calls == []


async def test_streams_an_exchange_lacks_are_polled_over_rest() -> None:
    v, client = venue()
    readings = v.watch(SYMBOL, "BTC")
    kinds = set()
    async for reading in readings:
        kinds.add(type(reading))
        # The snapshot (4 reads) and more: polls keep coming.
        if {Prices, Position, Collateral} <= kinds or len(client.calls) > 20:
            break
    await readings.aclose()
    assert v._pro is None  # no websocket client was ever made
    assert {Prices, Position, Collateral} <= kinds


async def test_without_a_watch_snapshot_only_pushes_or_polls_arrive() -> None:
    class NoSnapshot(QuoteUnits):
        traits = replace(QuoteUnits.traits, watch_snapshot=False, poll_seconds=3600.0)

    v, client = venue(NoSnapshot())
    readings = v.watch(SYMBOL, "BTC")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(readings), 0.05)
    await readings.aclose()
    assert client.calls == []


async def test_generic_collateral_and_unified_transfer() -> None:
    v, client = venue(Quirks())
    got = await v.collateral(SYMBOL)
    assert (got.equity, got.free, got.unified) == (D("1.5"), D("0.5"), False)
    await v.transfer_to_derivatives("BTC", D("0.1"))
    assert client.calls[-1] == ("transfer", ("BTC", 0.1, "spot", "swap"))
    v._account = v.traits.account("unified")
    client.calls.clear()
    await v.transfer_to_derivatives("BTC", D("0.1"))
    assert client.calls == []  # one wallet: nothing to move
    assert (await v.collateral(SYMBOL)).unified
