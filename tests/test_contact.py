"""First contact: --version, bare help, missing credentials named before any request, and a
network failure that says which host and why; `check` ends with ok or FAILED and its reason."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hedgekeeper import cli
from hedgekeeper.contact import network_failure

BYBIT = """
mode = "testnet"
journal = "{journal}"
[venues.main]
exchange = "bybit"
urls = {{ rest = "{rest}" }}
[[legs]]
name = "btc"
asset = "BTC"
perp = {{ venue = "main", symbol = "BTC/USD:BTC" }}
hedge_ratio = 1.0
"""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def plain_http() -> Iterator[int]:
    """A plain HTTP server (for a TLS client to fail its handshake against)."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def check(tmp_path: Path, rest: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    config = tmp_path / "hk.toml"
    config.write_text(BYBIT.format(journal=tmp_path / "j.sqlite", rest=rest))
    code = cli.main(["check", "--config", str(config)])
    return code, capsys.readouterr().out


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGEKEEPER_VENUES__MAIN__API_KEY", "k-123")
    monkeypatch.setenv("HEDGEKEEPER_VENUES__MAIN__SECRET", "s-456")


def test_version_and_bare_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("hedgekeeper 0.")
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert "usage: hedgekeeper" in out and "run" in out and "check" in out


def test_missing_credentials_are_named_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HEDGEKEEPER_VENUES__MAIN__API_KEY", raising=False)
    code, out = check(tmp_path, f"http://127.0.0.1:{closed_port()}", capsys)
    assert code == 1
    assert "the API key is not set: set HEDGEKEEPER_VENUES__MAIN__API_KEY" in out
    assert "the API secret is not set: set HEDGEKEEPER_VENUES__MAIN__SECRET" in out
    assert out.rstrip().splitlines()[-1].startswith("check: FAILED — 2 missing credential")
    assert "refused" not in out  # nothing was sent


@pytest.mark.usefixtures("keys")
def test_refused_names_the_host_and_the_cause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    code, out = check(tmp_path, f"http://127.0.0.1:{port}", capsys)
    assert code == 1
    assert out.rstrip().splitlines()[-1] == (
        f"check: FAILED — 127.0.0.1:{port}: connection refused (nothing listening on that port)"
    )


@pytest.mark.usefixtures("keys")
def test_unresolvable_name_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(tmp_path, "http://no-such-host.invalid", capsys)
    assert code == 1
    assert "check: FAILED — no-such-host.invalid" in out and "name not resolved" in out


@pytest.mark.usefixtures("keys")
def test_tls_failure_says_tls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], plain_http: int
) -> None:
    code, out = check(tmp_path, f"https://127.0.0.1:{plain_http}", capsys)
    assert code == 1
    last = out.rstrip().splitlines()[-1]
    assert last.startswith(f"check: FAILED — 127.0.0.1:{plain_http}: TLS"), last


def test_a_timeout_is_named() -> None:
    """ccxt raises RequestTimeout from asyncio's TimeoutError; the venue wraps that again."""
    import ccxt

    from hedgekeeper.venues.base import VenueUnavailable

    try:
        try:
            try:
                raise TimeoutError()
            except TimeoutError as exc:
                raise ccxt.RequestTimeout("bybit GET https://api.bybit.com/v5/market/time") from exc
        except ccxt.RequestTimeout:
            raise VenueUnavailable("main: bybit GET ...") from None
    except VenueUnavailable as exc:
        assert network_failure(exc) == "api.bybit.com: timed out waiting for the host"


def test_a_non_network_error_is_not_dressed_up() -> None:
    assert network_failure(ValueError("bad symbol")) is None


def test_check_on_the_sim_ends_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check"]) == 0
    assert capsys.readouterr().out.rstrip().splitlines()[-1] == "check: ok"
