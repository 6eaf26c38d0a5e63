"""`hedgekeeper download` against a loopback Binance COIN-M, through the real ccxt client."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from hedgekeeper import cli, download
from hedgekeeper.pricepath import load_csv
from tests.emulators.ohlcv import HOUR_MS, BinanceCoinM

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
HOURS = 30


def history() -> tuple[dict[int, str], dict[int, str]]:
    candles = {T0 + i * HOUR_MS: f"{40000 + 10 * i}.5" for i in range(HOURS)}
    # Funding every 8 hours, settled a few milliseconds late as Binance's often is.
    rates = {T0 + i * 8 * HOUR_MS + 3: f"0.000{i + 1}" for i in range(4)}
    rates[T0 + 8 * HOUR_MS + 3] = "-0.0002"
    return candles, rates


async def test_fetch_pages_candles_and_funding_into_one_row_per_hour(tmp_path: Path) -> None:
    candles, rates = history()
    async with BinanceCoinM(candles, rates) as server:
        exchange = ccxt_async.binancecoinm()
        server.configure(exchange)
        seen: list[tuple[str, int, int]] = []
        try:
            got = await download.fetch(
                exchange,
                "BTC/USD:BTC",
                T0,
                T0 + HOURS * HOUR_MS,
                progress=lambda *a: seen.append(a),
                page=7,
            )
        finally:
            await exchange.close()
    # 30 candles in pages of 7; 4 funding settlements in pages of 7 (one page, then empty).
    kinds = [kind for kind, _ in server.requests]
    assert kinds.count("klines") == 5 and kinds.count("funding") == 2
    assert [int(q["startTime"]) for k, q in server.requests if k == "klines"][:2] == [
        T0,
        T0 + 7 * HOUR_MS,
    ]
    assert seen[-1] == ("funding", HOURS * HOUR_MS, HOURS * HOUR_MS)
    path = tmp_path / "btc.csv"
    assert download.write_csv(path, got) == HOURS
    lines = path.read_text().splitlines()
    assert lines[:3] == [
        "timestamp,price,funding_rate",
        "2024-01-01T00:00:00Z,40000.5,0.0001",
        "2024-01-01T01:00:00Z,40010.5,",
    ]
    assert lines[9] == "2024-01-01T08:00:00Z,40080.5,-0.0002"
    # The file is what the simulator reads: funding where it was settled, nowhere else.
    points = load_csv(path)
    assert len(points) == HOURS
    assert [p.funding_rate for p in points if p.funding_rate is not None] == [
        Decimal("0.0001"),
        Decimal("-0.0002"),
        Decimal("0.0003"),
        Decimal("0.0004"),
    ]


async def test_a_gap_in_the_candles_is_skipped_not_taken_for_the_end() -> None:
    candles, rates = history()
    for i in range(3, 14):  # an outage of eleven hours, longer than a page
        del candles[T0 + i * HOUR_MS]
    async with BinanceCoinM(candles, rates) as server:
        exchange = ccxt_async.binancecoinm()
        server.configure(exchange)
        try:
            got = await download.fetch(exchange, "BTC/USD:BTC", T0, T0 + HOURS * HOUR_MS, page=5)
        finally:
            await exchange.close()
    assert len(got.prices) == HOURS - 11
    assert len(got.rows()) == HOURS - 11 and got.dropped == 1  # the 08:00 settlement


def test_the_command_writes_the_csv_with_a_progress_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    candles, rates = history()
    out = tmp_path / "btc.csv"

    async def serve() -> int:
        async with BinanceCoinM(candles, rates) as server:

            def make(exchange_id: str) -> Any:
                exchange = getattr(ccxt_async, exchange_id)()
                server.configure(exchange)
                return exchange

            monkeypatch.setattr(download, "make_exchange", make)
            argv = [
                "download",
                "--exchange=binancecoinm",
                "--symbol=BTC/USD:BTC",
                "--since=2024-01-01",
                "--until=2024-01-02T06:00",
                f"--out={out}",
            ]
            # The command runs its own event loop, so it goes to a thread of its own.
            return await asyncio.to_thread(cli.main, argv)

    assert asyncio.run(serve()) == 0
    captured = capsys.readouterr()
    assert "30 rows, 4 funding settlements" in captured.out
    assert "candles" in captured.err and "funding" in captured.err
    assert len(load_csv(out)) == HOURS


def test_bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["download", "--symbol=BTC/USD:BTC", f"--out={tmp_path / 'x.csv'}"]
    assert cli.main([*base, "--exchange=nosuch", "--since=2024-01-01"]) == 2
    assert "not a ccxt exchange id" in capsys.readouterr().err
    assert cli.main([*base, "--exchange=binancecoinm", "--since=2024-01-02", "--until=2024-01-01"])
    assert "--until must come after --since" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        cli.main([*base, "--exchange=binancecoinm", "--since=yesterday"])
    assert stop.value.code == 2
