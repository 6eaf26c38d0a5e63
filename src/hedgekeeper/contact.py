"""First contact: what `check` says before and when it reaches an exchange.

Two things a person setting up needs named exactly: which credential is missing (and which
environment variable or file to set) before any request is made, and why a host could not be
reached (name not resolved, connection refused, TLS, timeout) rather than a bare library error.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

from hedgekeeper.config import Settings

__all__ = ["MissingCredential", "missing_credentials", "network_failure"]

_FIELDS = {"apiKey": "api_key", "secret": "secret", "password": "password"}
_LABELS = {"api_key": "API key", "secret": "API secret", "password": "API passphrase"}
_URL = re.compile(r"\b(?:https?|wss?)://([^/\s:]+(?::\d+)?)")


@dataclass(frozen=True, slots=True)
class MissingCredential:
    venue: str
    exchange: str
    field: str  # api_key | secret | password
    problem: str = "is not set"

    def __str__(self) -> str:
        env = f"HEDGEKEEPER_VENUES__{self.venue.upper()}__{self.field.upper()}"
        return (
            f"venue {self.venue!r} ({self.exchange}): the {_LABELS[self.field]} {self.problem}: "
            f"set {env} or venues.{self.venue}.{self.field}_file"
        )


def required_fields(exchange: str) -> tuple[str, ...]:
    """The credentials ccxt says this exchange signs with (a local lookup, no request)."""
    import ccxt

    cls = getattr(ccxt, exchange, None)
    if cls is None:
        return ("api_key", "secret")
    required = cls().requiredCredentials
    return tuple(f for key, f in _FIELDS.items() if required.get(key))


def missing_credentials(settings: Settings) -> list[MissingCredential]:
    """Every credential a used exchange venue needs and does not have (the sim needs none)."""
    used = {leg.perp.venue for leg in settings.legs}
    used |= {s.venue for leg in settings.legs for s in leg.spot if s.venue}
    missing = []
    for name in sorted(used):
        venue = settings.venues[name]
        if venue.exchange == "sim":
            continue
        for field in required_fields(venue.exchange):
            try:
                value = venue.secret_value(field)  # type: ignore[arg-type]
            except OSError as exc:
                path = getattr(venue, f"{field}_file")
                problem = f"file {path} cannot be read ({exc.strerror})"
                missing.append(MissingCredential(name, venue.exchange, field, problem))
                continue
            if not value:
                missing.append(MissingCredential(name, venue.exchange, field))
    return missing


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        todo.extend(e for e in getattr(current, "args", ()) if isinstance(e, BaseException))
        os_error = getattr(current, "os_error", None)
        if isinstance(os_error, BaseException):
            todo.append(os_error)


def _cause(error: BaseException, generic: bool) -> str | None:
    """The failure in words; `generic` admits a bare OS error text when nothing specific is."""
    import aiohttp

    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate not accepted ({error.certificate_error})"
    if isinstance(error, ssl.SSLError | aiohttp.ClientSSLError):
        return f"TLS handshake failed ({getattr(error, 'reason', None) or error})"
    if isinstance(error, socket.gaierror):
        return "name not resolved (DNS)"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused (nothing listening on that port)"
    if isinstance(error, ConnectionResetError):
        return "connection reset by the host"
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return "timed out waiting for the host"
    if type(error).__name__ == "RequestTimeout":  # ccxt's, raised from a timeout
        return "timed out waiting for the host"
    if generic and isinstance(error, OSError) and error.strerror:
        return error.strerror
    return None


def network_failure(exc: BaseException, fallback_host: str | None = None) -> str | None:
    """'host: cause' when `exc` is a network failure, None when it is something else."""
    errors = list(_chain(exc))
    causes = [c for e in errors if (c := _cause(e, generic=False))]
    causes += [c for e in errors if (c := _cause(e, generic=True))]
    if not causes:
        return None
    host = fallback_host
    for error in errors:
        if (found := getattr(error, "host", None)) and isinstance(found, str):
            port = getattr(error, "port", None)
            host = f"{found}:{port}" if port else found
            break
        if match := _URL.search(str(error)):
            host = match.group(1)
            break
    return f"{host or 'the exchange'}: {causes[0]}"
