"""The venue port over ccxt (REST) and ccxt.pro (websockets), shared by every exchange.

What differs per exchange (balances, settings, client-id lookups, funding signs) lives in a
`Quirks` object; the plain `Quirks` here is the ccxt-unified best effort, `bybit.BybitQuirks` the
tested one. Reads are retried with backoff and jitter; order placement never is (ccxt's own
`maxRetriesOnFailure` is forced to 0): a failed create is `OutcomeUnknown` and is looked up by its
client id. Secrets come from `VenueConfig.secret_value` and are scrubbed from every error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from hedgekeeper.config import VenueConfig
from hedgekeeper.domain import (
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
from hedgekeeper.venues import ccxt_parse as parse
from hedgekeeper.venues.base import (
    OrderRejected,
    OutcomeUnknown,
    Reading,
    VenueError,
)
from hedgekeeper.venues.ccxt_plumbing import Backoff, Throttle, override_urls
from hedgekeeper.venues.ccxt_quirks import Exchange, Quirks, classify

T = TypeVar("T")
TOP_LEVEL = ("timeout", "enableRateLimit", "rateLimit")  # cfg.options keys that are not options


@dataclass
class _Stream:
    name: str
    call: Callable[[Exchange], Awaitable[object]]
    parse: Callable[[object, float], list[Reading]]
    refresh: Callable[[], Awaitable[list[Reading]]]


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
        self.backoff = backoff or Backoff()
        self.unified = bool(cfg.unified)
        self._rest: Exchange | None = None
        self._pro: Exchange | None = None
        self._specs: dict[str, MarketSpec] = {}
        self._secrets: tuple[str, ...] = ()

    # -- plumbing -----------------------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"enableRateLimit": True}
        options = {**self.quirks.ccxt_options}
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

    def _client(self, module: Any) -> Exchange:
        cls = getattr(module, self.cfg.exchange, None)
        if cls is None:
            raise VenueError(f"{self.name}: ccxt has no exchange {self.cfg.exchange!r}")
        exchange = cls(self._config())
        bucket = getattr(exchange, "tokenBucket", None) or {}
        if bucket.get("algorithm", "leakyBucket") == "leakyBucket" and bucket.get("refillRate"):
            capacity = float(bucket.get("capacity") or 1.0)
            exchange.throttle = Throttle(float(bucket["refillRate"]), capacity)
        if self.mode == "testnet":
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
        code = self.quirks.error_code(exc)
        duplicate = order and code is not None and code in self.quirks.duplicate_codes
        err = classify(exc, order=order, code=code, duplicate=duplicate)
        if err is not exc:
            err.args = (self.scrub(f"{self.name}: {err.args[0]}"),)
        return err

    @property
    def exchange(self) -> Exchange:
        if self._rest is None:
            raise VenueError(f"{self.name}: not open")
        return self._rest

    async def read(self, call: Callable[[Exchange], Awaitable[T]]) -> T:
        """A read with retries on VenueUnavailable (5xx, timeouts, rate limits)."""
        async for attempt in self.backoff.retrying(self.backoff.attempts):
            with attempt:
                try:
                    return await call(self.exchange)
                except Exception as exc:
                    raise self.error(exc, order=False) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def write(
        self, call: Callable[[Exchange], Awaitable[object]], unchanged: bool = False
    ) -> None:
        """A settings change, sent once; with `unchanged`, "already so" replies are success."""
        try:
            await call(self.exchange)
        except Exception as exc:
            if unchanged and self._already_so(exc):
                return
            raise self.error(exc, order=False) from None

    def _already_so(self, exc: BaseException) -> bool:
        from ccxt.base import errors as ccxt_errors

        if isinstance(exc, ccxt_errors.NoChange):
            return True
        return self.quirks.error_code(exc) in self.quirks.unchanged_codes

    # -- the port -----------------------------------------------------------------------------

    async def open(self) -> None:
        import ccxt.async_support as ccxt_async

        self._rest = self._client(ccxt_async)
        await self.read(lambda ex: ex.load_markets())
        await self.quirks.on_open(self)

    async def close(self) -> None:
        # Together: each ccxt close ends with a fixed pause (`timeout_on_exit`, 0.25 s), which
        # a shutdown inside systemd's and Docker's stop timeout need not pay twice.
        clients = [c for c in (self._pro, self._rest) if c is not None]
        self._pro = self._rest = None
        await asyncio.gather(*(c.close() for c in clients))

    def now(self) -> float:
        return time.time()

    async def market(self, symbol: str) -> MarketSpec:
        if symbol not in self._specs:
            from ccxt.base.decimal_to_precision import TICK_SIZE

            markets = parse.mapping(self.exchange.markets, "markets")
            tick_size = self.exchange.precisionMode == TICK_SIZE
            self._specs[symbol] = parse.parse_market(markets.get(symbol), symbol, tick_size)
        return self._specs[symbol]

    async def settings(self, symbol: str) -> AccountSettings:
        return await self.quirks.settings(self, symbol)

    async def ensure_settings(
        self, symbol: str, leverage: Decimal, margin_mode: str
    ) -> AccountSettings:
        await self.quirks.ensure_settings(self, symbol, leverage, margin_mode)
        return await self.settings(symbol)

    async def spot(self, asset: str) -> Stamped:
        return await self.quirks.spot(self, asset)

    async def collateral(self, symbol: str) -> Collateral:
        return await self.quirks.collateral(self, await self.market(symbol))

    async def position(self, symbol: str) -> Position:
        raw = await self.read(lambda ex: ex.fetch_positions([symbol]))
        return parse.parse_position(raw, symbol, self.now())

    async def prices(self, symbol: str) -> Prices:
        raw = await self.read(lambda ex: ex.fetch_ticker(symbol))
        return parse.parse_prices(raw, symbol, self.now())

    async def place(self, request: OrderRequest) -> OrderReport:
        if self.mode == "dry-run":
            raise OrderRejected(f"{self.name}: dry-run never sends orders")
        market = await self.market(request.symbol)
        kind = "market" if request.limit_price is None else "limit"
        price = None if request.limit_price is None else float(request.limit_price)
        params = self.quirks.order_params(request)
        try:
            reply = await self.exchange.create_order(
                request.symbol, kind, request.side.value, float(request.contracts), price, params
            )
        except Exception as exc:
            raise self.error(exc, order=True) from None
        try:
            found = await self.order(request.symbol, request.client_id)
        except VenueError:
            found = None
        if found is not None:
            return found
        exchange_id = reply.get("id") if isinstance(reply, dict) else None
        if not isinstance(exchange_id, str):
            raise OutcomeUnknown(f"{self.name}: order {request.client_id}: reply without an id")
        return OrderReport(
            request.client_id, OrderState.OPEN, parse.ZERO, None, parse.ZERO, self.now(),
            exchange_id, f"accepted on {market.symbol}; state not read yet",
        )  # fmt: skip

    async def order(self, symbol: str, client_id: str) -> OrderReport | None:
        settle = (await self.market(symbol)).settle
        raw = await self.quirks.find_order(self, symbol, client_id)
        return None if raw is None else parse.parse_order(raw, client_id, settle, self.now())

    async def cancel(self, symbol: str, client_id: str) -> OrderReport | None:
        raw = await self.quirks.find_order(self, symbol, client_id)
        if raw is None:
            return None
        if parse.mapping(raw, "order").get("status") == "open":
            with contextlib.suppress(VenueError):  # filled or gone meanwhile: the lookup says
                await self.quirks.cancel(self, symbol, client_id, raw)
        return await self.order(symbol, client_id)

    async def transfer_to_derivatives(self, asset: str, amount: Decimal) -> None:
        if amount <= 0:
            raise VenueError(f"{self.name}: transfer amount must be positive, got {amount}")
        await self.quirks.transfer(self, asset, amount)

    async def funding(self, symbol: str, since: float) -> list[FundingEvent]:
        return await self.quirks.funding(self, symbol, since)

    # -- streams ------------------------------------------------------------------------------

    async def _streaming_client(self) -> Exchange:
        if self._pro is None:
            import ccxt.pro as ccxt_pro  # ~1.2 s and ~110 MB: only when streaming

            pro = self._client(ccxt_pro)
            pro.set_markets(self.exchange.markets, self.exchange.currencies)
            self.quirks.share_state(self.exchange, pro)
            self._pro = pro
            # ccxt's modules and both clients' markets live as long as the process: moved out
            # of the collector's sight, its full passes stop walking them (35-180 ms pauses
            # that landed on the order path, seen in bench/latency.py).
            gc.collect()
            gc.freeze()
        return self._pro

    def _streams(self, market: MarketSpec, asset: str) -> list[_Stream]:
        symbol = market.symbol

        async def prices() -> list[Reading]:
            return [await self.prices(symbol)]

        async def position() -> list[Reading]:
            return [await self.position(symbol)]

        async def balances() -> list[Reading]:
            return [await self.collateral(symbol), *await self._spot_readings(asset)]

        streams = [
            _Stream("ticker", lambda ex: ex.watch_ticker(symbol),
                    lambda raw, ts: [parse.parse_prices(raw, symbol, ts)], prices),
            _Stream("positions", lambda ex: ex.watch_positions([symbol]),
                    lambda raw, ts: [parse.parse_position(raw, symbol, ts)], position),
        ]  # fmt: skip
        for i, (params, parser) in enumerate(self.quirks.balance_streams(market, asset)):
            call = self._balance_call(params)
            streams.append(_Stream(f"balance{i}", call, parser, balances))
        return streams

    @staticmethod
    def _balance_call(params: dict[str, Any]) -> Callable[[Exchange], Awaitable[object]]:
        return lambda ex: ex.watch_balance(dict(params))

    async def _spot_readings(self, asset: str) -> list[Reading]:
        from hedgekeeper.venues.base import SpotReading

        return [SpotReading(asset, await self.spot(asset))]

    async def watch(self, symbol: str, asset: str) -> AsyncIterator[Reading]:
        """REST snapshots first, then pushes; drops reconnect with backoff and a REST re-read."""
        market = await self.market(symbol)
        pro = await self._streaming_client()
        queue: asyncio.Queue[Reading | VenueError] = asyncio.Queue()
        streams = self._streams(market, asset)
        tasks = [asyncio.create_task(self._pump(pro, s, queue)) for s in streams]
        try:
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

    async def _pump(self, pro: Exchange, stream: _Stream, queue: asyncio.Queue[Any]) -> None:
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
                            raw = await stream.call(pro)
                        except Exception as exc:
                            stale = True
                            raise self.error(exc, order=False) from None
                for reading in stream.parse(raw, self.now()):
                    queue.put_nowait(reading)
        except Exception as exc:  # the consumer gets every failure, even a bug's
            err = exc if isinstance(exc, VenueError) else self.error(exc, order=False)
            err.args = (f"{self.name} {stream.name} stream: {err.args[0] if err.args else ''}",)
            queue.put_nowait(err)
