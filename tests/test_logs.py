"""Logs are JSON lines off a terminal, readable on one, and never contain a secret."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest
import structlog

from hedgekeeper.logs import REDACTED, configure

SECRET = "sk-live-7f3a9c0e1b2d"
PASSWORD = "hunter2-correct-horse"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """configure() changes process-wide state; put the root logger back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_json_lines_carry_level_timestamp_and_fields(capsys: pytest.CaptureFixture[str]) -> None:
    """Each event is one JSON object with an ISO UTC timestamp, on stderr."""
    configure("info", json_lines=True, secrets=())
    structlog.get_logger("hedgekeeper.test").info("order placed", leg="btc", amount=Decimal(5))
    out = capsys.readouterr()
    assert out.out == ""
    [event] = lines(out.err)
    assert event["event"] == "order placed"
    assert event["level"] == "info"
    assert event["leg"] == "btc"
    assert event["amount"] == "5"
    assert isinstance(event["timestamp"], str)
    assert event["timestamp"].endswith("Z")
    assert "T" in event["timestamp"]


def test_level_filters_events(capsys: pytest.CaptureFixture[str]) -> None:
    configure("warning", json_lines=True, secrets=())
    log = structlog.get_logger()
    log.info("quiet")
    log.warning("loud")
    assert [e["event"] for e in lines(capsys.readouterr().err)] == ["loud"]


def test_secrets_never_appear_anywhere(capsys: pytest.CaptureFixture[str]) -> None:
    """Known secrets are scrubbed from messages, nested values, stdlib records and tracebacks."""
    configure("debug", json_lines=True, secrets=[SECRET, PASSWORD, ""])
    log = structlog.get_logger()
    log.info(f"connecting with {SECRET}", headers={"X-Auth": f"Bearer {SECRET}"})
    log.info("nested", request=[{"body": f"pw={PASSWORD}"}], obj=ValueError(SECRET))
    logging.getLogger("ccxt.base").warning("signed %s", SECRET)
    try:
        raise RuntimeError(f"auth failed for {SECRET}")
    except RuntimeError:
        log.exception("request failed")
    err = capsys.readouterr().err
    assert SECRET not in err
    assert PASSWORD not in err
    events = lines(err)
    assert len(events) == 4
    assert events[0]["event"] == f"connecting with {REDACTED}"
    assert events[2]["event"] == f"signed {REDACTED}"
    assert events[2]["logger"] == "ccxt.base"
    assert "RuntimeError" in str(events[3]["exception"])


def test_values_of_sensitive_keys_are_hidden(capsys: pytest.CaptureFixture[str]) -> None:
    """Even an unknown secret is hidden when its key says what it is."""
    configure("info", json_lines=True, secrets=())
    structlog.get_logger().info(
        "config",
        api_key="abc",
        venue={"secret": "def", "Password": "ghi", "name": "bybit"},
        access_token="jkl",
        optional_key=None,
    )
    [event] = lines(capsys.readouterr().err)
    assert event["api_key"] == REDACTED
    assert event["venue"] == {"secret": REDACTED, "Password": REDACTED, "name": "bybit"}
    assert event["access_token"] == REDACTED
    assert event["optional_key"] is None


def test_console_renderer_is_readable_and_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    """json_lines=False gives readable text (the leg in its column), still without secrets."""
    configure("info", json_lines=False, secrets=[SECRET])
    structlog.get_logger().info("started", token_hint=SECRET, note=SECRET, leg="btc")
    err = capsys.readouterr().err
    assert "started" in err
    assert " btc " in err
    assert SECRET not in err
    with pytest.raises(json.JSONDecodeError):
        json.loads(err.splitlines()[0])


def test_none_decides_by_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """Captured stderr is not a terminal, so the default is JSON."""
    configure("info", json_lines=None, secrets=())
    structlog.get_logger().info("hello")
    assert lines(capsys.readouterr().err)[0]["event"] == "hello"


def test_reconfigure_replaces_the_handler(capsys: pytest.CaptureFixture[str]) -> None:
    """A second configure() (secrets learnt later) applies to loggers made before it."""
    log = structlog.get_logger()
    configure("info", json_lines=True, secrets=())
    configure("info", json_lines=True, secrets=[SECRET])
    log.info(SECRET)
    err = capsys.readouterr().err
    assert len(lines(err)) == 1
    assert SECRET not in err
