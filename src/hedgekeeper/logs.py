"""Logging: structlog events, readable on a terminal, JSON lines otherwise, secrets redacted.

The standard library's loggers (aiohttp, ccxt, asyncio) are routed through the same processors,
so their records are JSON too and pass the same redaction: a library that logs a request with an
API key in a header must not put the key in the journal of a log shipper.

Redaction runs last before rendering, after exceptions are formatted, so a secret inside a
traceback or an exception message is caught as well.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from hedgekeeper.console import ConsoleRenderer

__all__ = ["REDACTED", "Redactor", "configure"]

REDACTED = "***"
_SENSITIVE_KEY = re.compile(r"key|secret|password|token|passphrase|signature", re.IGNORECASE)
_PLAIN = (bool, int, float, type(None))


class Redactor:
    """A structlog processor that hides known secret strings and values of sensitive keys."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        unique = {s for s in secrets if s}
        self._secrets = sorted(unique, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(re.escape(s) for s in self._secrets)) if self._secrets else None
        )

    def __call__(self, _logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
        return {key: self._value(key, value) for key, value in event.items()}

    def _value(self, key: object, value: Any) -> Any:
        if isinstance(key, str) and key != "event" and _SENSITIVE_KEY.search(key):
            return REDACTED if value is not None else None
        return self._scrub(value)

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, Mapping):
            return {k: self._value(k, v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._scrub(v) for v in value]
        # Anything else is logged through its text (str or repr), so scrub that text.
        text = value if isinstance(value, str) else str(value)
        if self._pattern is None:
            return value if isinstance(value, str) else text
        return self._pattern.sub(REDACTED, text)


def configure(level: str, json_lines: bool | None, secrets: Iterable[str]) -> None:
    """Set up structlog and the stdlib root logger to write to stderr; call once at startup.

    `json_lines` None decides by whether stderr is a terminal. Calling again replaces the
    previous setup (tests, and a CLI that learns the secrets only after reading its config).
    """
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    numeric = logging.getLevelNamesMapping()[level.upper()]
    redactor = Redactor(secrets)

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    renderer: Processor
    if json_lines:
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
    else:
        renderer = ConsoleRenderer(colors=sys.stderr.isatty())
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.UnicodeDecoder(),
            redactor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(numeric)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a module-level logger must follow a later configure() (secrets added).
        cache_logger_on_first_use=False,
    )
