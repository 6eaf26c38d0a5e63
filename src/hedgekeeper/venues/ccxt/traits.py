"""An exchange's traits: what differs between exchanges, written down as frozen data.

Each exchange package (`venues/<ccxt id>/`) fills one `Traits`; the generic hooks in `quirks.py`
and the ccxt venue read it, so an exchange whose differences are all data needs no code. What
cannot be data (a wallet's payload shape, a lookup by label) is a hook override in the package.
`Account` holds what an exchange tells about the account at open (unified or not, its id): a hook
returns it and the venue keeps it; nothing learnt is ever written into a quirks object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

from hedgekeeper.contracts import AmountUnit
from hedgekeeper.domain import ContractKind
from hedgekeeper.venues.base import VenueError

K = TypeVar("K")
V = TypeVar("V")

__all__ = [
    "Account",
    "ClientIds",
    "MarkSource",
    "Stream",
    "Traits",
    "Wallets",
]


def frozen(mapping: Mapping[K, V]) -> Mapping[K, V]:
    """A read-only mapping, so traits shared by every venue of an exchange cannot be edited."""
    return MappingProxyType(dict(mapping))


def _empty() -> Mapping[str, Any]:
    return frozen({})


class Stream(StrEnum):
    """What a venue watches; one websocket subscription (or a REST poll) each."""

    TICKER = "ticker"
    POSITIONS = "positions"
    BALANCE = "balance"


class MarkSource(StrEnum):
    """Where the mark price is read: ccxt's ticker, its mark-price call, or the funding rate."""

    TICKER = "ticker"  # fetch_ticker()['markPrice']
    MARK_PRICE = "mark_price"  # fetch_mark_price()['markPrice']
    FUNDING_RATE = "funding_rate"  # fetch_funding_rate()['markPrice']


@dataclass(frozen=True, slots=True)
class Wallets:
    """The exchange's names of the wallets (account types) that hold spot and each perp's margin."""

    spot: str
    inverse: str
    linear: str

    def derivatives(self, kind: ContractKind) -> str:
        return self.inverse if kind is ContractKind.INVERSE else self.linear

    def shares_spot(self, kind: ContractKind) -> bool:
        """The perp's margin wallet is the spot wallet: the coin is counted once."""
        return self.spot == self.derivatives(kind)


@dataclass(frozen=True, slots=True)
class Account:
    """What the exchange says of the account at open; the venue stores it and hands it to hooks.

    `id` is the exchange's own account id where it gives one (a journal records it), `kind` the
    traits' name for the account type (e.g. Bybit's "classic" or "uta2").
    """

    kind: str
    wallets: Wallets
    id: str | None = None

    @property
    def unified(self) -> bool:
        """One wallet for spot and every perp (what `unified = true` in a venue's config means)."""
        w = self.wallets
        return w.spot == w.inverse == w.linear


@dataclass(frozen=True, slots=True)
class ClientIds:
    """How our client order id travels: the ccxt param carrying it and what the exchange accepts.

    An id the exchange would refuse (or silently truncate) is refused before sending, so a lookup
    by it can always find the order. `param` None: the exchange keeps no client id and its
    package's `find_order` hook finds orders another way (Deribit: by label).
    """

    param: str | None = "clientOrderId"
    max_length: int = 36
    pattern: str = r"[A-Za-z0-9_-]+"


GENERIC_ACCOUNTS = frozen(
    {
        "separate": Wallets("spot", "swap", "swap"),
        "unified": Wallets("unified", "unified", "unified"),
    }
)


@dataclass(frozen=True, slots=True)
class Traits:
    """Everything about an exchange that is data. Defaults: what ccxt's unified API promises."""

    # ccxt client options (merged under the venue's own); `shared_options` are the keys of
    # `exchange.options` the streaming client copies from the REST one after open.
    ccxt_options: Mapping[str, Any] = field(default_factory=_empty)
    shared_options: tuple[str, ...] = ()
    # Errors: a regex whose group 1 is the exchange's code in ccxt's message; codes that name a
    # venue-neutral error outright (they win over ccxt's class, which may be wrong off its hosts);
    # codes that mean "already so" for the leverage, margin-mode and position-mode setters.
    error_code: str | None = None
    errors: Mapping[str, type[VenueError]] = field(default_factory=_empty)
    unchanged: frozenset[str] = frozenset()
    # Account types by name (`Account.kind`), and which one a config's `unified` picks when the
    # exchange cannot be asked.
    accounts: Mapping[str, Wallets] = field(default_factory=lambda: GENERIC_ACCOUNTS)
    spot_exchange: str | None = None  # a second ccxt class for the spot wallet (Binance futures)
    # Seconds of ccxt's request rate that may be spent at once. ccxt's bucket holds one request,
    # so a REST refresh (four reads) queues for their whole cost before an order behind it can go;
    # an exchange that counts its limits per second can take a second's worth in a burst.
    burst_seconds: float = 0.0
    # mode = "testnet" is ccxt's demo trading (`enable_demo_trading`), not its sandbox URLs.
    demo_testnet: bool = False
    client_ids: ClientIds = ClientIds()
    mark: MarkSource = MarkSource.TICKER
    # Streams the exchange pushes; the others are polled over REST every `poll_seconds`.
    # `watch_snapshot`: read everything over REST when a watch starts (a subscription that pushes
    # its own snapshot needs none).
    streams: frozenset[Stream] = frozenset(Stream)
    watch_snapshot: bool = True
    poll_seconds: float = 5.0
    funding_sign: int = 1  # +1: the exchange's funding amount is received; -1: it is paid
    # The account's orders on a symbol can be listed (ccxt's fetchOpenOrders and
    # fetchClosedOrders with client ids): how another hedgekeeper on the account is noticed.
    lists_orders: bool = False
    # The perp kinds the exchange lists (WEEX: linear only): a leg on another kind is refused
    # by name, not as a market that is missing.
    kinds: frozenset[ContractKind] = frozenset(ContractKind)
    # Spot -> perp-wallet transfers through ccxt; False: the user keeps the perp wallet funded
    # (`auto_transfer` cannot move anything there, and `check` says so).
    transfers: bool = True
    amount_unit: Mapping[ContractKind, AmountUnit] = field(
        default_factory=lambda: frozen(dict.fromkeys(ContractKind, AmountUnit.CONTRACTS))
    )

    def unlisted(self, exchange: str, symbol: str) -> str:
        """Why `symbol` is not among the exchange's markets, for the error that refuses it."""
        listed = " and ".join(sorted(k.value for k in self.kinds))
        coin, _, rest = symbol.partition("/")
        inverse = rest.partition(":")[2] == coin
        if inverse and ContractKind.INVERSE not in self.kinds:
            return f"{exchange} lists {listed} perpetuals only: {symbol} is inverse"
        return f"{exchange} lists no market {symbol} ({listed} perpetuals)"

    def account(self, kind: str, account_id: str | None = None) -> Account:
        try:
            return Account(kind, self.accounts[kind], account_id)
        except KeyError:
            known = sorted(self.accounts)
            raise VenueError(f"unknown account kind {kind!r}; known: {known}") from None
