"""The venue port over ccxt (REST) and ccxt.pro (websockets), shared by every exchange.

What differs per exchange lives in its package's `Quirks` (traits as data, hooks as code); the
plain `Quirks` is the ccxt-unified best effort. This class owns what no exchange changes: the
clients, retries (reads are retried with backoff and jitter; order placement never is, and
ccxt's own `maxRetriesOnFailure` is forced to 0: a failed create is `OutcomeUnknown` and is
looked up by its client id), error mapping, secret scrubbing, and the streams' reconnects.
Secrets come from `VenueConfig.secret_value` and are scrubbed from every error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import gc
import re
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeVar

from hedgekeeper.config import VenueConfig
from hedgekeeper.domain import (
    AccountIdentity,
    AccountSettings,
    Collateral,
    FundingEvent,
    MarketSpec,
    OrderReport,
    OrderRequest,
    OrderState,
    Position,
    Prices,
    Stamped,
)
from hedgekeeper.venues.base import (
    OrderRejected,
    OutcomeUnknown,
    Reading,
    SpotReading,
    VenueError,
)
from hedgekeeper.venues.ccxt import parse
from hedgekeeper.venues.ccxt.quirks import Ctx, Exchange, Quirks
from hedgekeeper.venues.ccxt.traits import Account, Stream
from hedgekeeper.venues.ccxt.transport import Backoff, Throttle, classify, override_urls

T = TypeVar("T")
TOP_LEVEL = ("timeout", "enableRateLimit", "rateLimit")  # cfg.options keys that are not options
NO_TRANSFERS = (
    "no transfers: {exchange} offers none through ccxt, so auto_transfer cannot move coin; keep"
    " the perpetual wallet funded yourself"
)


@dataclass
class _Stream:
    """One pump: `call` awaits the next raw push (or poll), `refresh` re-reads it over REST."""

    name: str
    call: Callable[[], Awaitable[object]]
    parse: Callable[[object, float], list[Reading]]
    refresh: Callable[[], Awaitable[list[Reading]]]


@functools.cache
def shared_tls(cafile: str) -> ssl.SSLContext:
    """One TLS context for every ccxt client of the process: each would otherwise load the CA
    bundle into a context of its own (0.7 MiB each, three per venue: 100 MiB for a 50-account
    fleet, bench/fleet.py)."""
    return ssl.create_default_context(cafile=cafile)


class CcxtVenue:
    """One account at one ccxt exchange; implements `hedgekeeper.venues.base.Venue`."""

    def __init__(
        self,
        name: str,
        cfg: VenueConfig,
        mode: str,
        quirks: Quirks | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.name = name
        self.cfg = cfg
        self.mode = mode
        self.quirks = quirks or Quirks()
        self.traits = self.quirks.traits
        self.backoff = backoff or Backoff()
        self._account: Account | None = None
        self._rest: Exchange | None = None
        self._spot: Exchange | None = None  # a second client for the spot wallet, if the traits say
        self._pro: Exchange | None = None
        self._spot_pro: Exchange | None = None
        self._specs: dict[str, MarketSpec] = {}
        self._refusals: dict[str, str | None] = {}  # symbol -> why the key may not trade it
        self._secrets: tuple[str, ...] = ()

    # -- plumbing -----------------------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"enableRateLimit": True}
        options = copy.deepcopy(dict(self.traits.ccxt_options))
        for key, value in self.cfg.options.items():
            (config if key in TOP_LEVEL else options)[key] = value
        options["maxRetriesOnFailure"] = 0  # never re-send: an order must not go out twice
        config["options"] = options
        try:
            secrets = {k: self.cfg.secret_value(k) for k in ("api_key", "secret", "password")}
        except OSError as exc:
            raise VenueError(f"{self.name}: cannot read a secret file: {exc.strerror}") from None
        self._secrets = tuple(v for v in secrets.values() if v)
        for ours, theirs in (("api_key", "apiKey"), ("secret", "secret"), ("password", "password")):
            if secrets[ours]:
                config[theirs] = secrets[ours]
        return config

    def _client(self, module: Any, exchange_id: str | None = None) -> Exchange:
        exchange_id = exchange_id or self.cfg.exchange
        cls = getattr(module, exchange_id, None)
        if cls is None:
            raise VenueError(f"{self.name}: ccxt has no exchange {exchange_id!r}")
        exchange = cls(self._config())
        if exchange.verify is True:
            exchange.ssl_context = shared_tls(exchange.cafile)
        bucket = getattr(exchange, "tokenBucket", None) or {}
        if bucket.get("algorithm", "leakyBucket") == "leakyBucket" and bucket.get("refillRate"):
            rate = float(bucket["refillRate"])  # cost units per ms
            capacity = max(
                float(bucket.get("capacity") or 1.0), rate * 1000 * self.traits.burst_seconds
            )
            exchange.throttle = Throttle(rate, capacity)
        if self.mode == "testnet" and self.traits.demo_testnet:
            exchange.enable_demo_trading(True)
        elif self.mode == "testnet":
            exchange.set_sandbox_mode(True)
        urls = self.cfg.urls
        if urls is not None and (urls.rest or urls.ws):
            exchange.urls["api"] = override_urls(exchange.urls["api"], urls.rest, urls.ws)
        return exchange

    def scrub(self, message: str) -> str:
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return message[:600]

    def error(self, exc: BaseException, *, order: bool) -> VenueError:
        err = classify(exc, self.traits, order=order)
        if err is not exc:
            err.args = (self.scrub(f"{self.name}: {err.args[0]}"),)
        return err

    @property
    def exchange(self) -> Exchange:
        if self._rest is None:
            raise VenueError(f"{self.name}: not open")
        return self._rest

    @property
    def account(self) -> Account:
        """What the exchange said of the account at open (unified or not, its id)."""
        if self._account is None:
            raise VenueError(f"{self.name}: not open")
        return self._account

    def ctx(self, ex: Exchange | None = None) -> Ctx:
        """What a hook gets: the clients, the account, the traits and the clock; never `self`."""
        rest = self.exchange
        spot = rest if self._spot is None else self._spot
        markets = MappingProxyType(self._specs)
        probe = self.cfg.probe_orders and self.mode != "dry-run"
        ex = rest if ex is None else ex
        return Ctx(ex, spot, self.account, self.traits, self.now, markets, probe)

    async def read(self, call: Callable[[], Awaitable[T]]) -> T:
        """A read with retries on VenueUnavailable (5xx, timeouts, rate limits)."""
        async for attempt in self.backoff.retrying(self.backoff.attempts):
            with attempt:
                try:
                    return await call()
                except Exception as exc:
                    raise self.error(exc, order=False) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def write(self, call: Callable[[], Awaitable[T]]) -> T:
        """A settings change, a transfer or a cancel: sent once, its failure mapped."""
        try:
            return await call()
        except Exception as exc:
            raise self.error(exc, order=False) from None

    # -- the port -----------------------------------------------------------------------------

    async def open(self) -> None:
        import ccxt.async_support as ccxt_async

        self._rest = self._client(ccxt_async)
        if self.traits.spot_exchange is not None:
            self._spot = self._client(ccxt_async, self.traits.spot_exchange)
        await self.read(lambda: self.exchange.load_markets())
        configured = self.cfg.unified
        account = await self.read(lambda: self.quirks.account(self.exchange, configured))
        if configured is not None and configured != account.unified:
            w = account.wallets
            raise VenueError(
                f"{self.name}: configured unified = {configured}, but the exchange says spot is"
                f" in {w.spot}, inverse in {w.inverse} and linear in {w.linear}"
            )
        self._account = account

    async def close(self) -> None:
        # Together: each ccxt close ends with a fixed pause (`timeout_on_exit`, 0.25 s), which
        # a shutdown inside systemd's and Docker's stop timeout need not pay twice.
        clients = [c for c in (self._spot_pro, self._pro, self._spot, self._rest) if c is not None]
        self._spot_pro = self._pro = self._spot = self._rest = None
        await asyncio.gather(*(c.close() for c in clients))

    def now(self) -> float:
        return time.time()

    async def identity(self) -> AccountIdentity:
        network = " testnet" if self.mode == "testnet" else ""
        return AccountIdentity(f"{self.cfg.exchange}{network}", self.account.id)

    async def market(self, symbol: str) -> MarketSpec:
        if symbol not in self._specs:
            from ccxt.base.decimal_to_precision import TICK_SIZE

            markets = parse.mapping(self.exchange.markets, "markets")
            if symbol not in markets:
                raise VenueError(f"{self.name}: {self.traits.unlisted(self.cfg.exchange, symbol)}")
            tick_size = self.exchange.precisionMode == TICK_SIZE
            spec = parse.parse_market(markets.get(symbol), symbol, tick_size)
            if spec.kind not in self.traits.kinds:
                raise VenueError(f"{self.name}: {self.traits.unlisted(self.cfg.exchange, symbol)}")
            self._specs[symbol] = await self.read(lambda: self.quirks.market(self.ctx(), spec))
        return self._specs[symbol]

    async def settings(self, symbol: str) -> AccountSettings:
        market = await self.market(symbol)
        return await self.read(lambda: self.quirks.settings(self.ctx(), market))

    async def trading_refusal(self, symbol: str) -> str | None:
        """Why the exchange will not take this key's orders on `symbol` (None: it will), asked
        of the exchange's package once (a probe order, where it needs one, goes out once)."""
        if symbol not in self._refusals:
            market = await self.market(symbol)
            why = await self.write(lambda: self.quirks.trading(self.ctx(), market))
            self._refusals[symbol] = None if why is None else f"{self.name}: {why}"
        return self._refusals[symbol]

    async def ensure_settings(
        self, symbol: str, leverage: Decimal, margin_mode: str
    ) -> AccountSettings:
        if why := await self.trading_refusal(symbol):
            raise VenueError(f"{why}; refusing to trade {symbol}")
        market = await self.market(symbol)
        await self.write(
            lambda: self.quirks.ensure_settings(self.ctx(), market, leverage, margin_mode)
        )
        return await self.settings(symbol)

    async def spot(self, asset: str) -> Stamped:
        return await self.read(lambda: self.quirks.spot(self.ctx(), asset))

    async def collateral(self, symbol: str) -> Collateral:
        market = await self.market(symbol)
        return await self.read(lambda: self.quirks.collateral(self.ctx(), market))

    async def position(self, symbol: str) -> Position:
        market = await self.market(symbol)
        return await self.read(lambda: self.quirks.position(self.ctx(), market))

    async def prices(self, symbol: str) -> Prices:
        market = await self.market(symbol)
        return await self.read(lambda: self.quirks.prices(self.ctx(), market))

    def _check_client_id(self, client_id: str) -> None:
        """Refuse an id the exchange would refuse or truncate: the order could not be found."""
        rule = self.traits.client_ids
        if len(client_id) > rule.max_length or not re.fullmatch(rule.pattern, client_id):
            raise OrderRejected(
                f"{self.name}: client id {client_id!r} is not what {self.cfg.exchange} accepts"
                f" (at most {rule.max_length} of {rule.pattern})"
            )

    async def place(self, request: OrderRequest) -> OrderReport:
        if self.mode == "dry-run":
            raise OrderRejected(f"{self.name}: dry-run never sends orders")
        market = await self.market(request.symbol)
        self._check_client_id(request.client_id)
        if why := await self.trading_refusal(request.symbol):
            raise OrderRejected(f"{why}; not sent")
        try:
            reply = await self.quirks.place(self.ctx(), market, request)
        except Exception as exc:
            raise self.error(exc, order=True) from None
        exchange_id = reply.get("id") if isinstance(reply, dict) else None
        exchange_id = exchange_id if isinstance(exchange_id, str) and exchange_id else None
        try:
            found = await self.order(request.symbol, request.client_id, exchange_id)
        except VenueError:
            found = None
        if found is not None:  # the reply's id goes with it, for every later lookup
            return found if found.exchange_id else replace(found, exchange_id=exchange_id)
        if exchange_id is None:
            raise OutcomeUnknown(f"{self.name}: order {request.client_id}: reply without an id")
        return OrderReport(
            request.client_id, OrderState.OPEN, parse.ZERO, None, parse.ZERO, self.now(),
            exchange_id, f"accepted on {market.symbol}; state not read yet",
        )  # fmt: skip

    async def _find(
        self, market: MarketSpec, client_id: str, exchange_id: str | None
    ) -> object | None:
        return await self.read(
            lambda: self.quirks.find_order(self.ctx(), market, client_id, exchange_id)
        )

    async def order(
        self, symbol: str, client_id: str, exchange_id: str | None = None
    ) -> OrderReport | None:
        market = await self.market(symbol)
        raw = await self._find(market, client_id, exchange_id)
        return None if raw is None else self.quirks.report(self.ctx(), market, raw, client_id)

    async def cancel(
        self, symbol: str, client_id: str, exchange_id: str | None = None
    ) -> OrderReport | None:
        market = await self.market(symbol)
        raw = await self._find(market, client_id, exchange_id)
        if raw is None:
            return None
        found = parse.mapping(raw, "order")
        if found.get("status") == "open":
            with contextlib.suppress(VenueError):  # filled or gone meanwhile: the lookup says
                await self.write(lambda: self.quirks.cancel(self.ctx(), market, client_id, raw))
        found_id = found.get("id")
        known = exchange_id or (found_id if isinstance(found_id, str) else None)
        return await self.order(symbol, client_id, known)

    async def recent_client_ids(self, symbol: str, since: float) -> list[str]:
        if not self.traits.lists_orders:  # not known to work there: no check rather than noise
            return []
        market = await self.market(symbol)
        ex, since_ms = self.exchange, int(since * 1000)
        rows = [
            *await self.read(lambda: ex.fetch_open_orders(market.symbol)),
            *await self.read(lambda: ex.fetch_closed_orders(market.symbol, since_ms)),
        ]
        return [str(c) for row in rows if (c := parse.mapping(row, "order").get("clientOrderId"))]

    async def transfer_to_derivatives(self, asset: str, amount: Decimal) -> None:
        if not self.traits.transfers:
            raise VenueError(f"{self.name}: {NO_TRANSFERS.format(exchange=self.cfg.exchange)}")
        if amount <= 0:
            raise VenueError(f"{self.name}: transfer amount must be positive, got {amount}")
        await self.write(lambda: self.quirks.transfer(self.ctx(), asset, amount))

    async def advice(
        self, symbol: str, found: AccountSettings, leverage: Decimal, margin_mode: str
    ) -> list[str]:
        """What to change on the account, in the exchange's words (for `hedgekeeper check`)."""
        return self.quirks.advice(await self.market(symbol), found, leverage, margin_mode)

    async def funding(self, symbol: str, since: float) -> list[FundingEvent]:
        market = await self.market(symbol)
        return await self.read(lambda: self.quirks.funding(self.ctx(), market, since))

    def feeds(self) -> str:
        """How this exchange's readings arrive, for `hedgekeeper check`: which are pushed over the
        websocket and which are polled over REST, at what interval."""
        pushed = [k.value for k in Stream if k in self.traits.streams]
        polled = [k.value for k in Stream if k not in self.traits.streams]
        line = f"streams {', '.join(pushed) or 'none'}"
        if polled:
            seconds = format(Decimal(str(self.poll_seconds)).normalize(), "f")
            line += f"; polled over REST every {seconds} s: {', '.join(polled)}"
        if not self.traits.transfers:
            line += f"; {NO_TRANSFERS.format(exchange=self.cfg.exchange)}"
        return line

    # -- streams ------------------------------------------------------------------------------

    async def _streaming_client(self) -> Exchange:
        if self._pro is None:
            import ccxt.pro as ccxt_pro  # ~1.2 s and ~110 MB: only when streaming

            pro = self._client(ccxt_pro)
            pro.set_markets(self.exchange.markets, self.exchange.currencies)
            for key in self.traits.shared_options:  # what the REST client learnt at open
                pro.options[key] = self.exchange.options.get(key)
            self._pro = pro
            # ccxt's modules and both clients' markets live as long as the process: moved out
            # of the collector's sight, its full passes stop walking them (35-180 ms pauses
            # that landed on the order path, seen in bench/latency.py).
            gc.collect()
            gc.freeze()
        return self._pro

    async def _streaming_spot_client(self) -> Exchange:
        """The spot wallet's streaming client, when the traits name a second exchange class."""
        if self._spot is None:
            return await self._streaming_client()
        if self._spot_pro is None:
            import ccxt.pro as ccxt_pro

            pro = self._client(ccxt_pro, self.traits.spot_exchange)
            pro.set_markets(self._spot.markets or {}, self._spot.currencies)  # no market load
            self._spot_pro = pro
        return self._spot_pro

    async def _streams(self, market: MarketSpec, asset: str) -> list[_Stream]:
        """The exchange's subscriptions, and a REST poll for each reading it does not push."""
        symbol = market.symbol

        async def prices() -> list[Reading]:
            return [await self.prices(symbol)]

        async def position() -> list[Reading]:
            return [await self.position(symbol)]

        async def balances() -> list[Reading]:
            return [await self.collateral(symbol), SpotReading(asset, await self.spot(asset))]

        refresh = {Stream.TICKER: prices, Stream.POSITIONS: position, Stream.BALANCE: balances}
        specs = self.quirks.streams(self.ctx(), market, asset)
        pro = await self._streaming_client() if specs else None
        spot_pro = await self._streaming_spot_client() if any(s.spot for s in specs) else None
        streams = [
            _Stream(s.name, _pushed(spot_pro if s.spot else pro, s.call), s.parse, refresh[s.kind])
            for s in specs
        ]
        for kind in Stream:
            if kind not in {s.kind for s in specs}:
                poll = _polled(self.poll_seconds, refresh[kind])
                streams.append(_Stream(f"{kind.value} poll", poll, _readings, refresh[kind]))
        return streams

    @property
    def poll_seconds(self) -> float:
        """Seconds between REST polls of the readings the exchange does not push."""
        return self.cfg.poll_interval or self.traits.poll_seconds

    async def watch(self, symbol: str, asset: str) -> AsyncIterator[Reading]:
        """REST snapshots first, then pushes; drops reconnect with backoff and a REST re-read."""
        market = await self.market(symbol)
        queue: asyncio.Queue[Reading | VenueError] = asyncio.Queue()
        streams = await self._streams(market, asset)
        tasks = [asyncio.create_task(self._pump(s, queue)) for s in streams]
        try:
            if self.traits.watch_snapshot:
                for refresh in dict.fromkeys(s.refresh for s in streams):  # each REST read once
                    for reading in await refresh():
                        yield reading
            while True:
                item = await queue.get()
                if isinstance(item, VenueError):
                    raise item
                yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _pump(self, stream: _Stream, queue: asyncio.Queue[Any]) -> None:
        stale = False
        try:
            while True:
                async for attempt in self.backoff.retrying(self.backoff.stream_attempts):
                    with attempt:
                        if stale:
                            for reading in await stream.refresh():
                                queue.put_nowait(reading)
                            stale = False
                        try:
                            raw = await stream.call()
                        except Exception as exc:
                            stale = True
                            raise self.error(exc, order=False) from None
                for reading in stream.parse(raw, self.now()):
                    queue.put_nowait(reading)
        except Exception as exc:  # the consumer gets every failure, even a bug's
            err = exc if isinstance(exc, VenueError) else self.error(exc, order=False)
            err.args = (f"{self.name} {stream.name} stream: {err.args[0] if err.args else ''}",)
            queue.put_nowait(err)


def _pushed(
    pro: Exchange, call: Callable[[Exchange], Awaitable[object]]
) -> Callable[[], Awaitable[object]]:
    return lambda: call(pro)


def _polled(
    seconds: float, refresh: Callable[[], Awaitable[list[Reading]]]
) -> Callable[[], Awaitable[object]]:
    """A stream the exchange does not push: the REST read again every `seconds`."""

    async def poll() -> object:
        await asyncio.sleep(seconds)
        return await refresh()

    return poll


def _readings(raw: object, ts: float) -> list[Reading]:
    """A poll's result is readings already."""
    assert isinstance(raw, list)
    return raw
