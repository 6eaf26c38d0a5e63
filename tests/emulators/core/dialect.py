"""What a dialect is: one exchange's wire over the venue-neutral emulator core.

The core (`Emulator` in server.py) owns the account, the loopback aiohttp app (REST and
websockets on one port), the faults, the order log and the hooks. A dialect owns everything an
exchange says differently, and nothing else:

- `exchange` (the ccxt id) and `instruments` (its perpetuals, listed on the account at start);
- `routes()`: (method, path) -> async handler(call) returning the reply's *result*; handlers read
  and change `emu.account` and raise `Refusal` to refuse; `order_paths` are the create-order
  routes (logged, and subject to the order faults); `wallet_paths` the balance reads the
  empty-wallet fault empties (through `empty_wallet`);
- `params(method, query, body)`, `authenticate(call)` (signing; raise `Refusal(Reason.AUTH)`),
  `public(path)` (no signature needed), `answer(result, call)`, `refuse(refusal, call)` (the
  exchange's error code and HTTP status), `rate_limited(call)` (its own rate-limit error);
- `summary(params)`: the neutral `Placed` view of a create-order request, for the order log;
- websockets: `ws_stream(path)` (which stream a connection path is: its name, private or not,
  and whether the path itself authenticates, as a listenKey does), `on_message(conn, msg)`
  (login, subscribe, ping: returns the replies, may set `conn.authed` and `conn.topics`),
  `pushes(changes)` (what the private streams say about account changes, and when: one `Push`
  per message, routed by topic), `ticker_pushes()` (public price pushes after a price change);
- `ccxt_urls(rest, ws)` and `configure(exchange)`: point a real ccxt client at the emulator.

A new dialect is one module in tests/emulators/dialects/ (plus a shapes module when the
payloads are long), a factory like `dialects.bybit.bybit_emulator`, and its rows in the
conformance table (tests/conformance/markets.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from tests.emulators.core.model import Change, Instrument, Refusal

if TYPE_CHECKING:
    from tests.emulators.core.server import Emulator

Json = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One REST request: `raw` is what was signed (the body, or the query string of a GET)."""

    method: str
    path: str
    params: dict[str, Any]
    raw: str
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Answer:
    """A reply; `error` is the exchange's own error code when it is a refusal (None: success)."""

    status: int
    body: Json | list[Any] | str
    error: str | None = None


@dataclass(frozen=True)
class Placed:
    """A create-order request in neutral words (for the order log and the conformance suite)."""

    client_id: str
    side: str  # "buy" | "sell"
    qty: Decimal
    reduce_only: bool


@dataclass(eq=False)
class Conn:
    """One websocket connection; `stream` is the dialect's name for what it carries."""

    ws: web.WebSocketResponse
    path: str
    stream: str
    private: bool
    conn_id: str
    authed: bool = False
    topics: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Push:
    """One message for every connection subscribed to `topic` (of `stream`, when given)."""

    topic: str
    message: Json
    private: bool = True
    stream: str | None = None


Handler = Callable[[Call], Awaitable[object]]


class Dialect(Protocol):
    exchange: str
    instruments: tuple[Instrument, ...]
    order_paths: frozenset[str]
    wallet_paths: frozenset[str]

    def bind(self, emu: Emulator) -> None:
        """Called once by the emulator: the dialect reaches the account through `emu`."""

    def routes(self) -> Mapping[tuple[str, str], Handler]: ...

    def params(self, method: str, query: Mapping[str, str], body: str) -> dict[str, Any]: ...

    def public(self, path: str) -> bool: ...

    def authenticate(self, call: Call) -> None: ...

    def answer(self, result: object, call: Call) -> Answer: ...

    def refuse(self, refusal: Refusal, call: Call) -> Answer: ...

    def rate_limited(self, call: Call) -> Answer: ...

    def summary(self, params: Mapping[str, Any]) -> Placed: ...

    def empty_wallet(self, result: object, coins: frozenset[str] | None) -> object:
        """The reply to a wallet read with `coins` (None: every coin) left out."""

    def ws_stream(self, path: str) -> tuple[str, bool, bool] | None:
        """(stream, private, authenticated by the path itself) for a websocket path."""

    async def on_message(self, conn: Conn, message: Json | str) -> list[Json | str]:
        """Replies to a websocket message: JSON, or a text frame (OKX's and Bitget's "ping")."""

    def pushes(self, changes: list[Change]) -> list[Push]: ...

    def ticker_pushes(self) -> list[Push]: ...

    def ccxt_urls(self, rest: str, ws: str) -> dict[str, Any]: ...

    def configure(self, exchange: Any) -> Any: ...


class RestOnly:
    """The websocket half of a `Dialect` whose exchange the adapter only polls over REST: no
    stream paths, nothing to answer, nothing pushed."""

    def ws_stream(self, path: str) -> tuple[str, bool, bool] | None:
        return None

    async def on_message(self, conn: Conn, message: Json | str) -> list[Json | str]:
        return []

    def pushes(self, changes: list[Change]) -> list[Push]:
        return []

    def ticker_pushes(self) -> list[Push]:
        return []
